"""Agent states on a real floor's screens: how fast a posted state change reaches every screen
on ``/ws`` while calls are posted, and whether the calls still meet their goals meanwhile.

Measured the way bench/live.py measures ``live_floor2000`` (and with its machinery: a real
server, the screens in a few client processes, the sender in this one): one SQLite server, the
same 2,000-rep floor in 40 teams with 22 days of hour totals stored, 200 whole-floor screens on
``/ws?…&patch=deep``, 30 calls/s POSTed one per request. Beside them, 100 agent-state events/s
are POSTed to ``/api/v1/agent-events`` as a phone system would send them: every 100 ms one
request of 10 events, the reps in turn, so each rep changes state every 20 s, cycling
available -> on_call -> wrap_up -> paused (break) -> available. Each event's ``at`` is the
sender's clock in whole seconds (the server keeps whole seconds), so each is a new ``since``.
Every rep is given a state (available) before the warm-up, so the measured changes are changes
of a floor in its ordinary state, not each rep's first.

An event's latency is measured per screen, from just before its POST is sent to that screen's
receipt of the first frame (a ``delta``, or a ``snapshot`` that replaces a backlog) showing the
rep with a ``since`` at or after the event's ``at``; the state shown with that ``since`` (merged
from deep patches) must be the one posted, or the pair counts as not delivered. A call's latency
is live.py's: the first frame showing the rep's dials at or above the count that call made.

Rows: ``agent_events_p50`` / ``_p99`` (goals 150 / 500 ms, beside the events' own POST round
trip), ``agent_events_delivered`` ((screen, event) pairs seen of those expected; goal 1.0);
``agent_events_calls_p50`` / ``_p99`` / ``_delivered``: the calls posted meanwhile, against the
goals of ``live_floor2000`` (150 / 500 ms, every pair); ``agent_events_rate`` (events/s posted,
beside the rate planned) and ``agent_events_server_cpu`` (the server's cores under both loads;
``live_floor2000_server_cpu`` is the same floor with calls alone), both shown, not judged.

Part of ``make bench`` (bench/run.py, ``--only agent_events``); alone:
``.venv/bin/python bench/agent_events.py [--quick]``. Exits 0 whenever it measured, goals met or
not; 1 when it could not measure.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from array import array
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import (  # noqa: E402
    LOOPBACK,
    BenchError,
    CpuMeter,
    Result,
    Server,
    console,
    proc_status_kib,
    standalone,
)
from bench.live import (  # noqa: E402
    DRAIN_SECONDS,
    FLOOR,
    P50_GOAL_MS,
    P99_GOAL_MS,
    STATE_INDEX,
    Ledger,
    Phase,
    Poster,
    ScreenPool,
    Sightings,
    _runner,
    loop_lag,
    matched_latencies_ms,
    percentile,
    phase_results,
    prepare_floor,
    raise_fd_limit,
    send_calls,
)

EVENTS_URL = "/api/v1/agent-events"
TAG = "agent_events"
#: Each rep's states in turn; every rep starts available (the seed), so each event is a change.
CYCLE: tuple[tuple[str, str | None], ...] = (
    ("on_call", None),
    ("wrap_up", None),
    ("paused", "break"),
    ("available", None),
)
SEED_STATE = "available"
SEED_BATCH = 500  # events per request when every rep is given its first state
SOURCE = "bench-pbx"


@dataclass
class EventLedger:
    """The events' sender side: what was POSTed and when."""

    reps: list[str]
    last_at: dict[str, int] = field(default_factory=dict)  # rep -> latest event's at (Unix s)
    step: dict[str, int] = field(default_factory=dict)  # rep -> events posted after the seed
    cursor: int = 0  # the next rep to change, in turn
    # Measured events: rep -> [(at, send time, state index)], in the order sent.
    sent: dict[str, list[tuple[int, float, int]]] = field(default_factory=dict)
    measuring: bool = False
    post_latencies: array = field(default_factory=lambda: array("d"))
    requests: int = 0
    failures: list[str] = field(default_factory=list)

    def measured(self) -> int:
        return sum(len(v) for v in self.sent.values())


def event(rep: str, state: str, reason: str | None, at: int, n: int) -> dict[str, str]:
    ev = {
        "rep": rep,
        "state": state,
        "at": datetime.fromtimestamp(at, UTC).isoformat(),
        "event_id": f"{rep}-{n}",
        "source": SOURCE,
    }
    if reason:
        ev["reason"] = reason
    return ev


def check_answer(ledger: EventLedger, status: int, data: bytes, n: int) -> None:
    try:
        created = orjson.loads(data).get("created") if status == 200 else None
    except orjson.JSONDecodeError:
        created = None
    if created != n:
        ledger.failures.append(f"POST {EVENTS_URL} HTTP {status}: {data[:300]!r}")


async def seed_states(http: Poster, ledger: EventLedger) -> None:
    """Every rep available since half a minute ago: the floor in its ordinary state."""
    at = int(time.time()) - 30
    for i in range(0, len(ledger.reps), SEED_BATCH):
        chunk = ledger.reps[i : i + SEED_BATCH]
        body = orjson.dumps([event(rep, SEED_STATE, None, at, 0) for rep in chunk])
        try:
            status, data = await http.post(body)
        except (OSError, asyncio.IncompleteReadError) as exc:
            raise BenchError(f"seeding the agent states failed: {exc!r}") from None
        check_answer(ledger, status, data, len(chunk))
        for rep in chunk:
            ledger.last_at[rep] = at
            ledger.step[rep] = 0
    if ledger.failures:
        raise BenchError(f"seeding the agent states failed: {ledger.failures[0]}")


async def send_events(
    http: Poster, ledger: EventLedger, rate: float, every: float, seconds: float
) -> tuple[int, float]:
    """POST ``rate`` events/s for ``seconds``, one request every ``every`` s, the reps in turn;
    (events sent, seconds taken). Send times are recorded when ``ledger.measuring`` is set."""
    await http.refresh()
    reps = ledger.reps
    tasks: set[asyncio.Task] = set()

    async def post(batch: list[dict[str, str]]) -> None:
        body = orjson.dumps(batch)
        t0 = time.perf_counter()
        if ledger.measuring:
            for ev in batch:
                at = int(datetime.fromisoformat(ev["at"]).timestamp())
                ledger.sent.setdefault(ev["rep"], []).append((at, t0, STATE_INDEX[ev["state"]]))
        try:
            status, data = await http.post(body)
            ledger.post_latencies.append(time.perf_counter() - t0)
            check_answer(ledger, status, data, len(batch))
        except (OSError, asyncio.IncompleteReadError, BenchError, ValueError) as exc:
            ledger.failures.append(f"POST {EVENTS_URL} failed: {type(exc).__name__}: {exc}")

    start = time.perf_counter()
    give_up = start + 2 * seconds + 5
    sent = 0
    i = 0
    while True:
        due = start + i * every
        if due >= start + seconds:
            break
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if ledger.failures or time.perf_counter() > give_up:
            break
        i += 1
        n = round(rate * every * i) - sent  # the events due by now, whatever the rounding
        at = int(time.time())  # the sender's clock, whole seconds: the event happened now
        batch = []
        for _ in range(n):
            rep = reps[ledger.cursor % len(reps)]
            ledger.cursor += 1
            if at <= ledger.last_at[rep]:
                raise BenchError(
                    f"rep {rep} would change twice within a second: {rate:g} events/s is too "
                    f"many for {len(reps)} reps"
                )
            k = ledger.step[rep]
            state, reason = CYCLE[k % len(CYCLE)]
            ledger.step[rep] = k + 1
            ledger.last_at[rep] = at
            batch.append(event(rep, state, reason, at, k + 1))
        sent += n
        if batch:
            ledger.requests += 1
            task = asyncio.create_task(post(batch))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks)
    return sent, time.perf_counter() - start


@dataclass
class EventFigures:
    """The events' side of the measured load."""

    events: int = 0
    requests: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    post_ms: list[float] = field(default_factory=list)
    expected: int = 0
    wrong_state: int = 0  # pairs whose screen showed the event's since with another state
    missing: int = 0
    agent_deltas: int = 0


def matched_event_latencies(
    sent: dict[str, list[tuple[int, float, int]]], seen: list[Sightings]
) -> tuple[list[float], int]:
    """Every (screen, measured event) pair's latency: the screen's first sighting of the rep
    with a since at or after the event's at, minus the POST's send time; and the pairs whose
    sighting of exactly that since showed another state (left out of the latencies).

    A sighting records the since its screen had seen before (``prev``), so it stands for the
    events with ``prev < at <= since``: each (screen, event) pair is matched at most once
    though a process's screens share the arrays."""
    out: list[float] = []
    wrong = 0
    for sightings in seen:
        for code, events in sent.items():
            since = sightings.agent_since.get(code)
            if since is None:
                continue
            ats = [at for at, _, _ in events]  # increasing: a rep's events are seconds apart
            prevs, times, states = (
                sightings.agent_prev[code],
                sightings.agent_t[code],
                sightings.agent_state[code],
            )
            for prev, s, t, shown in zip(prevs, since, times, states, strict=True):
                for i in range(bisect_right(ats, prev), bisect_right(ats, s)):
                    at, t0, state = events[i]
                    if at == s and shown != state:
                        wrong += 1
                    else:
                        out.append((t - t0) * 1000)
    return out, wrong


async def measure(
    args: argparse.Namespace,
    server: Server,
    pool: ScreenPool,
    calls_http: Poster,
    events_http: Poster,
) -> tuple[Phase, EventFigures]:
    """Seed, warm up, then both loads for ``args.duration`` s; every latency collected."""
    reps, clients = args.rep_codes, pool.screens
    rng = random.Random(args.seed)
    calls = Ledger(posted=dict.fromkeys(reps, 0))
    events = EventLedger(reps=list(reps))
    await seed_states(events_http, events)
    phase = Phase(clients)
    phase.rss_connected_kib = proc_status_kib(server.pid, "VmRSS")
    console.print(
        f"{TAG}: {clients} screens in {len(pool.procs)} processes, every rep {SEED_STATE}; "
        f"warming up {args.warmup:g}s"
    )

    async def both(seconds: float, label: str) -> tuple[tuple[int, float], tuple[int, float]]:
        c, e = await asyncio.gather(
            send_calls(calls_http, calls, reps, args.rate, seconds, label, rng),
            send_events(events_http, events, args.event_rate, args.event_every, seconds),
        )
        return c, e

    await both(args.warmup, f"{TAG}-w")
    await asyncio.sleep(1.0)  # let the warm-up's deltas land before the clock starts
    calls.sent_at.clear()
    del calls.post_latencies[:]
    del events.post_latencies[:]
    events.requests = 0
    await pool.reset()
    lag = array("d")
    stop = asyncio.Event()
    lag_task = asyncio.create_task(loop_lag(lag, stop))
    calls.measuring = events.measuring = True
    meter = CpuMeter(server.pid)
    screens_cpu = pool.cpu_seconds()
    t0 = time.perf_counter()
    with meter:
        (phase.calls, phase.seconds), (ev_sent, ev_seconds) = await both(args.duration, TAG)
        # Every screen should have seen every call and every event; stop after DRAIN_SECONDS.
        deadline = time.perf_counter() + DRAIN_SECONDS
        while time.perf_counter() < deadline:
            if (
                await pool.caught_up(calls.posted) >= clients
                and await pool.caught_up_agents(events.last_at) >= clients
            ):
                break
            await asyncio.sleep(0.05)
    wall = time.perf_counter() - t0
    screens_cpu = pool.cpu_seconds() - screens_cpu
    calls.measuring = events.measuring = False
    stop.set()
    await lag_task
    seen = await pool.report()
    failures = calls.failures + events.failures + [f for s in seen for f in s.failures]
    if failures:
        raise BenchError(f"{TAG}: {len(failures)} failures; first: {failures[0]}")

    phase.expected = calls.measured_pairs(clients)
    phase.latencies_ms = matched_latencies_ms(calls.sent_at, seen)
    phase.post_ms = [x * 1000 for x in calls.post_latencies]
    phase.missing = phase.expected - len(phase.latencies_ms)
    phase.snapshots = sum(s.snapshots for s in seen)
    phase.gaps = sum(s.gaps for s in seen)
    phase.frames = sum(s.frames for s in seen)
    phase.mib = sum(s.bytes for s in seen) / (1 << 20)
    phase.sender_cpu = meter.client / wall
    phase.client_cpu = screens_cpu / wall / len(pool.procs)
    phase.server_cpu = meter.server / wall if meter.server is not None else None
    phase.lag_ms = [x * 1000 for x in lag]
    phase.rss_after_kib = proc_status_kib(server.pid, "VmRSS")

    ev = EventFigures(events=ev_sent, requests=events.requests, seconds=ev_seconds)
    ev.expected = clients * events.measured()
    ev.latencies_ms, ev.wrong_state = matched_event_latencies(events.sent, seen)
    if ev.latencies_ms and min(ev.latencies_ms) < 0:
        raise BenchError(f"{TAG}: a screen showed an event before it was sent: the matching broke")
    ev.post_ms = [x * 1000 for x in events.post_latencies]
    ev.missing = ev.expected - len(ev.latencies_ms)
    ev.agent_deltas = sum(s.agent_deltas for s in seen)

    def ms(values: list[float], q: float) -> str:
        v = percentile(values, q)
        return "-" if v is None else f"{v:,.0f}"

    server_cpu = f"{phase.server_cpu:.2f}" if phase.server_cpu is not None else "?"
    kinds: dict[str, int] = {}
    for s in seen:
        for k, v in s.kinds.items():
            kinds[k] = kinds.get(k, 0) + v
    console.print(
        f"{TAG}: {ev.events} events in {ev.requests} requests over {ev.seconds:.1f}s "
        f"({ev.events / ev.seconds:,.0f}/s); {len(ev.latencies_ms):,} of {ev.expected:,} "
        f"(screen, event) pairs seen, {ev.wrong_state} with the wrong state; p50 "
        f"{ms(ev.latencies_ms, 50)} ms, p99 {ms(ev.latencies_ms, 99)} ms (POST round trip "
        f"{ms(ev.post_ms, 50)} / {ms(ev.post_ms, 99)} ms)"
    )
    console.print(
        f"{TAG}: {phase.calls} calls over {phase.seconds:.1f}s "
        f"({phase.calls / phase.seconds:,.0f}/s); {len(phase.latencies_ms):,} of "
        f"{phase.expected:,} (screen, call) pairs seen; p50 {ms(phase.latencies_ms, 50)} ms, "
        f"p99 {ms(phase.latencies_ms, 99)} ms (POST round trip {ms(phase.post_ms, 50)} / "
        f"{ms(phase.post_ms, 99)} ms)"
    )
    console.print(
        f"{TAG}: CPU cores: server {server_cpu}, sender {phase.sender_cpu:.2f}, each client "
        f"process {phase.client_cpu:.2f}; sender loop lag p99 {ms(phase.lag_ms, 99)} ms; "
        f"{phase.frames:,} frames ({ev.agent_deltas:,} deltas with agents), "
        f"{phase.mib:,.0f} MiB received, {phase.snapshots} snapshots instead of deltas, "
        f"{phase.gaps} seq gaps; frames by type: "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(kinds.items()))
        + f"; server RSS {(phase.rss_after_kib or 0) / 1024:,.0f} MiB"
    )
    if phase.client_cpu > 0.85 or phase.sender_cpu > 0.85:
        console.print(
            "[bold yellow]note[/]: a benchmark process used more than 85% of a core: its event "
            "loop is saturated, so these latencies are upper bounds (client-bound)"
        )
    return phase, ev


def event_results(ev: EventFigures, planned_rate: float) -> list[Result]:
    seen = len(ev.latencies_ms)
    notes = []
    if ev.missing - ev.wrong_state:
        notes.append(
            f"{ev.missing - ev.wrong_state:,} of {ev.expected:,} (screen, event) pairs never "
            f"arrived within {DRAIN_SECONDS:g} s of the last POST"
        )
    if ev.wrong_state:
        notes.append(f"{ev.wrong_state:,} pairs showed the event's since with another state")
    note = "; ".join(notes)
    rows = [
        Result.absolute(
            f"{TAG}_p{q}",
            percentile(ev.latencies_ms, q),
            "ms",
            goal,
            baseline=percentile(ev.post_ms, q),
            note="" if seen else (note or "no latency measured"),
        )
        for q, goal in ((50, P50_GOAL_MS), (99, P99_GOAL_MS))
    ]
    rows.append(
        Result.compared(
            f"{TAG}_delivered", float(seen), "pairs", float(ev.expected), 1.0, note=note
        )
    )
    rows.append(
        Result.compared(
            f"{TAG}_rate",
            ev.events / ev.seconds if ev.seconds else None,
            "events/s",
            planned_rate,
            note=f"{ev.requests} requests",
        )
    )
    return rows


def failed(reason: str) -> list[Result]:
    """Every row, FAILED with ``reason``."""
    rows = []
    for tag in (TAG, f"{TAG}_calls"):
        rows += [
            Result.failed(f"{tag}_p50", "ms", reason, P50_GOAL_MS, on="value", at_most=True),
            Result.failed(f"{tag}_p99", "ms", reason, P99_GOAL_MS, on="value", at_most=True),
            Result.failed(f"{tag}_delivered", "pairs", reason, 1.0),
        ]
    return rows + [
        Result.failed(f"{TAG}_rate", "events/s", reason),
        Result.failed(f"{TAG}_server_cpu", "cores", reason),
    ]


async def run_load(
    args: argparse.Namespace, server: Server, tokens: dict[str, str]
) -> tuple[Phase, EventFigures]:
    ws_url = server.url.replace("http://", "ws://") + f"/ws?token={tokens['read']}&patch=deep"
    compression = None if args.compression == "none" else "deflate"
    pool = ScreenPool(args.client_procs, ws_url, compression)
    calls_http = events_http = None
    try:
        t0 = time.perf_counter()
        await pool.grow_to(args.clients)
        console.print(
            f"connected {args.clients} screens in {time.perf_counter() - t0:.1f}s "
            f"(each read its first snapshot)"
        )
        # Opened now: the server closes keep-alive connections left idle for 5 s.
        calls_http = await Poster(LOOPBACK, server.port, tokens["ingest"], args.connections).open()
        events_http = await Poster(
            LOOPBACK, server.port, tokens["ingest"], args.event_connections, EVENTS_URL
        ).open()
        return await measure(args, server, pool, calls_http, events_http)
    finally:
        await pool.close()
        for http in (calls_http, events_http):
            if http is not None:
                await http.close()


def run(args: argparse.Namespace, workdir: Path) -> list[Result]:
    raise_fd_limit(2 * args.clients + 512)
    try:
        env, tokens = prepare_floor(args, workdir)
        with Server(env, workdir / "server.log") as server:
            console.print(f"server pid {server.pid} on {server.url}, SQLite")
            limit = 2 * (args.warmup + args.duration + DRAIN_SECONDS + 2 * args.duration) + 180
            runner = _runner()
            try:
                phase, ev = runner.run(asyncio.wait_for(run_load(args, server, tokens), limit))
            except TimeoutError:
                raise BenchError(f"the load did not finish within {limit:.0f}s") from None
            finally:
                runner.close()
    except BenchError as exc:
        console.print(f"[bold red]{TAG} failed[/]: {exc}")
        args.failed = True  # the rows stay in the table, FAILED; the exit status says so too
        return failed(str(exc))
    rows = event_results(ev, args.event_rate)
    rows += phase_results(f"{TAG}_calls", phase)
    rows.append(
        Result.absolute(
            f"{TAG}_server_cpu",
            phase.server_cpu,
            "cores",
            note=f"{args.event_rate:g} events/s and {args.rate:g} calls/s",
        )
    )
    console.print(
        f"{TAG}: {args.reps} reps in {args.teams} teams, {args.history_days} days of history; "
        f"{args.event_rate:g} agent events/s (a request every {args.event_every * 1000:g} ms) "
        f"and {args.rate:g} calls/s for {args.duration:g}s; {args.clients} whole-floor screens "
        f"(deep patches) in {args.client_procs} client processes; latency = POST sent -> each "
        f"screen's frame showing the change (baseline: the POST's own round trip)"
    )
    return rows


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="smoke run: 50 screens, 4 s of load")
    p.add_argument("--clients", type=int, help=f"screens ({FLOOR['clients']})")
    p.add_argument("--reps", type=int, default=FLOOR["reps"], help="reps on the floor")
    p.add_argument("--teams", type=int, default=FLOOR["teams"], help="teams on the floor")
    p.add_argument(
        "--history-days", type=int, help=f"days of hour totals ({FLOOR['history_days']})"
    )
    p.add_argument("--rate", type=float, default=FLOOR["rate"], help="calls POSTed per second")
    p.add_argument("--event-rate", type=float, default=100.0, help="agent events per second")
    p.add_argument(
        "--event-every", type=float, default=0.1, help="seconds between two requests of events"
    )
    p.add_argument("--duration", type=float, help="seconds of measured load (40)")
    p.add_argument("--warmup", type=float, help="seconds of unmeasured load first (3)")
    p.add_argument(
        "--compression",
        choices=("deflate", "none"),
        default="deflate",
        help="permessage-deflate offered by the screens (browsers offer it)",
    )
    p.add_argument("--connections", type=int, default=16, help="keep-alive connections (calls)")
    p.add_argument(
        "--event-connections", type=int, default=4, help="keep-alive connections (events)"
    )
    p.add_argument("--client-procs", type=int, default=2, help="processes the screens run in")
    p.add_argument("--seed", type=int, default=20261207)
    p.add_argument("--keep", action="store_true", help="keep the temp dir (database, server log)")
    args = p.parse_args(argv)
    if args.clients is None:
        args.clients = 50 if args.quick else FLOOR["clients"]
    if args.history_days is None:
        args.history_days = 5 if args.quick else FLOOR["history_days"]
    if args.duration is None:
        args.duration = 4.0 if args.quick else 40.0
    if args.warmup is None:
        args.warmup = 1.0 if args.quick else 3.0
    for name in ("clients", "reps", "teams", "rate", "event_rate", "event_every", "duration"):
        if getattr(args, name) <= 0:
            p.error(f"--{name.replace('_', '-')} must be positive")
    if args.reps / args.event_rate < 2:
        p.error("each rep must change at most every 2 s (--reps / --event-rate >= 2)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.failed = False
    code = standalone(TAG, args, run)
    return 1 if args.failed else code


if __name__ == "__main__":
    sys.exit(main())
