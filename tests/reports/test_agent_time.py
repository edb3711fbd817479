"""Agent time in the evening, weekly and monthly reports: logged-in time, pause time by reason and
occupancy per rep, team and floor, as the JSON, the page and the CSV/xlsx files give them; read
from state_total on both engines, scoped like the rest of the report."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from app.floor.agent_state import PauseReason, default_pause_reasons
from app.floor.report import pause_reason_labels, with_agent_time
from app.reports.files import format_value, hhmm, to_csv, to_xlsx
from app.reports.tables import Column, Table
from app.services.state_time import ReportRep, period_times
from tests.conftest import test_settings

WED = "2026-10-14"  # a Wednesday of a month long over
MON = "2026-10-12"  # the same ISO week's Monday
SEPT = "2026-09-30"  # the month before, and the week before
QUIET = "2026-10-21"  # a Wednesday nobody reported a state on
#: The floor's own pause labels (PACEBOARD_PAUSE_REASONS), not the defaults: the reports must
#: take them from the settings.
REASONS = "lunch=午餐/Lunch break,break=小憩/Short break,coaching=辅导/Coaching"
AGENT_HEADERS = ("登录时长", "暂停时长", "占用率", "Logged-in time", "Pause time", "Occupancy")

# a1's WED: logged in 09:00-18:00 (9 h); lunch 12:00-13:00, a break 15:36-15:51; on calls
# 10:00-12:00 and 13:00-15:00, wrap-up 15:00-15:36: (4 h + 36 min) / 9 h.
A1 = {"logged_in": 9 * 3600, "lunch": 3600, "break": 900, "on_call": 4 * 3600, "wrap": 36 * 60}
A1_OCC = round((A1["on_call"] + A1["wrap"]) / A1["logged_in"], 4)  # 0.5111
# a2's WED: 09:30-12:40; a pause without a reason 11:00-11:30, one "外出" (not on the floor's
# list) 12:30-12:40, on a call 11:30-12:30.
A2 = {"logged_in": 3 * 3600 + 600, "none": 1800, "out": 600, "on_call": 3600}
# b1's WED (二组): 13:00-16:00, two hours of it on calls.
B1 = {"logged_in": 3 * 3600, "on_call": 2 * 3600}


def steps(rep: str, day: str, *changes: tuple[str, ...]) -> list[dict[str, str]]:
    """Events of ``rep`` on ``day``: (HH:MM, state[, reason]) in Shanghai time."""
    out = []
    for at, state, *reason in changes:
        e = {"rep": rep, "state": state, "at": f"{day}T{at}:00+08:00"}
        out.append(e | ({"reason": reason[0]} if reason else {}))
    return out


@pytest.fixture
def settings(db_url, tmp_path):
    return test_settings(db_url, tmp_path, pause_reasons=REASONS)


@pytest.fixture
def floor(api):
    """一组 (a1, a2, a3 who reports no state) and 二组 (b1), with the day above on WED."""
    for team in ("一组", "二组"):
        api.call("POST", "/api/v1/teams", json={"name": team})
    for code, name, team in (
        ("a1", "张伟", "一组"),
        ("a2", "李强", "一组"),
        ("a3", "赵敏", "一组"),
        ("b1", "王芳", "二组"),
    ):
        body = {"code": code, "name": name, "team": team, "hired_on": "2025-01-01"}
        assert api.call("POST", "/api/v1/reps", json=body).status_code == 201
    events = [
        *steps(
            "a1",
            WED,
            ("09:00", "available"),
            ("10:00", "on_call"),
            ("12:00", "paused", "lunch"),
            ("13:00", "on_call"),
            ("15:00", "wrap_up"),
            ("15:36", "paused", "break"),
            ("15:51", "available"),
            ("18:00", "logged_out"),
        ),
        *steps(
            "a2",
            WED,
            ("09:30", "available"),
            ("11:00", "paused"),
            ("11:30", "on_call"),
            ("12:30", "paused", "外出"),
            ("12:40", "logged_out"),
        ),
        *steps("b1", WED, ("13:00", "available"), ("14:00", "on_call"), ("16:00", "logged_out")),
    ]
    got = api.post_agent_events(events)
    assert got["created"] == len(events), got
    return api


def get(api, kind="daily", *, headers=None, **params):
    params.setdefault("day", WED)
    resp = api.client.get(
        f"/api/v1/reports/{kind}", params=params, headers=headers or api.auth(api.admin)
    )
    assert resp.status_code == 200, resp.text
    return resp


def csv_rows(api, kind="daily", **params) -> list[dict[str, str]]:
    text = get(api, kind, format="csv", **params).content.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def xlsx_rows(api, kind="daily", **params) -> list[dict]:
    ws = load_workbook(io.BytesIO(get(api, kind, format="xlsx", **params).content)).worksheets[0]
    header = [c.value for c in ws[1]]
    return [
        dict(zip(header, row, strict=True)) for row in ws.iter_rows(min_row=2, values_only=True)
    ]


def page_rows(api, kind="daily", *, headers=None, **params) -> tuple[list[str], list[dict]]:
    """The report page's table as the reader sees it: headers, and each row's cell texts by
    column key."""
    params.setdefault("day", WED)
    if headers is None:
        params["token"] = api.admin
    resp = api.client.get(f"/reports/{kind}", params=params, headers=headers)
    assert resp.status_code == 200, resp.text
    table = re.search(r'<table id="report-table".*?</table>', resp.text, flags=re.S).group(0)
    heads = [html.unescape(h) for h in re.findall(r"<th [^>]*>(.*?)</th>", table)]
    rows = [
        {k: html.unescape(v) for k, v in re.findall(r'<td data-key="([^"]*)"[^>]*>(.*?)</td>', tr)}
        for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", table.split("<tbody>", 1)[1], flags=re.S)
    ]
    return heads, rows


def by(rows, key, value):
    return next(r for r in rows if r[key] == value)


# --- pure ----------------------------------------------------------------------------------------


def test_hhmm_rounds_to_the_minute_and_runs_past_a_day():
    assert hhmm(0) == "00:00"
    assert hhmm(29) == "00:00" and hhmm(30) == "00:01"
    assert hhmm(9 * 3600) == "09:00"
    assert hhmm(176 * 3600 + 30 * 60) == "176:30"
    assert format_value("duration", None, 2) == ""
    assert format_value("duration", None, 2, page=True) == "—"


def test_a_duration_reads_the_same_hh_mm_in_the_csv_and_the_xlsx():
    table = Table("t", (Column("d", "D", "duration"),), ({"d": 90 * 60 + 30},))
    assert to_csv(table).decode("utf-8-sig").splitlines()[1] == "01:31"
    cell = load_workbook(io.BytesIO(to_xlsx([table]))).worksheets[0]["A2"]
    assert cell.value == timedelta(minutes=91) and cell.number_format == "[hh]:mm"


def test_pause_reasons_list_the_floors_first_then_unknown_ones_then_no_reason():
    configured = default_pause_reasons()
    got = pause_reason_labels({"", "外出", "lunch", "break", "abc"}, configured)
    assert [r["code"] for r in got] == ["break", "lunch", "abc", "外出", ""]
    assert got[1] == {"code": "lunch", "zh": "午饭", "en": "Lunch"}
    assert got[3] == {"code": "外出", "zh": "外出", "en": "外出"}  # shown as given
    assert got[4] == {"code": "", "zh": "未注明", "en": "Unspecified"}


def test_a_floor_row_left_out_of_a_leads_report_gets_no_agent_time():
    report = {"reps": [], "teams": [], "floor": None}
    time = {"paused_by_reason": {"x": 1}}
    with_agent_time(
        report, reps={}, teams={}, floor=time, reasons={"x": PauseReason("x", "甲", "A")}
    )
    assert report == {"reps": [], "teams": [], "floor": None, "pause_reasons": []}


# --- the service, on both engines --------------------------------------------------------------


def _reps(api) -> list[ReportRep]:
    with api.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT rep.id, rep.code, team.name FROM rep JOIN team ON team.id = rep.team_id"
            )
        ).all()
    return [ReportRep(*r) for r in rows]


def test_period_times_sums_the_closed_intervals_of_the_days_asked_per_rep_team_and_floor(floor):
    floor.post_agent_events(steps("a1", MON, ("09:00", "available"), ("10:00", "logged_out")))
    with floor.engine.connect() as conn:
        wed, mon, sun = date(2026, 10, 14), date(2026, 10, 12), date(2026, 10, 18)
        day = period_times(conn, first=wed, last=wed, reps=_reps(floor))
        week = period_times(conn, first=mon, last=sun, reps=_reps(floor))
    a1 = day.reps["a1"]
    assert a1["logged_in_seconds"] == A1["logged_in"]
    assert a1["paused_by_reason"] == {"break": A1["break"], "lunch": A1["lunch"]}
    assert (a1["on_call_seconds"], a1["wrap_up_seconds"]) == (A1["on_call"], A1["wrap"])
    assert a1["occupancy"] == A1_OCC
    assert day.reps["a2"]["paused_by_reason"] == {"": A2["none"], "外出": A2["out"]}
    assert "a3" not in day.reps  # no state reported: absent, not zero
    assert week.reps["a1"]["logged_in_seconds"] == A1["logged_in"] + 3600
    team = day.teams["一组"]
    assert team["logged_in_seconds"] == A1["logged_in"] + A2["logged_in"]
    assert team["paused_seconds"] == A1["lunch"] + A1["break"] + A2["none"] + A2["out"]
    assert day.floor["logged_in_seconds"] == team["logged_in_seconds"] + B1["logged_in"]


# --- the daily report ----------------------------------------------------------------------------


def test_the_daily_report_gives_each_rep_logged_in_time_pauses_by_reason_and_occupancy(floor):
    got = get(floor).json()
    reps = {r["code"]: r for r in got["reps"]}
    a1 = reps["a1"]["agent_time"]
    assert a1["logged_in_seconds"] == A1["logged_in"]
    assert a1["paused_seconds"] == A1["lunch"] + A1["break"]
    assert a1["paused_by_reason"] == {"break": A1["break"], "lunch": A1["lunch"]}
    assert a1["occupancy"] == A1_OCC
    assert reps["a3"]["agent_time"] is None
    assert got["pause_reasons"] == [
        {"code": "lunch", "zh": "午餐", "en": "Lunch break"},
        {"code": "break", "zh": "小憩", "en": "Short break"},
        {"code": "外出", "zh": "外出", "en": "外出"},
        {"code": "", "zh": "未注明", "en": "Unspecified"},
    ]


def test_the_daily_page_shows_agent_time_as_hh_mm_and_occupancy_as_a_percentage(floor):
    heads, rows = page_rows(floor)
    for head in (
        "登录时长",
        "暂停时长",
        "暂停·午餐",
        "暂停·小憩",
        "暂停·外出",
        "暂停·未注明",
        "占用率",
    ):
        assert head in heads
    a1 = by(rows, "code", "a1")
    assert a1["agent.logged_in"] == "09:00"
    assert a1["agent.paused"] == "01:15"
    assert (a1["agent.pause.lunch"], a1["agent.pause.break"]) == ("01:00", "00:15")
    assert a1["agent.pause.外出"] == "00:00"
    assert a1["agent.occupancy"] == "51.1%"
    a2 = by(rows, "code", "a2")
    assert (a2["agent.logged_in"], a2["agent.pause."], a2["agent.pause.外出"]) == (
        "03:10",
        "00:30",
        "00:10",
    )
    # A rep no source reported reads "—", not a row of zeros.
    a3 = by(rows, "code", "a3")
    assert a3["agent.logged_in"] == a3["agent.occupancy"] == "—"


def test_the_pages_agent_headers_follow_the_language_with_the_floors_labels(floor):
    heads, _ = page_rows(floor, lang="en")
    for head in ("Logged-in time", "Pause time", "Pause: Lunch break", "Pause: Short break"):
        assert head in heads
    assert "Pause: Unspecified" in heads and "Occupancy" in heads


def test_the_daily_csv_and_xlsx_carry_the_agent_time_cells(floor):
    rows = csv_rows(floor)
    a1 = by(rows, "工号", "a1")
    assert (a1["登录时长"], a1["暂停时长"], a1["暂停·午餐"], a1["暂停·小憩"]) == (
        "09:00",
        "01:15",
        "01:00",
        "00:15",
    )
    assert a1["占用率"] == "51.1%"
    assert by(rows, "工号", "a3")["登录时长"] == ""
    en = by(csv_rows(floor, lang="en"), "Code", "a2")
    assert (en["Pause: Unspecified"], en["Pause: 外出"], en["Occupancy"]) == (
        "00:30",
        "00:10",
        "31.6%",
    )
    x = by(xlsx_rows(floor), "工号", "a1")
    assert x["登录时长"] == timedelta(hours=9)
    assert x["暂停·午餐"] == timedelta(hours=1) and x["暂停·小憩"] == timedelta(minutes=15)
    assert x["占用率"] == A1_OCC
    assert by(xlsx_rows(floor), "工号", "a3")["登录时长"] is None


def test_the_xlsx_types_agent_time_as_hh_mm_durations_and_occupancy_as_percent(floor):
    ws = load_workbook(io.BytesIO(get(floor, format="xlsx").content)).worksheets[0]
    header = [c.value for c in ws[1]]
    row = next(r for r in ws.iter_rows(min_row=2) if r[0].value == "a1")
    assert row[header.index("登录时长")].number_format == "[hh]:mm"
    assert row[header.index("占用率")].number_format == "0.0%"


def test_a_teams_agent_time_is_the_sum_of_its_reps_and_the_floors_of_its_teams(floor):
    got = get(floor).json()
    teams = {t["name"]: t["agent_time"] for t in got["teams"]}
    reps = [r["agent_time"] for r in got["reps"] if r["team"] == "一组" and r["agent_time"]]
    for key in ("logged_in_seconds", "paused_seconds", "on_call_seconds", "wrap_up_seconds"):
        assert teams["一组"][key] == sum(r[key] for r in reps)
        assert got["floor"]["agent_time"][key] == sum(t[key] for t in teams.values())
    assert teams["一组"]["paused_by_reason"] == {
        "": A2["none"],
        "break": A1["break"],
        "lunch": A1["lunch"],
        "外出": A2["out"],
    }
    occupancy = (A1["on_call"] + A1["wrap"] + A2["on_call"]) / (A1["logged_in"] + A2["logged_in"])
    assert teams["一组"]["occupancy"] == round(occupancy, 4)
    # The files' subtotal rows say the same.
    subtotal = by(csv_rows(floor), "姓名", "一组 小计")
    assert subtotal["登录时长"] == hhmm(A1["logged_in"] + A2["logged_in"]) == "12:10"
    assert subtotal["暂停·未注明"] == "00:30"
    assert subtotal["占用率"] == f"{occupancy * 100:.1f}%"
    assert by(csv_rows(floor), "姓名", "全场合计")["登录时长"] == "15:10"
    assert by(page_rows(floor)[1], "name", "二组 小计")["agent.occupancy"] == "66.7%"


# --- the week and the month ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["weekly", "monthly"])
def test_weekly_and_monthly_reports_sum_agent_time_over_their_days_only(floor, kind):
    floor.post_agent_events(
        [
            *steps("a1", MON, ("09:00", "available"), ("10:00", "paused", "coaching")),
            *steps("a1", MON, ("10:30", "logged_out")),
            # The month before and the week before: in neither report.
            *steps("a1", SEPT, ("09:00", "available"), ("17:00", "logged_out")),
        ]
    )
    got = get(floor, kind).json()
    a1 = {r["code"]: r for r in got["reps"]}["a1"]["agent_time"]
    assert a1["logged_in_seconds"] == A1["logged_in"] + 5400
    assert a1["paused_by_reason"] == {"break": A1["break"], "coaching": 1800, "lunch": A1["lunch"]}
    heads, rows = page_rows(floor, kind)
    assert "暂停·辅导" in heads
    page_a1 = by(rows, "code", "a1")
    assert (page_a1["agent.logged_in"], page_a1["agent.pause.coaching"]) == ("10:30", "00:30")
    files = by(csv_rows(floor, kind), "工号", "a1")
    assert (files["登录时长"], files["暂停时长"]) == ("10:30", "01:45")
    assert by(xlsx_rows(floor, kind), "工号", "a1")["暂停·辅导"] == timedelta(minutes=30)
    team = by(csv_rows(floor, kind), "姓名", "一组 小计")
    assert team["登录时长"] == hhmm(A1["logged_in"] + 5400 + A2["logged_in"])


# --- no state data: no noise --------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["daily", "weekly"])
def test_a_report_without_agent_states_has_no_agent_time_columns(floor, kind):
    got = get(floor, kind, day=QUIET).json()
    assert all(r["agent_time"] is None for r in got["reps"]) and got["pause_reasons"] == []
    heads, _ = page_rows(floor, kind, day=QUIET)
    csv_head = list(csv_rows(floor, kind, day=QUIET)[0])
    xlsx_head = list(xlsx_rows(floor, kind, day=QUIET)[0])
    for headers in (heads, csv_head, xlsx_head):
        assert not any(h in headers for h in AGENT_HEADERS)
        assert not any(h.startswith("暂停") for h in headers)


# --- who sees what -----------------------------------------------------------------------------


def test_a_leads_reports_carry_agent_time_of_their_own_reps_only(floor):
    lead = floor.sign_in("lead1", teams=("一组",))
    got = get(floor, headers=lead).json()
    assert {r["code"] for r in got["reps"]} == {"a1", "a2", "a3"}
    _, rows = page_rows(floor, headers=lead)
    assert "b1" not in {r["code"] for r in rows}
    # The team rows are public on the floor (like every team figure): 二组's sum, not its reps.
    assert by(rows, "name", "二组 小计")["agent.logged_in"] == "03:00"
    for kind in ("weekly", "monthly"):
        got = get(floor, kind, headers=lead).json()
        assert {t["name"] for t in got["teams"]} == {"一组"} and got["floor"] is None
        _, rows = page_rows(floor, kind, headers=lead)
        assert {r["code"] for r in rows} == {"a1", "a2", "a3", ""}
        text = get(floor, kind, headers=lead, format="csv").content.decode("utf-8-sig")
        assert "王芳" not in text


def test_todays_report_counts_closed_intervals_only(floor, settings):
    """A rep on a call since their latest event: that open stretch is not in a report yet."""
    now = datetime.now(UTC).astimezone(settings.tz).replace(microsecond=0)
    midnight = now.replace(hour=0, minute=0, second=0)
    first = max(midnight, now - timedelta(hours=2))
    second = first + (now - first) / 2
    second = second.replace(microsecond=0)
    floor.post_agent_events(
        [
            {"rep": "b1", "state": "available", "at": first.isoformat()},
            {"rep": "b1", "state": "on_call", "at": second.isoformat()},
        ]
    )
    got = get(floor, day=now.date().isoformat()).json()
    b1 = {r["code"]: r for r in got["reps"]}["b1"]["agent_time"]
    assert b1["logged_in_seconds"] == int((second - first).total_seconds())
    assert b1["on_call_seconds"] == 0
