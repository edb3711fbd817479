"""Helpers shared by the benchmarks: a real server on loopback, tokens, RSS, result reporting."""

from __future__ import annotations

import json
import os
import platform
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
LOOPBACK = "127.0.0.1"
# Any 16+ characters: the benchmark database is thrown away with its temp dir.
BENCH_SECRET = "bench-secret-key-not-for-production"

# Wide enough for the results table in CI logs, where rich would otherwise assume 80 columns.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 120)


class BenchError(RuntimeError):
    """The benchmark could not measure (server down, wrong answer); its figures are void."""


def free_port() -> int:
    """A TCP port free on loopback right now (the OS picks it)."""
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def server_env(
    workdir: Path, port: int, database_url: str | None = None, **extra: str
) -> dict[str, str]:
    """The environment of a server whose database (SQLite unless ``database_url``) and data dir
    live under ``workdir``.

    Inherited ``PACEBOARD_*`` variables are dropped so a developer's shell cannot point the
    benchmark at a real database. ``extra`` keys are setting names without the prefix.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("PACEBOARD_")}
    env.update(
        PACEBOARD_DATABASE_URL=database_url or f"sqlite:///{(workdir / 'bench.db').as_posix()}",
        PACEBOARD_DATA_DIR=str(workdir / "var"),
        PACEBOARD_SECRET_KEY=BENCH_SECRET,
        PACEBOARD_HOST=LOOPBACK,
        PACEBOARD_PORT=str(port),
        PACEBOARD_LOG_LEVEL="warning",
    )
    env.update({f"PACEBOARD_{k.upper()}": v for k, v in extra.items()})
    return env


def run_cli(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    """Run ``python -m app ARGS`` with ``env``; its stdout, or BenchError with its stderr."""
    proc = subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise BenchError(
            f"`paceboard {' '.join(args)}` exited {proc.returncode}: {proc.stderr.strip()[-2000:]}"
        )
    return proc.stdout


def create_token(env: dict[str, str], scope: str, name: str = "bench") -> str:
    """A new token of ``scope``; the CLI prints the secret alone on its last stdout line."""
    lines = run_cli(env, "token", "create", "--name", name, "--scope", scope).strip().splitlines()
    if not lines or not lines[-1].startswith("pb_"):
        raise BenchError(f"token create printed no secret: {lines[-3:]}")
    return lines[-1].strip()


class Server:
    """``python -m app serve`` in a subprocess on a loopback port; use as a context manager."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.port = int(env["PACEBOARD_PORT"])
        self.proc: subprocess.Popen[bytes] | None = None
        self.idle_kib: int | None = None  # RSS once it first answered /healthz

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise BenchError("server is not running")
        return self.proc.pid

    def start(self, timeout: float = 60) -> Server:
        """Start the server and return once GET /healthz answers 200 (BenchError otherwise)."""
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "app", "serve"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            self._wait_healthy(timeout)
        except BaseException:
            self.stop()  # __exit__ does not run when __enter__ raises
            raise
        self.idle_kib = proc_status_kib(self.proc.pid) if self.proc else None
        return self

    def rss_result(self, name: str, goal: float | None = None) -> Result:
        """``name``: the server's RSS now (call it at the end of a benchmark, before stopping)
        beside its RSS when idle after start, in MiB; ``goal`` a ceiling on the value."""
        now = proc_status_kib(self.pid)
        if now is None:
            return Result.failed(name, "MiB", "no /proc/<pid>/status to read RSS from", goal)
        idle = self.idle_kib / 1024 if self.idle_kib else None
        return Result.absolute(name, now / 1024, "MiB", goal, baseline=idle)

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                code = self.proc.returncode if self.proc else None
                raise BenchError(f"server exited {code}: {self.log_tail()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass  # not listening yet: migrations run before uvicorn binds
            time.sleep(0.1)
        raise BenchError(f"server did not answer /healthz within {timeout:.0f}s: {self.log_tail()}")

    def stop(self, timeout: float = 15) -> None:
        """Ask the server to stop (SIGTERM lets the writer drain), then kill it if it lingers.

        uvicorn re-raises SIGTERM after its graceful shutdown, so the exit status is -15.
        """
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout)

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no server log)"

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def proc_status_kib(pid: int, field: str = "VmRSS") -> int | None:
    """A ``/proc/<pid>/status`` size field (VmRSS, VmHWM…) in KiB; None where /proc lacks it."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def proc_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds ``pid`` has used (``/proc/<pid>/stat``); None without /proc."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            # The command name (field 2) may hold spaces; the fields after it are fixed.
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


class CpuMeter:
    """CPU seconds spent by this process and by ``pid`` inside a ``with`` block.

    Tells whose CPU a figure is bound by: both share the machine's cores.
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.client = 0.0
        self.server: float | None = None

    def __enter__(self) -> CpuMeter:
        self._client0 = time.process_time()
        self._server0 = proc_cpu_seconds(self.pid)
        return self

    def __exit__(self, *exc: object) -> None:
        self.client = time.process_time() - self._client0
        end = proc_cpu_seconds(self.pid)
        if end is not None and self._server0 is not None:
            self.server = end - self._server0


# The keys of one row of latest.json, in order; nothing else goes into that file.
JSON_KEYS = ("name", "value", "unit", "baseline", "ratio", "goal", "met")


@dataclass
class Result:
    """One reported figure, a row of the table and of latest.json.

    ``ratio`` = value / baseline (both measured in the same run). The goal is judged on the ratio
    when ``on`` is "ratio" (the default), else on the value; ``at_most`` makes it a ceiling
    (lower is better). ``on``, ``at_most`` and ``note`` stay out of latest.json (its rows are
    exactly :data:`JSON_KEYS`); the machine file spells each row's rule out. A row whose figure
    could not be measured has value None, met False and the reason in ``note``.
    """

    name: str
    value: float | None
    unit: str
    baseline: float | None = None
    ratio: float | None = None
    goal: float | None = None
    met: bool | None = None
    on: str = "ratio"
    at_most: bool = False
    note: str = ""

    @classmethod
    def compared(
        cls,
        name: str,
        value: float | None,
        unit: str,
        baseline: float | None,
        goal: float | None = None,
        *,
        at_most: bool = False,
        note: str = "",
    ) -> Result:
        """A figure judged by its ratio to a baseline measured in the same run."""
        r = cls(name, value, unit, baseline, goal=goal, at_most=at_most, note=note)
        r.ratio = value / baseline if value is not None and baseline else None
        r.met = r._judge(r.ratio)
        return r

    @classmethod
    def absolute(
        cls,
        name: str,
        value: float | None,
        unit: str,
        goal: float | None = None,
        *,
        baseline: float | None = None,
        at_most: bool = True,
        note: str = "",
    ) -> Result:
        """A figure judged by its own value against a fixed goal (a ceiling by default); the
        baseline and ratio, when given, say what the figure compares with."""
        r = cls(name, value, unit, baseline, goal=goal, on="value", at_most=at_most, note=note)
        r.ratio = value / baseline if value is not None and baseline else None
        r.met = r._judge(value)
        return r

    @classmethod
    def failed(
        cls, name: str, unit: str, reason: str, goal: float | None = None, **kw: Any
    ) -> Result:
        """A row whose figure could not be measured: value null, met false, ``reason`` told."""
        return cls(name, None, unit, goal=goal, met=False, note=reason, **kw)

    def _judge(self, judged: float | None) -> bool | None:
        if self.goal is None:
            return None
        if judged is None:
            return False  # a figure that should have been judged but could not be measured
        return judged <= self.goal if self.at_most else judged >= self.goal

    @property
    def rule(self) -> str | None:
        """How ``met`` is decided, e.g. "ratio >= 0.1" or "value <= 150 ms"."""
        if self.goal is None:
            return None
        unit = f" {self.unit}" if self.on == "value" else ""
        return f"{self.on} {'<=' if self.at_most else '>='} {self.goal:g}{unit}"

    def row(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in JSON_KEYS}


def _fmt(v: float | None, digits: int = 1) -> str:
    if v is None:
        return "-"
    return f"{v:,.{digits}f}"


def _goal_cell(r: Result) -> str:
    if r.goal is None:
        return "-"
    op = "≤" if r.at_most else "≥"
    return f"{op} {r.goal:g}" + ("×" if r.on == "ratio" else f" {r.unit}")


def print_results(results: list[Result], title: str) -> None:
    """The results as one table, then one plain MISSED / FAILED line per row that did not meet
    its goal (greppable in CI logs). The goal column reads "≥ 0.1×" for a ratio and
    "≤ 150 ms" for a value."""
    table = Table(title=title)
    for col in ("name", "value", "unit", "baseline", "ratio", "goal", "met"):
        table.add_column(col, justify="left" if col in ("name", "unit", "met") else "right")
    for r in results:
        if r.value is None:
            met = "[bold red]FAILED[/]"
        elif r.met is None:
            met = "-"
        else:
            met = "[green]met[/]" if r.met else "[bold red]MISSED[/]"
        table.add_row(
            r.name,
            _fmt(r.value),
            r.unit,
            _fmt(r.baseline),
            _fmt(r.ratio, 3),
            _goal_cell(r),
            met,
        )
    console.print(table)
    for r in results:
        if r.value is None:
            console.print(f"[bold red]FAILED[/]: {r.name}: {r.note}")
        elif r.met is False:
            judged = r.ratio if r.on == "ratio" else r.value
            console.print(
                f"[bold red]MISSED[/]: {r.name} {r.on} {_fmt(judged, 3)}, goal {r.rule}"
                + (f" ({r.note})" if r.note else "")
            )


def machine_info(**extra: Any) -> dict[str, Any]:
    """What the figures depend on besides the code: CPUs, OS, Python, SQLite, commit."""
    info: dict[str, Any] = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }
    info["commit"] = _git_commit()
    info.update(extra)
    return info


def _git_commit() -> str | None:
    """HEAD's short hash, ``+dirty`` when app/ or migrations/ differ from it; None outside git."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD")
        # Figures from uncommitted code must not pass for figures of the commit.
        dirty = git("status", "--porcelain", "--", "app", "migrations")
    except (OSError, subprocess.SubprocessError):
        return None  # not a checkout: the figures stand without it
    return head + ("+dirty" if dirty else "")


def write_results(results: list[Result], machine: dict[str, Any], stem: str = "latest") -> Path:
    """Write ``<stem>.json`` (a list of rows, exactly :data:`JSON_KEYS` each) and
    ``<stem>-machine.json`` (the machine, plus each row's goal rule and notes); return the first.
    """
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{stem}.json"
    path.write_text(json.dumps([r.row() for r in results], indent=2) + "\n")
    machine = {
        **machine,
        "rules": {r.name: r.rule for r in results if r.rule},
        "notes": {r.name: r.note for r in results if r.note},
    }
    (RESULTS_DIR / f"{stem}-machine.json").write_text(json.dumps(machine, indent=2) + "\n")
    return path


def print_machine(machine: dict[str, Any]) -> None:
    console.print(
        f"machine: {machine['cpu_count']} CPUs, {machine['platform']}, "
        f"Python {machine['python']}, SQLite {machine['sqlite']}, code {machine['commit']}"
    )


@contextmanager
def workdir(prefix: str, keep: bool = False) -> Iterator[Path]:
    """A temp dir for one benchmark's databases and logs, removed afterwards unless ``keep``."""
    path = Path(tempfile.mkdtemp(prefix=f"paceboard-bench-{prefix}-"))
    try:
        yield path
    finally:
        if keep:
            console.print(f"kept {path}")
        else:
            shutil.rmtree(path, ignore_errors=True)


# Set by bench/run.py: a benchmark run by the suite writes its rows there (whole, with their
# rules and notes) instead of printing its own table; the suite prints one table of them all.
SUITE_ROWS_ENV = "BENCH_SUITE_ROWS"


def standalone(name: str, args: Any, measure: Callable[[Any, Path], list[Result]]) -> int:
    """Run one benchmark as its own process: measure, then print its table and write
    ``bench/results/<name>.json`` (latest.json is the whole suite's, bench/run.py's). Under the
    suite, write the rows to ``$BENCH_SUITE_ROWS`` instead. A benchmark that could not measure
    reports one FAILED row ``<name>_benchmark``. 0 when it measured (goals met or not), else 1.
    """
    started = time.perf_counter()
    machine = machine_info(benchmark=name, args=vars(args))
    suite_rows = os.environ.get(SUITE_ROWS_ENV)
    if not suite_rows:
        print_machine(machine)
    code = 0
    try:
        with workdir(name, getattr(args, "keep", False)) as wd:
            results = measure(args, wd)
    except BenchError as exc:
        console.print(f"[bold red]{name} benchmark failed[/]: {exc}")
        results, code = [Result.failed(f"{name}_benchmark", "-", str(exc))], 1
    machine["wall_seconds"] = round(time.perf_counter() - started, 1)
    if suite_rows:
        Path(suite_rows).write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")
        return code
    print_results(results, title=f"{name} benchmark ({'quick' if args.quick else 'full'})")
    path = write_results(results, machine, stem=name)
    console.print(f"wrote {path} and its -machine.json ({machine['wall_seconds']:.0f}s)")
    return code


# --- PostgreSQL ------------------------------------------------------------------------------

# The server benchmarks create their own database here and drop it afterwards.
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def pg_unavailable() -> str | None:
    """Why PostgreSQL cannot be used (no psycopg, no server), or None when it can."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"no PostgreSQL at {PG_ADMIN_URL}: {exc}".strip()
    return None


@contextmanager
def pg_database() -> Iterator[str]:
    """A fresh database ``pb_bench_<random>`` on the benchmark's PostgreSQL; its URL. Dropped on
    exit (connections of servers still up are ended: ``WITH (FORCE)``)."""
    import psycopg

    name = f"pb_bench_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
