"""The report pages (/reports/daily|weekly|monthly) in a real Chromium against a real
``paceboard serve``: charts drawn by plotly.js, the table agreeing with the JSON report, the page
fitting A4 landscape when printed, and the problems-and-plan note written through the page.

One server per module, seeded once over the HTTP API with two teams of five reps on a fixed past
day (2026-11-25, a Wednesday) and a few neighbouring days, so every figure is stable. Tests that
write notes use a day of their own, so they do not depend on each other's order.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.test_login import PASSWORD, REFUSED, sign_in
from tests.browser.test_wallboard import Floor
from tests.conftest import SECRET, LiveServer, free_port, spread

pytestmark = pytest.mark.e2e

DAY = "2026-11-25"  # a Wednesday, in the past: the figures no longer move
WEEK, MONTH = "2026-W48", "2026-11"
OWN, OTHER = "一组", "二组"
# code -> (name, team, dials on DAY); 8101 dials over a thousand, so the page's "1,204" shows.
REPS = {
    "8101": ("王芳", OWN, 1204),
    "8102": ("李娜", OWN, 37),
    "8103": ("张伟", OWN, 25),
    "8104": ("刘洋", OWN, 12),
    "8105": ("陈静", OWN, 3),
    "8201": ("杨磊", OTHER, 48),
    "8202": ("赵敏", OTHER, 31),
    "8203": ("黄勇", OTHER, 22),
    "8204": ("周杰", OTHER, 9),
    "8205": ("吴霞", OTHER, 1),
}
DIALS_TARGET = 300
# A4 landscape is 297 mm wide; less 2 × 10 mm margins that is 277 mm = 1047 px at 96 dpi.
PRINT_WIDTH = 1047
READY = 'body[data-ready="1"]'

TABLE_JS = """
() => [...document.querySelectorAll('#report-table tbody tr')].map(tr => Object.fromEntries(
  [...tr.querySelectorAll('td')].map(td => [td.dataset.key, td.textContent.trim()])))
"""


def _record_calls(floor: Floor, records: list[dict[str, Any]]) -> None:
    resp = floor.api("POST", "/api/v1/calls", "ingest", json=records)
    assert resp.status_code == 200, resp.text
    assert resp.json()["created"] == len(records), resp.text


@pytest.fixture(scope="module")
def reports_floor(tmp_path_factory, sqlite_template) -> Iterator[Floor]:
    """One server for the module (the shared ``live_server`` is per test): two teams, ten reps,
    a dials target of 300 a day, calls on 2026-11-25 and on three other November days, and lead1,
    the lead of 一组 only."""
    folder = tmp_path_factory.mktemp("reports")
    shutil.copy(sqlite_template, folder / "paceboard.db")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PACEBOARD_")}
    env.update(
        PACEBOARD_DATABASE_URL=f"sqlite:///{folder / 'paceboard.db'}",
        PACEBOARD_DATA_DIR=str(folder / "var"),
        PACEBOARD_SECRET_KEY=SECRET,
        PACEBOARD_HOST="127.0.0.1",
        PACEBOARD_PORT=str(port),
        PACEBOARD_LOG_LEVEL="warning",
        PACEBOARD_TIMEZONE="Asia/Shanghai",
    )
    server = LiveServer(env, port, folder / "server.log").start()
    try:
        floor = Floor(server)
        for team in (OWN, OTHER):
            resp = floor.api("POST", "/api/v1/teams", "admin", json={"name": team})
            assert resp.status_code == 201, resp.text
        for code, (name, team, _) in REPS.items():
            body = {"code": code, "name": name, "team": team, "hired_on": "2026-01-05"}
            resp = floor.api("POST", "/api/v1/reps", "admin", json=body)
            assert resp.status_code == 201, resp.text
        target = {"metric": "dials", "period": "day", "value": DIALS_TARGET}
        resp = floor.api(
            "PUT", "/api/v1/targets", "admin", json=target | {"valid_from": "2026-11-01"}
        )
        assert resp.status_code == 200, resp.text

        records: list[dict[str, Any]] = []
        for code, (_, _, n) in REPS.items():
            # Every third call answered (60 s talk), the rest unanswered, across the day's windows.
            morning = n // 2
            for day, count, prefix in ((DAY, morning, "am"), (DAY, n - morning, "pm")):
                start, end = ("09:30", "11:30") if prefix == "am" else ("13:00", "17:30")
                batch = spread(
                    code,
                    count,
                    f"{day}T{start}:00+08:00",
                    f"{day}T{end}:00+08:00",
                    prefix=f"{code}-{day}-{prefix}",
                )
                for i, rec in enumerate(batch):
                    if i % 3:
                        rec.update(disposition="no_answer", talk_seconds=0)
                records += batch
            for day in ("2026-11-02", "2026-11-24", "2026-11-26"):
                records += spread(
                    code,
                    4,
                    f"{day}T10:00:00+08:00",
                    f"{day}T11:00:00+08:00",
                    prefix=f"{code}-{day}",
                )
        _record_calls(floor, records)

        created = server.cli(
            "user", "create", "lead1", "--role", "lead", "--team", OWN, "--password-stdin",
            stdin=PASSWORD + "\n",
        )  # fmt: skip
        assert created.returncode == 0, created.stderr
        yield floor
    finally:
        server.stop()


def report_json(floor: Floor, kind: str, **params: str) -> dict[str, Any]:
    resp = floor.api("GET", f"/api/v1/reports/{kind}", "admin", params=params)
    assert resp.status_code == 200, resp.text
    return resp.json()


def report_url(floor: Floor, kind: str, query: str, *, token: bool = True) -> str:
    auth = f"&token={floor.tokens['admin']}" if token else ""
    return f"{floor.url}/reports/{kind}?{query}{auth}"


def open_report(page: Any, url: str) -> None:
    """Open a report page and wait until report.js has wired it."""
    resp = page.goto(url)
    assert resp is not None and resp.status == 200, f"{url}: HTTP {resp and resp.status}"
    page.wait_for_selector(READY, state="attached", timeout=15_000)


def wait_drawn(page: Any, *chart_ids: str) -> None:
    for chart in chart_ids:
        page.wait_for_selector(f"#{chart}[data-figure] .main-svg", state="attached", timeout=10_000)


def headers(page: Any) -> list[str]:
    return [t.strip() for t in page.locator("#report-table thead th").all_inner_texts()]


def rep_rows(page: Any) -> dict[str, dict[str, str]]:
    """code -> data-key -> cell text, for the table's rep rows (subtotals have no code)."""
    return {row["code"]: row for row in page.evaluate(TABLE_JS) if row.get("code")}


def pdf_pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


def watch_dialogs(page: Any) -> list[str]:
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return dialogs


# --- the daily report -------------------------------------------------------------------------


def test_daily_report_draws_both_charts_and_its_table_matches_the_json_report(
    new_page, reports_floor, screenshot
):
    floor = reports_floor
    page = new_page("daily", width=1440, height=900)
    open_report(page, report_url(floor, "daily", f"day={DAY}"))
    wait_drawn(page, "chart-attainment", "chart-hourly")
    screenshot(page, "daily")

    shown = headers(page)
    for header in ("工号", "姓名", "通次", "接通数", "通次达成率"):
        assert header in shown, shown
    assert DAY in page.inner_text("h1")

    report = report_json(floor, "daily", day=DAY)
    rows = rep_rows(page)
    assert set(rows) == {r["code"] for r in report["reps"]} == set(REPS)
    for rep in report["reps"]:
        row = rows[rep["code"]]
        assert row["name"] == rep["name"]
        assert row["team"] == rep["team"]
        assert row["dials"] == f"{rep['dials']:,}", (rep["code"], row)
        assert row["connects"] == f"{rep['connects']:,}", (rep["code"], row)
        assert row["attainment.dials"] == f"{rep['attainment']['dials'] * 100:.1f}%"
    # …and the JSON is what was posted.
    assert {r["code"]: r["dials"] for r in report["reps"]} == {c: v[2] for c, v in REPS.items()}
    assert rows["8101"]["dials"] == "1,204"
    # The floor's total (admins see it) heads the page.
    total = sum(v[2] for v in REPS.values())
    assert page.inner_text('.report-kpi [data-metric="dials"]') == f"{total:,}"


def test_daily_report_in_english_is_headed_in_english(new_page, reports_floor):
    page = new_page("daily-en", width=1440, height=900)
    open_report(page, report_url(reports_floor, "daily", f"day={DAY}&lang=en"))
    wait_drawn(page, "chart-attainment", "chart-hourly")
    shown = headers(page)
    for header in ("Code", "Name", "Dials", "Connects"):
        assert header in shown, shown
    assert "通次" not in shown and "接通数" not in shown
    assert page.inner_text("#report-title") == "Evening report"


# --- the week's and the month's assessment ----------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "query", "label", "other_days"),
    # Besides DAY, every rep has 4 calls on each of 11-24 and 11-26 (W48), and on 11-02.
    [("weekly", f"week={WEEK}", "W48", 8), ("monthly", f"month={MONTH}", MONTH, 12)],
)
def test_assessment_pages_draw_the_heatmap_and_list_every_rep(
    new_page, reports_floor, screenshot, kind: str, query: str, label: str, other_days: int
):
    floor = reports_floor
    page = new_page(kind, width=1440, height=900)
    open_report(page, report_url(floor, kind, query))
    wait_drawn(page, "chart-heatmap", "chart-period")
    screenshot(page, kind)

    assert label in page.inner_text("h1 .when")
    heatmap_text = page.inner_text("#chart-heatmap")
    assert "王芳" in heatmap_text, heatmap_text[:300]
    assert page.locator("#flagged, #flagged-none").count() == 1

    key, value = query.split("=")
    report = report_json(floor, kind, **{key: value})
    rows = rep_rows(page)
    assert set(rows) == set(REPS)
    for rep in report["reps"]:
        assert rows[rep["code"]]["dials"] == f"{rep['dials']:,}", (rep["code"], rows[rep["code"]])
    # …and the JSON sums the period's days as posted.
    assert {r["code"]: r["dials"] for r in report["reps"]} == {
        code: n + other_days for code, (_, _, n) in REPS.items()
    }


# --- printing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "query", "charts"),
    [
        ("daily", f"day={DAY}", ("chart-attainment", "chart-hourly")),
        ("monthly", f"month={MONTH}", ("chart-heatmap", "chart-period")),
    ],
)
def test_report_prints_on_a4_landscape_without_controls_or_overflow(
    new_page, reports_floor, screenshot, kind: str, query: str, charts: tuple[str, ...]
):
    page = new_page(f"{kind}-print", width=PRINT_WIDTH, height=740)
    page.emulate_media(media="print")
    open_report(page, report_url(reports_floor, kind, query))
    wait_drawn(page, *charts)
    screenshot(page, "print")

    widths = page.evaluate(
        """() => ({
          page: document.documentElement.scrollWidth,
          table: document.getElementById('report-table').scrollWidth,
          widest: [...document.querySelectorAll('body *')]
            .map(e => [e.getBoundingClientRect().right, e.tagName + '.' + e.className])
            .sort((a, b) => b[0] - a[0])[0],
        })"""
    )
    assert widths["page"] <= PRINT_WIDTH, widths
    assert widths["table"] <= PRINT_WIDTH, widths

    controls = page.locator(".no-print")
    assert controls.count() >= 2  # the tabs and the period/team form (and note forms)
    for i in range(controls.count()):
        assert not controls.nth(i).is_visible(), controls.nth(i).evaluate("e => e.outerHTML")[:200]
    assert not page.locator("#print").is_visible()
    for i in range(page.locator(".col-day").count()):
        assert not page.locator(".col-day").nth(i).is_visible()

    pdf = page.pdf(format="A4", landscape=True)
    assert pdf.startswith(b"%PDF"), pdf[:20]
    pages = pdf_pages(pdf)
    assert 1 <= pages <= 6, f"{pages} pages for {len(REPS)} reps"


# --- the problems-and-plan note ---------------------------------------------------------------

PROBLEMS, PLAN = "新人开场白太长", "明早复盘录音"


def test_a_lead_writes_their_teams_note_through_the_page_and_sees_only_their_team(
    new_page, reports_floor, console, screenshot
):
    floor = reports_floor
    day = "2026-11-24"  # this test's own day: no other test writes its notes
    page = new_page("lead", width=1440, height=900)
    resp = page.goto(f"{floor.url}/login?next=/reports/daily")
    assert resp is not None and resp.status == 200
    sign_in(page, "lead1", PASSWORD)
    page.wait_for_url(re.compile(r"/reports/daily$"))
    page.wait_for_selector(READY, state="attached", timeout=15_000)

    url = report_url(floor, "daily", f"day={day}", token=False)
    open_report(page, url)
    # Notes and rep rows of the lead's team only (one article, one form); the floor's figures
    # are public on the floor, so its KPIs show.
    assert page.locator("article.note").count() == 1
    assert page.locator(f'article.note[data-team="{OTHER}"]').count() == 0
    assert page.locator(f'form.note-form[data-team="{OTHER}"]').count() == 0
    assert page.locator(".report-kpis").count() == 1
    assert set(rep_rows(page)) == {c for c, v in REPS.items() if v[1] == OWN}

    form = page.locator(f'form.note-form[data-team="{OWN}"]')
    form.locator('textarea[name="problems"]').fill(PROBLEMS)
    form.locator('textarea[name="plan"]').fill(PLAN)
    form.locator('button[type="submit"]').click()
    page.wait_for_selector(
        f'form.note-form[data-team="{OWN}"] .note-status[data-state="saved"]', timeout=5_000
    )
    assert form.locator(".note-status").inner_text() == "已保存"
    article = page.locator(f'article.note[data-team="{OWN}"]')
    assert article.locator(".note-problems").inner_text() == PROBLEMS
    assert article.locator(".note-plan").inner_text() == PLAN
    screenshot(page, "saved")

    page.reload()
    page.wait_for_selector(READY, state="attached", timeout=15_000)
    article = page.locator(f'article.note[data-team="{OWN}"]')
    assert article.locator(".note-problems").inner_text() == PROBLEMS
    assert article.locator(".note-plan").inner_text() == PLAN
    assert "lead1" in article.locator(".note-meta").inner_text()
    assert form.locator('textarea[name="problems"]').input_value() == PROBLEMS

    teams = {t["name"]: t for t in report_json(floor, "daily", day=day)["teams"]}
    assert teams[OWN]["note"]["problems"] == PROBLEMS
    assert teams[OWN]["note"]["plan"] == PLAN
    assert teams[OWN]["note"]["updated_by"] == "lead1"
    assert teams[OTHER]["note"] is None

    with console.excuse(REFUSED):
        refused = page.goto(f"{floor.url}/reports/daily?day={day}&team={OTHER}")
        assert refused is not None and refused.status == 403
    assert page.locator("#report-table").count() == 0


MARKUP_PROBLEMS = "<script>alert(1)</script> 开场白"
MARKUP_PLAN = "</textarea><img src=x onerror=alert(2)> 复盘"


def test_a_note_made_of_markup_is_shown_as_text_and_never_runs(new_page, reports_floor, screenshot):
    floor = reports_floor
    day = "2026-11-26"  # this test's own day
    page = new_page("markup", width=1440, height=900)
    dialogs = watch_dialogs(page)
    url = report_url(floor, "daily", f"day={day}")
    open_report(page, url)

    form = page.locator(f'form.note-form[data-team="{OTHER}"]')
    form.locator('textarea[name="problems"]').fill(MARKUP_PROBLEMS)
    form.locator('textarea[name="plan"]').fill(MARKUP_PLAN)
    form.locator('button[type="submit"]').click()
    page.wait_for_selector(
        f'form.note-form[data-team="{OTHER}"] .note-status[data-state="saved"]', timeout=5_000
    )

    def shown_as_text() -> None:
        article = page.locator(f'article.note[data-team="{OTHER}"]')
        assert article.locator(".note-problems").inner_text() == MARKUP_PROBLEMS
        assert article.locator(".note-plan").inner_text() == MARKUP_PLAN
        assert page.locator('img[src="x"]').count() == 0
        assert page.evaluate("() => document.querySelectorAll('[onerror]').length") == 0
        assert (
            page.evaluate(
                "() => [...document.scripts].filter(s => s.textContent.includes('alert')).length"
            )
            == 0
        )

    shown_as_text()
    page.reload()  # now rendered by the server's template, textarea included
    page.wait_for_selector(READY, state="attached", timeout=15_000)
    shown_as_text()
    assert form.locator('textarea[name="problems"]').input_value() == MARKUP_PROBLEMS
    assert form.locator('textarea[name="plan"]').input_value() == MARKUP_PLAN
    assert page.locator("form.note-form").count() == 2
    page.wait_for_timeout(300)
    screenshot(page, "markup")
    assert dialogs == []

    teams = {t["name"]: t for t in report_json(floor, "daily", day=day)["teams"]}
    assert teams[OTHER]["note"]["problems"] == MARKUP_PROBLEMS


def test_a_lead_writes_a_reps_problem_and_plan_in_the_daily_report(
    new_page, reports_floor, screenshot
):
    floor = reports_floor
    day = "2026-11-23"  # this test's own day
    page = new_page("lead", width=1440, height=900)
    page.goto(f"{floor.url}/login?next=/reports/daily")
    sign_in(page, "lead1", PASSWORD)
    page.wait_for_url(re.compile(r"/reports/daily$"))
    open_report(page, report_url(floor, "daily", f"day={day}", token=False))
    code = next(c for c, v in REPS.items() if v[1] == OWN)
    row = page.locator(f'#rep-plans tr[data-rep="{code}"]')
    row.locator('input[name="problem"]').fill("接通率低")
    row.locator('input[name="plan"]').fill("上午多拨新名单")
    row.locator('button[type="submit"]').click()
    page.wait_for_selector(
        f'#rep-plans tr[data-rep="{code}"] .note-status[data-state="saved"]', timeout=5_000
    )
    plans = report_json(floor, "daily", day=day)["plans"]
    assert (plans[code]["problem"], plans[code]["plan"]) == ("接通率低", "上午多拨新名单")
    assert page.locator('#rep-plans tr[data-rep] input[name="plan"]').count() == len(
        [c for c, v in REPS.items() if v[1] == OWN]
    )  # the lead's own reps only
    screenshot(page, "rep-plan")
