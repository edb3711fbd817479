"""The live floor kept in memory equals a full read: random streams of batches (new calls,
revisions, stale and conflicting resends, several reps and teams, both sides of an hour and of
midnight) go through the database, the in-memory floor is told only which cells each commit
changed, and after every batch it must equal ``load_snapshot`` at the same instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from app.db import writer
from app.ingest.agent_events import apply_events, parse_event
from app.ingest.batch import apply_batch
from app.ingest.records import CustomerHasher, parse_record
from app.ingest.service import IngestContext
from app.services.live_floor import LiveFloor, changed_reps
from app.services.snapshot import load_snapshot
from tests.conftest import enrol

#: Thursday 2026-11-26, 15:20 in Shanghai: the day's 15:00 hour is open, 16:00 is not yet.
NOW = datetime(2026, 11, 26, 7, 20, tzinfo=UTC)
AT = NOW.replace(second=59, microsecond=999_999)
DAY = NOW.astimezone(UTC).date()
TEAMS = {"一组": ["a1", "a2", "a3"], "二组": ["b1", "b2"], "三组": ["c1"]}
REPS = [code for codes in TEAMS.values() for code in codes]
#: Start times around the edges that matter: yesterday late (week- and month-to-date), just
#: after midnight, both sides of an hour, the open hour, and an hour that has not begun.
STARTS = [
    "2026-11-25T23:59:30+08:00",
    "2026-11-26T00:00:10+08:00",
    "2026-11-26T09:59:59+08:00",
    "2026-11-26T10:00:00+08:00",
    "2026-11-26T14:30:00+08:00",
    "2026-11-26T15:05:00+08:00",
    "2026-11-26T16:01:00+08:00",
]

_record = st.fixed_dictionaries(
    {
        "call_id": st.sampled_from([f"c{n}" for n in range(8)]),
        "rep": st.sampled_from(REPS),
        "started_at": st.sampled_from(STARTS),
        "disposition": st.sampled_from(["answered", "no_answer"]),
        "talk_seconds": st.integers(0, 600),
        "outcome": st.sampled_from(["none", "sale", "invite"]),
        "order_value": st.sampled_from(["0", "99.5", "1200"]),
        "customer": st.sampled_from(["13800138000", "13900139000", None]),
        "direction": st.sampled_from(["outbound", "inbound"]),
        "revision": st.one_of(st.none(), st.integers(0, 3)),
    }
)
_batches = st.lists(st.lists(_record, min_size=1, max_size=6), min_size=1, max_size=6)

#: Agent-state event instants: yesterday evening, both sides of an hour, the open hour, and
#: one after the view's instant (a clock ahead of the server's).
EVENT_TIMES = [
    "2026-11-25T20:00:00+08:00",
    "2026-11-26T09:30:00+08:00",
    "2026-11-26T09:59:59+08:00",
    "2026-11-26T10:00:01+08:00",
    "2026-11-26T15:10:00+08:00",
    "2026-11-26T15:21:30+08:00",
]
_event = st.fixed_dictionaries(
    {
        "event_id": st.sampled_from([f"e{n}" for n in range(10)]),
        "rep": st.sampled_from(REPS),
        "state": st.sampled_from(["logged_out", "available", "on_call", "wrap_up", "paused"]),
        "reason": st.sampled_from(["", "lunch", "break", "其他原因"]),
        "at": st.sampled_from(EVENT_TIMES),
    }
)
#: Each step: a batch of calls, or a request of agent-state events.
_steps = st.lists(
    st.one_of(
        st.tuples(st.just("calls"), st.lists(_record, min_size=1, max_size=6)),
        st.tuples(st.just("events"), st.lists(_event, min_size=1, max_size=6)),
    ),
    min_size=1,
    max_size=8,
)


def _seed(engine) -> None:
    for team, codes in TEAMS.items():
        enrol(engine, set(codes), team=team)


def _commit(engine, cfg, hasher, batch: list[dict]) -> set:
    items = [
        parse_record({k: v for k, v in r.items() if v is not None}, i, default_source="t",
                     hasher=hasher, minor_digits=2)
        for i, r in enumerate(batch)
    ]  # fmt: skip
    with writer(engine).begin() as conn:
        outcome = apply_batch(conn, items, ctx=IngestContext(cfg.tz, hasher), now=NOW)
    return changed_reps(outcome)


def _commit_events(engine, cfg, hasher, events: list[dict]) -> set[int]:
    items = [parse_event(e, i, default_source="t") for i, e in enumerate(events)]
    with writer(engine).begin() as conn:
        outcome = apply_events(conn, items, hasher=hasher, default_tz=cfg.tz, now=NOW)
    return outcome.reps


def assert_same(view: dict, full: dict) -> None:
    """``view == full``, naming the first row and field that differ when not."""
    for kind, key in (("reps", "code"), ("teams", "name")):
        rows = {r[key]: r for r in full[kind]}
        for row in view[kind]:
            other = rows.get(row[key], {})
            bad = {f: (row.get(f), other.get(f)) for f in row.keys() | other.keys()
                   if row.get(f) != other.get(f)}  # fmt: skip
            assert not bad, (kind, row[key], bad)
    assert view == full


def _call(call_id: str, rep: str) -> dict:
    """An answered call of ``rep`` in the day's 14:00 hour."""
    return {"call_id": call_id, "rep": rep, "started_at": STARTS[4], "disposition": "answered"}


def _full(engine, cfg, at=AT) -> dict:
    with engine.connect() as conn:
        return load_snapshot(
            conn, day=DAY, timezone=cfg.timezone, now=NOW, at=at, pacing=cfg.pacing
        )


@hsettings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=_batches)
def test_the_incremental_floor_equals_a_full_read_after_every_batch(engine, settings, batches):
    cfg = settings
    with writer(engine).begin() as conn:
        conn.exec_driver_sql("DELETE FROM hourly_total")
        conn.exec_driver_sql("DELETE FROM lead_day")
        conn.exec_driver_sql("DELETE FROM rep_activity")
        conn.exec_driver_sql("DELETE FROM call")
    _seed(engine)
    hasher = CustomerHasher(cfg.secret_key or "x" * 32, "86")
    live = LiveFloor(timezone=cfg.timezone, pacing=cfg.pacing)
    with engine.connect() as conn:
        live.load(conn, day=DAY, now=NOW, at=AT)
    for batch in batches:
        changed = _commit(engine, cfg, hasher, batch)
        with engine.connect() as conn:
            got = live.update(conn, changed, now=NOW, at=AT)
        assert got is not None
        view, teams = got
        assert_same(view, _full(engine, cfg))
        # Only the teams of the changed reps were rebuilt (and said so).
        assert teams <= set(TEAMS)
    later = AT + timedelta(minutes=50)  # the 16:00 hour has begun: its calls now count
    with engine.connect() as conn:
        assert live.retime(conn, now=NOW, at=later) == _full(engine, cfg, at=later)


@hsettings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=_steps)
def test_agent_states_kept_per_rep_equal_a_full_read_after_every_step(engine, settings, steps):
    cfg = settings
    with writer(engine).begin() as conn:
        for table in ("hourly_total", "lead_day", "rep_activity", "call", "agent_now",
                      "state_total", "agent_event"):  # fmt: skip
            conn.exec_driver_sql(f"DELETE FROM {table}")
    _seed(engine)
    hasher = CustomerHasher(cfg.secret_key or "x" * 32, "86")
    live = LiveFloor(timezone=cfg.timezone, pacing=cfg.pacing)
    with engine.connect() as conn:
        live.load(conn, day=DAY, now=NOW, at=AT)
    for kind, batch in steps:
        before = {r["code"]: r for r in live.snapshot["reps"]}
        with engine.connect() as conn:
            if kind == "calls":
                got = live.update(conn, _commit(engine, cfg, hasher, batch), now=NOW, at=AT)
            else:
                got = live.update_states(
                    conn, _commit_events(engine, cfg, hasher, batch), now=NOW, at=AT
                )
        assert got is not None
        view, _ = got
        assert_same(view, _full(engine, cfg))
        if kind == "events":  # a state change costs its reps' rows: the others are untouched
            posted = {e["rep"] for e in batch}
            assert all(r is before[r["code"]] for r in view["reps"] if r["code"] not in posted)
    later = AT + timedelta(minutes=50)  # the open intervals run on; the 16:00 hour begins
    with engine.connect() as conn:
        assert_same(live.retime(conn, now=NOW, at=later), _full(engine, cfg, at=later))


def test_a_rep_new_to_the_board_asks_for_a_full_read(engine, settings):
    _seed(engine)
    hasher = CustomerHasher(settings.secret_key or "x" * 32, "86")
    live = LiveFloor(timezone=settings.timezone, pacing=settings.pacing)
    with engine.connect() as conn:
        live.load(conn, day=DAY, now=NOW, at=AT)
    enrol(engine, {"d1"}, team="一组")
    changed = _commit(engine, settings, hasher, [_call("n1", "d1")])
    with engine.connect() as conn:
        assert live.update(conn, changed, now=NOW, at=AT) is None
        assert live.retime(conn, now=NOW, at=AT) is None  # the roster moved
        assert live.load(conn, day=DAY, now=NOW, at=AT) == _full(engine, settings)


def test_an_unresolved_agents_calls_change_nothing_on_the_board(engine, settings):
    _seed(engine)
    hasher = CustomerHasher(settings.secret_key or "x" * 32, "86")
    live = LiveFloor(timezone=settings.timezone, pacing=settings.pacing)
    with engine.connect() as conn:
        before = live.load(conn, day=DAY, now=NOW, at=AT)
    changed = _commit(engine, settings, hasher, [_call("u1", "8099")])
    assert changed  # stored, for an unresolved agent
    with engine.connect() as conn:
        assert live.update(conn, changed, now=NOW, at=AT) == (before, set())


def test_a_quiet_retime_reads_no_cells_but_notices_a_write_behind_its_back(engine, settings):
    _seed(engine)
    hasher = CustomerHasher(settings.secret_key or "x" * 32, "86")
    live = LiveFloor(timezone=settings.timezone, pacing=settings.pacing)
    _commit(engine, settings, hasher, [_call("q1", "a1")])
    with engine.connect() as conn:
        live.load(conn, day=DAY, now=NOW, at=AT)
        assert live.retime(conn, now=NOW, at=AT) == _full(engine, settings)
    # Written without telling the model (as a CLI import in another process would).
    _commit(engine, settings, hasher, [_call("q2", "b1")])
    with engine.connect() as conn:
        assert live.retime(conn, now=NOW, at=AT) is None
