"""`paceboard listen ami`: AMI events become agent-state events of the right agent (never a
customer's number), reconnects back off, and the events reach a real Paceboard server.

The AMI side is a scripted peer on a loopback socket speaking the documented protocol (banner,
Login, Ping, events); the server side is `paceboard serve` itself. The engine plays no part,
so the server runs on SQLite only.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from app.commands.listen import DEFAULT_AGENT_PATTERN
from app.floor.agent_state import default_pause_reasons, parse_pause_reasons
from app.listen.ami import (
    AmiAddress,
    AmiListener,
    Backoff,
    Change,
    Poster,
    Rules,
    event_id,
    event_time,
    extension,
    listen,
    pause_code,
    payload,
    rules_for,
    state_changes,
)
from tests.conftest import ROOT, SQLITE_ONLY, enrol, new_token

RULES = rules_for(DEFAULT_AGENT_PATTERN, default_pause_reasons())
NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
USER, SECRET = "paceboard", "s3cret-never-logged"
CUSTOMER = "13800138000"


@pytest.fixture
def logs(caplog) -> Iterator[pytest.LogCaptureFixture]:
    """Every line the listener (and panoramisk under it) writes, even when logging was set up
    with paceboard's loggers not propagating."""
    logger = logging.getLogger("paceboard.listen")
    old = logger.level, logger.propagate
    logger.addHandler(caplog.handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False  # each line once, whatever the root logger holds
    yield caplog
    logger.setLevel(old[0])
    logger.propagate = old[1]
    logger.removeHandler(caplog.handler)


# --- the mapping ----------------------------------------------------------------------------


def ami(event: str, at: float | None = None, **headers: str) -> dict[str, str]:
    """An AMI event's headers (``Timestamp`` when ``at`` is given: seconds after NOW)."""
    out = {"Event": event, "Privilege": "agent,all"}
    if at is not None:
        out["Timestamp"] = f"{NOW.timestamp() + at:.6f}"
    return out | headers


def found(message: dict[str, Any], rules: Rules = RULES) -> list[tuple[str, str, str]]:
    return [(c.rep, c.state, c.reason) for c in state_changes(message, rules, NOW)]


@pytest.mark.parametrize(
    ("value", "ext"),
    [
        ("PJSIP/1001-0000002a", "1001"),
        ("Local/1001@agents", "1001"),
        ("Local/1001@agents-00000001;1", "1001"),
        ("Local/1001@agents/n", "1001"),
        ("SIP/1001", "1001"),
        ("SIP/1001-00000a53", "1001"),
        ("Agent/1001", "1001"),
        ("1001", "1001"),
        (" 1001 ", "1001"),
        ("PJSIP/carrier-0000002b", "carrier"),
    ],
)
def test_an_interface_channel_or_agent_id_reduces_to_the_extension(value, ext):
    assert extension(value) == ext


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (ami("AgentLogin", Agent="1001", Channel="PJSIP/1001-00000001"), [("1001", "available")]),
        (ami("AgentLogoff", Agent="1001", Logintime="300"), [("1001", "logged_out")]),
        (ami("Agentlogoff", Agent="Agent/1001"), [("1001", "logged_out")]),  # Asterisk 1.8
        (
            ami("QueueMemberStatus", Interface="PJSIP/1001", MemberName="Alice", Status="1"),
            [("1001", "available")],
        ),
        (ami("QueueMemberStatus", Interface="PJSIP/1001", Status="2"), [("1001", "on_call")]),
        (ami("QueueMemberStatus", Interface="PJSIP/1001", Status="6"), [("1001", "ringing")]),
        (ami("QueueMemberStatus", Interface="PJSIP/1001", Status="5"), [("1001", "logged_out")]),
        (ami("QueueMemberStatus", Interface="PJSIP/1001", Status="4"), [("1001", "logged_out")]),
        (ami("QueueMemberStatus", Interface="PJSIP/1001", Status="INUSE"), [("1001", "on_call")]),
        (ami("QueueMemberStatus", Interface="PJSIP/1001", Status="0"), []),  # UNKNOWN
        (
            ami("QueueMemberStatus", Interface="PJSIP/1001", Status="1", Paused="1"),
            [("1001", "paused")],
        ),
        (
            ami(
                "QueueMemberStatus", MemberName="1002", Interface="Local/1002@agents/n", Status="2"
            ),
            [("1002", "on_call")],
        ),
        (ami("QueueMemberPause", Interface="PJSIP/1001", Paused="0"), [("1001", "available")]),
        (ami("QueueMemberPause", Interface="PJSIP/1001", Paused="x"), []),
        (
            ami("AgentConnect", Channel="PJSIP/carrier-00000001", Interface="PJSIP/1001"),
            [("1001", "on_call")],
        ),
        (
            ami("AgentConnect", Channel="PJSIP/1003-00000001", DestChannel="PJSIP/1001-00000002"),
            [("1001", "on_call")],  # Channel is the caller's, even when it is an extension
        ),
        (ami("AgentComplete", MemberName="1001", TalkTime="60"), [("1001", "wrap_up")]),
        (
            ami("DialBegin", Channel="PJSIP/1001-00000002", DestChannel="PJSIP/carrier-00000003"),
            [("1001", "ringing")],
        ),
        (
            ami("DialBegin", Channel="PJSIP/carrier-00000004", DestChannel="PJSIP/1002-00000005"),
            [("1002", "ringing")],  # an inbound call rings the agent's phone
        ),
        (
            ami("DialBegin", Channel="PJSIP/1001-00000006", DestChannel="PJSIP/1002-00000007"),
            [("1001", "ringing"), ("1002", "ringing")],
        ),
        (
            ami("DialEnd", Channel="PJSIP/1001-00000002", DialStatus="ANSWER"),
            [("1001", "on_call")],
        ),
        (ami("DialEnd", Channel="PJSIP/1001-00000002", DialStatus="BUSY"), []),
        (ami("Hangup", Channel="PJSIP/1001-00000002", Cause="16"), [("1001", "available")]),
        (ami("Newchannel", Channel="PJSIP/1001-00000002"), []),  # not mapped
    ],
)
def test_each_mapped_event_gives_the_agents_state(message, expected):
    assert [(rep, state) for rep, state, _ in found(message)] == expected


@pytest.mark.parametrize(
    "message",
    [
        ami("DialBegin", Channel=f"PJSIP/{CUSTOMER}-00000001", DestChannel="PJSIP/carrier-0002"),
        ami("DialBegin", Channel="PJSIP/carrier-00000003", DestChannel=f"SIP/{CUSTOMER}-0004"),
        ami("DialBegin", Channel=f"Local/{CUSTOMER}@from-trunk-00000001;2", DialString=CUSTOMER),
        ami("DialEnd", Channel=f"PJSIP/{CUSTOMER}-00000001", DialStatus="ANSWER"),
        ami("Hangup", Channel="PJSIP/carrier-00000003", CallerIDNum=CUSTOMER),
        ami("Hangup", Channel=f"PJSIP/{CUSTOMER}-00000001"),
        ami("Hangup", Channel="PJSIP/+86 138 0013 8000-00000001"),
        ami("AgentConnect", Channel=f"PJSIP/{CUSTOMER}-00000001", Interface="PJSIP/carrier"),
        ami("QueueMemberStatus", Interface=f"PJSIP/{CUSTOMER}", Status="1"),
        ami("AgentLogin", Agent=CUSTOMER),
    ],
)
def test_a_customer_number_or_trunk_channel_gives_no_event(message):
    assert found(message) == []
    # Not even when a careless pattern would take any digits: a phone number is never an agent.
    assert found(message, rules_for(r"\d+|\+[\d ]+", default_pause_reasons())) == []


def test_a_pause_reason_is_the_floors_code_when_it_names_one_else_kept_as_given():
    reasons = default_pause_reasons()
    for text in ("lunch", "Lunch", "LUNCH", "午饭", " lunch "):
        assert pause_code(text, reasons) == "lunch"
    assert pause_code("Training", reasons) == "training"
    assert pause_code("Dentist", reasons) == "Dentist"
    assert pause_code("x" * 50, reasons) == "x" * 40
    assert pause_code("", reasons) == ""
    own = parse_pause_reasons("smoke=抽烟/Smoke break/5")
    assert pause_code("SMOKE BREAK", own) == "smoke"
    assert pause_code("lunch", own) == "lunch"  # not on this floor's list: as given
    message = ami("QueueMemberPause", Interface="PJSIP/1001", Paused="1", PausedReason="午饭")
    assert found(message) == [("1001", "paused", "lunch")]
    # Asterisk before 13 names it Reason.
    message = ami("QueueMemberPaused", Interface="PJSIP/1001", Paused="1", Reason="Break")
    assert found(message) == [("1001", "paused", "break")]


def test_the_instant_is_the_events_timestamp_else_the_listeners_clock():
    assert event_time({"timestamp": "1764122400.250001"}, NOW) == datetime(
        2025, 11, 26, 2, 0, 0, 250001, tzinfo=UTC
    )
    for bad in ("", "soon", "nan", "inf", "-5.5", "1e99"):
        assert event_time({"timestamp": bad}, NOW) == NOW
    assert event_time({}, NOW) == NOW
    [change] = state_changes(ami("AgentLogin", Agent="1001"), RULES, NOW)
    assert change.at == NOW and change.at.tzinfo is not None


@pytest.mark.parametrize(
    "message",
    [
        {},
        {"Event": ["QueueMemberPause", "Hangup"], "Interface": "PJSIP/1001", "Paused": "1"},
        {"Event": "Hangup", "Channel": ["PJSIP/1001-01", "x"], "Timestamp": ["1", "2"]},
        {"Event": "Hangup", "Channel": None, 5: "x"},
        {"Event": "QueueMemberPause", "Interface": "\x00\x01", "Paused": "1"},
        {"Event": "AgentLogin", "Agent": "1" * 10_000},
        {"Event": "QueueMemberPause", "Interface": "PJSIP/1001", "Paused": "1", "Reason": []},
    ],
)
def test_a_malformed_event_never_raises(message):
    changes = state_changes(message, RULES, NOW)
    assert all(c.rep == "1001" for c in changes)


def test_the_listener_skips_an_event_it_cannot_read_and_goes_on(logs):
    seen: list[Change] = []
    listener = AmiListener(AmiAddress("127.0.0.1", 1, USER, SECRET), RULES, seen.append)

    class Broken(dict):
        def items(self):
            raise RuntimeError("unreadable")

    listener.on_event(None, Broken(Event="Hangup"))
    listener.on_event(None, ami("AgentLogin", Agent="1001"))
    assert [c.state for c in seen] == ["available"]
    assert "skipped a malformed AMI event" in logs.text


def test_a_record_carries_an_id_that_keeps_amis_order_within_a_second():
    ring = Change("1001", "ringing", "", NOW + timedelta(seconds=5, microseconds=250_000))
    talk = Change("1001", "on_call", "", NOW + timedelta(seconds=5, microseconds=750_000))
    assert event_id(ring) < event_id(talk)
    assert payload(ring, "ami") == {
        "source": "ami",
        "event_id": event_id(ring),
        "rep": "1001",
        "state": "ringing",
        "at": "2026-11-26T02:00:05.250000+00:00",
    }
    pause = payload(Change("1001", "paused", "lunch", NOW), "ami:pbx1")
    assert pause["reason"] == "lunch" and pause["source"] == "ami:pbx1"


# --- backoff --------------------------------------------------------------------------------


def test_the_backoff_doubles_from_one_second_to_thirty_and_starts_over_on_reset():
    b = Backoff()
    assert [b.next() for _ in range(8)] == [1, 2, 4, 8, 16, 30, 30, 30]
    b.reset()
    assert b.next() == 1


class Enough(Exception):
    """Raised by a test's sleep to end a listener's loop."""


def recording_sleep(delays: list[float], stop_after: int):
    async def sleep(delay: float) -> None:
        delays.append(delay)
        if len(delays) >= stop_after:
            raise Enough
        await asyncio.sleep(0)  # no real waiting: the delays are what is checked

    return sleep


def test_a_refused_connection_is_retried_with_a_doubling_delay(logs):
    port = closed_port()
    delays: list[float] = []
    listener = AmiListener(
        AmiAddress("127.0.0.1", port, USER, SECRET),
        RULES,
        lambda c: None,
        sleep=recording_sleep(delays, 7),
    )
    with pytest.raises(Enough):
        asyncio.run(listener.run())
    assert delays == [1, 2, 4, 8, 16, 30, 30]
    assert "cannot reach AMI" in logs.text and SECRET not in logs.text


def test_failed_logins_back_off_and_a_successful_login_resets_the_delay(logs):
    """Three wrong secrets (the peer answers Error and hangs up, as Asterisk does), then a
    login that works and a connection the peer drops: 1, 2, 4 s, then 1 s again."""

    async def main() -> tuple[list[float], ScriptedAmi]:
        peer = ScriptedAmi(scripts=[[DROP]], refuse=3)
        port = await peer.start()
        delays: list[float] = []
        listener = AmiListener(
            AmiAddress("127.0.0.1", port, USER, SECRET),
            RULES,
            lambda c: None,
            sleep=recording_sleep(delays, 4),
        )
        try:
            with pytest.raises(Enough):
                await asyncio.wait_for(listener.run(), 10)
        finally:
            await peer.stop()
        return delays, peer

    delays, peer = asyncio.run(main())
    assert delays == [1, 2, 4, 1]
    assert [ok for _, ok in peer.logins] == [False, False, False, True]
    assert "did not accept the login of 'paceboard'" in logs.text
    assert SECRET not in logs.text


def test_a_peer_that_stops_answering_pings_is_left_and_reconnected():
    async def main() -> ScriptedAmi:
        peer = ScriptedAmi(scripts=[[], []], pong=False)
        port = await peer.start()
        listener = AmiListener(
            AmiAddress("127.0.0.1", port, USER, SECRET),
            RULES,
            lambda c: None,
            backoff=Backoff(0.01, 0.01),
            keepalive=0.2,
        )
        task = asyncio.create_task(listener.run())
        try:
            await until(lambda: peer.pings >= 1 and len(peer.logins) >= 2, 5)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await peer.stop()
        return peer

    peer = asyncio.run(main())
    assert [ok for _, ok in peer.logins][:2] == [True, True]


def test_garbage_on_the_wire_is_skipped_without_dropping_the_connection(logs):
    script = [
        "\x00\xff not AMI at all\r\nno colon here\r\n\r\n",
        "Event: QueueMemberPause\r\nEvent: Hangup\r\nInterface: PJSIP/1001\r\nPaused: 1\r\n\r\n",
        "Event: Hangup\r\nChannel: PJSIP/1001-00000001\r\nTimestamp: soon\r\n\r\n",
        block(ami("AgentLogin", 5, Agent="1002")),
    ]

    async def main() -> tuple[list[Change], ScriptedAmi]:
        peer = ScriptedAmi(scripts=[script])
        port = await peer.start()
        seen: list[Change] = []
        listener = AmiListener(
            AmiAddress("127.0.0.1", port, USER, SECRET), RULES, seen.append, keepalive=60
        )
        task = asyncio.create_task(listener.run())
        try:
            await until(lambda: any(c.rep == "1002" for c in seen), 5)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await peer.stop()
        return seen, peer

    seen, peer = asyncio.run(main())
    assert [(c.rep, c.state) for c in seen][-2:] == [("1001", "available"), ("1002", "available")]
    assert peer.connections == 1


# --- posting --------------------------------------------------------------------------------


def record(n: int) -> dict[str, str]:
    return payload(Change("1001", "available", "", NOW + timedelta(seconds=n)), "ami")


def test_the_poster_keeps_events_through_5xx_and_an_unreachable_server_and_resends_in_order():
    bodies: list[list[dict]] = []
    answers = iter(["down", 503, 502, 200])

    def handler(request: httpx.Request) -> httpx.Response:
        answer = next(answers)
        if answer == "down":
            raise httpx.ConnectError("refused", request=request)
        bodies.append(httpx.Response(200, content=request.content).json())
        assert request.headers["authorization"] == "Bearer tok"
        return httpx.Response(answer, json={"created": 2, "results": []})

    async def main() -> list[float]:
        delays: list[float] = []
        poster = Poster(
            "http://pb.example/",
            "tok",
            transport=httpx.MockTransport(handler),
            sleep=recording_sleep(delays, 99),
            interval=0,
        )
        poster.put(record(1))
        poster.put(record(2))
        task = asyncio.create_task(poster.run())
        await until(lambda: len(bodies) == 3 and not poster.buffer, 5)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await poster.aclose()
        return delays

    delays = asyncio.run(main())
    assert delays == [1, 2, 4]
    assert bodies == [[record(1), record(2)]] * 3


def test_the_poster_drops_the_oldest_events_with_a_warning_once_its_buffer_is_full(logs):
    async def main() -> Poster:
        poster = Poster("http://pb.example", "tok", capacity=3)
        for n in range(5):
            poster.put(record(n))
        await poster.aclose()
        return poster

    poster = asyncio.run(main())
    assert list(poster.buffer) == [record(2), record(3), record(4)]
    assert poster.dropped == 2
    assert logs.text.count("the oldest are dropped") == 1


def test_the_poster_sends_at_most_a_batch_at_a_time():
    sizes: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sizes.append(len(httpx.Response(200, content=request.content).json()))
        return httpx.Response(200, json={"results": []})

    async def main() -> None:
        poster = Poster(
            "http://pb.example", "tok", batch=200, transport=httpx.MockTransport(handler)
        )
        for n in range(450):
            poster.put(record(n))
        task = asyncio.create_task(poster.run())
        await until(lambda: not poster.buffer and sum(sizes) == 450, 5)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await poster.aclose()

    asyncio.run(main())
    assert sizes == [200, 200, 50]


def test_rejected_events_are_logged_without_numbers_and_dropped(logs):
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            result = {
                "index": 1,
                "event_id": "x",
                "status": "rejected",
                "errors": [{"field": "rep", "reason": f"{CUSTOMER} looks like a phone number"}],
            }
            return httpx.Response(200, json={"rejected": 1, "results": [result]})
        return httpx.Response(422, json={"detail": f"bad: {CUSTOMER}"})

    async def main() -> Poster:
        poster = Poster("http://pb.example", "tok", transport=httpx.MockTransport(handler))
        poster.put(record(1))
        poster.put(record(2))
        assert await poster.send_batch()
        poster.put(record(3))
        assert await poster.send_batch()  # a whole batch refused (4xx): dropped, not retried
        await poster.aclose()
        return poster

    poster = asyncio.run(main())
    assert not poster.buffer and len(calls) == 2
    at = record(2)["at"]
    assert f"the server rejected the available event of 1001 at {at}: rep: ***" in logs.text
    assert "refused a batch of 1 events (422" in logs.text
    assert CUSTOMER not in logs.text and "tok" not in logs.text


# --- the whole way: scripted AMI -> listener -> paceboard serve ---------------------------------


def agent_events(engine: sa.Engine) -> list[tuple[str, str, str, str]]:
    """(rep code, state, reason, source) of every stored event, in the order they take effect."""
    rows = sa.text(
        "SELECT r.code, e.state, e.reason, e.source FROM agent_event e "
        "JOIN rep r ON r.id = e.rep_id ORDER BY e.at, e.source, e.event_key"
    )
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(rows)]


def rejects(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM ingest_reject")).scalar_one()


FIRST_SESSION = [
    ami("AgentLogin", 0, Agent="1001", Channel="PJSIP/1001-00000001"),
    ami(
        "QueueMemberPause",
        60,
        Queue="sales",
        Interface="PJSIP/1001",
        MemberName="Alice",
        Paused="1",
        PausedReason="Lunch",
    ),
    ami("QueueMemberPause", 1800, Queue="sales", Interface="PJSIP/1001", Paused="0"),
    # An outbound call: the agent's leg and the trunk's leg to the customer.
    ami("Newchannel", 1900, Channel="PJSIP/carrier-00000003", CallerIDNum=CUSTOMER),
    ami(
        "DialBegin",
        1900.25,
        Channel="PJSIP/1001-00000002",
        DestChannel="PJSIP/carrier-00000003",
        DestCallerIDNum=CUSTOMER,
        DialString=f"carrier/{CUSTOMER}",
    ),
    ami(
        "DialEnd",
        1900.75,  # the same second as DialBegin: the ids keep ringing before on_call
        Channel="PJSIP/1001-00000002",
        DestChannel="PJSIP/carrier-00000003",
        DialStatus="ANSWER",
    ),
    ami("Hangup", 2000.1, Channel="PJSIP/carrier-00000003", CallerIDNum=CUSTOMER),
    ami("Hangup", 2000.2, Channel="PJSIP/1001-00000002", ConnectedLineNum=CUSTOMER),
    # An inbound call from the customer that the agent does not take.
    ami("DialBegin", 2100, Channel=f"PJSIP/{CUSTOMER}-00000004", DestChannel="PJSIP/c-5"),
    ami("Hangup", 2101, Channel=f"PJSIP/{CUSTOMER}-00000004"),
    ami("AgentLogoff", 3000, Agent="1001", Logintime="3000"),
]
SECOND_SESSION = [
    ami("AgentLogin", 3600, Agent="1001", Channel="PJSIP/1001-00000010"),
    ami("QueueMemberStatus", 3700, Queue="sales", Interface="PJSIP/1001", Status="6", Paused="0"),
    ami("AgentConnect", 3701, Channel="PJSIP/carrier-00000011", Interface="PJSIP/1001"),
    ami("AgentComplete", 3800, Channel="PJSIP/carrier-00000011", Interface="PJSIP/1001"),
]
EXPECTED = [
    ("available", ""),
    ("paused", "lunch"),
    ("available", ""),
    ("ringing", ""),
    ("on_call", ""),
    ("available", ""),
    ("logged_out", ""),
    ("available", ""),  # after the reconnect
    ("ringing", ""),
    ("on_call", ""),
    ("wrap_up", ""),
]
FIRST_DELAY = 0.3


@SQLITE_ONLY
def test_a_floors_ami_events_reach_the_server_across_a_dropped_connection(
    live_server, engine, logs
):
    """Login, a lunch pause, a call and its hangup, a logoff; the peer drops the connection and
    the listener logs in again after its backoff; events after it arrive too. The server is
    down at first: the events wait for it."""
    enrol(engine, {"1001"})
    token = new_token(engine, "ingest")

    async def main() -> ScriptedAmi:
        peer = ScriptedAmi(
            scripts=[[*map(block, FIRST_SESSION), DROP], [*map(block, SECOND_SESSION)]]
        )
        port = await peer.start()
        address = AmiAddress("127.0.0.1", port, USER, SECRET)
        running = asyncio.create_task(
            listen(
                address,
                RULES,
                url=live_server.url,
                token=token,
                source="ami",
                delays=(FIRST_DELAY, 0.5),
            )
        )
        try:
            await until(lambda: len(peer.logins) == 2, 10)
            await asyncio.to_thread(live_server.start)
            await until(lambda: len(agent_events(engine)) >= len(EXPECTED), 20, step=0.2)
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
            await peer.stop()
        return peer

    peer = asyncio.run(main())
    assert [ok for _, ok in peer.logins] == [True, True]
    assert peer.logins[1][0] - peer.dropped_at[0] >= FIRST_DELAY * 0.9  # waited its backoff
    # The listener's own reconnect (panoramisk's would come after a fixed 2 s, unlogged).
    assert "AMI connection was lost" in logs.text
    assert f"reconnecting to AMI at 127.0.0.1:{peer.port} in {FIRST_DELAY:.1f} s" in logs.text
    stored = agent_events(engine)
    assert [(state, reason) for _, state, reason, _ in stored] == EXPECTED
    assert {rep for rep, *_ in stored} == {"1001"}  # the customer's number became nobody
    assert {source for *_, source in stored} == {"ami"}
    assert rejects(engine) == 0
    assert SECRET not in logs.text and token not in logs.text and CUSTOMER not in logs.text


def test_paceboard_listen_ami_runs_as_its_own_process_and_posts_its_queue_on_sigterm():
    """The command itself, as a process: it logs in, posts what it hears with the token, and on
    SIGTERM posts what is still queued (the server answered 503 to the first try) and exits 0;
    its log holds neither the secret nor the token. (The server here is a stub: the events'
    way into a real one is the test above.)"""
    token = "pb_test_token_not_logged"
    script = [
        block(ami("AgentLogin", 0, Agent="1001")),
        block(ami("QueueMemberPause", 60, Interface="PJSIP/1001", Paused="1", PausedReason="午饭")),
    ]

    async def main() -> tuple[int | None, bytes, StubServer]:
        peer, server = ScriptedAmi(scripts=[script]), StubServer(statuses=[503])
        port, url = await peer.start(), await server.start()
        env = {k: v for k, v in os.environ.items() if not k.startswith("PACEBOARD_")}
        env |= {"PACEBOARD_AMI_SECRET": SECRET, "PACEBOARD_TOKEN": token}
        env |= {"PACEBOARD_LOG_LEVEL": "debug", "PACEBOARD_LOG_FORMAT": "text"}
        args = ["--port", str(port), "--username", USER, "--url", url]
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "app", "listen", "ami", *args,
            cwd=ROOT, env=env, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            await until(lambda: len(server.posts) == 1, 20)  # answered 503: kept, retried in 1 s
            proc.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(proc.communicate(), 15)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            await peer.stop()
            await server.stop()
        return proc.returncode, err, server

    code, err, server = asyncio.run(main())
    assert code == 0, err.decode()
    assert len(server.posts) == 2 and server.posts[0] == server.posts[1]
    assert [(e["rep"], e["state"], e.get("reason")) for e in server.posts[1]] == [
        ("1001", "available", None),
        ("1001", "paused", "lunch"),
    ]
    assert server.auth == {f"Bearer {token}"}
    assert b"logged in to AMI" in err
    assert SECRET.encode() not in err and token.encode() not in err


# --- the command ----------------------------------------------------------------------------


def test_listen_ami_help_lists_its_options():
    from app.cli import cli

    result = CliRunner().invoke(cli, ["listen", "ami", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for option in (
        "--host",
        "--port",
        "--username",
        "--secret",
        "--url",
        "--token",
        "--source",
        "--agent-pattern",
    ):
        assert option in result.output
    assert "PACEBOARD_TOKEN" in result.output and "PACEBOARD_AMI_SECRET" in result.output
    listed = CliRunner().invoke(cli, ["listen", "--help"], env={"COLUMNS": "200"})
    assert "ami" in listed.output


def test_listen_ami_runs_the_listener_with_its_options(monkeypatch):
    import app.listen.ami as module
    from app import logs as app_logs
    from app.cli import cli

    ran: list[tuple] = []

    async def fake_listen(address, rules, **kw):
        ran.append((address, rules, kw))

    monkeypatch.setattr(module, "listen", fake_listen)
    monkeypatch.setattr(app_logs, "configure", lambda *a, **k: None)
    env = {
        "PACEBOARD_AMI_SECRET": SECRET,
        "PACEBOARD_TOKEN": "pb_tok",
        "PACEBOARD_PAUSE_REASONS": "smoke=抽烟/Smoke break",
    }
    args = ["listen", "ami", "--host", "pbx.local", "--port", "5039", "--username", USER]
    result = CliRunner().invoke(cli, [*args, "--url", "http://pb:8000"], env=env)
    assert result.exit_code == 0, result.output
    [(address, rules, kw)] = ran
    assert (address.host, address.port, address.username, address.secret) == (
        "pbx.local",
        5039,
        USER,
        SECRET,
    )
    assert SECRET not in repr(address)
    assert kw == {"url": "http://pb:8000", "token": "pb_tok", "source": "ami"}
    assert rules.agent.pattern == DEFAULT_AGENT_PATTERN and list(rules.reasons) == ["smoke"]

    bad = CliRunner().invoke(cli, [*args, "--agent-pattern", "(\\d"], env=env)
    assert bad.exit_code == 2 and "--agent-pattern" in bad.output
    bad = CliRunner().invoke(cli, [*args, "--url", "pb:8000"], env=env)
    assert bad.exit_code == 2 and "--url" in bad.output
    missing = CliRunner().invoke(cli, args, env={"PACEBOARD_AMI_SECRET": SECRET})
    assert missing.exit_code == 2 and "--token" in missing.output


# --- the scripted AMI peer ------------------------------------------------------------------

DROP = object()  # in a script: the peer hangs up here


def block(headers: dict[str, str]) -> str:
    """An AMI message on the wire: ``Name: value`` lines, a blank line after."""
    return "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"


class ScriptedAmi:
    """An AMI peer on 127.0.0.1: the banner, then Login (Success; or Error and a hang-up for
    the first ``refuse`` logins and any wrong secret, as Asterisk does), Ping (answered unless
    ``pong`` is False), Error for other actions; after the n-th successful login it writes
    ``scripts[n]`` (a DROP hangs up)."""

    def __init__(self, scripts: list[list[Any]], *, refuse: int = 0, pong: bool = True) -> None:
        self.scripts, self.refuse, self.pong = scripts, refuse, pong
        self.logins: list[tuple[float, bool]] = []  # (monotonic time, accepted)
        self.dropped_at: list[float] = []
        self.connections = self.pings = 0
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> int:
        self.server = await asyncio.start_server(self.serve, "127.0.0.1", 0)
        self.port: int = self.server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        self.server.close()
        for w in list(self._writers):
            w.close()
        await self.server.wait_closed()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.add(writer)
        writer.write(b"Asterisk Call Manager/5.0.1\r\n")
        try:
            while True:
                try:
                    raw = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                action = dict(
                    line.split(": ", 1) for line in raw.decode().split("\r\n") if ": " in line
                )
                if not await self.answer(action, writer):
                    return
        finally:
            self._writers.discard(writer)
            writer.close()

    async def answer(self, action: dict[str, str], writer: asyncio.StreamWriter) -> bool:
        """Answer one action; False when the peer hangs up."""
        name, aid = action.get("Action", "").lower(), action.get("ActionID", "")
        if name == "login":
            ok = (
                action.get("Username") == USER
                and action.get("Secret") == SECRET
                and len(self.logins) >= self.refuse
            )
            self.logins.append((time.monotonic(), ok))
            if not ok:
                writer.write(
                    f"Response: Error\r\nActionID: {aid}\r\n"
                    "Message: Authentication failed\r\n\r\n".encode()
                )
                await writer.drain()
                return False
            writer.write(
                f"Response: Success\r\nActionID: {aid}\r\n"
                "Message: Authentication accepted\r\n\r\n".encode()
            )
            accepted = sum(1 for _, good in self.logins if good)
            script = self.scripts[accepted - 1] if accepted <= len(self.scripts) else []
            for item in script:
                if item is DROP:
                    await writer.drain()
                    self.dropped_at.append(time.monotonic())
                    return False
                writer.write(item.encode("utf-8", "surrogateescape"))
            await writer.drain()
        elif name == "ping":
            self.pings += 1
            if self.pong:
                writer.write(
                    f"Response: Success\r\nActionID: {aid}\r\nPing: Pong\r\n"
                    f"Timestamp: {time.time():.6f}\r\n\r\n".encode()
                )
        else:
            unknown = f"Response: Error\r\nActionID: {aid}\r\nMessage: Invalid/unknown command"
            writer.write(f"{unknown}\r\n\r\n".encode())
        return True


class StubServer:
    """A minimal HTTP server on 127.0.0.1 recording each POSTed JSON body and its
    Authorization header, answering ``statuses`` in turn, then 200."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = list(statuses)
        self.posts: list[Any] = []
        self.auth: set[str] = set()

    async def start(self) -> str:
        self.server = await asyncio.start_server(self.serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def stop(self) -> None:
        self.server.close()
        await self.server.wait_closed()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode().split("\r\n")
                headers = {k.lower(): v for k, _, v in (x.partition(": ") for x in lines[1:])}
                body = await reader.readexactly(int(headers.get("content-length", 0)))
                self.posts.append(json.loads(body))
                self.auth.add(headers.get("authorization", ""))
                status = self.statuses.pop(0) if self.statuses else 200
                answer = b'{"results": []}'
                writer.write(
                    f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(answer)}\r\n\r\n".encode()
                    + answer
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


# --- helpers --------------------------------------------------------------------------------


async def until(ok, timeout: float, step: float = 0.02) -> None:
    """Wait for ``ok()`` (run in a thread when it reads a database) for up to ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = await asyncio.to_thread(ok) if step >= 0.1 else ok()
        if value:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s")
        await asyncio.sleep(step)


def closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
