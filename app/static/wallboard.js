// The wallboard: a 1920×1080 TV read from five metres, nobody touches it.
// Floor (or pinned team) figures against target and expected-by-now, a leaderboard that rotates
// through teams when the floor does not fit, the hour-by-hour chart, who is behind, a banner
// for every sale, the floor's clock and the connection state.

import { floorNow, makeI18n, timeFormat } from "./i18n.js";
import { LiveClient } from "./live.js";
import {
  byResults,
  drawChart,
  el,
  FloorState,
  hourTraces,
  kpiTiles,
  pageConfig,
  paceOf,
  redPaces,
  atStretch,
  attendanceTag,
  isOff,
  stateBadge,
  stateGroups,
  stateStrip,
  syncClock,
  syncRows,
  rowState,
  tickStateTimes,
} from "./floor.js";

const PAGE_SIZE = 12; // rows that fit the leaderboard at TV size
const ROTATE_MS = 20_000;
const CELEBRATE_MS = 8_000;
const BEHIND_MAX = 10;
const CHART_MIN_INTERVAL_MS = 1_000;

const cfg = pageConfig();
const i18n = makeI18n(cfg.lang);
const state = new FloorState();
const $ = (id) => document.getElementById(id);

const view = {
  pages: [], // [{key, team, reps}]
  pageKey: null,
  drawnPageKey: undefined,
  dirtyReps: new Set(),
  full: true,
  teamsDirty: true,
  scopeDirty: true,
  renderTimer: null,
  chartTimer: null,
  chartDrawnAt: 0,
};

// --- what the screen is about: the floor, or the pinned team ---------------------------------

function scopeObject() {
  return cfg.team ? state.teams.get(cfg.team) || null : state.floor;
}

function scopeName() {
  return cfg.team || i18n.t("floor");
}

function tz() {
  return state.timezone || cfg.timezone;
}

// --- rendering -------------------------------------------------------------------------------

function scheduleRender() {
  if (view.renderTimer) return;
  view.renderTimer = setTimeout(() => {
    view.renderTimer = null;
    render();
  }, 100);
}

function render() {
  view.pages = buildPages();
  const page = currentPage();
  view.pageKey = page ? page.key : null;
  if (view.drawnPageKey !== view.pageKey) {
    view.drawnPageKey = view.pageKey;
    view.full = true; // another page (or the first): draw every row
    view.teamsDirty = true;
  }
  const full = view.full;
  if (full || view.scopeDirty) renderKpis();
  if (full || view.teamsDirty) renderTeams();
  renderBoard(full ? null : view.dirtyReps);
  renderBehind();
  if (full || view.scopeDirty) scheduleChart();
  $("scope-name").textContent = scopeName();
  $("day").textContent = dayLabel();
  view.full = false;
  view.teamsDirty = false;
  view.scopeDirty = false;
  view.dirtyReps = new Set();
}

function dayLabel() {
  if (!state.day) return "";
  const [y, m, d] = state.day.split("-").map(Number);
  const date = new Date(Date.UTC(y, m - 1, d, 12));
  return new Intl.DateTimeFormat(i18n.locale, {
    timeZone: "UTC",
    month: "long",
    day: "numeric",
    weekday: "short",
  }).format(date);
}

function renderKpis() {
  kpiTiles($("kpis"), scopeObject(), i18n, cfg);
  stateStrip($("states"), scopeObject(), i18n);
}

/** A team's counts by state in one cell: "12 · 3 · 2 · 1" with each group's colour. */
function teamStates(t) {
  const groups = stateGroups(t);
  // A floor no source reports states for shows nothing here rather than a row of zeros.
  const floorGroups = stateGroups(state.floor);
  if (!Object.values(floorGroups).some((n) => n > 0)) return el("td", { class: "states" });
  return el(
    "td",
    { class: "states" },
    ...Object.entries(groups).map(([group, n]) =>
      el("span", {
        class: "state-count-value",
        "data-state-group": group,
        title: i18n.t("states_" + group),
        text: String(n),
      }),
    ),
  );
}

function renderTeams() {
  const names = state.teamNames();
  const panel = $("teams-panel");
  panel.hidden = names.length < 2 && !!cfg.team;
  const page = currentPage();
  const current = view.pages.length > 1 && page ? page.team : null;
  syncRows($("teams-body"), names.map((n) => state.teams.get(n)), {
    key: (t) => t.name,
    attr: "data-team",
    render: (t) => {
      const totals = t.totals || {};
      return el(
        "tr",
        { "data-team": t.name, class: current === t.name ? "current" : null },
        el("th", { class: "name", text: t.name }),
        teamStates(t),
        ...paceCells(t),
        el("td", { "data-metric": "orders", text: i18n.int(totals.orders) }),
        el("td", {
          "data-metric": "revenue",
          text: i18n.money(totals.revenue, cfg.minorDigits),
        }),
      );
    },
  });
}

// --- leaderboard pages -----------------------------------------------------------------------

function buildPages() {
  const reps = state.repList(cfg.team || null).sort(byResults);
  if (cfg.team || reps.length <= PAGE_SIZE) {
    return [{ key: "all", team: cfg.team || null, reps, part: 1, parts: 1 }];
  }
  const pages = [];
  const teams = [...state.teamNames()];
  for (const r of reps) if (!teams.includes(r.team)) teams.push(r.team);
  for (const team of teams) {
    const mine = reps.filter((r) => r.team === team);
    const parts = Math.ceil(mine.length / PAGE_SIZE);
    for (let i = 0; i < parts; i++) {
      pages.push({
        key: `${team}#${i}`,
        team,
        reps: mine.slice(i * PAGE_SIZE, (i + 1) * PAGE_SIZE),
        part: i + 1,
        parts,
      });
    }
  }
  return pages;
}

function currentPage() {
  return view.pages.find((p) => p.key === view.pageKey) || view.pages[0] || null;
}

function rotate() {
  if (view.pages.length < 2) return;
  const i = view.pages.findIndex((p) => p.key === view.pageKey);
  view.pageKey = view.pages[(i + 1) % view.pages.length].key;
  scheduleRender();
}

function renderBoard(dirty) {
  const page = currentPage();
  const title = $("board-page");
  const dots = $("board-dots");
  const multi = !cfg.team && view.pages.length > 1;
  title.textContent = page && page.team && multi ? page.team : "";
  if (page && page.parts > 1) title.textContent += ` ${page.part}/${page.parts}`;
  dots.replaceChildren(
    ...(multi
      ? view.pages.map((p) => el("span", { class: p.key === view.pageKey ? "dot on" : "dot" }))
      : []),
  );

  const body = $("board-body");
  const reps = page ? page.reps : [];
  const showTeam = !cfg.team && !multi && state.teams.size > 1;
  $("board").classList.toggle("with-team", showTeam);
  if (!reps.length) {
    body.replaceChildren(
      el("tr", { class: "empty" }, el("td", { colspan: 8, text: i18n.t("no_data") })),
    );
    return;
  }
  const offset = page ? (page.part - 1) * PAGE_SIZE : 0;
  syncRows(body, reps, {
    key: (r) => r.code,
    attr: "data-rep",
    dirty,
    render: (r, i) => boardRow(r, offset + i, showTeam),
    reindex: (node, i) => {
      const rank = node.querySelector(".rank");
      rank.textContent = String(offset + i + 1);
      rank.dataset.rank = String(offset + i + 1);
    },
  });
}

/** Dials, dials pace and talk cells of a rep or team row, coloured by their status. */
function paceCells(row) {
  const totals = row.totals || {};
  // A rep logged out all day is not in, one away today is away: neither is behind.
  const off = row.not_in || isOff(row);
  const dials = off ? null : paceOf(row, "dials");
  const talk = off ? null : paceOf(row, "talk_seconds");
  return [
    el("td", {
      "data-metric": "dials",
      "data-status": dials ? dials.status : null,
      "data-stretch": atStretch(dials) ? "true" : null,
      text: i18n.int(totals.dials),
    }),
    el("td", {
      "data-pace": "dials",
      "data-status": dials ? dials.status : null,
      text: dials
        ? i18n.pct(dials.pace)
        : isOff(row)
          ? i18n.t("att_" + row.attendance.status)
          : row.not_in
            ? i18n.t("not_in")
            : "—",
    }),
    el("td", {
      "data-metric": "talk_seconds",
      "data-status": talk ? talk.status : null,
      "data-stretch": atStretch(talk) ? "true" : null,
      text: i18n.duration(totals.talk_seconds),
    }),
  ];
}

function boardRow(r, index, showTeam) {
  const totals = r.totals || {};
  const name = el("td", { class: "name" }, el("span", { text: r.name }));
  if (showTeam) name.append(el("span", { class: "tag", text: r.team || "" }));
  if (r.new_hire) name.append(el("span", { class: "tag new", text: i18n.t("new_hire") }));
  if (r.attendance) name.append(attendanceTag(r, i18n));
  const row = el(
    "tr",
    {
      "data-rep": r.code,
      "data-state": rowState(r),
      class: celebrating.has(r.code) ? "flash" : null,
    },
    el("td", { class: "rank", "data-rank": index + 1, text: String(index + 1) }),
    name,
    el("td", { class: "state" }, stateBadge(r, i18n, cfg)),
    el("td", {
      "data-metric": "revenue",
      text: i18n.money(totals.revenue, cfg.minorDigits),
    }),
    el("td", { "data-metric": "orders", text: i18n.int(totals.orders) }),
    ...paceCells(r),
  );
  return row;
}

// --- behind pace -----------------------------------------------------------------------------

function renderBehind() {
  const behind = [];
  for (const r of state.repList(cfg.team || null)) {
    const red = redPaces(r);
    if (red.length) behind.push({ rep: r, red });
  }
  behind.sort((a, b) => (a.red[0].pace ?? 0) - (b.red[0].pace ?? 0));
  const list = $("behind-list");
  const shown = behind.slice(0, BEHIND_MAX);
  if (!shown.length) {
    list.replaceChildren(el("li", { class: "empty", text: i18n.t("nobody_behind") }));
  } else {
    list.replaceChildren(
      ...shown.map(({ rep, red }) =>
        el(
          "li",
          { "data-rep": rep.code },
          el("span", { class: "name", text: rep.name }),
          ...red.slice(0, 2).map((p) =>
            el(
              "span",
              { class: "why" },
              el("span", { class: "label", text: i18n.t(p.metric) }),
              el("span", {
                "data-pace": p.metric,
                "data-status": "red",
                text: i18n.pct(p.pace),
              }),
              el("span", {
                class: "need",
                "data-needed": p.metric,
                text:
                  p.needed_per_hour === null || p.needed_per_hour === undefined
                    ? ""
                    : `${i18n.t("needed_per_hour")} ${i18n.metric(p.metric, p.needed_per_hour, cfg.minorDigits)}`,
              }),
            ),
          ),
        ),
      ),
    );
  }
  // Whatever does not fit the panel goes into "N more" instead of being cut off mid-row.
  let fitted = shown.length;
  while (fitted > 1 && list.scrollHeight > list.clientHeight + 1) {
    list.lastElementChild.remove();
    fitted -= 1;
  }
  const more = behind.length - Math.min(fitted, shown.length);
  $("behind-more").textContent = more > 0 ? i18n.t("more", { n: more }) : "";
  $("behind-count").textContent = behind.length ? String(behind.length) : "";
}

// --- chart -----------------------------------------------------------------------------------

function scheduleChart() {
  if (view.chartTimer) return;
  const wait = Math.max(0, CHART_MIN_INTERVAL_MS - (Date.now() - view.chartDrawnAt));
  view.chartTimer = setTimeout(() => {
    view.chartTimer = null;
    view.chartDrawnAt = Date.now();
    drawHourChart();
  }, wait);
}

function drawHourChart() {
  const obj = scopeObject();
  const node = $("chart");
  const hours = (obj && obj.hours) || [];
  const now = floorNow(tz());
  const currentHour = now.day === state.day ? now.hour : now.day > (state.day || "") ? 99 : -1;
  const traces = hourTraces(hours, "dials", { i18n, cfg, currentHour });
  const font = { family: "inherit", color: "#e2e8f0", size: 22 };
  drawChart(
    node,
    traces,
    {
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      font,
      margin: { l: 80, r: 20, t: 36, b: 44 },
      showlegend: true,
      legend: { orientation: "h", x: 0, y: 1, yanchor: "bottom", font: { size: 20 } },
      xaxis: { type: "category", tickfont: { size: 20 }, gridcolor: "#1e293b" },
      yaxis: { gridcolor: "#1e293b", tickfont: { size: 20 }, rangemode: "tozero" },
      bargap: 0.25,
    },
    { staticPlot: true, displayModeBar: false, responsive: true },
  );
}

// --- celebrations ----------------------------------------------------------------------------

const celebrating = new Set();
const queue = [];
let celebrateTimer = null;

function celebrate(msg) {
  queue.push(msg);
  if (queue.length > 5) queue.splice(0, queue.length - 5); // a burst: the latest five
  if (!celebrateTimer) nextCelebration();
}

function nextCelebration() {
  const banner = $("celebrate");
  const msg = queue.shift();
  if (!msg) {
    banner.hidden = true;
    celebrateTimer = null;
    return;
  }
  const digits = typeof msg.currency_minor_digits === "number" ? msg.currency_minor_digits : cfg.minorDigits;
  const rep = state.reps.get(msg.rep);
  $("celebrate-name").textContent = msg.name || (rep ? rep.name : "");
  $("celebrate-team").textContent = msg.team || "";
  $("celebrate-amount").textContent = msg.amount ? i18n.money(msg.amount, digits) : "";
  $("celebrate-orders").textContent =
    msg.orders > 1 ? i18n.t("celebrate_orders", { n: msg.orders }) : "";
  banner.hidden = false;
  banner.classList.remove("pop");
  void banner.offsetWidth; // restart the animation
  banner.classList.add("pop");
  celebrating.add(msg.rep);
  const row = document.querySelector(`#board-body tr[data-rep="${CSS.escape(String(msg.rep))}"]`);
  if (row) row.classList.add("flash");
  celebrateTimer = setTimeout(() => {
    celebrating.delete(msg.rep);
    const r = document.querySelector(`#board-body tr[data-rep="${CSS.escape(String(msg.rep))}"]`);
    if (r) r.classList.remove("flash");
    nextCelebration();
  }, CELEBRATE_MS);
}

// --- clock -----------------------------------------------------------------------------------

function tickClock() {
  $("clock").textContent = timeFormat(i18n.locale, tz(), true).format(new Date());
}

// --- wiring ----------------------------------------------------------------------------------

function start() {
  document.documentElement.lang = cfg.lang === "zh" ? "zh-CN" : "en";
  i18n.apply(document);
  tickClock();
  setInterval(() => {
    tickClock();
    tickStateTimes(); // time in state counts up here, not by server frames
  }, 1000);
  setInterval(rotate, ROTATE_MS);
  window.addEventListener("resize", () => {
    renderKpis(); // figures re-fit their tiles
    scheduleChart();
  });

  const live = new LiveClient({
    token: cfg.token,
    display: cfg.display,
    teams: cfg.team ? [cfg.team] : [],
    base: cfg.base,
    conn: $("conn"),
    t: i18n.t,
    on: {
      snapshot(data) {
        syncClock(data.generated_at);
        state.applySnapshot(data);
        view.full = true;
        scheduleRender();
      },
      delta(msg) {
        const changed = state.applyDelta(msg);
        if (!changed) {
          live.resync(); // a delta for another day: we missed the rollover snapshot
          return;
        }
        for (const code of changed.reps) view.dirtyReps.add(code);
        if (changed.teams.size) view.teamsDirty = true;
        if (cfg.team ? changed.teams.has(cfg.team) : changed.floor) view.scopeDirty = true;
        scheduleRender();
      },
      celebrate,
      tick(msg) {
        syncClock(msg.at);
        scheduleChart(); // the current hour may have moved on
      },
    },
  });
  live.start();
}

start();
