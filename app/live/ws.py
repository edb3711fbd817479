"""``/ws``: the live socket the wallboard and the lead console keep open all day."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Annotated

import orjson
from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from app.live.hub import Hub, frame_body

log = logging.getLogger("paceboard.live")
router = APIRouter()

# Close codes in the private range, so a page can tell "fix the link" from "network trouble".
UNAUTHORISED, FORBIDDEN, TRY_LATER = 4401, 4403, 1013
MAX_CLIENT_MESSAGE = 4096


async def _principal(ws: WebSocket, token: str | None):
    secret = token or ws.cookies.get("paceboard_token")
    if not secret:
        return None
    tokens = ws.app.state.tokens
    known, principal = tokens.cached(secret)
    return principal if known else await run_in_threadpool(tokens.verify, secret)


@router.websocket("/ws")
async def live_socket(
    ws: WebSocket,
    token: str | None = None,
    team: Annotated[list[str] | None, Query()] = None,
) -> None:
    """Speak the live protocol (README, "Live"): snapshot, delta, alert, celebrate, tick."""
    principal = await _principal(ws, token)
    # Accept first so the browser sees our close code instead of a bare failed handshake.
    await ws.accept()
    if principal is None:
        await ws.close(UNAUTHORISED, "invalid or missing token")
        return
    if not principal.allows("read"):
        await ws.close(FORBIDDEN, "this token cannot read the floor")
        return
    hub: Hub = ws.app.state.hub
    if len(hub.subscribers) >= ws.app.state.settings.max_sockets:
        await ws.close(TRY_LATER, "too many live screens; try again shortly")
        return
    sub = await hub.subscribe(team or ())
    pump = asyncio.create_task(sub.pump(ws.send_text, hub.big_sends))
    try:
        while not pump.done():
            receive = asyncio.create_task(ws.receive_text())
            done, _ = await asyncio.wait({receive, pump}, return_when=asyncio.FIRST_COMPLETED)
            if pump in done:
                receive.cancel()
                break
            text = receive.result()
            if len(text) > MAX_CLIENT_MESSAGE:
                await ws.close(1009, "message too big")
                break
            try:
                msg = orjson.loads(text)
                kind = msg.get("type") if isinstance(msg, dict) else None
            except orjson.JSONDecodeError:
                kind = None
            if kind == "resync":
                await hub.send_snapshot(sub)
            elif kind == "subscribe":
                teams = msg.get("teams") or []
                sub.teams = frozenset(t for t in teams if isinstance(t, str))
                await hub.send_snapshot(sub)
            elif kind == "ping":
                sub.offer(sub.frame("pong", "}"))
            else:
                detail = {"detail": "unknown message; expected resync, subscribe or ping"}
                sub.offer(sub.frame("error", frame_body(detail)))
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        hub.unsubscribe(sub)
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await pump
