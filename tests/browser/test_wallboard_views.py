"""The wallboard's rotating views (views.js) in Chromium against a real ``paceboard serve``:
leaderboards of today, this week and this month, the team PK table and the rep × hour heatmap,
from calls posted over the API; the rotation, a pin, live updates, and their fit on the screen
(read from element boxes)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from app.db import make_engine, session_scope
from app.floor.pacing import period_days
from app.services.displays import create_display
from tests.conftest import midday_zone, new_token, record

pytestmark = pytest.mark.e2e

TEAM_A, TEAM_B = "一组", "二组"
ROSTER = {"a1": ("安娜", TEAM_A), "a2": ("阿伟", TEAM_A), "b1": ("白雪", TEAM_B)}
LIVE = '#conn[data-state="live"]'
HOST = "#views"


class Floor:
    """The running server in a zone where it is about noon, calling 09:00–18:00 every day."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.url = server.url
        self.tz = ZoneInfo(server.env["PACEBOARD_TIMEZONE"])
        # Made in this process, not with the CLI: three commands would cost seconds a test.
        self.engine = make_engine(server.env["PACEBOARD_DATABASE_URL"])
        self.tokens = {s: new_token(self.engine, s) for s in ("read", "ingest", "admin")}
        self.calls = 0

    def api(self, method: str, path: str, scope: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[scope]}"}
        return httpx.request(method, self.url + path, headers=headers, timeout=10, **kw)

    def add_rep(self, code: str, name: str, team: str) -> None:
        resp = self.api(
            "POST", "/api/v1/reps", "admin", json={"code": code, "name": name, "team": team}
        )
        assert resp.status_code == 201, resp.text

    def post(self, rep: str, *, days_ago: int = 0, yuan: int = 0, **kw: Any) -> datetime:
        """One call of ``rep`` started two seconds ago (``days_ago`` days earlier), a sale of
        ``yuan`` when given; returns its start."""
        self.calls += 1
        started = datetime.now(UTC) - timedelta(days=days_ago, seconds=2)
        if yuan:
            kw |= {"outcome": "sale", "order_value": str(yuan)}
        rec = record(f"views-{self.calls}", rep=rep, started_at=started.isoformat(), **kw)
        resp = self.api("POST", "/api/v1/calls", "ingest", json=rec)
        assert resp.status_code == 200 and resp.json()["created"] == 1, resp.text
        return started

    def today(self) -> date:
        return datetime.now(self.tz).date()

    def page_url(self, query: str = "", *, credential: str | None = None) -> str:
        cred = credential or f"token={self.tokens['read']}"
        return f"{self.url}/wallboard?{cred}" + (f"&{query}" if query else "")

    def display(self, *teams: str, settings: dict[str, Any] | None = None) -> str:
        """A new display link's secret for ``teams`` (none: the floor), shown as ``settings``
        say (None: a link without settings)."""
        with session_scope(self.engine) as session:
            return create_display(session, name="TV", teams=list(teams), settings=settings)[1]


@pytest.fixture
def floor(live_server, server_env) -> Iterator[Floor]:
    server_env.update(
        PACEBOARD_TIMEZONE=midday_zone(),
        PACEBOARD_WORKING_DAYS="mon-sun",
        PACEBOARD_CALLING_WINDOWS="09:00-18:00",
    )
    live_server.start()
    f = Floor(live_server)
    for team in (TEAM_A, TEAM_B):
        assert f.api("POST", "/api/v1/teams", "admin", json={"name": team}).status_code == 201
    for code, (name, team) in ROSTER.items():
        f.add_rep(code, name, team)
    # A day target of dials: every calling hour has its share (the heatmap's colours).
    target = {"metric": "dials", "period": "day", "value": 90}
    assert f.api("PUT", "/api/v1/targets", "admin", json=target).status_code == 200
    yield f
    f.engine.dispose()


def posted_floor(floor: Floor) -> dict[str, dict[str, int]]:
    """Sales today, yesterday and eight days ago; returns the revenue (minor units) each rep
    should have today, this week and this month, by the floor's own calendar."""
    today = floor.today()
    sales = [  # (rep, days ago, yuan)
        ("a1", 0, 300),
        ("a1", 0, 200),
        ("a2", 0, 800),
        ("b1", 0, 100),
        ("b1", 1, 2000),
        ("a1", 8, 5000),
    ]
    for rep, ago, yuan in sales:
        floor.post(rep, days_ago=ago, yuan=yuan)
    floor.post("b1")  # a dial that sold nothing
    out: dict[str, dict[str, int]] = {p: dict.fromkeys(ROSTER, 0) for p in ("day", "week", "month")}
    for period in out:
        first, last = period_days(period, today)
        for rep, ago, yuan in sales:
            if first <= today - timedelta(days=ago) <= last:
                out[period][rep] += yuan * 100
    return out


def open_board(page: Any, url: str, view: str | None = None) -> None:
    resp = page.goto(url)
    assert resp is not None and resp.status == 200, f"{url}: HTTP {resp and resp.status}"
    page.wait_for_selector(LIVE, state="attached", timeout=15_000)
    if view:
        page.wait_for_selector(f'body[data-view="{view}"]', state="attached", timeout=10_000)


def values(page: Any, view: str, key: str) -> dict[str, int]:
    """``{rep code or team name: data-value}`` of the view's rows on screen."""
    return page.eval_on_selector_all(
        f'{HOST} [data-view="{view}"] [{key}]',
        """(rows, key) => Object.fromEntries(rows.map((r) => {
             const v = r.querySelector('[data-metric]');
             return [r.getAttribute(key), v ? Number(v.dataset.value) : null];
           }))""",
        key,
    )


def wait_values(page: Any, view: str, key: str, want: dict[str, int], timeout_s: float = 5) -> None:
    deadline = time.monotonic() + timeout_s
    got: dict[str, int] = {}
    while time.monotonic() < deadline:
        got = values(page, view, key)
        if got == want:
            return
        time.sleep(0.1)
    raise AssertionError(f"{view} {key}: want {want}, the page shows {got}")


def ranks(page: Any, view: str, key: str) -> list[tuple[str, int]]:
    return [
        tuple(r)
        for r in page.eval_on_selector_all(
            f'{HOST} [data-view="{view}"] .vw-list > [{key}]',
            "(rows, key) => rows.map((r) => [r.getAttribute(key), Number(r.dataset.rank)])",
            key,
        )
    ]


def title(page: Any) -> str:
    return page.eval_on_selector(
        f"{HOST} .vw-title", "t => [...t.children].map((c) => c.textContent).join(' ')"
    )


# --- what each view shows ------------------------------------------------------------------------


def test_each_view_shows_the_figures_of_the_posted_calls(new_page, floor, screenshot):
    want = posted_floor(floor)
    page = new_page("views")

    open_board(page, floor.page_url("views=live,today&pin=today"), "today")
    wait_values(page, "today", "data-rep", want["day"])
    assert ranks(page, "today", "data-rep") == [("a2", 1), ("a1", 2), ("b1", 3)]
    wait_values(page, "today", "data-team", {TEAM_A: 130000, TEAM_B: 10000})
    assert page.get_attribute(f'{HOST} [data-team="{TEAM_A}"]', "data-leader") == "true"
    assert title(page) == "今日排行 · 业绩"
    assert page.is_hidden("main") and page.is_visible(HOST)
    screenshot(page, "today")

    for period in ("week", "month"):
        open_board(page, floor.page_url(f"pin={period}"), period)
        wait_values(page, period, "data-rep", want[period])
        teams = {
            TEAM_A: want[period]["a1"] + want[period]["a2"],
            TEAM_B: want[period]["b1"],
        }
        wait_values(page, period, "data-team", teams)
        first, last = period_days(period, floor.today())
        label = page.inner_text(f"{HOST} .vw-range")
        assert f"{first.month}月{first.day}日" in label and f"{last.month}月{last.day}日" in label
        assert title(page) == {"week": "本周排行 · 业绩", "month": "本月排行 · 业绩"}[period]
        screenshot(page, period)

    open_board(page, floor.page_url("pin=pk"), "pk")
    page.wait_for_selector(f'{HOST} .vw-pk-row[data-team="{TEAM_B}"]', state="attached")
    rows = page.eval_on_selector_all(
        f"{HOST} .vw-pk-row[data-team]",
        """(rows) => rows.map((r) => [r.dataset.team, r.dataset.rank, r.dataset.leader || "",
             ...["revenue", "orders", "dials"].map(
               (m) => Number(r.querySelector(`[data-metric="${m}"]`).dataset.value))])""",
    )
    # 一组: a1 two sales and a2 one (¥1,300); 二组: b1's sale and a dial (today's only).
    assert rows == [[TEAM_A, "1", "true", 130000, 3, 3], [TEAM_B, "2", "", 10000, 1, 2]]
    assert page.inner_text(f'{HOST} [data-team="{TEAM_A}"] .vw-crown') == "领先"
    screenshot(page, "pk")

    open_board(page, floor.page_url("pin=heatmap"), "heatmap")
    page.wait_for_selector(f'{HOST} [data-rep="b1"] .vw-cell', state="attached")
    before = datetime.now(floor.tz).hour
    cells = page.eval_on_selector_all(
        f'{HOST} [data-rep="b1"] .vw-cell',
        "cs => cs.map((c) => [Number(c.dataset.hour), Number(c.dataset.value), c.dataset.when])",
    )
    after = datetime.now(floor.tz).hour
    # Hours 09–17 are the calling hours: one column each; b1's two dials of today in this one
    # (or, had the hour turned meanwhile, the one before), the later hours still to come.
    assert [h for h, _, _ in cells] == list(range(9, 18))
    assert sum(v for _, v, _ in cells) == 2
    [now] = [h for h, _, when in cells if when == "now"]
    assert before <= now <= after
    assert {when for h, _, when in cells if h > now} <= {"future"}
    assert dict((h, v) for h, v, _ in cells)[now] in (1, 2)
    # An hour before this one with no dials is red against its share of the day's 90 dials.
    assert (
        page.get_attribute(f'{HOST} [data-rep="a2"] .vw-cell[data-hour="9"]', "data-status")
        == "red"
    )
    assert title(page) == "今日时段热力图 · 通次"
    screenshot(page, "heatmap")


def test_the_week_leaderboard_in_english_ranks_by_the_metric_asked_for(new_page, floor):
    posted_floor(floor)
    page = new_page("en")
    open_board(page, floor.page_url("lang=en&pin=week&metric=orders"), "week")
    today = floor.today()
    first, _ = period_days("week", today)
    orders = {"a1": 2, "a2": 1, "b1": 1 + (today - timedelta(days=1) >= first)}
    wait_values(page, "week", "data-rep", orders)
    assert title(page) == "This week's leaders · Orders"
    assert page.get_attribute(f'{HOST} [data-rep="a1"] [data-metric]', "data-metric") == "orders"


def test_a_team_tv_shows_its_own_reps_and_every_teams_figure(new_page, floor):
    want = posted_floor(floor)
    secret = floor.display(TEAM_A)
    page = new_page("team-tv")
    open_board(page, floor.page_url("pin=week", credential=f"display={secret}"), "week")
    wait_values(page, "week", "data-rep", {"a1": want["week"]["a1"], "a2": want["week"]["a2"]})
    wait_values(
        page,
        "week",
        "data-team",
        {TEAM_A: want["week"]["a1"] + want["week"]["a2"], TEAM_B: want["week"]["b1"]},
    )


def test_a_display_links_own_settings_choose_its_views_and_the_url_overrides_them(new_page, floor):
    posted_floor(floor)
    shown = {"views": ["pk", "week"], "rotate_seconds": 5, "pin": "pk", "metric": "orders"}
    secret = floor.display(settings=shown)
    page = new_page("link-settings")
    link = f"display={secret}"
    open_board(page, floor.page_url(credential=link), "pk")
    assert title(page) == "小组PK · 单数"
    assert page.get_attribute(f'{HOST} [data-team="{TEAM_A}"]', "data-leader") == "true"
    open_board(page, floor.page_url("pin=week&metric=dials", credential=link), "week")
    assert title(page) == "本周排行 · 通次"


# --- rotation and pinning ----------------------------------------------------------------------

SEEN_JS = """
() => {
  window.__seen = [document.body.dataset.view];
  new MutationObserver(() => {
    const v = document.body.dataset.view;
    if (window.__seen[window.__seen.length - 1] !== v) window.__seen.push(v);
  }).observe(document.body, { attributes: true, attributeFilter: ["data-view"] });
}
"""


ON_SCREEN_JS = """
(view) => {
  if (document.body.dataset.view !== view) return false;
  const host = document.querySelector("#views");
  const shown = (node) => getComputedStyle(node).display !== "none";
  return {
    main: shown(document.querySelector("main")),
    host: shown(host),
    steps: [...host.querySelectorAll(".vw-step")].map((d) => d.dataset.step),
    on: host.querySelector(".vw-step.on")?.dataset.step ?? null,
    title: [...host.querySelectorAll(".vw-title > span")].map((s) => s.textContent).join(" "),
  };
}
"""


def on_screen(page: Any, view: str) -> dict[str, Any]:
    """What the page shows the moment ``view`` comes up (read at once: the rotation is quick)."""
    return page.wait_for_function(ON_SCREEN_JS, arg=view, timeout=10_000).json_value()


def test_views_rotate_on_the_schedule_in_the_order_given(new_page, floor, screenshot):
    want = posted_floor(floor)
    page = new_page("rotation")
    # Unknown names are left out quietly (and the page logs no error for them).
    open_board(page, floor.page_url("views=live,bogus,week,pk&rotate=0.7&metric=nonsense"))
    page.evaluate(SEEN_JS)
    page.wait_for_function("() => window.__seen.length >= 5", timeout=10_000)
    seen = page.evaluate("window.__seen")
    cycle = ["live", "week", "pk"]
    start = cycle.index(seen[0])
    assert seen[:5] == [cycle[(start + i) % 3] for i in range(5)], seen
    # The live board and a view take turns; the rotation shows where it is.
    week = on_screen(page, "week")
    assert (week["main"], week["host"]) == (False, True)
    assert (week["steps"], week["on"]) == (cycle, "week")
    assert week["title"] == "本周排行 · 业绩"  # the default metric: "nonsense" is ignored
    screenshot(page, "week-in-rotation")
    live = on_screen(page, "live")
    assert (live["main"], live["host"]) == (True, False)
    # The week is read again each time it comes into view: a sale made meanwhile is on it.
    floor.post("b1", yuan=700)
    expected = want["week"] | {"b1": want["week"]["b1"] + 70000}
    wait_values(page, "week", "data-rep", expected, timeout_s=8)


def test_a_pinned_view_stays_on_screen(new_page, floor):
    posted_floor(floor)
    page = new_page("pinned")
    open_board(page, floor.page_url("views=live,week,pk&rotate=0.3&pin=heatmap"), "heatmap")
    page.evaluate(SEEN_JS)
    time.sleep(2.0)  # more than six turns of the rotation it would otherwise have
    assert page.evaluate("window.__seen") == ["heatmap"]
    assert page.is_hidden("main")


def test_without_settings_the_live_board_is_all_there_is(new_page, floor):
    page = new_page("default")
    open_board(page, floor.page_url())
    page.evaluate(SEEN_JS)
    time.sleep(1.0)
    assert page.evaluate("window.__seen") == ["live"]
    assert page.is_visible("main") and page.is_hidden(HOST)
    assert page.eval_on_selector(HOST, "h => h.children.length") == 0


# --- live -------------------------------------------------------------------------------------


def test_the_heatmap_and_todays_board_follow_posted_calls_live(new_page, floor):
    page = new_page("live-heat")
    open_board(page, floor.page_url("pin=heatmap"), "heatmap")
    started = floor.post("a1")
    hour = started.astimezone(floor.tz).hour
    cell = f'{HOST} [data-rep="a1"] .vw-cell[data-hour="{hour}"]'
    page.wait_for_function(
        "(s) => document.querySelector(s)?.dataset.value === '1'", arg=cell, timeout=3000
    )
    loaded = page.evaluate("performance.timeOrigin")
    floor.post("a1")
    page.wait_for_function(
        "(s) => document.querySelector(s)?.dataset.value === '2'", arg=cell, timeout=3000
    )
    total = f'{HOST} [data-rep="a1"] .vw-col[data-metric="dials"]'
    assert page.get_attribute(total, "data-value") == "2"
    assert page.evaluate("performance.timeOrigin") == loaded, "the page reloaded"

    open_board(page, floor.page_url("pin=today"), "today")
    floor.post("b1", yuan=450)
    wait_values(page, "today", "data-rep", {"a1": 0, "a2": 0, "b1": 45000}, timeout_s=3)


# --- fit --------------------------------------------------------------------------------------

FIT_JS = """
() => {
  const host = document.querySelector('#views');
  const hb = host.getBoundingClientRect();
  const vw = window.innerWidth, vh = window.innerHeight;
  const problems = [];
  const inside = (b, o) =>
    b.left >= o.left - 1 && b.right <= o.right + 1 &&
    b.top >= o.top - 1 && b.bottom <= o.bottom + 1;
  const screen = { left: 0, top: 0, right: vw, bottom: vh };
  if (!inside(hb, screen)) problems.push(`host ${JSON.stringify(hb)}`);
  for (const row of host.querySelectorAll('.vw-list > .vw-row')) {
    const rb = row.getBoundingClientRect();
    const list = row.parentElement.getBoundingClientRect();
    const who = row.dataset.rep || row.dataset.team;
    if (!inside(rb, list)) problems.push(`row ${who} outside its list`);
    for (const cell of row.children) {
      const cb = cell.getBoundingClientRect();
      if (cb.width && !inside(cb, rb)) problems.push(`cell of ${who} outside its row`);
      for (const t of [cell, ...cell.querySelectorAll('*')]) {
        if (t.scrollWidth > t.clientWidth + 1 && getComputedStyle(t).overflow !== 'visible') {
          problems.push(`clipped: "${t.textContent}" in ${who}`);
        }
      }
    }
  }
  for (const node of host.querySelectorAll('.vw-head, .vw-title, .vw-legend')) {
    const b = node.getBoundingClientRect();
    if (!inside(b, hb)) problems.push(`${node.className} outside the view`);
    if (node.scrollWidth > node.clientWidth + 1) problems.push(`${node.className} clipped`);
  }
  const figure = host.querySelector('.vw-list > .vw-row [data-value]');
  return { problems, font: figure ? parseFloat(getComputedStyle(figure).fontSize) : 0 };
}
"""


def crowded_floor(floor: Floor, n: int = 24) -> set[str]:
    """``n`` more reps in team A, each with a dial (and some with a sale): more than fit."""
    codes = set()
    for i in range(n):
        code = f"x{i:02d}"
        floor.add_rep(code, f"新人{i:02d}号", TEAM_A)
        floor.post(code, yuan=(i * 137) % 900 + 1 if i % 3 else 0)
        codes.add(code)
    return codes | set(ROSTER)


def seen_reps(page: Any, view: str, every: set[str], timeout_s: float = 20) -> set[str]:
    """Rep codes the view puts on screen over its pages (its pages turn by themselves)."""
    seen: set[str] = set()
    pages: set[str] = set()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not seen >= every:
        seen |= set(
            page.eval_on_selector_all(
                f'{HOST} [data-view="{view}"] .vw-list > [data-rep]',
                "rs => rs.map((r) => r.dataset.rep)",
            )
        )
        pages.add(page.get_attribute(f"{HOST} .vw-page", "data-pages") or "1")
        time.sleep(0.1)
    return seen


@pytest.mark.parametrize(("width", "height"), [(1366, 768), (3840, 2160)])
def test_views_fit_the_screen_and_page_through_every_rep(
    new_page, floor, screenshot, width, height
):
    every = crowded_floor(floor)
    page = new_page(f"fit-{width}", width=width, height=height)
    fonts = {}
    for view in ("today", "week", "pk", "heatmap"):
        open_board(page, floor.page_url(f"pin={view}&rotate=1"), view)
        page.wait_for_selector(f"{HOST} .vw-list > .vw-row", state="attached")
        got = page.evaluate(FIT_JS)
        assert not got["problems"], (view, got["problems"][:10])
        fonts[view] = got["font"]
        screenshot(page, f"{view}-{width}x{height}")
        if view != "pk":
            pages = int(page.get_attribute(f"{HOST} .vw-page", "data-pages"))
            assert pages > 1, f"{view}: {len(every)} reps on one page at {width}×{height}"
            assert seen_reps(page, view, every) == every, view
            # A later page fits as well as the first.
            got = page.evaluate(FIT_JS)
            assert not got["problems"], (view, "later page", got["problems"][:10])
    # Figures are read from five metres: at least 1/30 of the screen's height, as the live board's.
    for view, px in fonts.items():
        assert px >= height / 30, (view, px)
