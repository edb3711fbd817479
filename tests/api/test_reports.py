"""The evening report and the week/month assessment over HTTP: the figures agree with the
snapshot, the files open in Excel as they should, leads see their own teams, notes are kept."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from datetime import date, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from app.db import session_scope
from app.floor.metrics import METRICS
from app.labels import catalog
from app.models import Alert, Rep
from tests.conftest import spread

WED = "2026-10-14"  # a Wednesday of a month long over: the figures no longer move
RATIOS = ("contact_rate", "avg_talk_per_dial", "success_rate", "avg_order_value")
ZH, EN = catalog()["zh"], catalog()["en"]


@pytest.fixture
def floor(api):
    """Two teams on WED: 一组 (a1 busy all day, a2 one morning call) and 二组 (b1 with sales)."""
    for team in ("一组", "二组"):
        api.call("POST", "/api/v1/teams", json={"name": team})
    for code, name, team in (
        ("a1", "张伟", "一组"),
        ("a2", "李强", "一组"),
        ("b1", "王芳", "二组"),
    ):
        api.call(
            "POST",
            "/api/v1/reps",
            json={"code": code, "name": name, "team": team, "hired_on": "2025-01-01"},
        )
    calls = spread("a1", 320, f"{WED}T09:30:00+08:00", f"{WED}T17:30:00+08:00", talk_seconds=45)
    for i, r in enumerate(calls):
        r["customer"] = f"1380000{i:04d}"
        if i % 3:
            r.update(disposition="no_answer", talk_seconds=0)
    calls += [
        *spread("a2", 1, f"{WED}T09:40:00+08:00", f"{WED}T09:41:00+08:00", talk_seconds=30),
        *spread(
            "b1",
            40,
            f"{WED}T13:00:00+08:00",
            f"{WED}T15:00:00+08:00",
            talk_seconds=120,
            outcome="sale",
            order_value="199.50",
        ),
    ]
    for i, r in enumerate(calls[-40:]):
        r["customer"] = f"1390000{i:04d}"
    api.post_calls(calls)
    return api


def report(api, kind="daily", *, headers=None, expect=200, **params):
    params.setdefault("day", WED)
    resp = api.client.get(
        f"/api/v1/reports/{kind}", params=params, headers=headers or api.auth(api.admin)
    )
    assert resp.status_code == expect, resp.text
    return resp


def by_code(rows):
    return {r["code"]: r for r in rows}


# --- the daily report ------------------------------------------------------------------------


def test_daily_report_figures_equal_the_snapshot_to_the_unit(floor):
    got = report(floor).json()
    snap = floor.snapshot(WED)
    reps = by_code(got["reps"])
    assert set(reps) == {r["code"] for r in snap["reps"]}
    for rep in snap["reps"]:
        assert {m: reps[rep["code"]][m] for m in METRICS} == rep["totals"]
        assert {r: reps[rep["code"]][r] for r in RATIOS} == {r: rep["funnel"][r] for r in RATIOS}
    teams = {t["name"]: t for t in got["teams"]}
    for team in snap["teams"]:
        assert {m: teams[team["name"]][m] for m in METRICS} == team["totals"]
    assert {m: got["floor"][m] for m in METRICS} == snap["floor"]["totals"]


def test_each_rep_carries_code_name_targets_and_attainment(floor):
    a1 = by_code(report(floor).json()["reps"])["a1"]
    assert (a1["code"], a1["name"], a1["team"]) == ("a1", "张伟", "一组")
    assert a1["targets"] == {"dials": 300, "talk_seconds": 13_000}
    assert a1["attainment"]["dials"] == round(320 / 300, 4)
    assert a1["attainment"]["talk_seconds"] == round(a1["talk_seconds"] / 13_000, 4)


def test_a_rep_who_barely_called_was_behind_in_every_calling_hour(floor):
    reps = by_code(report(floor).json()["reps"])
    # Calling hours of a 09:30-11:30, 13:00-17:30 day: 9, 10, 11, 13, 14, 15, 16, 17.
    assert reps["a2"]["hours_behind"] == 8
    # 320 dials spread over the day keep a1 on the dials pace, but 45 s on every third call
    # leaves talk time far behind the 13,000 s: behind by the talk-time target all day.
    assert reps["a1"]["hours_behind"] == 8
    assert reps["b1"]["hours_behind"] == 8


def test_alerts_and_the_notes_left_on_them_are_in_the_report(floor):
    raised = datetime.fromisoformat(f"{WED}T11:02:00+08:00")
    with session_scope(floor.engine) as session:
        rep_id = session.exec(select(Rep.id).where(Rep.code == "a2")).one()
        for kind in ("behind_pace", "recovered", "idle"):
            session.add(
                Alert(
                    rep_id=rep_id,
                    day=date.fromisoformat(WED),
                    kind=kind,
                    metric="dials" if kind != "idle" else None,
                    raised_at=raised,
                )
            )
            raised += timedelta(minutes=30)
        session.flush()
        first = session.exec(select(Alert.id).where(Alert.kind == "behind_pace")).one()
    resp = floor.call(
        "POST", f"/api/v1/alerts/{first}/ack", json={"by": "王组长", "note": "陪听两通,改开场白"}
    )
    assert resp.status_code == 200, resp.text
    got = report(floor).json()
    a2 = by_code(got["reps"])["a2"]
    assert a2["alerts_raised"] == 2  # behind_pace and idle; a recovery is not an alert
    assert [a["kind"] for a in a2["alerts"]] == ["behind_pace", "recovered", "idle"]
    assert a2["alerts"][0]["note"] == "陪听两通,改开场白"
    assert {t["name"]: t["alerts_raised"] for t in got["teams"]}["一组"] == 2
    rows = list(
        csv.DictReader(io.StringIO(report(floor, format="csv").content.decode("utf-8-sig")))
    )
    cell = next(r for r in rows if r[ZH["code"]] == "a2")[ZH["alert_notes"]]
    assert cell.startswith("11:02 进度落后 (通次): 王组长 — 陪听两通,改开场白")


# --- CSV and xlsx ------------------------------------------------------------------------------


def test_csv_is_utf8_with_a_bom_and_glossary_headers_in_chinese(floor):
    resp = report(floor, format="csv")
    assert resp.headers["content-type"].startswith("text/csv")
    assert resp.content.startswith(b"\xef\xbb\xbf")
    text = resp.content.decode("utf-8-sig")
    header = next(csv.reader(io.StringIO(text)))
    assert header[:8] == ["工号", "姓名", "小组", "通次", "接通数", "接触率", "通时", "平均通时"]
    for word in ("单数", "接触成功率", "业绩", "客单价", "邀约", "通次达成率", "落后小时数"):
        assert word in header
    rows = list(csv.DictReader(io.StringIO(text)))
    b1 = next(r for r in rows if r["工号"] == "b1")
    assert (b1["通次"], b1["单数"], b1["业绩"]) == ("40", "40", "7980.00")
    assert b1["通时"] == "1:20:00"  # 40 × 120 s
    assert b1["平均通时"] == "0:02:00"
    assert b1["接触成功率"] == "100.0%"
    names = [r["姓名"] for r in rows]
    assert names[-1] == "全场合计"
    assert "一组 小计" in names and "二组 小计" in names


def test_csv_headers_follow_the_chosen_language(floor):
    text = report(floor, format="csv", lang="en").content.decode("utf-8-sig")
    header = next(csv.reader(io.StringIO(text)))
    assert header[:5] == ["Code", "Name", "Team", "Dials", "Connects"]
    assert "Dials attainment" in header and "Hours behind pace" in header


def test_xlsx_has_typed_cells_frozen_panes_and_the_notes_sheet(floor):
    floor.call(
        "PUT",
        "/api/v1/reports/notes",
        json={"day": WED, "team": "二组", "problems": "开场白太长", "plan": "明早复盘录音"},
    )
    resp = report(floor, format="xlsx")
    assert resp.headers["content-type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(resp.content))
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    assert header[:4] == ["工号", "姓名", "小组", "通次"]
    assert ws.freeze_panes == "D2"
    col = {name: i for i, name in enumerate(header)}
    row = next(r for r in ws.iter_rows(min_row=2) if r[0].value == "b1")
    dials, talk = row[col["通次"]], row[col["通时"]]
    assert dials.value == 40 and isinstance(dials.value, int)
    assert talk.value == timedelta(seconds=4800) and talk.number_format == "[h]:mm:ss"
    rate = row[col["接触成功率"]]
    assert rate.value == 1.0 and rate.number_format == "0.0%"
    money = row[col["业绩"]]
    assert money.value == 7980.0 and money.number_format == "#,##0.00"
    notes = wb.worksheets[1]
    assert [c.value for c in notes[1]][:3] == ["小组", "员工问题", "整改方案"]
    assert ("二组", "开场白太长", "明早复盘录音") in [
        tuple(c.value for c in r[:3]) for r in notes.iter_rows(min_row=2)
    ]


def test_text_that_looks_like_a_formula_is_never_one(floor):
    floor.call("PATCH", "/api/v1/reps/a2", json={"name": '=HYPERLINK("http://x","y")'})
    text = report(floor, format="csv").content.decode("utf-8-sig")
    a2 = next(r for r in csv.DictReader(io.StringIO(text)) if r["工号"] == "a2")
    assert a2["姓名"].startswith("'=")
    wb = load_workbook(io.BytesIO(report(floor, format="xlsx").content))
    cell = next(r for r in wb.worksheets[0].iter_rows(min_row=2) if r[0].value == "a2")[1]
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")


def test_downloads_are_named_for_the_report_and_team(floor):
    resp = report(floor, format="csv", team="一组")
    disposition = resp.headers["content-disposition"]
    assert 'filename="paceboard-daily-2026-10-14-__.csv"' in disposition
    assert "filename*=UTF-8''paceboard-daily-2026-10-14-%E4%B8%80%E7%BB%84.csv" in disposition


# --- notes and who sees what -------------------------------------------------------------------


def test_a_lead_writes_their_teams_note_and_the_report_shows_it(floor):
    lead = floor.sign_in("lead1", teams=("一组",))
    body = {"day": WED, "team": "一组", "problems": "新人开场白太长", "plan": "明早陪听"}
    resp = floor.client.put("/api/v1/reports/notes", json=body, headers=lead)
    assert resp.status_code == 200, resp.text
    assert resp.json()["updated_by"] == "lead1"
    resp = floor.client.put(
        "/api/v1/reports/notes", json={**body, "plan": "明早复盘录音"}, headers=lead
    )
    note = {t["name"]: t["note"] for t in report(floor, headers=lead).json()["teams"]}["一组"]
    assert (note["problems"], note["plan"]) == ("新人开场白太长", "明早复盘录音")
    # Another day's report has no note; the note is per team and day.
    other = report(floor, day="2026-10-13").json()["teams"]
    assert all(t["note"] is None for t in other)


def test_a_lead_cannot_write_another_teams_note_or_skip_csrf(floor):
    lead = floor.sign_in("lead1", teams=("一组",))
    body = {"day": WED, "team": "二组", "problems": "x", "plan": "y"}
    resp = floor.client.put("/api/v1/reports/notes", json=body, headers=lead)
    assert resp.status_code == 403
    no_csrf = {"Cookie": lead["Cookie"]}
    resp = floor.client.put("/api/v1/reports/notes", json={**body, "team": "一组"}, headers=no_csrf)
    assert resp.status_code == 403
    resp = floor.client.put(
        "/api/v1/reports/notes", json={**body, "team": "一组"}, headers=floor.auth(floor.read)
    )
    assert resp.status_code == 403  # a TV's read token writes nothing
    resp = floor.call("PUT", "/api/v1/reports/notes", json={**body, "team": "三组"})
    assert resp.status_code == 404
    assert resp.json()["errors"] == [{"field": "team", "reason": "no team named '三组'"}]


def test_a_leads_daily_report_has_every_teams_figures_and_only_its_own_reps(floor):
    lead = floor.sign_in("lead1", teams=("一组",))
    got = report(floor, headers=lead).json()
    # The team PK table and the floor's sum are public on the floor; rep rows are not.
    assert [t["name"] for t in got["teams"]] == ["一组", "二组"]
    assert got["floor"]["dials"] == sum(t["dials"] for t in got["teams"])
    assert {r["team"] for r in got["reps"]} == {"一组"}
    report(floor, headers=lead, team="二组", expect=403)
    # The assessments judge reps: a lead's covers their own teams only.
    for kind in ("weekly", "monthly"):
        got = report(floor, kind, headers=lead).json()
        assert {r["team"] for r in got["reps"]} == {"一组"} and got["floor"] is None
    text = report(floor, headers=lead, format="csv").content.decode("utf-8-sig")
    assert "王芳" not in text and "全场合计" in text


def test_reports_need_a_lead_or_admin(floor):
    report(floor, headers=floor.auth(floor.read), expect=403)
    report(floor, headers={"Authorization": "Bearer nope"}, expect=401)
    resp = floor.client.get("/api/v1/reports/daily")
    assert resp.status_code == 401


@pytest.mark.parametrize(
    ("kind", "params", "field"),
    [
        ("daily", {"day": "2026-13-01"}, "day"),
        ("daily", {"format": "pdf"}, "format"),
        ("weekly", {"week": "2026-W60"}, "week"),
        ("monthly", {"month": "Nov"}, "month"),
        ("weekly", {"metric": "smiles"}, "metric"),
        ("daily", {"team": "三组"}, "team"),
    ],
)
def test_bad_parameters_are_refused_naming_the_field(floor, kind, params, field):
    resp = floor.call("GET", f"/api/v1/reports/{kind}", params={"day": WED, **params})
    assert resp.status_code in (404, 422), resp.text
    assert [e["field"] for e in resp.json()["errors"]] == [field]


# --- week and month ----------------------------------------------------------------------------


def test_the_week_sums_its_days_and_counts_invites_against_five(floor):
    monday = "2026-10-12"
    floor.post_calls(
        [
            *spread(
                "b1", 6, f"{monday}T10:00:00+08:00", f"{monday}T11:00:00+08:00", outcome="invite"
            ),
            *spread("a2", 3, f"{monday}T10:00:00+08:00", f"{monday}T11:00:00+08:00"),
        ]
    )
    week = report(floor, "weekly").json()
    assert (week["label"], week["first"], week["last"]) == ("2026-W42", monday, "2026-10-18")
    days = [floor.snapshot(d) for d in (monday, "2026-10-13", WED)]
    for rep in week["reps"]:
        expected = {
            m: sum(r["totals"][m] for s in days for r in s["reps"] if r["code"] == rep["code"])
            for m in METRICS
        }
        assert {m: rep[m] for m in METRICS} == expected
    reps = by_code(week["reps"])
    assert reps["b1"]["invites_by_week"] == [
        {"week": "2026-W42", "invites": 6, "target": 5, "met": True}
    ]
    assert reps["a2"]["invites_by_week"][0]["met"] is False  # the week is over: missed
    # Five working days of 300 dials: the week's target; each day's attainment in the heatmap.
    assert reps["a1"]["targets"]["dials"] == 1500
    assert reps["a1"]["daily"][WED] == round(320 / 300, 4)
    assert reps["a1"]["daily"]["2026-10-17"] is None  # a Saturday: no target


def test_three_months_under_target_flag_a_rep_for_review(floor):
    # Month targets judge everybody: a rep meets them with one order a month.
    for rep in ("a1", "a2", "b1"):
        for metric in ("dials", "talk_seconds"):
            floor.call(
                "PUT",
                "/api/v1/targets",
                json={
                    "metric": metric,
                    "period": "day",
                    "value": None,
                    "rep": rep,
                    "valid_from": "2026-01-01",
                },
            )
        floor.call(
            "PUT",
            "/api/v1/targets",
            json={
                "metric": "orders",
                "period": "month",
                "value": 1,
                "rep": rep,
                "valid_from": "2026-01-01",
            },
        )
    records = []
    for month in ("2026-07", "2026-08", "2026-09"):
        records += spread(
            "a1",
            1,
            f"{month}-15T10:00:00+08:00",
            f"{month}-15T10:01:00+08:00",
            prefix=f"a1-{month}",
            outcome="sale",
            order_value="10",
        )
        records += spread(
            "a2",
            1,
            f"{month}-15T10:00:00+08:00",
            f"{month}-15T10:01:00+08:00",
            prefix=f"a2-{month}",
        )
    records += spread(
        "b1",
        1,
        "2026-09-15T10:00:00+08:00",
        "2026-09-15T10:01:00+08:00",
        prefix="b1-sep",
        outcome="sale",
        order_value="10",
    )
    floor.post_calls(records)
    # October is over, so it is judged with August and September.
    month = report(floor, "monthly", month="2026-10").json()
    reps = by_code(month["reps"])
    assert [m["month"] for m in reps["a2"]["review"]["months"]] == ["2026-08", "2026-09", "2026-10"]
    assert reps["a2"]["review"] | {"months": None} == {"months": None, "streak": 3, "flagged": True}
    assert reps["a1"]["review"]["streak"] == 1  # orders until September, none in October
    assert reps["b1"]["review"]["streak"] == 0  # October's orders met the month
    assert month["flagged"] == ["a2"]
    # The monthly CSV says so in the review column.
    text = report(floor, "monthly", month="2026-10", format="csv").content.decode("utf-8-sig")
    a2 = next(r for r in csv.DictReader(io.StringIO(text)) if r["工号"] == "a2")
    assert a2["连续未达标月数"] == "3" and a2["考核复核"] == "连续 3 个月未达标"


def test_month_to_date_carries_the_target_and_a_projection(floor):
    month = report(floor, "monthly").json()
    a1 = by_code(month["reps"])["a1"]
    # The floor's records start on WED, so October's target counts the working days from then
    # on: 14-16, 19-23 and 26-30 October, 13 days of 300 dials.
    assert a1["targets"]["dials"] == 300 * 13
    assert a1["dials"] == 320 and a1["attainment"]["dials"] == round(320 / 3900, 4)
    assert a1["projection"]["dials"] == 320  # the month is over: what was done is the outcome


# --- the pages ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["daily", "weekly", "monthly"])
def test_report_pages_render_server_side_without_inline_script(floor, kind):
    resp = floor.client.get(f"/reports/{kind}", params={"day": WED, "token": floor.admin})
    assert resp.status_code == 200, resp.text
    html = resp.text
    assert 'id="report-table"' in html and "data-figure=" in html
    for script in re.findall(r"<script\b([^>]*)>(.*?)</script>", html, flags=re.S):
        assert "src=" in script[0] and not script[1].strip()
    assert "style=" not in html.replace("data-figure=", "")  # no inline style attributes
    assert resp.headers["cache-control"] == "no-store"


def test_report_pages_refuse_without_a_lead_with_an_html_page(floor):
    resp = floor.client.get("/reports/daily", params={"day": WED, "team": "一组"})
    assert resp.status_code == 401 and "text/html" in resp.headers["content-type"]
    # "Sign in" comes back to the same report: the day and team ride along in ?next=.
    assert "next=%2Freports%2Fdaily%3Fteam%3D%25E4%25B8%2580%25E7%25BB%2584%26day%3D2026-10-14" in (
        resp.text
    )
    resp = floor.client.get("/reports/daily", params={"token": floor.read})
    assert resp.status_code == 403 and "text/html" in resp.headers["content-type"]
    lead = floor.sign_in("lead1", teams=("一组",))
    resp = floor.client.get("/reports/daily", params={"team": "二组"}, headers=lead)
    assert resp.status_code == 403
    resp = floor.client.get("/reports/daily", params={"day": "not-a-day"}, headers=lead)
    assert resp.status_code == 422 and "is not a date (YYYY-MM-DD)" in resp.text


def test_each_teams_note_rides_on_its_subtotal_row_in_the_csv(floor):
    floor.call(
        "PUT",
        "/api/v1/reports/notes",
        json={"day": WED, "team": "一组", "problems": "=开场白太长", "plan": "明早复盘录音"},
    )
    rows = list(
        csv.DictReader(io.StringIO(report(floor, format="csv").content.decode("utf-8-sig")))
    )
    subtotal = next(r for r in rows if r["姓名"] == "一组 小计")
    assert (subtotal["员工问题"], subtotal["整改方案"]) == ("'=开场白太长", "明早复盘录音")
    assert all(r["员工问题"] == "" for r in rows if r["姓名"] != "一组 小计")


def test_the_pages_download_links_work_with_the_link_they_were_opened_with(floor):
    html = floor.client.get("/reports/daily", params={"day": WED, "token": floor.admin}).text
    link = re.search(r'id="download-csv" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert link.startswith("/reports/daily?") and "format=csv" in link
    resp = floor.client.get(link)
    assert resp.status_code == 200 and resp.content.startswith(b"\xef\xbb\xbf")
    assert resp.content == report(floor, format="csv").content
    xlsx = re.search(r'id="download-xlsx" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert floor.client.get(xlsx).headers["content-type"].startswith("application/vnd")
    # A signed-in lead's links carry no token: the session cookie is the credential.
    lead = floor.sign_in("lead1", teams=("一组",))
    html = floor.client.get("/reports/daily", params={"day": WED}, headers=lead).text
    link = re.search(r'id="download-csv" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert "token=" not in link
    text = floor.client.get(link, headers=lead).content.decode("utf-8-sig")
    assert "张伟" in text and "王芳" not in text


def test_names_reach_the_charts_as_text_never_as_markup(floor):
    name = '<a href="https://evil.example/">点我</a>'
    floor.call("PATCH", "/api/v1/reps/a1", json={"name": name})
    page_html = floor.client.get("/reports/daily", params={"day": WED, "token": floor.admin}).text
    figure = json.loads(html.unescape(re.search(r'data-figure="([^"]*)"', page_html).group(1)))
    labels = figure["layout"]["xaxis"]["ticktext"]
    # Plotly renders <a href> in labels; the name reaches it entity-escaped, shown as written.
    assert html.escape(name, quote=False) in labels
    assert not any("<a" in t for t in labels)
    assert figure["data"][0]["x"] == sorted(
        figure["data"][0]["x"], key=figure["data"][0]["x"].index
    )
    assert "a1" in figure["data"][0]["x"]  # categories are codes: two 张伟 keep a bar each


def test_a_team_name_cannot_break_the_download_filename(floor):
    floor.call("PATCH", "/api/v1/teams/一组", json={"name": 'A"0/..\\x'})
    resp = report(floor, format="csv", team='A"0/..\\x')
    disposition = resp.headers["content-disposition"]
    assert 'filename="paceboard-daily-2026-10-14-A0..x.csv"' in disposition
    assert "filename*=UTF-8''paceboard-daily-2026-10-14-A0..x.csv" in disposition


def test_the_weekly_report_lists_the_evening_plans_and_their_follow_up(floor):
    lead = floor.sign_in("lead1", teams=("一组",))
    plan = {"problem": "接通率低", "plan": "上午多拨新名单"}
    assert floor.client.put(f"/api/v1/plans/a1/{WED}", json=plan, headers=lead).status_code == 200
    assert floor.client.put(f"/api/v1/plans/b1/{WED}", json=plan).status_code == 401
    admin = floor.auth(floor.admin)
    assert floor.client.put(f"/api/v1/plans/b1/{WED}", json=plan, headers=admin).status_code == 200
    done = {"done": False}
    floor.client.put(f"/api/v1/plans/a1/{WED}/done", json=done, headers=lead)
    week = report(floor, "weekly").json()
    assert [(p["rep"], p["done"]) for p in week["plans"]] == [("a1", False), ("b1", None)]
    # A lead's assessment covers their teams' reps, and so their plans.
    mine = report(floor, "weekly", headers=lead).json()
    assert [p["rep"] for p in mine["plans"]] == ["a1"]
    page = floor.client.get("/reports/weekly", params={"day": WED}, headers=admin).text
    assert 'data-rep="a1"' in page and "未完成" in page and "上午多拨新名单" in page
