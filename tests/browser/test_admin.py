"""The web admin in a real browser against a real ``paceboard serve``: an admin signs in, lands
on the checklist, and does every job of the page through it (roster, targets, users, TV links,
API tokens, attendance); each result is then read back through the API or the CLI, never from
the page alone. A lead gets the 403 page."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from datetime import date
from typing import Any

import httpx
import pytest

from app.labels import catalog
from tests.conftest import LiveServer, midday_zone

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery"
# Chromium logs every answer of 4xx as a console error; where a test provokes one on purpose.
REFUSED = r"^Failed to load resource: the server responded with a status of (40[1349]|422)"
READY = 'body[data-ready="true"]'


class Admin:
    """The running server, an admin token for checking results, and the admin's password."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.url = server.url
        made = server.cli("token", "create", "--name", "checker", "--scope", "admin")
        assert made.returncode == 0, made.stderr
        self.token = made.stdout.strip().splitlines()[-1]

    def api(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"} | kw.pop("headers", {})
        return httpx.request(method, self.url + path, headers=headers, timeout=10, **kw)

    def get(self, path: str, **params: str) -> Any:
        resp = self.api("GET", path, params=params)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def cli(self, *args: str, stdin: str | None = None) -> str:
        done = self.server.cli(*args, stdin=stdin)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def user(self, name: str, role: str, *teams: str) -> None:
        team_args = [arg for team in teams for arg in ("--team", team)]
        self.cli("user", "create", name, "--role", role, *team_args, "--password-stdin",
                 stdin=PASSWORD + "\n")  # fmt: skip


@pytest.fixture
def admin(live_server, server_env) -> Admin:
    server_env["PACEBOARD_TIMEZONE"] = midday_zone()
    server_env["PACEBOARD_LOG_LEVEL"] = "info"  # the access log too: secrets must stay out
    live_server.start()
    floor = Admin(live_server)
    floor.user("boss", "admin")
    return floor


def headed_rows(page: Any, table: str) -> tuple[list[str], set[int]]:
    """A table's header texts and the cell counts of its rows (but an edit row's one cell)."""
    head, widths = page.evaluate(
        """(sel) => {
            const t = document.querySelector(sel);
            const head = [...t.tHead.querySelectorAll("th")].map((th) => th.textContent);
            const rows = [...t.tBodies[0].rows].filter((r) => !r.classList.contains("edit-row"));
            return [head, [...new Set(rows.map((r) => r.cells.length))]];
        }""",
        table,
    )
    return head, widths


def labels(*keys: str) -> list[str]:
    return [catalog()["zh"][k] for k in keys]


def sign_in(new_page: Any, floor: Admin, section: str = "", width: int = 1366) -> Any:
    """A page signed in as the admin on /admin (``#section``), its first load done."""
    page = new_page("admin", width=width, height=800)
    page.goto(f"{floor.url}/login?next=/admin")
    page.fill("#username", "boss")
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(re.compile(r"/admin$"))
    page.wait_for_selector(READY, state="attached")
    if section:
        page.click(f'[data-nav="{section}"]')
    wait_loaded(page, section or "checklist")
    return page


def wait_loaded(page: Any, section: str) -> None:
    page.wait_for_selector(f'[data-section="{section}"][data-loaded="true"]', state="visible")


def result(page: Any, form: str, ok: bool = True) -> str:
    """The text a form said after its submit, waiting for the answer (``ok`` or not)."""
    node = page.locator(f'{form} .result[data-ok="{"true" if ok else "false"}"]')
    node.wait_for(timeout=10_000)
    return node.inner_text()


def assert_no_secret_in_log(server: LiveServer, *secrets: str) -> None:
    log = server.log.read_text()
    assert "GET /admin" in log or '"/admin' in log, "the access log was not written"
    for secret in secrets:
        assert secret[10:] not in log, "a secret reached the server's log"


# --- the checklist -----------------------------------------------------------------------------


def test_the_admin_lands_on_a_checklist_that_ticks_itself_as_the_floor_is_set_up(
    new_page, admin, screenshot, tmp_path
):
    page = sign_in(new_page, admin)
    ticks = lambda: {  # noqa: E731
        li.get_attribute("data-item"): li.get_attribute("data-done")
        for li in page.locator("#checklist-items > li").all()
    }
    assert ticks() == {"roster": "false", "tv": "false", "phone": "false", "targets": "false"}
    assert page.locator('[data-nav="checklist"]').get_attribute("aria-current") == "page"
    screenshot(page, "empty")

    # Done elsewhere (the CLI, the API): the open checklist ticks without a reload.
    admin.api("POST", "/api/v1/teams", json={"name": "一组"})
    admin.api("POST", "/api/v1/reps", json={"code": "8001", "name": "王芳", "team": "一组"})
    page.wait_for_selector('li[data-item="roster"][data-done="true"]', timeout=15_000)
    admin.cli("display", "create", "--name", "TV")
    page.wait_for_selector('li[data-item="tv"][data-done="true"]', timeout=15_000)
    admin.cli("target", "set", "--metric", "revenue", "--per", "day", "--value", "5000")
    page.wait_for_selector('li[data-item="targets"][data-done="true"]', timeout=15_000)

    # Connect the phone system: a token from the checklist, then the curl command it shows.
    assert "<TOKEN>" in page.inner_text("#curl-command")
    page.fill("#phone-token-form input[name=source]", "pbx3")
    page.click("#phone-token-form button[type=submit]")
    result(page, "#phone-token-form")
    page.wait_for_selector('li[data-item="phone"] [data-sub="token"][data-done="true"]')
    assert page.is_visible("#phone-secret-note")
    command = page.inner_text("#curl-command")
    assert command.startswith(f"curl -X POST {admin.url}/api/v1/calls ")
    secret = shlex.split(command)[5].removeprefix("Authorization: Bearer ")
    assert secret.startswith("pb_")
    assert page.inner_text("#import-command") == (
        "paceboard import Master.csv --format asterisk --source pbx3"
    )
    assert page.get_attribute('li[data-item="phone"]', "data-done") == "false"
    screenshot(page, "token")
    # The command as shown, run by a shell: the call arrives and the checklist completes.
    ran = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=30)
    assert ran.returncode == 0 and json.loads(ran.stdout)["created"] == 1, ran.stdout + ran.stderr
    page.wait_for_selector('li[data-item="phone"][data-done="true"]', timeout=15_000)
    page.wait_for_selector("#checklist-done", state="visible")
    screenshot(page, "done")
    # The secret is not kept anywhere a listing shows it.
    tokens = admin.api("GET", "/api/v1/tokens").text
    assert secret[10:] not in tokens and secret[:10] in tokens
    page.reload()
    page.wait_for_selector('[data-section="checklist"][data-loaded="true"]')
    assert secret[10:] not in page.content()
    assert_no_secret_in_log(admin.server, secret)


# --- roster ------------------------------------------------------------------------------------


def rep_row(page: Any, code: str) -> Any:
    return page.locator(f'#rep-list tr[data-rep="{code}"]')


def test_an_admin_builds_the_roster_from_the_page(new_page, admin, console, screenshot, tmp_path):
    page = sign_in(new_page, admin, "roster")
    # A rep in a team that does not exist yet: the team is created with them.
    form = page.locator("#rep-add")
    form.locator("[name=code]").fill("8001")
    form.locator("[name=name]").fill("王芳")
    form.locator("[name=team]").fill("一组")
    form.locator("[name=hired_on]").fill("2026-11-02")
    form.locator("[name=identifiers]").fill("801, SIP/801")
    form.locator("button[type=submit]").click()
    assert "8001" in result(page, "#rep-add")
    rep_row(page, "8001").wait_for()
    assert [t["name"] for t in admin.get("/api/v1/teams")] == ["一组"]
    [rep] = admin.get("/api/v1/reps")
    assert (rep["code"], rep["name"], rep["team"], rep["hired_on"]) == (
        "8001", "王芳", "一组", "2026-11-02",
    )  # fmt: skip
    assert rep["identifiers"] == ["801", "SIP/801"]

    # A second team from the teams card, then the rep moves there, renamed and inactive.
    page.fill("#team-add input[name=name]", "二组")
    page.click("#team-add button[type=submit]")
    page.wait_for_selector('#team-list form[data-team="二组"]')
    row = rep_row(page, "8001")
    row.locator("input[name=name]").fill("王芳芳")
    row.locator("select[name=team]").select_option("二组")
    row.locator("input[name=active]").uncheck()
    row.locator("button.save").click()
    page.wait_for_selector(
        '#rep-list section[data-team="二组"] tr[data-rep="8001"][data-active="false"]'
    )
    [rep] = admin.get("/api/v1/reps")
    assert (rep["name"], rep["team"], rep["active"]) == ("王芳芳", "二组", False)
    assert headed_rows(page, '#rep-list section[data-team="二组"] table') == (
        labels(
            "admin_rep_code",
            "admin_rep_name",
            "team",
            "admin_rep_hired",
            "admin_active",
            "admin_rep_identifiers",
            "admin_actions",
        ),
        [7],
    )

    # Identifiers: one removed, one added.
    rep_row(page, "8001").locator('.ident[data-ident="801"] button.remove').click()
    page.wait_for_selector('tr[data-rep="8001"] .ident[data-ident="801"]', state="detached")
    row = rep_row(page, "8001")
    row.locator("input[name=identifier]").fill("agent-17")
    row.locator("button.add-ident").click()
    page.wait_for_selector('tr[data-rep="8001"] .ident[data-ident="agent-17"]')
    assert admin.get("/api/v1/reps")[0]["identifiers"] == ["SIP/801", "agent-17"]

    # A team renamed from the teams card.
    team = page.locator('#team-list form[data-team="二组"]')
    team.locator("input[name=name]").fill("二组(晚班)")
    team.locator("button[type=submit]").click()
    page.wait_for_selector('#team-list form[data-team="二组(晚班)"]')
    assert {t["name"] for t in admin.get("/api/v1/teams")} == {"一组", "二组(晚班)"}

    # A roster CSV with bad lines: nothing imported, each line named with its field.
    bad = tmp_path / "roster-bad.csv"
    bad.write_text("code,name,team,hired_on\n9001,赵六,三组,\n,钱七,三组,\n9003,孙八,三组,2026/11/02\n",
                   encoding="utf-8")  # fmt: skip
    page.set_input_files("#roster-import input[type=file]", str(bad))
    with console.excuse(REFUSED):
        page.click("#roster-import button[type=submit]")
        assert "2" in result(page, "#roster-import", ok=False)
    rejects = page.locator("#import-rejects tbody tr")
    assert [
        (r.get_attribute("data-line"), r.get_attribute("data-field")) for r in rejects.all()
    ] == [
        ("3", "code"),
        ("4", "hired_on"),
    ]
    assert "2026/11/02" in page.inner_text("#import-rejects")
    screenshot(page, "rejects")
    assert len(admin.get("/api/v1/reps")) == 1

    # The same file mended: imported, and the CLI's own listing agrees.
    good = tmp_path / "roster.csv"
    good.write_text("code,name,team,hired_on,extension\n9001,赵六,三组,,9101\n9002,钱七,三组,2026-11-02,\n",
                    encoding="utf-8-sig")  # fmt: skip
    page.set_input_files("#roster-import input[type=file]", str(good))
    page.click("#roster-import button[type=submit]")
    said = result(page, "#roster-import")
    assert re.search(r"2\D+0\D+0", said), said
    assert page.is_hidden("#import-rejects")
    rep_row(page, "9002").wait_for()
    reps = {r["code"]: r for r in admin.get("/api/v1/reps")}
    assert set(reps) == {"8001", "9001", "9002"} and reps["9001"]["identifiers"] == ["9101"]
    assert reps["9002"]["team"] == "三组" and reps["9002"]["hired_on"] == "2026-11-02"
    screenshot(page, "roster")


# --- targets -----------------------------------------------------------------------------------


def set_target(
    page: Any, scope: str, metric: str, value: str, *, who: str = "", period: str = "day"
):
    form = page.locator("#target-form")
    form.locator("[name=scope]").select_option(scope)
    if scope != "floor":
        form.locator(f"[name={scope}]").select_option(who)
    form.locator("[name=metric]").select_option(metric)
    form.locator("[name=period]").select_option(period)
    form.locator("[name=value]").fill(value)
    form.locator("button[type=submit]").click()


def rule(floor: Admin, metric: str, scope: str, period: str = "day") -> dict:
    found = [
        r for r in floor.get("/api/v1/targets")
        if (r["metric"], r["scope"], r["period"]) == (metric, scope, period)
        and r["valid_from"] != "2000-01-01"
    ]  # fmt: skip
    assert len(found) == 1, found
    return found[0]


def test_an_admin_sets_targets_in_yuan_and_minutes_and_sees_them_with_units(
    new_page, admin, screenshot
):
    admin.api("POST", "/api/v1/teams", json={"name": "一组"})
    admin.api("POST", "/api/v1/reps", json={"code": "8001", "name": "王芳", "team": "一组"})
    page = sign_in(new_page, admin, "targets")
    today = page.get_attribute("body", "data-today")
    assert page.input_value("#target-form [name=valid_from]") == today

    page.locator("#target-form [name=metric]").select_option("revenue")
    assert page.inner_text("#target-unit") == "元"
    set_target(page, "floor", "revenue", "5,000")
    assert "5,000.00 元" in result(page, "#target-form")
    got = rule(admin, "revenue", "floor")
    assert (got["value"], got["valid_from"]) == (500000, today)  # fen: minor units stored
    row = page.locator('#target-table tr[data-scope="floor"][data-metric="revenue"]').last
    assert row.locator("td.value").inner_text() == "5,000.00 元"

    page.locator("#target-form [name=metric]").select_option("talk_seconds")
    assert page.inner_text("#target-unit") == "分钟 或 h:mm"
    set_target(page, "team", "talk_seconds", "1:30", who="一组")
    result(page, "#target-form")
    assert rule(admin, "talk_seconds", "team")["value"] == 5400
    set_target(page, "rep", "talk_seconds", "95", who="8001", period="week")
    result(page, "#target-form")
    assert rule(admin, "talk_seconds", "rep", "week")["value"] == 5700
    row = page.locator('#target-table tr[data-who="8001"][data-metric="talk_seconds"]')
    assert row.locator("td.value").inner_text() == "1:35 (h:mm)"
    set_target(page, "rep", "dials", "250", who="8001")
    result(page, "#target-form")
    assert rule(admin, "dials", "rep")["value"] == 250
    # The seeded floor default of talk time reads as hours and minutes, not 13000.
    seeded = page.locator('#target-table tr[data-scope="floor"][data-metric="talk_seconds"]').first
    assert seeded.locator("td.value").inner_text() == "3:36:40 (h:mm:ss)"

    # A figure that is not one is refused on the page, naming the field, and nothing is sent.
    before = admin.get("/api/v1/targets")
    set_target(page, "floor", "revenue", "50.123")
    said = result(page, "#target-form", ok=False)
    assert "目标" in said and "2 位小数" in said
    set_target(page, "floor", "dials", "many")
    assert "整数" in result(page, "#target-form", ok=False)
    assert admin.get("/api/v1/targets") == before
    screenshot(page, "targets")


# --- users -------------------------------------------------------------------------------------


def user_row(page: Any, name: str) -> Any:
    return page.locator(f'#user-table tr[data-user="{name}"]')


def users_by_cli(floor: Admin) -> str:
    return floor.cli("user", "list")


def test_an_admin_creates_leads_resets_a_password_changes_teams_and_disables(
    new_page, admin, console, screenshot
):
    for team in ("一组", "二组"):
        admin.api("POST", "/api/v1/teams", json={"name": team})
    page = sign_in(new_page, admin, "users")
    form = page.locator("#user-add")
    assert form.locator("fieldset.team-checks").is_visible()  # a lead's teams
    form.locator("[name=username]").fill("wang.lead")
    form.locator('input[name=teams][value="一组"]').check()
    form.locator('input[name=teams][value="二组"]').check()
    form.locator("[name=password]").fill(PASSWORD)
    form.locator("button[type=submit]").click()
    assert "wang.lead" in result(page, "#user-add")
    user_row(page, "wang.lead").wait_for()
    users = {u["username"]: u for u in admin.get("/api/v1/users")}
    assert (users["wang.lead"]["role"], users["wang.lead"]["teams"]) == ("lead", ["一组", "二组"])

    # An admin has no teams to choose.
    form.locator("[name=role]").select_option("admin")
    assert form.locator("fieldset.team-checks").is_hidden()
    form.locator("[name=username]").fill("li.admin")
    form.locator("[name=password]").fill(PASSWORD)
    form.locator("button[type=submit]").click()
    result(page, "#user-add")
    user_row(page, "li.admin").wait_for()
    listed = users_by_cli(admin)
    assert re.search(r"li\.admin\s+admin", listed) and re.search(r"wang\.lead\s+lead", listed)

    # A username that is not one: the server's reason, naming the field.
    form.locator("[name=username]").fill("has space")
    form.locator("[name=password]").fill(PASSWORD)
    with console.excuse(REFUSED):
        form.locator("button[type=submit]").click()
        assert "username:" in result(page, "#user-add", ok=False)
    assert len(admin.get("/api/v1/users")) == 3

    # The lead's teams: one of two.
    row = user_row(page, "wang.lead")
    row.locator('input[name=user-teams][value="一组"]').uncheck()
    row.locator("button.save-teams").click()
    page.wait_for_function(
        """() => {
            const r = document.querySelector('#user-table tr[data-user="wang.lead"]');
            return r && !r.querySelector('input[name=user-teams][value="一组"]').checked;
        }"""
    )
    users = {u["username"]: u for u in admin.get("/api/v1/users")}
    assert users["wang.lead"]["teams"] == ["二组"]

    # A new password: the lead signs in with it (in a browser of their own), not the old one.
    new_password = "a different passphrase"
    row = user_row(page, "wang.lead")
    row.locator("input[name=password]").fill(new_password)
    row.locator("button.reset").click()
    row.locator('.result[data-ok="true"]').wait_for()
    assert signs_in(admin, "wang.lead", new_password)
    assert not signs_in(admin, "wang.lead", PASSWORD)

    # Disabled: the button asks once more, then the lead is out.
    row = user_row(page, "wang.lead")
    row.locator("button.disable").click()
    assert row.locator("button.disable").get_attribute("data-armed") == "true"
    assert admin.get("/api/v1/users")[2]["disabled_at"] is None  # not on the first press
    row.locator("button.disable").click()
    page.wait_for_selector('#user-table tr[data-user="wang.lead"][data-disabled="true"]')
    assert re.search(r"wang\.lead\s+lead.*disabled", users_by_cli(admin))
    assert not signs_in(admin, "wang.lead", new_password)
    screenshot(page, "users")


def signs_in(floor: Admin, username: str, password: str) -> bool:
    """Whether the sign-in form takes these credentials (a fresh client, as a browser)."""
    with httpx.Client(base_url=floor.url, follow_redirects=False, timeout=10) as client:
        form = client.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert token, form.text[:500]
        resp = client.post(
            "/login",
            data={"username": username, "password": password, "csrf": token.group(1)},
        )
        return resp.status_code == 303


# --- TV display links --------------------------------------------------------------------------


def test_an_admin_makes_a_tv_link_copies_it_scans_it_edits_and_revokes_it(
    new_page, admin, console, screenshot
):
    for team in ("一组", "二组"):
        admin.api("POST", "/api/v1/teams", json={"name": team})
    page = sign_in(new_page, admin, "displays")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=admin.url)
    form = page.locator("#display-add")
    form.locator("[name=name]").fill("三楼电视")
    form.locator('input[name=teams][value="二组"]').check()
    form.locator("[name=size]").select_option("large")
    for view in ("today", "pk", "heatmap"):
        form.locator(f'input[name=views][value="{view}"]').check()
    assert form.locator('[name=pin] option[value="week"]').is_disabled()  # not a chosen view
    form.locator("[name=rotate_seconds]").fill("15")
    form.locator("[name=metric]").select_option("orders")
    form.locator("button[type=submit]").click()
    result(page, "#display-add")

    # The link, once, with a copy button and its QR code, from this server's own address.
    link = page.input_value("#display-url")
    assert link.startswith(f"{admin.url}/wallboard?display=pbd_")
    secret = link.split("display=")[1]
    page.click('#display-created button[data-copy="display-url"]')
    page.wait_for_selector('#display-created button.copy[data-copied="true"]')
    assert page.evaluate("navigator.clipboard.readText()") == link
    qr = page.locator("#display-qr")
    assert qr.get_attribute("src").startswith("data:image/svg+xml")
    assert page.evaluate("document.getElementById('display-qr').naturalWidth") > 100
    screenshot(page, "created")
    [made] = admin.get("/api/v1/displays")
    assert made["teams"] == ["二组"] and made["settings"] == {
        "size": "large",
        "views": ["live", "today", "pk", "heatmap"],
        "rotate_seconds": 15,
        "pin": None,
        "metric": "orders",
    }
    assert secret[10:] not in json.dumps(admin.get("/api/v1/displays"))
    row = page.locator(f'#display-table tr[data-display="{made["id"]}"]')
    assert secret[10:] not in row.inner_text() and secret[:10] in row.inner_text()
    assert headed_rows(page, "#display-table") == (
        labels(
            "admin_display_name",
            "admin_display_teams",
            "admin_prefix",
            "admin_settings",
            "admin_state",
            "admin_actions",
        ),
        [6],
    )

    # The copied link opens the TV's board.
    tv = new_page("tv", width=1280, height=720)
    opened = tv.goto(link)
    assert opened is not None and opened.status == 200
    tv.close()

    # Its settings changed in place: pinned to the PK table at the normal size.
    row.locator("button.edit").click()
    edit = page.locator(f'tr[data-edit="{made["id"]}"] form')
    edit.wait_for()
    edit.locator("[name=size]").select_option("normal")
    edit.locator('input[name=views][value="today"]').uncheck()
    edit.locator("[name=pin]").select_option("pk")
    edit.locator("button[type=submit]").click()
    page.wait_for_function(
        """id => {
            const r = document.querySelector(`#display-table tr[data-display='${id}'] td.settings`);
            return r && r.textContent.includes('小组 PK') && !r.textContent.includes('今日排行');
        }""",
        arg=made["id"],
    )
    [edited] = admin.get("/api/v1/displays")
    assert edited["settings"] == {
        "size": "normal",
        "views": ["live", "pk", "heatmap"],
        "rotate_seconds": 15,
        "pin": "pk",
        "metric": "orders",
    }
    screenshot(page, "edited")

    # Revoked (the button asks once more): the CLI lists it revoked and the link stops.
    page.locator(f'#display-table tr[data-display="{made["id"]}"] button.revoke').click()
    page.locator(f'#display-table tr[data-display="{made["id"]}"] button.revoke').click()
    page.wait_for_selector(f'#display-table tr[data-display="{made["id"]}"][data-revoked="true"]')
    assert re.search(r"三楼电视.*revoked", admin.cli("display", "list"))
    assert httpx.get(link, timeout=10).status_code == 401
    assert_no_secret_in_log(admin.server, secret)


# --- API tokens --------------------------------------------------------------------------------


def test_an_admin_makes_tokens_shown_once_and_revokes_one(new_page, admin, screenshot):
    page = sign_in(new_page, admin, "tokens")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=admin.url)
    form = page.locator("#token-add")
    form.locator("[name=name]").fill("bi-export")
    form.locator("[name=scope]").select_option("read")
    form.locator("button[type=submit]").click()
    result(page, "#token-add")
    secret = page.input_value("#token-secret")
    assert secret.startswith("pb_") and page.is_hidden("#token-commands")  # read: no commands
    page.click('#token-created button[data-copy="token-secret"]')
    page.wait_for_selector('#token-created button.copy[data-copied="true"]')
    assert page.evaluate("navigator.clipboard.readText()") == secret
    reads = httpx.get(f"{admin.url}/api/v1/reps", headers={"Authorization": f"Bearer {secret}"})
    assert reads.status_code == 200

    # An ingest token with a source: the curl and import commands come with it.
    form.locator("[name=name]").fill("asterisk-3")
    form.locator("[name=scope]").select_option("ingest")
    form.locator("[name=source]").fill("pbx3")
    form.locator("button[type=submit]").click()
    result(page, "#token-add")
    ingest = page.input_value("#token-secret")
    assert ingest != secret and page.is_visible("#token-commands")
    assert f"Bearer {ingest}" in page.inner_text("#token-curl")
    assert page.inner_text("#token-import").endswith("--source pbx3")
    screenshot(page, "created")

    # Listed by prefix only, here, in the API and in the CLI; gone from the page once reloaded.
    table = page.inner_text("#token-table")
    head, widths = headed_rows(page, "#token-table")
    assert head == labels(
        "admin_token_name",
        "admin_token_scope",
        "admin_token_source",
        "admin_prefix",
        "admin_created",
        "admin_state",
        "admin_actions",
    )
    assert widths == [len(head)]  # each column declared once: a header per cell
    for s in (secret, ingest):
        assert s[:10] in table and s[10:] not in table
    listed = admin.cli("token", "list")
    assert re.search(rf"{re.escape(secret[:10])}….*read.*bi-export", listed)
    page.reload()
    wait_loaded(page, "tokens")
    assert page.is_hidden("#token-created") and secret[10:] not in page.content()

    # Revoked after a second press: the token is refused at once.
    row = page.locator("#token-table tr", has_text="bi-export")
    row.locator("button.revoke").click()
    row.locator("button.revoke").click()
    page.wait_for_selector("#token-table tr[data-revoked=true]", state="attached")
    refused = httpx.get(f"{admin.url}/api/v1/reps", headers={"Authorization": f"Bearer {secret}"})
    assert refused.status_code == 401
    assert re.search(rf"{re.escape(secret[:10])}….*revoked", admin.cli("token", "list"))
    assert_no_secret_in_log(admin.server, secret, ingest)


# --- attendance --------------------------------------------------------------------------------


def test_an_admin_marks_a_reps_day_and_lists_the_day(new_page, admin, screenshot):
    admin.api("POST", "/api/v1/teams", json={"name": "一组"})
    for code, name in (("8001", "王芳"), ("8002", "李四")):
        admin.api("POST", "/api/v1/reps", json={"code": code, "name": name, "team": "一组"})
    page = sign_in(new_page, admin, "attendance")
    today = page.get_attribute("body", "data-today")
    form = page.locator("#att-form")
    assert form.locator("[name=day]").input_value() == today
    assert page.inner_text("#att-table tbody") == "当天全员出勤"
    head, _ = headed_rows(page, "#att-table")
    assert head == labels("rep", "team", "attendance", "att_note", "admin_set_by")

    form.locator("[name=rep]").select_option("8001")
    form.locator("[name=status]").select_option("leave")
    assert form.locator("[name=half]").is_hidden()
    form.locator("[name=note]").fill("年假")
    form.locator("button[type=submit]").click()
    result(page, "#att-form")
    page.wait_for_selector('#att-table tr[data-rep="8001"][data-status="leave"]')
    assert headed_rows(page, "#att-table")[1] == [5]

    form.locator("[name=rep]").select_option("8002")
    assert form.locator("[name=note]").input_value() == ""  # 8002's day, not 8001's note
    form.locator("[name=rep]").select_option("8001")
    assert form.locator("[name=status]").input_value() == "leave"
    assert form.locator("[name=note]").input_value() == "年假"
    form.locator("[name=rep]").select_option("8002")
    form.locator("[name=status]").select_option("half_day")
    form.locator("[name=half]").select_option("pm")
    form.locator("button[type=submit]").click()
    result(page, "#att-form")
    page.wait_for_selector('#att-table tr[data-rep="8002"][data-status="half_day"]')
    assert "下午请假" in page.inner_text('#att-table tr[data-rep="8002"]')
    marks = {m["rep"]: m for m in admin.get("/api/v1/attendance", day=today)}
    assert (marks["8001"]["status"], marks["8001"]["note"], marks["8001"]["set_by"]) == (
        "leave", "年假", "boss",
    )  # fmt: skip
    assert (marks["8002"]["status"], marks["8002"]["half"], marks["8002"]["note"]) == (
        "half_day", "pm", "",
    )  # fmt: skip
    assert "8001" in admin.cli("attendance", "list", "--day", today)

    # Another day: its own list; back to present clears the mark.
    other = date.fromisoformat(today).replace(day=1).isoformat()
    if other == today:
        other = date.fromisoformat(today).replace(day=2).isoformat()
    form.locator("[name=day]").fill(other)
    page.wait_for_selector("#att-table tr.empty")
    form.locator("[name=day]").fill(today)
    page.wait_for_selector('#att-table tr[data-rep="8001"]')
    form.locator("[name=rep]").select_option("8001")
    form.locator("[name=status]").select_option("present")
    form.locator("button[type=submit]").click()
    result(page, "#att-form")
    page.wait_for_selector('#att-table tr[data-rep="8001"]', state="detached")
    assert [m["rep"] for m in admin.get("/api/v1/attendance", day=today)] == ["8002"]
    screenshot(page, "attendance")


# --- who may -----------------------------------------------------------------------------------


def test_a_lead_gets_the_403_page_and_the_page_speaks_english(new_page, admin, console, screenshot):
    admin.api("POST", "/api/v1/teams", json={"name": "一组"})
    admin.user("lead1", "lead", "一组")
    page = new_page("lead", width=1366, height=800)
    page.goto(f"{admin.url}/login?next=/lead")
    page.fill("#username", "lead1")
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(re.compile(r"/lead$"))
    with console.excuse(REFUSED):
        refused = page.goto(f"{admin.url}/admin")
        assert refused is not None and refused.status == 403
    assert page.locator("script[src$='admin.js']").count() == 0
    screenshot(page, "lead-refused")

    page = sign_in(new_page, admin)
    page.click("#lang-switch")
    page.wait_for_url(re.compile(r"/admin\?lang=en"))
    wait_loaded(page, "checklist")
    assert page.inner_text("h1") == "Admin"
    assert page.inner_text('[data-nav="displays"]') == "TV screens"
    assert "Add the roster" in page.inner_text("#checklist-items")
    page.click('[data-nav="targets"]')
    wait_loaded(page, "targets")
    page.locator("#target-form [name=metric]").select_option("revenue")
    assert page.inner_text("#target-unit") == "yuan"
    screenshot(page, "english")
