// The floor as the page knows it (snapshot + deltas), and the small DOM helpers both pages use.
// Names and every other server string go in as text (textContent), never as HTML.

import { METRICS } from "./metrics.js";

/** What the server sent: snapshot objects, rows kept by rep `code` and team `name`. */
export class FloorState {
  constructor() {
    this.day = null;
    this.timezone = null;
    this.at = null;
    this.floor = null;
    this.teams = new Map(); // name -> team (snapshot order)
    this.reps = new Map(); // code -> rep
    this.version = 0;
  }

  /** Replace everything; returns true when the day changed (midnight, or the first snapshot). */
  applySnapshot(data) {
    const newDay = data.day !== this.day;
    this.day = data.day;
    this.timezone = data.timezone || this.timezone;
    this.at = data.at || data.generated_at || null;
    this.floor = data.floor || null;
    this.teams = new Map((data.teams || []).map((t) => [t.name, t]));
    this.reps = new Map((data.reps || []).map((r) => [r.code, r]));
    this.version += 1;
    return newDay;
  }

  /**
   * Apply the rows a delta carries: each holds only the fields that changed (a row new to the
   * page comes whole), nested objects only their changed keys, and its `hours` only the cells
   * that changed, merged by `hour`. Returns {reps: Set(code), teams: Set(name), floor: bool},
   * or null when the delta is for another day (the caller should resync).
   */
  applyDelta(msg) {
    if (this.day && msg.day && msg.day !== this.day) return null;
    const changed = { reps: new Set(), teams: new Set(), floor: false };
    if (msg.at) this.at = msg.at;
    if (msg.floor) {
      this.floor = patch(this.floor, msg.floor);
      changed.floor = true;
    }
    for (const t of msg.teams || []) {
      this.teams.set(t.name, patch(this.teams.get(t.name), t));
      changed.teams.add(t.name);
    }
    for (const r of msg.reps || []) {
      this.reps.set(r.code, patch(this.reps.get(r.code), r));
      changed.reps.add(r.code);
    }
    this.version += 1;
    return changed;
  }

  /** Reps to show: active ones, and inactive ones who dialled today. */
  repList(team = null) {
    const out = [];
    for (const r of this.reps.values()) {
      if (team && r.team !== team) continue;
      if (r.active === false && !(r.totals && r.totals.dials)) continue;
      out.push(r);
    }
    return out;
  }

  teamNames() {
    return [...this.teams.keys()];
  }

  repName(code) {
    const r = this.reps.get(code);
    return r ? r.name : null;
  }
}

/** Create an element: attrs (class, dataset via data-*, hidden…) and text/element children. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

/** An <option> per target metric, labelled as everywhere (the catalog's text). */
export function metricOptions(i18n) {
  return METRICS.map((m) => el("option", { value: m, text: i18n.t(m) }));
}

/** A table's header row from its column list: a <th> per column headed by the catalog's text
 * for `label` (with the column's `cls`; `data-sort` its key when the table sorts). */
export function headerRow(columns, i18n, { sortable = false } = {}) {
  return el(
    "tr",
    {},
    ...columns.map((c) =>
      el("th", {
        "data-sort": sortable ? c.key : null,
        class: c.cls || null,
        "data-i18n": c.label,
        text: i18n.t(c.label),
      }),
    ),
  );
}

/**
 * Bring a container's keyed rows in line with `items` (already in display order): rows whose key
 * is in `dirty` (or new; `dirty` null: all) are rendered again, the rest are kept and moved
 * (`reindex(node, index)` updates a kept row's position-dependent cells, e.g. its rank).
 */
export function syncRows(container, items, { key, attr, render, dirty = null, reindex = null }) {
  const existing = new Map();
  for (const node of [...container.children]) {
    const k = node.getAttribute(attr);
    if (k === null) node.remove();
    else existing.set(k, node);
  }
  let prev = null;
  for (const [index, item] of items.entries()) {
    const k = key(item);
    let node = existing.get(k);
    existing.delete(k);
    if (!node || dirty === null || dirty.has(k)) {
      const fresh = render(item, index);
      if (node) node.replaceWith(fresh);
      node = fresh;
    } else if (reindex && node.dataset.index !== String(index)) {
      reindex(node, index);
    }
    node.dataset.index = String(index);
    const want = prev ? prev.nextSibling : container.firstChild;
    if (want !== node) container.insertBefore(node, want);
    prev = node;
  }
  for (const node of existing.values()) node.remove();
}

/** The pace entry for a metric: the day's, else the week's or month's (invites are weekly). */
export function paceOf(obj, metric) {
  if (!obj) return null;
  if (obj.pace && obj.pace[metric]) return { ...obj.pace[metric], period: "day" };
  if (obj.pace_week && obj.pace_week[metric]) return { ...obj.pace_week[metric], period: "week" };
  if (obj.pace_month && obj.pace_month[metric]) return { ...obj.pace_month[metric], period: "month" };
  return null;
}

/** The day's pace of one metric (never the week's or month's): what a cell showing today's
 * figure is coloured by. */
export function dayPace(obj, metric) {
  const p = obj && obj.pace ? obj.pace[metric] : null;
  return p ? { metric, ...p, period: "day" } : null;
}

/** Every day pace of a row that has a figure to judge, worst first. */
export function dayPaces(row) {
  const out = [];
  for (const [metric, p] of Object.entries((row && row.pace) || {})) {
    if (p && typeof p.pace === "number") out.push({ metric, ...p, period: "day" });
  }
  return out.sort((a, b) => a.pace - b.pace);
}

/** The row's worst day pace (dials or talk time with the seed's targets): what the pace columns
 * show, labelled with its metric, and are coloured by; the behind list is ordered by the same. */
export function worstDayPace(row) {
  return dayPaces(row)[0] || null;
}

/** Red day-paces of a rep, worst first. */
export function redPaces(rep) {
  if (rep.not_in || isOff(rep)) return []; // not in, or away today: not behind
  return dayPaces(rep).filter((p) => p.status === "red");
}

/**
 * A pace as a whole percentage that never reads better than its colour: floored (0.995 is
 * 99 %), and a pace the server rounded up to a threshold (0.99996 → 1.0, still amber) shows
 * one point under it, so "100%" only ever stands beside green.
 */
export function paceText(p, i18n, cfg) {
  if (!p || typeof p.pace !== "number") return "—";
  let ratio = p.pace;
  if (p.status === "amber" && ratio >= cfg.paceGreen) ratio = cfg.paceGreen - 0.01;
  if (p.status === "red" && ratio >= cfg.paceAmber) ratio = cfg.paceAmber - 0.01;
  return i18n.pct(ratio);
}

/** Leaderboard order: revenue, then orders, then dials, all descending; name breaks ties. */
export function byResults(a, b) {
  const ta = a.totals || {};
  const tb = b.totals || {};
  return (
    (tb.revenue || 0) - (ta.revenue || 0) ||
    (tb.orders || 0) - (ta.orders || 0) ||
    (tb.dials || 0) - (ta.dials || 0) ||
    String(a.name).localeCompare(String(b.name), "zh-CN")
  );
}

/** Away the whole day (leave, sick, absent): shown apart, judged by nothing. */
export function isOff(rep) {
  return !!(rep && rep.attendance && rep.attendance.status !== "half_day");
}

/** A rep's attendance mark as a tag beside their name ("请假"; a half day says which half). */
export function attendanceTag(rep, i18n) {
  const a = rep && rep.attendance;
  if (!a) return "";
  const half = a.half ? ` ${a.half.toUpperCase()}` : "";
  return el("span", {
    class: "tag away",
    "data-attendance": a.status,
    title: a.note || null,
    text: i18n.t("att_" + a.status) + half,
  });
}

/** The page's configuration from <body data-…> (no inline scripts). */
export function pageConfig() {
  const d = document.body.dataset;
  return {
    token: d.token || "",
    display: d.display || "",
    csrf: d.csrf || "",
    lang: d.lang === "en" ? "en" : "zh",
    team: d.team || "",
    timezone: d.timezone || "Asia/Shanghai",
    minorDigits: Number(d.minorDigits || 2),
    paceGreen: Number(d.paceGreen || 1),
    paceAmber: Number(d.paceAmber || 0.8),
    base: d.base || "",
    admin: d.admin === "true",
    stretchPct: Number(d.stretchPct || 0),
    pauseReasons: parseJson(d.pauseReasons, {}), // code -> {zh, en}
  };
}

function parseJson(text, fallback) {
  try {
    return text ? JSON.parse(text) : fallback;
  } catch {
    return fallback;
  }
}

// --- agent states ----------------------------------------------------------------------------

/** The tiles' four groups of present states (ringing and wrap-up are part of a call). */
export const STATE_GROUPS = {
  on_call: ["ringing", "on_call", "wrap_up"],
  available: ["available"],
  paused: ["paused"],
  logged_out: ["logged_out"],
};

/** Console order by state: busy first, then ready, paused, out, none reported. */
export const STATE_ORDER = ["on_call", "ringing", "wrap_up", "available", "paused", "logged_out"];

/** Milliseconds to add to this screen's clock to read the server's (set from its frames). */
export const serverClock = { offset: 0 };

export function syncClock(iso) {
  const t = Date.parse(iso || "");
  if (!Number.isNaN(t)) serverClock.offset = t - Date.now();
}

/** The state a row shows: its source's, "not_in" for a rep logged out all day, or "unknown". */
export function rowState(rep) {
  if (!rep || !rep.agent) return "unknown";
  return rep.not_in ? "not_in" : rep.agent.state;
}

/** A pause reason's label in the page's language; a reason not on the list as given. */
export function reasonLabel(code, i18n, cfg) {
  return i18n.pick((cfg.pauseReasons || {})[code], code);
}

/** "12:05" or "1:02:05": whole seconds from `since` to now (by the server's clock). */
export function elapsed(since, now = Date.now() + serverClock.offset) {
  const t = Date.parse(since || "");
  if (Number.isNaN(t)) return "";
  const s = Math.max(0, Math.floor((now - t) / 1000));
  const two = (n) => String(n).padStart(2, "0");
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}:${two(m)}:${two(s % 60)}` : `${m}:${two(s % 60)}`;
}

/** A rep's present state: a coloured short label (with the pause reason) and the time in it,
 * which {@link tickStateTimes} counts up every second without asking the server. */
export function stateBadge(rep, i18n, cfg, { time = true } = {}) {
  const state = rowState(rep);
  const a = rep.agent;
  let label = state === "not_in" ? i18n.t("not_in") : i18n.t("state_" + state);
  if (a && state === "paused" && a.reason) label += ` · ${reasonLabel(a.reason, i18n, cfg)}`;
  return el(
    "span",
    { class: "agent-state", "data-state": state },
    el("span", { class: "state-label", text: label }),
    time ? stateTime(rep) : "",
  );
}

/** The time a rep has been in their present state, counting up (empty when none is known). */
export function stateTime(rep) {
  const a = rep.agent;
  if (!a || rep.not_in) return "";
  return el("span", { class: "state-time", "data-since": a.since, text: elapsed(a.since) });
}

/** Count every shown time in state up to now (once a second, from the page's own timer). */
export function tickStateTimes(root = document) {
  const now = Date.now() + serverClock.offset;
  for (const node of root.querySelectorAll(".state-time[data-since]")) {
    const text = elapsed(node.dataset.since, now);
    if (node.textContent !== text) node.textContent = text;
  }
}

/** The floor's or a team's reps by present state, in the four tile groups. */
export function stateGroups(obj) {
  const states = (obj && obj.states) || {};
  const out = {};
  for (const [group, members] of Object.entries(STATE_GROUPS)) {
    out[group] = members.reduce((n, s) => n + (states[s] || 0), 0);
  }
  return out;
}

/** The strip of counts by state (on call / ready / paused / out); hidden when no source
 * reports states. */
export function stateStrip(box, obj, i18n) {
  const groups = stateGroups(obj);
  const any = Object.values(groups).some((n) => n > 0);
  box.hidden = !any;
  box.replaceChildren(
    ...Object.entries(groups).map(([group, n]) =>
      el(
        "span",
        { class: "state-count", "data-state-group": group },
        el("span", { class: "state-count-label", text: i18n.t("states_" + group) }),
        el("span", { class: "state-count-value", text: String(n) }),
      ),
    ),
  );
}

/** Colour of a ratio against the floor's thresholds (used for hours, which carry no status). */
export function statusFor(ratio, cfg) {
  if (typeof ratio !== "number" || !Number.isFinite(ratio)) return null;
  if (ratio >= cfg.paceGreen) return "green";
  if (ratio >= cfg.paceAmber) return "amber";
  return "red";
}

export const COLOURS = {
  green: "#22c55e",
  amber: "#f59e0b",
  red: "#ef4444",
  now: "#38bdf8",
  future: "#475569",
  target: "#e2e8f0",
  stretch: "#c084fc",
};

/**
 * Plotly traces for one hour-by-hour chart: bars of the actual figure (past hours coloured by how
 * they did against their share, the current hour blue) and the hour's target share as a line.
 */
export function hourTraces(hours, metric, { i18n, cfg, currentHour, dark = true }) {
  const x = hours.map((h) => i18n.t("hour", { h: h.hour }));
  const scale = metric === "revenue" ? 10 ** cfg.minorDigits : 1;
  const y = hours.map((h) => (h[metric] || 0) / scale);
  const share = hours.map((h) => {
    const s = h.target_share ? h.target_share[metric] : undefined;
    return typeof s === "number" ? s / scale : null;
  });
  const colours = hours.map((h, i) => {
    if (currentHour !== null && h.hour === currentHour) return COLOURS.now;
    if (currentHour !== null && h.hour > currentHour) return COLOURS.future;
    const ratio = share[i] ? y[i] / share[i] : null;
    return COLOURS[statusFor(ratio, cfg)] || COLOURS.now;
  });
  const traces = [
    {
      type: "bar",
      name: i18n.t("actual"),
      x,
      y,
      marker: { color: colours },
      hovertemplate: "%{x}: %{y}<extra></extra>",
    },
  ];
  if (share.some((s) => s !== null)) {
    traces.push({
      type: "scatter",
      mode: "lines+markers",
      name: i18n.t("target_share"),
      x,
      y: share,
      line: { color: dark ? COLOURS.target : "#0f172a", width: 3, dash: "dot", shape: "hvh" },
      marker: { size: 8 },
      hovertemplate: "%{x}: %{y:.0f}<extra></extra>",
    });
    const factor = 1 + (cfg.stretchPct || 0) / 100;
    if (factor > 1) {
      traces.push({
        type: "scatter",
        mode: "lines",
        name: i18n.t("stretch_share"),
        x,
        y: share.map((s) => (s === null ? null : s * factor)),
        line: { color: COLOURS.stretch, width: 2, dash: "dash", shape: "hvh" },
        hovertemplate: "%{x}: %{y:.0f}<extra></extra>",
      });
    }
  }
  return traces;
}

/** Draw (or update in place) a chart, if plotly loaded; a page without charts still works. */
export function drawChart(node, traces, layout, config) {
  const Plotly = window.Plotly;
  if (!Plotly || !node) return;
  Plotly.react(node, traces, layout, config);
}

/** The parts of a tile's sub-line, each kept whole when the line wraps: what was due by now
 * and the target (a weekly or monthly figure also says what today brought). */
function paceParts(p, today, i18n, cfg) {
  if (!p) return [i18n.t("no_target")];
  const fmt = (v) => i18n.metric(p.metric, v, cfg.minorDigits);
  const parts = [];
  if (p.period !== "day") parts.push(`${i18n.t("today")} ${fmt(today)}`);
  parts.push(`${i18n.t("expected")} ${fmt(p.expected)}`, `${i18n.t("target")} ${fmt(p.target)}`);
  if (p.stretch) parts.push(`${i18n.t("stretch")} ${fmt(p.stretch)}`);
  return parts;
}

/** Whether a figure has reached its stretch (the team target plus PACEBOARD_STRETCH_PCT): the
 * screens give it its own colour. */
export function atStretch(p) {
  return !!(p && p.stretch && p.actual >= p.stretch);
}

/** A one-line pace summary for a tooltip: pace, expected, target, needed per hour. */
export function paceTitle(p, metric, i18n, cfg) {
  if (!p) return "";
  const fmt = (v) => i18n.metric(metric, v, cfg.minorDigits);
  const parts = [
    `${i18n.t("pace")} ${paceText(p, i18n, cfg)}`,
    p.period === "day" ? `${i18n.t("expected")} ${fmt(p.expected)}` : i18n.t(p.period),
    `${i18n.t("target")} ${fmt(p.target)}`,
  ];
  if (p.stretch) parts.push(`${i18n.t("stretch")} ${fmt(p.stretch)}`);
  if (p.needed_per_hour !== null && p.needed_per_hour !== undefined) {
    parts.push(`${i18n.t("needed_per_hour")} ${fmt(p.needed_per_hour)}`);
  }
  return parts.join(" · ");
}

/**
 * The figure tiles of one object (floor or team): a figure, its pace and what was due. The big
 * figure is the one the colour judges: today's where the metric has a day target, the week's or
 * month's where its target is weekly or monthly (invites: "本周邀约 12", coloured by the week's
 * pace; a lead reads a weekly target by the week, and today's 0 at ten o'clock is not behind).
 * `minPx`: the smallest a figure may shrink to when it does not fit its tile; `wholeMoney`:
 * revenue in whole yuan (a TV's "¥314,340"; the exact figure stays in the tile's title).
 */
export function kpiTiles(box, obj, i18n, cfg, { minPx = 14, wholeMoney = false } = {}) {
  box.replaceChildren(
    ...METRICS.map((metric) => {
      const raw = paceOf(obj, metric);
      const p = raw ? { ...raw, metric } : null;
      const today = obj && obj.totals ? obj.totals[metric] : null;
      const periodic = p && p.period !== "day";
      const period = periodic ? i18n.t("wb_period_" + p.period) : "";
      const label = periodic
        ? i18n.t("wb_period_metric", { period, metric: i18n.t(metric) })
        : i18n.t(metric);
      const parts = paceParts(p, today, i18n, cfg);
      const figure = periodic ? p.actual : today;
      const whole = wholeMoney && metric === "revenue" && typeof figure === "number";
      return el(
        "div",
        {
          class: "kpi",
          "data-kpi": metric,
          "data-period": p ? p.period : null,
          "data-status": p ? p.status : "none",
          "data-stretch": atStretch(p) ? "true" : null,
        },
        el("div", { class: "kpi-label", text: label }),
        el("div", {
          class: "kpi-value",
          "data-metric": metric,
          title: whole ? i18n.money(figure, cfg.minorDigits) : null,
          text: whole
            ? "¥" + i18n.int(Math.trunc(figure / 10 ** cfg.minorDigits))
            : i18n.metric(metric, figure, cfg.minorDigits),
        }),
        el(
          "div",
          { class: "kpi-foot" },
          el("span", {
            class: "kpi-pace",
            "data-pace": metric,
            "data-status": p ? p.status : null,
            text: p ? paceText(p, i18n, cfg) : "",
          }),
        ),
        el(
          "div",
          { class: "kpi-sub", title: parts.join(" · ") },
          ...parts.flatMap((part, i) => [i ? " · " : "", el("span", { text: part })]),
        ),
      );
    }),
  );
  for (const node of box.querySelectorAll(".kpi-value")) fitText(node, minPx);
  for (const node of box.querySelectorAll(".kpi-sub")) fitParts(node);
}

/** Drop a sub-line's last parts (the least needed first: stretch, then target) while it is
 * taller than its box: a screen shows fewer parts rather than cutting one mid-word. */
function fitParts(node) {
  while (node.scrollHeight > node.clientHeight + 1 && node.children.length > 1) {
    const last = node.lastElementChild;
    last.previousSibling.remove(); // its " · "
    last.remove();
  }
}

/** Shrink a one-line figure until it fits its box (¥128,828.00 must not become ¥128,8…). */
export function fitText(node, minPx = 14) {
  node.style.fontSize = "";
  let size = parseFloat(getComputedStyle(node).fontSize);
  while (node.scrollWidth > node.clientWidth + 1 && size > minPx) {
    size = Math.max(minPx, size * 0.95);
    node.style.fontSize = `${size}px`;
  }
}

/** `known` with the changed fields of `row` over it: nested objects merged key by key (a
 * `?patch=deep` delta carries only their changed keys), `hours` merged by `hour`. */
function patch(known, row) {
  if (!known) return row;
  const out = { ...known };
  for (const [key, value] of Object.entries(row)) {
    const was = known[key];
    if (key === "hours" && Array.isArray(value) && Array.isArray(was)) {
      const byHour = new Map(was.map((h) => [h.hour, h]));
      for (const h of value) byHour.set(h.hour, patch(byHour.get(h.hour), h));
      out.hours = [...byHour.values()].sort((a, b) => a.hour - b.hour);
    } else if (isObject(value) && isObject(was)) {
      out[key] = patch(was, value); // a deep delta (?patch=deep) carries the changed keys only
    } else {
      out[key] = value;
    }
  }
  return out;
}

function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
