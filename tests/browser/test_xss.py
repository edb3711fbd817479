"""Names are text, never markup: a rep named like an XSS payload, in a team named like HTML, shows
as those literal characters on the wallboard and the lead console in a real Chromium, and nothing
runs (no element made from it, no dialog, no console error)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.test_wallboard import LIVE, Floor
from tests.conftest import midday_zone

pytestmark = pytest.mark.e2e

REP_CODE = "x001"
REP_NAME = "<img src=x onerror=alert(1)>"
TEAM_NAME = "<b>x</b>"
PAGES = ("/wallboard", "/lead")


@pytest.fixture
def floor(live_server, server_env) -> Floor:
    server_env["PACEBOARD_TIMEZONE"] = midday_zone()
    live_server.start()
    floor = Floor(live_server)
    resp = floor.api("POST", "/api/v1/teams", "admin", json={"name": TEAM_NAME})
    assert resp.status_code == 201, resp.text
    rep = {"code": REP_CODE, "name": REP_NAME, "team": TEAM_NAME}
    resp = floor.api("POST", "/api/v1/reps", "admin", json=rep)
    assert resp.status_code == 201, resp.text
    assert resp.json()["name"] == REP_NAME  # stored as given, escaped only where shown
    floor.post_call(REP_CODE)  # the sale comes once the page is live, so its banner shows
    return floor


@pytest.mark.parametrize("path", PAGES)
def test_a_name_made_of_markup_is_shown_as_text(new_page, floor, screenshot, path: str):
    page = new_page(path.strip("/"))
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    resp = page.goto(floor.page_url(path))
    assert resp is not None and resp.status == 200
    page.wait_for_selector(LIVE, state="attached", timeout=15_000)
    row = page.locator(f'[data-rep="{REP_CODE}"]').first
    row.wait_for(state="attached", timeout=5_000)

    # The page shows the characters themselves.
    page.wait_for_function(
        "name => document.body.innerText.includes(name)", arg=REP_NAME, timeout=5_000
    )
    assert REP_NAME in page.locator("body").inner_text()
    if path == "/lead":
        assert REP_NAME in row.inner_text()
        page.wait_for_function(
            "name => document.body.innerText.includes(name)", arg=TEAM_NAME, timeout=5_000
        )
    # A sale is celebrated with the rep's name: that banner is text too. Posted now that the
    # page is live, so the banner is really rendered (the wallboard has it; the console shows
    # the sale in its row).
    floor.post_call(REP_CODE, outcome="sale", order_value="10.00")
    if path == "/wallboard":
        page.wait_for_selector("#celebrate:not([hidden])", timeout=5_000)
        assert page.inner_text("#celebrate-name") == REP_NAME
        assert page.inner_text("#celebrate-team") == TEAM_NAME
    else:
        orders = f'#team-body tr[data-rep="{REP_CODE}"] td[data-metric="orders"]'
        page.wait_for_function(
            "sel => document.querySelector(sel)?.innerText.trim() === '1'",
            arg=orders,
            timeout=5_000,
        )
    screenshot(page, "names")

    # Nothing was made of them: no image pointing at "x", no <b> holding "x", no script ran.
    assert page.locator('img[src="x"]').count() == 0
    assert (
        page.evaluate(
            "() => [...document.querySelectorAll('img')].filter(i => i.getAttribute('src') === 'x')"
            ".length"
        )
        == 0
    )
    assert (
        page.evaluate(
            "() => [...document.querySelectorAll('b')].filter(b => b.textContent === 'x').length"
        )
        == 0
    )
    assert page.evaluate("() => document.querySelectorAll('[onerror]').length") == 0
    assert dialogs == []
    # Console errors and uncaught exceptions fail the test through tests/browser/conftest.py.
