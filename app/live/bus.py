"""Fan-out between processes: after a batch commits in one process, every process's hub
refreshes, so a screen on any process sees every call.

A backend is picked by URL: ``memory://NAME`` (processes are one: instances with the same name
in this interpreter hear each other, which is what tests need), ``postgresql://…`` (LISTEN/NOTIFY
on the floor's own database) or ``redis://…`` (pub/sub). Messages are small JSON objects:

- ``{"kind": "changed", "reps": [[rep_id, "day"], …], "sales": [[rep_id, "day", amount,
  orders], …]}`` after committed batches: the ``TotalsChanged`` of the design, compact (rep ids
  and days, never the floor), coalesced while one is still being sent (NOTIFY takes a
  database-wide lock at commit, so one per call would serialise every writer) and split to stay
  under the payload limit. Without ``reps`` (a batch whose changes are not known, an import)
  the receiver reads its whole floor;
  ``states`` lists the reps whose agent state moved (agent-state events);
- ``{"kind": "alerts", "alerts": [...]}`` for alerts raised by this process's alert engine.

A backend that loses its connection reconnects with backoff and then tells the hub, which sends
every screen a fresh snapshot: whatever was missed meanwhile is in it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson
from sqlalchemy.engine import make_url

from app.ingest.agent_events import EventOutcome
from app.ingest.service import BatchOutcome
from app.live.tasks import cancel_all
from app.services.live_floor import changed_reps

log = logging.getLogger("paceboard.bus")

OnMessage = Callable[[dict[str, Any]], None]
OnReconnect = Callable[[], None]

#: PostgreSQL refuses NOTIFY payloads of 8,000 bytes or more; alerts are sent in chunks below.
MAX_PAYLOAD = 7_000
BACKOFF_FIRST, BACKOFF_MAX = 0.25, 5.0


def channel_for(database_url: str) -> str:
    """The channel every process of one floor shares: named after its database (host, port,
    name; never the password), so two floors on one Redis never hear each other."""
    url = make_url(database_url)
    where = f"{url.get_backend_name()}://{url.host or ''}:{url.port or ''}/{url.database or ''}"
    return "paceboard_" + hashlib.sha256(where.encode()).hexdigest()[:16]


def chunks(alerts: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """``alerts`` split so that each message stays under :data:`MAX_PAYLOAD` bytes."""
    out: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    size = 0
    for alert in alerts:
        n = len(orjson.dumps(alert)) + 1
        if current and size + n > MAX_PAYLOAD - 64:
            out.append(current)
            current, size = [], 0
        current.append(alert)
        size += n
    if current:
        out.append(current)
    return out


@dataclass
class _Pending:
    """The changes of the batches committed since the last "changed" was sent."""

    reps: set[tuple[int, str]] = field(default_factory=set)
    sales: list[list] = field(default_factory=list)
    states: set[int] = field(default_factory=set)  # reps whose present state moved
    whole: bool = False

    def messages(self) -> list[dict[str, Any]]:
        """One or more "changed" messages saying it all, each under :data:`MAX_PAYLOAD`."""
        if self.whole:
            return [{"kind": "changed"}]
        items: list[tuple[str, Any]] = [("reps", list(r)) for r in sorted(self.reps)]
        items += [("sales", s) for s in self.sales]
        items += [("states", r) for r in sorted(self.states)]
        out: list[dict[str, Any]] = []
        current: dict[str, Any] = {"kind": "changed", "reps": [], "sales": [], "states": []}
        size = 0
        for key, item in items:
            n = len(orjson.dumps(item)) + 1
            if size and size + n > MAX_PAYLOAD - 128:
                out.append(current)
                current = {"kind": "changed", "reps": [], "sales": [], "states": []}
                size = 0
            current[key].append(item)
            size += n
        out.append(current)
        return out


def heard_changes(message: dict[str, Any]) -> tuple[set[tuple[int, date]] | None, list]:
    """A "changed" message as the hub takes it: (rep id, day) pairs (None: unknown, read the
    whole floor) and sales (rep id, day, amount, orders); a malformed one counts as unknown."""
    try:
        reps = {(int(r), date.fromisoformat(d)) for r, d in message["reps"]}
        sales = [(int(r), date.fromisoformat(d), int(a), int(n)) for r, d, a, n in message["sales"]]
    except (KeyError, TypeError, ValueError):
        return None, []
    return reps, sales


def heard_states(message: dict[str, Any]) -> set[int]:
    """The reps whose present state a "changed" message says moved (none from an older peer
    or a malformed message)."""
    try:
        return {int(r) for r in message.get("states", [])}
    except (TypeError, ValueError):
        return set()


class Bus:
    """The interface the app uses; subclasses supply ``_send`` and ``_listen``."""

    name = "bus"

    def __init__(self, channel: str, on_message: OnMessage, on_reconnect: OnReconnect) -> None:
        self.channel = channel
        self.on_message = on_message
        self.on_reconnect = on_reconnect
        # Our own messages come back to us; the local hub heard of the change directly.
        self.origin = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.connected = False
        self.sent = 0  # messages published (for tests and metrics)
        self.received = 0  # messages from other processes
        self.reconnects = 0
        self.lag_observer: Callable[[float], None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._outbox: asyncio.Queue[dict[str, Any]] | None = None
        # What waits to be said in the next "changed" (None: nothing waits).
        self._pending: _Pending | None = None
        self._delay = BACKOFF_FIRST
        self._tasks: list[asyncio.Task] = []

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._outbox = asyncio.Queue()
        self._tasks = [
            asyncio.create_task(self._listen_forever(), name=f"bus-{self.name}-listen"),
            asyncio.create_task(self._send_forever(), name=f"bus-{self.name}-send"),
        ]

    async def stop(self) -> None:
        await cancel_all(self._tasks)
        self._tasks = []
        await self._close()
        self.connected = False

    # --- publishing (safe from any thread) ---------------------------------------------------

    def changed(self, outcome: BatchOutcome | None = None) -> None:
        """A batch committed (a writer hook): tell the other processes what it changed."""
        if self._loop is None:
            return
        if outcome is None:
            self._loop.call_soon_threadsafe(self._queue_changed, None, [])
            return
        reps = [(rep_id, day.isoformat()) for rep_id, day in changed_reps(outcome)]
        sales = [[x.rep_id, x.day.isoformat(), x.amount, x.orders] for x in outcome.sales]
        if reps or sales:
            self._loop.call_soon_threadsafe(self._queue_changed, reps, sales)
        if outcome.states:
            self._loop.call_soon_threadsafe(self._queue_states, set(outcome.states))

    def states_changed(self, outcome: EventOutcome) -> None:
        """Agent-state events committed (a writer event hook): tell the other processes whose
        present state or time in state moved."""
        if self._loop is not None and outcome.reps:
            self._loop.call_soon_threadsafe(self._queue_states, set(outcome.reps))

    def _queue_states(self, reps: set[int]) -> None:
        if self._pending is None:
            self._pending = _Pending()
            self._queue({"kind": "changed"})
        self._pending.states |= reps

    def alerts(self, alerts: list[dict[str, Any]]) -> None:
        """New alerts were raised here (an alert-engine hook): the other processes show them."""
        if alerts and self._loop is not None:
            for part in chunks(alerts):
                self._loop.call_soon_threadsafe(self._queue, {"kind": "alerts", "alerts": part})

    def _queue_changed(self, reps: list[tuple[int, str]] | None, sales: list[list]) -> None:
        # Coalesce: while a "changed" waits to be sent, later batches join it.
        if self._pending is None:
            self._pending = _Pending()
            self._queue({"kind": "changed"})
        if reps is None:
            self._pending.whole = True
        else:
            self._pending.reps.update(reps)
        self._pending.sales += sales

    def _queue(self, message: dict[str, Any]) -> None:
        assert self._outbox is not None
        self._outbox.put_nowait(message)

    async def _send_forever(self) -> None:
        assert self._outbox is not None
        while True:
            message = await self._outbox.get()
            messages = [message]
            if message["kind"] == "changed":
                pending, self._pending = self._pending, None
                messages = pending.messages() if pending else []
            for one in messages:
                await self._publish(one)

    async def _publish(self, message: dict[str, Any]) -> None:
        # "at" lets the receiver measure the bus's lag (paceboard_bus_lag_seconds).
        stamp = {"origin": self.origin, "at": time.time()}
        payload = orjson.dumps({**message, **stamp}).decode()
        try:
            await self._send(payload)
            self.sent += 1
        except Exception as exc:  # the listener notices and reconnects; the tick catches up
            log.warning("bus %s: publish failed: %r", self.name, exc)
            await self._drop_sender()

    # --- listening ---------------------------------------------------------------------------

    async def _listen_forever(self) -> None:
        self._delay = BACKOFF_FIRST
        first = True
        while True:
            try:
                await self._listen(self._on_connected if first else self._on_reconnected)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                what = "connection lost" if self.connected else "cannot connect"
                log.warning("bus %s: %s (%r); retry in %.2f s", self.name, what, exc, self._delay)
            if self.connected:
                first = False  # the next successful connect is a reconnect
            self.connected = False
            await asyncio.sleep(self._delay)
            self._delay = min(self._delay * 2, BACKOFF_MAX)

    def _on_connected(self) -> None:
        self.connected = True
        self._delay = BACKOFF_FIRST

    def _on_reconnected(self) -> None:
        self._on_connected()
        self.reconnects += 1
        log.info("bus %s: reconnected; screens get a fresh snapshot", self.name)
        self.on_reconnect()

    def _receive(self, payload: str | bytes) -> None:
        try:
            message = orjson.loads(payload)
        except orjson.JSONDecodeError:
            log.warning("bus %s: ignored a message that is not JSON", self.name)
            return
        if not isinstance(message, dict) or message.get("origin") == self.origin:
            return
        self.received += 1
        at = message.get("at")
        if self.lag_observer is not None and isinstance(at, int | float):
            self.lag_observer(max(0.0, time.time() - at))
        try:
            self.on_message(message)
        except Exception:
            log.exception("bus %s: handling a message failed", self.name)

    # --- backend -----------------------------------------------------------------------------

    async def _send(self, payload: str) -> None:
        raise NotImplementedError

    async def _listen(self, connected: Callable[[], None]) -> None:
        """Connect, subscribe, call ``connected()``, then pass messages to ``_receive`` until
        the connection fails (raise) or the task is cancelled."""
        raise NotImplementedError

    async def _drop_sender(self) -> None:
        """Forget the publishing connection so the next publish opens a new one."""

    async def _close(self) -> None:
        """Close whatever connections are open."""


class MemoryBus(Bus):
    """Instances sharing a name in this interpreter hear each other (one process: nothing to
    do beyond that)."""

    name = "memory"
    _rooms: dict[str, set[MemoryBus]] = {}

    async def _send(self, payload: str) -> None:
        for other in list(self._rooms.get(self.channel, ())):
            if other is not self and other._loop is not None:
                other._loop.call_soon_threadsafe(other._receive, payload)

    async def _listen(self, connected: Callable[[], None]) -> None:
        self._rooms.setdefault(self.channel, set()).add(self)
        connected()
        try:
            await asyncio.Event().wait()
        finally:
            self._rooms.get(self.channel, set()).discard(self)


class PostgresBus(Bus):
    """LISTEN/NOTIFY on the floor's PostgreSQL database: nothing else to run."""

    name = "postgres"
    #: How long the listener waits for a notification before checking its connection is alive.
    idle_check = 20.0

    def __init__(self, url: str, *args: Any) -> None:
        super().__init__(*args)
        self.url = make_url(url).set(drivername="postgresql").render_as_string(False)
        self._sender: Any = None
        self._listener: Any = None
        self.listener_pid: int | None = None

    async def _connect(self) -> Any:
        import psycopg

        return await psycopg.AsyncConnection.connect(
            self.url, autocommit=True, application_name="paceboard-bus"
        )

    async def _send(self, payload: str) -> None:
        if self._sender is None or self._sender.closed:
            self._sender = await self._connect()
        await self._sender.execute("SELECT pg_notify(%s, %s)", (self.channel, payload))

    async def _listen(self, connected: Callable[[], None]) -> None:
        conn = self._listener = await self._connect()
        try:
            await conn.execute(f'LISTEN "{self.channel}"')
            self.listener_pid = conn.info.backend_pid
            connected()
            while True:
                async for note in conn.notifies(timeout=self.idle_check):
                    self._receive(note.payload)
                # Quiet for a while: make sure the connection still answers.
                await conn.execute("SELECT 1")
        finally:
            with contextlib.suppress(Exception):
                await conn.close()

    async def _drop_sender(self) -> None:
        if self._sender is not None:
            with contextlib.suppress(Exception):
                await self._sender.close()
        self._sender = None

    async def _close(self) -> None:
        await self._drop_sender()
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()


class RedisBus(Bus):
    """Redis pub/sub (``PACEBOARD_REDIS_URL``)."""

    name = "redis"
    idle_check = 20.0

    def __init__(self, url: str, *args: Any) -> None:
        super().__init__(*args)
        self.url = url
        self._client: Any = None

    def _redis(self) -> Any:
        if self._client is None:
            import redis.asyncio as redis

            # Named, so an operator (or a test) can tell this process's bus in CLIENT LIST.
            self._client = redis.from_url(
                self.url, socket_connect_timeout=5, client_name=f"paceboard-bus-{self.origin}"
            )
        return self._client

    async def _send(self, payload: str) -> None:
        await self._redis().publish(self.channel, payload)

    async def _listen(self, connected: Callable[[], None]) -> None:
        pubsub = self._redis().pubsub()
        try:
            await pubsub.subscribe(self.channel)
            connected()
            while True:
                message = await pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=self.idle_check
                )
                if message is None:
                    await pubsub.ping()
                elif message.get("type") == "message":
                    self._receive(message["data"])
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    async def _close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.aclose()
            self._client = None


def make_bus(
    *,
    kind: str,
    database_url: str,
    redis_url: str,
    on_message: OnMessage,
    on_reconnect: OnReconnect,
) -> Bus:
    """The bus the settings ask for: ``auto`` is Redis when a Redis URL is set, else
    LISTEN/NOTIFY on a PostgreSQL database, else in-process."""
    channel = channel_for(database_url)
    backend = make_url(database_url).get_backend_name()
    if kind == "auto":
        kind = "redis" if redis_url else "postgres" if backend == "postgresql" else "memory"
    if kind == "redis":
        if not redis_url:
            raise ValueError("bus: 'redis' needs PACEBOARD_REDIS_URL")
        return RedisBus(redis_url, channel, on_message, on_reconnect)
    if kind == "postgres":
        if backend != "postgresql":
            raise ValueError("bus: 'postgres' needs a PostgreSQL PACEBOARD_DATABASE_URL")
        return PostgresBus(database_url, channel, on_message, on_reconnect)
    if kind == "memory":
        return MemoryBus(channel, on_message, on_reconnect)
    raise ValueError(f"bus: unknown backend '{kind}'")
