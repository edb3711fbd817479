// Paging and ranking of the board's lists: pure (no DOM), shared by wallboard.js and views.js.

/** How many pages `n` rows take at `cap` a page (one at least: an empty list still shows). */
export function pageCount(n, cap) {
  return Math.max(1, Math.ceil(n / cap));
}

/** Page `page` (0-based) of `items` at `cap` a page. */
export function pageOf(items, page, cap) {
  return items.slice(page * cap, (page + 1) * cap);
}

/** Ranks 1, 2, 3… down the sorted list, equal figures sharing a rank (1, 1, 3). */
export function rankAll(rows) {
  let rank = 0;
  let last = null;
  return rows.map((r, i) => {
    if (r.value !== last) {
      rank = i + 1;
      last = r.value;
    }
    return { ...r, rank };
  });
}

/** Highest `value` first, then by name (Chinese collation). */
export function byValue(a, b) {
  return b.value - a.value || String(a.name).localeCompare(String(b.name), "zh-CN");
}

/** One team's reps as leaderboard pages of at most `fit` rows, each {key, team, reps, offset}
 * (offset: where its ranks start). No reps: no pages, except the single "all" page, which shows
 * empty. */
export function teamParts(team, reps, fit, key) {
  const n = Math.max(1, Math.ceil(reps.length / fit));
  if (!reps.length) return key === "all" ? [{ key, team, reps, offset: 0 }] : [];
  return Array.from({ length: n }, (_, i) => ({
    key: `${key}#${i}`,
    team,
    reps: reps.slice(i * fit, (i + 1) * fit),
    offset: i * fit,
  }));
}
