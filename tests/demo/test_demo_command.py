"""``paceboard demo`` as a user runs it: a real server, a simulated floor, tokens on stdout."""

from __future__ import annotations

import os
import re
import signal
import socket
import time
from datetime import UTC, datetime
from datetime import time as dt_time
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from app.config import parse_windows
from app.demo.floor import TEAMS, etc_zone
from tests.conftest import LiveServer, free_port, run_cli

pytestmark = pytest.mark.e2e


def night_zone() -> str:
    """A zone where it is 03:xx now, so the demo must move its floor clock to mid-morning (and
    the test never lands in a lunch break or at the end of the day)."""
    utc_hour = datetime.now(UTC).hour
    offset = next(h for h in range(-12, 15) if (utc_hour + h) % 24 == 3)
    return etc_zone(offset)


@pytest.fixture
def demo_env(tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PACEBOARD_")}
    env.update(
        PACEBOARD_DATA_DIR=str(tmp_path / "var"),
        PACEBOARD_PORT=str(free_port()),
        PACEBOARD_TIMEZONE=night_zone(),
    )
    return env


def wait_for_line(log: Path, pattern: str, proc_server: LiveServer, timeout: float = 30) -> str:
    """The first line of ``log`` matching ``pattern``, waiting for the demo to print it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in log.read_text(encoding="utf-8").splitlines():
            if m := re.search(pattern, line):
                return m.group(0)
        assert proc_server.proc and proc_server.proc.poll() is None, log.read_text()
        time.sleep(0.05)
    raise AssertionError(f"no line matching {pattern!r}: {log.read_text()}")


def snapshot(server: LiveServer, token: str) -> dict:
    resp = httpx.get(
        server.url + "/api/v1/floor/snapshot",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


def start_demo(env: dict[str, str], log: Path, *args: str) -> tuple[LiveServer, str]:
    """Start ``paceboard demo ARGS``; returns the server and the read token it printed."""
    server = LiveServer(env, int(env["PACEBOARD_PORT"]), log)
    server.start("demo", "--port", env["PACEBOARD_PORT"], *args)
    wait_for_line(log, r"Paceboard demo floor is live", server)
    token = wait_for_line(log, r"(?<=read token:  )pb_\S+", server)
    return server, token


def test_demo_runs_a_live_floor_and_a_rerun_does_not_double_the_day(demo_env, tmp_path):
    log1 = tmp_path / "demo1.log"
    demo, token = start_demo(demo_env, log1, "--duration", "8", "--speed", "30")
    try:
        text = log1.read_text(encoding="utf-8")
        zone = demo_env["PACEBOARD_TIMEZONE"]
        # 03:xx in the configured zone: outside hours on a weekday, no calling day at a weekend.
        weekend = datetime.now(ZoneInfo(zone)).weekday() >= 5
        reason = "not a calling day" if weekend else "outside calling hours"
        assert f"{reason} in {zone}" in text, text
        # Moved to a zone where a working day is calling now (mid-morning, or a weekday
        # afternoon when only that is in reach at a weekend).
        there = re.search(r"Demo floor clock: Etc/GMT\S* \(UTC[^)]*\), \w+ (\d\d:\d\d) there", text)
        assert there, text
        local = dt_time.fromisoformat(there.group(1))
        windows = parse_windows("09:30-11:30,13:00-17:30")
        assert any(a <= local < b for a, b in windows), text
        first = snapshot(demo, token)
        # A moving working day, whatever the day: targets expected by now, someone dialling.
        assert first["floor"]["pace"]["dials"]["expected"] > 0, first["floor"]["pace"]
        assert [t["name"] for t in first["teams"]] == list(TEAMS)
        assert len(first["reps"]) == 24
        assert {t: sum(r["team"] == t for r in first["reps"]) for t in TEAMS} == dict.fromkeys(
            TEAMS, 8
        )
        backfilled = first["floor"]["totals"]["dials"]
        assert backfilled > 0
        # Live calls keep coming: the floor grows within seconds (polled until it does, so a
        # loaded machine's slow simulator second is no failure; the demo runs 8 s in all).
        grown, deadline = backfilled, time.monotonic() + 5
        while grown <= backfilled and time.monotonic() < deadline:
            time.sleep(0.5)
            grown = snapshot(demo, token)["floor"]["totals"]["dials"]
        assert grown > backfilled
        assert demo.proc is not None
        assert demo.proc.wait(20) == 0, log1.read_text()
    finally:
        demo.stop()
    assert "Demo floor stopped" in log1.read_text(encoding="utf-8")
    var = Path(demo_env["PACEBOARD_DATA_DIR"])
    assert (var / "demo.db").exists() and not (var / "paceboard.db").exists()

    # Same data dir again, configured as the first run moved its floor (its zone, still calling:
    # it had half an hour of its window left; today a working day), so the rerun keeps that floor
    # day whatever minute it starts at; the backfill replays calls the server already has.
    first_zone = re.search(r"Demo floor clock: (Etc/GMT\S*) ", text).group(1)
    rerun_env = {**demo_env, "PACEBOARD_TIMEZONE": first_zone, "PACEBOARD_WORKING_DAYS": "mon-sun"}
    log2 = tmp_path / "demo2.log"
    demo, token = start_demo(rerun_env, log2, "--speed", "30")
    try:
        again = snapshot(demo, token)["floor"]["totals"]["dials"]
        line = wait_for_line(log2, r"Backfilled .*", demo)
        assert "inside calling hours" in log2.read_text(encoding="utf-8")
        stored = int(re.search(r"([\d,]+) already stored", line).group(1).replace(",", ""))
        assert stored >= backfilled * 0.9, line
        assert backfilled <= again < grown * 1.2 + 50, (backfilled, grown, again)
        assert len(snapshot(demo, token)["reps"]) == 24
        # SIGTERM (what a service manager sends) stops server and simulator cleanly.
        assert demo.proc is not None
        demo.proc.send_signal(signal.SIGTERM)
        assert demo.proc.wait(15) == 0, log2.read_text()
    finally:
        demo.stop()
    assert "Demo floor stopped" in log2.read_text(encoding="utf-8")


def test_demo_refuses_a_taken_port_naming_the_setting(demo_env):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        out = run_cli(demo_env, "demo", "--port", port, "--duration", "1")
    assert out.returncode == 1
    assert "PACEBOARD_PORT" in out.stderr and "--port" in out.stderr and port in out.stderr
    assert "Traceback" not in out.stderr
