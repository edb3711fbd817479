"""Invariants of the totals, whatever order, duplication or correction the events come in."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.db import writer
from app.floor.agents import hashed_agent_code
from app.ingest import rebuild
from app.ingest.batch import apply_batch
from app.ingest.records import CustomerHasher, parse_patch, parse_record
from app.ingest.service import CALL, IngestContext
from app.services import agents
from tests.conftest import SECRET, enrol

HASHER = CustomerHasher(SECRET)
CTX = IngestContext(default_tz=ZoneInfo("Asia/Shanghai"), hasher=HASHER)
#: The same context on each path: every posted batch per record, or every one set-based.
PATHS = {
    "each": dataclasses.replace(CTX, bulk_from=10**9),
    "bulk": dataclasses.replace(CTX, bulk_from=0),
}
BASE = datetime(2026, 11, 26, 0, 30, tzinfo=UTC)  # 08:30 in Shanghai
TABLES = (
    "alert",
    "rep_activity",
    "lead_day",
    "hourly_total",
    "call",
    "agent_now",
    "state_total",
    "agent_event",
    "ingest_reject",
    "rep_identifier",
    "rep",
    "team",
)
PROPERTY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _ts(minutes: int) -> str:
    return (BASE + timedelta(minutes=minutes)).isoformat()


@st.composite
def records(draw):
    """A posted record from small pools, so ids, reps, customers and hours collide often."""
    start = draw(st.integers(0, 10 * 60))
    rec = {
        "call_id": draw(st.sampled_from(["c0", "c1", "c2", "c3", "c4"])),
        # r3 and a number (sometimes the customer's own) are on no rep: unresolved agents.
        "rep": draw(st.sampled_from(["r1", "r2", "r3", "13800000002"])),
        "started_at": _ts(start),
        "disposition": draw(st.sampled_from(["answered", "no_answer", "busy", "failed"])),
    }
    optional = {
        "revision": st.integers(0, 4),
        "direction": st.sampled_from(["outbound", "inbound", "internal"]),
        "talk_seconds": st.integers(0, 900),
        "outcome": st.sampled_from(["none", "sale", "invite", "callback"]),
        "order_value": st.sampled_from(["0", "99.90", "1500", 12.5]),
        "customer": st.sampled_from(["+86 138 0000 0001", "13800000002", "0086 138 0000 0003"]),
        "ended_at": st.integers(-5, 30).map(lambda d: _ts(start + d)),  # sometimes before start
        "source": st.sampled_from(["pbx", "crm"]),
    }
    for name, strategy in optional.items():
        if draw(st.booleans()):
            rec[name] = draw(strategy)
    if draw(st.integers(0, 15)) == 0:
        rec["started_at"] = rec["started_at"][:19]  # naive: rejected
    return rec


@st.composite
def patches(draw):
    body = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "outcome": st.sampled_from(["sale", "none", "invite"]),
                "order_value": st.sampled_from(["10", "250.5"]),
                "disposition": st.sampled_from(["answered", "busy"]),
                "direction": st.sampled_from(["outbound", "inbound", "internal"]),
                "started_at": st.integers(0, 600).map(_ts),
                "rep": st.sampled_from(["r1", "r2"]),
                "customer": st.sampled_from(["13800000001", "13800000009"]),
            },
        )
    )
    return (
        "patch",
        draw(st.sampled_from(["default", "pbx"])),
        draw(st.sampled_from(["c0", "c1", "c2"])),
        body,
    )


def _reset(engine) -> None:
    with writer(engine).begin() as conn:
        for t in TABLES:
            conn.execute(sa.text(f"DELETE FROM {t}"))
    enrol(engine, {"r1", "r2"})


@pytest.fixture(params=sorted(PATHS))
def ctx(request) -> IngestContext:
    """The ingest context of one path (the property holds on each)."""
    return PATHS[request.param]


def _run(engine, ops, splits, ctx: IngestContext = CTX) -> list:
    """Apply ops in consecutive transactions of the drawn sizes; every result, in order."""
    i, now = 0, BASE + timedelta(hours=12)
    results: list = []
    for size in [*splits, len(ops)]:
        batch, i = ops[i : i + size], i + size
        if not batch:
            continue
        with writer(engine).begin() as conn:
            posts: list = []
            for op in [*batch, None]:
                if isinstance(op, dict):
                    posts.append(
                        parse_record(
                            op, len(posts), default_source="default", hasher=HASHER, minor_digits=2
                        )
                    )
                    continue
                if posts:
                    results += apply_batch(conn, posts, ctx=ctx, now=now).results
                    posts = []
                if op is not None:
                    _, source, call_id, body = op
                    item = parse_patch(
                        body, source=source, call_id=call_id, hasher=HASHER, minor_digits=2
                    )
                    outcome = apply_batch(conn, [item], ctx=ctx, now=now, require_existing=True)
                    results += outcome.results
    return [r.as_dict() for r in results]


def _cells_by_code(conn) -> dict:
    codes = dict(conn.execute(sa.text("SELECT id, code FROM rep")).all())
    return {(codes[r], d, h): v for (r, d, h), v in rebuild.stored(conn).items()}


@PROPERTY
@given(
    ops=st.lists(st.one_of(records(), records(), patches()), min_size=1, max_size=40),
    splits=st.lists(st.integers(1, 10), max_size=6),
)
def test_totals_equal_a_recomputation_from_the_stored_calls(engine, ctx, ops, splits):
    _reset(engine)
    _run(engine, ops, splits, ctx)
    with engine.connect() as conn:
        assert rebuild.check(conn) == []
        once = _cells_by_code(conn)
    # The same events, each delivered twice in a row (a retrying PBX), end in the same totals.
    _reset(engine)
    _run(engine, [op for op in ops for _ in (1, 2)], splits, ctx)
    with engine.connect() as conn:
        assert rebuild.check(conn) == []
        assert _cells_by_code(conn) == once


@PROPERTY
@given(
    ops=st.lists(st.one_of(records(), records(), patches()), min_size=1, max_size=30),
    splits=st.lists(st.integers(1, 10), max_size=4),
)
def test_claiming_unresolved_agents_moves_their_calls_and_keeps_the_totals_exact(
    engine, ctx, ops, splits
):
    _reset(engine)
    _run(engine, ops, splits, ctx)
    with engine.connect() as conn:
        before = conn.execute(sa.text("SELECT count(*) FROM call")).scalar_one()
    with writer(engine).begin() as conn:
        agents.claim(
            conn, rep_code="r1", identifiers=["r3", "+86 138 0000 0002"], ctx=CTX, now=BASE
        )
    with engine.connect() as conn:
        assert rebuild.check(conn) == []
        assert conn.execute(sa.text("SELECT count(*) FROM call")).scalar_one() == before
        stranded = conn.execute(
            sa.text(
                "SELECT count(*) FROM call JOIN rep ON rep.id = call.rep_id"
                " WHERE rep.team_id IS NULL AND rep.name IN ('r3', :h)"
            ),
            {"h": hashed_agent_code("13800000002", HASHER)},
        ).scalar_one()
        assert stranded == 0


@PROPERTY
@given(data=st.data())
def test_full_revisions_in_any_order_end_at_the_highest(engine, ctx, data):
    _reset(engine)
    revs = data.draw(st.lists(records(), min_size=1, max_size=6))
    full = []
    for rev, r in enumerate(revs, start=1):
        r = {
            **r,
            "call_id": "x",
            "source": "pbx",
            "revision": rev,
            "started_at": r["started_at"][:19] + "+00:00",
            "direction": r.get("direction", "outbound"),
            "talk_seconds": r.get("talk_seconds", 0),
            "outcome": r.get("outcome", "none"),
            "order_value": r.get("order_value", "0"),
            "customer": r.get("customer", "13800000001"),
        }
        r.pop("ended_at", None)
        full.append(r)
    shuffled = data.draw(st.permutations(full))
    _run(engine, shuffled, data.draw(st.lists(st.integers(1, 3), max_size=3)), ctx)
    with engine.connect() as conn:
        got = conn.execute(
            sa.select(CALL.c.revision, CALL.c.started_at, CALL.c.talk_seconds, CALL.c.disposition)
        ).one()
        cells = _cells_by_code(conn)
    top = full[-1]
    assert got.revision == top["revision"]
    assert got.started_at == datetime.fromisoformat(top["started_at"])
    assert (got.talk_seconds, got.disposition) == (top["talk_seconds"], top["disposition"])
    _reset(engine)
    _run(engine, [top], [], ctx)
    with engine.connect() as conn:
        assert _cells_by_code(conn) == cells


def _stored_rows(conn) -> dict[str, list]:
    """Every row the ingest writes, keyed by what a row means (rep codes, not ids: the two
    runs number their rows apart), sorted."""
    code = "(SELECT code FROM rep WHERE rep.id = t.rep_id)"
    queries = {
        "call": f"SELECT source, external_id, revision, {code}, direction, started_at,"
        " answered_at, ended_at, talk_seconds, disposition, outcome, order_value, customer_key,"
        " local_day, local_hour, received_at, updated_at FROM call t",
        "hourly_total": f"SELECT {code}, day, hour, * FROM hourly_total t",
        "lead_day": f"SELECT {code}, day, customer_key, first_dial_hour, first_connect_hour"
        " FROM lead_day t",
        "rep_activity": f"SELECT {code}, day, last_dial_at FROM rep_activity t",
        "agent_event": f"SELECT {code}, at, source, event_key, state FROM agent_event t",
        "ingest_reject": "SELECT source, call_id, payload, errors FROM ingest_reject",
        "rep": "SELECT code, name, team_id IS NULL FROM rep",
        "rep_identifier": "SELECT identifier, (SELECT code FROM rep WHERE rep.id = rep_id)"
        " FROM rep_identifier",
    }
    out = {}
    for table, sql in queries.items():
        rows = [tuple(r) for r in conn.execute(sa.text(sql))]
        if table == "hourly_total":  # the cell's own rep_id column numbers apart too
            rows = [r[:3] + r[4 + 3 :] for r in rows]
        out[table] = sorted(rows, key=repr)
    return out


@st.composite
def streams(draw):
    """Records and patches, with some records sent again later: as they were, with a newer
    revision (a duplicate that keeps it), or an older one (stale)."""
    ops = draw(st.lists(st.one_of(records(), records(), patches()), min_size=1, max_size=30))
    sent = [op for op in ops if isinstance(op, dict)]
    for _ in range(draw(st.integers(0, 10)) if sent else 0):
        again = dict(draw(st.sampled_from(sent)))
        rev = again.get("revision", 0)
        again["revision"] = draw(st.sampled_from([rev, rev + 1, max(0, rev - 1)]))
        ops.insert(draw(st.integers(0, len(ops))), again)
    return ops


@PROPERTY
@given(ops=streams(), splits=st.lists(st.integers(1, 12), max_size=5))
def test_the_bulk_path_stores_what_the_per_record_path_stores_and_answers_alike(
    engine, ops, splits
):
    stored, answered = {}, {}
    for path, ctx in PATHS.items():
        _reset(engine)
        answered[path] = _run(engine, ops, splits, ctx)
        with engine.connect() as conn:
            stored[path] = _stored_rows(conn)
    assert answered["bulk"] == answered["each"]
    for table, rows in stored["each"].items():
        assert stored["bulk"][table] == rows, table
