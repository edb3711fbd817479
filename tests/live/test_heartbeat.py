"""An idle floor still hears from the server: a real ``paceboard serve``'s /ws sends a heartbeat
at least every 5 s, so a wallboard can call itself stale after 10 s of silence without ever
doing so while the server is up and nobody dials."""

from __future__ import annotations

import asyncio
import shutil

import orjson
import pytest
import websockets

from tests.conftest import midday_zone

# The wallboard's threshold (STALE_MS in app/static/wallboard.js) and the most a frame may
# take to come: two heartbeats must fit in it.
STALE_S = 10.0
MAX_GAP_S = 6.0


@pytest.fixture
def db_url(sqlite_template, tmp_path) -> str:
    """SQLite only: the heartbeat is the hub's timer; no engine is involved."""
    path = tmp_path / "paceboard.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


def test_an_idle_socket_hears_from_the_server_at_least_every_five_seconds(live_server, server_env):
    server_env["PACEBOARD_TIMEZONE"] = midday_zone()
    live_server.start()
    token = live_server.token("read")
    url = live_server.url.replace("http", "ws") + f"/ws?token={token}"

    async def listen() -> list[tuple[float, str]]:
        loop = asyncio.get_running_loop()
        frames: list[tuple[float, str]] = []
        async with websockets.connect(url) as ws:
            start = loop.time()
            while loop.time() - start < STALE_S + 2:
                msg = orjson.loads(await asyncio.wait_for(ws.recv(), MAX_GAP_S))
                frames.append((loop.time() - start, msg["type"]))
        return frames

    frames = asyncio.run(listen())  # a silence longer than MAX_GAP_S raises TimeoutError
    assert frames[0][1] == "snapshot", frames
    beats = [at for at, kind in frames if kind == "heartbeat"]
    assert len(beats) >= 2, frames  # nothing else happens on an idle floor but the minute tick
    times = [at for at, _ in frames]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert max(gaps) <= MAX_GAP_S, frames
