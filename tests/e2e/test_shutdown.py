"""SIGTERM (a deploy, `systemctl stop`, `docker stop`): requests in flight are answered and their
records stored; new ones are refused at the door, never cut off half-way."""

from __future__ import annotations

import signal
import threading
import time

import httpx
import pytest
import sqlalchemy as sa

from app.db import make_engine
from tests.conftest import record

pytestmark = pytest.mark.e2e


def test_sigterm_finishes_in_flight_writes_before_stopping(live_server, server_env):
    server_env["PACEBOARD_LOG_LEVEL"] = "info"  # the shutdown lines, as in production
    live_server.start()
    token = live_server.cli("token", "create", "--name", "pbx", "--scope", "ingest").stdout
    token = token.strip().splitlines()[-1]
    answered: list[str] = []
    cut_off: list[str] = []
    refused: list[str] = []
    started = threading.Barrier(5)

    def post(worker: int) -> None:
        started.wait()
        with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
            for n in range(1000):
                ids = [f"w{worker}-{n}-{k}" for k in range(500)]
                try:
                    resp = client.post(
                        live_server.url + "/api/v1/calls",
                        json=[record(i, rep=f"r{worker}") for i in ids],
                    )
                except httpx.ConnectError:
                    refused.append(f"w{worker}-{n}")  # the door was shut: nothing was sent
                    return
                except httpx.TransportError as exc:  # sent, never answered
                    cut_off.append(f"w{worker}-{n}: {exc!r}")
                    return
                if resp.status_code == 200:
                    answered.extend(ids)
                elif resp.status_code == 503:  # "nothing was stored, send it again"
                    refused.append(f"w{worker}-{n}")
                    return

    threads = [threading.Thread(target=post, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    started.wait()
    while len(answered) < 4 * 500:
        time.sleep(0.01)
    live_server.proc.send_signal(signal.SIGTERM)
    for t in threads:
        t.join(60)
    # uvicorn re-raises the signal once it has shut down cleanly, so its parent sees SIGTERM.
    assert live_server.proc.wait(30) in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in live_server.log.read_text(errors="replace")
    assert cut_off == []  # every request that reached the server got its answer
    engine = make_engine(server_env["PACEBOARD_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            stored = {r[0] for r in conn.execute(sa.text("SELECT external_id FROM call"))}
    finally:
        engine.dispose()
    assert set(answered) <= stored  # every answered record was committed
    assert len(stored) % 500 == 0  # and nothing half-stored: whole requests or nothing
