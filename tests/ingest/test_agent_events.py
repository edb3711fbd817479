"""Agent-state events stored once each, with time in state kept exact in any arrival order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import sqlalchemy as sa
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from app.db import writer
from app.floor.agent_state import STATES
from app.ingest import rebuild
from app.ingest.agent_events import apply_events, parse_event
from app.ingest.batch import apply_batch
from app.ingest.rebuild import recompute_states, stored_states
from app.ingest.records import CustomerHasher, parse_record
from app.ingest.service import IngestContext
from app.models import AgentNow, Rep
from tests.conftest import enrol, new_token

NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai: midnight in reach
HASHER = CustomerHasher("k" * 32, "86")


def post(engine, settings, *records: dict) -> dict:
    items = [parse_event(r, i, default_source="t") for i, r in enumerate(records)]
    with writer(engine).begin() as conn:
        outcome = apply_events(conn, items, hasher=HASHER, default_tz=settings.tz, now=NOW)
    return {**outcome.counts(), "results": outcome.results}


def event(rep: str, state: str, minutes: int, **extra) -> dict:
    at = (NOW - timedelta(hours=2) + timedelta(minutes=minutes)).isoformat()
    return {"rep": rep, "state": state, "at": at, **{k: v for k, v in extra.items() if v}}


_event = st.builds(
    event,
    rep=st.sampled_from(["r1", "r2"]),
    state=st.sampled_from(STATES),
    minutes=st.integers(0, 200),
    reason=st.sampled_from(["lunch", "休息", "x"]),
    source=st.sampled_from(["ami", "rest"]),
    # Ids a collation would order unlike Python does ("B" < "a" by code point).
    event_id=st.sampled_from([None, "a", "B", "b2", "~0"]),
)


@hsettings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=st.lists(st.lists(_event, min_size=1, max_size=5), min_size=1, max_size=5))
def test_time_in_state_kept_per_batch_equals_a_rebuild_from_the_events(engine, settings, batches):
    """Events in any order, late ones included, across local hours and midnight, resent ones
    too: the stored seconds per (rep, day, hour, state, reason) equal a rebuild from the
    stored events after every batch."""
    enrol(engine, {"r1", "r2"})
    with writer(engine).begin() as conn:  # hypothesis reuses the database between examples
        for table in ("state_total", "agent_now", "agent_event"):
            conn.execute(sa.text(f"DELETE FROM {table}"))
    for batch in batches:
        post(engine, settings, *batch)
        with engine.connect() as conn:
            assert stored_states(conn) == recompute_states(conn, settings.tz)
            assert rebuild.check_now(conn) == []


def test_a_resent_event_is_a_duplicate_and_changes_nothing(engine, settings):
    enrol(engine, {"r1"})
    first = [event("r1", "available", 0), event("r1", "paused", 30, reason="lunch")]
    assert post(engine, settings, *first)["created"] == 2
    with engine.connect() as conn:
        before = stored_states(conn)
    again = post(engine, settings, *first, event("r1", "on_call", 40, event_id="e9"))
    assert (again["created"], again["duplicate"]) == (1, 2)
    assert post(engine, settings, event("r1", "wrap_up", 41, event_id="e9"))["duplicate"] == 1
    with engine.connect() as conn:
        assert stored_states(conn) != before == {(k[0], *k[1:]): v for k, v in before.items()}
        assert stored_states(conn) == recompute_states(conn, settings.tz)


def test_a_pause_keeps_its_reason_and_other_states_drop_one(engine, settings):
    enrol(engine, {"r1"})
    post(
        engine,
        settings,
        event("r1", "paused", 0, reason="自定义原因"),
        event("r1", "available", 10, reason="ignored"),
        event("r1", "logged_out", 25),
    )
    with engine.connect() as conn:
        got = {(k[3], k[4]): v for k, v in stored_states(conn).items()}
    assert got == {("paused", "自定义原因"): 600, ("available", ""): 900}


def test_bad_events_are_rejected_alone_naming_the_field(engine, settings):
    enrol(engine, {"r1"})
    got = post(
        engine,
        settings,
        event("r1", "available", 0),
        event("r1", "asleep", 5),
        {"rep": "r1", "state": "paused", "at": "2026-11-26T10:00:00"},  # no offset
        event("r1", "on_call", 5, at="1999-12-31T23:00:00+08:00"),
        "not an object",
    )
    assert got["created"] == 1 and got["rejected"] == 4
    fields = [r["errors"][0]["field"] for r in got["results"] if r["status"] == "rejected"]
    assert fields == ["state", "at", "at", "record"]
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM ingest_reject")).scalar() == 4


def test_a_phone_number_never_becomes_a_rep_and_an_unknown_agent_is_kept_unresolved(
    engine, settings
):
    got = post(engine, settings, event("13800138000", "available", 0), event("x77", "paused", 1))
    (phone, unknown) = got["results"]
    assert phone["status"] == "rejected" and "phone number" in phone["errors"][0]["reason"]
    assert unknown["status"] == "created"
    with engine.connect() as conn:
        codes = set(conn.execute(sa.select(Rep.code)).scalars())
        payload = conn.execute(sa.text("SELECT payload FROM ingest_reject")).scalar()
    assert "x77" in codes and not any("13800138000" in c for c in codes)
    assert "13800138000" not in payload


# --- POST /api/v1/agent-events ---------------------------------------------------------------


def post_events(api, body, *, token=None, expect=200, **kw) -> dict:
    resp = api.client.post(
        "/api/v1/agent-events", json=body, headers=api.auth(token or api.ingest), **kw
    )
    assert resp.status_code == expect, resp.text
    return resp.json()


def test_the_endpoint_takes_an_object_an_array_and_ndjson_and_answers_per_event(api, settings):
    enrol(api.engine, {"r1"})
    assert post_events(api, event("r1", "available", 0))["created"] == 1
    got = post_events(api, [event("r1", "paused", 10, reason="lunch"), event("r1", "bad", 11)])
    assert [r["status"] for r in got["results"]] == ["created", "rejected"]
    assert got["results"][1]["errors"][0]["field"] == "state"
    lines = "\n".join(orjson.dumps(e).decode() for e in [event("r1", "on_call", 20), {"x": 1}])
    resp = api.client.post(
        "/api/v1/agent-events",
        content=lines,
        headers={**api.auth(api.ingest), "Content-Type": "application/x-ndjson"},
    )
    got = resp.json()
    assert (got["created"], got["rejected"]) == (1, 1)
    assert [r.get("line") for r in got["results"]] == [1, 2]
    with api.engine.connect() as conn:
        assert stored_states(conn) == recompute_states(conn, settings.tz)
        spent = {(k[3], k[4]): v for k, v in stored_states(conn).items()}
    assert spent == {("available", ""): 600, ("paused", "lunch"): 600}


def test_the_endpoint_needs_an_ingest_token_held_to_its_source(api, engine):
    enrol(engine, {"r1"})
    post_events(api, event("r1", "available", 0), token=api.read, expect=403)
    post_events(api, event("r1", "available", 0), token="pb_nope", expect=401)
    held = new_token(engine, "ingest", source="ami")
    got = post_events(api, [event("r1", "available", 0), event("r1", "paused", 1, source="x")],
                      token=held)  # fmt: skip
    assert [r["status"] for r in got["results"]] == ["created", "rejected"]
    assert got["results"][1]["errors"][0]["field"] == "source"


# --- calls in progress -----------------------------------------------------------------------


def post_calls(engine, settings, *records: dict):
    items = [
        parse_record(r, i, default_source="pbx", hasher=HASHER, minor_digits=2)
        for i, r in enumerate(records)
    ]
    ctx = IngestContext(settings.tz, HASHER)
    with writer(engine).begin() as conn:
        return apply_batch(conn, items, ctx=ctx, now=NOW)


def present(engine) -> dict[str, tuple[str, datetime]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(Rep.code, AgentNow.state, AgentNow.at).join(Rep, Rep.id == AgentNow.rep_id)
        ).all()
    return {code: (state, at.astimezone(UTC)) for code, state, at in rows}


def test_a_call_without_an_end_puts_its_rep_on_a_call_until_it_is_completed(engine, settings):
    enrol(engine, {"r1"})
    start = NOW - timedelta(minutes=30)
    call = {
        "call_id": "c1",
        "rep": "r1",
        "started_at": start.isoformat(),
        "disposition": "answered",
    }
    outcome = post_calls(engine, settings, call)
    assert outcome.states == {outcome_rep(engine, "r1")}
    assert present(engine) == {"r1": ("on_call", start)}
    end = start + timedelta(minutes=12, seconds=5)
    done = {**call, "ended_at": end.isoformat(), "revision": 1}
    assert post_calls(engine, settings, done).counts()["updated"] == 1
    assert present(engine) == {"r1": ("available", end)}
    with engine.connect() as conn:
        spent = {k[3]: v for k, v in stored_states(conn).items()}
        assert stored_states(conn) == recompute_states(conn, settings.tz)
    assert spent == {"on_call": 12 * 60 + 5}


def test_a_call_posted_complete_says_nothing_of_its_reps_state(engine, settings):
    enrol(engine, {"r1"})
    start = NOW - timedelta(minutes=30)
    end = start + timedelta(minutes=2)
    call = {"call_id": "c2", "rep": "r1", "disposition": "answered",
            "started_at": start.isoformat(), "ended_at": end.isoformat()}  # fmt: skip
    assert post_calls(engine, settings, call).states == set()
    # Without an end, but with talk time, unanswered, or begun more than four hours ago: done.
    open_ = {"rep": "r1", "disposition": "answered", "started_at": start.isoformat()}
    old = (NOW - timedelta(hours=4, seconds=1)).isoformat()
    for n, extra in enumerate(
        [{"talk_seconds": 30}, {"disposition": "no_answer"}, {"started_at": old}]
    ):
        assert post_calls(engine, settings, {**open_, "call_id": f"d{n}", **extra}).states == set()
    assert present(engine) == {}


def outcome_rep(engine, code: str) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(Rep.id).where(Rep.code == code)).scalar_one()


def test_an_unknown_agents_events_follow_the_identifier_to_the_rep_who_claims_it(api, settings):
    """Events of an extension no rep has wait with its unresolved agent; a rep created with
    that identifier takes them, and their time and present state are recounted as theirs."""
    enrol(api.engine, {"r1"}, team="一组")
    events = [
        event("8011", "available", 0),
        event("8011", "paused", 30, reason="lunch"),
        event("r1", "on_call", 5),
    ]
    assert post_events(api, events)["created"] == 3
    body = {"code": "r9", "name": "新人", "team": "一组", "identifiers": ["8011"]}
    resp = api.client.post("/api/v1/reps", json=body, headers=api.auth(api.admin))
    assert resp.status_code == 201, resp.text
    with api.engine.connect() as conn:
        assert stored_states(conn) == recompute_states(conn, settings.tz)
        assert rebuild.check_now(conn) == []
        codes = dict(conn.execute(sa.select(Rep.id, Rep.code)).all())
        spent = {(codes[k[0]], k[3]): v for k, v in stored_states(conn).items()}
    assert spent == {("r9", "available"): 30 * 60}
    assert present(api.engine) == {
        "r9": ("paused", NOW - timedelta(hours=2) + timedelta(minutes=30)),
        "r1": ("on_call", NOW - timedelta(hours=2) + timedelta(minutes=5)),
    }
