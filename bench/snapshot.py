"""Snapshot benchmark: the floor's snapshot must cost the same at 10,000 calls a day as at
1,000,000, and beat the GROUP BY over raw calls that a Grafana SQL panel would run.

A fresh SQLite database with 2,000 reps in 40 teams. The day grows in steps (default 10,000,
100,000 and 1,000,000 calls): each step bulk-inserts the new calls straight into the ``call``
table (HTTP would take too long at this size), then ``paceboard rebuild-totals --day`` builds
``hourly_total`` and ``lead_day`` from them and ``paceboard rebuild-totals --check`` confirms
they agree. A real server is then started on that database and timed on
``GET /api/v1/floor/snapshot?day=…`` (a read token, the median of a few sequential requests);
beside it, in the same step, the GROUP BY a dashboard's SQL panel would run on every refresh:

    SELECT rep_id, local_hour, count(*), sum(disposition = 'answered'), sum(talk_seconds),
           sum(outcome = 'sale'), sum(order_value)
    FROM call WHERE local_day = ? GROUP BY rep_id, local_hour

through Python's sqlite3 on the same file (median of a few runs, rows fetched).

Goals: ``snapshot_flat`` = the snapshot's time at the largest day over its time at the smallest
<= 1.5; ``snapshot_<N>`` at the largest day over the GROUP BY's time <= 0.1 (10× faster).

Part of ``make bench`` (bench/run.py); alone: ``.venv/bin/python bench/snapshot.py [--quick]``.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import (  # noqa: E402
    BenchError,
    Result,
    Server,
    console,
    create_token,
    free_port,
    run_cli,
    server_env,
    standalone,
)

FLAT_GOAL = 1.5  # snapshot time at the largest day / at the smallest, at most
GROUPBY_GOAL = 0.1  # snapshot time / GROUP BY time at the largest day, at most


def _evening_zone() -> tuple[str, timedelta, str]:
    """A fixed-offset zone where it is evening now, so the day measured is the floor's today
    with every calling hour over: the live case a wallboard or a polling panel asks for."""
    now = datetime.now(UTC)
    for hours in (8, *range(-11, 15)):
        local = now + timedelta(hours=hours)
        if 18 <= local.hour <= 22:
            # Etc/GMT signs are inverted: UTC+8 is "Etc/GMT-8".
            name = "Etc/GMT" + (f"{-hours:+d}" if hours else "")
            return name, timedelta(hours=hours), local.date().isoformat()
    raise RuntimeError("no zone with an evening now")  # pragma: no cover - one always exists


TZ, UTC_OFFSET, DAY = _evening_zone()
# The default calling windows (09:30-11:30, 13:00-17:30) as seconds after midnight.
WINDOWS = [(9 * 3600 + 1800, 11 * 3600 + 1800), (13 * 3600, 17 * 3600 + 1800)]
CUSTOMERS_PER_REP = 300  # a rep redials the same leads: distinct leads stay below calls
GROUP_BY = """SELECT rep_id, local_hour, count(*), sum(disposition = 'answered'),
    sum(talk_seconds), sum(outcome = 'sale'), sum(order_value)
FROM call WHERE local_day = ? GROUP BY rep_id, local_hour"""
INSERT = """INSERT INTO call (source, external_id, revision, rep_id, direction, started_at,
    answered_at, ended_at, talk_seconds, disposition, outcome, order_value, customer_key,
    local_day, local_hour, received_at, updated_at)
VALUES ('bench', ?, NULL, ?, 'outbound', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"""


def roster_csv(reps: int, teams: int) -> str:
    lines = ["code,name,team,hired_on"]
    lines += [f"{9001 + i},Rep {9001 + i},Team {i % teams + 1:02d},2026-01-05" for i in range(reps)]
    return "\n".join(lines) + "\n"


def _stamp(t: datetime) -> str:
    """How SQLAlchemy stores a UTC instant in SQLite (UTCDateTime drops the zone there)."""
    return t.strftime("%Y-%m-%d %H:%M:%S.%f")


def insert_calls(db: Path, rep_ids: list[int], first: int, last: int, seed: int) -> float:
    """Insert calls ``first..last-1`` of the day, spread over its calling windows; seconds."""
    rng = random.Random(seed + first)
    midnight_utc = datetime.fromisoformat(f"{DAY}T00:00:00") - UTC_OFFSET
    span = sum(b - a for a, b in WINDOWS)
    received = _stamp(datetime.now().replace(microsecond=0))
    t0 = time.perf_counter()
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        chunk: list[tuple] = []
        for i in range(first, last):
            offset = rng.randrange(span)
            a0, a1 = WINDOWS[0]
            secs = a0 + offset if offset < a1 - a0 else WINDOWS[1][0] + offset - (a1 - a0)
            rep_id = rep_ids[rng.randrange(len(rep_ids))]
            start = midnight_utc + timedelta(seconds=secs)
            roll = rng.random()
            answered = roll < 0.40
            disposition = "answered" if answered else ("no_answer" if roll < 0.85 else "busy")
            talk = rng.randint(5, 600) if answered else 0
            sale = answered and rng.random() < 0.08
            chunk.append(
                (
                    f"s-{i}",
                    rep_id,
                    _stamp(start),
                    _stamp(start + timedelta(seconds=10)) if answered else None,
                    _stamp(start + timedelta(seconds=10 + talk)),
                    talk,
                    disposition,
                    "sale" if sale else "none",
                    19900 if sale else 0,
                    f"{rep_id:08x}{rng.randrange(CUSTOMERS_PER_REP):056x}",
                    DAY,
                    secs // 3600,
                    received,
                    received,
                )
            )
            if len(chunk) == 50_000 or i == last - 1:
                conn.execute("BEGIN")
                conn.executemany(INSERT, chunk)
                conn.execute("COMMIT")
                chunk = []
        # What the ingest path keeps beside the totals: each rep's latest dial of the day.
        conn.execute("BEGIN")
        conn.execute("DELETE FROM rep_activity WHERE day = ?", (DAY,))
        conn.execute(
            "INSERT INTO rep_activity (rep_id, day, last_dial_at) "
            "SELECT rep_id, local_day, max(started_at) FROM call WHERE local_day = ? "
            "GROUP BY rep_id",
            (DAY,),
        )
        conn.execute("COMMIT")
    finally:
        conn.close()
    return time.perf_counter() - t0


def group_by_seconds(db: Path, repeats: int) -> tuple[float, int, int]:
    """Median seconds of the panel's GROUP BY (one warm-up first); (seconds, rows, dials)."""
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(GROUP_BY, (DAY,)).fetchall()
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            rows = conn.execute(GROUP_BY, (DAY,)).fetchall()
            times.append(time.perf_counter() - t0)
    finally:
        conn.close()
    return statistics.median(times), len(rows), sum(r[2] for r in rows)


def snapshot_seconds(
    server: Server, token: str, repeats: int, calls: int, *, cold: bool = False
) -> tuple[float, int]:
    """Median seconds of GET /api/v1/floor/snapshot (one warm-up first); (seconds, bytes).

    As a screen or panel polls it (today, the whole floor), or ``cold``: with ``at=now``, which
    the server always reads afresh, as it does the first poll after each change."""
    url = f"/api/v1/floor/snapshot?day={DAY}"
    if cold:
        url += "&at=" + datetime.now(UTC).isoformat().replace("+00:00", "Z")
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=120
    ) as client:
        resp = client.get(url)
        if resp.status_code != 200:
            raise BenchError(f"GET snapshot: HTTP {resp.status_code}: {resp.text[:300]}")
        dials = resp.json()["floor"]["totals"]["dials"]
        if dials != calls:
            raise BenchError(f"the snapshot counts {dials:,} dials, the day holds {calls:,}")
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            resp = client.get(url)
            times.append(time.perf_counter() - t0)
            if resp.status_code != 200:
                raise BenchError(f"GET snapshot: HTTP {resp.status_code}: {resp.text[:300]}")
    return statistics.median(times), len(resp.content)


def after_change_seconds(server: Server, read: str, ingest: str, repeats: int, rep: str) -> float:
    """Median seconds of the first GET /api/v1/floor/snapshot after each of ``repeats`` calls
    posted through the API (as a panel polling a live floor sees it: a change, then a poll)."""
    url = f"/api/v1/floor/snapshot?day={DAY}"
    times = []
    with httpx.Client(base_url=server.url, timeout=120) as client:
        for n in range(repeats):
            started = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
            call = {"call_id": f"after-{n}", "rep": rep, "started_at": started,
                    "disposition": "answered", "talk_seconds": 30}  # fmt: skip
            resp = client.post(
                "/api/v1/calls", json=call, headers={"Authorization": f"Bearer {ingest}"}
            )
            if resp.status_code != 200 or resp.json()["created"] != 1:
                raise BenchError(f"POST call: HTTP {resp.status_code}: {resp.text[:300]}")
            t0 = time.perf_counter()
            resp = client.get(url, headers={"Authorization": f"Bearer {read}"})
            times.append(time.perf_counter() - t0)
            if resp.status_code != 200:
                raise BenchError(f"GET snapshot: HTTP {resp.status_code}: {resp.text[:300]}")
    return statistics.median(times)


def run(args: argparse.Namespace, workdir: Path) -> list[Result]:
    env = server_env(workdir, free_port(), timezone=TZ)
    db = workdir / "bench.db"
    token = create_token(env, "read")  # migrates the fresh database first
    roster = workdir / "roster.csv"
    roster.write_text(roster_csv(args.reps, args.teams))
    run_cli(env, "roster", "import", str(roster))
    conn = sqlite3.connect(db)
    try:
        rep_ids = [r[0] for r in conn.execute("SELECT id FROM rep ORDER BY id")]
    finally:
        conn.close()
    if len(rep_ids) != args.reps:
        raise BenchError(f"roster import left {len(rep_ids)} reps, expected {args.reps}")

    results: list[Result] = []
    snap: dict[int, float] = {}
    cold_rows: list[Result] = []
    done = 0
    # One server throughout: the day grows under it, as a floor's does (SQLite in WAL mode lets
    # the bulk insert and the rebuild write while it serves).
    with Server(env, workdir / "server.log") as server:
        for size in args.sizes:
            ins = insert_calls(db, rep_ids, done, size, args.seed)
            done = size
            t0 = time.perf_counter()
            run_cli(env, "rebuild-totals", "--day", DAY, timeout=1800)
            rebuild = time.perf_counter() - t0
            t0 = time.perf_counter()
            out = run_cli(env, "rebuild-totals", "--day", DAY, "--check", timeout=1800)
            check = time.perf_counter() - t0
            grp, cells, grp_dials = group_by_seconds(db, args.repeats)
            if grp_dials != size:
                raise BenchError(f"the GROUP BY counts {grp_dials:,} calls, the day holds {size:,}")
            secs, nbytes = snapshot_seconds(server, token, args.repeats, size)
            cold, _ = snapshot_seconds(server, token, args.repeats, size, cold=True)
            snap[size] = secs
            cold_rows.append(
                Result.compared(
                    f"snapshot_cold_{label(size)}_vs_groupby", cold * 1000, "ms", grp * 1000, None
                )
            )
            console.print(
                f"{size:,} calls: inserted in {ins:.1f}s, rebuild-totals {rebuild:.1f}s, "
                f"--check {check:.1f}s ({out.strip()}); snapshot {secs * 1000:,.1f} ms "
                f"({nbytes / 1024:,.0f} KiB); GROUP BY {grp * 1000:,.1f} ms ({cells:,} rows)"
            )
            results.append(
                Result.compared(
                    f"snapshot_{label(size)}_vs_groupby",
                    secs * 1000,
                    "ms",
                    grp * 1000,
                    GROUPBY_GOAL if size == args.sizes[-1] else None,
                    at_most=True,
                )
            )
        # Last, at the biggest day: each poll after a posted call (calls land on the day,
        # which is the floor's today in its zone; a call started 5 s ago is of today).
        ingest = create_token(env, "ingest")
        first_rep = str(9001)
        after = Result.compared(
            f"snapshot_after_change_{label(args.sizes[-1])}_vs_groupby",
            after_change_seconds(server, token, ingest, args.repeats, first_rep) * 1000,
            "ms",
            grp * 1000,
            GROUPBY_GOAL,
            at_most=True,
            note="the first poll after a call posted through the API",
        )
        rss = server.rss_result("server_rss_snapshot")
    small, big = args.sizes[0], args.sizes[-1]
    results.append(
        Result.compared(
            f"snapshot_flat_{label(big)}_vs_{label(small)}",
            snap[big] * 1000,
            "ms",
            snap[small] * 1000,
            FLAT_GOAL,
            at_most=True,
        )
    )
    results += cold_rows
    results.append(after)
    results.append(rss)
    console.print(
        f"snapshot_<N>: GET /api/v1/floor/snapshot of a day of N calls, {args.reps:,} reps, "
        f"median of {args.repeats}; baseline: the GROUP BY over the raw calls of that day "
        f"(sqlite3, same file, rows fetched)"
    )
    return results


def label(n: int) -> str:
    """10000 -> "10k", 1000000 -> "1M"."""
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="smoke run: 10,000 and 50,000 calls")
    p.add_argument(
        "--sizes",
        type=lambda v: [int(x) for x in v.split(",")],
        help="calls of the day at each step, ascending (default 10000,100000,1000000)",
    )
    p.add_argument("--reps", type=int, default=2000, help="reps on the floor")
    p.add_argument("--teams", type=int, default=40, help="teams on the floor")
    p.add_argument("--repeats", type=int, help="timed requests / queries per step (5; quick 3)")
    p.add_argument("--seed", type=int, default=20261128)
    p.add_argument("--keep", action="store_true", help="keep the temp dir (database, server log)")
    args = p.parse_args(argv)
    if args.sizes is None:
        args.sizes = [10_000, 50_000] if args.quick else [10_000, 100_000, 1_000_000]
    if args.repeats is None:
        args.repeats = 3 if args.quick else 5
    if sorted(args.sizes) != args.sizes or args.sizes[0] < 1:
        p.error("--sizes must be positive and ascending")
    return args


def main(argv: list[str] | None = None) -> int:
    return standalone("snapshot", parse_args(argv), run)


if __name__ == "__main__":
    sys.exit(main())
