"""Every kind of alert the server raises reaches an open screen as an ``alert`` frame, over a
real WebSocket to a real server (``paceboard serve``), with the server's own clock.

The floor is set up so that the server's "now" is mid-day inside calling hours on a working day
whatever the machine's hour and weekday: a fixed-offset zone where it is about noon, one calling
window over the whole day, every day a working day. Calls are stamped by the server's clock (the
first snapshot's ``generated_at``), which under libfaketime can trail the test's own. Nothing
calls the alert engine directly: it evaluates after commits, as in production.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from datetime import datetime, timedelta

import httpx
import pytest
import websockets

from app.db import make_engine
from app.floor.alerts import KINDS
from tests.conftest import (
    new_process_clock,
    new_token,
    record,
    spread,
    zone_where_it_is,
)
from tests.live.test_ws import post, recv, until, ws_url

pytestmark = pytest.mark.e2e

REP = "r1"
#: The migration's floor target: 300 dials a day (and 13,000 talk seconds).
DAY_DIALS = 300
#: Seconds between two calls of the rest of the floor: longer than the alert engine's settle
#: pause (1 s), so each call is followed by an evaluation.
BUSY_EVERY = 1.5


@pytest.fixture
def server(live_server, server_env, db_url):
    server_env.update(
        # Noon by the clock the server will start with (under libfaketime, not the test's).
        PACEBOARD_TIMEZONE=zone_where_it_is(12, new_process_clock()),
        PACEBOARD_CALLING_WINDOWS="00:00-23:59",
        PACEBOARD_WORKING_DAYS="mon-sun",
        PACEBOARD_IDLE_MINUTES="1",
    )
    # Tokens written straight into the (already migrated) database: no CLI process per token.
    engine = make_engine(db_url)
    live_server.tokens = {scope: new_token(engine, scope) for scope in ("read", "ingest", "admin")}
    engine.dispose()
    live_server.start()
    admin = {"Authorization": f"Bearer {live_server.tokens['admin']}"}
    for path, body in (
        ("/api/v1/teams", {"name": "A"}),
        ("/api/v1/reps", {"code": REP, "name": "Rep One", "team": "A"}),
    ):
        resp = httpx.post(live_server.url + path, json=body, headers=admin)
        assert resp.status_code == 201, resp.text
    return live_server


class Screen:
    """An open socket, the server's clock as its first snapshot read it, and the floor."""

    def __init__(self, server, ws, snapshot: dict) -> None:
        self.server, self.ws = server, ws
        self.server_then = datetime.fromisoformat(snapshot["data"]["generated_at"])
        self.since = time.monotonic()

    def server_now(self, minus_seconds: float = 0) -> datetime:
        return self.server_then + timedelta(seconds=time.monotonic() - self.since - minus_seconds)

    async def alert(self, kind: str, metric: str | None = None, timeout: float = 30.0) -> dict:
        """The next ``alert`` frame of ``kind`` about REP (and ``metric``), while the rest of
        the floor keeps calling. The 30 s bound is for loaded machines: a frame normally comes
        within a second or two (the engine evaluates after each commit)."""

        def wanted(m: dict) -> bool:
            a = m.get("alert") or {}
            return (
                m["type"] == "alert"
                and a.get("kind") == kind
                and a.get("rep") == REP
                and (metric is None or a.get("metric") == metric)
            )

        busy = asyncio.create_task(self._busy_floor())
        try:
            frame = await until(self.ws, wanted, timeout)
        except TimeoutError:
            frame = None
        finally:
            busy.cancel()
        if busy.done() and not busy.cancelled() and busy.exception():
            raise busy.exception()  # the floor's calls were refused: say so, not "no frame"
        if frame is None:
            pytest.fail(f"no '{kind}' alert frame for {REP} reached the screen in {timeout} s")
        return frame["alert"]

    async def _busy_floor(self) -> None:
        """Another rep's call every BUSY_EVERY seconds, as on any floor during calling hours.

        Each commit pokes the alert engine, which evaluates once a pause of a second follows
        (or after ten seconds of pokes). Under a plain ``faketime -f @…`` (monotonic clock
        faked; ``make test-clock`` leaves it real) a timed wait never times out: Python's
        Event.wait(1) blocks for good, and only the pokes move the engine on. These tests pass
        there too, in about ten seconds per evaluation instead of one.
        """
        headers = {"Authorization": f"Bearer {self.server.tokens['ingest']}"}
        async with httpx.AsyncClient(base_url=self.server.url, headers=headers) as http:
            for n in itertools.count():
                await asyncio.sleep(BUSY_EVERY)
                call = record(f"busy-{n}", rep="busy", started_at=self.server_now(1).isoformat())
                resp = await http.post("/api/v1/calls", json=[call])
                assert resp.status_code == 200, resp.text


async def watch(server):
    ws = await websockets.connect(ws_url(server, server.tokens["read"]))
    first = await recv(ws)
    assert first["type"] == "snapshot"
    return Screen(server, ws, first)


def test_the_alert_kinds_are_the_five_these_tests_cover():
    assert set(KINDS) == {"behind_pace", "recovered", "idle", "paused_long", "not_in"}


def test_a_rep_far_behind_by_noon_reaches_the_screen_as_a_behind_pace_alert(server):
    async def go():
        screen = await watch(server)
        try:
            # One dial by noon against 300 a day: red. The post is what sets evaluation off.
            post(server, record("b-1", rep=REP, started_at=screen.server_now(5).isoformat()))
            alert = await screen.alert("behind_pace", "dials")
            assert alert["team"] == "A" and alert["detail"]["status"] == "red"
            assert alert["detail"]["actual"] == 1
        finally:
            await screen.ws.close()

    asyncio.run(go())


def test_a_rep_catching_up_reaches_the_screen_as_a_recovered_alert(server):
    async def go():
        screen = await watch(server)
        try:
            post(server, record("r-0", rep=REP, started_at=screen.server_now(600).isoformat()))
            await screen.alert("behind_pace", "dials")
            # The day's whole target in the last few minutes: no longer red.
            start = screen.server_now(300).isoformat()
            post(server, *spread(REP, DAY_DIALS, start, screen.server_now(5).isoformat()))
            alert = await screen.alert("recovered", "dials")
            assert alert["detail"]["actual"] == DAY_DIALS + 1
            assert alert["detail"]["status"] != "red"
        finally:
            await screen.ws.close()

    asyncio.run(go())


def test_a_rep_without_a_dial_for_the_idle_minutes_reaches_the_screen_as_an_idle_alert(server):
    async def go():
        screen = await watch(server)
        try:
            # The rep's last dial three minutes ago; a rep goes idle after one calling minute.
            last = screen.server_now(180).replace(microsecond=0)
            post(server, record("i-1", rep=REP, started_at=last.isoformat()))
            alert = await screen.alert("idle")
            assert alert["detail"]["idle_minutes"] >= 3
            assert datetime.fromisoformat(alert["detail"]["last_dial_at"]) == last
        finally:
            await screen.ws.close()

    asyncio.run(go())


def test_a_break_past_its_limit_reaches_the_screen_as_a_paused_long_alert(server):
    async def go():
        screen = await watch(server)
        try:
            # On a break for 20 minutes; a break may last 15 (the default reason list).
            began = screen.server_now(20 * 60).replace(microsecond=0)
            event = {"rep": REP, "state": "paused", "reason": "break", "at": began.isoformat()}
            headers = {"Authorization": f"Bearer {server.tokens['ingest']}"}
            resp = httpx.post(server.url + "/api/v1/agent-events", json=event, headers=headers)
            assert resp.status_code == 200, resp.text
            alert = await screen.alert("paused_long")
            assert alert["detail"]["reason"] == "break"
            assert alert["detail"]["paused_minutes"] >= 20
            assert alert["detail"]["limit_minutes"] == 15
            assert datetime.fromisoformat(alert["detail"]["since"]) == began
        finally:
            await screen.ws.close()

    asyncio.run(go())


def test_a_rep_logged_out_past_ten_reaches_the_screen_as_a_not_in_alert(server):
    async def go():
        screen = await watch(server)
        try:
            # Logged out since yesterday evening; it is about noon on the server's clock.
            gone = screen.server_now(20 * 3600).replace(microsecond=0)
            event = {"rep": REP, "state": "logged_out", "at": gone.isoformat()}
            headers = {"Authorization": f"Bearer {server.tokens['ingest']}"}
            resp = httpx.post(server.url + "/api/v1/agent-events", json=event, headers=headers)
            assert resp.status_code == 200, resp.text
            alert = await screen.alert("not_in")
            assert alert["detail"] == {"by": "10:00"}
        finally:
            await screen.ws.close()

    asyncio.run(go())
