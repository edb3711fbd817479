"""Month backfill benchmark: a 2,000-seat floor's history imported while its TV stays live.

A 2,000-rep floor makes about 300 calls a rep on each of 22 working days: 13.2M calls a month.
A seeded generator writes ``--days`` of those days (default 1: 600,000 rows, 1/22 of the month)
as Asterisk Master.csv files (bench/import.py's generator with 2,000 reps). On each engine (a
fresh SQLite file; a fresh PostgreSQL database) a real server serves the database while the real
CLI imports the files into it, and one screen on ``/ws`` watches today's board: a probe POSTs a
call of today for a rep on the roster every half second and times it from the POST to the frame
that shows it. The same probe runs for a few seconds before the import: its baseline.

Rows per engine (``sqlite``, ``pg``):
- ``import_month_2000_<engine>``: the month's import time in minutes, extrapolated from the
  measured rate (rows a month / rows per second); goal <= 10 minutes.
- ``import_month_live_p50_<engine>`` / ``..._p99_<engine>``: the probe's latency during the
  import, beside the same before it; goals p50 <= 150 ms and p99 <= 500 ms (the live screens').
- ``import_month_rss_<engine>``: the import process's RSS at its end beside its RSS a quarter
  of the way through (flat: <= 1.2x).

Part of ``make bench`` (bench/run.py); alone: ``.venv/bin/python bench/import_month.py [--quick]``.
Exits 0 whenever it measured, goals met or not; 1 when it could not measure.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import random
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import httpx
import orjson
from websockets.asyncio.client import connect

# Run as a script, the repo root is not on sys.path; `bench.common` needs it.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import (  # noqa: E402
    ROOT,
    BenchError,
    Result,
    Server,
    console,
    create_token,
    free_port,
    pg_database,
    pg_unavailable,
    proc_status_kib,
    run_cli,
    server_env,
    standalone,
)
from bench.live import call_record, midday_timezone  # noqa: E402

bench_import = importlib.import_module("bench.import")  # `import` is a keyword

REPS = [str(10001 + i) for i in range(2000)]
CALLS_PER_REP_DAY = 300
WORKING_DAYS = 22
MONTH_ROWS = len(REPS) * CALLS_PER_REP_DAY * WORKING_DAYS  # 13.2M
FIRST_DAY = date(2026, 11, 2)  # a Monday
MINUTES_GOAL = 10.0
P50_GOAL_MS, P99_GOAL_MS = 150.0, 500.0
RSS_GROWTH_GOAL = 1.2
PROBE_REP = "9001"
PROBE_EVERY = 0.5  # seconds between the probe's calls


def working_days(n: int) -> list[str]:
    """The first ``n`` working days (Monday to Friday) from FIRST_DAY, ISO dates."""
    out, day = [], FIRST_DAY
    while len(out) < n:
        if day.weekday() < 5:
            out.append(day.isoformat())
        day += timedelta(days=1)
    return out


def generate(workdir: Path, days: int, rows_per_day: int, seed: int) -> list[Path]:
    """One Master.csv per day of 2,000 reps' calls."""
    files = []
    for i, day in enumerate(working_days(days)):
        path = workdir / f"Master-{day}.csv"
        bench_import.write_master_csv(path, rows_per_day, seed + i, reps=REPS, day=day)
        files.append(path)
    return files


# --- the probe: today's board during the import ----------------------------------------------


@dataclass
class Probe:
    """One screen on ``/ws`` and a sender of today's calls for one rep, timed POST to frame."""

    url: str
    read_token: str
    ingest_token: str
    latencies_ms: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    _seen: int = 0
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self, stop: threading.Event, timeout: float = 30) -> None:
        """Post a call every PROBE_EVERY seconds until ``stop`` is set, timing each."""
        ws_url = self.url.replace("http://", "ws://") + f"/ws?token={self.read_token}"
        rng = random.Random(3)
        self._changed = asyncio.Event()  # of this run's event loop
        headers = {"Authorization": f"Bearer {self.ingest_token}"}
        async with (
            connect(ws_url, max_size=None) as ws,
            httpx.AsyncClient(base_url=self.url, headers=headers, timeout=timeout) as client,
        ):
            reader = asyncio.create_task(self._read(ws))
            posted = self._seen
            try:
                while not stop.is_set():
                    posted += 1
                    rec = call_record(f"probe-{time.time_ns()}", PROBE_REP, rng)
                    t0 = time.perf_counter()
                    resp = await client.post("/api/v1/calls", json=rec)
                    if resp.status_code != 200 or resp.json().get("created") != 1:
                        self.failures.append(f"probe POST: {resp.status_code} {resp.text[:200]}")
                        return
                    await asyncio.wait_for(self._until(posted), timeout)
                    self.latencies_ms.append((time.perf_counter() - t0) * 1000)
                    await asyncio.sleep(PROBE_EVERY)
            except TimeoutError:
                self.failures.append(f"call {posted} not on the screen within {timeout:.0f}s")
            finally:
                reader.cancel()

    async def _until(self, dials: int) -> None:
        while self._seen < dials:
            self._changed.clear()
            await self._changed.wait()

    async def _read(self, ws) -> None:
        async for text in ws:
            frame = orjson.loads(text)
            rows = (
                frame["data"]["reps"] if frame.get("type") == "snapshot" else frame.get("reps")
            ) or []
            for row in rows:
                dials = row.get("totals", {}).get("dials")
                if row.get("code") == PROBE_REP and dials is not None and dials > self._seen:
                    self._seen = dials
                    self._changed.set()


def probe_while(probe: Probe, stop: threading.Event) -> threading.Thread:
    """Run ``probe`` in a thread of its own (its own event loop) until ``stop``."""

    def main() -> None:
        try:
            asyncio.run(probe.run(stop))
        except Exception as exc:  # reported with the rows: a thread's exception would vanish
            probe.failures.append(f"probe: {type(exc).__name__}: {exc}")

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    return thread


def probe_for(probe: Probe, seconds: float) -> list[float]:
    """The probe's latencies over ``seconds`` with nothing else running."""
    stop = threading.Event()
    thread = probe_while(probe, stop)
    time.sleep(seconds)
    stop.set()
    thread.join(60)
    out, probe.latencies_ms = probe.latencies_ms, []
    return out


# --- the import ------------------------------------------------------------------------------


@dataclass
class Imported:
    rows: int
    created: int
    seconds: float
    rss_kib: list[tuple[float, int]]  # (seconds since the start, VmRSS) of the import process


def import_files(env: dict[str, str], files: list[Path], timeout: float) -> Imported:
    """``paceboard import`` of each file in turn (one process per file, as an admin would)."""
    rows = created = 0
    rss: list[tuple[float, int]] = []
    t0 = time.perf_counter()
    for path in files:
        cmd = [*bench_import.paceboard_cmd(), "import", str(path), "--format", "asterisk"]
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        while proc.poll() is None:
            kib = proc_status_kib(proc.pid)
            if kib is not None:
                rss.append((time.perf_counter() - t0, kib))
            time.sleep(0.2)
            if time.perf_counter() - t0 > timeout:
                proc.kill()
                raise BenchError(f"the import took longer than {timeout:.0f}s")
        out, err = proc.communicate()
        if proc.returncode != 0:
            raise BenchError(f"`paceboard import` exited {proc.returncode}: {err.decode()[-2000:]}")
        m = bench_import.SUMMARY.search(out.decode())
        if m is None:
            raise BenchError(f"`paceboard import` printed no summary: {out.decode()[-500:]!r}")
        n, made, updated, duplicate, stale, rejected = (int(g.replace(",", "")) for g in m.groups())
        if updated or duplicate or stale or rejected:
            raise BenchError(f"the import of new calls did not only create: {out.decode()}")
        rows, created = rows + n, created + made
    return Imported(rows, created, time.perf_counter() - t0, rss)


def quarter_rss(rss: list[tuple[float, int]]) -> tuple[int | None, int | None]:
    """(RSS a quarter of the way through, RSS at the end) of the sampled import."""
    if not rss:
        return None, None
    end = rss[-1][0]
    quarter = next((kib for t, kib in rss if t >= end / 4), rss[-1][1])
    return quarter, rss[-1][1]


# --- one engine ------------------------------------------------------------------------------


def measure_engine(
    tag: str, args: argparse.Namespace, workdir: Path, files: list[Path], db_url: str | None
) -> list[Result]:
    run_dir = workdir / tag
    run_dir.mkdir()
    env = server_env(run_dir, free_port(), db_url, timezone=midday_timezone())
    tokens = {scope: create_token(env, scope) for scope in ("read", "ingest")}
    roster = run_dir / "roster.csv"
    roster.write_text(f"code,name,team,hired_on\n{PROBE_REP},Probe,Probe,2026-01-05\n")
    run_cli(env, "roster", "import", str(roster))
    with Server(env, run_dir / "server.log") as server:
        probe = Probe(server.url, tokens["read"], tokens["ingest"])
        before = probe_for(probe, args.baseline_seconds)
        stop = threading.Event()
        thread = probe_while(probe, stop)
        try:
            imported = import_files(env, files, args.timeout)
        finally:
            stop.set()
            thread.join(60)
        during = probe.latencies_ms
    if probe.failures:
        raise BenchError("; ".join(probe.failures[:3]))
    rate = imported.created / imported.seconds
    minutes = MONTH_ROWS / rate / 60
    console.print(
        f"{tag}: {imported.rows:,} rows ({imported.created:,} calls) imported in "
        f"{imported.seconds:.1f}s: {rate:,.0f} calls/s; a month of {MONTH_ROWS:,}: "
        f"{minutes:.1f} min; probe {len(during)} calls during, {len(before)} before"
    )
    quarter, end = quarter_rss(imported.rss_kib)
    note = f"{imported.created:,} calls in {imported.seconds:.0f}s ({rate:,.0f}/s), extrapolated"
    return [
        Result.absolute(f"import_month_2000_{tag}", minutes, "min", MINUTES_GOAL, note=note),
        latency_result(f"import_month_live_p50_{tag}", during, before, 0.5, P50_GOAL_MS),
        latency_result(f"import_month_live_p99_{tag}", during, before, 0.99, P99_GOAL_MS),
        Result.compared(
            f"import_month_rss_{tag}",
            end / 1024 if end else None,
            "MiB",
            quarter / 1024 if quarter else None,
            RSS_GROWTH_GOAL,
            at_most=True,
        ),
    ]


def latency_result(
    name: str, during: list[float], before: list[float], q: float, goal: float
) -> Result:
    if not during:
        return Result.failed(name, "ms", "the probe timed no call during the import", goal)
    value = quantile(during, q)
    baseline = quantile(before, q) if before else None
    return Result.absolute(name, value, "ms", goal, baseline=baseline)


def quantile(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def failed(tag: str, reason: str) -> list[Result]:
    ceiling = {"on": "value", "at_most": True}  # the goals these rows are judged by
    return [
        Result.failed(f"import_month_2000_{tag}", "min", reason, MINUTES_GOAL, **ceiling),
        Result.failed(f"import_month_live_p50_{tag}", "ms", reason, P50_GOAL_MS, **ceiling),
        Result.failed(f"import_month_live_p99_{tag}", "ms", reason, P99_GOAL_MS, **ceiling),
        Result.failed(f"import_month_rss_{tag}", "MiB", reason, RSS_GROWTH_GOAL, at_most=True),
    ]


def run(args: argparse.Namespace, workdir: Path) -> list[Result]:
    rows_per_day = args.rows_per_day or len(REPS) * CALLS_PER_REP_DAY
    console.print(f"generating {args.days} day(s) × {rows_per_day:,} rows of {len(REPS):,} reps…")
    files = generate(workdir, args.days, rows_per_day, args.seed)
    results = measure_engine("sqlite", args, workdir, files, None)
    reason = pg_unavailable()
    if reason is not None or args.no_pg:
        return results + failed("pg", reason or "--no-pg")
    try:
        with pg_database() as url:
            results += measure_engine("pg", args, workdir, files, url)
    except BenchError as exc:
        results += failed("pg", str(exc))
    return results


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="the smoke run: 20,000 rows")
    p.add_argument("--days", type=int, default=1, help="working days of the month to import")
    p.add_argument("--rows-per-day", type=int, default=0, help="default: 2,000 reps × 300")
    p.add_argument("--baseline-seconds", type=float, default=8.0)
    p.add_argument("--timeout", type=float, default=1200.0)
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--no-pg", action="store_true")
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    args = p.parse_args(argv)
    if args.quick:
        args.rows_per_day, args.baseline_seconds = 20_000, 3.0
    return args


def main(argv: list[str] | None = None) -> int:
    return standalone("import_month", parse_args(argv), run)


if __name__ == "__main__":
    sys.exit(main())
