"""uvicorn's HTTP/1.1 protocol with read deadlines: a client must send its request headers within
``header_seconds`` and keep its body coming with no pause longer than ``body_seconds``.

uvicorn has neither bound (only the keep-alive wait between requests), so a client trickling
bytes holds a connection, and a file descriptor, for as long as it likes. The rules are nginx's
``client_header_timeout`` (the whole header) and ``client_body_timeout`` (between two reads).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from app.config import Settings

log = logging.getLogger("paceboard.server")


class DeadlineH11Protocol(H11Protocol):
    """H11Protocol that closes a connection whose headers or body stall (see the module)."""

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

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._upgraded or self.transport.is_closing():
            self._disarm()
        elif self.conn.their_state is h11.IDLE:
            # A request has begun (the keep-alive wait ended with these bytes): its headers
            # must be complete within the header deadline, counted from its first byte.
            if self._deadline is None:
                self._arm(self.header_seconds, "headers")
        elif self.conn.their_state is h11.SEND_BODY:
            self._arm(self.body_seconds, "body")  # restarted by every read, as nginx does
        else:
            self._disarm()

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        # The connection now belongs to the WebSocket protocol, which has its own pings.
        self._upgraded = True
        self._disarm()
        super().handle_websocket_upgrade(event)

    def on_response_complete(self) -> None:
        self._disarm()  # from here uvicorn's keep-alive timeout bounds the wait
        super().on_response_complete()

    def _arm(self, seconds: float, what: str) -> None:
        self._disarm()
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


def deadline_protocol(header_seconds: float, body_seconds: float) -> type[H11Protocol]:
    """A :class:`DeadlineH11Protocol` with these deadlines, for ``uvicorn.run(http=...)``."""
    return type(
        "DeadlineH11Protocol",
        (DeadlineH11Protocol,),
        {"header_seconds": header_seconds, "body_seconds": body_seconds},
    )


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
