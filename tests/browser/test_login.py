"""Signing in and out in a real browser against a real ``paceboard serve``: a lead opens the
console, gets the 401 page, follows "Sign in", and lands on the live console; signing out ends
it. The first admin is created through the setup link the server prints."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.test_wallboard import (
    LIVE,
    REP,
    TEAM,
    Floor,
    dials,
    post_and_see,
)
from tests.conftest import midday_zone

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery"
# Chromium logs every document answered with 4xx; the refusals below are the point of the test.
REFUSED = r"^Failed to load resource: the server responded with a status of 40[13]"


@pytest.fixture
def lead_floor(live_server, server_env) -> Floor:
    server_env["PACEBOARD_TIMEZONE"] = midday_zone()
    live_server.start()
    floor = Floor(live_server)
    assert floor.api("POST", "/api/v1/teams", "admin", json={"name": TEAM}).status_code == 201
    rep = {"code": REP, "name": "王芳", "team": TEAM}
    assert floor.api("POST", "/api/v1/reps", "admin", json=rep).status_code == 201
    created = live_server.cli(
        "user", "create", "lead1", "--role", "lead", "--team", TEAM, "--password-stdin",
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    return floor


def lead_console(new_page: Any, floor: Floor) -> Any:
    """A page signed in as lead1 on the live console, REP's row selected."""
    page = new_page("lead", width=1440, height=900)
    page.goto(f"{floor.url}/login?next=/lead")
    sign_in(page, "lead1", PASSWORD)
    page.wait_for_selector(LIVE, state="attached", timeout=15_000)
    page.locator(f'#team-body tr[data-rep="{REP}"]').first.click()
    return page


def sign_in(page: Any, username: str, password: str) -> None:
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login-form button[type=submit]")


def test_a_lead_signs_in_from_the_401_page_and_lands_on_the_live_console(
    new_page, lead_floor, console, screenshot
):
    floor = lead_floor
    other = {"code": "9001", "name": "李四", "team": "二组"}
    assert floor.api("POST", "/api/v1/teams", "admin", json={"name": "二组"}).status_code == 201
    assert floor.api("POST", "/api/v1/reps", "admin", json=other).status_code == 201
    page = new_page("lead", width=1440, height=900)
    with console.excuse(REFUSED):
        resp = page.goto(f"{floor.url}/lead?lang=en")
        assert resp is not None and resp.status == 401
        screenshot(page, "refused")
        page.click("#sign-in")
        page.wait_for_url(re.compile(r"/login\?"))
        assert page.title().startswith("Sign in")
        screenshot(page, "form")

        sign_in(page, "lead1", "not the password")
        page.wait_for_selector("#auth-error")
        assert "Wrong username or password" in page.inner_text("#auth-error")
        assert page.input_value("#username") == "lead1"
        assert page.input_value("#password") == ""

    sign_in(page, "lead1", PASSWORD)
    page.wait_for_url(re.compile(r"/lead\?lang=en$"))
    page.wait_for_selector(LIVE, state="attached", timeout=15_000)
    assert "lead1" in page.inner_text("#sign-out")
    # The console's socket and API run on the session cookie: a call shows up live.
    page.wait_for_selector(dials(REP), state="attached", timeout=5_000)
    post_and_see(page, floor, REP, 1)
    screenshot(page, "console")
    # Another team's figures reach the console (the PK table), but its selector offers only
    # the teams whose reps the lead may follow.
    options = page.eval_on_selector_all("#team-select option", "os => os.map(o => o.value)")
    assert options == ["", TEAM], options
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["paceboard_session"]["httpOnly"] is True
    assert cookies["paceboard_session"]["sameSite"] == "Lax"
    assert "paceboard_session" not in page.evaluate("document.cookie")

    page.click("#sign-out button[type=submit]")
    page.wait_for_url(re.compile(r"/login\?lang=en$"))
    with console.excuse(REFUSED):
        again = page.goto(f"{floor.url}/lead")
        assert again is not None and again.status == 401


def test_the_first_admin_is_created_through_the_printed_setup_link(
    new_page, live_server, console, screenshot
):
    live_server.start()
    found = re.search(r"first admin within 24 hours: (\S+)", live_server.log.read_text())
    assert found, live_server.log.read_text()
    page = new_page("setup", width=1280, height=900)
    resp = page.goto(found.group(1))
    assert resp is not None and resp.status == 200
    page.fill("#username", "boss")
    page.fill("#password", PASSWORD)
    page.fill("#password2", PASSWORD)
    screenshot(page, "form")
    page.click("#setup-form button[type=submit]")
    page.wait_for_url(re.compile(r"/admin$"))  # where the first day's checklist is
    screenshot(page, "admin")
    page.goto(f"{live_server.url}/lead")
    page.wait_for_selector(LIVE, state="attached", timeout=15_000)
    assert "boss" in page.inner_text("#sign-out")
    screenshot(page, "console")
    with console.excuse(REFUSED):
        used = page.goto(found.group(1))
        assert used is not None and used.status == 403


def test_a_signed_in_lead_sets_a_reps_target_from_the_console(new_page, lead_floor, screenshot):
    floor = lead_floor
    page = lead_console(new_page, floor)
    form = page.locator("#rep-target")
    form.wait_for(state="visible", timeout=5_000)
    assert form.locator("input[name=value]").input_value() == "300"  # the floor's default
    form.locator("input[name=value]").fill("280")
    form.locator("button[type=submit]").click()
    page.wait_for_selector('#rep-target .att-result[data-ok="true"]', timeout=5_000)
    # The board reads the floor again: the rep's dials target is now 280 (in the tooltip).
    page.wait_for_function(
        "sel => (document.querySelector(sel)?.title || '').includes('280')",
        arg=f'#team-body tr[data-rep="{REP}"] td[data-pace="dials"]',
        timeout=5_000,
    )
    changes = floor.api("GET", "/api/v1/targets/changes", "admin").json()
    assert [(c["rep"], c["value"], c["set_by"]) for c in changes] == [(REP, 280, "lead1")]
    screenshot(page, "rep-target")


def test_a_lead_marks_yesterdays_plan_done_in_the_console(new_page, lead_floor, screenshot):
    from datetime import date, timedelta

    floor = lead_floor
    today = floor.api("GET", "/api/v1/floor/snapshot", "admin").json()["day"]
    yesterday = (date.fromisoformat(today) - timedelta(days=1)).isoformat()
    plan = {"problem": "通时不足", "plan": "每通多问一个问题"}
    resp = floor.api("PUT", f"/api/v1/plans/{REP}/{yesterday}", "admin", json=plan)
    assert resp.status_code == 200, resp.text
    page = lead_console(new_page, floor)
    box = page.locator("#last-plan")
    box.wait_for(state="visible", timeout=5_000)
    assert "每通多问一个问题" in box.inner_text()
    assert page.get_attribute("#last-plan .plan-status", "data-plan-status") == "open"
    box.locator('button[data-done="true"]').click()
    page.wait_for_selector('#last-plan .plan-status[data-plan-status="done"]', timeout=5_000)
    listed = floor.api("GET", "/api/v1/plans", "admin", params={"first": yesterday}).json()
    assert [(p["done"], p["followed_by"]) for p in listed] == [(True, "lead1")]
    screenshot(page, "plan-done")


def test_a_lead_pins_a_mentor_from_the_console_and_the_pair_shows_pinned(
    new_page, lead_floor, screenshot
):
    floor = lead_floor
    mentor = {"code": "8002", "name": "赵敏", "team": TEAM}
    assert floor.api("POST", "/api/v1/reps", "admin", json=mentor).status_code == 201
    page = lead_console(new_page, floor)
    form = page.locator("#rep-mentor")
    form.wait_for(state="visible", timeout=5_000)
    form.locator("select").select_option("8002")
    form.locator("button[type=submit]").click()
    page.wait_for_selector('#rep-mentor .att-result[data-ok="true"]', timeout=5_000)
    pair = f'#mentoring li[data-mentee="{REP}"][data-mentor="8002"][data-pinned="true"]'
    page.wait_for_selector(pair, state="attached", timeout=5_000)
    screenshot(page, "mentor")


# --- first day: the front door, refusals that say what to do, labels (issue 20) ---------------


def test_a_read_token_on_the_console_says_what_it_needs_and_sign_in_comes_back_to_it(
    new_page, lead_floor, console, screenshot
):
    floor = lead_floor
    page = new_page("refused-read-token", width=1280, height=800)
    with console.excuse(REFUSED):
        resp = page.goto(f"{floor.url}/lead?token={floor.tokens['read']}&lang=en")
        assert resp is not None and resp.status == 403
    assert page.inner_text("#refusal-need") == "The lead console is for signed-in leads and admins."
    assert "sign in instead" in page.inner_text("#refusal-reason")
    assert floor.tokens["read"] not in page.content()
    assert page.is_visible("#sign-in")
    screenshot(page, "refused")
    page.click("#sign-in")
    page.wait_for_url(re.compile(r"/login\?"))
    assert floor.tokens["read"] not in page.url
    sign_in(page, "lead1", PASSWORD)
    page.wait_for_url(re.compile(r"/lead\?lang=en$"))
    page.wait_for_selector(LIVE, state="attached", timeout=15_000)
    assert "lead1" in page.inner_text("#sign-out")
    screenshot(page, "console")


def test_the_front_door_leads_to_sign_in_and_then_to_the_leads_console(
    new_page, lead_floor, screenshot
):
    floor = lead_floor
    page = new_page("front-door", width=1280, height=800)
    page.goto(f"{floor.url}/?lang=en")
    page.wait_for_url(re.compile(r"/login\?lang=en$"))
    assert page.title().startswith("Sign in")
    sign_in(page, "lead1", PASSWORD)  # no next: a lead's own page
    page.wait_for_url(re.compile(r"/lead\?lang=en$"))
    page.wait_for_selector(LIVE, state="attached", timeout=15_000)
    page.goto(f"{floor.url}/")  # signed in, the front door opens the console
    page.wait_for_url(re.compile(r"/lead$"))
    screenshot(page, "console")


def funnel_labels(page: Any) -> list[str]:
    page.wait_for_selector("#funnel .label", state="attached", timeout=5_000)
    return page.locator("#funnel .label").all_inner_texts()


def test_the_console_names_average_order_value_kedanjia(new_page, lead_floor, screenshot):
    page = lead_console(new_page, lead_floor)
    labels = funnel_labels(page)
    assert "客单价" in labels and not any("件均" in t for t in labels)
    screenshot(page, "funnel")


@pytest.fixture
def renamed_floor(server_env, request) -> Floor:
    """lead_floor on a server whose floor has labels of its own (PACEBOARD_LABELS)."""
    server_env["PACEBOARD_LABELS"] = "avg_order_value=件单价/value per sale,dials=外呼量/Calls"
    return request.getfixturevalue("lead_floor")


def test_a_floors_own_labels_reach_the_consoles_script(new_page, renamed_floor, screenshot):
    page = lead_console(new_page, renamed_floor)
    labels = funnel_labels(page)  # drawn by lead.js with makeI18n
    assert "件单价" in labels and "外呼量" in labels and "客单价" not in labels
    screenshot(page, "funnel")
