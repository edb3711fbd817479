"""Ingest benchmark: batch and single-record POSTs to a real server, each against a baseline.

Figure 1: records/s of 1,000-record batches from a few clients, vs Python's sqlite3 upserting the
same rows into a bare table with the product's pragmas (goal: ratio >= 0.1).
Figure 2: requests/s of single-record POSTs from 32 clients, vs the same clients on GET /healthz
(goal: ratio >= 0.5).

Run from the repo root: ``.venv/bin/python bench/ingest.py [--quick]``. Exits 0 whenever it
measured, goals met or not; 1 when it could not measure (server down, a wrong answer).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson

# Run as a script (bench/ingest.py), the repo root is not on sys.path; `bench.common` needs it.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import (  # noqa: E402
    BenchError,
    CpuMeter,
    Result,
    Server,
    console,
    create_token,
    free_port,
    machine_info,
    print_results,
    proc_status_kib,
    server_env,
    write_results,
)

BATCH_GOAL = 0.1
SINGLE_GOAL = 0.5
RAW_REPEATS = 3
REPS = [str(7001 + i) for i in range(200)]
DAY = "2026-11-26"
# The default calling windows (09:30-11:30, 13:00-17:30) as seconds after midnight.
WINDOWS = [(9 * 3600 + 1800, 11 * 3600 + 1800), (13 * 3600, 17 * 3600 + 1800)]
CALLS_URL = "/api/v1/calls"
# Raw baseline: the fields a record carries, one column each, keyed like the product's call.
RAW_SCHEMA = """CREATE TABLE call (
    call_id TEXT PRIMARY KEY, rep TEXT NOT NULL, started_at TEXT NOT NULL,
    disposition TEXT NOT NULL, talk_seconds INTEGER NOT NULL, outcome TEXT NOT NULL,
    order_value TEXT, customer TEXT)"""
RAW_UPSERT = """INSERT INTO call VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(call_id) DO UPDATE SET rep = excluded.rep, started_at = excluded.started_at,
    disposition = excluded.disposition, talk_seconds = excluded.talk_seconds,
    outcome = excluded.outcome, order_value = excluded.order_value, customer = excluded.customer"""
RAW_FIELDS = (
    "call_id",
    "rep",
    "started_at",
    "disposition",
    "talk_seconds",
    "outcome",
    "order_value",
    "customer",
)


# --- data ------------------------------------------------------------------------------------


def started_at(rng: random.Random) -> str:
    """A start time inside one day's calling windows, in local time with its +08:00 offset."""
    offset = rng.randrange(sum(b - a for a, b in WINDOWS))
    for a, b in WINDOWS:
        if offset < b - a:
            secs = a + offset
            break
        offset -= b - a
    return f"{DAY}T{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}+08:00"


def make_record(call_id: str, rng: random.Random) -> dict[str, Any]:
    """One plausible outbound call: ~40% answered, a few sales at 199.00, an 11-digit customer."""
    roll = rng.random()
    disposition = "answered" if roll < 0.40 else "no_answer" if roll < 0.85 else "busy"
    answered = disposition == "answered"
    rec: dict[str, Any] = {
        "call_id": call_id,
        "rep": rng.choice(REPS),
        "started_at": started_at(rng),
        "disposition": disposition,
        "talk_seconds": rng.randint(5, 900) if answered else 0,
        "outcome": "none",
        "customer": f"13{rng.randrange(10**9):09d}",
    }
    if answered and rng.random() < 0.08:
        rec.update(outcome="sale", order_value="199.00")
    return rec


def make_records(prefix: str, n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` records with call ids ``<prefix>-0..n-1``, the same for the same seed."""
    rng = random.Random(seed)
    return [make_record(f"{prefix}-{i}", rng) for i in range(n)]


def batch_bodies(records: list[dict[str, Any]], size: int) -> list[tuple[bytes, int]]:
    """(JSON array body, record count) per batch, serialised up front so timing excludes it."""
    return [
        (orjson.dumps(records[i : i + size]), len(records[i : i + size]))
        for i in range(0, len(records), size)
    ]


def raw_rows(records: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The records as baseline table rows (same field values; no order_value is NULL)."""
    return [tuple(r.get(f) for f in RAW_FIELDS) for r in records]


# --- figure 1: batches -----------------------------------------------------------------------


def raw_sqlite_rate(path: Path, rows: list[tuple[Any, ...]], batch: int) -> float:
    """Records/s of sqlite3 executemany upserts, one commit per ``batch`` rows, WAL + FULL."""
    chunks = [rows[i : i + batch] for i in range(0, len(rows), batch)]
    conn = sqlite3.connect(path, isolation_level=None)  # explicit BEGIN/COMMIT below
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(RAW_SCHEMA)
        t0 = time.perf_counter()
        for chunk in chunks:
            conn.execute("BEGIN")
            conn.executemany(RAW_UPSERT, chunk)
            conn.execute("COMMIT")
        elapsed = time.perf_counter() - t0
        (count,) = conn.execute("SELECT count(*) FROM call").fetchone()
    finally:
        conn.close()
    if count != len(rows):
        raise BenchError(f"raw baseline stored {count} rows, expected {len(rows)}")
    return len(rows) / elapsed


def _post_shard(client: httpx.Client, shard: list[tuple[bytes, int]], failures: list[str]) -> None:
    """POST each body in turn; on the first answer that is not 200 with all created, log it."""
    for body, n in shard:
        resp = client.post(CALLS_URL, content=body)
        created = resp.json().get("created") if resp.status_code == 200 else None
        if created != n:
            failures.append(
                f"HTTP {resp.status_code}, created={created}, expected {n}: {resp.text[:300]}"
            )
            return  # one wrong answer voids the figure; no need to keep loading the server


def batch_rate(
    url: str, token: str, bodies: list[tuple[bytes, int]], clients: int, meter: CpuMeter
) -> float:
    """Records/s posting ``bodies`` from ``clients`` threads, each on one persistent connection.

    ``meter`` measures CPU over the timed part only.
    """
    shards = [bodies[i::clients] for i in range(clients)]
    failures: list[str] = []
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    # Clients connect before the clock starts; the barrier releases them together.
    start = threading.Barrier(clients + 1)

    def worker(shard: list[tuple[bytes, int]]) -> None:
        try:
            with httpx.Client(base_url=url, headers=headers, timeout=300) as client:
                client.get("/healthz")
                start.wait()
                _post_shard(client, shard, failures)
        except Exception as exc:  # reported below: a thread's exception would vanish
            failures.append(f"{type(exc).__name__}: {exc}")
            start.abort()

    threads = [threading.Thread(target=worker, args=(s,), daemon=True) for s in shards]
    for t in threads:
        t.start()
    # A broken barrier means a client failed to connect; its failure is reported below.
    with contextlib.suppress(threading.BrokenBarrierError):
        start.wait(timeout=60)
    with meter:
        t0 = time.perf_counter()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
    if failures:
        raise BenchError(f"batch ingest: {len(failures)} failed; first: {failures[0]}")
    return sum(n for _, n in bodies) / elapsed


# --- figure 2: concurrent single requests ----------------------------------------------------

Send = Callable[[httpx.AsyncClient, int], Awaitable[None]]


async def concurrent_rate(
    url: str,
    clients: int,
    total: int,
    send: Send,
    meter: CpuMeter,
    headers: dict[str, str] | None = None,
) -> float:
    """Requests/s of ``total`` calls of ``send(client, i)`` spread over ``clients`` tasks.

    Each task owns one client with one connection, like ``clients`` independent dialers;
    ``meter`` measures CPU over the timed part only.
    """
    pool = [
        httpx.AsyncClient(
            base_url=url, headers=headers, timeout=60, limits=httpx.Limits(max_connections=1)
        )
        for _ in range(clients)
    ]
    try:
        # Open every connection before the clock starts.
        await asyncio.gather(*(c.get("/healthz") for c in pool))

        async def task(k: int) -> None:
            for i in range(k, total, clients):
                try:
                    await send(pool[k], i)
                except httpx.HTTPError as exc:
                    raise BenchError(f"request {i}: {type(exc).__name__}: {exc}") from exc

        with meter:
            t0 = time.perf_counter()
            try:
                # A TaskGroup cancels the other clients as soon as one gets a wrong answer.
                async with asyncio.TaskGroup() as tg:
                    for k in range(clients):
                        tg.create_task(task(k))
            except ExceptionGroup as eg:
                raise eg.exceptions[0] from None
            elapsed = time.perf_counter() - t0
    finally:
        await asyncio.gather(*(c.aclose() for c in pool))
    return total / elapsed


async def _get_healthz(client: httpx.AsyncClient, _i: int) -> None:
    """The baseline request: GET /healthz, which must answer 200."""
    resp = await client.get("/healthz")
    if resp.status_code != 200:
        raise BenchError(f"GET /healthz: HTTP {resp.status_code}: {resp.text[:300]}")


def single_post_sender(bodies: list[bytes]) -> Send:
    """A sender posting ``bodies[i]`` as one record and checking it was created."""

    async def send(client: httpx.AsyncClient, i: int) -> None:
        resp = await client.post(CALLS_URL, content=bodies[i])
        created = orjson.loads(resp.content).get("created") if resp.status_code == 200 else None
        if created != 1:
            raise BenchError(
                f"single POST: HTTP {resp.status_code}, created={created}: {resp.text[:300]}"
            )

    return send


# --- run -------------------------------------------------------------------------------------


def report(what: str, rate: float, unit: str, cpu: CpuMeter, n: int) -> None:
    """One progress line: the rate and the CPU per unit of server and benchmark client."""
    server = f"{cpu.server / n * 1e6:,.0f}" if cpu.server is not None else "?"
    console.print(
        f"{what}: {rate:,.0f} {unit}  (CPU per {unit.split('/')[0][:-1]}: "
        f"server {server} us, client {cpu.client / n * 1e6:,.0f} us)"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The options, with --records / --single defaulted by --quick."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--quick", action="store_true", help="smoke run: 10,000 batch records and 600 single posts"
    )
    p.add_argument("--records", type=int, help="batch-ingest records (default 100,000)")
    p.add_argument("--batch-size", type=int, default=1000, help="records per batch request")
    p.add_argument("--clients", type=int, default=4, help="concurrent batch clients")
    p.add_argument("--single", type=int, help="single-record POSTs (default 3,000)")
    p.add_argument(
        "--single-clients",
        type=int,
        default=32,
        help="concurrent clients for single POSTs and /healthz",
    )
    p.add_argument("--seed", type=int, default=20261126)
    p.add_argument("--keep", action="store_true", help="keep the temp dir (database, server log)")
    args = p.parse_args(argv)
    if args.records is None:
        args.records = 10_000 if args.quick else 100_000
    if args.single is None:
        args.single = 600 if args.quick else 3_000
    for name in ("records", "batch_size", "clients", "single", "single_clients"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def raw_baseline(workdir: Path, rows: list[tuple[Any, ...]], batch: int) -> float:
    """The median records/s of a few raw sqlite3 runs, each in a fresh file."""
    # One run's fsync latencies can swing this figure (and so the ratio) twofold.
    raws = [raw_sqlite_rate(workdir / f"raw-{i}.db", rows, batch) for i in range(RAW_REPEATS)]
    raw = statistics.median(raws)
    console.print(
        f"raw sqlite3 upsert: {raw:,.0f} records/s (median of "
        + ", ".join(f"{r:,.0f}" for r in raws)
        + ")"
    )
    return raw


@dataclass
class ServerFigures:
    """What one server run measured; CPU meters per phase tell where each figure is bound."""

    ingest: float
    single: float
    health: float
    batch_cpu: CpuMeter
    single_cpu: CpuMeter
    health_cpu: list[CpuMeter]
    rss_kib: int | None
    peak_kib: int | None


def server_figures(
    args: argparse.Namespace, workdir: Path, bodies: list[tuple[bytes, int]], singles: list[bytes]
) -> ServerFigures:
    """Start a server, measure batch ingest, then single POSTs against /healthz; stop it."""
    # Room for the largest batch with slack; the default 5 MiB would also do for 1,000 records.
    max_body = max(len(b) for b, _ in bodies) * 2 + (1 << 20)
    env = server_env(
        workdir,
        free_port(),
        max_body_bytes=str(max_body),
        max_batch_records=str(max(5000, args.batch_size)),
    )
    token = create_token(env, "ingest")
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    with Server(env, workdir / "server.log") as server:
        console.print(f"server pid {server.pid} on {server.url}")
        batch_cpu, single_cpu = CpuMeter(server.pid), CpuMeter(server.pid)
        health_cpu = [CpuMeter(server.pid), CpuMeter(server.pid)]
        ingest = batch_rate(server.url, token, bodies, args.clients, batch_cpu)
        report("batch ingest", ingest, "records/s", batch_cpu, args.records)

        def run(label: str, send: Send, meter: CpuMeter, headers: dict[str, str] | None) -> float:
            rate = asyncio.run(
                concurrent_rate(server.url, args.single_clients, args.single, send, meter, headers)
            )
            report(label, rate, "requests/s", meter, args.single)
            return rate

        # The baseline runs before and after the POSTs and counts their mean, so a drift of
        # the machine during the run (the client shares its cores) weighs on both sides alike.
        before = run("GET /healthz (before)", _get_healthz, health_cpu[0], None)
        single = run("single POST", single_post_sender(singles), single_cpu, auth)
        after = run("GET /healthz (after)", _get_healthz, health_cpu[1], None)
        return ServerFigures(
            ingest,
            single,
            statistics.mean((before, after)),
            batch_cpu,
            single_cpu,
            health_cpu,
            proc_status_kib(server.pid, "VmRSS"),
            proc_status_kib(server.pid, "VmHWM"),
        )


def build_results(args: argparse.Namespace, raw: float, f: ServerFigures) -> list[Result]:
    """The two judged figures, then informational rows (goal null): server CPU, memory."""
    results = [
        Result.compared("ingest_batch", f.ingest, "records/s", raw, BATCH_GOAL),
        Result.compared("ingest_single", f.single, "requests/s", f.health, SINGLE_GOAL),
    ]
    # Where a figure is bound: the server and the benchmark's clients share the cores.
    for name, meters, n, unit in (
        ("server_cpu_batch", [f.batch_cpu], args.records, "us/record"),
        ("server_cpu_healthz", f.health_cpu, 2 * args.single, "us/request"),
        ("server_cpu_single", [f.single_cpu], args.single, "us/request"),
    ):
        cpu = [m.server for m in meters]
        if None not in cpu:
            results.append(Result(name, sum(c or 0.0 for c in cpu) / n * 1e6, unit))
    if f.rss_kib is not None:
        results.append(Result("server_rss", f.rss_kib / 1024, "MiB"))
    if f.peak_kib is not None:
        results.append(Result("server_peak_rss", f.peak_kib / 1024, "MiB"))
    return results


def measure(args: argparse.Namespace, workdir: Path) -> list[Result]:
    """Both figures and the server's memory; BenchError when something answered wrongly."""
    console.print(f"generating {args.records:,} batch + {args.single:,} single records…")
    records = make_records("b", args.records, args.seed)
    bodies = batch_bodies(records, args.batch_size)
    rows = raw_rows(records)
    singles = [orjson.dumps(r) for r in make_records("s", args.single, args.seed + 1)]
    del records
    # Before the server starts, so the two do not compete for the CPUs or the disk.
    raw = raw_baseline(workdir, rows, args.batch_size)
    return build_results(args, raw, server_figures(args, workdir, bodies, singles))


def main(argv: list[str] | None = None) -> int:
    """Measure, print, write bench/results/; 0 when measured (goals met or not), 1 otherwise."""
    args = parse_args(argv)
    machine = machine_info(benchmark="ingest", args=vars(args))
    console.print(
        f"machine: {machine['cpu_count']} CPUs, {machine['platform']}, "
        f"Python {machine['python']}, SQLite {machine['sqlite']}, "
        f"code {machine['commit']}"
    )
    workdir = Path(tempfile.mkdtemp(prefix="paceboard-bench-"))
    try:
        results = measure(args, workdir)
    except BenchError as exc:
        console.print(f"[bold red]benchmark failed[/]: {exc}")
        return 1
    finally:
        if args.keep:
            console.print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print_results(results, title=f"ingest benchmark ({'quick' if args.quick else 'full'})")
    console.print(
        f"ingest_batch: {args.records:,} records, {args.batch_size}/request, "
        f"{args.clients} clients; baseline: sqlite3 executemany upsert, same rows\n"
        f"ingest_single: {args.single:,} one-record POSTs, {args.single_clients} "
        f"clients; baseline: the same clients on GET /healthz"
    )
    path = write_results(results, machine)
    console.print(f"wrote {path} and its -machine.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
