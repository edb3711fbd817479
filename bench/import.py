"""Import benchmark: ``paceboard import --format asterisk`` of a generated Master.csv, against
batch ingest of the same records through the real HTTP API.

A seeded generator writes an Asterisk ``cdr_csv`` Master.csv (21 columns, no header) of N rows
(default 1,000,000) and one of M rows (default 100,000) into a temp dir. Each is imported by the
real CLI in a subprocess into its own fresh SQLite database; the wall time of that subprocess
(interpreter start and migrations included) gives its rate, and ``os.wait4`` on that one child
gives its peak RSS (the kernel's ``ru_maxrss`` of exactly that process, read when it is reaped),
to which the polled peak (VmHWM) of its worker process is added: a big file is read in a worker
process while the import stores.

Figure 1: records/s of the N-row import vs records/s of the same records (as the adapter yields
them, run in-process) POSTed in 1,000-record batches from 4 clients to a real server with its own
fresh database, like bench/ingest.py (goal: ratio >= 0.8).
Figure 2: peak RSS of the N-row import (goal: <= 200 MiB) and its growth over the M-row import
(goal: rss_N / rss_M <= 1.2): memory must not grow with the file.

Rows: import_rate, import_peak_rss (beside the peak of an import of an empty file),
import_rss_growth and the baseline server's RSS at the end (beside its RSS when idle).

Part of ``make bench`` (bench/run.py); alone, from the repo root:
``.venv/bin/python bench/import.py [--quick | --rows N --small-rows M]``. Exits 0 whenever it
measured, goals met or not; 1 when it could not measure.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import re
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson

# Run as a script (bench/import.py), the repo root is not on sys.path; `bench.common` needs it.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from app.ingest.adapters.asterisk import iter_master_csv  # noqa: E402
from bench.common import (  # noqa: E402
    ROOT,
    BenchError,
    CpuMeter,
    Result,
    Server,
    console,
    create_token,
    free_port,
    proc_status_kib,
    server_env,
    standalone,
)
from bench.ingest import batch_rate, report  # noqa: E402

RATE_GOAL = 0.8  # import records/s over batch-ingest records/s, same run
RSS_GOAL_MIB = 200.0  # peak RSS of the big import
GROWTH_GOAL = 1.2  # peak RSS of the big import over the small one

TZ = "Asia/Shanghai"
DAY = "2026-11-26"  # a Thursday
# The default calling windows (09:30-11:30, 13:00-17:30) as seconds after midnight.
WINDOWS = [(9 * 3600 + 1800, 11 * 3600 + 1800), (13 * 3600, 17 * 3600 + 1800)]
REPS = [str(7001 + i) for i in range(200)]
SOURCE = "asterisk"  # what `paceboard import --format asterisk` defaults --source to
MULTI_LEG = 0.03  # share of calls with a second (ring-group) leg, adjacent, same linkedid
# One Master.csv row, cdr_csv's quoting: strings quoted (`""` escapes), numbers bare.
ROW = (
    '"","{rep}","{dst}","from-internal","""Rep {rep}"" <{rep}>","{chan}","{dchan}","Dial",'
    '"SIP/trunk/{dst},60,tT","{start}","{answer}","{end}",{duration},{billsec},"{disp}",'
    '"DOCUMENTATION","{uid}","","","{linked}",{seq}\n'
)
SUMMARY = re.compile(
    r"([\d,]+) rows → created ([\d,]+), updated ([\d,]+), duplicate ([\d,]+), "
    r"stale ([\d,]+), rejected ([\d,]+)"
)


# --- the file --------------------------------------------------------------------------------


def write_master_csv(
    path: Path, rows: int, seed: int, *, reps: list[str] = REPS, day: str = DAY
) -> int:
    """Write ``rows`` Master.csv rows (calls of one or two legs) of ``day``; return the number
    of calls.

    Calls start in order over the day's calling windows (the way a PBX appends them); ~60% are
    NO ANSWER/BUSY/FAILED, ~40% ANSWERED with billsec > 0; ``reps`` (200) on
    ``SIP/<code>-xxxxxxxx``;
    ~3% have a second leg (``Local/s@ringgroup-…;2``, another uniqueid, the same linkedid) right
    after the first. Same seed, same bytes.
    """
    rng = random.Random(seed)
    rand, randint, choice = rng.random, rng.randint, rng.choice
    midnight = int(
        datetime.fromisoformat(f"{day}T00:00:00").replace(tzinfo=ZoneInfo(TZ)).timestamp()
    )
    clock = [f"{day} {s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86400)]
    span = sum(b - a for a, b in WINDOWS)
    expected_calls = max(1, int(rows / (1 + MULTI_LEG)))
    out: list[str] = []
    written = calls = chan = 0
    with path.open("w", encoding="utf-8", newline="") as f:
        while written < rows:
            offset = min(span - 1, calls * span // expected_calls)
            secs = (
                WINDOWS[0][0] + offset
                if offset < WINDOWS[0][1] - WINDOWS[0][0]
                else (WINDOWS[1][0] + offset - (WINDOWS[0][1] - WINDOWS[0][0]))
            )
            rep = choice(reps)
            dst = f"138{randint(0, 99_999_999):08d}"
            roll = rand()
            if roll < 0.45:
                disp, ring, billsec = "NO ANSWER", randint(15, 45), 0
            elif roll < 0.53:
                disp, ring, billsec = "BUSY", randint(1, 5), 0
            elif roll < 0.60:
                disp, ring, billsec = "FAILED", randint(0, 2), 0
            else:
                disp, ring, billsec = "ANSWERED", randint(3, 25), randint(5, 600)
            answer = clock[secs + ring] if billsec else ""
            fields = {
                "rep": rep,
                "dst": dst,
                "start": clock[secs],
                "answer": answer,
                "end": clock[secs + ring + billsec],
                "duration": ring + billsec,
                "billsec": billsec,
                "disp": disp,
            }
            linked = f"pbx1-{midnight + secs}.{written}"
            out.append(
                ROW.format(
                    chan=f"SIP/{rep}-{chan:08x}",
                    dchan=f"SIP/trunk-{chan + 1:08x}",
                    uid=linked,
                    linked=linked,
                    seq=written + 1,
                    **fields,
                )
            )
            chan += 2
            written += 1
            if written < rows and rand() < MULTI_LEG:
                out.append(
                    ROW.format(
                        chan=f"Local/s@ringgroup-{chan:08x};2",
                        dchan=f"SIP/trunk-{chan + 1:08x}",
                        uid=f"pbx1-{midnight + secs}.{written}",
                        linked=linked,
                        seq=written + 1,
                        **fields,
                    )
                )
                chan += 2
                written += 1
            calls += 1
            if len(out) >= 20_000:
                f.write("".join(out))
                out.clear()
        f.write("".join(out))
    return calls


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


# --- the import ------------------------------------------------------------------------------


@dataclass
class ImportRun:
    rows: int
    created: int
    rejected: int
    seconds: float
    peak_kib: int  # ru_maxrss of the import process (os.wait4) + its worker's polled VmHWM
    sampled_kib: int  # the highest VmHWM polled while it ran (a cross-check; may miss the end)
    worker_kib: int  # the highest VmHWM polled of the import's worker process (0 if none)
    stored: int  # rows in the call table afterwards


def paceboard_cmd() -> list[str]:
    """The installed ``paceboard`` console script beside this interpreter, else ``-m app``."""
    script = Path(sys.executable).with_name("paceboard")
    return [str(script)] if script.exists() else [sys.executable, "-m", "app"]


def run_import(path: Path, workdir: Path, timeout: float) -> ImportRun:
    """``paceboard import PATH --format asterisk`` into a fresh database under ``workdir``.

    Peak RSS: ``os.wait4(pid)`` returns the rusage of that one child, so its ``ru_maxrss`` is
    this import's own high-water mark (KiB on Linux), unlike ``RUSAGE_CHILDREN``, which is the
    maximum over every child this process has reaped so far. The child is reaped by wait4 here,
    not by Popen, so the wall time ends at the child's exit.
    """
    workdir.mkdir(parents=True)
    env = server_env(workdir, free_port())  # database + data dir + secret key under workdir
    out, err = workdir / "import.out", workdir / "import.err"
    with out.open("wb") as fo, err.open("wb") as fe:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [*paceboard_cmd(), "import", str(path), "--format", "asterisk"],
            cwd=ROOT,
            env=env,
            stdout=fo,
            stderr=fe,
        )
    sampled = [0]
    workers: dict[int, int] = {}  # a big file is read in a worker process: its peak counts too
    done = threading.Event()

    def sample() -> None:
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
        while not done.wait(0.1):
            kib = proc_status_kib(proc.pid, "VmHWM")
            if kib is not None:
                sampled[0] = max(sampled[0], kib)
            try:
                pids = [int(p) for p in children.read_text().split()]
            except (OSError, ValueError):
                pids = []
            for pid in pids:
                kib = proc_status_kib(pid, "VmHWM")
                if kib is not None:
                    workers[pid] = max(workers.get(pid, 0), kib)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    killer = threading.Timer(timeout, proc.kill)
    killer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - t0
    finally:
        killer.cancel()
        done.set()
        sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise BenchError(
            f"`paceboard import {path.name}` exited {proc.returncode} "
            f"(timeout {timeout:.0f}s?): {err.read_text(errors='replace')[-2000:]}"
        )
    text = out.read_text(errors="replace")
    m = SUMMARY.search(text)
    if m is None:
        raise BenchError(f"`paceboard import` printed no summary: {text[-500:]!r}")
    rows, created, updated, duplicate, stale, rejected = (
        int(g.replace(",", "")) for g in m.groups()
    )
    db = sqlite3.connect(workdir / "bench.db")
    try:
        (stored,) = db.execute("SELECT count(*) FROM call").fetchone()
    finally:
        db.close()
    if updated or duplicate or stale or rejected or stored != created:
        raise BenchError(f"import of a fresh database: {text.strip()}; {stored} rows stored")
    worker = max(workers.values(), default=0)
    return ImportRun(
        rows, created, rejected, elapsed, usage.ru_maxrss + worker, sampled[0], worker, stored
    )


# --- the baseline ----------------------------------------------------------------------------


def adapter_records(path: Path) -> Iterator[dict]:
    """The call records the asterisk adapter yields for the file, as the CLI would import them."""
    with path.open(encoding="utf-8", errors="replace", newline="") as f:
        for row, record, reason, _raw in iter_master_csv(
            f, timezone=ZoneInfo(TZ), source=SOURCE, rep_from=None
        ):
            if record is None:
                raise BenchError(f"the generated file has a bad row {row}: {reason}")
            yield record


def batch_bodies(path: Path, limit: int | None, size: int) -> list[tuple[bytes, int]]:
    """(JSON array body, record count) per batch of the file's first ``limit`` records."""
    bodies: list[tuple[bytes, int]] = []
    batch: list[dict] = []
    for taken, record in enumerate(adapter_records(path)):
        if limit is not None and taken >= limit:
            break
        batch.append(record)
        if len(batch) == size:
            bodies.append((orjson.dumps(batch), size))
            batch = []
    if batch:
        bodies.append((orjson.dumps(batch), len(batch)))
    return bodies


@dataclass
class IngestRun:
    rate: float
    records: int
    cpu: CpuMeter
    rss: Result


def ingest_rate(bodies: list[tuple[bytes, int]], workdir: Path, clients: int) -> IngestRun:
    """Records/s of the bodies POSTed by ``clients`` to a fresh server (bench/ingest.py's way)."""
    workdir.mkdir(parents=True)
    size = max(n for _, n in bodies)
    env = server_env(
        workdir,
        free_port(),
        max_body_bytes=str(max(len(b) for b, _ in bodies) * 2 + (1 << 20)),
        max_batch_records=str(max(5000, size)),
    )
    token = create_token(env, "ingest")
    records = sum(n for _, n in bodies)
    with Server(env, workdir / "server.log") as server:
        console.print(f"server pid {server.pid} on {server.url}")
        cpu = CpuMeter(server.pid)
        rate = batch_rate(server.url, token, bodies, clients, cpu)
        rss = server.rss_result("server_rss_import_baseline")
    report("batch ingest", rate, "records/s", cpu, records)
    db = sqlite3.connect(workdir / "bench.db")
    try:
        (stored,) = db.execute("SELECT count(*) FROM call").fetchone()
    finally:
        db.close()
    if stored != records:
        raise BenchError(f"batch ingest stored {stored} calls, expected {records}")
    return IngestRun(rate, records, cpu, rss)


# --- results ---------------------------------------------------------------------------------


def build_results(
    big: ImportRun, small: ImportRun, startup: ImportRun, base: IngestRun
) -> list[Result]:
    rss_big, rss_small = big.peak_kib / 1024, small.peak_kib / 1024
    return [
        Result.compared(
            "import_rate", big.created / big.seconds, "records/s", base.rate, RATE_GOAL
        ),
        Result.absolute(
            "import_peak_rss",
            rss_big,
            "MiB",
            RSS_GOAL_MIB,
            baseline=startup.peak_kib / 1024,
        ),
        Result.compared("import_rss_growth", rss_big, "MiB", rss_small, GROWTH_GOAL, at_most=True),
        base.rss,
    ]


# --- run -------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="smoke run: 100,000 and 10,000 rows")
    p.add_argument("--rows", type=int, help="rows of the big file (default 1,000,000)")
    p.add_argument("--small-rows", type=int, help="rows of the small file (default rows / 10)")
    p.add_argument(
        "--ingest-records",
        type=int,
        help="records of the big file POSTed for the baseline (default: all of them)",
    )
    p.add_argument("--batch-size", type=int, default=1000, help="records per batch request")
    p.add_argument("--clients", type=int, default=4, help="concurrent batch clients")
    p.add_argument("--timeout", type=float, default=1800, help="seconds an import may take")
    p.add_argument("--seed", type=int, default=20261126)
    p.add_argument("--keep", action="store_true", help="keep the temp dir (files, databases)")
    args = p.parse_args(argv)
    if args.rows is None:
        args.rows = 100_000 if args.quick else 1_000_000
    if args.small_rows is None:
        args.small_rows = max(1, args.rows // 10)
    for name in ("rows", "small_rows", "batch_size", "clients"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.ingest_records is not None and args.ingest_records < 1:
        p.error("--ingest-records must be at least 1")
    return args


def generate(path: Path, rows: int, seed: int) -> int:
    t0 = time.perf_counter()
    calls = write_master_csv(path, rows, seed)
    size = path.stat().st_size
    console.print(
        f"wrote {path.name}: {rows:,} rows, {calls:,} calls, {size / 2**20:,.0f} MiB in "
        f"{time.perf_counter() - t0:.1f}s (sha256 {sha256(path)[:16]})"
    )
    return calls


def show_import(label: str, run: ImportRun) -> None:
    console.print(
        f"import {label}: {run.rows:,} rows → {run.created:,} calls in {run.seconds:.1f}s = "
        f"{run.rows / run.seconds:,.0f} rows/s, {run.created / run.seconds:,.0f} records/s; "
        f"peak RSS {run.peak_kib / 1024:,.1f} MiB, worker {run.worker_kib / 1024:,.1f} included "
        f"(sampled VmHWM {run.sampled_kib / 1024:,.1f})"
    )


def measure(args: argparse.Namespace, workdir: Path) -> tuple[list[Result], str]:
    big_csv, small_csv = workdir / "big" / "Master.csv", workdir / "small" / "Master.csv"
    big_csv.parent.mkdir()
    small_csv.parent.mkdir()
    calls = generate(big_csv, args.rows, args.seed)
    small_calls = generate(small_csv, args.small_rows, args.seed + 1)
    # Imports first and alone: nothing else runs on the cores meanwhile. An empty file first:
    # the fixed cost (interpreter, imports, migrations of a fresh database) in every wall time.
    empty_csv = workdir / "empty" / "Master.csv"
    empty_csv.parent.mkdir()
    empty_csv.touch()
    startup = run_import(empty_csv, workdir / "import-empty", args.timeout)
    console.print(
        f"import of an empty file: {startup.seconds:.1f}s, "
        f"peak RSS {startup.peak_kib / 1024:,.1f} MiB"
    )
    small = run_import(small_csv, workdir / "import-small", args.timeout)
    show_import(f"{args.small_rows:,}", small)
    big = run_import(big_csv, workdir / "import-big", args.timeout)
    show_import(f"{args.rows:,}", big)
    if (big.created, small.created) != (calls, small_calls):
        raise BenchError(
            f"imports created {big.created}/{small.created}, files hold {calls}/{small_calls} calls"
        )
    t0 = time.perf_counter()
    bodies = batch_bodies(big_csv, args.ingest_records, args.batch_size)
    posted = sum(n for _, n in bodies)
    console.print(
        f"adapter in-process: {posted:,} records → {len(bodies):,} bodies of "
        f"{args.batch_size:,} in {time.perf_counter() - t0:.1f}s"
    )
    base = ingest_rate(bodies, workdir / "ingest", args.clients)
    note = (
        f"import_rate: `paceboard import --format asterisk` of {args.rows:,} rows "
        f"({calls:,} calls) into a fresh SQLite db, wall time incl. startup "
        f"({startup.seconds:.1f}s for an empty file); baseline: "
        f"{'all ' if posted == calls else 'the first '}{posted:,} of its records as "
        f"{args.batch_size:,}-record POSTs from {args.clients} clients to a fresh server\n"
        f"import_peak_rss: ru_maxrss (os.wait4) of the {args.rows:,}-row import plus its "
        f"worker process's peak; "
        f"import_rss_growth: over the {args.small_rows:,}-row import"
    )
    return build_results(big, small, startup, base), note


def main(argv: list[str] | None = None) -> int:
    return standalone("import", parse_args(argv), run)


def run(args: argparse.Namespace, workdir: Path) -> list[Result]:
    """Every row of this benchmark (bench/run.py calls this)."""
    results, note = measure(args, workdir)
    console.print(note)
    return results


if __name__ == "__main__":
    sys.exit(main())
