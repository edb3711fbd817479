"""uvicorn's HTTP/1.1 protocol with read deadlines: a client must send its request headers within
``header_seconds`` and keep its body coming with no pause longer than ``body_seconds``.

uvicorn has neither bound (only the keep-alive wait between requests), so a client trickling
bytes holds a connection, and a file descriptor, for as long as it likes. The rules are nginx's
``client_header_timeout`` (the whole header) and ``client_body_timeout`` (between two reads).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.config import Settings

log = logging.getLogger("paceboard.server")


class DeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol (what ``uvicorn[standard]`` runs) that closes a connection
    whose headers or body stall (see the module). The parser's callbacks mark the phases: a
    request begins, its headers complete, a piece of body arrives, the request is complete."""

    header_seconds: float = 10.0
    body_seconds: float = 30.0

    _deadline: asyncio.TimerHandle | None = None
    _upgraded = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.header_seconds, "headers")  # a connection that sends nothing at all

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:  # the first request counts from the connection
            self._arm(self.header_seconds, "headers")

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._arm(self.body_seconds, "body")  # disarmed at once when there is no body

    def on_body(self, body: bytes) -> None:
        super().on_body(body)
        self._arm(self.body_seconds, "body")  # restarted by every read, as nginx does

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._disarm()

    def handle_websocket_upgrade(self) -> None:
        # The connection now belongs to the WebSocket protocol, which has its own pings.
        self._upgraded = True
        self._disarm()
        super().handle_websocket_upgrade()

    def on_response_complete(self) -> None:
        self._disarm()  # from here uvicorn's keep-alive timeout bounds the wait
        super().on_response_complete()

    def _arm(self, seconds: float, what: str) -> None:
        self._disarm()
        if not self._upgraded:
            self._deadline = self.loop.call_later(seconds, self._expire, what)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self, what: str) -> None:
        self._deadline = None
        if self.transport.is_closing() or self._upgraded:
            return
        if what == "body" and self.flow.read_paused:
            # The application is not reading (the body is buffered): the client is not late.
            self._arm(self.body_seconds, what)
            return
        log.warning("closed a connection whose request %s stalled", what)
        self.transport.close()


def deadline_protocol(header_seconds: float, body_seconds: float) -> type[HttpToolsProtocol]:
    """A :class:`DeadlineProtocol` with these deadlines, for ``uvicorn.run(http=...)``."""
    return type(
        "DeadlineProtocol",
        (DeadlineProtocol,),
        {"header_seconds": header_seconds, "body_seconds": body_seconds},
    )


#: How long a thread may hold the GIL before another that wants it gets it (CPython's default is
#: 5 ms). The ingest writer's thread releases the GIL at every SQLite or PostgreSQL call and
#: must win it back from the event loop each time; with the loop busy framing deltas for a
#: thousand screens, every one of those hand-overs waited out the whole interval, and a
#: commit's round trip grew from 3 ms to 1 s at the 99th percentile (bench/live.py, 1,000
#: screens). Half a millisecond keeps the hand-overs short at a negligible switching cost.
SWITCH_INTERVAL_SECONDS = 0.0005

#: The cyclic garbage collector's thresholds (CPython's default is 700, 10, 10). A live floor
#: allocates many short-lived dicts per change (rows, patches, frames), nearly all freed by
#: reference counting; at the default every few hundred of them start a collection, and the
#: older generations' passes over the in-memory floor stalled the loop: at 1,000 screens the
#: 99th percentile fell from 418-502 ms to 212-275 ms with these (bench/live.py, 2026-12-06).
GC_THRESHOLDS = (50_000, 20, 100)


def tune_interpreter() -> None:
    """Process-wide settings every Paceboard server runs with (call before serving)."""
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    # What is loaded by now (modules, the settings) lives as long as the process: keep it out
    # of every collection's pass.
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """What every Paceboard server passes to uvicorn besides the app, address and logging."""
    return {
        "http": deadline_protocol(settings.header_timeout_seconds, settings.body_timeout_seconds),
        "timeout_graceful_shutdown": settings.shutdown_seconds,
        "ws_max_size": 1 << 20,
        # Per-socket deflate cost more CPU than everything else the live hub does (measured
        # with py-spy at 200 sockets); on a LAN the bytes are cheap, the CPU is not.
        "ws_per_message_deflate": False,
    }
