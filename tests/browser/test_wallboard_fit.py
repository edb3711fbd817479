"""The wallboard on every screen, in Chromium against a real ``paceboard serve``: it fits from
1280×720 to 4K and a portrait TV (checked from element boxes), pages through a team longer than
the screen and through everyone behind, says so when its figures stop updating, and every
percentage and colour tells the truth about the figure it stands beside.

The floor is posted through the real API: teams of named reps with a morning of calls, sales,
invites, agent states, a half day and a new hire (:func:`seed`).
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from app.db import make_engine, session_scope
from app.services.displays import create_display
from tests.browser.test_wallboard import LIVE, SERVER_DOWN_ERRORS, Floor, open_floor, open_live
from tests.conftest import record

pytestmark = pytest.mark.e2e

# (width, height): the common TVs, 4K and a portrait screen.
SIZES = [(1280, 720), (1366, 768), (1920, 1080), (3840, 2160), (1080, 1920)]
ROTATE_MS = 1500  # ?rotate_ms=: a page every 1.5 s instead of 20 s

# Every box on the board against its block, the screen and its neighbours; every text box
# against its own width. Returns {problems: [...], fonts: {kind: [px…]}, …}.
GEOMETRY_JS = r"""
() => {
  const problems = [];
  const vw = window.innerWidth;
  const vh = window.innerHeight;
  const rect = (el) => el.getBoundingClientRect();
  const shown = (el) => {
    if (el.closest("[hidden]")) return false;
    const r = rect(el);
    const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== "hidden" && s.display !== "none";
  };
  const label = (el) => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += "#" + el.id;
    const cls = typeof el.className === "string" ? el.className.trim() : "";
    if (cls) s += "." + cls.split(/\s+/).join(".");
    for (const k of ["rep", "metric", "kpi", "pace", "team"]) {
      if (el.dataset && el.dataset[k]) s += `[${k}=${el.dataset[k]}]`;
    }
    const row = el.closest("tr[data-rep], tr[data-team], li[data-rep], .kpi");
    if (row && row !== el) s = label(row) + " " + s;
    const text = (el.textContent || "").replace(/\s+/g, " ").trim().slice(0, 24);
    const block = row === el || el.matches(".panel, .kpi, .wb-head, tr");
    return !text || block ? s : `${s} "${text}"`;
  };
  const within = (a, b, tol = 1) =>
    a.left >= b.left - tol && a.right <= b.right + tol &&
    a.top >= b.top - tol && a.bottom <= b.bottom + tol;
  const overlap = (a, b, tol = 1) =>
    Math.min(a.right, b.right) - Math.max(a.left, b.left) > tol &&
    Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > tol;
  const all = (sel, root = document) => [...root.querySelectorAll(sel)].filter(shown);
  const pairs = (els, what) => {
    for (let i = 0; i < els.length; i++) {
      for (let j = i + 1; j < els.length; j++) {
        if (!overlap(rect(els[i]), rect(els[j]))) continue;
        problems.push(`${what}: ${label(els[i])} overlaps ${label(els[j])}`);
      }
    }
  };
  const screen = { left: 0, top: 0, right: vw, bottom: vh };

  // The blocks: on the screen, apart from each other.
  const blocks = all(".wb-head, .kpi, .panel");
  for (const b of blocks) {
    if (!within(rect(b), screen)) problems.push(`${label(b)} leaves the screen`);
  }
  pairs(blocks, "blocks");
  pairs(all(".wb-head > *"), "header");

  // Everything in a block stays inside it.
  const items = all([
    ".wb-head > *", ".state-count", ".kpi > *", ".kpi-sub > span", ".panel h2", ".panel h2 > *",
    "#board th", "#board-body tr", "#board-body td", "#board-body td > *",
    "#board-body .agent-state > *", ".teams th", ".teams td", ".teams tbody tr",
    "#behind-list li", "#behind-list li > *", "#behind-list .why > *", "#chart .main-svg",
  ].join(", "));
  for (const el of items) {
    const box = el.closest(".kpi, .panel, .wb-head");
    if (box && !within(rect(el), rect(box))) {
      problems.push(`${label(el)} sticks out of ${label(box)}`);
    }
    if (!within(rect(el), screen)) problems.push(`${label(el)} leaves the screen`);
  }
  // Text is never cut: nothing wider or taller than its box (an ellipsis, a clipped "44 mi").
  const texts = all([
    ".wb-head > *", ".kpi-label", ".kpi-value", ".kpi-pace", ".kpi-sub", ".panel h2",
    "#board th", "#board-body td", ".teams th", ".teams td", "#behind-list li",
    "#behind-list li > *",
  ].join(", "));
  for (const el of texts) {
    if (el.scrollWidth > el.clientWidth + 1) {
      problems.push(`${label(el)} is cut sideways (${el.scrollWidth} > ${el.clientWidth})`);
    }
    const clips = getComputedStyle(el).overflowY !== "visible";
    if (clips && el.scrollHeight > el.clientHeight + 1) {
      problems.push(`${label(el)} is cut at the bottom (${el.scrollHeight} > ${el.clientHeight})`);
    }
    if (/…$/.test((el.textContent || "").trim())) problems.push(`${label(el)} ends in …`);
  }
  // Neighbours do not overlap: cells of a row, rows of a table, parts of a tile or an entry.
  for (const row of all("#board-body tr, .teams tbody tr")) pairs(all(":scope > *", row), "cells");
  pairs(all("#board-body tr"), "rows");
  pairs(all(".teams tbody tr"), "team rows");
  for (const kpi of all(".kpi")) pairs(all(":scope > *", kpi), "tile");
  pairs(all("#behind-list li"), "behind");
  for (const li of all("#behind-list li")) pairs(all(":scope > *", li), "behind entry");
  for (const cell of all("#board-body td.state")) pairs(all(".agent-state > *", cell), "state");

  const font = (sel) => all(sel).map((el) => parseFloat(getComputedStyle(el).fontSize));
  const chart = document.querySelector("#chart .main-svg");
  return {
    problems,
    fonts: {
      kpi_value: font(".kpi-value"),
      kpi_pace: font(".kpi-pace"),
      board: font("#board-body td[data-metric], #board-body td.pace, #board-body td.rank"),
      teams: font(".teams td[data-metric], .teams td.pace"),
      behind: font("#behind-list [data-pace]"),
      clock: font("#clock"),
      head: font(".wb-head .brand"),
    },
    rows: all("#board-body tr[data-rep]").length,
    behind: all("#behind-list li[data-rep]").length,
    chart: chart ? [rect(chart).width, rect(chart).height] : null,
  };
}
"""

# Rows, tiles and the chart drawn at its panel's size (the page redraws it at most once a second).
DRAWN_JS = """
() => {
  const chart = document.querySelector("#chart");
  const svg = chart.querySelector(".main-svg");
  return document.querySelector("#board-body tr[data-rep]") !== null
    && document.querySelector("#kpis .kpi") !== null
    && svg !== null && svg.getBoundingClientRect().height <= chart.clientHeight + 1
    && svg.getBoundingClientRect().width <= chart.clientWidth + 1;
}
"""


@pytest.fixture
def tv_floor(live_server, server_env) -> Floor:
    """A floor at midday in its zone that works every day: paces count whatever the weekday."""
    return open_floor(live_server, server_env, PACEBOARD_WORKING_DAYS="mon-sun")


# --- a busy floor ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Rep:
    code: str
    name: str
    team: str
    dials: int  # this morning's
    talk: int  # talk seconds this morning
    sales: tuple[int, ...] = ()  # order values in yuan
    invites: int = 0


NAMES = (
    "王芳", "李强", "张伟", "刘洋", "陈静", "杨磊", "赵敏", "黄勇", "周婷", "吴昊", "徐丽", "孙杰",
    "胡娟", "朱峰", "高霞", "林涛", "何琳", "郭斌", "马超", "罗雪", "梁晨", "宋佳", "郑凯", "谢薇",
    "欧阳娜娜", "司马建国", "沈冰", "韩梅", "唐宁", "冯雷", "曹颖", "许诺",
)  # fmt: skip


def floor_reps() -> list[Rep]:
    """Three teams of eight, from well ahead to far behind, some with sales and invites."""
    dials = (150, 130, 110, 95, 75, 60, 45, 20)
    talk = (6400, 5200, 4200, 1900, 3200, 6400, 900, 5200)
    sales = ((12800, 3980), (3980,), (), (880, 1280, 880), (), (12800,), (), ())
    out = []
    for t, team in enumerate(("一组", "二组", "三组")):
        for i in range(8):
            k = (i + 3 * t) % 8
            code = str(8101 + 100 * t + i)
            name = NAMES[(8 * t + i + 1) % len(NAMES)]
            out.append(Rep(code, name, team, dials[k], talk[k], sales[k], invites=i % 3))
    return out


# A team of fifteen: four ahead, eleven behind on dials by different amounts, and one (李强
# ahead on dials) far behind on talk time, the issue's "105 % green while topping the behind
# list". At 12:xx on the default calling windows two of six and a half hours have passed:
# 92 dials and 4,000 s of talk are due, under 74 dials or 3,200 s is red.
TEAM15 = "五组"
TEAM15_REPS = [
    Rep("8501", "徐丽", TEAM15, 150, 6000, (12800, 12800)),
    Rep("8502", "胡娟", TEAM15, 140, 5600, (12800, 3980)),
    Rep("8503", "林涛", TEAM15, 130, 5200, (12800,)),
    Rep("8504", "李强", TEAM15, 130, 1900, (3980, 880)),
    Rep("8505", "周婷", TEAM15, 120, 5000, (3980,)),
] + [
    Rep(str(8506 + i), NAMES[16 + i], TEAM15, 20 + 5 * i, 5000, ((880,) if i % 2 else ()))
    for i in range(10)
]


def calls_of(rep: Rep, now: datetime) -> list[dict[str, Any]]:
    """The rep's calls spread over the last two and a half hours, a third of them answered."""
    start = now - timedelta(minutes=150)
    step = timedelta(minutes=148) / max(rep.dials, 1)
    answered = max(1, rep.dials // 3)
    talk_each, talk_rest = divmod(rep.talk, answered)
    out = []
    for i in range(rep.dials):
        over: dict[str, Any] = {"rep": rep.code, "started_at": (start + step * i).isoformat()}
        k = i // 3
        if i % 3 == 0 and k < answered:
            # The talk adds up to the rep's exactly: the last answered call takes the rest.
            talk = talk_each + (talk_rest if k == answered - 1 else 0)
            over.update(disposition="answered", talk_seconds=talk)
            if k < len(rep.sales):
                over.update(outcome="sale", order_value=f"{rep.sales[k]}.00")
            elif k < len(rep.sales) + rep.invites:
                over.update(outcome="invite")
        else:
            over.update(disposition="no_answer", talk_seconds=0)
        out.append(record(f"seed-{rep.code}-{i}", **over))
    return out


def seed(floor: Floor, reps: list[Rep]) -> None:
    """Teams, reps, their morning of calls and a present state each, through the API."""
    known = {t["name"] for t in floor.api("GET", "/api/v1/teams", "read").json()}
    for team in dict.fromkeys(r.team for r in reps):
        if team not in known:
            resp = floor.api("POST", "/api/v1/teams", "admin", json={"name": team})
            assert resp.status_code == 201, resp.text
    for rep in reps:
        body = {"code": rep.code, "name": rep.name, "team": rep.team}
        resp = floor.api("POST", "/api/v1/reps", "admin", json=body)
        assert resp.status_code == 201, resp.text
    now = datetime.now(UTC)
    calls = [c for rep in reps for c in calls_of(rep, now)]
    for i in range(0, len(calls), 4000):
        resp = floor.api("POST", "/api/v1/calls", "ingest", json=calls[i : i + 4000])
        assert resp.status_code == 200, resp.text
    # Every state a row can show, the widest (a pause with its reason) included.
    kinds = [("on_call", None), ("paused", "lunch"), ("available", None), ("wrap_up", None),
             ("paused", "training"), ("on_call", None)]  # fmt: skip
    events = []
    for i, rep in enumerate(reps):
        state, reason = kinds[i % len(kinds)]
        at = (now - timedelta(minutes=3 + i % 50, seconds=7)).replace(microsecond=0)
        events.append({"rep": rep.code, "state": state, "at": at.isoformat()} | (
            {"reason": reason} if reason else {}))  # fmt: skip
    resp = floor.api("POST", "/api/v1/agent-events", "ingest", json=events)
    assert resp.status_code == 200, resp.text


def snapshot(floor: Floor) -> dict[str, Any]:
    return floor.api("GET", "/api/v1/floor/snapshot", "read").json()


def busy_floor(floor: Floor) -> None:
    """The three teams of eight, a rep on a half day and a new hire among them."""
    seed(floor, floor_reps())
    day = date.fromisoformat(snapshot(floor)["day"])
    resp = floor.api("PUT", f"/api/v1/attendance/8103/{day}", "admin",
                     json={"status": "half_day", "half": "pm"})  # fmt: skip
    assert resp.status_code == 200, resp.text
    resp = floor.api("PATCH", "/api/v1/reps/8204", "admin",
                     json={"hired_on": (day - timedelta(days=1)).isoformat()})  # fmt: skip
    assert resp.status_code == 200, resp.text


def open_board(new_page: Any, floor: Floor, size: tuple[int, int], label: str, query: str = ""):
    page = new_page(label, width=size[0], height=size[1])
    open_live(page, floor.page_url("/wallboard") + query)
    page.wait_for_function(DRAWN_JS, timeout=10_000)
    page.wait_for_timeout(400)  # the first measure and the page it draws (100 ms render batch)
    return page


def geometry(page: Any) -> dict[str, Any]:
    return page.evaluate(GEOMETRY_JS)


# --- 1. the TV fits any screen ---------------------------------------------------------------


def test_the_wallboard_fits_every_screen_and_its_figures_scale_with_it(
    new_page, tv_floor, screenshot
):
    floor = tv_floor
    busy_floor(floor)
    found: dict[tuple[int, int], dict[str, Any]] = {}
    problems: list[str] = []
    for size in SIZES:
        w, h = size
        page = open_board(new_page, floor, size, f"{w}x{h}")
        got = found[size] = geometry(page)
        screenshot(page, f"{w}x{h}")
        problems += [f"{w}×{h}: {p}" for p in got["problems"]]
        fonts = got["fonts"]
        # Key figures stay at least a thirtieth of the screen's height: the tiles' everywhere,
        # the leaderboard's on every landscape screen. A portrait TV's eight columns share
        # 1,080 px: its board keeps the landscape 1080p size (a thirtieth of the width).
        assert min(fonts["kpi_value"]) >= h / 30 - 0.01, (size, fonts["kpi_value"])
        ruler = h if w > h else w
        assert min(fonts["board"]) >= ruler / 30 - 0.01, (size, fonts["board"])
        assert got["rows"] >= 9, (size, got["rows"])  # 一组's nine reps on one page
        if size == (1366, 768):
            # The hour chart stays a chart, not a sliver.
            cw, ch = got["chart"]
            assert cw >= 0.3 * w and ch >= 0.16 * h, got["chart"]
        page.close()
    assert not problems, "\n".join(problems[:40])
    # Every figure's type grows with the screen: 4K is twice 1080p's (at least 1.8 times).
    for kind, sizes in found[(1920, 1080)]["fonts"].items():
        big = found[(3840, 2160)]["fonts"][kind]
        assert sizes and big and min(big) >= 1.8 * max(sizes), (kind, sizes[:3], big[:3])


def test_size_large_enlarges_the_board_and_still_fits(new_page, tv_floor, screenshot):
    floor = tv_floor
    busy_floor(floor)
    for size in ((1920, 1080), (1366, 768)):
        w, h = size
        normal = open_board(new_page, floor, size, f"normal-{w}x{h}")
        base = geometry(normal)["fonts"]
        normal.close()
        page = open_board(new_page, floor, size, f"large-{w}x{h}", "&size=large")
        assert page.get_attribute("body", "data-size") == "large"
        got = geometry(page)
        screenshot(page, f"large-{w}x{h}")
        assert not got["problems"], "\n".join(got["problems"][:40])
        for kind in ("kpi_value", "kpi_pace", "board", "behind", "clock"):
            assert min(got["fonts"][kind]) >= 1.1 * min(base[kind]), (size, kind)
        page.close()


def test_a_display_links_size_setting_enlarges_its_board_and_the_url_wins(new_page, tv_floor):
    engine = make_engine(tv_floor.server.env["PACEBOARD_DATABASE_URL"])
    try:
        with session_scope(engine) as session:
            secret = create_display(session, name="大屏", teams=[], settings={"size": "large"})[1]
    finally:
        engine.dispose()
    page = new_page("display")
    open_live(page, f"{tv_floor.url}/wallboard?display={secret}")
    assert json.loads(page.get_attribute("body", "data-view-settings") or "")["size"] == "large"
    assert page.get_attribute("body", "data-size") == "large"
    open_live(page, f"{tv_floor.url}/wallboard?display={secret}&size=normal")
    assert page.get_attribute("body", "data-size") is None


# --- 2. nobody hidden ------------------------------------------------------------------------

# What the board shows at this moment: its page indicator, the rows, the behind list's.
SEEN_JS = """
() => {
  const dots = (id) => [...document.querySelectorAll(`#${id} .dot`)];
  const lit = (id) => dots(id).findIndex((d) => d.classList.contains("on"));
  const count = (id) => dots(id).length;
  return {
    part: document.querySelector("#board-part").textContent,
    dots: [count("board-dots"), lit("board-dots")],
    rows: [...document.querySelectorAll("#board-body tr[data-rep]")].map(
      (r) => [r.dataset.rep, Number(r.querySelector(".rank").textContent)]),
    behindPart: document.querySelector("#behind-part").textContent,
    behindDots: [count("behind-dots"), lit("behind-dots")],
    behind: [...document.querySelectorAll("#behind-list li[data-rep]")].map(
      (li) => [li.dataset.rep, li.querySelector(".name").textContent]),
    behindCount: document.querySelector("#behind-count").textContent,
  };
}
"""


def page_number(part: str) -> int:
    """1 of "1/3" (a single page shows no indicator: "")."""
    return int(part.split("/")[0]) if part else 1


def worst_red(rep: dict[str, Any]) -> float | None:
    """A rep's worst red day pace (what ranks the behind list), None when not behind."""
    red = [p["pace"] for p in (rep.get("pace") or {}).values() if p and p["status"] == "red"]
    return min(red) if red else None


@pytest.mark.parametrize("size", [(1920, 1080), (1366, 768)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_a_team_longer_than_the_screen_pages_through_every_rep_and_everyone_behind(
    new_page, tv_floor, screenshot, size
):
    floor = tv_floor
    seed(floor, TEAM15_REPS)
    reps = {r["code"]: r for r in snapshot(floor)["reps"] if r["team"] == TEAM15}
    behind = sorted(
        (worst_red(r), r["name"], c) for c, r in reps.items() if worst_red(r) is not None
    )
    assert len(reps) == 15 and len(behind) == 11, behind

    page = open_board(new_page, floor, size, "team", f"&team={TEAM15}&rotate_ms={ROTATE_MS}")
    pages: dict[str, dict[str, Any]] = {}
    behind_pages: dict[str, list[list[str]]] = {}
    problems: list[str] = []
    deadline = time.monotonic() + 12 * ROTATE_MS / 1000
    while time.monotonic() < deadline:
        seen = page.evaluate(SEEN_JS)
        if seen["part"] not in pages or seen["behindPart"] not in behind_pages:
            # A page not seen before: nothing on it cut or overlapping, then remember it.
            problems += [f"page {seen['part']}: {p}" for p in geometry(page)["problems"]]
            screenshot(page, f"page-{seen['part']}-behind-{seen['behindPart']}".replace("/", "of"))
        pages.setdefault(seen["part"], seen)
        behind_pages.setdefault(seen["behindPart"], seen["behind"])
        parts = int(seen["part"].split("/")[1]) if "/" in seen["part"] else 1
        behind_parts = int(seen["behindPart"].split("/")[1]) if "/" in seen["behindPart"] else 1
        if len(pages) >= parts and len(behind_pages) >= behind_parts:
            break
        page.wait_for_timeout(200)
    assert not problems, "\n".join(problems[:40])

    # More reps than the panel holds: pages "1/n" … "n/n", a dot each, the current one lit.
    assert len(pages) >= 2, list(pages)
    n = len(pages)
    assert sorted(pages) == [f"{i}/{n}" for i in range(1, n + 1)], list(pages)
    for part, seen in pages.items():
        assert seen["dots"] == [n, int(part.split("/")[0]) - 1], (part, seen["dots"])
    # Every rep on some page, each once, ranked 1 to 15 across the pages by results.
    rows = [row for part in sorted(pages, key=page_number) for row in pages[part]["rows"]]
    assert sorted(code for code, _ in rows) == sorted(reps), rows
    assert [rank for _, rank in rows] == list(range(1, 16)), rows
    assert rows[0][0] == "8501"  # the top seller first

    # Every behind rep named on some page, the most behind first, in order of how far behind.
    assert pages[f"1/{n}"]["behindCount"] == "11"
    m = len(behind_pages)
    if m > 1:
        assert sorted(behind_pages) == [f"{i}/{m}" for i in range(1, m + 1)], list(behind_pages)
    named = [item for part in sorted(behind_pages, key=page_number) for item in behind_pages[part]]
    assert [code for code, _ in named] == [code for _, _, code in behind], (named, behind)
    assert {name for _, name in named} == {name for _, name, _ in behind}
    if size == (1920, 1080):
        assert m >= 2  # eleven do not fit the list at once: it pages rather than cut


# --- 3. stale is obvious ---------------------------------------------------------------------

STALE_RE = re.compile(r"^数据已停止更新 \(最后更新 (\d\d):(\d\d):(\d\d)\)$")


def test_a_board_that_hears_nothing_for_ten_seconds_says_so_dims_and_recovers(
    new_page, tv_floor, console, screenshot
):
    floor = tv_floor
    page = new_page("wallboard")
    open_live(page, floor.page_url("/wallboard"))
    floor.post_call()
    # An idle floor is not a stale one: the server's heartbeats keep the board current.
    page.wait_for_timeout(12_000)
    assert page.get_attribute("body", "data-stale") is None
    assert page.is_hidden("#stale")

    zone = ZoneInfo(floor.server.env["PACEBOARD_TIMEZONE"])
    with console.excuse(*SERVER_DOWN_ERRORS):
        stopped = datetime.now(UTC)
        floor.server.stop()
        page.wait_for_selector('body[data-stale="true"]', state="attached", timeout=13_000)
        took = (datetime.now(UTC) - stopped).total_seconds()
        assert took <= 12.5, took  # 10 s after the last frame (a heartbeat at most 5 s before)
        banner = page.inner_text("#stale")
        m = STALE_RE.match(banner)
        assert m and page.is_visible("#stale"), banner
        # The last update is the last frame's time on the floor's clock: just before the stop.
        last = datetime.now(zone).replace(hour=int(m[1]), minute=int(m[2]), second=int(m[3]))
        gap = (stopped.astimezone(zone) - last).total_seconds()
        assert -2 <= gap <= 7, (banner, stopped.astimezone(zone).time())
        # Figures dimmed: the tiles and the board fade (a 0.4 s transition), the banner does not.
        page.wait_for_function(
            "sel => sel.every(s => getComputedStyle(document.querySelector(s)).opacity <= 0.5)",
            arg=["#kpis", "main.wb-main"],
            timeout=3_000,
        )
        opacity = page.evaluate(
            "sel => sel.map(s => Number(getComputedStyle(document.querySelector(s)).opacity))",
            ["#kpis", "main.wb-main", "#stale"],
        )
        assert opacity[0] <= 0.5 and opacity[1] <= 0.5 and opacity[2] == 1, opacity
        screenshot(page, "stale")

        floor.server.start()
        page.wait_for_selector(LIVE, state="attached", timeout=20_000)
        page.wait_for_function("() => document.body.dataset.stale === undefined", timeout=5_000)
    assert page.is_hidden("#stale")
    screenshot(page, "recovered")
    # The same banner in English.
    english = page.evaluate(
        """async () => (await import("/static/i18n.js"))
             .makeI18n("en").t("wb_stale", {at: "10:41:22"})"""
    )
    assert english == "Data stopped updating (last update 10:41:22)"


# --- 4. figures agree with colours -----------------------------------------------------------

# floor.js and i18n.js as the page loads them, given paces the live floor cannot be made to
# hold exactly (0.995, a 4-decimal pace the server rounded up to 1.0 while still amber).
FORMATS_JS = """
async () => {
  const { makeI18n } = await import("/static/i18n.js");
  const { paceText, worstDayPace } = await import("/static/floor.js");
  const i18n = makeI18n("zh");
  const cfg = { paceGreen: 1, paceAmber: 0.8 };
  const worst = worstDayPace({ pace: {
    dials: { pace: 1.05, status: "green" }, talk_seconds: { pace: 0.48, status: "red" } } });
  return {
    pct: [0.995, 0.999999, 1, 0.29, 0.57, 1.005, 0.0049].map((r) => i18n.pct(r)),
    amberAtOne: paceText({ pace: 1.0, status: "amber" }, i18n, cfg),
    redAtAmber: paceText({ pace: 0.8, status: "red" }, i18n, cfg),
    greenAtOne: paceText({ pace: 1.0, status: "green" }, i18n, cfg),
    worst: [worst.metric, worst.status, paceText(worst, i18n, cfg)],
  };
}
"""

# Every pace and figure cell of the board, the teams table and the tiles as shown.
CELLS_JS = """
() => {
  const cell = (c) => c && {
    text: c.textContent, status: c.dataset.status || null, pace: c.dataset.pace || null };
  const rows = (sel, key) => Object.fromEntries([...document.querySelectorAll(sel)].map((r) => [
    r.getAttribute(key),
    { dials: cell(r.querySelector('td[data-metric="dials"]')),
      talk: cell(r.querySelector('td[data-metric="talk_seconds"]')),
      pace: cell(r.querySelector("td.pace")) },
  ]));
  const tiles = Object.fromEntries([...document.querySelectorAll("#kpis .kpi")].map((k) => {
    const pace = k.querySelector(".kpi-pace");
    return [k.dataset.kpi, {
      label: k.querySelector(".kpi-label").textContent,
      value: k.querySelector(".kpi-value").textContent,
      status: k.dataset.status,
      period: k.dataset.period || null,
      pace: pace.textContent,
      paceStatus: pace.dataset.status || null,
    }];
  }));
  return {
    reps: rows("#board-body tr[data-rep]", "data-rep"),
    teams: rows("#teams-body tr[data-team]", "data-team"),
    tiles,
  };
}
"""

SHORT = {"dials": "通次", "talk_seconds": "通时"}


def floored(pace: float) -> str:
    return f"{math.floor(round(pace * 100, 6))}%"


def expect_pace_cell(row: dict[str, Any]) -> dict[str, Any]:
    """What a row's pace cell must say: its worst day pace, floored, with the metric's name."""
    paces = [(p["pace"], m, p["status"]) for m, p in (row.get("pace") or {}).items()
             if p and p.get("pace") is not None]  # fmt: skip
    pace, metric, status = min(paces)
    return {"text": f"{floored(pace)}{SHORT[metric]}", "status": status, "pace": metric}


def test_percentages_are_floored_and_never_read_better_than_their_colour(new_page, tv_floor):
    page = new_page("formats")
    open_live(page, tv_floor.page_url("/wallboard"))
    got = page.evaluate(FORMATS_JS)
    assert got["pct"] == ["99%", "99%", "100%", "29%", "57%", "100%", "0%"]
    # A pace the server rounded up to 1.0 while its status stayed amber reads 99 %, not 100 %.
    assert got["amberAtOne"] == "99%" and got["redAtAmber"] == "79%" and got["greenAtOne"] == "100%"
    # 105 % of dials but 48 % of talk time: the pace column says talk, red.
    assert got["worst"] == ["talk_seconds", "red", "48%"]


def test_every_cell_takes_the_colour_of_the_figure_it_shows(new_page, tv_floor, screenshot):
    floor = tv_floor
    seed(floor, TEAM15_REPS)
    # Two invites yesterday, when yesterday is in this week: the week's figure is not today's.
    if date.fromisoformat(snapshot(floor)["day"]).isoweekday() > 1:
        yesterday = (datetime.now(UTC) - timedelta(days=1)).isoformat()
        calls = [
            record(f"inv-{i}", rep="8501", started_at=yesterday, outcome="invite") for i in (1, 2)
        ]
        resp = floor.api("POST", "/api/v1/calls", "ingest", json=calls)
        assert resp.status_code == 200 and resp.json()["created"] == 2, resp.text
    page = open_board(new_page, floor, (1920, 1080), "team", f"&team={TEAM15}&rotate_ms=60000")
    snap = snapshot(floor)
    shown = page.evaluate(CELLS_JS)
    screenshot(page, "colours")
    reps = {r["code"]: r for r in snap["reps"]}
    assert len(shown["reps"]) >= 9
    fractions = []
    for code, cells in shown["reps"].items():
        rep = reps[code]
        # Today's dials and talk cells by today's pace of the same metric.
        assert cells["dials"]["status"] == rep["pace"]["dials"]["status"], (code, cells)
        assert cells["talk"]["status"] == rep["pace"]["talk_seconds"]["status"], (code, cells)
        # The pace cell: the worst day pace, floored, named, and in that pace's colour.
        assert cells["pace"] == expect_pace_cell(rep), (code, cells["pace"], rep["pace"])
        fractions += [p["pace"] * 100 % 1 for p in rep["pace"].values() if p["pace"] is not None]
    # Some shown pace has half a point or more: rounding it up would have failed the above.
    assert any(f >= 0.5 for f in fractions), fractions
    # The rep: ahead on dials, 48 % of talk time; the column says so in red.
    li = shown["reps"]["8504"]
    assert li["dials"]["status"] == "green" and li["pace"]["status"] == "red"
    assert li["pace"]["pace"] == "talk_seconds" and li["pace"]["text"].endswith("%通时")

    # The teams table by the same rule.
    teams = {t["name"]: t for t in snap["teams"]}
    for name, cells in shown["teams"].items():
        assert cells["pace"] == expect_pace_cell(teams[name]), (name, cells["pace"])
        assert cells["dials"]["status"] == teams[name]["pace"]["dials"]["status"], name

    # The tiles: a weekly target (invites) shows the week's figure beside the week's pace; a day
    # target today's figure beside today's pace; every percentage floored.
    scope = teams[TEAM15]
    invites = shown["tiles"]["invites"]
    week = scope["pace_week"]["invites"]
    assert invites["period"] == "week" and invites["label"] == "本周邀约", invites
    assert invites["value"] == f"{week['actual']:,}", invites
    if week["actual"] != scope["totals"]["invites"]:  # not a Monday
        assert invites["value"] != str(scope["totals"]["invites"]), invites
    assert invites["status"] == week["status"], invites
    assert invites["pace"] == floored(week["pace"]) and invites["paceStatus"] == week["status"]
    dials = shown["tiles"]["dials"]
    day = scope["pace"]["dials"]
    assert dials["period"] == "day" and dials["value"] == f"{scope['totals']['dials']:,}"
    assert dials["status"] == day["status"] and dials["pace"] == floored(day["pace"]), dials

    # The lead console's rep table by the same rule: today's invites count is not coloured by the
    # week's pace, today's dials by today's.
    console = new_page("console", width=1440, height=900)
    open_live(console, f"{floor.page_url('/lead')}&team={TEAM15}")
    console.locator(f'#team-body tr[data-rep="{TEAM15_REPS[0].code}"]').wait_for(timeout=10_000)
    cells = console.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('#team-body tr[data-rep]')]
          .map((tr) => [tr.dataset.rep, Object.fromEntries(['dials', 'invites'].map((m) => {
            const td = tr.querySelector(`td[data-metric="${m}"]`);
            return [m, td ? td.dataset.status || null : 'missing'];
          }))]))"""
    )
    assert len(cells) >= 9, cells
    for code, got in cells.items():
        rep = reps[code]
        assert got["dials"] == rep["pace"]["dials"]["status"], (code, got)
        assert got["invites"] == rep["pace"].get("invites", {}).get("status"), (code, got)
