"""Ingest benchmark: batch and single-record POSTs to a real server, each against a baseline.

Figure 1: records/s of 1,000-record batches from a few clients, vs Python's sqlite3 upserting the
same rows into a bare table with the product's pragmas (goal: ratio >= 0.1).
Figure 2: requests/s of single-record POSTs from 32 clients, vs the same clients on GET /healthz
(goal: ratio >= 0.5).
Figure 3: records/s of the same batches to a server on PostgreSQL (a fresh database on the
benchmark's PostgreSQL, ``BENCH_PG_URL``), vs ``COPY`` of the same rows into a bare table of that
database, one COPY and commit per batch (goal: ratio >= 0.1).
Figure 4: that PostgreSQL rate (one NOTIFY per committed batch) vs the same batches to a server
with the bus off (``PACEBOARD_BUS=memory``): NOTIFY's commit-time lock must cost little (>= 0.9).
And the server's RSS at the end of each, beside its RSS when idle after start.

Part of ``make bench`` (bench/run.py); alone, from the repo root:
``.venv/bin/python bench/ingest.py [--quick]``, which writes bench/results/ingest.json. Exits 0
whenever it measured, goals met or not; 1 when it could not measure (server down, a wrong
answer).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import sqlite3
import statistics
import sys
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
    pg_database,
    pg_unavailable,
    server_env,
    standalone,
)

BATCH_GOAL = 0.1
SINGLE_GOAL = 0.5
PG_GOAL = 0.1
#: Ingest with one NOTIFY per committed batch, against the same without the bus: at least this.
NOTIFY_GOAL = 0.9
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
PG_RAW_SCHEMA = """CREATE TABLE raw_call_{i} (
    call_id TEXT PRIMARY KEY, rep TEXT NOT NULL, started_at TEXT NOT NULL,
    disposition TEXT NOT NULL, talk_seconds INTEGER NOT NULL, outcome TEXT NOT NULL,
    order_value TEXT, customer TEXT)"""
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
            base_url=url,
            headers=headers,
            timeout=60,
            limits=httpx.Limits(max_connections=1),
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
        "--quick",
        action="store_true",
        help="smoke run: 10,000 batch records and 600 single posts",
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
    p.add_argument("--no-pg", action="store_true", help="skip the PostgreSQL figure")
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
    """What one server run measured."""

    ingest: float
    single: float
    health: float
    rss: Result


def server_figures(
    args: argparse.Namespace,
    workdir: Path,
    bodies: list[tuple[bytes, int]],
    singles: list[bytes],
) -> ServerFigures:
    """Start a server, measure batch ingest, then single POSTs against /healthz; stop it."""
    env = server_env(workdir, free_port(), **ingest_limits(bodies, args.batch_size))
    token = create_token(env, "ingest")
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    with Server(env, workdir / "server.log") as server:
        console.print(f"server pid {server.pid} on {server.url}")
        batch_cpu, single_cpu = CpuMeter(server.pid), CpuMeter(server.pid)
        health_cpu = [CpuMeter(server.pid), CpuMeter(server.pid)]
        ingest = batch_rate(server.url, token, bodies, args.clients, batch_cpu)
        report("batch ingest", ingest, "records/s", batch_cpu, args.records)

        def timed(label: str, send: Send, meter: CpuMeter, headers: dict[str, str] | None) -> float:
            rate = asyncio.run(
                concurrent_rate(server.url, args.single_clients, args.single, send, meter, headers)
            )
            report(label, rate, "requests/s", meter, args.single)
            return rate

        # The baseline runs before and after the POSTs and counts their mean, so a drift of
        # the machine during the run (the client shares its cores) weighs on both sides alike.
        before = timed("GET /healthz (before)", _get_healthz, health_cpu[0], None)
        single = timed("single POST", single_post_sender(singles), single_cpu, auth)
        after = timed("GET /healthz (after)", _get_healthz, health_cpu[1], None)
        return ServerFigures(
            ingest,
            single,
            statistics.mean((before, after)),
            server.rss_result("server_rss_ingest"),
        )


def ingest_limits(bodies: list[tuple[bytes, int]], batch_size: int) -> dict[str, str]:
    """Server settings with room for the largest batch (the default 5 MiB would also do)."""
    return {
        "max_body_bytes": str(max(len(b) for b, _ in bodies) * 2 + (1 << 20)),
        "max_batch_records": str(max(5000, batch_size)),
    }


# --- figure 3: PostgreSQL --------------------------------------------------------------------


def pg_copy_rate(url: str, i: int, rows: list[tuple[Any, ...]], batch: int) -> float:
    """Records/s of ``COPY`` into a bare table ``raw_call_<i>``, one COPY + commit per batch."""
    import psycopg

    cols = ", ".join(RAW_FIELDS)
    with psycopg.connect(url) as conn:
        conn.execute(PG_RAW_SCHEMA.format(i=i))
        conn.commit()
        t0 = time.perf_counter()
        for k in range(0, len(rows), batch):
            with (
                conn.cursor() as cur,
                cur.copy(f"COPY raw_call_{i} ({cols}) FROM STDIN") as copy,
            ):
                for row in rows[k : k + batch]:
                    copy.write_row(row)
            conn.commit()
        elapsed = time.perf_counter() - t0
        (count,) = conn.execute(f"SELECT count(*) FROM raw_call_{i}").fetchone()
    if count != len(rows):
        raise BenchError(f"COPY baseline stored {count} rows, expected {len(rows)}")
    return len(rows) / elapsed


def pg_checkpoint(url: str) -> None:
    """Write out what earlier runs left in PostgreSQL's WAL before a timed run, so no run pays
    for its predecessor's checkpoint (the first run after the COPY baseline used to: half the
    rate of the next, which made the bus-on/bus-off comparison a coin toss)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def pg_figures(
    args: argparse.Namespace,
    workdir: Path,
    bodies: list[tuple[bytes, int]],
    rows: list[tuple],
) -> list[Result]:
    """Batch ingest of a server on a fresh PostgreSQL database vs COPY into that database."""
    reason = pg_unavailable()
    if reason is None:
        try:
            return pg_measure(args, workdir, bodies, rows)
        except BenchError as exc:  # the SQLite figures stand without it
            reason = str(exc)
    return [
        Result.failed("ingest_pg_batch", "records/s", reason, PG_GOAL),
        Result.failed("server_rss_ingest_pg", "MiB", reason),
    ]


def pg_measure(
    args: argparse.Namespace,
    workdir: Path,
    bodies: list[tuple[bytes, int]],
    rows: list[tuple],
) -> list[Result]:
    import psycopg

    with pg_database() as url:
        copies = [pg_copy_rate(url, i, rows, args.batch_size) for i in range(RAW_REPEATS)]
        copy = statistics.median(copies)
        console.print(
            "PostgreSQL COPY: "
            f"{copy:,.0f} records/s (median of {', '.join(f'{r:,.0f}' for r in copies)})"
        )
        pg_dir = workdir / "pg"
        pg_dir.mkdir()
        env = server_env(
            pg_dir,
            free_port(),
            database_url=url,
            **ingest_limits(bodies, args.batch_size),
        )
        token = create_token(env, "ingest")
        pg_checkpoint(url)
        with Server(env, pg_dir / "server.log") as server:
            console.print(f"server pid {server.pid} on {server.url}, PostgreSQL")
            cpu = CpuMeter(server.pid)
            rate = batch_rate(server.url, token, bodies, args.clients, cpu)
            report("batch ingest, PostgreSQL", rate, "records/s", cpu, args.records)
            rss = server.rss_result("server_rss_ingest_pg")
        with psycopg.connect(url) as conn:
            (stored,) = conn.execute("SELECT count(*) FROM call").fetchone()
    if stored != args.records:
        raise BenchError(f"PostgreSQL batch ingest stored {stored} calls, expected {args.records}")
    # With and without the bus in turns, each on a fresh database and after a CHECKPOINT
    # (pg_checkpoint).
    # Three of each: single slow runs (half the rate) come in both groups, so a median of two
    # was a coin toss (2026-12-06: bus on 8,045 and 3,553, bus off 3,760 and 6,885).
    quiet = [pg_rate(args, workdir, bodies, "memory", 0)]
    loud = [rate, pg_rate(args, workdir, bodies, "auto", 1)]
    quiet.append(pg_rate(args, workdir, bodies, "memory", 2))
    loud.append(pg_rate(args, workdir, bodies, "auto", 3))
    quiet.append(pg_rate(args, workdir, bodies, "memory", 4))
    console.print(
        f"PostgreSQL ingest with NOTIFY {', '.join(f'{r:,.0f}' for r in loud)} records/s; "
        f"with the bus off {', '.join(f'{r:,.0f}' for r in quiet)}"
    )
    rate = statistics.median(loud)
    return [
        Result.compared("ingest_pg_batch", rate, "records/s", copy, PG_GOAL),
        # NOTIFY takes a database-wide lock at commit: one per committed batch must cost little.
        Result.compared(
            "ingest_pg_notify_vs_no_bus",
            rate,
            "records/s",
            statistics.median(quiet),
            NOTIFY_GOAL,
        ),
        rss,
    ]


def pg_rate(
    args: argparse.Namespace,
    workdir: Path,
    bodies: list[tuple[bytes, int]],
    bus: str,
    round_: int,
) -> float:
    """The same batches to a server on a fresh PostgreSQL database with ``bus`` (``auto``: one
    NOTIFY per committed batch; ``memory``: the bus off)."""
    with pg_database() as url:
        run_dir = workdir / f"pg-{bus}-{round_}"
        run_dir.mkdir()
        env = server_env(
            run_dir,
            free_port(),
            database_url=url,
            bus=bus,
            **ingest_limits(bodies, args.batch_size),
        )
        token = create_token(env, "ingest")
        pg_checkpoint(url)
        with Server(env, run_dir / "server.log") as server:
            cpu = CpuMeter(server.pid)
            rate = batch_rate(server.url, token, bodies, args.clients, cpu)
            report(f"batch ingest, PostgreSQL, bus {bus}", rate, "records/s", cpu, args.records)
    return rate


# --- run -------------------------------------------------------------------------------------


def run(args: argparse.Namespace, workdir: Path) -> list[Result]:
    """Every figure of this benchmark; BenchError when something answered wrongly."""
    console.print(f"generating {args.records:,} batch + {args.single:,} single records…")
    records = make_records("b", args.records, args.seed)
    bodies = batch_bodies(records, args.batch_size)
    rows = raw_rows(records)
    singles = [orjson.dumps(r) for r in make_records("s", args.single, args.seed + 1)]
    del records
    # Before the server starts, so the two do not compete for the CPUs or the disk.
    raw = raw_baseline(workdir, rows, args.batch_size)
    f = server_figures(args, workdir, bodies, singles)
    results = [
        Result.compared("ingest_batch", f.ingest, "records/s", raw, BATCH_GOAL),
        Result.compared("ingest_single", f.single, "requests/s", f.health, SINGLE_GOAL),
        f.rss,
    ]
    if not args.no_pg:
        results += pg_figures(args, workdir, bodies, rows)
    console.print(
        f"ingest_batch: {args.records:,} records, {args.batch_size}/request, "
        f"{args.clients} clients; baseline: sqlite3 executemany upsert, same rows\n"
        f"ingest_single: {args.single:,} one-record POSTs, {args.single_clients} "
        f"clients; baseline: the same clients on GET /healthz\n"
        f"ingest_pg_batch: the same batches to a server on PostgreSQL; baseline: COPY of the "
        f"same rows into a bare table (call_id primary key) of the same database, per batch\n"
        f"ingest_pg_notify_vs_no_bus: that server (one NOTIFY per committed batch); baseline: "
        f"the same batches to a server with PACEBOARD_BUS=memory (no NOTIFY)"
    )
    return results


def main(argv: list[str] | None = None) -> int:
    return standalone("ingest", parse_args(argv), run)


if __name__ == "__main__":
    sys.exit(main())
