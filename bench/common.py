"""Helpers shared by the benchmarks: a real server on loopback, tokens, RSS, result reporting."""

from __future__ import annotations

import json
import os
import platform
import socket
import sqlite3
import subprocess
import sys
import time
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


def server_env(workdir: Path, port: int, **extra: str) -> dict[str, str]:
    """The environment of a server whose database and data dir live under ``workdir``.

    Inherited ``PACEBOARD_*`` variables are dropped so a developer's shell cannot point the
    benchmark at a real database. ``extra`` keys are setting names without the prefix.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("PACEBOARD_")}
    env.update(
        PACEBOARD_DATABASE_URL=f"sqlite:///{(workdir / 'bench.db').as_posix()}",
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
        return self

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


@dataclass
class Result:
    """One reported figure; ``ratio`` = value / baseline and ``met`` = ratio >= goal."""

    name: str
    value: float
    unit: str
    baseline: float | None = None
    ratio: float | None = None
    goal: float | None = None
    met: bool | None = None

    @classmethod
    def compared(
        cls, name: str, value: float, unit: str, baseline: float, goal: float | None
    ) -> Result:
        """A figure judged against a baseline measured in the same run."""
        ratio = value / baseline if baseline > 0 else None
        met = None if goal is None or ratio is None else ratio >= goal
        return cls(name, value, unit, baseline, ratio, goal, met)


def _fmt(v: float | None, digits: int = 1) -> str:
    if v is None:
        return "-"
    return f"{v:,.{digits}f}"


def print_results(results: list[Result], title: str) -> None:
    """The results as a table, then one plain MISSED line per missed goal (greppable in CI logs)."""
    table = Table(title=title)
    for col in ("name", "value", "unit", "baseline", "ratio", "goal", "met"):
        table.add_column(col, justify="left" if col in ("name", "unit", "met") else "right")
    for r in results:
        met = "-" if r.met is None else ("[green]met[/]" if r.met else "[bold red]MISSED[/]")
        table.add_row(
            r.name, _fmt(r.value), r.unit, _fmt(r.baseline), _fmt(r.ratio, 3), _fmt(r.goal, 2), met
        )
    console.print(table)
    for r in results:
        if r.met is False:
            console.print(f"[bold red]MISSED[/]: {r.name} ratio {r.ratio:.3f} < goal {r.goal}")


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
    """Write ``<stem>.json`` (the results) and ``<stem>-machine.json``; return the first."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{stem}.json"
    path.write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")
    (RESULTS_DIR / f"{stem}-machine.json").write_text(json.dumps(machine, indent=2) + "\n")
    return path
