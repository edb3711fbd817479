"""Live benchmark: how fast a posted call reaches every screen on ``/ws``, and what screens cost.

A real server; N WebSocket clients on ``/ws?token=…`` (the whole floor each, like the wallboard);
calls POSTed one per request at a steady rate through the real HTTP API. Each call's latency is
measured per client, from just before its POST is sent to that client's receipt of the first frame
(a ``delta``, or the ``snapshot`` that replaces a backlog) showing the rep's dials at or above the
count that call made. Each rep has at most one POST in flight, so its n-th call is the one that
takes its dials to n: the (client, call) pairs are matched by rep code and dials count.

Figures (absolute goals, from the live screens' brief): p50 <= 150 ms and p99 <= 500 ms over all
(client, call) pairs, each beside the POST's own round trip in the same phase (its baseline);
every (client, call) pair delivered; server RSS <= 250 MiB with 1,000 clients connected (beside
its RSS when idle). The load runs twice: with N clients (default 200), then again with 1,000
connected. Then all of it again with two server processes on one fresh PostgreSQL database
(``live_pg2_*``): the calls are POSTed to server A and the screens are connected to server B, so
every figure goes through the cross-process bus (app/live/bus.py). Calls that never reach B are
reported as FAILED / missed rows after a bounded wait, not as an error of the whole run.

The screens run in a few client processes (``--client-procs``, 2) and the sender in its own, on
the same cores as the server: their CPU is reported beside the latencies, since a saturated client
loop stamps frames late and inflates the figures (one process holding 1,000 screens did).

Part of ``make bench`` (bench/run.py); alone: ``.venv/bin/python bench/live.py [--quick]``.
Exits 0 whenever it measured, goals met or not; 1 when it could not measure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import random
import re
import resource
import sys
import time
from array import array
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import orjson
import websockets
from websockets.asyncio.client import ClientConnection, connect

# Run as a script (bench/live.py), the repo root is not on sys.path; `bench.common` needs it.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import (  # noqa: E402
    LOOPBACK,
    BenchError,
    CpuMeter,
    Result,
    Server,
    console,
    create_token,
    free_port,
    pg_database,
    pg_unavailable,
    proc_cpu_seconds,
    proc_status_kib,
    run_cli,
    server_env,
    standalone,
)

P50_GOAL_MS = 150.0
P99_GOAL_MS = 500.0
RSS_GOAL_MIB = 250.0
BIG_CLIENTS = 1000
CALLS_URL = "/api/v1/calls"
# A client that has seen a call by then has seen it; the rest count as missing.
DRAIN_SECONDS = 5.0
CONNECT_CONCURRENCY = 50


# --- the floor -------------------------------------------------------------------------------


def midday_timezone(now: datetime | None = None) -> str:
    """A fixed-offset zone where it is about noon now, so "today" cannot roll over mid-run.

    Calls count on the floor's local day as it stands; at 23:59:50 a run would straddle two
    days. ``Etc/GMT-8`` is UTC+8 (POSIX signs are inverted).
    """
    hour = (now or datetime.now(UTC)).hour
    offset = 12 - hour
    if offset < -12:
        offset += 24
    elif offset > 14:
        offset -= 24
    return "UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"


def roster_csv(reps: int, teams: int) -> tuple[str, list[str]]:
    """A roster of ``reps`` reps spread over ``teams`` teams; (CSV text, rep codes)."""
    codes = [str(8001 + i) for i in range(reps)]
    lines = ["code,name,team,hired_on"]
    lines += [f"{c},Rep {c},Team {i % teams + 1},2026-01-05" for i, c in enumerate(codes)]
    return "\n".join(lines) + "\n", codes


def call_record(call_id: str, rep: str, rng: random.Random) -> dict[str, Any]:
    """One outbound call stamped just now: ~40% answered, a few sales (celebrations)."""
    answered = rng.random() < 0.40
    rec: dict[str, Any] = {
        "call_id": call_id,
        "rep": rep,
        "started_at": datetime.now(UTC).isoformat(),
        "disposition": "answered" if answered else "no_answer",
        "talk_seconds": rng.randint(5, 600) if answered else 0,
        "customer": f"13{rng.randrange(10**9):09d}",
    }
    if answered and rng.random() < 0.05:
        rec.update(outcome="sale", order_value="199.00")
    return rec


# --- reading frames cheaply ----------------------------------------------------------------

# The hub writes each frame as {"type":…,"seq":…, …}. A delta's rep rows carry the fields that
# changed (totals, pace, funnel, hour cells: ~1 KB each), so parsing every frame with orjson
# costs the client more than the server spends sending it; a regex pulls out (code, dials)
# instead, and every VERIFY_EVERY-th delta is checked against a full parse, so a change of
# layout fails loudly.
FRAME_HEAD = re.compile(r'\{"type":"(?P<type>[a-z_]+)","seq":(?P<seq>\d+)')
REP_DIALS = re.compile(r'\{"code":"((?:[^"\\]|\\.)*)"[^{}\[\]]*?"totals":\{"dials":(\d+)')
VERIFY_EVERY = 200

# A rep row's agent state (bench/agent_events.py): the row's code comes first and its "agent"
# after "totals" and "hours" (which hold nested objects), so codes and agents are read in one
# pass, in order, each agent going to the last code before it. A deep patch's agent holds the
# keys that changed: "since" (the event's ``at``) always does for a new event.
REP_CODE_OR_AGENT = re.compile(r'\{"code":"((?:[^"\\]|\\.)*)"|"agent":(\{[^{}]*\}|null)')
AGENT_FIELD = re.compile(r'"(state|since)":"([^"\\]*)"')
#: The agent states (app/floor/agent_state.py), by index in the screens' sightings.
AGENT_STATES = ("logged_out", "available", "ringing", "on_call", "wrap_up", "paused")
STATE_INDEX = {s: i for i, s in enumerate(AGENT_STATES)}


def since_seconds(since: str) -> int:
    """An agent's ``since`` (an ISO instant with offset, whole seconds) as Unix seconds."""
    return int(datetime.fromisoformat(since).timestamp())


def scan_agents(text: str, verify: bool = False) -> list[tuple[str, int | None, int | None]]:
    """(rep code, since as Unix seconds, state index) of every rep row of a delta that carries
    an agent; None for a key the (deep) patch left out."""
    start = text.rfind(',"reps":[')
    code = None
    rows: list[tuple[str, int | None, int | None]] = []
    for m in REP_CODE_OR_AGENT.finditer(text, start if start >= 0 else 0):
        if m[1] is not None:
            code = m[1]
        elif code is not None and m[2] != "null":
            fields = dict(AGENT_FIELD.findall(m[2]))
            since, state = fields.get("since"), fields.get("state")
            rows.append(
                (
                    code,
                    since_seconds(since) if since else None,
                    STATE_INDEX[state] if state else None,
                )
            )
    if verify:
        full = [
            (
                r["code"],
                since_seconds(r["agent"]["since"]) if "since" in r["agent"] else None,
                STATE_INDEX[r["agent"]["state"]] if "state" in r["agent"] else None,
            )
            for r in orjson.loads(text).get("reps") or []
            if r.get("agent")
        ]
        if full != rows:
            raise BenchError(
                f"the delta's agent layout changed: the scan read {rows[:3]}…, the frame holds "
                f"{full[:3]}…"
            )
    return rows


def snapshot_agents(reps: list[dict[str, Any]]) -> list[tuple[str, int | None, int | None]]:
    """:func:`scan_agents` of a snapshot's rep rows (whole rows: every key present)."""
    return [
        (r["code"], since_seconds(r["agent"]["since"]), STATE_INDEX[r["agent"]["state"]])
        for r in reps
        if r.get("agent")
    ]


def scan_delta(text: str, verify: bool = False) -> list[tuple[str, int]]:
    """(rep code, day dials) of every rep row in a delta frame."""
    start = text.rfind(',"reps":[')
    rows = [(m[1], int(m[2])) for m in REP_DIALS.finditer(text, start if start >= 0 else 0)]
    if verify:
        full = [
            (r["code"], r["totals"]["dials"])
            for r in orjson.loads(text).get("reps") or []
            if "dials" in r.get("totals", {})  # a row whose dials did not change has none
        ]
        if full != rows:
            raise BenchError(
                f"the delta layout changed: the scan read {rows[:3]}…, the frame holds {full[:3]}…"
            )
    return rows


# --- shared measurement state ----------------------------------------------------------------


@dataclass
class Ledger:
    """The sender's side: what was POSTed and when, in the parent process."""

    posted: dict[str, int]  # rep -> dials posted so far (warm-up included)
    sent_at: dict[str, dict[int, float]] = field(default_factory=dict)  # rep -> {n: t_send}
    measuring: bool = False
    post_latencies: array = field(default_factory=lambda: array("d"))  # POST -> response
    failures: list[str] = field(default_factory=list)

    def measured_pairs(self, clients: int) -> int:
        return clients * sum(len(v) for v in self.sent_at.values())


@dataclass
class Sightings:
    """The screens' side, in a client process: every frame counted, and for every rep the n-th
    call's first sighting (n, receipt time) per screen, matched with the send times afterwards."""

    seen_n: dict[str, array] = field(default_factory=dict)  # rep -> n of each sighting
    seen_t: dict[str, array] = field(default_factory=dict)  # rep -> receipt time of each
    snapshots: int = 0  # snapshot frames received after connect (backlog replaced, resync)
    deltas: int = 0
    gaps: int = 0  # seq skipped: a frame lost
    kinds: dict[str, int] = field(default_factory=dict)  # frames received by type
    frames: int = 0
    bytes: int = 0
    failures: list[str] = field(default_factory=list)
    # Agent states (bench/agent_events.py): per rep, each newer ``since`` a screen saw (Unix
    # seconds) after the one it had seen before (-1: none), its receipt time and the rep's
    # state as merged from the patches (-1: unknown). The screens of a process share the
    # arrays, so a sighting covers the events with ``prev < at <= since`` of its own screen.
    agent_prev: dict[str, array] = field(default_factory=dict)
    agent_since: dict[str, array] = field(default_factory=dict)
    agent_t: dict[str, array] = field(default_factory=dict)
    agent_state: dict[str, array] = field(default_factory=dict)
    agent_deltas: int = 0  # deltas that carried an agent

    def reset(self) -> None:
        """Forget everything counted so far (the warm-up's frames), failures excepted."""
        self.seen_n, self.seen_t = {}, {}
        self.agent_prev, self.agent_since, self.agent_t, self.agent_state = {}, {}, {}, {}
        self.agent_deltas = 0
        self.snapshots = self.deltas = self.gaps = self.frames = self.bytes = 0
        self.kinds = {}


class Screen:
    """One WebSocket client: the dials it has seen per rep, stamped on receipt."""

    def __init__(self, ws: ClientConnection, ledger: Sightings) -> None:
        self.ws = ws
        self.ledger = ledger
        self.seen: dict[str, int] = {}
        self.since: dict[str, int] = {}  # rep -> the latest agent ``since`` seen (Unix seconds)
        self.state: dict[str, int] = {}  # rep -> its agent state, merged from deep patches
        self.seq = 0
        self.ready = asyncio.Event()  # first snapshot read
        self.closing = False  # we are closing it: the close is no failure

    def _see(self, rows: list[tuple[str, int]], t: float) -> None:
        ledger = self.ledger
        for code, dials in rows:
            last = self.seen.get(code, 0)
            if dials <= last:
                continue
            self.seen[code] = dials
            ns = ledger.seen_n.get(code)
            if ns is None:
                ns = ledger.seen_n[code] = array("i")
                ledger.seen_t[code] = array("d")
            ts = ledger.seen_t[code]
            for n in range(last + 1, dials + 1):
                ns.append(n)
                ts.append(t)

    def _see_agents(self, rows: list[tuple[str, int | None, int | None]], t: float) -> None:
        ledger = self.ledger
        for code, since, state in rows:
            if state is not None:
                self.state[code] = state  # a deep patch leaves an unchanged state out
            prev = self.since.get(code, -1)
            if since is None or since <= prev:
                continue
            self.since[code] = since
            ss = ledger.agent_since.get(code)
            if ss is None:
                ss = ledger.agent_since[code] = array("q")
                ledger.agent_prev[code] = array("q")
                ledger.agent_t[code] = array("d")
                ledger.agent_state[code] = array("b")
            ledger.agent_prev[code].append(prev)
            ss.append(since)
            ledger.agent_t[code].append(t)
            ledger.agent_state[code].append(self.state.get(code, -1))

    def caught_up(self, posted: dict[str, int]) -> bool:
        """Whether this screen has seen every call posted."""
        return all(self.seen.get(code, 0) >= n for code, n in posted.items())

    def caught_up_agents(self, last_at: dict[str, int]) -> bool:
        """Whether this screen has seen every rep's latest agent event (``at``, Unix seconds)."""
        return all(self.since.get(code, -1) >= at for code, at in last_at.items())

    async def run(self) -> None:
        ledger = self.ledger
        try:
            async for text in self.ws:
                t = time.perf_counter()  # before any parsing: receipt, not processing
                ledger.frames += 1
                ledger.bytes += len(text)
                head = FRAME_HEAD.match(text)
                if head is None:
                    raise BenchError(f"a frame without type and seq first: {text[:200]!r}")
                kind, seq = head["type"], int(head["seq"])
                ledger.kinds[kind] = ledger.kinds.get(kind, 0) + 1
                if seq != self.seq + 1:
                    ledger.gaps += 1
                self.seq = seq
                if kind == "delta":
                    ledger.deltas += 1
                    self._see(scan_delta(text, verify=ledger.deltas % VERIFY_EVERY == 1), t)
                    if '"agent":' in text:
                        ledger.agent_deltas += 1
                        verify = ledger.agent_deltas % VERIFY_EVERY == 1
                        self._see_agents(scan_agents(text, verify=verify), t)
                elif kind == "snapshot":
                    if self.ready.is_set():
                        ledger.snapshots += 1
                    data = orjson.loads(text)["data"]
                    self._see([(r["code"], r["totals"]["dials"]) for r in data["reps"]], t)
                    self._see_agents(snapshot_agents(data["reps"]), t)
                    self.ready.set()
        except websockets.ConnectionClosed as exc:
            if not self.closing:
                ledger.failures.append(f"socket closed by the server: {exc}")
        except Exception as exc:  # reported by the phase: a task's exception would vanish
            ledger.failures.append(f"client: {type(exc).__name__}: {exc}")
        finally:
            self.ready.set()  # never leave a waiter hanging; failures say what happened


# --- the load --------------------------------------------------------------------------------


async def connect_screens(
    ws_url: str, n: int, ledger: Sightings, compression: str | None
) -> list[tuple[Screen, asyncio.Task]]:
    """``n`` connected clients, each past its first snapshot; BenchError if any failed."""
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one() -> tuple[Screen, asyncio.Task]:
        async with gate:
            ws = await connect(
                ws_url,
                max_size=None,
                compression=compression,
                ping_interval=None,  # like a browser: the server's heartbeats keep it alive
                open_timeout=60,
                close_timeout=5,
            )
            screen = Screen(ws, ledger)
            task = asyncio.create_task(screen.run())
            await asyncio.wait_for(screen.ready.wait(), 60)
            return screen, task

    screens = await asyncio.gather(*(one() for _ in range(n)), return_exceptions=True)
    errors = [s for s in screens if isinstance(s, BaseException)]
    if errors or ledger.failures:
        raise BenchError(
            f"{len(errors)} of {n} clients failed to connect: "
            f"{errors[0] if errors else ledger.failures[0]!r}"
        )
    return screens  # type: ignore[return-value]


async def close_screens(screens: list[tuple[Screen, asyncio.Task]]) -> None:
    for screen, _ in screens:
        screen.closing = True
    await asyncio.gather(*(s.ws.close() for s, _ in screens), return_exceptions=True)
    for _, task in screens:
        task.cancel()
    await asyncio.gather(*(t for _, t in screens), return_exceptions=True)


# --- the screens' processes ------------------------------------------------------------------
# A thousand browsers are a thousand processes; one Python event loop holding a thousand clients
# saturates first (0.74 of a core at 1,000 clients and 200 calls/s, its own queueing showing as
# a 240-ms POST round trip), which measures the client, not the server. The screens are spread
# over a few processes, and the sender has its own. perf_counter is CLOCK_MONOTONIC on Linux,
# one clock for every process, so a receipt time in one is comparable with a send time in another.


def screens_process(conn: Connection, ws_url: str, compression: str | None) -> None:
    """A client process's entry point: serve :class:`ScreenPool`'s commands until "close"."""
    with _runner() as runner:
        runner.run(_serve_screens(conn, ws_url, compression))


async def _serve_screens(conn: Connection, ws_url: str, compression: str | None) -> None:
    sightings = Sightings()
    screens: list[tuple[Screen, asyncio.Task]] = []
    try:
        while True:
            command, arg = await asyncio.to_thread(conn.recv)
            reply: Any = None
            try:
                if command == "connect":
                    screens += await connect_screens(ws_url, arg, sightings, compression)
                elif command == "reset":
                    sightings.reset()
                elif command == "caught_up":
                    reply = sum(s.caught_up(arg) for s, _ in screens)
                elif command == "caught_up_agents":
                    reply = sum(s.caught_up_agents(arg) for s, _ in screens)
                elif command == "report":
                    reply = sightings
                elif command == "close":
                    break
                else:
                    raise BenchError(f"unknown command {command!r}")
            except BenchError as exc:
                conn.send(("error", str(exc)))
                continue
            conn.send(("ok", reply))
    finally:
        await close_screens(screens)
        conn.send(("ok", None))


class ScreenPool:
    """The screens, spread over ``procs`` client processes (see above)."""

    def __init__(self, procs: int, ws_url: str, compression: str | None) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conns: list[Connection] = []
        self.procs: list[BaseProcess] = []
        for _ in range(procs):
            mine, theirs = ctx.Pipe()
            proc = ctx.Process(target=screens_process, args=(theirs, ws_url, compression))
            proc.start()
            self.conns.append(mine)
            self.procs.append(proc)
        self.screens = 0

    async def _ask(self, command: str, args: list[Any]) -> list[Any]:
        def one(conn: Connection, arg: Any) -> Any:
            conn.send((command, arg))
            status, reply = conn.recv()
            if status != "ok":
                raise BenchError(reply)
            return reply

        return await asyncio.gather(
            *(asyncio.to_thread(one, c, a) for c, a in zip(self.conns, args, strict=True))
        )

    async def grow_to(self, clients: int) -> None:
        """Connect screens until there are ``clients``, spread evenly, each past its snapshot."""
        k = len(self.conns)
        have = [self.screens // k + (i < self.screens % k) for i in range(k)]
        want = [clients // k + (i < clients % k) for i in range(k)]
        await self._ask("connect", [w - h for w, h in zip(want, have, strict=True)])
        self.screens = clients

    async def reset(self) -> None:
        await self._ask("reset", [None] * len(self.conns))

    async def caught_up(self, posted: dict[str, int]) -> int:
        """Screens that have seen every call ``posted`` counts."""
        return sum(await self._ask("caught_up", [posted] * len(self.conns)))

    async def caught_up_agents(self, last_at: dict[str, int]) -> int:
        """Screens that have seen every rep's latest agent event (``at`` by rep, Unix seconds)."""
        return sum(await self._ask("caught_up_agents", [last_at] * len(self.conns)))

    async def report(self) -> list[Sightings]:
        return await self._ask("report", [None] * len(self.conns))

    def cpu_seconds(self) -> float:
        return sum(proc_cpu_seconds(p.pid) or 0.0 for p in self.procs if p.pid is not None)

    async def close(self) -> None:
        with contextlib.suppress(BenchError, OSError, EOFError):
            await self._ask("close", [None] * len(self.conns))
        for proc in self.procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()


def percentile(values: list[float], q: float) -> float | None:
    """The ``q``-th percentile (nearest rank) of ``values``; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


class Poster:
    """POSTs over a few keep-alive HTTP/1.1 connections, one request at a time on each.

    httpx's pool costs the client ~0.5 ms of CPU per request at this rate, on the loop that also
    stamps the screens' frames; a plain request on an asyncio stream costs a tenth of that.
    """

    def __init__(
        self, host: str, port: int, token: str, connections: int, path: str = CALLS_URL
    ) -> None:
        self.host, self.port, self.connections = host, port, connections
        self.head = (
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        ).encode()
        self.pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
            asyncio.Queue()
        )
        self.writers: list[asyncio.StreamWriter] = []

    async def open(self) -> Poster:
        for _ in range(self.connections):
            await self._add()
        return self

    async def _add(self) -> None:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        self.writers.append(writer)
        self.pool.put_nowait((reader, writer))

    async def refresh(self) -> None:
        """Fresh connections: the server closes keep-alive connections idle for 5 s."""
        await self.close()
        self.writers, self.pool = [], asyncio.Queue()
        await self.open()

    async def post(self, body: bytes) -> tuple[int, bytes]:
        """(status, response body); OSError or BenchError when the exchange breaks."""
        reader, writer = await self.pool.get()
        try:
            writer.write(self.head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ", 2)[1])
            headers = dict(
                (k.strip().lower(), v.strip()) for k, _, v in (x.partition(":") for x in lines[1:])
            )
            if "content-length" not in headers:
                raise BenchError(f"a response without Content-Length: {head[:300]!r}")
            data = await reader.readexactly(int(headers["content-length"]))
        except BaseException:
            writer.close()
            await self._add()  # a fresh connection in place of the broken one
            raise
        if headers.get("connection", "").lower() == "close":
            writer.close()
            await self._add()
        else:
            self.pool.put_nowait((reader, writer))
        return status, data

    async def close(self) -> None:
        for w in self.writers:
            w.close()
        await asyncio.gather(*(w.wait_closed() for w in self.writers), return_exceptions=True)


async def loop_lag(samples: array, stop: asyncio.Event, period: float = 0.01) -> None:
    """How late the client's event loop wakes a 10 ms sleeper: its own queueing delay."""
    while not stop.is_set():
        t0 = time.perf_counter()
        await asyncio.sleep(period)
        samples.append(time.perf_counter() - t0 - period)


async def send_calls(
    http: Poster,
    ledger: Ledger,
    reps: list[str],
    rate: float,
    seconds: float,
    prefix: str,
    rng: random.Random,
) -> tuple[int, float]:
    """POST one call per request at ``rate``/s for ``seconds``; (calls sent, seconds taken).

    A rep is given its next call only once the last one was answered, so its dials count
    names its calls. Send times are recorded when ``ledger.measuring`` is set.
    """
    await http.refresh()
    free = deque(reps)
    rng.shuffle(free)
    freed = asyncio.Event()
    total = int(rate * seconds)
    tasks: set[asyncio.Task] = set()

    async def post(rep: str, i: int) -> None:
        body = orjson.dumps(call_record(f"{prefix}-{i}", rep, rng))
        t0 = time.perf_counter()
        n = ledger.posted[rep] + 1
        ledger.posted[rep] = n
        if ledger.measuring:
            ledger.sent_at.setdefault(rep, {})[n] = t0
        try:
            status, data = await http.post(body)
            ledger.post_latencies.append(time.perf_counter() - t0)
            created = orjson.loads(data).get("created") if status == 200 else None
            if created != 1:
                ledger.failures.append(f"POST HTTP {status}: {data[:300]!r}")
        except (OSError, asyncio.IncompleteReadError, BenchError, ValueError) as exc:
            ledger.failures.append(f"POST failed: {type(exc).__name__}: {exc}")
        finally:
            free.append(rep)
            freed.set()

    start = time.perf_counter()
    # A server that cannot keep the rate slows the sender (one call in flight per rep); stop
    # at twice the planned time and report the rate reached.
    give_up = start + 2 * seconds + 5
    sent = 0
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        while not free:  # every rep has a call in flight: the server is behind
            freed.clear()
            await freed.wait()
        if ledger.failures or time.perf_counter() > give_up:
            break
        task = asyncio.create_task(post(free.popleft(), i))
        sent += 1
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks)
    return sent, time.perf_counter() - start


@dataclass
class Phase:
    """One measured load with ``clients`` connected."""

    clients: int
    calls: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    post_ms: list[float] = field(default_factory=list)
    missing: int = 0
    expected: int = 0
    snapshots: int = 0
    gaps: int = 0
    frames: int = 0
    mib: float = 0.0
    client_cpu: float = 0.0  # cores per client process (CPU seconds / wall second)
    sender_cpu: float = 0.0  # cores of the process POSTing the calls
    server_cpu: float | None = None
    lag_ms: list[float] = field(default_factory=list)
    rss_connected_kib: int | None = None
    rss_after_kib: int | None = None

    def pct(self, values: list[float], q: float) -> float | None:
        return percentile(values, q)


async def measure_phase(
    args: argparse.Namespace,
    server: Server,
    http: Poster,
    ledger: Ledger,
    pool: ScreenPool,
    rng: random.Random,
    label: str,
) -> Phase:
    """Warm up, then post for ``args.duration`` s and collect every (client, call) latency."""
    reps, clients = args.rep_codes, pool.screens
    phase = Phase(clients)
    phase.rss_connected_kib = proc_status_kib(server.pid, "VmRSS")
    console.print(
        f"{label}: {clients} clients connected in {len(pool.procs)} processes; server RSS "
        f"{(phase.rss_connected_kib or 0) / 1024:,.0f} MiB; warming up {args.warmup:g}s"
    )
    ledger.measuring = False
    await send_calls(http, ledger, reps, args.rate, args.warmup, f"{label}-w", rng)
    await asyncio.sleep(1.0)  # let the warm-up's deltas land before the clock starts
    ledger.sent_at.clear()
    del ledger.post_latencies[:]
    await pool.reset()
    lag = array("d")
    stop = asyncio.Event()
    lag_task = asyncio.create_task(loop_lag(lag, stop))
    ledger.measuring = True
    meter = CpuMeter(server.pid)
    screens_cpu = pool.cpu_seconds()
    t0 = time.perf_counter()
    with meter:
        phase.calls, phase.seconds = await send_calls(
            http, ledger, reps, args.rate, args.duration, label, rng
        )
        # Every client should have seen every call; stop waiting after DRAIN_SECONDS.
        deadline = time.perf_counter() + DRAIN_SECONDS
        while await pool.caught_up(ledger.posted) < clients and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
    wall = time.perf_counter() - t0
    screens_cpu = pool.cpu_seconds() - screens_cpu
    ledger.measuring = False
    stop.set()
    await lag_task
    seen = await pool.report()
    failures = ledger.failures + [f for s in seen for f in s.failures]
    if failures:
        raise BenchError(f"{label}: {len(failures)} failures; first: {failures[0]}")
    phase.expected = ledger.measured_pairs(clients)
    phase.latencies_ms = matched_latencies_ms(ledger.sent_at, seen)
    phase.post_ms = [x * 1000 for x in ledger.post_latencies]
    phase.missing = phase.expected - len(phase.latencies_ms)
    phase.snapshots = sum(s.snapshots for s in seen)
    phase.gaps = sum(s.gaps for s in seen)
    phase.frames = sum(s.frames for s in seen)
    phase.mib = sum(s.bytes for s in seen) / (1 << 20)
    kinds: dict[str, int] = {}
    for s in seen:
        for k, v in s.kinds.items():
            kinds[k] = kinds.get(k, 0) + v
    phase.sender_cpu = meter.client / wall
    phase.client_cpu = screens_cpu / wall / len(pool.procs)
    phase.server_cpu = meter.server / wall if meter.server is not None else None
    phase.lag_ms = [x * 1000 for x in lag]
    phase.rss_after_kib = proc_status_kib(server.pid, "VmRSS")
    p50, p99 = phase.pct(phase.latencies_ms, 50), phase.pct(phase.latencies_ms, 99)
    server_cpu = f"{phase.server_cpu:.2f}" if phase.server_cpu is not None else "?"
    console.print(
        f"{label}: {phase.calls} calls in {phase.seconds:.1f}s "
        f"({phase.calls / phase.seconds:,.0f}/s); {len(phase.latencies_ms):,} of "
        f"{phase.expected:,} (client, call) pairs seen; p50 {p50 or 0:,.0f} ms, "
        f"p99 {p99 or 0:,.0f} ms; CPU cores: server {server_cpu}, sender "
        f"{phase.sender_cpu:.2f}, each client process {phase.client_cpu:.2f}; "
        f"{phase.frames:,} frames, {phase.mib:,.0f} MiB received, "
        f"{phase.snapshots} snapshots instead of deltas, {phase.gaps} seq gaps; frames by type: "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(kinds.items()))
    )
    if phase.client_cpu > 0.85 or phase.sender_cpu > 0.85:
        console.print(
            "[bold yellow]note[/]: a benchmark process used more than 85% of a core: its event "
            "loop is saturated, so these latencies are upper bounds (client-bound)"
        )
    return phase


def matched_latencies_ms(
    sent_at: dict[str, dict[int, float]], seen: list[Sightings]
) -> list[float]:
    """Every (screen, measured call) pair's latency: a sighting of the rep's n-th call minus
    that call's send time (sightings of warm-up calls have none and are left out)."""
    out: list[float] = []
    for sightings in seen:
        for code, ns in sightings.seen_n.items():
            sent = sent_at.get(code)
            if not sent:
                continue
            for n, t in zip(ns, sightings.seen_t[code], strict=True):
                t0 = sent.get(n)
                if t0 is not None:
                    out.append((t - t0) * 1000)
    return out


async def run_load(
    args: argparse.Namespace,
    post_to: Server,
    screens_on: Server,
    tokens: dict[str, str],
) -> list[Phase]:
    """Both phases: calls POSTed to ``post_to``, screens connected to ``screens_on`` (the same
    server, or another process on the same PostgreSQL database)."""
    ledger = Ledger(posted=dict.fromkeys(args.rep_codes, 0))
    rng = random.Random(args.seed)
    # Deep patches, as the pages ask for them (app/static/live.js).
    ws_url = screens_on.url.replace("http://", "ws://") + f"/ws?token={tokens['read']}&patch=deep"
    compression = None if args.compression == "none" else "deflate"
    phases: list[Phase] = []
    pool = ScreenPool(args.client_procs, ws_url, compression)
    http = await Poster(LOOPBACK, post_to.port, tokens["ingest"], args.connections).open()
    try:
        for clients in (args.clients, args.big_clients):
            label = f"c{clients}"
            if clients <= 0 or clients < pool.screens:
                continue
            t0 = time.perf_counter()
            await pool.grow_to(clients)
            console.print(
                f"connected {clients} clients in {time.perf_counter() - t0:.1f}s "
                f"(each read its first snapshot)"
            )
            phases.append(await measure_phase(args, screens_on, http, ledger, pool, rng, label))
    finally:
        await pool.close()
        await http.close()
    return phases


# --- results ---------------------------------------------------------------------------------


def phase_results(tag: str, p: Phase) -> list[Result]:
    """The judged rows of one phase: latency p50/p99 (absolute goals; baseline: the POST's own
    round trip in the same phase) and the (client, call) pairs delivered of those expected."""
    seen = len(p.latencies_ms)
    note = (
        f"{p.missing:,} of {p.expected:,} (client, call) pairs never arrived within "
        f"{DRAIN_SECONDS:g} s of the last POST"
        if p.missing
        else ""
    )
    rows = [
        Result.absolute(
            f"{tag}_p{q}",
            p.pct(p.latencies_ms, q),
            "ms",
            goal,
            baseline=p.pct(p.post_ms, q),
            note="" if seen else (note or "no latency measured"),
        )
        for q, goal in ((50, P50_GOAL_MS), (99, P99_GOAL_MS))
    ]
    rows.append(
        Result.compared(f"{tag}_delivered", float(seen), "pairs", float(p.expected), 1.0, note=note)
    )
    return rows


def build_results(tag: str, phases: list[Phase]) -> list[Result]:
    """Rows for every phase, ``<tag>_<N>c_…``."""
    return [r for p in phases for r in phase_results(f"{tag}_{p.clients}c", p)]


def failed_results(tag: str, args: argparse.Namespace, reason: str) -> list[Result]:
    """The rows a run that could not measure would have had, each FAILED with ``reason``."""
    rows = []
    for clients in (args.clients, args.big_clients):
        if clients > 0:
            rows += [
                Result.failed(
                    f"{tag}_{clients}c_p50",
                    "ms",
                    reason,
                    P50_GOAL_MS,
                    on="value",
                    at_most=True,
                ),
                Result.failed(
                    f"{tag}_{clients}c_p99",
                    "ms",
                    reason,
                    P99_GOAL_MS,
                    on="value",
                    at_most=True,
                ),
                Result.failed(f"{tag}_{clients}c_delivered", "pairs", reason, 1.0),
            ]
    return rows


# --- main ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="smoke run: 2 s of load per phase")
    p.add_argument("--clients", type=int, default=200, help="clients of the first phase")
    p.add_argument(
        "--big-clients",
        type=int,
        default=BIG_CLIENTS,
        help="clients of the second phase (0 skips it); RSS goal at 1,000",
    )
    p.add_argument("--rate", type=float, default=200.0, help="calls POSTed per second")
    p.add_argument("--duration", type=float, help="seconds of measured load per phase (20)")
    p.add_argument("--warmup", type=float, help="seconds of unmeasured load first (2)")
    p.add_argument("--reps", type=int, default=100, help="reps on the floor")
    p.add_argument("--teams", type=int, default=5, help="teams on the floor")
    p.add_argument(
        "--history-days",
        type=int,
        default=0,
        help="days of hour totals stored before today (week/month to date), before the start",
    )
    p.add_argument(
        "--compression",
        choices=("deflate", "none"),
        default="deflate",
        help="permessage-deflate offered by the clients (browsers offer it)",
    )
    p.add_argument(
        "--connections",
        type=int,
        default=16,
        help="keep-alive connections the POSTs share",
    )
    p.add_argument(
        "--client-procs",
        type=int,
        default=2,
        help="processes the screens are spread over (one loop saturates near 1,000 screens)",
    )
    p.add_argument("--no-pg", action="store_true", help="skip the two-process PostgreSQL run")
    p.add_argument(
        "--floor-scale",
        action="store_true",
        help="only the floor-scale rows: 2,000 reps with history vs 100 reps, 30 calls/s",
    )
    p.add_argument(
        "--bus",
        choices=("auto", "memory", "postgres", "redis"),
        default="auto",
        help="PACEBOARD_BUS of the two servers (auto: LISTEN/NOTIFY on PostgreSQL; memory "
        "shows what the rows say when the calls never reach B)",
    )
    p.add_argument("--redis-url", default="", help="PACEBOARD_REDIS_URL of the two servers")
    p.add_argument("--no-single", action="store_true", help="skip the single-process SQLite run")
    p.add_argument("--seed", type=int, default=20261127)
    p.add_argument("--keep", action="store_true", help="keep the temp dir (database, server log)")
    args = p.parse_args(argv)
    if args.duration is None:
        args.duration = 2.0 if args.quick else 20.0
    if args.warmup is None:
        args.warmup = 0.5 if args.quick else 2.0
    for name in ("clients", "rate", "duration", "reps", "teams", "connections", "client_procs"):
        if getattr(args, name) <= 0:
            p.error(f"--{name.replace('_', '-')} must be positive")
    return args


def raise_fd_limit(need: int) -> None:
    """Each client holds a socket here and one in the server (which inherits the limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = need if hard == resource.RLIM_INFINITY else min(need, hard)
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft != resource.RLIM_INFINITY and soft < need:
        raise BenchError(f"open-file limit {soft} is below the {need} this run needs")


def prepare_floor(
    args: argparse.Namespace, workdir: Path, database_url: str | None = None
) -> tuple[dict[str, str], dict[str, str]]:
    """Migrate, import the roster, create tokens; (server env, tokens by scope)."""
    tz = midday_timezone()
    env = server_env(workdir, free_port(), database_url, timezone=tz)
    # Creating a token migrates the fresh database first.
    tokens = {scope: create_token(env, scope) for scope in ("read", "ingest")}
    csv_text, args.rep_codes = roster_csv(args.reps, args.teams)
    roster = workdir / "roster.csv"
    roster.write_text(csv_text)
    run_cli(env, "roster", "import", str(roster))
    if args.history_days:
        cells = store_history(env["PACEBOARD_DATABASE_URL"], args.history_days, tz)
        console.print(f"history: {cells:,} hour cells over the {args.history_days} days before")
    console.print(f"floor timezone {tz}; {args.reps} reps in {args.teams} teams")
    return env, tokens


def store_history(database_url: str, days: int, timezone: str) -> int:
    """Every rep's hour totals of the ``days`` days before today (nine calling hours a day, a
    rep's ordinary figures), written in bulk before the server starts: the week- and
    month-to-date sums a full read of the floor goes through. Hour cells, not calls: the live
    path reads totals, never calls (a call table of that history would change nothing here)."""
    from zoneinfo import ZoneInfo

    import sqlalchemy as sa

    from app.db import make_engine
    from app.floor.metrics import METRICS

    engine = make_engine(database_url)
    today = datetime.now(ZoneInfo(timezone)).date()
    rng = random.Random(7)
    try:
        with engine.begin() as conn:
            rep_ids = conn.execute(sa.text("SELECT id FROM rep")).scalars().all()
            rows = []
            for back in range(1, days + 1):
                day = today - timedelta(days=back)
                for rep_id in rep_ids:
                    for hour in range(9, 18):
                        dials = rng.randint(20, 40)
                        v = dict.fromkeys(METRICS, 0)
                        v.update(dials=dials, connects=dials // 4, talk_seconds=dials * 45,
                                 orders=rng.randint(0, 1), leads_dialled=dials - 5,
                                 leads_connected=dials // 5)  # fmt: skip
                        v["revenue"] = v["orders"] * 50_000
                        v["connect_orders"] = v["orders"]
                        rows.append({"rep_id": rep_id, "day": day, "hour": hour, **v})
            cols = ", ".join(["rep_id", "day", "hour", *METRICS])
            marks = ", ".join(f":{c}" for c in ["rep_id", "day", "hour", *METRICS])
            conn.execute(sa.text(f"INSERT INTO hourly_total ({cols}) VALUES ({marks})"), rows)
    finally:
        engine.dispose()
    return len(rows)


def load_with_timeout(
    args: argparse.Namespace,
    post_to: Server,
    screens_on: Server,
    tokens: dict[str, str],
) -> list[Phase]:
    """run_load on uvloop, given up (BenchError) well after it should have ended."""
    limit = 2 * (args.warmup + args.duration + DRAIN_SECONDS + 2 * args.duration + 5) + 180
    runner = _runner()
    try:
        return runner.run(asyncio.wait_for(run_load(args, post_to, screens_on, tokens), limit))
    except TimeoutError:
        raise BenchError(f"the load did not finish within {limit:.0f}s") from None
    finally:
        runner.close()


def single_process(args: argparse.Namespace, workdir: Path) -> list[Result]:
    """One server on SQLite: screens and POSTs on the same process."""
    env, tokens = prepare_floor(args, workdir)
    with Server(env, workdir / "server.log") as server:
        console.print(f"server pid {server.pid} on {server.url}, SQLite")
        phases = load_with_timeout(args, server, server, tokens)
        rss = server.rss_result("server_rss_live", RSS_GOAL_MIB)
    return [*build_results("live", phases), rss]


PG2 = "live_pg2"
BUS_HINT = (
    "calls posted to server A did not reach server B's screens: is the cross-process bus "
    "(app/live/bus.py, LISTEN/NOTIFY on PostgreSQL) running?"
)


def pg2_failed(args: argparse.Namespace, reason: str) -> list[Result]:
    """Every row of the two-process run, FAILED with ``reason``."""
    return [
        *failed_results(PG2, args, reason),
        Result.failed("server_rss_live_pg2", "MiB", reason, RSS_GOAL_MIB, on="value", at_most=True),
        Result.failed("server_rss_live_pg2_poster", "MiB", reason),
    ]


def two_processes(args: argparse.Namespace, workdir: Path) -> list[Result]:
    """Two servers on one PostgreSQL database: POSTs to A, screens on B. The calls reach B's
    screens only through the cross-process bus (app/live/bus.py). Whatever goes wrong here
    (no PostgreSQL, a server that does not start, calls that never reach B) is reported in
    these rows, FAILED or missed, and never stops the single-process rows."""
    reason = pg_unavailable()
    if reason:
        return pg2_failed(args, reason)
    pg_dir = workdir / "pg"
    pg_dir.mkdir()
    try:
        with pg_database() as url:
            env_a, tokens = prepare_floor(args, pg_dir, url)
            if args.bus != "auto":
                env_a["PACEBOARD_BUS"] = args.bus
            if args.redis_url:
                env_a["PACEBOARD_REDIS_URL"] = args.redis_url
            env_b = {**env_a, "PACEBOARD_PORT": str(free_port())}
            with (
                Server(env_a, pg_dir / "server-a.log") as a,
                Server(env_b, pg_dir / "server-b.log") as b,
            ):
                console.print(
                    f"server A pid {a.pid} on {a.url} takes the POSTs; server B pid {b.pid} on "
                    f"{b.url} holds the screens; one PostgreSQL database"
                )
                phases = load_with_timeout(args, a, b, tokens)
                rows = build_results(PG2, phases)
                rows.append(b.rss_result("server_rss_live_pg2", RSS_GOAL_MIB))
                rows.append(a.rss_result("server_rss_live_pg2_poster"))
    except BenchError as exc:
        console.print(f"[bold red]two-process run failed[/]: {exc}")
        return pg2_failed(args, str(exc))
    for r in rows:
        if r.value is None or (r.name.endswith("_delivered") and not r.met):
            r.note = f"{r.note}; {BUS_HINT}" if r.note else BUS_HINT
    return rows


#: The floor-scale run: a real floor's call rate, the screens of a floor, history stored.
FLOOR = {"reps": 2000, "teams": 40, "history_days": 22, "rate": 30.0, "clients": 200}
SMALL_FLOOR = {"reps": 100, "teams": 5}
SCALE_GOAL = 1.5  # the big floor's p50 at most this many times the small floor's
CPU_GOAL = 0.5  # server cores at the big floor's load


def floor_scale(args: argparse.Namespace, workdir: Path) -> list[Result]:
    """``live_floor<N>_*``: one SQLite server, a 2,000-rep floor in 40 teams with 22 days of
    history, 30 calls/s, 200 whole-floor screens; ``live_scale_ratio``: its p50 over the same
    load's on a 100-rep floor, measured just before (the cost of a call must not grow with the
    floor); ``live_floor<N>_server_cpu``: the server's cores during the big floor's load."""
    phases = {}
    for label, shape in (("small", SMALL_FLOOR), ("big", {})):
        run_args = argparse.Namespace(**{**vars(args), **FLOOR, **shape, "big_clients": 0})
        if args.quick:
            run_args.history_days, run_args.clients = 5, 50
        (workdir / label).mkdir()
        env, tokens = prepare_floor(run_args, workdir / label)
        with Server(env, workdir / label / "server.log") as server:
            phases[label] = load_with_timeout(run_args, server, server, tokens)[0]
    small, big = phases["small"], phases["big"]
    tag = f"live_floor{FLOOR['reps']}"
    rows = phase_results(tag, big)
    rows.append(
        Result.compared(
            "live_scale_ratio",
            big.pct(big.latencies_ms, 50),
            "ms",
            small.pct(small.latencies_ms, 50),
            SCALE_GOAL,
            at_most=True,
            note=f"p50 at {FLOOR['reps']} reps over p50 at {SMALL_FLOOR['reps']} reps",
        )
    )
    rows.append(Result.absolute(f"{tag}_server_cpu", big.server_cpu, "cores", CPU_GOAL))
    if not args.no_pg:
        # The same big floor on two processes over PostgreSQL: POSTs to A, screens on B.
        pg_args = argparse.Namespace(**{**vars(args), **FLOOR, "big_clients": 0})
        if args.quick:
            pg_args.history_days, pg_args.clients = 5, 50
        (workdir / "pg2").mkdir()
        for r in two_processes(pg_args, workdir / "pg2"):
            floor = f"floor{FLOOR['reps']}"
            r.name = r.name.replace(f"{PG2}_{pg_args.clients}c", f"{PG2}_{floor}")
            r.name = r.name.replace("server_rss_live_pg2", f"server_rss_live_pg2_{floor}")
            rows.append(r)
    return rows


def run(args: argparse.Namespace, workdir: Path) -> list[Result]:
    raise_fd_limit(2 * max(args.clients, args.big_clients) + 512)
    if args.floor_scale:
        return floor_scale(args, workdir)
    results = [] if args.no_single else single_process(args, workdir)
    if not args.no_pg:
        results += two_processes(args, workdir)
    console.print(
        f"live_<N>c: {args.rate:g} calls/s for {args.duration:g}s, one call per POST, "
        f"{args.reps} reps; latency = POST sent -> each client's frame showing the new dials "
        f"(baseline: the POST's own round trip); screens in {args.client_procs} client "
        f"processes, the sender in its own (uvloop), compression {args.compression}; "
        f"live_pg2: two servers on one PostgreSQL, POSTs to A, screens on B"
    )
    return results


def _runner() -> asyncio.Runner:
    """uvloop when installed (uvicorn[standard] brings it): a client loop's speed bounds what it
    can measure."""
    try:
        import uvloop
    except ImportError:
        return asyncio.Runner()
    return asyncio.Runner(loop_factory=uvloop.new_event_loop)


def main(argv: list[str] | None = None) -> int:
    return standalone("live", parse_args(argv), run)


if __name__ == "__main__":
    sys.exit(main())
