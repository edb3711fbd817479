// Rotating views over the live board (issue 20, point 5): leaderboards for today / this week /
// this month by a chosen metric, the team PK table and a rep × hour heatmap of today, shown in
// turn on a schedule per display link, or pinned.
//
// Contract with wallboard.js: mountViews({ live, host, state, cfg, i18n }) is called once at
// start; `live` is the live board's <main>, `host` an empty element beside it that the views fill.
// The returned object's refresh() is called after every render of the live board.
//
// Settings come from <body data-view-settings> (a display link's, as JSON) with the page's query
// over them: ?views=live,week,pk&rotate=30&pin=heatmap&metric=orders. Anything unknown is left
// out quietly and the rest (or the default: the live board alone, nothing rotating) is shown.
// Today's views read the live snapshot (`state`); the week and month ask the server
// (GET /api/v1/floor/leaderboard) when they come into view and every minute while shown.

import { el, fitText, isOff, paceOf, statusFor } from "./floor.js";
import { floorNow } from "./i18n.js";
import { METRICS } from "./metrics.js";
import { byValue, pageCount, pageOf, rankAll } from "./paging.js";

export const VIEWS = ["live", "today", "week", "month", "pk", "heatmap"];
const DEFAULTS = { views: ["live"], rotate_seconds: 30, pin: null, metric: "revenue" };
// A link's settings say 5 s or more; a fraction of a second is for tests (?rotate=0.5).
const MIN_ROTATE_S = 0.2;
const PERIOD_REFRESH_MS = 60_000;
const REDRAW_MIN_MS = 250; // a burst of deltas redraws a live view at most four times a second
const PK_COLUMNS = ["revenue", "orders", "dials", "talk_seconds"];

// --- settings --------------------------------------------------------------------------------

/** The views to show, how long each stays, the pinned one and the metric, from the link's JSON
 * settings with the URL's query over them; unknown names and bad numbers fall back quietly. */
export function viewSettings(json = document.body.dataset.viewSettings, search = location.search) {
  const link = parseLink(json);
  const q = new URLSearchParams(search);
  const out = { ...link };
  if (q.has("views")) {
    const views = knownViews(q.get("views").split(","));
    if (views.length) out.views = views;
  }
  if (q.has("rotate")) out.rotate_seconds = seconds(q.get("rotate")) ?? link.rotate_seconds;
  if (q.has("pin")) {
    const pin = q.get("pin").trim();
    if (pin === "" || pin === "none") out.pin = null;
    else if (VIEWS.includes(pin)) out.pin = pin;
  }
  if (METRICS.includes(q.get("metric"))) out.metric = q.get("metric");
  out.steps = out.pin ? [out.pin] : out.views;
  return out;
}

function parseLink(json) {
  let raw = {};
  try {
    raw = json ? JSON.parse(json) : {};
  } catch {
    raw = {};
  }
  if (!raw || typeof raw !== "object") raw = {};
  const views = Array.isArray(raw.views) ? knownViews(raw.views) : [];
  return {
    views: views.length ? views : [...DEFAULTS.views],
    rotate_seconds: seconds(raw.rotate_seconds) ?? DEFAULTS.rotate_seconds,
    pin: VIEWS.includes(raw.pin) ? raw.pin : null,
    metric: METRICS.includes(raw.metric) ? raw.metric : DEFAULTS.metric,
  };
}

function knownViews(names) {
  const out = [];
  for (const n of names) {
    const name = String(n).trim();
    if (VIEWS.includes(name) && !out.includes(name)) out.push(name);
  }
  return out;
}

function seconds(value) {
  const n = Number(value);
  return value !== null && value !== "" && Number.isFinite(n) && n >= MIN_ROTATE_S ? n : null;
}

// --- mounting --------------------------------------------------------------------------------

/** Start the views beside the live board; returns {refresh()} (and the rest, for tests). */
export function mountViews({ live, host, state, cfg, i18n }) {
  const views = new Views({ live, host, state, cfg, i18n, settings: viewSettings() });
  views.start();
  return views;
}

class Views {
  constructor({ live, host, state, cfg, i18n, settings }) {
    Object.assign(this, { live, host, state, cfg, i18n, settings });
    this.steps = settings.steps;
    this.index = 0;
    this.page = 0;
    this.pages = 1;
    this.periods = new Map(); // "week"/"month" -> {data, error, loading}
    this.periodTimer = null;
    this.rotateTimer = null;
    this.redrawTimer = null;
    this.drawnAt = 0;
    this.stepAt = Date.now(); // when the page on screen came up (the progress bar's start)
    this.drawnSize = { w: 0, h: 0 };
  }

  get current() {
    return this.steps[this.index] || "live";
  }

  start() {
    document.body.dataset.view = this.current;
    // The live board alone, not rotating: today's wallboard, untouched.
    if (this.steps.length === 1 && this.current === "live") return;
    this.live.dataset.viewsLive = "";
    this.show(0);
    const ms = Math.max(MIN_ROTATE_S, this.settings.rotate_seconds) * 1000;
    this.rotateTimer = setInterval(() => this.advance(), ms);
    // The host's size moves with the screen and with what stands above it (the figures come
    // with the first snapshot): a view is laid out again whenever it changes.
    new ResizeObserver(() => {
      const { clientWidth: w, clientHeight: h } = this.host;
      const moved = w !== this.drawnSize.w || h !== this.drawnSize.h;
      if (this.current !== "live" && moved) this.draw();
    }).observe(this.host);
  }

  /** The next page of this view, or the next view's first page. */
  advance() {
    this.stepAt = Date.now();
    if (this.page + 1 < this.pages) {
      this.page += 1;
      this.draw();
      return;
    }
    if (this.steps.length > 1) this.show((this.index + 1) % this.steps.length);
    else if (this.page !== 0) {
      this.page = 0;
      this.draw();
    }
  }

  show(index) {
    this.index = index;
    this.page = 0;
    this.stepAt = Date.now();
    const step = this.current;
    document.body.dataset.view = step;
    clearInterval(this.periodTimer);
    this.periodTimer = null;
    if (step === "live") {
      this.host.hidden = true;
      this.host.replaceChildren();
      this.live.hidden = false;
      this.pages = 1;
      // The board was drawn while hidden: its chart and fitted figures measure again.
      window.dispatchEvent(new Event("resize"));
      return;
    }
    this.live.hidden = true;
    this.host.hidden = false;
    this.host.dataset.view = step;
    if (step === "week" || step === "month") {
      this.fetchPeriod(step);
      this.periodTimer = setInterval(() => this.fetchPeriod(step), PERIOD_REFRESH_MS);
    }
    this.draw({ entering: true });
  }

  /** Called after every render of the live board: today's views follow the deltas. */
  refresh() {
    const step = this.current;
    if (step === "live" || step === "week" || step === "month") return;
    if (this.redrawTimer) return;
    const wait = Math.max(0, REDRAW_MIN_MS - (Date.now() - this.drawnAt));
    this.redrawTimer = setTimeout(() => {
      this.redrawTimer = null;
      if (this.current === step) this.draw();
    }, wait);
  }

  // --- drawing -------------------------------------------------------------------------------

  draw({ entering = false } = {}) {
    this.drawnAt = Date.now();
    const step = this.current;
    if (step === "live") return;
    this.host.replaceChildren();
    this.fitHost();
    const view = el("section", {
      class: entering ? "vw vw-enter" : "vw",
      "data-view": step,
    });
    this.host.append(view);
    const head = this.header(step);
    view.append(head);
    const body = el("div", { class: "vw-body" });
    view.append(body);
    let pages = 1;
    if (step === "pk") pages = this.drawPk(body);
    else if (step === "heatmap") pages = this.drawHeatmap(body);
    else pages = this.drawBoard(body, step);
    this.pages = Math.max(1, pages);
    if (this.page >= this.pages) this.page = 0;
    this.fillIndicator(head);
    for (const node of view.querySelectorAll(".vw-fit")) fitText(node, 10);
    this.drawnSize = { w: this.host.clientWidth, h: this.host.clientHeight };
  }

  /** The host fills the screen below whatever stands above it: in the board's grid it has
   * the live board's row; anywhere else (empty, so of no height) it is given what is left. */
  fitHost() {
    this.host.style.height = "";
    const box = this.host.getBoundingClientRect();
    const pad = parseFloat(getComputedStyle(document.body).paddingBottom) || 0;
    const room = window.innerHeight - box.top - pad;
    if (box.height < 1 || box.height > room + 1) {
      this.host.style.height = `${Math.max(120, room)}px`;
    }
  }

  header(step) {
    const { i18n } = this;
    const title = el("h2", { class: "vw-title" }, el("span", { text: i18n.t("view_" + step) }));
    const metric = this.metricOf(step);
    if (metric) {
      title.append(
        el("span", { class: "vw-sep", text: "·" }),
        el("span", { class: "vw-metric", "data-title-metric": metric, text: i18n.t(metric) }),
      );
    }
    return el(
      "header",
      { class: "vw-head" },
      title,
      el("span", { class: "vw-range", text: this.rangeLabel(step) }),
      el("span", { class: "vw-page" }),
      el("span", { class: "vw-steps" }),
      el("span", { class: "vw-progress" }),
    );
  }

  /** Page "2/3" and a dot per view with the current one lit; a bar that fills until the next. */
  fillIndicator(head) {
    const rotating = this.steps.length > 1 || this.pages > 1;
    const page = head.querySelector(".vw-page");
    page.textContent =
      this.pages > 1 ? this.i18n.t("view_page", { n: this.page + 1, total: this.pages }) : "";
    page.dataset.page = String(this.page + 1);
    page.dataset.pages = String(this.pages);
    const dots = head.querySelector(".vw-steps");
    if (this.steps.length > 1) {
      dots.replaceChildren(
        ...this.steps.map((s, i) =>
          el("span", {
            class: i === this.index ? "vw-step on" : "vw-step",
            "data-step": s,
            title: this.i18n.t("view_" + s),
          }),
        ),
      );
    }
    const bar = head.querySelector(".vw-progress");
    bar.hidden = !rotating;
    bar.style.setProperty("--vw-dwell", `${Math.max(MIN_ROTATE_S, this.settings.rotate_seconds)}s`);
    // A redraw (a delta, the minute's read) carries the bar on from where it was.
    bar.style.animationDelay = `${-(Date.now() - this.stepAt) / 1000}s`;
    if (this.pinned) head.dataset.pinned = "true";
  }

  get pinned() {
    return !!this.settings.pin;
  }

  metricOf(step) {
    if (step === "heatmap") return this.heatMetric();
    if (step === "today" || step === "week" || step === "month" || step === "pk") {
      return this.settings.metric;
    }
    return null;
  }

  rangeLabel(step) {
    const { i18n } = this;
    if (step === "week" || step === "month") {
      const got = this.periods.get(step);
      const data = got && got.data;
      if (!data) return "";
      const first = dateLabel(data.first, i18n);
      return i18n.t("view_range", { first, last: dateLabel(data.last, i18n) });
    }
    return this.state.day ? dateLabel(this.state.day, i18n) : "";
  }

  // --- leaderboards ----------------------------------------------------------------------------

  /** Reps ranked on the left, teams ranked beside; returns the number of pages. */
  drawBoard(body, step) {
    const { i18n } = this;
    const metric = this.settings.metric;
    const rows = step === "today" ? this.todayRows(metric) : this.periodRows(step);
    body.classList.add("vw-board");
    if (!rows) {
      const got = this.periods.get(step);
      const text = got && got.error ? i18n.t("view_unavailable") : i18n.t("view_loading");
      const state = got && got.error ? "error" : "loading";
      body.append(el("div", { class: "vw-empty", "data-state": state, text }));
      return 1;
    }
    const repsBox = panel(i18n.t("view_reps"), "vw-reps");
    const teamsBox = panel(i18n.t("view_teams"), "vw-teams");
    body.append(repsBox.node, teamsBox.node);
    const showTeam = !this.cfg.team && new Set(rows.reps.map((r) => r.team)).size > 1;
    const repCap = capacity(repsBox.list);
    const teamCap = capacity(teamsBox.list);
    const pages = Math.max(
      pageCount(rows.reps.length, repCap),
      pageCount(rows.teams.length, teamCap),
    );
    const page = Math.min(this.page, pages - 1);
    const top = rows.reps.length ? rows.reps[0].value : 0;
    fillList(repsBox.list, pageOf(rankAll(rows.reps), page, repCap), (r) =>
      this.boardRow(r, metric, top, {
        key: "data-rep",
        id: r.code,
        name: r.name,
        tag: showTeam ? r.team : "",
      }),
    );
    const topTeam = rows.teams.length ? rows.teams[0].value : 0;
    fillList(teamsBox.list, pageOf(rankAll(rows.teams), page, teamCap), (t) =>
      this.boardRow(t, metric, topTeam, { key: "data-team", id: t.name, name: t.name, tag: "" }),
    );
    if (!rows.reps.length) {
      repsBox.list.append(el("div", { class: "vw-empty", text: i18n.t("no_data") }));
    }
    return pages;
  }

  boardRow(row, metric, top, { key, id, name, tag }) {
    const leader = row.rank === 1 && row.value > 0;
    return el(
      "div",
      { class: "vw-row", [key]: id, "data-rank": row.rank, "data-leader": leader ? "true" : null },
      el("span", { class: "vw-rank", text: String(row.rank) }),
      el(
        "span",
        { class: "vw-name" },
        el("span", { class: "vw-name-text vw-fit", text: name }),
        tag ? el("span", { class: "tag", text: tag }) : "",
      ),
      el("span", { class: "vw-bar-cell" }, bar(row.value, top)),
      el("span", {
        class: "vw-value vw-fit",
        "data-metric": metric,
        "data-value": row.value,
        text: this.i18n.metric(metric, row.value, this.cfg.minorDigits),
      }),
    );
  }

  todayRows(metric) {
    if (!this.state.day) return null;
    const value = (obj) => ((obj && obj.totals) || {})[metric] || 0;
    const reps = this.state
      .repList(this.cfg.team || null)
      .map((r) => ({ code: r.code, name: r.name, team: r.team, value: value(r) }));
    const teams = [...this.state.teams.values()].map((t) => ({ name: t.name, value: value(t) }));
    return { reps: reps.sort(byValue), teams: teams.sort(byValue) };
  }

  periodRows(step) {
    const got = this.periods.get(step);
    if (!got || !got.data) return null;
    return { reps: [...got.data.reps].sort(byValue), teams: [...got.data.teams].sort(byValue) };
  }

  async fetchPeriod(period) {
    const known = this.periods.get(period) || {};
    if (known.loading) return;
    this.periods.set(period, { ...known, loading: true });
    const { cfg } = this;
    const params = new URLSearchParams({ period, metric: this.settings.metric });
    if (cfg.team) params.set("team", cfg.team);
    const headers = { Accept: "application/json" };
    if (cfg.token) headers.Authorization = `Bearer ${cfg.token}`;
    else if (cfg.display) headers["X-Display"] = cfg.display;
    let next;
    try {
      const resp = await fetch(`${cfg.base}/api/v1/floor/leaderboard?${params}`, {
        headers,
        cache: "no-store",
        credentials: "same-origin",
      });
      if (!resp.ok) throw new Error(String(resp.status));
      next = { data: await resp.json(), error: false };
    } catch {
      // Kept quiet (a TV has no one to read the console): the last figures stay, marked.
      next = { ...known, error: true };
    }
    this.periods.set(period, { ...next, loading: false });
    if (this.current === period) this.draw();
  }

  // --- team PK ---------------------------------------------------------------------------------

  drawPk(body) {
    const { i18n, cfg } = this;
    const metric = this.settings.metric;
    body.classList.add("vw-pk");
    const cols = [metric, ...PK_COLUMNS.filter((m) => m !== metric)];
    const teams = [...this.state.teams.values()]
      .map((t) => ({ team: t, name: t.name, value: ((t.totals || {})[metric]) || 0 }))
      .sort(byValue);
    const columns = pkColumns(cols, metric, teams.length ? teams[0].value : 0, i18n, cfg);
    const box = panel(null, "vw-pk-table");
    box.node.style.setProperty("--vw-cols", String(cols.length));
    box.head.replaceChildren(
      el(
        "div",
        { class: "vw-row vw-pk-row vw-colhead" },
        ...columns.map((c) => el("span", { class: c.cls, text: i18n.t(c.label) })),
      ),
    );
    body.append(box.node);
    if (!teams.length) {
      box.list.append(el("div", { class: "vw-empty", text: i18n.t("no_data") }));
      return 1;
    }
    const cap = capacity(box.list);
    const pages = pageCount(teams.length, cap);
    fillList(box.list, pageOf(rankAll(teams), Math.min(this.page, pages - 1), cap), (row) =>
      el(
        "div",
        {
          class: "vw-row vw-pk-row",
          "data-team": row.team.name,
          "data-rank": row.rank,
          "data-leader": isLeader(row) ? "true" : null,
        },
        ...columns.map((c) => c.cell(row)),
      ),
    );
    return pages;
  }

  // --- heatmap ---------------------------------------------------------------------------------

  /** The chosen metric when its hours carry a target share, else dials (an hour's sale is rare,
   * so revenue against nothing would paint the floor one colour). */
  heatMetric() {
    const metric = this.settings.metric;
    const rows = [this.state.floor, ...this.state.reps.values()];
    const shared = rows.some((r) =>
      ((r && r.hours) || []).some(
        (h) => h.target_share && typeof h.target_share[metric] === "number",
      ),
    );
    return shared ? metric : "dials";
  }

  drawHeatmap(body) {
    const { i18n, state } = this;
    const metric = this.heatMetric();
    body.classList.add("vw-heat");
    const reps = state.repList(this.cfg.team || null);
    const order = new Map(state.teamNames().map((n, i) => [n, i]));
    reps.sort(
      (a, b) =>
        (order.get(a.team) ?? 1e9) - (order.get(b.team) ?? 1e9) ||
        String(a.name).localeCompare(String(b.name), "zh-CN"),
    );
    const hours = hourColumns(state, reps);
    const box = panel(null, "vw-heat-table");
    box.node.style.setProperty("--vw-hours", String(hours.length));
    const unit = metric === "talk_seconds" ? ` (${i18n.t("minutes_unit")})` : "";
    box.head.replaceChildren(
      el(
        "div",
        { class: "vw-row vw-heat-row vw-colhead" },
        el("span", { class: "vw-name", text: i18n.t("rep") }),
        ...hours.map((h) =>
          el("span", { class: "vw-hour", "data-hour": h, text: i18n.t("hour", { h }) }),
        ),
        el("span", { class: "vw-col", text: i18n.t("view_total") + unit }),
        el("span", { class: "vw-col", text: i18n.t("pace") }),
      ),
    );
    body.append(box.node, this.heatLegend(metric));
    if (!reps.length) {
      box.list.append(el("div", { class: "vw-empty", text: i18n.t("no_data") }));
      return 1;
    }
    const now = floorNow(state.timezone || this.cfg.timezone);
    // The hour under way on the floor's today; a day gone by is all past (99), one to come
    // all future (-1).
    let currentHour = null;
    if (state.day) currentHour = now.day === state.day ? now.hour : now.day > state.day ? 99 : -1;
    const max = Math.max(1, ...reps.flatMap((r) => (r.hours || []).map((h) => h[metric] || 0)));
    const cap = capacity(box.list);
    const pages = pageCount(reps.length, cap);
    fillList(box.list, pageOf(reps, Math.min(this.page, pages - 1), cap), (r) =>
      this.heatRow(r, hours, metric, currentHour, max),
    );
    return pages;
  }

  heatRow(rep, hours, metric, currentHour, max) {
    const { i18n, cfg } = this;
    const byHour = new Map((rep.hours || []).map((h) => [h.hour, h]));
    const off = rep.not_in || isOff(rep);
    const total = ((rep.totals || {})[metric]) || 0;
    const pace = off ? null : paceOf(rep, metric);
    return el(
      "div",
      { class: "vw-row vw-heat-row", "data-rep": rep.code, "data-off": off ? "true" : null },
      el(
        "span",
        { class: "vw-name" },
        el("span", { class: "vw-name-text vw-fit", text: rep.name }),
      ),
      ...hours.map((h) => {
        const cell = byHour.get(h);
        const value = cell ? cell[metric] || 0 : 0;
        const share = cell && cell.target_share ? cell.target_share[metric] : undefined;
        const when = hourWhen(h, currentHour);
        let status = null;
        if (!off && when !== "future" && typeof share === "number" && share > 0) {
          status = statusFor(value / share, cfg);
          // The hour under way is judged only once it has made its share (it is not over yet).
          if (when === "now" && status !== "green") status = null;
        }
        const text = when === "future" ? "" : compact(metric, value, i18n, cfg);
        const node = el("span", {
          // Long figures (revenue, four digits) shrink to their cell; most are 1–3 characters.
          class: text.length > 3 ? "vw-cell vw-fit" : "vw-cell",
          "data-hour": h,
          "data-when": when,
          "data-value": value,
          "data-status": status,
          title:
            typeof share === "number"
              ? `${i18n.t("target_share")} ${compact(metric, share, i18n, cfg)}`
              : null,
          text,
        });
        if (!status && when !== "future" && value > 0) {
          node.style.setProperty("--vw-heat", String(Math.min(1, value / max).toFixed(2)));
        }
        return node;
      }),
      el("span", {
        class: "vw-col vw-fit",
        "data-metric": metric,
        "data-value": total,
        text: compact(metric, total, i18n, cfg),
      }),
      el("span", {
        class: "vw-col vw-fit",
        "data-pace": metric,
        "data-status": pace && pace.period === "day" ? pace.status : null,
        text: pace && pace.period === "day" ? floorPct(pace.pace, i18n) : "—",
      }),
    );
  }

  heatLegend(metric) {
    const { i18n } = this;
    return el(
      "div",
      { class: "vw-legend" },
      el("span", { text: i18n.t("view_heat_legend", { metric: i18n.t(metric) }) }),
      ...["green", "amber", "red"].map((s) =>
        el("span", { class: "vw-key", "data-status": s, text: i18n.t("status_" + s) }),
      ),
      el("span", { class: "vw-key", "data-when": "now", text: i18n.t("view_now") }),
    );
  }
}

// --- the team PK table's columns: each once, its header (label, cls) and its cell ------------

/** The PK's leader: first, with something to show for it. */
function isLeader(row) {
  return row.rank === 1 && row.value > 0;
}

/** Rank, team, the metrics `cols` (the ranked `metric` marked) and the worst pace; `cell(row)`
 * takes a ranked row {team, value, rank}, `top` the leader's value (the bars' full length). */
function pkColumns(cols, metric, top, i18n, cfg) {
  return [
    {
      label: "rank",
      cls: "vw-rank",
      cell: (row) => el("span", { class: "vw-rank", text: String(row.rank) }),
    },
    {
      label: "team",
      cls: "vw-name",
      cell: (row) =>
        el(
          "span",
          { class: "vw-name" },
          el("span", { class: "vw-name-text vw-fit", text: row.team.name }),
          isLeader(row) ? el("span", { class: "vw-crown", text: i18n.t("view_leader") }) : "",
          bar(row.value, top),
        ),
    },
    ...cols.map((m) => ({
      label: m,
      cls: m === metric ? "vw-col ranked" : "vw-col",
      cell: (row) => {
        const v = (row.team.totals || {})[m] || 0;
        return el("span", {
          class: m === metric ? "vw-col vw-fit ranked" : "vw-col vw-fit",
          "data-metric": m,
          "data-value": v,
          text: i18n.metric(m, v, cfg.minorDigits),
        });
      },
    })),
    {
      label: "pace",
      cls: "vw-col",
      cell: (row) => {
        const pace = worstPace(row.team);
        return el(
          "span",
          {
            class: "vw-col vw-fit",
            "data-pace": pace ? pace.metric : null,
            "data-status": pace ? pace.status : null,
            title: pace ? i18n.t(pace.metric) : null,
            text: pace ? floorPct(pace.pace, i18n) : "—",
          },
          pace ? el("span", { class: "vw-which", text: i18n.t(pace.metric) }) : "",
        );
      },
    },
  ];
}

// --- helpers ---------------------------------------------------------------------------------

/** A titled panel: {node, head, list}; rows go in `list`, which pages and shrinks them. */
function panel(title, cls) {
  const head = el("div", { class: "vw-list-head" });
  const list = el("div", { class: "vw-list" });
  const node = el("div", { class: `vw-panel ${cls}` });
  if (title) node.append(el("h3", { class: "vw-panel-title", text: title }));
  node.append(head, list);
  return { node, head, list };
}

/** How many rows fit `list` at their smallest (the CSS --vw-row-min): measured, not guessed. */
function capacity(list) {
  const probe = el("div", { class: "vw-row vw-probe" }, el("span", { text: "0" }));
  list.append(probe);
  const row = probe.getBoundingClientRect().height || 1;
  const room = list.clientHeight;
  probe.remove();
  return Math.max(1, Math.floor((room + 0.5) / row));
}

/** Fill `list` with rows; the CSS shares its height among them (--vw-rows), up to a maximum. */
function fillList(list, items, render) {
  list.style.setProperty("--vw-rows", String(Math.max(1, items.length)));
  list.replaceChildren(...items.map(render));
}

function bar(value, top) {
  const node = el("span", { class: "vw-bar" });
  node.style.setProperty("--vw-share", String(top > 0 ? Math.max(0, value / top).toFixed(3) : 0));
  return node;
}

/** A percentage floored to the whole percent: 99.5 % reads 99 %, never a 100 % not reached. */
function floorPct(ratio, i18n) {
  if (typeof ratio !== "number" || !Number.isFinite(ratio)) return "—";
  return i18n.pct(Math.floor(ratio * 100 + 1e-9) / 100); // 1e-9: 0.29 * 100 is 28.999…
}

/** The worst of a team's day paces of dials and talk time (which one it is, too). */
function worstPace(obj) {
  let worst = null;
  for (const metric of ["dials", "talk_seconds"]) {
    const p = obj && obj.pace ? obj.pace[metric] : null;
    const known = p && typeof p.pace === "number";
    if (known && (!worst || p.pace < worst.pace)) worst = { ...p, metric };
  }
  return worst;
}

/** An hour cell's figure, short: whole yuan, talk in minutes, counts as they are. */
function compact(metric, v, i18n, cfg) {
  if (metric === "revenue") return "¥" + i18n.int(Math.round(v / 10 ** cfg.minorDigits));
  if (metric === "talk_seconds") return i18n.int(Math.floor(v / 60));
  return i18n.int(v);
}

/** An hour against the one under way: "past", "now" or "future" (no hour under way: past). */
function hourWhen(h, currentHour) {
  if (currentHour === null || h < currentHour) return "past";
  return h === currentHour ? "now" : "future";
}

/** Every calling hour any shown rep (or the floor) has, in order. */
function hourColumns(state, reps) {
  const set = new Set(((state.floor && state.floor.hours) || []).map((h) => h.hour));
  for (const r of reps) for (const h of r.hours || []) set.add(h.hour);
  return [...set].sort((a, b) => a - b);
}

/** "11月23日" / "Nov 23" for a YYYY-MM-DD date (the floor's, so read as UTC noon). */
function dateLabel(day, i18n) {
  const [y, m, d] = String(day).split("-").map(Number);
  if (!y || !m || !d) return "";
  const format = new Intl.DateTimeFormat(i18n.locale, {
    timeZone: "UTC",
    month: "short",
    day: "numeric",
  });
  return format.format(new Date(Date.UTC(y, m - 1, d, 12)));
}
