"""The reports agree with the live snapshot to the unit, whatever the calls: a property over
random calls on random days spanning a month's and a week's boundary, on both engines."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.db import session_scope, writer
from app.floor.metrics import METRICS
from app.floor.pacing import period_days
from app.ingest.batch import apply_batch
from app.ingest.records import CustomerHasher, parse_record
from app.ingest.service import IngestContext
from app.labels import catalog
from app.reports.files import to_csv
from app.reports.tables import daily_table
from app.services import reports
from app.services.roster import create_rep, create_team
from app.services.snapshot import load_snapshot
from tests.conftest import SECRET, TEAM_DEFAULTS

TZ = ZoneInfo("Asia/Shanghai")
HASHER = CustomerHasher(SECRET)
CTX = IngestContext(default_tz=TZ, hasher=HASHER)
FIRST = date(2026, 10, 26)  # a Monday; the days run into November
DAYS = [FIRST + timedelta(days=n) for n in range(14)]
NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)  # after every drawn day
ROSTER = (("a1", "甲", "一组"), ("a2", "乙", "一组"), ("b1", "丙", "二组"))
TABLES = ("report_note", "alert", "rep_activity", "lead_day", "hourly_total", "call")
TABLES += ("ingest_reject", "rep_identifier", "rep", "team")
PROPERTY = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@st.composite
def calls(draw):
    day = draw(st.sampled_from(DAYS))
    minute = draw(st.integers(8 * 60, 19 * 60))
    started = datetime.combine(day, datetime.min.time(), TZ) + timedelta(minutes=minute)
    outcome = draw(st.sampled_from(["none", "sale", "invite", "callback"]))
    return {
        "call_id": f"c{draw(st.integers(0, 60))}",
        "rep": draw(st.sampled_from(["a1", "a2", "b1", "x9"])),  # x9: not on the roster yet
        "started_at": started.isoformat(),
        "disposition": draw(st.sampled_from(["answered", "no_answer", "busy"])),
        "talk_seconds": draw(st.integers(0, 600)),
        "outcome": outcome,
        "order_value": draw(st.sampled_from(["0", "99.90", "1500"])),
        "customer": draw(st.sampled_from(["13800000001", "13800000002", "+86 138 0000 0003"])),
    }


def _reset_and_store(engine, records) -> None:
    with writer(engine).begin() as conn:
        for table in TABLES:
            conn.execute(sa.text(f"DELETE FROM {table}"))
    with session_scope(engine) as session:
        for team in ("一组", "二组"):
            create_team(session, name=team, defaults=TEAM_DEFAULTS)
        for code, name, team in ROSTER:
            create_rep(
                session,
                code=code,
                name=name,
                team=team,
                hired_on=date(2026, 1, 5),
                ingest=CTX,
            )
    with writer(engine).begin() as conn:
        posts = [
            parse_record(r, i, default_source="pbx", hasher=HASHER, minor_digits=2)
            for i, r in enumerate(records)
        ]
        apply_batch(conn, posts, ctx=CTX, now=NOW)


def _snapshot(conn, day, pacing):
    return load_snapshot(conn, day=day, timezone="Asia/Shanghai", now=NOW, pacing=pacing)


def _by(rows, key):
    return {r[key]: {m: r[m] for m in METRICS} for r in rows}


@PROPERTY
@given(records=st.lists(calls(), max_size=60), day=st.sampled_from(DAYS))
def test_the_daily_report_is_the_snapshot_of_its_day(engine, settings, records, day):
    _reset_and_store(engine, records)
    pacing = settings.pacing
    with engine.connect() as conn:
        got = reports.daily(conn, day=day, now=NOW, pacing=pacing)
        snap = _snapshot(conn, day, pacing)
    assert _by(got["reps"], "code") == {r["code"]: r["totals"] for r in snap["reps"]}
    assert _by(got["teams"], "name") == {t["name"]: t["totals"] for t in snap["teams"]}
    assert {m: got["floor"][m] for m in METRICS} == snap["floor"]["totals"]


@PROPERTY
@given(
    records=st.lists(calls(), max_size=60),
    day=st.sampled_from(DAYS),
    period=st.sampled_from(["week", "month"]),
)
def test_a_week_or_month_is_the_sum_of_its_days_snapshots(engine, settings, records, day, period):
    _reset_and_store(engine, records)
    pacing = settings.pacing
    first, last = period_days(period, day)
    with engine.connect() as conn:
        got = reports.assessment(conn, period=period, day=day, now=NOW, pacing=pacing)
        expected: dict[str, dict[str, int]] = {}
        d = first
        while d <= last:
            for rep in _snapshot(conn, d, pacing)["reps"]:
                acc = expected.setdefault(rep["code"], dict.fromkeys(METRICS, 0))
                for m in METRICS:
                    acc[m] += rep["totals"][m]
            d += timedelta(days=1)
    reps = _by(got["reps"], "code")
    # Every rep with a call in the period is listed (and the active roster besides).
    for code, totals in expected.items():
        if any(totals.values()):
            assert reps[code] == totals
    for code, totals in reps.items():
        assert totals == expected.get(code, dict.fromkeys(METRICS, 0))
    floor = {m: sum(t[m] for t in expected.values()) for m in METRICS}
    assert {m: got["floor"][m] for m in METRICS} == floor


def _seconds(hms: str) -> int:
    h, m, s = (int(x) for x in hms.split(":"))
    return h * 3600 + m * 60 + s


@PROPERTY
@given(
    records=st.lists(calls(), max_size=60),
    day=st.sampled_from(DAYS),
    minute=st.integers(0, 24 * 60),
    lang=st.sampled_from(["zh", "en"]),
)
def test_the_csv_read_back_is_the_snapshot_even_during_the_day(
    engine, settings, records, day, minute, lang
):
    """The CSV a lead opens in Excel, parsed back (h:mm:ss, major units, headers in either
    language), holds the snapshot's figures, also for a day still in progress at ``now``."""
    _reset_and_store(engine, records)
    now = datetime.combine(day, datetime.min.time(), TZ) + timedelta(minutes=minute)
    with engine.connect() as conn:
        got = reports.daily(conn, day=day, now=now, pacing=settings.pacing)
        snap = load_snapshot(
            conn, day=day, timezone="Asia/Shanghai", now=now, pacing=settings.pacing
        )
    t = catalog()[lang]
    rows = list(csv.DictReader(io.StringIO(to_csv(daily_table(got, lang)).decode("utf-8-sig"))))
    by_code = {r[t["code"]]: r for r in rows if r[t["code"]]}
    for rep in snap["reps"]:
        row, totals = by_code[rep["code"]], rep["totals"]
        assert int(row[t["dials"]]) == totals["dials"]
        assert int(row[t["connects"]]) == totals["connects"]
        assert _seconds(row[t["talk_seconds"]]) == totals["talk_seconds"]
        assert round(float(row[t["revenue"]]) * 100) == totals["revenue"]
        assert int(row[t["orders"]]) == totals["orders"]
    floor = next(r for r in rows if r[t["name"]] == t["floor_total"])
    assert int(floor[t["dials"]]) == snap["floor"]["totals"]["dials"]
    assert round(float(floor[t["revenue"]]) * 100) == snap["floor"]["totals"]["revenue"]
