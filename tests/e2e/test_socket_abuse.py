"""``/ws`` under abuse against one real server: thousands of connect/disconnect cycles, clients
that never read, clients that send garbage. A well-behaved screen keeps its latency, and the
server's memory and file descriptors come back to their baseline afterwards."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import statistics
import threading
import time
from pathlib import Path

import httpx
import orjson
import pytest
import websockets

from tests.conftest import record
from tests.live.test_ws import just_now, post, recv, rep_in, until, ws_url

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]

CYCLES = 2000
CONCURRENCY = 50
STUCK = 20
MIB = 1 << 20
TEAMS = {"Alpha": 20, "Bravo": 20, "Charlie": 20}  # bigger snapshots than a toy floor


@pytest.fixture
def server(live_server):
    live_server.start()
    live_server.tokens = {scope: live_server.token(scope) for scope in ("read", "ingest", "admin")}
    admin = {"Authorization": f"Bearer {live_server.tokens['admin']}"}
    with httpx.Client(base_url=live_server.url, headers=admin) as http:
        for team, size in {**TEAMS, "Watch": 1}.items():
            assert http.post("/api/v1/teams", json={"name": team}).status_code in (200, 201)
            for n in range(size):
                code = f"{team[0].lower()}{n}" if team != "Watch" else "w1"
                body = {"code": code, "name": code.upper(), "team": team}
                assert http.post("/api/v1/reps", json=body).status_code in (200, 201)
    post(
        live_server,
        *[
            record(f"seed-{team}-{n}", rep=f"{team[0].lower()}{n}", started_at=just_now(n))
            for team, size in TEAMS.items()
            for n in range(size)
        ],
    )
    return live_server


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def open_fds(pid: int) -> int:
    """The server's open sockets. (Database files are left out: the connection pool keeps the
    connections a burst of reads opened, up to its size, which is no leak.)"""
    sockets = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            sockets += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
        except FileNotFoundError:  # closed while listing
            continue
    return sockets


def settle(measure, ok, timeout: float):
    """Poll ``measure()`` until ``ok(value)`` or ``timeout``; the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = measure()
        if ok(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.25)


async def _cycle(url: str, i: int, modes: dict[str, int]) -> None:
    """One connect/disconnect: close at once, after the snapshot, or drop TCP without a close."""
    mode = ("close", "snapshot-close", "drop", "snapshot-drop")[i % 4]
    ws = await websockets.connect(url, open_timeout=20, close_timeout=2)
    try:
        if mode.startswith("snapshot"):
            assert (await recv(ws, 20))["type"] == "snapshot"
    finally:
        if mode.endswith("drop"):
            ws.transport.abort()  # no close frame: the peer just vanishes
        else:
            await ws.close()
    modes[mode] = modes.get(mode, 0) + 1


async def _garbage(url: str, payload: str | bytes) -> tuple[str, object]:
    """Send one bad message; what the server did: ("error", detail) or ("closed", code)."""
    async with websockets.connect(url, max_size=None, close_timeout=2) as ws:
        assert (await recv(ws))["type"] == "snapshot"
        try:
            await ws.send(payload)
            while True:
                msg = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
                if msg["type"] == "error":
                    return "error", msg["detail"]
        except websockets.ConnectionClosed as closed:
            return "closed", closed.rcvd.code if closed.rcvd else None


GARBAGE: list[tuple[str | bytes, set[tuple[str, object]] | None]] = [
    ("not json at all", None),
    ("{", None),
    ('{"type": "launch-missiles"}', None),
    ('{"type": 7}', None),
    ("[1, 2, 3]", None),
    ('"resync"', None),
    ("x" * 5000, {("closed", 1009)}),  # over the app's 4 KiB client message limit
    ("y" * (MIB + 10), {("closed", 1009)}),  # over the 1 MiB frame limit
]


def _abuse(url: str, report: dict, stop: threading.Event) -> None:
    """The abusers, on their own event loop (a thread), until their cycles are done."""

    async def go() -> None:
        gate = asyncio.Semaphore(CONCURRENCY)
        modes: dict[str, int] = {}
        failures: list[str] = []

        async def one(i: int) -> None:
            async with gate:
                try:
                    await _cycle(url, i, modes)
                except Exception as exc:  # counted and asserted on below
                    failures.append(repr(exc))

        # Screens that stop reading (their TCP window fills) and keep asking for snapshots.
        stuck = [await websockets.connect(url, max_queue=1, close_timeout=1) for _ in range(STUCK)]

        async def nag() -> None:
            while not stop.is_set():
                for ws in stuck:
                    with contextlib.suppress(websockets.ConnectionClosed):
                        await ws.send('{"type":"resync"}')
                await asyncio.sleep(0.05)

        nagging = asyncio.create_task(nag())
        garbage = []
        for round_ in range(3):
            for payload, _ in GARBAGE:
                garbage.append(await _garbage(url, payload))
            report["garbage_rounds"] = round_ + 1
        report["binary"] = await _garbage(url, b"\x00\xff binary frame")
        started = time.monotonic()
        await asyncio.gather(*(one(i) for i in range(CYCLES)))
        report["cycles_seconds"] = time.monotonic() - started
        report.update(modes=modes, failures=failures, garbage=garbage)
        report["stuck_open"] = sum(ws.state is websockets.protocol.State.OPEN for ws in stuck)
        report["stuck_not_reading"] = sum(not ws.transport.is_reading() for ws in stuck)
        stop.set()
        await nagging
        for ws in stuck:
            ws.transport.abort()

    try:
        asyncio.run(go())
    except BaseException as exc:
        report["crashed"] = repr(exc)
        raise
    finally:
        stop.set()


def test_connection_storms_stuck_readers_and_garbage_spare_latency_and_memory(server):
    pid = server.proc.pid
    url = ws_url(server, server.tokens["read"])

    async def warm_up() -> None:
        for _ in range(4):
            await asyncio.gather(*(_cycle(url, i, {}) for i in range(CONCURRENCY)))

    asyncio.run(warm_up())
    time.sleep(1)
    base_rss, base_fds = rss_mib(pid), open_fds(pid)

    report: dict = {}
    stop = threading.Event()
    abuser = threading.Thread(target=_abuse, args=(url, report, stop), daemon=True)
    headers = {"Authorization": f"Bearer {server.tokens['ingest']}"}

    async def watch() -> list[float]:
        latencies: list[float] = []
        async with (
            websockets.connect(url) as ws,
            httpx.AsyncClient(base_url=server.url, headers=headers) as http,
        ):
            assert (await recv(ws))["type"] == "snapshot"
            abuser.start()
            n = 0
            while not stop.is_set() or n < 20:
                n += 1
                sent = time.monotonic()
                resp = await http.post(
                    "/api/v1/calls", json=[record(f"watch-{n}", rep="w1", started_at=just_now())]
                )
                assert resp.status_code == 200, resp.text
                await until(
                    ws,
                    lambda m, n=n: (
                        m["type"] in ("delta", "snapshot")
                        and (rep_in(m, "w1") or {}).get("totals", {}).get("dials", 0) >= n
                    ),
                    timeout=10,
                )
                latencies.append(time.monotonic() - sent)
                await asyncio.sleep(random.uniform(0.05, 0.2))
        return latencies

    latencies = asyncio.run(watch())
    abuser.join(30)
    assert not abuser.is_alive() and "crashed" not in report, report.get("crashed")

    # Every cycle completed, in every mode, and the stuck screens were never thrown off.
    assert report["failures"] == [], report["failures"][:5]
    assert sum(report["modes"].values()) == CYCLES and len(report["modes"]) == 4
    assert report["stuck_open"] == STUCK
    assert report["stuck_not_reading"] == STUCK  # they really had stopped reading
    # Garbage is answered with an error naming what is expected, or refused with 1009.
    for (payload, expected), got in zip(GARBAGE * 3, report["garbage"], strict=True):
        if expected is None:
            assert got[0] == "error" and "resync" in got[1], (payload[:40], got)
        else:
            assert got in expected, (payload[:40], got)
    assert report["binary"][0] in ("error", "closed"), report["binary"]

    # A well-behaved screen kept its latency throughout.
    p95 = statistics.quantiles(latencies, n=20)[-1]
    assert len(latencies) >= 20
    assert p95 < 1.5, f"p95 {p95:.3f}s over {len(latencies)} posts"

    # Memory and descriptors come back (Python keeps some arenas: a tolerance, not equality).
    limit = max(base_rss + 30, base_rss * 1.3)
    rss = settle(lambda: rss_mib(pid), lambda v: v <= limit, 10)
    assert rss <= limit, f"RSS {rss:.1f} MiB after abuse, baseline {base_rss:.1f} MiB"
    fds = settle(lambda: open_fds(pid), lambda v: v <= base_fds + 5, 15)
    assert fds <= base_fds + 5, f"{fds} open sockets, {base_fds} before the abuse"

    # And it still serves: health, and a fresh socket gets its snapshot.
    assert httpx.get(server.url + "/healthz").status_code == 200

    async def fresh() -> dict:
        async with websockets.connect(url) as ws:
            return await recv(ws)

    snap = asyncio.run(fresh())
    assert snap["type"] == "snapshot" and rep_in(snap, "w1")["totals"]["dials"] == len(latencies)


def test_a_binary_frame_is_refused_with_a_close_code_not_a_traceback(server):
    url = ws_url(server, server.tokens["read"])
    got = asyncio.run(_garbage(url, b"\x00\xff binary frame"))
    # 1003: unsupported data (RFC 6455 7.4.1); or an error reply like any other unknown message.
    assert got == ("closed", 1003) or (got[0] == "error" and "resync" in got[1]), got
    server.stop()
    log = server.log.read_text(errors="replace")
    assert "Exception in ASGI application" not in log and "Traceback" not in log, log[-1500:]


def test_screens_that_never_read_do_not_hold_up_the_snapshot_of_a_new_screen(server):
    url = ws_url(server, server.tokens["read"])

    async def go() -> tuple[float, int]:
        stuck = [await websockets.connect(url, max_queue=1) for _ in range(STUCK)]
        try:
            # Each asks for snapshot after snapshot and reads none: their TCP windows fill.
            for _ in range(100):
                for ws in stuck:
                    await ws.send('{"type":"resync"}')
            await asyncio.sleep(1)
            assert all(not ws.transport.is_reading() for ws in stuck)
            started = time.monotonic()
            async with websockets.connect(url) as ws:
                first = await recv(ws, 10)
            return time.monotonic() - started, len(orjson.dumps(first))
        finally:
            for ws in stuck:
                ws.transport.abort()

    took, size = asyncio.run(go())
    assert took < 2, f"a new screen waited {took:.1f}s for its {size}-byte snapshot"
