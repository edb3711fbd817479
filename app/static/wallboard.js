// The wallboard: a TV read from five metres, nobody touches it; any screen from 1280×720 to 4K,
// or a portrait one (paceboard.css lays it out from the viewport).
// Floor (or pinned team) figures against target and expected-by-now, a leaderboard that pages
// through teams, and through a team longer than the screen holds (as many rows a page as the
// panel holds, measured), the hour-by-hour chart, every rep who is behind (paged too, the most
// behind first), a banner for every sale, the floor's clock, the connection state, and a banner
// over everything when no frame has come for 10 s.

import { floorNow, makeI18n, timeFormat } from "./i18n.js";
import { LiveClient } from "./live.js";
import {
  atStretch,
  attendanceTag,
  byResults,
  dayPace,
  drawChart,
  el,
  FloorState,
  headerRow,
  hourTraces,
  isOff,
  kpiTiles,
  pageConfig,
  paceText,
  redPaces,
  rowState,
  serverClock,
  stateBadge,
  stateGroups,
  stateStrip,
  syncClock,
  syncRows,
  tickStateTimes,
  worstDayPace,
} from "./floor.js";
import { mountViews } from "./views.js";
import { teamParts } from "./paging.js";

const ROTATE_MS = 20_000; // a page of the leaderboard and of the behind list
const MIN_ROTATE_MS = 500;
const CELEBRATE_MS = 8_000;
// No frame for this long (the server sends a heartbeat every 5 s) and the board says it has
// stopped updating: figures that look live but are not are worse than none.
const STALE_MS = 10_000;
const CHART_MIN_INTERVAL_MS = 1_000;
const RESIZE_SETTLE_MS = 150;

const cfg = pageConfig();
const i18n = makeI18n(cfg.lang);
const state = new FloorState();
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);

const view = {
  pages: [], // [{key, team, reps, offset}]
  pageKey: null,
  drawnPageKey: undefined,
  rowsFit: 0, // leaderboard rows the panel holds (0: not measured yet)
  rowHeight: 0, // a leaderboard row's height and the room for rows, in px (measured)
  boardRoom: 0,
  behindFit: 0, // behind entries the list holds
  behindPage: 0,
  behindPages: 1,
  measure: true, // measure the panels before the next render (first render, snapshot, resize)
  dirtyReps: new Set(),
  full: true,
  teamsDirty: true,
  scopeDirty: true,
  renderTimer: null,
  chartTimer: null,
  chartDrawnAt: 0,
  lastFrameAt: 0, // Date.now() when the last frame arrived (0: none yet)
  stale: false,
};

// --- the screen's settings -------------------------------------------------------------------

/** The display link's settings (a JSON object on <body data-view-settings>), {} when none. */
function linkSettings() {
  try {
    const s = JSON.parse(document.body.dataset.viewSettings || "{}");
    return s && typeof s === "object" && !Array.isArray(s) ? s : {};
  } catch {
    return {};
  }
}

/** "large" or "normal": ?size= in the URL wins over the display link's size. */
function sizeSetting() {
  const size = params.get("size") || linkSettings().size || "normal";
  return size === "large" ? "large" : "normal";
}

/** Milliseconds a page stays up: ?rotate_ms= (tests, a busy floor), else 20 s. */
function rotateInterval() {
  const ms = Number(params.get("rotate_ms"));
  return Number.isFinite(ms) && ms >= MIN_ROTATE_MS ? ms : ROTATE_MS;
}

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
  if (view.measure) {
    renderKpis(); // the tiles' and the teams table's heights decide the panels' heights
    renderTeams();
    measure();
  }
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
  views.refresh();
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
  // A figure may shrink to fit its tile, but never below a thirtieth of the screen's height.
  kpiTiles($("kpis"), scopeObject(), i18n, cfg, {
    minPx: Math.ceil(window.innerHeight / 30),
    wholeMoney: true, // as the leaderboard shows it
  });
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
  const current = !cfg.team && view.pages.length > 1 && page ? page.team : null;
  syncRows($("teams-body"), names.map((n) => state.teams.get(n)), {
    key: (t) => t.name,
    attr: "data-team",
    render: (t) =>
      el(
        "tr",
        { "data-team": t.name, class: current === t.name ? "current" : null },
        ...TEAM_COLUMNS.map((c) => c.cell(t)),
      ),
  });
}

// --- measuring: how many rows the panels hold ------------------------------------------------

/**
 * Fit the tables and the behind list across their panels, then count the leaderboard rows and
 * behind entries the panels hold, from their real boxes: sample rows are laid out, measured and
 * taken away again before the page is drawn. Runs on the first render, after a snapshot, after
 * a resize and when the pages turn; never on a delta.
 */
function measure() {
  // Another view in front of the live board (views.js): measure once it is back on screen.
  if (!document.querySelector("main.wb-main").getBoundingClientRect().height) return;
  view.measure = false;
  const teams = document.querySelector("table.teams");
  fitAcross(teams, () => teams.getBoundingClientRect().width / contentWidth(teams.parentElement));
  measureRows();
  view.behindFit = measureBehind();
  view.drawnPageKey = undefined; // pages change with the count: draw the page whole
}

function measureRows() {
  const all = state.repList(cfg.team || null).sort(byResults);
  if (!all.length) return;
  measureRowsOf(all.slice(0, 60), false);
  // The whole floor on one page names each rep's team beside them: measure those wider rows.
  if (!cfg.team && state.teams.size > 1 && all.length <= view.rowsFit) measureRowsOf(all, true);
}

function measureRowsOf(reps, showTeam) {
  const body = $("board-body");
  const board = $("board");
  body.replaceChildren(...reps.map((r, i) => boardRow(r, i, showTeam)));
  body.style.removeProperty("--row-extra");
  fitAcross(board, () => board.getBoundingClientRect().width / contentWidth(board.parentElement));
  view.rowHeight = Math.max(...[...body.rows].map((row) => row.getBoundingClientRect().height));
  view.boardRoom = contentBottom(board.parentElement) - body.getBoundingClientRect().top;
  view.rowsFit = Math.max(1, Math.floor((view.boardRoom + 0.5) / view.rowHeight));
  body.replaceChildren();
}

// Nobody behind yet: an entry like theirs tells how tall one will be.
const SAMPLE_BEHIND = {
  rep: { code: "", name: "—" },
  red: [
    { metric: "dials", pace: 0.5, needed_per_hour: 10 },
    { metric: "talk_seconds", pace: 0.5, needed_per_hour: 600 },
  ],
};

function measureBehind() {
  const behind = behindReps();
  const list = $("behind-list");
  list.replaceChildren(...(behind.length ? behind.slice(0, 40) : [SAMPLE_BEHIND]).map(behindItem));
  const items = [...list.children];
  fitAcross(list, () => Math.max(...items.map((li) => li.scrollWidth / li.clientWidth)));
  const itemHeight = Math.max(...items.map((li) => li.getBoundingClientRect().height));
  const room = list.getBoundingClientRect().height;
  list.replaceChildren();
  return Math.max(1, Math.floor((room + 0.5) / itemHeight));
}

/**
 * Shrink a block's type (its --fit, never above 1) until `overflow()` (how many times too wide
 * it is) comes to 1: a long name or a seven-figure revenue makes the block a little smaller on
 * this screen instead of cut off.
 */
function fitAcross(node, overflow) {
  let fit = 1;
  node.style.setProperty("--fit", "1");
  for (let i = 0; i < 4; i++) {
    const ratio = overflow();
    if (!(ratio > 1.001)) break;
    fit = (fit / ratio) * 0.99;
    node.style.setProperty("--fit", fit.toFixed(3));
  }
}

/** A panel's width inside its padding. */
function contentWidth(panel) {
  const s = getComputedStyle(panel);
  return panel.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
}

/** The y where a panel's content ends (its bottom less its padding). */
function contentBottom(panel) {
  return panel.getBoundingClientRect().bottom - parseFloat(getComputedStyle(panel).paddingBottom);
}

// --- leaderboard pages -----------------------------------------------------------------------

/** Pages of at most `view.rowsFit` rows: the floor page by page per team (a team longer than a
 * page in parts), a pinned team in parts; ranks run on across a team's parts. */
function buildPages() {
  const fit = Math.max(1, view.rowsFit || 12);
  const reps = state.repList(cfg.team || null).sort(byResults);
  if (cfg.team || reps.length <= fit) return teamParts(cfg.team || null, reps, fit, "all");
  const teams = [...state.teamNames()];
  for (const r of reps) if (!teams.includes(r.team)) teams.push(r.team);
  return teams.flatMap((team) => teamParts(team, reps.filter((r) => r.team === team), fit, team));
}

function currentPage() {
  return view.pages.find((p) => p.key === view.pageKey) || view.pages[0] || null;
}

/** The next page of the leaderboard and of the behind list. The panels are measured again
 * too: figures grow through the day, and a column that widened since the last measure is
 * fitted here rather than left cut until the next snapshot. */
function rotate() {
  if (view.pages.length > 1) {
    const i = view.pages.findIndex((p) => p.key === view.pageKey);
    view.pageKey = view.pages[(i + 1) % view.pages.length].key;
  }
  if (view.behindPages > 1) view.behindPage = (view.behindPage + 1) % view.behindPages;
  view.measure = true;
  scheduleRender();
}

/** "2/3" and a dot per page, the current one lit; nothing for a single page. */
function pageIndicator(partNode, dotsNode, index, count) {
  partNode.textContent = count > 1 ? `${index + 1}/${count}` : "";
  dotsNode.replaceChildren(
    ...(count > 1
      ? Array.from({ length: count }, (_, i) =>
          el("span", { class: i === index ? "dot on" : "dot" }),
        )
      : []),
  );
}

function renderBoard(dirty) {
  const page = currentPage();
  const index = Math.max(0, view.pages.indexOf(page));
  $("board-page").textContent = page && page.team && !cfg.team ? page.team : "";
  pageIndicator($("board-part"), $("board-dots"), index, view.pages.length);

  const body = $("board-body");
  const reps = page ? page.reps : [];
  const showTeam = !cfg.team && !(page && page.team) && state.teams.size > 1;
  $("board").classList.toggle("with-team", showTeam);
  if (!reps.length) {
    body.replaceChildren(
      el("tr", { class: "empty" }, el("td", { colspan: BOARD_COLUMNS.length, text: i18n.t("no_data") })),
    );
    return;
  }
  // A page shorter than the panel spreads its rows over it (up to 40 % taller each) rather
  // than leave its lower third empty; arithmetic on the measured sizes, no layout read.
  const spare = view.rowHeight ? (view.boardRoom - reps.length * view.rowHeight) / reps.length : 0;
  const extra = Math.min(view.rowHeight * 0.4, Math.max(0, Math.floor(spare) - 1));
  body.style.setProperty("--row-extra", `${extra}px`);
  const offset = page ? page.offset : 0;
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

// --- the leaderboard's and the teams' columns: each once, its header and cell together ----------

/** A row neither in nor away today is behind on nothing: no pace colours (null). */
function shownDayPace(row, metric) {
  return row.not_in || isOff(row) ? null : dayPace(row, metric);
}

/** Today's dials or talk, coloured by today's pace of that metric. */
function paceColouredCell(row, metric) {
  const p = shownDayPace(row, metric);
  return el("td", {
    "data-metric": metric,
    "data-status": p ? p.status : null,
    "data-stretch": atStretch(p) ? "true" : null,
    text: i18n.metric(metric, (row.totals || {})[metric]),
  });
}

/**
 * The row's worst day pace, saying which metric it is ("48% 通时") in that pace's colour, so a
 * rep at 48 % of talk time never reads a green 105 % of dials while topping the behind list.
 * A rep logged out all day is not in, one away today is away: neither is behind.
 */
function paceCell(row) {
  const worst = row.not_in || isOff(row) ? null : worstDayPace(row);
  if (worst) {
    return el(
      "td",
      { class: "pace", "data-pace": worst.metric, "data-status": worst.status },
      paceText(worst, i18n, cfg),
      el("span", { class: "pace-of", text: i18n.t("wb_short_" + worst.metric) }),
    );
  }
  return el("td", {
    class: "pace",
    text: isOff(row) ? i18n.t("att_" + row.attendance.status) : row.not_in ? i18n.t("not_in") : "—",
  });
}

/** The figures both tables show after their own columns: revenue, orders, dials, talk, pace. */
const FIGURE_COLUMNS = [
  { label: "revenue", cell: (row) => revenueCell((row.totals || {}).revenue) },
  {
    label: "orders",
    cell: (row) => el("td", { "data-metric": "orders", text: i18n.int((row.totals || {}).orders) }),
  },
  { label: "dials", cell: (row) => paceColouredCell(row, "dials") },
  { label: "talk_seconds", cell: (row) => paceColouredCell(row, "talk_seconds") },
  { label: "pace", cls: "pace", cell: paceCell },
];

/** The leaderboard: `cell(rep, {index, showTeam})` (index: the rep's place, 0-based). */
const BOARD_COLUMNS = [
  {
    label: "rank",
    cls: "rank",
    cell: (r, { index }) => el("td", { class: "rank", "data-rank": index + 1, text: String(index + 1) }),
  },
  { label: "rep", cls: "name", cell: boardName },
  { label: "agent_state", cls: "state", cell: (r) => el("td", { class: "state" }, stateBadge(r, i18n, cfg)) },
  ...FIGURE_COLUMNS,
];

/** The teams' table: `cell(team)`. */
const TEAM_COLUMNS = [
  { label: "team", cls: "name", cell: (t) => el("th", { class: "name", text: t.name }) },
  { label: "agent_state", cls: "states", cell: teamStates },
  ...FIGURE_COLUMNS,
];

/** Revenue in whole yuan ("¥16,780"): read from five metres, the fen only widen the column;
 * the exact figure is in the cell's title. */
function revenueCell(minor) {
  const whole = typeof minor === "number" ? Math.trunc(minor / 10 ** cfg.minorDigits) : null;
  return el("td", {
    "data-metric": "revenue",
    title: i18n.money(minor, cfg.minorDigits),
    text: whole === null ? i18n.money(minor) : "¥" + i18n.int(whole),
  });
}

function boardName(r, { showTeam }) {
  const name = el("td", { class: "name" }, el("span", { text: r.name }));
  if (showTeam) name.append(el("span", { class: "tag", text: r.team || "" }));
  if (r.new_hire) name.append(el("span", { class: "tag new", text: i18n.t("new_hire") }));
  if (r.attendance) name.append(attendanceTag(r, i18n));
  return name;
}

function boardRow(r, index, showTeam) {
  return el(
    "tr",
    {
      "data-rep": r.code,
      "data-state": rowState(r),
      class: celebrating.has(r.code) ? "flash" : null,
    },
    ...BOARD_COLUMNS.map((c) => c.cell(r, { index, showTeam })),
  );
}

// --- behind pace -----------------------------------------------------------------------------

/** Every rep behind on a day target, the most behind (lowest worst pace) first. */
function behindReps() {
  const behind = [];
  for (const r of state.repList(cfg.team || null)) {
    const red = redPaces(r);
    if (red.length) behind.push({ rep: r, red });
  }
  const byName = (a, b) => String(a.rep.name).localeCompare(String(b.rep.name), "zh-CN");
  return behind.sort((a, b) => a.red[0].pace - b.red[0].pace || byName(a, b));
}

function behindItem({ rep, red }) {
  return el(
    "li",
    { "data-rep": rep.code },
    el("span", { class: "name", text: rep.name }),
    ...red.slice(0, 2).map((p) =>
      el(
        "span",
        { class: "why" },
        el("span", { class: "label", text: i18n.t("wb_short_" + p.metric) }),
        el("span", { "data-pace": p.metric, "data-status": "red", text: paceText(p, i18n, cfg) }),
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
  );
}

/** Everyone behind, a page at a time when they do not all fit: nobody is left out. */
function renderBehind() {
  const behind = behindReps();
  const fit = Math.max(1, view.behindFit || behind.length);
  view.behindPages = Math.max(1, Math.ceil(behind.length / fit));
  if (view.behindPage >= view.behindPages) view.behindPage = 0;
  const shown = behind.slice(view.behindPage * fit, (view.behindPage + 1) * fit);
  const list = $("behind-list");
  if (!shown.length) {
    list.replaceChildren(el("li", { class: "empty", text: i18n.t("nobody_behind") }));
  } else {
    list.replaceChildren(...shown.map(behindItem));
  }
  $("behind-count").textContent = behind.length ? String(behind.length) : "";
  pageIndicator($("behind-part"), $("behind-dots"), view.behindPage, view.behindPages);
}

// --- chart -----------------------------------------------------------------------------------

function scheduleChart() {
  if (view.chartTimer || !state.day) return; // nothing to draw before the first snapshot
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
  // Plotly takes px: sized from the page's own unit, so the chart scales with everything else;
  // the hour labels stay level and shrink instead when a narrow chart would tilt or cut them.
  const px = (k) => Math.round(unit() * k);
  const margin = { l: px(3.6), r: px(0.8), t: px(1.9), b: px(2.2) };
  const slot = (node.clientWidth - margin.l - margin.r) / Math.max(1, hours.length);
  const tick = Math.max(px(0.55), Math.min(px(1), Math.floor(slot / 2.8)));
  drawChart(
    node,
    traces,
    {
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      font: { family: "inherit", color: "#e2e8f0", size: px(1.1) },
      margin,
      showlegend: true,
      legend: { orientation: "h", x: 0, y: 1, yanchor: "bottom", font: { size: tick } },
      xaxis: { type: "category", tickangle: 0, tickfont: { size: tick }, gridcolor: "#1e293b" },
      yaxis: { gridcolor: "#1e293b", tickfont: { size: px(1) }, rangemode: "tozero" },
      bargap: 0.25,
      width: node.clientWidth || undefined,
      height: node.clientHeight || undefined,
    },
    { staticPlot: true, displayModeBar: false, responsive: true },
  );
}

/** The layout's unit in px (--s: 19.2 at 1920×1080): the body's font is 1.4 of it. */
function unit() {
  return parseFloat(getComputedStyle(document.body).fontSize) / 1.4;
}

// --- stale: nothing heard for 10 s -----------------------------------------------------------

/** Dim the figures and say since when nothing came, until the next snapshot. */
function checkStale() {
  if (view.stale || !view.lastFrameAt || Date.now() - view.lastFrameAt < STALE_MS) return;
  view.stale = true;
  const at = new Date(view.lastFrameAt + serverClock.offset);
  const clock = timeFormat(i18n.locale, tz(), true).format(at);
  $("stale").textContent = i18n.t("wb_stale", { at: clock });
  $("stale").hidden = false;
  document.body.dataset.stale = "true";
  live.resync(); // a line that is merely slow answers with a snapshot, which clears this
}

function clearStale() {
  if (!view.stale) return;
  view.stale = false;
  $("stale").hidden = true;
  delete document.body.dataset.stale;
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

let resizeTimer = null;

/** The live board's box changed (the window, the screen turned, the board back from another
 * view): measure again how many rows fit, re-fit the figures to their tiles, redraw the chart. */
function onResize() {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => {
    view.measure = true;
    view.full = true;
    scheduleRender();
    scheduleChart();
  }, RESIZE_SETTLE_MS);
}

document.documentElement.lang = cfg.lang === "zh" ? "zh-CN" : "en";
if (sizeSetting() === "large") document.body.dataset.size = "large";
$("board").tHead.replaceChildren(headerRow(BOARD_COLUMNS, i18n));
document.querySelector("table.teams").tHead.replaceChildren(headerRow(TEAM_COLUMNS, i18n));
i18n.apply(document);

const views = mountViews({
  live: document.querySelector("main.wb-main"),
  host: $("views"),
  state,
  cfg,
  i18n,
});

const live = new LiveClient({
  token: cfg.token,
  display: cfg.display,
  teams: cfg.team ? [cfg.team] : [],
  base: cfg.base,
  conn: $("conn"),
  t: i18n.t,
  on: {
    frame() {
      view.lastFrameAt = Date.now();
      if (view.stale) live.resync(); // heard again: a snapshot brings the board up to date
    },
    snapshot(data) {
      syncClock(data.generated_at);
      state.applySnapshot(data);
      clearStale();
      view.full = true;
      view.measure = true;
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

function start() {
  tickClock();
  setInterval(() => {
    tickClock();
    tickStateTimes(); // time in state counts up here, not by server frames
    checkStale();
  }, 1000);
  setInterval(rotate, rotateInterval());
  new ResizeObserver(onResize).observe(document.querySelector("main.wb-main"));
  live.start();
}

start();
