// The web admin (/admin, a laptop): the first-day checklist, then roster, targets, users, TV
// links, API tokens and attendance, one section at a time (#roster, #targets, …).
//
// Every change goes through the JSON API with the session's CSRF token (or the page's admin
// token), and every list is read back from the API after a change: what the page shows is what
// the server stored. Names and every other server string go in as text, never as HTML.

import { makeI18n } from "./i18n.js";
import { el, headerRow } from "./floor.js";
import { METRICS } from "./metrics.js";

const $ = (id) => document.getElementById(id);
const d = document.body.dataset;
const cfg = {
  token: d.token || "",
  csrf: d.csrf || "",
  base: d.base || "",
  lang: d.lang === "en" ? "en" : "zh",
  origin: d.origin || location.origin,
  today: d.today || "",
  timezone: d.timezone || "Asia/Shanghai",
  minorDigits: Number(d.minorDigits || 2),
  views: (d.views || "").split(",").filter(Boolean),
  rotateMin: Number(d.rotateMin || 5),
  rotateMax: Number(d.rotateMax || 3600),
};
const i18n = makeI18n(cfg.lang);
const t = i18n.t;
const SECTIONS = ["checklist", "roster", "targets", "users", "displays", "tokens", "attendance"];
const CHECK_EVERY_MS = 5000; // the checklist ticks itself while it is on screen

const state = {
  section: null,
  teams: [],
  reps: [],
  checkTimer: null,
  marks: new Map(), // rep code -> the attendance day's mark
  phoneSecret: false, // the checklist shows a just-created token's commands: keep them
};

// --- REST ------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, body) {
    super(describe(status, body));
    this.status = status;
    this.body = body;
  }
}

function describe(status, body) {
  if (body && Array.isArray(body.errors) && body.errors.length) {
    return body.errors.map((e) => `${e.field}: ${e.reason}`).join("; ");
  }
  return body && body.detail ? String(body.detail) : `HTTP ${status}`;
}

async function api(path, { method = "GET", body, form } = {}) {
  // An admin token from the page's link goes as a bearer token; a signed-in admin rides on the
  // session cookie and proves each change with the session's CSRF token.
  const headers = { Accept: "application/json" };
  if (cfg.token) headers.Authorization = `Bearer ${cfg.token}`;
  else if (method !== "GET") headers["X-CSRF-Token"] = cfg.csrf;
  let payload;
  if (form) payload = form;
  else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const resp = await fetch(cfg.base + path, {
    method,
    headers,
    body: payload,
    cache: "no-store",
    credentials: "same-origin",
  });
  let data = null;
  try {
    data = await resp.json();
  } catch {
    /* not JSON */
  }
  if (!resp.ok) throw new ApiError(resp.status, data);
  return data;
}

const enc = encodeURIComponent;

// --- small helpers ---------------------------------------------------------------------------

/** Say how a form's request went in its ``p.result``. */
function say(form, ok, text) {
  const node = form.querySelector(".result");
  if (!node) return;
  node.textContent = text;
  node.dataset.ok = ok ? "true" : "false";
}

/** Run ``send`` on submit; say "saved" (or ``done``'s text) or the server's reason. */
function onSubmit(form, send) {
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    const said = form.querySelector(".result");
    if (said) {
      said.textContent = ""; // a new answer, not the last one, is what the form then shows
      delete said.dataset.ok;
    }
    try {
      const text = await send(new FormData(form));
      say(form, true, text || t("admin_saved"));
    } catch (err) {
      say(form, false, `${t("admin_failed")}: ${err.message}`);
    } finally {
      if (button) button.disabled = false;
    }
  });
}

/** A button that asks to be pressed again before it acts (no browser dialog). */
function confirmButton(label, confirmLabel, action, cls) {
  const button = el("button", { type: "button", class: cls, text: label });
  button.addEventListener("click", async () => {
    if (button.dataset.armed !== "true") {
      button.dataset.armed = "true";
      button.textContent = confirmLabel;
      return;
    }
    button.disabled = true;
    try {
      await action();
    } catch (err) {
      button.disabled = false;
      button.dataset.armed = "";
      button.textContent = label;
      button.title = err.message;
      button.dataset.error = "true";
    }
  });
  return button;
}

const stamp = (() => {
  let f;
  try {
    f = new Intl.DateTimeFormat("sv-SE", {
      timeZone: cfg.timezone, year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23",
    });
  } catch {
    f = new Intl.DateTimeFormat("sv-SE", { dateStyle: "short", timeStyle: "short" });
  }
  return (iso) => (iso ? f.format(new Date(iso)) : "—");
})();

function optionList(select, items, selected) {
  select.replaceChildren(
    ...items.map(([value, text]) => {
      const o = el("option", { value, text });
      o.selected = value === selected;
      return o;
    }),
  );
}

function teamChecks(fieldset, name, checked = []) {
  const legend = fieldset.querySelector("legend");
  const boxes = state.teams.map((team) =>
    el(
      "label",
      { class: "check" },
      el("input", { type: "checkbox", name, value: team.name, checked: checked.includes(team.name) }),
      team.name,
    ),
  );
  fieldset.replaceChildren(...(legend ? [legend] : []), ...boxes);
  if (!boxes.length) fieldset.append(el("span", { class: "hint", text: t("admin_no_teams") }));
}

const checked = (root, name) =>
  [...root.querySelectorAll(`input[name="${name}"]:checked`)].map((i) => i.value);

async function copyOut(id, button) {
  const node = $(id);
  const text = "value" in node ? node.value : node.textContent;
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Not a secure origin (http on the LAN) or no permission: the old way, from a selection.
    const area = el("textarea", { class: "offscreen", readonly: true });
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  button.dataset.copied = "true";
  button.textContent = t("admin_copied");
  setTimeout(() => {
    button.dataset.copied = "";
    button.textContent = t("admin_copy");
  }, 2000);
}

const td = (text, cls = null) => el("td", { class: cls, text });

/**
 * Fill table `id` whose columns are declared once (`{label, cls, cell(item, shared)}`): the
 * header from their labels, one row per item from their cells. `attrs(item)` gives a row's
 * attributes, `shared(item)` what its cells share (inputs a save button reads, a status line),
 * `after(item, shared)` rows that follow it; `empty` labels the row of an empty list.
 */
function fillTable(table, columns, items, { attrs, shared = () => ({}), after = null, empty = null }) {
  table.tHead.replaceChildren(headerRow(columns, i18n));
  const rows = items.flatMap((item) => {
    const ctx = shared(item);
    const row = el("tr", attrs(item), ...columns.map((c) => c.cell(item, ctx)));
    return after ? [row, ...after(item, ctx)] : [row];
  });
  if (!rows.length && empty) {
    rows.push(el("tr", { class: "empty" }, el("td", { colspan: columns.length, text: t(empty) })));
  }
  table.tBodies[0].replaceChildren(...rows);
}

async function loadRoster() {
  [state.teams, state.reps] = await Promise.all([api("/api/v1/teams"), api("/api/v1/reps")]);
}

// --- units -----------------------------------------------------------------------------------

const unitOf = (metric) =>
  metric === "revenue" ? t("admin_unit_revenue")
  : metric === "talk_seconds" ? t("admin_unit_talk")
  : t(`admin_unit_${metric}`);

/** A target typed by a person, in the units the form shows, as the API stores it: revenue in
 * minor units, talk time in seconds; throws with the reason when it is not one. */
export function parseTarget(metric, text, digits = cfg.minorDigits) {
  const v = String(text).trim().replace(/[,，\s]/g, "");
  if (metric === "revenue") {
    const m = /^(\d+)(?:\.(\d*))?$/.exec(v);
    if (!m) throw new Error(t("admin_bad_money"));
    const frac = m[2] || "";
    if (frac.length > digits) throw new Error(t("admin_bad_money_digits", { n: digits }));
    return Number(m[1]) * 10 ** digits + Number(frac.padEnd(digits, "0") || 0);
  }
  if (metric === "talk_seconds") {
    const hm = /^(\d+):([0-5]\d)$/.exec(v);
    if (hm) return Number(hm[1]) * 3600 + Number(hm[2]) * 60;
    if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 60);
    throw new Error(t("admin_bad_talk"));
  }
  if (!/^\d+$/.test(v)) throw new Error(t("admin_bad_count"));
  return Number(v);
}

/** A stored target in the units people read: ¥ in yuan, talk time as h:mm(:ss). */
function showTarget(metric, value) {
  if (value === null || value === undefined) return t("admin_unset");
  if (metric === "revenue") {
    const f = new Intl.NumberFormat(i18n.locale, {
      minimumFractionDigits: cfg.minorDigits,
      maximumFractionDigits: cfg.minorDigits,
    });
    return `${f.format(value / 10 ** cfg.minorDigits)} ${t("admin_unit_revenue")}`;
  }
  if (metric === "talk_seconds") {
    const two = (n) => String(n).padStart(2, "0");
    const h = Math.floor(value / 3600);
    const m = Math.floor((value % 3600) / 60);
    const s = value % 60;
    return `${h}:${two(m)}${s ? ":" + two(s) : ""} (${s ? "h:mm:ss" : "h:mm"})`;
  }
  return `${i18n.int(value)} ${unitOf(metric)}`;
}

// --- sections --------------------------------------------------------------------------------

function show(name) {
  const section = SECTIONS.includes(name) ? name : "checklist";
  state.section = section;
  for (const node of document.querySelectorAll("[data-section]")) {
    node.hidden = node.dataset.section !== section;
  }
  for (const a of document.querySelectorAll("[data-nav]")) {
    if (a.dataset.nav === section) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  clearInterval(state.checkTimer);
  state.checkTimer = null;
  if (section === "checklist") {
    state.checkTimer = setInterval(() => refresh("checklist"), CHECK_EVERY_MS);
  }
  refresh(section);
  const lang = $("lang-switch");
  if (lang) lang.hash = section === "checklist" ? "" : section;
}

const LOADERS = {
  checklist: renderChecklist,
  roster: renderRoster,
  targets: renderTargets,
  users: renderUsers,
  displays: renderDisplays,
  tokens: renderTokens,
  attendance: renderAttendance,
};

async function refresh(section = state.section) {
  const node = document.querySelector(`[data-section="${section}"]`);
  try {
    await LOADERS[section]();
    node.dataset.loaded = "true";
    node.dataset.error = "";
  } catch (err) {
    node.dataset.error = err.message;
  }
}

// --- checklist -------------------------------------------------------------------------------

async function renderChecklist() {
  const got = await api("/api/v1/admin/checklist");
  for (const item of got.items) {
    const li = document.querySelector(`#checklist-items > li[data-item="${item.key}"]`);
    if (!li) continue;
    li.dataset.done = item.done ? "true" : "false";
    if (item.key === "phone") {
      li.querySelector('[data-sub="token"]').dataset.done = item.token ? "true" : "false";
      li.querySelector('[data-sub="connected"]').dataset.done = item.connected ? "true" : "false";
    }
  }
  $("checklist-done").hidden = !got.done;
  if (!state.phoneSecret) {
    $("curl-command").textContent = got.commands.curl;
    $("import-command").textContent = got.commands.import_command;
  }
}

onSubmit($("phone-token-form"), async (data) => {
  const body = { name: data.get("name"), scope: "ingest", source: data.get("source") || null };
  const got = await api("/api/v1/tokens", { method: "POST", body });
  state.phoneSecret = true;
  $("curl-command").textContent = got.curl;
  $("import-command").textContent = got.import_command;
  $("phone-secret-note").hidden = false;
  await refresh("checklist");
  return t("admin_token_created");
});

// --- roster ----------------------------------------------------------------------------------

async function renderRoster() {
  await loadRoster();
  $("team-options").replaceChildren(...state.teams.map((tm) => el("option", { value: tm.name })));
  $("team-list").replaceChildren(...state.teams.map(teamItem));
  const groups = state.teams.map((team) => {
    const reps = state.reps.filter((r) => r.team === team.name);
    return el(
      "section",
      { class: "rep-team", "data-team": team.name },
      el("h3", {}, team.name, el("span", { class: "count", text: ` (${reps.length})` })),
      reps.length
        ? repTable(reps)
        : el("p", { class: "hint", text: t("admin_no_reps") }),
    );
  });
  $("rep-list").replaceChildren(...groups);
}

function teamItem(team) {
  const input = el("input", { name: "name", value: team.name, maxlength: 100, "aria-label": t("admin_team_name") });
  const form = el(
    "form",
    { class: "inline-form", "data-team": team.name },
    input,
    el("span", { class: "count", text: t("admin_team_reps", { n: team.reps }) }),
    el("button", { type: "submit", text: t("admin_rename") }),
    el("span", { class: "result", role: "status" }),
  );
  onSubmit(form, async () => {
    await api(`/api/v1/teams/${enc(team.name)}`, { method: "PATCH", body: { name: input.value.trim() } });
    await renderRoster();
  });
  return el("li", {}, form);
}

function repTable(reps) {
  const table = el("table", { class: "admin-table reps" }, el("thead"), el("tbody"));
  fillTable(table, REP_COLUMNS, reps, {
    attrs: (rep) => ({ "data-rep": rep.code, "data-active": rep.active ? "true" : "false" }),
    shared: repInputs,
  });
  return table;
}

/** A rep row's inputs, which its save button reads, and the patch every button sends. */
function repInputs(rep) {
  const team = el("select", { name: "team", "aria-label": t("team") });
  optionList(team, state.teams.map((tm) => [tm.name, tm.name]), rep.team);
  const said = el("span", { class: "result", role: "status" });
  return {
    name: el("input", { name: "name", value: rep.name, maxlength: 200, "aria-label": t("admin_rep_name") }),
    team,
    active: el("input", { type: "checkbox", name: "active", checked: rep.active, "aria-label": t("admin_active") }),
    said,
    patch: async (body) => {
      try {
        await api(`/api/v1/reps/${enc(rep.code)}`, { method: "PATCH", body });
        await renderRoster();
      } catch (err) {
        said.textContent = err.message;
        said.dataset.ok = "false";
      }
    },
  };
}

function repIdentifiers(rep, { patch }) {
  const idents = el(
    "span",
    { class: "idents" },
    ...rep.identifiers.map((ident) =>
      el(
        "span",
        { class: "ident", "data-ident": ident },
        ident,
        el("button", {
          type: "button",
          class: "remove",
          "aria-label": `${t("admin_remove")} ${ident}`,
          title: t("admin_remove"),
          text: "×",
          onclick: () => patch({ identifiers: rep.identifiers.filter((i) => i !== ident) }),
        }),
      ),
    ),
  );
  const newIdent = el("input", { name: "identifier", maxlength: 100, size: 8, "aria-label": t("admin_ident_add"), placeholder: t("admin_ident_add") });
  const addIdent = el("button", {
    type: "button",
    class: "add-ident",
    text: "+",
    title: t("admin_ident_add"),
    onclick: () => {
      const more = splitList(newIdent.value);
      if (more.length) patch({ identifiers: [...rep.identifiers, ...more] });
    },
  });
  return el("td", {}, idents, newIdent, addIdent);
}

const REP_COLUMNS = [
  { label: "admin_rep_code", cell: (rep) => td(rep.code, "code") },
  { label: "admin_rep_name", cell: (rep, ctx) => el("td", {}, ctx.name) },
  { label: "team", cell: (rep, ctx) => el("td", {}, ctx.team) },
  { label: "admin_rep_hired", cell: (rep) => td(rep.hired_on || "—") },
  { label: "admin_active", cell: (rep, ctx) => el("td", {}, ctx.active) },
  { label: "admin_rep_identifiers", cell: repIdentifiers },
  {
    label: "admin_actions",
    cell: (rep, { name, team, active, said, patch }) =>
      el(
        "td",
        {},
        el("button", {
          type: "button",
          class: "save",
          text: t("admin_save"),
          onclick: () => patch({ name: name.value.trim(), team: team.value, active: active.checked }),
        }),
        said,
      ),
  },
];

const splitList = (text) =>
  String(text || "")
    .split(/[\s,，;；|]+/)
    .map((s) => s.trim())
    .filter(Boolean);

onSubmit($("rep-add"), async (data) => {
  const teamName = String(data.get("team") || "").trim();
  if (teamName && !state.teams.some((tm) => tm.name === teamName)) {
    await api("/api/v1/teams", { method: "POST", body: { name: teamName } });
  }
  const body = {
    code: String(data.get("code") || "").trim(),
    name: String(data.get("name") || "").trim(),
    team: teamName,
    identifiers: splitList(data.get("identifiers")),
  };
  if (data.get("hired_on")) body.hired_on = data.get("hired_on");
  await api("/api/v1/reps", { method: "POST", body });
  $("rep-add").reset();
  await renderRoster();
  return t("admin_rep_added", { code: body.code });
});

onSubmit($("team-add"), async (data) => {
  await api("/api/v1/teams", { method: "POST", body: { name: String(data.get("name")).trim() } });
  $("team-add").reset();
  await renderRoster();
});

const REJECT_COLUMNS = [
  { label: "admin_line", cell: (r) => td(r.line ?? "—") },
  { label: "admin_field", cell: (r) => td(r.field) },
  { label: "admin_reason", cell: (r) => td(r.reason) },
];

onSubmit($("roster-import"), async () => {
  const table = $("import-rejects");
  table.hidden = true;
  const input = $("roster-import").querySelector("input[type=file]");
  const form = new FormData();
  form.append("file", input.files[0]);
  try {
    const got = await api("/api/v1/roster/import", { method: "POST", form });
    await renderRoster();
    return t("admin_imported", got);
  } catch (err) {
    const rows = (err.body && err.body.errors) || [];
    if (err.status === 422 && rows.length) {
      fillTable(table, REJECT_COLUMNS, rows, {
        attrs: (r) => ({ "data-line": r.line ?? "", "data-field": r.field }),
      });
      table.hidden = false;
      throw new Error(t("admin_import_rejected", { n: rows.length }));
    }
    throw err;
  }
});

// --- targets ---------------------------------------------------------------------------------

async function renderTargets() {
  const [rules] = await Promise.all([api("/api/v1/targets"), loadRoster()]);
  const form = $("target-form");
  const keepTeam = form.elements.team.value;
  const keepRep = form.elements.rep.value;
  optionList(form.elements.team, state.teams.map((tm) => [tm.name, tm.name]), keepTeam);
  optionList(form.elements.rep, state.reps.map((r) => [r.code, `${r.name} (${r.code})`]), keepRep);
  if (!form.elements.metric.options.length) {
    optionList(form.elements.metric, METRICS.map((m) => [m, t(m)]), "revenue");
  }
  if (!form.elements.valid_from.value) form.elements.valid_from.value = cfg.today;
  targetScope();
  fillTable($("target-table"), TARGET_COLUMNS, rules, {
    attrs: (r) => ({ "data-scope": r.scope, "data-who": r.team || r.rep || "", "data-metric": r.metric, "data-period": r.period }),
  });
}

const TARGET_COLUMNS = [
  { label: "admin_target_scope", cell: (r) => td(r.scope === "floor" ? t("floor") : `${t(r.scope)} ${r.team || r.rep}`) },
  { label: "admin_target_metric", cell: (r) => td(t(r.metric)) },
  { label: "admin_target_period", cell: (r) => td(t(`admin_period_${r.period}`)) },
  { label: "target", cls: "num", cell: (r) => td(showTarget(r.metric, r.value), "num value") },
  { label: "admin_valid_from", cell: (r) => td(r.valid_from === "2000-01-01" ? t("admin_always") : r.valid_from) },
];

function targetScope() {
  const form = $("target-form");
  const scope = form.elements.scope.value;
  for (const node of form.querySelectorAll("[data-for-scope]")) {
    node.hidden = node.dataset.forScope !== scope;
  }
  $("target-unit").textContent = unitOf(form.elements.metric.value);
}

$("target-form").elements.scope.addEventListener("change", targetScope);
$("target-form").elements.metric.addEventListener("change", targetScope);

onSubmit($("target-form"), async (data) => {
  const metric = data.get("metric");
  let value;
  try {
    value = parseTarget(metric, data.get("value"));
  } catch (err) {
    throw new Error(`${t("target")}: ${err.message}`);
  }
  const scope = data.get("scope");
  const body = { metric, period: data.get("period"), value };
  if (scope === "team") body.team = data.get("team");
  if (scope === "rep") body.rep = data.get("rep");
  if (data.get("valid_from")) body.valid_from = data.get("valid_from");
  await api("/api/v1/targets", { method: "PUT", body });
  await renderTargets();
  return t("admin_target_saved", { value: showTarget(metric, value) });
});

// --- users -----------------------------------------------------------------------------------

async function renderUsers() {
  const [list, teams] = await Promise.all([api("/api/v1/users"), api("/api/v1/teams")]);
  state.teams = teams;
  const form = $("user-add");
  teamChecks(form.querySelector(".team-checks"), "teams", checked(form, "teams"));
  userRole();
  fillTable($("user-table"), USER_COLUMNS, list, {
    attrs: (u) => ({ "data-user": u.username, "data-disabled": u.disabled_at ? "true" : "false" }),
    shared: userStatus,
  });
}

function userRole() {
  const form = $("user-add");
  form.querySelector("[data-for-role]").hidden = form.elements.role.value !== "lead";
}
$("user-add").elements.role.addEventListener("change", userRole);

function userState(u) {
  if (u.disabled_at) return t("admin_disabled");
  if (u.locked_until && Date.parse(u.locked_until) > Date.now()) return t("admin_locked");
  return t("admin_active");
}

/** A user row's status line and the action that reports into it. */
function userStatus() {
  const said = el("span", { class: "result", role: "status" });
  const act = async (fn) => {
    try {
      await fn();
      said.textContent = t("admin_saved");
      said.dataset.ok = "true";
    } catch (err) {
      said.textContent = err.message;
      said.dataset.ok = "false";
    }
  };
  return { said, act };
}

/** A lead's teams, editable while the user is enabled; "all teams" for an admin. */
function userTeams(u, { act }) {
  if (u.disabled_at || u.role !== "lead") {
    return td(u.role === "lead" ? u.teams.join(", ") : t("admin_all_teams"));
  }
  const box = el("fieldset", { class: "team-checks compact" });
  teamChecks(box, "user-teams", u.teams);
  const saveTeams = el("button", {
    type: "button", class: "save-teams", text: t("admin_save"),
    onclick: () => act(async () => {
      await api(`/api/v1/users/${enc(u.username)}/teams`, { method: "PUT", body: { teams: checked(box, "user-teams") } });
      await renderUsers();
    }),
  });
  return el("td", {}, box, saveTeams);
}

function userActions(u, { said, act }) {
  const actions = el("td", { class: "actions" });
  if (!u.disabled_at) {
    const password = el("input", {
      type: "password", name: "password", minlength: 10, maxlength: 1024, size: 12,
      autocomplete: "new-password", "aria-label": t("admin_new_password"), placeholder: t("admin_new_password"),
    });
    const reset = el("button", {
      type: "button", class: "reset", text: t("admin_reset_password"),
      onclick: () => act(async () => {
        await api(`/api/v1/users/${enc(u.username)}/password`, { method: "PUT", body: { password: password.value } });
        password.value = "";
      }),
    });
    const disable = confirmButton(t("admin_disable"), t("admin_confirm_disable"), async () => {
      await api(`/api/v1/users/${enc(u.username)}/disable`, { method: "POST" });
      await renderUsers();
    }, "disable danger");
    actions.append(password, reset, disable);
  }
  actions.append(said);
  return actions;
}

const USER_COLUMNS = [
  { label: "admin_username", cell: (u) => td(u.username, "name") },
  { label: "admin_role", cell: (u) => td(t(`admin_role_${u.role}`)) },
  { label: "admin_user_teams", cell: userTeams },
  { label: "admin_state", cell: (u) => td(userState(u), "state") },
  { label: "admin_actions", cell: userActions },
];

onSubmit($("user-add"), async (data) => {
  const role = data.get("role");
  const body = {
    username: String(data.get("username") || "").trim(),
    password: String(data.get("password") || ""),
    role,
    teams: role === "lead" ? data.getAll("teams").map(String) : [],
  };
  await api("/api/v1/users", { method: "POST", body });
  $("user-add").reset();
  await renderUsers();
  return t("admin_user_created", { name: body.username });
});

// --- TV display links ------------------------------------------------------------------------

const DEFAULT_SETTINGS = { size: "normal", views: ["live"], rotate_seconds: 30, pin: null, metric: "revenue" };

/** The settings fields of a TV link (create and edit share them). */
function settingsFields(s) {
  const size = el("select", { name: "size" });
  optionList(size, ["normal", "large"].map((v) => [v, t(`admin_size_${v}`)]), s.size);
  const pin = el("select", { name: "pin" });
  optionList(pin, [["", t("admin_pin_none")], ...cfg.views.map((v) => [v, t(`admin_view_${v}`)])], s.pin || "");
  const views = el(
    "fieldset",
    { class: "view-checks" },
    el("legend", { text: t("admin_views") }),
    ...cfg.views.map((v) =>
      el("label", { class: "check" }, el("input", { type: "checkbox", name: "views", value: v, checked: s.views.includes(v) }), t(`admin_view_${v}`)),
    ),
  );
  const syncPin = () => {
    const on = checked(views, "views");
    for (const o of pin.options) o.disabled = o.value !== "" && !on.includes(o.value);
    if (pin.selectedOptions[0] && pin.selectedOptions[0].disabled) pin.value = "";
  };
  views.addEventListener("change", syncPin);
  syncPin();
  const metric = el("select", { name: "metric" });
  optionList(metric, METRICS.map((m) => [m, t(m)]), s.metric);
  const rotate = el("input", {
    type: "number", name: "rotate_seconds", min: cfg.rotateMin, max: cfg.rotateMax, step: 1,
    value: s.rotate_seconds, required: true,
  });
  return el(
    "div",
    { class: "settings-fields" },
    el("label", {}, t("admin_size"), " ", size),
    views,
    el("label", {}, t("admin_rotate_seconds"), " ", rotate),
    el("label", {}, t("admin_pin"), " ", pin),
    el("label", {}, t("admin_view_metric"), " ", metric),
  );
}

function readSettings(form) {
  return {
    size: form.querySelector("[name=size]").value,
    views: checked(form, "views"),
    rotate_seconds: Number(form.querySelector("[name=rotate_seconds]").value),
    pin: form.querySelector("[name=pin]").value || null,
    metric: form.querySelector("[name=metric]").value,
  };
}

function settingsText(s) {
  const parts = [t(`admin_size_${s.size}`), s.views.map((v) => t(`admin_view_${v}`)).join(" → ")];
  if (s.pin) parts.push(`${t("admin_pin")}: ${t(`admin_view_${s.pin}`)}`);
  else if (s.views.length > 1) parts.push(t("admin_every_seconds", { n: s.rotate_seconds }));
  parts.push(t(s.metric));
  return parts.join(" · ");
}

async function renderDisplays() {
  const [list, teams] = await Promise.all([api("/api/v1/displays"), api("/api/v1/teams")]);
  state.teams = teams;
  const form = $("display-add");
  teamChecks(form.querySelector(".team-checks"), "teams", checked(form, "teams"));
  const box = form.querySelector(".display-settings");
  if (!box.firstChild) box.append(settingsFields(DEFAULT_SETTINGS));
  fillTable($("display-table"), DISPLAY_COLUMNS, list, {
    attrs: (dl) => ({ "data-display": dl.id, "data-revoked": dl.revoked_at ? "true" : "false" }),
    shared: displayEditRow,
    after: (dl, { editRow }) => (editRow ? [editRow] : []),
  });
}

/** A live link's hidden edit row (its name and settings), shown by the row's edit button. */
function displayEditRow(dl) {
  if (dl.revoked_at) return { editRow: null };
  const edit = el("form", { class: "display-edit inline-form" },
    el("label", {}, t("admin_display_name"), " ", el("input", { name: "name", value: dl.name, maxlength: 100, required: true })),
    settingsFields(dl.settings),
    el("button", { type: "submit", text: t("admin_save") }),
    el("span", { class: "result", role: "status" }),
  );
  const editRow = el("tr", { class: "edit-row", "data-edit": dl.id, hidden: true },
    el("td", { colspan: DISPLAY_COLUMNS.length }, edit));
  onSubmit(edit, async () => {
    const body = { name: edit.querySelector("[name=name]").value.trim(), ...readSettings(edit) };
    await api(`/api/v1/displays/${dl.id}`, { method: "PATCH", body });
    await renderDisplays();
  });
  return { editRow };
}

function displayActions(dl, { editRow }) {
  if (!editRow) return el("td", { class: "actions" });
  return el(
    "td",
    { class: "actions" },
    el("button", { type: "button", class: "edit", text: t("admin_edit"), onclick: () => { editRow.hidden = !editRow.hidden; } }),
    confirmButton(t("admin_revoke"), t("admin_confirm_revoke"), async () => {
      await api(`/api/v1/displays/${dl.id}/revoke`, { method: "POST" });
      await renderDisplays();
    }, "revoke danger"),
  );
}

/** A link or token's state: active, or when it was revoked. */
const liveState = (item) => td(item.revoked_at ? `${t("admin_revoked")} ${stamp(item.revoked_at)}` : t("admin_active"));

const DISPLAY_COLUMNS = [
  { label: "admin_display_name", cell: (dl) => td(dl.name, "name") },
  { label: "admin_display_teams", cell: (dl) => td(dl.teams.length ? dl.teams.join(", ") : t("admin_whole_floor")) },
  { label: "admin_prefix", cell: (dl) => td(`${dl.prefix}…`, "prefix") },
  { label: "admin_settings", cell: (dl) => td(settingsText(dl.settings), "settings") },
  { label: "admin_state", cell: liveState },
  { label: "admin_actions", cell: displayActions },
];

onSubmit($("display-add"), async (data) => {
  const form = $("display-add");
  const body = { name: String(data.get("name") || "").trim(), teams: data.getAll("teams").map(String), ...readSettings(form) };
  const got = await api("/api/v1/displays", { method: "POST", body });
  $("display-url").value = got.url;
  $("display-qr").src = got.qr;
  $("display-created").hidden = false;
  form.elements.name.value = "";
  await renderDisplays();
  return t("admin_display_created");
});

// --- API tokens ------------------------------------------------------------------------------

async function renderTokens() {
  const list = await api("/api/v1/tokens");
  fillTable($("token-table"), TOKEN_COLUMNS, list, {
    attrs: (tk) => ({ "data-token": tk.id, "data-revoked": tk.revoked_at ? "true" : "false" }),
  });
}

const TOKEN_COLUMNS = [
  { label: "admin_token_name", cell: (tk) => td(tk.name, "name") },
  { label: "admin_token_scope", cell: (tk) => td(t(`admin_scope_${tk.scope}`)) },
  { label: "admin_token_source", cell: (tk) => td(tk.source || "—") },
  { label: "admin_prefix", cell: (tk) => td(`${tk.prefix}…`, "prefix") },
  { label: "admin_created", cell: (tk) => td(stamp(tk.created_at)) },
  { label: "admin_state", cell: liveState },
  {
    label: "admin_actions",
    cell: (tk) =>
      el(
        "td",
        { class: "actions" },
        tk.revoked_at
          ? null
          : confirmButton(t("admin_revoke"), t("admin_confirm_revoke"), async () => {
              await api(`/api/v1/tokens/${tk.id}/revoke`, { method: "POST" });
              await renderTokens();
            }, "revoke danger"),
      ),
  },
];

onSubmit($("token-add"), async (data) => {
  const body = { name: String(data.get("name") || "").trim(), scope: data.get("scope"), source: String(data.get("source") || "").trim() || null };
  const got = await api("/api/v1/tokens", { method: "POST", body });
  $("token-secret").value = got.secret;
  $("token-commands").hidden = !got.curl;
  $("token-curl").textContent = got.curl || "";
  $("token-import").textContent = got.import_command || "";
  $("token-created").hidden = false;
  $("token-add").reset();
  await renderTokens();
  return t("admin_token_created");
});

// --- attendance ------------------------------------------------------------------------------

async function renderAttendance() {
  const form = $("att-form");
  if (!form.elements.day.value) form.elements.day.value = cfg.today;
  const [marks] = await Promise.all([
    api(`/api/v1/attendance?day=${enc(form.elements.day.value)}`),
    loadRoster(),
  ]);
  const keep = form.elements.rep.value;
  optionList(form.elements.rep, state.reps.filter((r) => r.active).map((r) => [r.code, `${r.name} (${r.code}) · ${r.team}`]), keep);
  state.marks = new Map(marks.map((m) => [m.rep, m]));
  attendanceOf();
  fillTable($("att-table"), ATTENDANCE_COLUMNS, marks, {
    attrs: (m) => ({ "data-rep": m.rep, "data-status": m.status }),
    empty: "admin_all_present",
  });
}

const ATTENDANCE_COLUMNS = [
  { label: "rep", cell: (m) => td(`${m.name} (${m.rep})`) },
  { label: "team", cell: (m) => td(m.team) },
  { label: "attendance", cell: (m) => td(m.half ? t(`att_half_day_${m.half}`) : t(`att_${m.status}`), "status") },
  { label: "att_note", cell: (m) => td(m.note || "") },
  { label: "admin_set_by", cell: (m) => td(`${m.set_by} ${stamp(m.set_at)}`) },
];

/** The form shows the chosen rep's mark of the day (present when none), not the last one typed. */
function attendanceOf() {
  const form = $("att-form");
  const mark = state.marks.get(form.elements.rep.value);
  form.elements.status.value = mark ? mark.status : "present";
  form.elements.half.value = mark && mark.half ? mark.half : "am";
  form.elements.note.value = mark ? mark.note || "" : "";
  attendanceHalf();
}

function attendanceHalf() {
  const form = $("att-form");
  form.querySelector("[data-for-status]").hidden = form.elements.status.value !== "half_day";
}
$("att-form").elements.status.addEventListener("change", attendanceHalf);
$("att-form").elements.rep.addEventListener("change", attendanceOf);
$("att-form").elements.day.addEventListener("change", () => refresh("attendance"));

onSubmit($("att-form"), async (data) => {
  const status = data.get("status");
  const body = { status, half: status === "half_day" ? data.get("half") : "", note: String(data.get("note") || "").trim() };
  await api(`/api/v1/attendance/${enc(data.get("rep"))}/${enc(data.get("day"))}`, { method: "PUT", body });
  await renderAttendance();
});

// --- start -----------------------------------------------------------------------------------

for (const button of document.querySelectorAll("button.copy")) {
  button.addEventListener("click", () => copyOut(button.dataset.copy, button));
}
window.addEventListener("hashchange", () => show(location.hash.slice(1)));
show(location.hash.slice(1));
document.body.dataset.ready = "true";
