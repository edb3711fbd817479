"""``/ws``: the live socket the wallboard and the lead console keep open all day."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from typing import Annotated, Literal
from urllib.parse import urlsplit

import orjson
from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect

from app.live.deps import HubDep, PrincipalLookup, PrincipalLookupDep, SettingsDep
from app.live.hub import Hub, Subscriber, frame_body
from app.services.tokens import Principal

log = logging.getLogger("paceboard.live")
router = APIRouter()

# Close codes in the private range, so a page can tell "fix the link" from "network trouble".
UNAUTHORISED, FORBIDDEN, TRY_LATER, UNSUPPORTED = 4401, 4403, 1013, 1003
MAX_CLIENT_MESSAGE = 4096


def _teams(principal: Principal, wanted: Iterable[object]) -> frozenset[str]:
    """The teams a socket follows: those asked for that the principal may see; a limited
    principal asking for none (or none of its own) gets all of its own."""
    asked = frozenset(t for t in wanted if isinstance(t, str) and principal.sees_team(t))
    if principal.teams is not None and not asked:
        return principal.teams
    return asked


def same_origin(ws: WebSocket, public: str) -> bool:
    """Whether the socket's ``Origin`` is this server (its Host, or ``public``, the
    ``PACEBOARD_PUBLIC_URL``);
    a client that sends no Origin is no browser page and is let through."""
    origin = ws.headers.get("origin")
    if origin is None:
        return True
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    if parts.netloc.lower() == ws.headers.get("host", "").lower():
        return True
    if public:
        own = urlsplit(public)
        return (parts.scheme, parts.netloc.lower()) == (own.scheme, own.netloc.lower())
    return False


async def _revoked(
    lookup: PrincipalLookup, token: str | None, display: str | None, every: float
) -> None:
    """Return once the socket's credential no longer holds (revoked, expired, signed out)."""
    while True:
        await asyncio.sleep(every)
        if await lookup(token=token, display=display) is None:
            return


async def _answer(hub: Hub, sub: Subscriber, principal: Principal, text: str) -> None:
    """Answer one message of the page: resync, subscribe (to teams it may see) or ping."""
    try:
        msg = orjson.loads(text)
        kind = msg.get("type") if isinstance(msg, dict) else None
    except orjson.JSONDecodeError:
        kind = None
    if kind == "resync":
        await hub.send_snapshot(sub)
    elif kind == "subscribe":
        teams = msg.get("teams") or []
        sub.teams = _teams(principal, teams if isinstance(teams, list) else [])
        await hub.send_snapshot(sub)
    elif kind == "ping":
        sub.offer(sub.frame("pong", "}"))
    else:
        detail = {"detail": "unknown message; expected resync, subscribe or ping"}
        sub.offer(sub.frame("error", frame_body(detail)))


@router.websocket("/ws")
async def live_socket(
    ws: WebSocket,
    hub: HubDep,
    settings: SettingsDep,
    lookup: PrincipalLookupDep,
    token: str | None = None,
    display: str | None = None,
    team: Annotated[list[str] | None, Query()] = None,
    patch: Literal["rows", "deep"] = "rows",
) -> None:
    """Speak the live protocol (README, "Live"): snapshot, delta, alert, celebrate, tick.
    ``patch=deep``: deltas cut nested objects to their changed keys too (the pages ask for it)."""
    principal = await lookup(token=token, display=display)
    # Accept first so the browser sees our close code instead of a bare failed handshake.
    await ws.accept()
    if principal is None:
        await ws.close(UNAUTHORISED, "invalid or missing token")
        return
    if principal.kind == "user" and not same_origin(ws, settings.public_url):
        # A signed-in browser's cookie rides along from any page: only our own pages may use
        # it (cross-site WebSocket hijacking). Token links (TVs) work from anywhere.
        await ws.close(FORBIDDEN, "a signed-in socket must come from this server's own pages")
        return
    if not principal.allows("display") or principal.teams == frozenset():
        # (An empty team set would read as "no filter", the whole floor, in the hub.)
        await ws.close(FORBIDDEN, "this credential cannot watch the floor")
        return
    if len(hub.subscribers) >= settings.max_sockets:
        await ws.close(TRY_LATER, "too many live screens; try again shortly")
        return
    sub = await hub.subscribe(_teams(principal, team or ()), deep=patch == "deep")
    pump = asyncio.create_task(sub.pump(ws.send_text, hub.big_sends))
    watch = asyncio.create_task(_revoked(lookup, token, display, settings.recheck_seconds))
    try:
        while not pump.done():
            receive = asyncio.create_task(ws.receive())
            done, _ = await asyncio.wait(
                {receive, pump, watch}, return_when=asyncio.FIRST_COMPLETED
            )
            if watch in done:
                receive.cancel()
                await ws.close(UNAUTHORISED, "credential revoked or expired")
                break
            if pump in done:
                receive.cancel()
                break
            message = receive.result()
            if message["type"] == "websocket.disconnect":
                break
            text = message.get("text")
            if text is None:  # a binary frame: the protocol is JSON text
                await ws.close(UNSUPPORTED, "text frames only")
                break
            if len(text) > MAX_CLIENT_MESSAGE:
                await ws.close(1009, "message too big")
                break
            await _answer(hub, sub, principal, text)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        hub.unsubscribe(sub)
        pump.cancel()
        watch.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await pump
