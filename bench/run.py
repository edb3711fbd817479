"""The benchmark suite: every benchmark in turn, then one table of all their rows.

Each benchmark starts its own real servers on loopback (SQLite in a temp dir; PostgreSQL in a
fresh ``pb_bench_<random>`` database on ``BENCH_PG_URL``, dropped afterwards) and reports each
figure beside a baseline measured in the same run. The table is printed at the end and written to
bench/results/latest.json (a list of ``{"name", "value", "unit", "baseline", "ratio", "goal",
"met"}``); the machine, the wall times and each row's goal rule go to latest-machine.json.

Each benchmark runs as its own process (``bench/<name>.py``), which hands its rows back here;
one that cannot measure does not stop the others: its rows (or one ``<benchmark>_benchmark``
row) are reported FAILED with the reason.

    .venv/bin/python bench/run.py [--quick] [--only ingest,live,live_floor,agent_events,...]

Exits 0 when every row was measured (goals met or not), 1 when any row FAILED.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import (  # noqa: E402
    ROOT,
    SUITE_ROWS_ENV,
    Result,
    console,
    machine_info,
    print_machine,
    print_results,
    write_results,
)

# Each module's argv in the suite: full, then quick (the smoke run, about two minutes in all).
# The import runs on 300,000 rows here (`bench/import.py` alone: 1,000,000, about 7 minutes), its
# baseline posting all of the same records; its memory goals compare with a tenth of that file.
SUITE: dict[str, tuple[list[str], list[str]]] = {
    "ingest": ([], ["--quick"]),
    "live": ([], ["--quick"]),
    "live_floor": (["--floor-scale"], ["--quick", "--floor-scale"]),
    "agent_events": ([], ["--quick"]),
    "snapshot": ([], ["--quick"]),
    "import": (["--rows", "300000"], ["--quick", "--rows", "20000", "--small-rows", "10000"]),
    # One working day of a 2,000-seat floor (600,000 rows) per engine, extrapolated to the month.
    "import_month": ([], ["--quick"]),
}


#: Suite entries run by another entry's script (with their own arguments).
SCRIPT = {"live_floor": "live"}


def run_one(name: str, argv: list[str], keep: bool) -> list[Result]:
    """One benchmark in its own process (a child forked from a process that grew big would
    inherit its peak RSS, which the import benchmark reads); its rows, or one FAILED row."""
    with tempfile.TemporaryDirectory(prefix="paceboard-bench-rows-") as tmp:
        rows = Path(tmp) / "rows.json"
        env = {**os.environ, SUITE_ROWS_ENV: str(rows)}
        script = SCRIPT.get(name, name)
        cmd = [sys.executable, str(ROOT / "bench" / f"{script}.py"), *argv]
        proc = subprocess.run([*cmd, *(["--keep"] if keep else [])], cwd=ROOT, env=env)
        try:
            return [Result(**r) for r in json.loads(rows.read_text())]
        except (OSError, ValueError, TypeError) as exc:
            reason = f"bench/{script}.py exited {proc.returncode} without its rows ({exc})"
            console.print(f"[bold red]{reason}[/]: see its output above")
            return [Result.failed(f"{name}_benchmark", "-", reason)]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="the smoke run: smaller sizes")
    p.add_argument(
        "--only",
        type=lambda v: [x.strip() for x in v.split(",") if x.strip()],
        default=list(SUITE),
        help=f"comma-separated benchmarks to run (default all: {','.join(SUITE)})",
    )
    p.add_argument("--keep", action="store_true", help="keep the temp dirs (databases, logs)")
    args = p.parse_args(argv)
    unknown = set(args.only) - set(SUITE)
    if unknown:
        p.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")

    started = time.perf_counter()
    kind = "quick" if args.quick else "full"
    machine = machine_info(benchmark="suite", kind=kind, wall_seconds={})
    print_machine(machine)
    results: list[Result] = []
    for name in args.only:
        argv_one = SUITE[name][1 if args.quick else 0]
        console.rule(f"{name} {' '.join(argv_one)}".strip())
        t0 = time.perf_counter()
        results += run_one(name, argv_one, args.keep)
        machine["wall_seconds"][name] = round(time.perf_counter() - t0, 1)
        machine["args_" + name] = argv_one
    machine["wall_seconds"]["total"] = round(time.perf_counter() - started, 1)
    console.rule()
    print_results(
        results,
        title=f"make bench{'-quick' if args.quick else ''}: every figure beside its baseline "
        "(same run)",
    )
    path = write_results(results, machine)
    walls = ", ".join(f"{k} {v:.0f}s" for k, v in machine["wall_seconds"].items())
    console.print(f"wrote {path} and latest-machine.json; wall times: {walls}")
    return 1 if any(r.value is None for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
