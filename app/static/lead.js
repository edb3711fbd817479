// The team lead's console (a laptop): every metric of every rep with pace colours, sortable;
// a rep's hours, funnel and diagnosis; the day's alerts with who stepped in; tiers and mentoring.

import { floorNow, makeI18n, timeFormat } from "./i18n.js";
import { LiveClient } from "./live.js";
import { METRICS, RATIOS } from "./metrics.js";
import {
  drawChart,
  el,
  FloorState,
  headerRow,
  hourTraces,
  kpiTiles,
  metricOptions,
  pageConfig,
  dayPace,
  paceOf,
  paceTitle,
  reasonLabel,
  atStretch,
  attendanceTag,
  isOff,
  rowState,
  STATE_ORDER,
  stateBadge,
  stateStrip,
  stateTime,
  syncClock,
  syncRows,
  tickStateTimes,
} from "./floor.js";

const TIER_ORDER = ["top", "core", "laggard", "new"];
const ACK_BY_KEY = "paceboard.ack_by";

const cfg = pageConfig();
const i18n = makeI18n(cfg.lang);
const state = new FloorState();
const $ = (id) => document.getElementById(id);

const view = {
  team: cfg.team || "",
  sort: { key: "revenue", dir: -1 },
  selected: null, // rep code
  metric: "dials",
  knownTeams: new Set(cfg.team ? [cfg.team] : []),
  alerts: new Map(), // id -> alert
  alertsFor: null, // "day|team" the list was loaded for
  reportDay: null,
  dirtyReps: new Set(),
  full: true,
  renderTimer: null,
  chartTimer: null,
  attendanceFor: null, // "code|day" the attendance form was built for
};
let live = null;

function tz() {
  return state.timezone || cfg.timezone;
}

// --- REST ------------------------------------------------------------------------------------

async function api(path, { method = "GET", body } = {}) {
  // A link's API token goes as a bearer token; a signed-in lead rides on the session cookie
  // and proves each change with the session's CSRF token.
  const headers = { Accept: "application/json" };
  if (cfg.token) headers.Authorization = `Bearer ${cfg.token}`;
  else if (method !== "GET" && method !== "HEAD") headers["X-CSRF-Token"] = cfg.csrf;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const resp = await fetch(cfg.base + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store",
    credentials: "same-origin",
  });
  if (!resp.ok) {
    let detail = `${resp.status}`;
    try {
      const j = await resp.json();
      if (j && j.detail) detail = String(j.detail);
    } catch {
      /* not JSON */
    }
    throw new Error(detail);
  }
  return method === "HEAD" ? null : resp.json();
}

// --- team selector ---------------------------------------------------------------------------

function renderTeamSelect() {
  const select = $("team-select");
  const names = [...view.knownTeams];
  const want = ["", ...names];
  const have = [...select.options].map((o) => o.value);
  if (want.join("\u0000") !== have.join("\u0000")) {
    select.replaceChildren(
      el("option", { value: "", text: i18n.t("all_teams") }),
      ...names.map((n) => el("option", { value: n, text: n })),
    );
  }
  select.value = view.team;
}

function chooseTeam(team) {
  if (team === view.team) return;
  view.team = team;
  const url = new URL(location.href);
  if (team) url.searchParams.set("team", team);
  else url.searchParams.delete("team");
  history.replaceState(null, "", url);
  live.subscribe(team ? [team] : []); // the server answers with a snapshot of those teams
  view.full = true;
  scheduleRender();
  loadAlerts(true);
  checkReport();
}

// --- rendering -------------------------------------------------------------------------------

function scheduleRender() {
  if (view.renderTimer) return;
  view.renderTimer = setTimeout(() => {
    view.renderTimer = null;
    render();
  }, 100);
}

function scopeObject() {
  return view.team ? state.teams.get(view.team) || null : state.floor;
}

function visibleReps() {
  return state.repList(view.team || null);
}

function render() {
  const full = view.full;
  view.full = false;
  const dirty = view.dirtyReps;
  view.dirtyReps = new Set();
  kpiTiles($("kpis"), scopeObject(), i18n, cfg);
  stateStrip($("states"), scopeObject(), i18n);
  renderTable(full ? null : dirty);
  renderTiers();
  if (view.selected && (full || dirty.has(view.selected))) renderDetail();
  $("day").textContent = state.day || "";
  renderTeamSelect();
}

function compareReps(a, b) {
  const { key, dir } = view.sort;
  const sort = columnOf(key).sort;
  const va = sort(a);
  const vb = sort(b);
  let c;
  if (typeof va === "string" || typeof vb === "string") {
    c = String(va ?? "").localeCompare(String(vb ?? ""), i18n.locale);
  } else if (va === null || vb === null) {
    c = va === vb ? 0 : va === null ? -1 : 1; // missing sorts as the smallest
  } else {
    c = va - vb;
  }
  return c * dir || String(a.name).localeCompare(String(b.name), i18n.locale);
}

function renderSortHeaders() {
  for (const th of document.querySelectorAll("#team-table th[data-sort]")) {
    const on = th.dataset.sort === view.sort.key;
    th.setAttribute("aria-sort", on ? (view.sort.dir > 0 ? "ascending" : "descending") : "none");
  }
}

function renderTable(dirty) {
  const reps = visibleReps().sort(compareReps);
  const body = $("team-body");
  if (!reps.length) {
    body.replaceChildren(
      el("tr", { class: "empty" }, el("td", { colspan: COLUMNS.length, text: i18n.t("no_data") })),
    );
    return;
  }
  syncRows(body, reps, { key: (r) => r.code, attr: "data-rep", dirty, render: tableRow });
  renderSortHeaders();
}

/** A cell of today's figure, coloured by today's pace of it only: a weekly target (invites)
 * colours nothing here, as today's count says nothing of the week (its tooltip still does). */
function metricCell(rep, metric) {
  const p = dayPace(rep, metric);
  const totals = rep.totals || {};
  return el("td", {
    "data-metric": metric,
    "data-status": p ? p.status : null,
    "data-stretch": atStretch(p) ? "true" : null,
    title: paceTitle(paceOf(rep, metric), metric, i18n, cfg) || null,
    text: i18n.metric(metric, totals[metric], cfg.minorDigits),
  });
}

/** The one tier the console shows for a rep, and its period: the month's (what the
 * assessment judges), else today's while the month has none yet. */
function repTier(rep) {
  const t = rep.tier || {};
  if (t.month) return { tier: t.month, period: "month" };
  if (t.day) return { tier: t.day, period: "today" };
  return { tier: null, period: null };
}

// --- the team table: each column once, its header, cell and sort together ----------------------

const totalOf = (key) => (rep) => (rep.totals || {})[key] ?? null;

/** A column of today's figure of a target metric, coloured by today's pace of it. */
function metricColumn(key) {
  return { key, label: key, cell: (rep) => metricCell(rep, key), sort: totalOf(key) };
}

/** A column of a plain count. */
function countColumn(key) {
  return {
    key,
    label: key,
    cell: (rep) => el("td", { "data-metric": key, text: i18n.int((rep.totals || {})[key]) }),
    sort: totalOf(key),
  };
}

/** The table's columns in order: `label` heads it (a catalog key), `cell(rep)` is its <td>,
 * `sort(rep)` its sort value (a string sorts as text, null as the smallest), `asc` whether
 * a first click sorts it ascending (names and states) rather than highest first. */
const COLUMNS = [
  { key: "name", label: "rep", cls: "name", asc: true, cell: nameCell, sort: (rep) => rep.name || "" },
  {
    key: "team",
    label: "team",
    asc: true,
    cell: (rep) => el("td", { class: "team", text: rep.team || "" }),
    sort: (rep) => rep.team || "",
  },
  { key: "tier", label: "tier", asc: true, cell: tierCell, sort: tierRank },
  {
    key: "state",
    label: "agent_state",
    asc: true,
    cell: (rep) => el("td", { class: "state" }, stateBadge(rep, i18n, cfg, { time: false })),
    sort: stateRank,
  },
  {
    key: "state_time",
    label: "state_time",
    cell: (rep) => el("td", { "data-metric": "state_time" }, stateTime(rep)),
    sort: (rep) => (rep.agent && !rep.not_in ? -Date.parse(rep.agent.since) : null),
  },
  {
    key: "occupancy",
    label: "occupancy",
    cell: (rep) =>
      el("td", {
        "data-metric": "occupancy",
        title: rep.time ? `${i18n.t("occupancy")}: ${i18n.duration(rep.time.logged_in_seconds)}` : null,
        text: rep.time && rep.time.occupancy !== null ? i18n.pct(rep.time.occupancy) : "—",
      }),
    sort: (rep) => (rep.time ? rep.time.occupancy : null),
  },
  metricColumn("dials"),
  {
    key: "pace",
    label: "pace",
    cell: paceCell,
    sort: (rep) => {
      const p = paceOf(rep, "dials");
      return p ? p.pace : null;
    },
  },
  metricColumn("connects"),
  metricColumn("talk_seconds"),
  metricColumn("orders"),
  metricColumn("invites"),
  metricColumn("revenue"),
  countColumn("leads_dialled"),
  countColumn("leads_connected"),
  {
    key: "inbound_calls",
    label: "inbound_calls",
    cell: (rep) =>
      el("td", {
        "data-metric": "inbound_calls",
        title: `${i18n.t("inbound_connects")}: ${i18n.int((rep.totals || {}).inbound_connects)}`,
        text: i18n.int((rep.totals || {}).inbound_calls),
      }),
    sort: totalOf("inbound_calls"),
  },
  {
    key: "contact_rate",
    label: "contact_rate",
    cell: (rep) =>
      el("td", {
        "data-metric": "contact_rate",
        text: i18n.metric("contact_rate", rep.funnel ? rep.funnel.contact_rate : null),
      }),
    sort: (rep) => (rep.funnel ? rep.funnel.contact_rate : null),
  },
  {
    key: "last_dial_at",
    label: "last_dial",
    asc: true,
    cell: (rep) => el("td", { "data-metric": "last_dial_at", text: i18n.time(rep.last_dial_at, tz()) }),
    sort: (rep) => rep.last_dial_at || "",
  },
];

function columnOf(key) {
  return COLUMNS.find((c) => c.key === key) || COLUMNS[0];
}

function nameCell(rep) {
  const tier = repTier(rep);
  const name = el("td", { class: "name" }, el("span", { text: rep.name }));
  if (rep.new_hire && tier.tier !== "new") {
    name.append(el("span", { class: "tag new", text: i18n.t("new_hire") }));
  }
  if (rep.attendance) name.append(attendanceTag(rep, i18n));
  return name;
}

function tierCell(rep) {
  const tier = repTier(rep);
  return el(
    "td",
    { class: "tier" },
    tier.tier
      ? el(
          "span",
          { class: "tier-badge", "data-tier": tier.tier, "data-period": tier.period },
          el("span", { class: "tier-period", text: i18n.t(tier.period) }),
          ` ${i18n.t("tier_" + tier.tier)}`,
        )
      : "",
  );
}

function tierRank(rep) {
  const i = TIER_ORDER.indexOf(repTier(rep).tier || "");
  return i < 0 ? TIER_ORDER.length : i;
}

/** By state (busy first), then the longest in it first: "since" sorts oldest first. */
function stateRank(rep) {
  const i = STATE_ORDER.indexOf(rowState(rep));
  return `${String(i < 0 ? STATE_ORDER.length : i).padStart(2, "0")}|${rep.agent ? rep.agent.since : "~"}`;
}

function paceCell(rep) {
  const dials = paceOf(rep, "dials");
  return el("td", {
    "data-pace": "dials",
    "data-status": dials && !rep.not_in && !isOff(rep) ? dials.status : null,
    title: paceTitle(dials, "dials", i18n, cfg) || null,
    text: isOff(rep)
      ? i18n.t("att_" + rep.attendance.status)
      : rep.not_in
        ? i18n.t("not_in")
        : dials
          ? i18n.pct(dials.pace)
          : "—",
  });
}

function tableRow(rep) {
  return el(
    "tr",
    {
      "data-rep": rep.code,
      "data-state": rowState(rep),
      tabindex: 0,
      class: rep.code === view.selected ? "selected" : null,
      "aria-selected": rep.code === view.selected ? "true" : "false",
    },
    ...COLUMNS.map((c) => c.cell(rep)),
  );
}

// --- one rep ---------------------------------------------------------------------------------

function selectRep(code) {
  const before = view.selected;
  view.selected = code;
  for (const c of [before, code]) {
    const row = c && document.querySelector(`#team-body tr[data-rep="${CSS.escape(c)}"]`);
    if (row) {
      row.classList.toggle("selected", c === code);
      row.setAttribute("aria-selected", c === code ? "true" : "false");
    }
  }
  renderDetail();
}

/** Send ``form`` with ``send`` (a promise of the API call) on submit, and say how it went in
 * ``said``: the console's small forms (attendance, target, mentor, plan) all answer alike. */
function submitTo(form, said, send) {
  form.onsubmit = async (ev) => {
    ev.preventDefault();
    try {
      await send();
      said.textContent = i18n.t("att_saved");
      said.dataset.ok = "true";
    } catch (err) {
      said.textContent = `${i18n.t("ack_failed")}: ${err.message}`;
      said.dataset.ok = "false";
    }
  };
}

const ATTENDANCE_CHOICES = [
  ["present", ""],
  ["leave", ""],
  ["half_day", "am"],
  ["half_day", "pm"],
  ["sick", ""],
  ["absent", ""],
];

/** The selected rep's attendance today: a choice, a note and Save (PUT /api/v1/attendance). */
function renderAttendance(rep) {
  const form = $("attendance");
  view.attendanceFor = `${rep.code}|${state.day}`;
  const a = rep.attendance || { status: "present", half: "", note: "" };
  const select = el("select", { name: "status", "aria-label": i18n.t("attendance") });
  for (const [status, half] of ATTENDANCE_CHOICES) {
    const key = half ? `att_${status}_${half}` : `att_${status}`;
    const option = el("option", { value: `${status}|${half}`, text: i18n.t(key) });
    option.selected = status === a.status && half === (a.half || "");
    select.append(option);
  }
  const note = el("input", {
    name: "note",
    maxlength: 500,
    placeholder: i18n.t("att_note"),
    "aria-label": i18n.t("att_note"),
  });
  note.value = a.note || "";
  const said = el("span", { class: "att-result", role: "status" });
  form.replaceChildren(
    el("span", { class: "att-label", text: i18n.t("attendance") }),
    select,
    note,
    el("button", { type: "submit", text: i18n.t("att_save") }),
    said,
  );
  form.hidden = false;
  submitTo(form, said, () => {
    const [status, half] = select.value.split("|");
    const path = `/api/v1/attendance/${encodeURIComponent(rep.code)}/${encodeURIComponent(state.day)}`;
    return api(path, { method: "PUT", body: { status, half, note: note.value.trim() } });
  });
}

/** Set one of the selected rep's day targets from today on (a lead: their own team's reps). */
function renderTargetForm(rep) {
  const form = $("rep-target");
  const metric = el("select", { name: "metric", "aria-label": i18n.t("rep_target") });
  metric.append(...metricOptions(i18n));
  const value = el("input", { name: "value", type: "number", min: 0, step: 1, required: true });
  const current = () => {
    const t = (rep.targets || {})[`${metric.value}/day`];
    const scale = metric.value === "revenue" ? 10 ** cfg.minorDigits : 1;
    value.value = t === undefined ? "" : String(t / scale);
  };
  metric.onchange = current;
  current();
  const said = el("span", { class: "att-result", role: "status" });
  form.replaceChildren(
    el("span", { class: "att-label", text: i18n.t("rep_target") }),
    metric,
    value,
    el("button", { type: "submit", text: i18n.t("att_save") }),
    said,
  );
  form.hidden = false;
  submitTo(form, said, () => {
    const scale = metric.value === "revenue" ? 10 ** cfg.minorDigits : 1;
    const body = {
      metric: metric.value,
      period: "day",
      rep: rep.code,
      value: Math.round(Number(value.value) * scale),
      valid_from: state.day,
    };
    return api("/api/v1/targets", { method: "PUT", body });
  });
}

/** The rep's last evening plan and its follow-up: done / not done, marked by the lead. */
function renderLastPlan(rep) {
  const box = $("last-plan");
  const p = rep.plan;
  box.hidden = !p;
  if (!p) return;
  const status = p.done === true ? "done" : p.done === false ? "not_done" : "open";
  const mark = async (done) => {
    const path = `/api/v1/plans/${encodeURIComponent(rep.code)}/${encodeURIComponent(p.day)}/done`;
    try {
      await api(path, { method: "PUT", body: { done } });
    } catch (err) {
      box.querySelector(".plan-status").textContent = `${i18n.t("ack_failed")}: ${err.message}`;
    }
  };
  const done = el("button", { type: "button", "data-done": "true", text: i18n.t("plan_done") });
  const notDone = el("button", { type: "button", "data-done": "false", text: i18n.t("plan_not_done") });
  done.onclick = () => mark(true);
  notDone.onclick = () => mark(false);
  box.replaceChildren(
    el("div", { class: "att-label", text: `${i18n.t("last_plan")} (${p.day})` }),
    p.problem ? el("div", { class: "plan-problem", text: `${i18n.t("problem")}: ${p.problem}` }) : "",
    el("div", { class: "plan-text", text: `${i18n.t("rep_plan")}: ${p.plan}` }),
    el(
      "div",
      { class: "plan-follow" },
      el("span", { class: "plan-status", "data-plan-status": status, text: i18n.t(`plan_${status}`) }),
      done,
      notDone,
    ),
  );
}

/** Pin the rep's mentor among their team (or leave them to the automatic pairs). */
function renderMentorForm(rep) {
  const form = $("rep-mentor");
  const team = state.teams.get(rep.team) || {};
  const pinned = (team.mentoring || []).find((p) => p.mentee === rep.code && p.pinned);
  const select = el("select", { name: "mentor", "aria-label": i18n.t("pin_mentor") });
  select.append(el("option", { value: "", text: i18n.t("no_mentor") }));
  for (const other of state.repList(rep.team)) {
    if (other.code === rep.code) continue;
    const option = el("option", { value: other.code, text: other.name });
    option.selected = !!pinned && pinned.mentor === other.code;
    select.append(option);
  }
  const said = el("span", { class: "att-result", role: "status" });
  form.replaceChildren(
    el("span", { class: "att-label", text: i18n.t("pin_mentor") }),
    select,
    el("button", { type: "submit", text: i18n.t("att_save") }),
    said,
  );
  form.hidden = false;
  submitTo(form, said, () => {
    const path = `/api/v1/reps/${encodeURIComponent(rep.code)}/mentor`;
    return api(path, { method: "PUT", body: { mentor: select.value || null } });
  });
}

/** Today's problem and plan for the rep (the evening meeting), saved for tomorrow's check. */
function renderPlanForm(rep) {
  const form = $("plan-form");
  const problem = el("input", { name: "problem", maxlength: 1000, placeholder: i18n.t("problem") });
  const plan = el("input", { name: "plan", maxlength: 1000, required: true, placeholder: i18n.t("rep_plan") });
  const said = el("span", { class: "att-result", role: "status" });
  form.replaceChildren(problem, plan, el("button", { type: "submit", text: i18n.t("plan_save") }), said);
  form.hidden = false;
  submitTo(form, said, () => {
    const path = `/api/v1/plans/${encodeURIComponent(rep.code)}/${encodeURIComponent(state.day)}`;
    return api(path, { method: "PUT", body: { problem: problem.value.trim(), plan: plan.value.trim() } });
  });
}

function renderDetail() {
  const rep = view.selected ? state.reps.get(view.selected) : null;
  const title = $("detail-name");
  const body = $("detail-body");
  if (!rep) {
    title.textContent = i18n.t("select_rep");
    body.hidden = true;
    return;
  }
  title.textContent = rep.name;
  body.hidden = false;
  const sub = $("detail-sub");
  const chips = [];
  for (const m of METRICS) {
    const p = paceOf(rep, m);
    if (!p) continue;
    chips.push(
      el(
        "span",
        { class: "chip", "data-status": p.status, title: paceTitle(p, m, i18n, cfg) },
        `${i18n.t(m)} `,
        el("b", { "data-pace": m, text: i18n.pct(p.pace) }),
      ),
    );
  }
  sub.replaceChildren(el("span", { class: "team", text: rep.team || "" }), ...chips);
  // Rebuilt only for another rep or day: a lead typing a note must not lose it to a delta.
  if (view.attendanceFor !== `${rep.code}|${state.day}`) {
    renderAttendance(rep);
    renderTargetForm(rep);
    renderMentorForm(rep);
    renderPlanForm(rep);
  }
  renderLastPlan(rep);
  renderFunnel(rep);
  const diag = $("diagnosis");
  const items = rep.diagnosis || [];
  diag.replaceChildren(
    ...(items.length
      ? items.map((d) =>
          el("li", {
            "data-factor": d.factor,
            text: i18n.pick(d.text, d.factor),
          }),
        )
      : [el("li", { class: "empty", text: i18n.t("no_diagnosis") })]),
  );
  scheduleChart();
}

function scheduleChart() {
  if (view.chartTimer) return;
  view.chartTimer = setTimeout(() => {
    view.chartTimer = null;
    drawRepChart();
  }, 250);
}

function drawRepChart() {
  const rep = view.selected ? state.reps.get(view.selected) : null;
  if (!rep) return;
  const now = floorNow(tz());
  const currentHour = now.day === state.day ? now.hour : now.day > (state.day || "") ? 99 : -1;
  drawChart(
    $("rep-chart"),
    hourTraces(rep.hours || [], view.metric, { i18n, cfg, currentHour, dark: false }),
    {
      margin: { l: 50, r: 10, t: 28, b: 40 },
      showlegend: true,
      legend: { orientation: "h", x: 0, y: 1, yanchor: "bottom" },
      xaxis: { type: "category" },
      yaxis: { rangemode: "tozero" },
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      font: { family: "inherit", size: 13 },
      bargap: 0.25,
    },
    { displayModeBar: false, responsive: true },
  );
}

// The seed's two identities, read left to right as a diagnosis.
const FUNNEL_LINES = [
  ["leads_dialled", "contact_rate", "connected_leads", "turnover", "dials", "avg_talk_per_dial", "talk_seconds"],
  ["leads_dialled", "contact_rate", "connected_leads", "success_rate", "orders", "avg_order_value", "revenue"],
];
// between factors: leads × rate = connected × turnover = dials × avg = talk
const FUNNEL_OPS = ["×", "=", "×", "=", "×", "="];

function renderFunnel(rep) {
  const f = rep.funnel || {};
  const team = state.teams.get(rep.team);
  const tf = (team && team.funnel) || {};
  const low = new Set((rep.diagnosis || []).map((d) => d.factor));
  $("funnel").replaceChildren(
    ...FUNNEL_LINES.map((line) =>
      el(
        "div",
        { class: "identity" },
        ...line.flatMap((factor, i) => {
          const cell = el(
            "span",
            { class: low.has(factor) ? "factor low" : "factor" },
            el("span", { class: "label", text: i18n.t(factor) }),
            el("span", {
              class: "value",
              "data-metric": factor,
              text: i18n.metric(factor, f[factor], cfg.minorDigits),
            }),
            // Only ratios compare with the team's; its counts are sums over every rep.
            RATIOS.has(factor)
              ? el("span", {
                  class: "team-value",
                  text: `${i18n.t("team_value")} ${i18n.metric(factor, tf[factor], cfg.minorDigits)}`,
                })
              : null,
          );
          return i < FUNNEL_OPS.length ? [cell, el("span", { class: "op", text: FUNNEL_OPS[i] })] : [cell];
        }),
      ),
    ),
  );
}

// --- tiers and mentoring ---------------------------------------------------------------------

function renderTiers() {
  const reps = visibleReps();
  const groups = new Map(TIER_ORDER.map((t) => [t, []]));
  for (const r of reps) {
    const tier = repTier(r).tier;
    if (groups.has(tier)) groups.get(tier).push(r);
  }
  $("tier-counts").replaceChildren(
    ...TIER_ORDER.map((tier) =>
      el(
        "div",
        { class: "tier-group", "data-tier": tier },
        el("span", { class: "tier-badge", "data-tier": tier, text: i18n.t("tier_" + tier) }),
        el("span", { class: "count", text: String(groups.get(tier).length) }),
        el("span", {
          class: "names",
          text: groups
            .get(tier)
            .map((r) => r.name)
            .join("、"),
        }),
      ),
    ),
  );
  const pairs = [];
  for (const team of state.teams.values()) {
    if (view.team && team.name !== view.team) continue;
    for (const p of team.mentoring || []) pairs.push({ team: team.name, ...p });
  }
  const name = (code) => state.repName(code) || "—";
  $("mentoring").replaceChildren(
    ...(pairs.length
      ? pairs.map((p) =>
          el(
            "li",
            { "data-mentor": p.mentor, "data-mentee": p.mentee, "data-pinned": p.pinned ? "true" : "false" },
            el("span", { class: "role", text: i18n.t("mentor") }),
            el("b", { text: name(p.mentor) }),
            el("span", { class: "arrow", text: "→" }),
            el("span", { class: "role", text: i18n.t("mentee") }),
            el("b", { text: name(p.mentee) }),
            view.team ? null : el("span", { class: "tag", text: p.team }),
            p.pinned ? el("span", { class: "tag pinned", text: i18n.t("pinned") }) : null,
          ),
        )
      : [el("li", { class: "empty", text: i18n.t("no_pairs") })]),
  );
}

// --- alerts ----------------------------------------------------------------------------------

async function loadAlerts(force = false) {
  if (!state.day) return;
  const key = `${state.day}|${view.team}`;
  if (!force && view.alertsFor === key) return;
  view.alertsFor = key;
  const params = new URLSearchParams({ day: state.day });
  if (view.team) params.set("team", view.team);
  try {
    const list = await api(`/api/v1/alerts?${params}`);
    if (view.alertsFor !== key) return; // the team changed while we waited
    view.alerts = new Map(list.map((a) => [a.id, a]));
    renderAlerts(null);
  } catch (err) {
    view.alertsFor = null;
    $("alerts").replaceChildren(
      el("li", { class: "empty error", text: `${i18n.t("load_failed")}: ${err.message}` }),
    );
  }
}

function onLiveAlert(alert) {
  if (!alert || (state.day && alert.day !== state.day)) return;
  if (view.team && alert.team !== view.team) return;
  view.alerts.set(alert.id, alert);
  const dirty = new Set([String(alert.id)]);
  if (alert.kind === "recovered") {
    // The server closed the rep's behind alert for that metric: show it closed here too.
    for (const a of view.alerts.values()) {
      if (a.kind === "behind_pace" && a.rep === alert.rep && a.metric === alert.metric && a.status === "open") {
        view.alerts.set(a.id, { ...a, status: "resolved", resolved_at: alert.raised_at });
        dirty.add(String(a.id));
      }
    }
  }
  renderAlerts(dirty);
}

function renderAlerts(dirty) {
  const list = [...view.alerts.values()].sort(
    (a, b) => String(b.raised_at).localeCompare(String(a.raised_at)) || b.id - a.id,
  );
  const box = $("alerts");
  // Only alerts that still ask someone to step in count as open (a recovery closes its own).
  const open = list.filter((a) => (a.status || (a.acknowledged_at ? "acknowledged" : "open")) === "open").length;
  $("alerts-count").textContent = list.length ? `${open}/${list.length}` : "";
  if (!list.length) {
    box.replaceChildren(el("li", { class: "empty", text: i18n.t("no_alerts") }));
    return;
  }
  // Keyed rows: a new alert must not wipe a note someone is typing into another one.
  syncRows(box, list, { key: (a) => String(a.id), attr: "data-alert", dirty, render: alertItem });
}

function alertDetail(a) {
  const d = a.detail || {};
  if (a.kind === "idle") return i18n.t("idle_for", { n: d.idle_minutes ?? "?" });
  if (a.kind === "not_in") return i18n.t("not_in_by", { by: d.by || "" });
  if (a.kind === "paused_long") {
    const reason = d.reason ? reasonLabel(d.reason, i18n, cfg) : "";
    return i18n.t("paused_for", { reason, n: d.paused_minutes ?? "?", limit: d.limit_minutes ?? "?" });
  }
  if (!a.metric) return "";
  const p = { ...d, period: "day" };
  return `${i18n.t(a.metric)} · ${paceTitle(p, a.metric, i18n, cfg)}`;
}

function alertItem(a) {
  const item = el(
    "li",
    {
      "data-alert": String(a.id),
      "data-kind": a.kind,
      "data-acked": a.acknowledged_at ? "true" : "false",
      "data-alert-status": a.status || (a.acknowledged_at ? "acknowledged" : "open"),
      "data-rep": a.rep,
    },
    el(
      "div",
      { class: "alert-head" },
      el("time", { datetime: a.raised_at, text: i18n.time(a.raised_at, tz()) }),
      el("span", { class: "kind", text: i18n.t("alert_" + a.kind) }),
      el("b", { class: "name", text: a.rep_name || "—" }),
      el("span", { class: "tag", text: a.team || "" }),
    ),
    el("div", { class: "alert-detail", text: alertDetail(a) }),
  );
  if (a.acknowledged_at) {
    item.append(
      el(
        "div",
        { class: "ack-done" },
        el("span", { class: "ok", text: `✓ ${i18n.t("acked")}` }),
        el("b", { text: a.acknowledged_by || "" }),
        el("span", { class: "note", text: a.note || "" }),
      ),
    );
  } else if (a.status === "resolved") {
    item.append(el("div", { class: "ack-done resolved" }, el("span", { text: i18n.t("resolved") })));
  } else {
    item.append(ackForm(a));
  }
  return item;
}

function ackForm(a) {
  const by = el("input", {
    name: "by",
    required: true,
    maxlength: 100,
    placeholder: i18n.t("ack_by_placeholder"),
    "aria-label": i18n.t("ack_by"),
  });
  by.value = localStorage.getItem(ACK_BY_KEY) || "";
  const note = el("input", {
    name: "note",
    required: true,
    maxlength: 2000,
    placeholder: i18n.t("ack_note_placeholder"),
    "aria-label": i18n.t("ack_note"),
  });
  const button = el("button", { type: "submit", text: i18n.t("ack") });
  const error = el("span", { class: "error", role: "alert" });
  const form = el("form", { class: "ack-form", "data-alert": String(a.id) }, by, note, button, error);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = { by: by.value.trim(), note: note.value.trim() };
    if (!body.by || !body.note) return;
    button.disabled = true;
    error.textContent = "";
    try {
      const saved = await api(`/api/v1/alerts/${encodeURIComponent(a.id)}/ack`, {
        method: "POST",
        body,
      });
      localStorage.setItem(ACK_BY_KEY, body.by);
      view.alerts.set(saved.id, saved);
      renderAlerts(new Set([String(saved.id)]));
    } catch (err) {
      error.textContent = `${i18n.t("ack_failed")}: ${err.message}`;
      button.disabled = false;
    }
  });
  return form;
}

// --- the evening report link -----------------------------------------------------------------

async function checkReport() {
  // The evening report of the day the console shows, for this team, in this language.
  const link = $("report-link");
  link.hidden = !state.day;
  if (!link.hidden) {
    const params = new URLSearchParams({ day: state.day, lang: cfg.lang });
    if (view.team) params.set("team", view.team);
    if (cfg.token) params.set("token", cfg.token);
    link.href = `${cfg.base}/reports/daily?${params}`;
  }
}

// --- wiring ----------------------------------------------------------------------------------

function tickClock() {
  $("clock").textContent = timeFormat(i18n.locale, tz(), false).format(new Date());
}

async function loadTeams() {
  try {
    const teams = await api("/api/v1/teams");
    for (const t of teams) view.knownTeams.add(t.name);
    renderTeamSelect();
  } catch {
    /* the snapshot's teams will do */
  }
}

// --- unresolved agents (admins) ---------------------------------------------------------------

/** The bucket of calls whose agent is on no rep's identifiers: codes that may be shown only. */
async function loadUnresolved() {
  const panel = $("unresolved-panel");
  if (!cfg.admin || !panel) return;
  let data;
  try {
    data = await api("/api/v1/agents/unresolved");
  } catch {
    return; // shown again on the next refresh
  }
  panel.hidden = data.calls === 0;
  $("unresolved-summary").textContent = i18n.t("unresolved_summary", {
    calls: i18n.int(data.calls),
    agents: i18n.int(data.agents),
  });
  $("unresolved-body").replaceChildren(
    ...data.named.map((a) =>
      el(
        "tr",
        { "data-code": a.code },
        el("td", { text: a.code }),
        el("td", { text: i18n.int(a.calls) }),
        el("td", { text: a.last_call ? i18n.time(a.last_call, tz()) : "—" }),
      ),
    ),
  );
  const unnamed = $("unresolved-unnamed");
  unnamed.hidden = data.unnamed_calls === 0;
  unnamed.textContent = i18n.t("unresolved_unnamed", { calls: i18n.int(data.unnamed_calls) });
}

function start() {
  i18n.apply(document);
  loadUnresolved();
  setInterval(loadUnresolved, 60_000);
  tickClock();
  setInterval(tickClock, 10_000);
  setInterval(() => tickStateTimes(), 1000); // time in state counts up here, not by frames

  const metricSelect = $("detail-metric");
  metricSelect.replaceChildren(...metricOptions(i18n));
  metricSelect.value = view.metric;
  metricSelect.addEventListener("change", () => {
    view.metric = metricSelect.value;
    scheduleChart();
  });

  $("team-select").addEventListener("change", (ev) => chooseTeam(ev.target.value));

  $("team-head").replaceChildren(headerRow(COLUMNS, i18n, { sortable: true }));
  for (const th of document.querySelectorAll("#team-table th[data-sort]")) {
    th.tabIndex = 0;
    const sortBy = () => {
      const key = th.dataset.sort;
      if (view.sort.key === key) view.sort.dir = -view.sort.dir;
      else view.sort = { key, dir: columnOf(key).asc ? 1 : -1 };
      view.full = true;
      scheduleRender();
    };
    th.addEventListener("click", sortBy);
    th.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" || ev.key === " ") {
        ev.preventDefault();
        sortBy();
      }
    });
  }
  renderSortHeaders();

  const body = $("team-body");
  body.addEventListener("click", (ev) => {
    const row = ev.target.closest("tr[data-rep]");
    if (row) selectRep(row.dataset.rep);
  });
  body.addEventListener("keydown", (ev) => {
    const row = ev.target.closest("tr[data-rep]");
    if (row && (ev.key === "Enter" || ev.key === " ")) {
      ev.preventDefault();
      selectRep(row.dataset.rep);
    }
  });

  live = new LiveClient({
    token: cfg.token,
    teams: view.team ? [view.team] : [],
    base: cfg.base,
    conn: $("conn"),
    t: i18n.t,
    on: {
      snapshot(data) {
        syncClock(data.generated_at);
        state.applySnapshot(data);
        // The selector offers teams whose reps this viewer gets; other teams' figures arrive
        // too (the PK table), but a lead cannot follow them.
        for (const rep of state.reps.values()) view.knownTeams.add(rep.team);
        view.full = true;
        scheduleRender();
        loadAlerts(true); // whatever was raised while we were away
        checkReport();
      },
      delta(msg) {
        const changed = state.applyDelta(msg);
        if (!changed) {
          live.resync();
          return;
        }
        for (const code of changed.reps) view.dirtyReps.add(code);
        for (const code of changed.reps) view.knownTeams.add(state.reps.get(code).team);
        scheduleRender();
      },
      alert: onLiveAlert,
      tick(msg) {
        syncClock(msg.at);
        if (view.selected) scheduleChart();
      },
    },
  });
  live.start();
  loadTeams();
}

start();
