"""``paceboard listen ami``: Asterisk's manager interface (AMI) as agent-state events.

The listener logs in to AMI with panoramisk, turns each event that says what an agent is doing
into an event of ``POST /api/v1/agent-events`` (:func:`state_changes`, pure) and posts them in
batches (:class:`Poster`). Both connections back off exponentially while they fail
(:class:`Backoff`). A channel that is not an agent's (a trunk, a customer's number) gives no
event: customer numbers never become reps.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import signal
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
from panoramisk import Manager
from panoramisk.ami_protocol import AMIProtocol

from app.floor.agent_state import PauseReason, State
from app.ingest.mask import holds_number, mask

log = logging.getLogger("paceboard.listen.ami")

#: The AMI event classes the listener needs (manager.conf: read=agent,call).
EVENT_CLASSES = "agent,call"
REASON_MAX = 40

Sleep = Callable[[float], Awaitable[None]]


# --- mapping (pure) --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Change:
    """What an AMI event says about one agent: from ``at`` on, ``rep`` is in ``state``."""

    rep: str
    state: State
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Rules:
    """What is an agent (a full match of ``agent`` on the reduced identifier) and the floor's
    pause reasons (a PausedReason naming one by code or label is sent as its code)."""

    agent: re.Pattern[str]
    reasons: Mapping[str, PauseReason]


_TECH = re.compile(r"^[A-Za-z][A-Za-z0-9_]*/")
_CHANNEL_ID = re.compile(r"-[0-9A-Fa-f]+$")


def extension(value: str) -> str:
    """The agent part of an interface, channel or agent id: ``PJSIP/1001-0000002a``,
    ``Local/1001@agents-00000001;1``, ``SIP/1001`` and ``1001`` all give ``1001``."""
    text = value.strip()
    tech = _TECH.match(text)
    if tech is None:
        return text
    rest = text[tech.end() :].split("/", 1)[0].split("@", 1)[0].split(";", 1)[0]
    # A channel's name ends with its unique id ("-0000002a"); an interface has none.
    return _CHANNEL_ID.sub("", rest)


def agent_of(rules: Rules, *values: str) -> str | None:
    """The first of ``values`` that reduces to an agent, else None. Whatever the pattern, an
    identifier holding a phone number (seven digits or more) is never an agent."""
    for value in values:
        if not value:
            continue
        ext = extension(value)
        if ext and rules.agent.fullmatch(ext) and not holds_number(ext):
            return ext
    return None


def agents_of(rules: Rules, *values: str) -> list[str]:
    """Every distinct agent among ``values`` (a call between two agents moves both)."""
    found = (agent_of(rules, v) for v in values)
    return list(dict.fromkeys(a for a in found if a is not None))


def pause_code(text: str, reasons: Mapping[str, PauseReason]) -> str:
    """A PausedReason as the floor's code when it names one (code, Chinese or English label,
    any case), else as given (cut to 40 characters)."""
    given = text.strip()
    folded = given.casefold()
    for r in reasons.values():
        if folded in (r.code.casefold(), r.zh.casefold(), r.en.casefold()):
            return r.code
    return given[:REASON_MAX]


def event_time(headers: Mapping[str, str], now: datetime) -> datetime:
    """The event's ``Timestamp`` (epoch seconds with a fraction, AMI's timestampevents=yes) as
    an aware UTC instant, else ``now``."""
    try:
        ts = Decimal(headers.get("timestamp", ""))
        whole = int(ts)
        micros = int((ts - whole) * 1_000_000)
        return datetime.fromtimestamp(whole, UTC).replace(microsecond=micros)
    except (InvalidOperation, ValueError, OverflowError, OSError):
        return now


def headers_of(message: Mapping[str, Any]) -> dict[str, str]:
    """An AMI message's headers by lower-case name, each a string (a repeated header: its
    last value; anything else dropped)."""
    out: dict[str, str] = {}
    for key, value in message.items():
        if isinstance(value, list):
            value = value[-1] if value else ""
        if isinstance(key, str) and isinstance(value, str):
            out[key.lower()] = value.strip()
    return out


# Device states as QueueMemberStatus reports them (Status: number or name).
_DEVICE_STATES: dict[str, State] = {
    "1": "available",  # NOT_INUSE
    "2": "on_call",  # INUSE
    "3": "on_call",  # BUSY
    "4": "logged_out",  # INVALID
    "5": "logged_out",  # UNAVAILABLE
    "6": "ringing",  # RINGING
    "7": "on_call",  # RINGINUSE: a second call rings while on one
    "8": "on_call",  # ONHOLD
}
_DEVICE_NAMES = {
    "NOT_INUSE": "1",
    "INUSE": "2",
    "BUSY": "3",
    "INVALID": "4",
    "UNAVAILABLE": "5",
    "RINGING": "6",
    "RINGINUSE": "7",
    "ONHOLD": "8",
}

Found = list[tuple[str, State, str]]  # (rep, state, reason)


def _member(h: Mapping[str, str], rules: Rules) -> str | None:
    """The queue member's agent: its interface, else its state interface or name."""
    return agent_of(
        rules, h.get("interface", ""), h.get("stateinterface", ""), h.get("membername", "")
    )


def _pause(rep: str, h: Mapping[str, str], rules: Rules) -> Found:
    reason = h.get("pausedreason") or h.get("reason", "")
    return [(rep, "paused", pause_code(reason, rules.reasons))]


def _queue_member_status(h: Mapping[str, str], rules: Rules) -> Found:
    rep = _member(h, rules)
    if rep is None:
        return []
    if h.get("paused") == "1":
        return _pause(rep, h, rules)
    status = h.get("status", "").upper()
    state = _DEVICE_STATES.get(_DEVICE_NAMES.get(status, status))
    return [(rep, state, "")] if state else []


def _queue_member_pause(h: Mapping[str, str], rules: Rules) -> Found:
    rep = _member(h, rules)
    if rep is None:
        return []
    paused = h.get("paused")
    if paused == "1":
        return _pause(rep, h, rules)
    return [(rep, "available", "")] if paused == "0" else []


def _agent_login(state: State) -> Callable[[Mapping[str, str], Rules], Found]:
    def found(h: Mapping[str, str], rules: Rules) -> Found:
        rep = agent_of(rules, h.get("agent", ""), h.get("channel", ""))
        return [(rep, state, "")] if rep else []

    return found


def _queue_call(state: State) -> Callable[[Mapping[str, str], Rules], Found]:
    def found(h: Mapping[str, str], rules: Rules) -> Found:
        # Channel is the caller's (the customer's) since Asterisk 12: the member is the agent.
        rep = agent_of(
            rules,
            h.get("interface", ""),
            h.get("membername", ""),
            h.get("member", ""),
            h.get("destchannel", ""),
        )
        return [(rep, state, "")] if rep else []

    return found


def _dial_begin(h: Mapping[str, str], rules: Rules) -> Found:
    reps = agents_of(rules, h.get("channel", ""), h.get("destchannel", ""))
    return [(rep, "ringing", "") for rep in reps]


def _dial_end(h: Mapping[str, str], rules: Rules) -> Found:
    if h.get("dialstatus", "").upper() != "ANSWER":
        return []  # a call not answered ends in a Hangup, which says it
    reps = agents_of(rules, h.get("channel", ""), h.get("destchannel", ""))
    return [(rep, "on_call", "") for rep in reps]


def _hangup(h: Mapping[str, str], rules: Rules) -> Found:
    rep = agent_of(rules, h.get("channel", ""))
    return [(rep, "available", "")] if rep else []


_HANDLERS: dict[str, Callable[[Mapping[str, str], Rules], Found]] = {
    "queuememberstatus": _queue_member_status,
    "queuememberpause": _queue_member_pause,
    "queuememberpaused": _queue_member_pause,  # Asterisk 1.8's name
    "agentlogin": _agent_login("available"),
    "agentlogoff": _agent_login("logged_out"),  # also Asterisk 1.8's "Agentlogoff"
    "agentconnect": _queue_call("on_call"),
    "agentcomplete": _queue_call("wrap_up"),
    "dialbegin": _dial_begin,
    "dialend": _dial_end,
    "hangup": _hangup,
}

#: The AMI events the listener maps (README, "Asterisk AMI").
MAPPED_EVENTS = tuple(_HANDLERS)


def state_changes(message: Mapping[str, Any], rules: Rules, now: datetime) -> list[Change]:
    """What one AMI event says about agents: none for an event not mapped or one that names no
    agent; ``now`` stands in for a missing ``Timestamp``."""
    h = headers_of(message)
    handler = _HANDLERS.get(h.get("event", "").lower())
    if handler is None:
        return []
    at = event_time(h, now)
    return [Change(rep, state, reason, at) for rep, state, reason in handler(h, rules)]


def event_id(change: Change) -> str:
    """The event's id: its instant in microseconds, then the rep and state. Events of one
    second take effect in id order (after the instant, the server orders by source and id),
    so the microseconds keep AMI's order; a resend is a duplicate."""
    micros = int(change.at.timestamp()) * 1_000_000 + change.at.microsecond
    return f"{micros:017d}-{change.rep}-{change.state}"


def payload(change: Change, source: str) -> dict[str, str]:
    """The change as a record of ``POST /api/v1/agent-events``."""
    body = {
        "source": source,
        "event_id": event_id(change),
        "rep": change.rep,
        "state": change.state,
        "at": change.at.isoformat(),
    }
    if change.state == "paused" and change.reason:
        body["reason"] = change.reason
    return body


# --- backoff ---------------------------------------------------------------------------------


class Backoff:
    """Delays that double from ``first`` up to ``cap``; :meth:`reset` starts over."""

    def __init__(self, first: float = 1.0, cap: float = 30.0) -> None:
        self.first, self.cap = first, cap
        self._next = first

    def next(self) -> float:
        delay = self._next
        self._next = min(self.cap, delay * 2)
        return delay

    def reset(self) -> None:
        self._next = self.first


# --- posting to the server -------------------------------------------------------------------


class Poster:
    """Posts records to ``{url}/api/v1/agent-events`` in batches (every ``interval`` seconds,
    or at once when ``batch`` are waiting). While the server is unreachable or answers 5xx the
    records are kept (at most ``capacity``, the oldest dropped first) and retried with backoff;
    a record the server rejects is logged and dropped."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        batch: int = 200,
        interval: float = 0.2,
        capacity: int = 100_000,
        backoff: Backoff | None = None,
        sleep: Sleep = asyncio.sleep,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.endpoint = url.rstrip("/") + "/api/v1/agent-events"
        self.batch, self.interval, self.capacity = batch, interval, capacity
        self.backoff = backoff or Backoff()
        self.sleep = sleep
        self.buffer: deque[dict[str, str]] = deque()
        self.dropped = 0
        self._ready = asyncio.Event()
        self._client = httpx.AsyncClient(
            headers={"Authorization": f"Bearer {token}"}, timeout=timeout, transport=transport
        )

    def put(self, record: dict[str, str]) -> None:
        """Queue a record; when the buffer is full the oldest one goes."""
        self._keep([record], at_end=True)
        self._ready.set()

    def _keep(self, records: list[dict[str, str]], *, at_end: bool) -> None:
        """Add ``records`` (new ones at the end, a failed batch back at the front), dropping the
        oldest past ``capacity`` with a warning."""
        if at_end:
            self.buffer.extend(records)
        else:
            self.buffer.extendleft(reversed(records))
        over = len(self.buffer) - self.capacity
        if over <= 0:
            return
        for _ in range(over):
            self.buffer.popleft()
        if self.dropped == 0 or (self.dropped + over) // 1000 > self.dropped // 1000:
            log.warning(
                "the server is not taking events and %d are waiting: the oldest are dropped "
                "(%d so far)",
                self.capacity,
                self.dropped + over,
            )
        self.dropped += over

    async def run(self) -> None:
        """Post whatever is queued, for ever."""
        while True:
            await self._ready.wait()
            if len(self.buffer) < self.batch:
                await asyncio.sleep(self.interval)  # let a batch gather
            while self.buffer:
                if await self.send_batch():
                    self.backoff.reset()
                else:
                    await self.sleep(self.backoff.next())
            self._ready.clear()

    async def send_batch(self) -> bool:
        """Post the oldest ``batch`` records: True when the server took them (each stored,
        duplicate or rejected for good), False when they are back in the queue for a retry."""
        records = [self.buffer.popleft() for _ in range(min(self.batch, len(self.buffer)))]
        done = False
        try:
            done = await self._post(records)
        finally:
            if not done:
                self._keep(records, at_end=False)  # also when cancelled mid-request
        return done

    async def _post(self, records: list[dict[str, str]]) -> bool:
        try:
            resp = await self._client.post(self.endpoint, json=records)
        except httpx.HTTPError as exc:
            log.warning(
                "cannot post %d events to %s (%s); retrying",
                len(records),
                self.endpoint,
                type(exc).__name__,
            )
            return False
        if resp.status_code >= 500 or resp.status_code in (401, 403, 408, 429):
            # The server's trouble, or a token that may yet be accepted (a restart with it).
            log.warning(
                "the server answered %d to %d events; retrying", resp.status_code, len(records)
            )
            return False
        if resp.status_code >= 400:
            log.error(
                "the server refused a batch of %d events (%d: %s); dropped",
                len(records),
                resp.status_code,
                mask(resp.text[:300]),
            )
            return True
        self._log_rejects(resp, records)
        return True

    def _log_rejects(self, resp: httpx.Response, records: list[dict[str, str]]) -> None:
        """Log each record the server rejected: whose, which state, when and why (never a
        phone number)."""
        try:
            results = resp.json().get("results", [])
        except (ValueError, AttributeError):
            log.warning("the server's answer to %d events was not JSON", len(records))
            return
        for result in results if isinstance(results, list) else []:
            if not isinstance(result, dict) or result.get("status") != "rejected":
                continue
            index = result.get("index")
            sent = records[index] if isinstance(index, int) and 0 <= index < len(records) else {}
            why = "; ".join(
                f"{e.get('field')}: {e.get('reason')}"
                for e in result.get("errors", [])
                if isinstance(e, dict)
            )
            # The rep is an extension (agent_of never passes a number); the reason is masked.
            log.warning(
                "the server rejected the %s event of %s at %s: %s; dropped",
                sent.get("state", "?"),
                sent.get("rep", "?"),
                sent.get("at", "?"),
                mask(why),
            )

    async def drain(self, timeout: float) -> None:
        """Post what is left, for at most ``timeout`` seconds (when stopping)."""
        try:
            async with asyncio.timeout(timeout):
                while self.buffer and await self.send_batch():
                    pass
        except TimeoutError:
            pass
        if self.buffer:
            log.warning("%d events were not posted before stopping", len(self.buffer))

    async def aclose(self) -> None:
        await self._client.aclose()


# --- the AMI connection ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AmiAddress:
    """Where AMI is and whom to log in as (the secret is never logged or shown)."""

    host: str
    port: int
    username: str
    secret: str

    def __repr__(self) -> str:
        return f"AmiAddress({self.host}:{self.port}, username={self.username!r})"


class _Redacted(logging.LoggerAdapter):
    """The logger handed to panoramisk, cutting the AMI secret and phone numbers out of its
    lines: it logs an action it fails to send (the Login holds the secret) and, at debug level,
    every message it reads (caller ids)."""

    def __init__(self, logger: logging.Logger, secret: str) -> None:
        super().__init__(logger, {})
        self.secret = secret

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if not self.isEnabledFor(level):
            return
        text = str(msg) % args if args else str(msg)
        if self.secret:
            text = text.replace(self.secret, "***")
        self.logger.log(level, mask(text), **kwargs)


class _Protocol(AMIProtocol):
    """panoramisk's protocol, skipping a message it cannot handle (a repeated Event header…)
    rather than letting the error close the connection."""

    def handle_message(self, message: Any) -> None:
        try:
            super().handle_message(message)
        except Exception:
            log.warning("skipped a malformed AMI message")


class _Manager(Manager):
    """panoramisk's Manager for one connection: its fixed-interval reconnect is off (the
    listener reconnects with backoff), and the login's outcome and the connection's end are
    futures to await."""

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self.logged_in: asyncio.Future[bool] = self.loop.create_future()
        self.lost: asyncio.Future[None] = self.loop.create_future()

    def connection_made(self, f: asyncio.Future[Any]) -> None:
        if f.cancelled() or f.exception() is not None:
            return  # the listener sees the failure by awaiting the connection
        super().connection_made(f)

    def login(self, future: asyncio.Future[Any]) -> bool:
        ok = bool(super().login(future))
        if not self.logged_in.done():
            self.logged_in.set_result(ok)
        return ok

    def connection_lost(self, exc: Any) -> None:
        self._connected = False
        pinger: asyncio.TimerHandle | None = getattr(self, "pinger", None)
        if pinger is not None:
            pinger.cancel()
        self.pinger = None
        if not self.logged_in.done():
            self.logged_in.set_result(False)
        if not self.lost.done():
            self.lost.set_result(None)


class AmiListener:
    """Logs in to AMI, hands each agent's change to ``emit``, and reconnects with backoff
    (reset by a successful login) after a refused connection, a failed login or a drop."""

    def __init__(
        self,
        address: AmiAddress,
        rules: Rules,
        emit: Callable[[Change], None],
        *,
        backoff: Backoff | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        login_timeout: float = 10.0,
        keepalive: float = 20.0,
    ) -> None:
        self.address, self.rules, self.emit = address, rules, emit
        self.backoff = backoff or Backoff()
        self.sleep, self.clock = sleep, clock
        self.login_timeout, self.keepalive = login_timeout, keepalive
        self.logins = 0
        self._panoramisk_log = _Redacted(
            logging.getLogger("paceboard.listen.ami.panoramisk"), address.secret
        )

    async def run(self) -> None:
        """Listen until cancelled."""
        where = f"{self.address.host}:{self.address.port}"
        while True:
            if await self.session():
                self.backoff.reset()
            delay = self.backoff.next()
            log.info("reconnecting to AMI at %s in %.1f s", where, delay)
            await self.sleep(delay)

    async def session(self) -> bool:
        """One connection, until it ends: whether the login succeeded."""
        a = self.address
        manager = _Manager(
            host=a.host,
            port=a.port,
            username=a.username,
            secret=a.secret,
            events=EVENT_CLASSES,
            loop=asyncio.get_running_loop(),
            log=self._panoramisk_log,
            protocol_factory=_Protocol,
            # panoramisk's pinger only sends; the keepalive below also notices no answer.
            ping_delay=10**9,
            ping_interval=10**9,
        )
        manager.register_event("*", self.on_event)
        try:
            try:
                # TimeoutError is an OSError: a host that never answers counts as refusing.
                await asyncio.wait_for(manager.connect(), self.login_timeout)
            except OSError as exc:
                why = exc.strerror or type(exc).__name__
                log.warning("cannot reach AMI at %s:%s (%s)", a.host, a.port, why)
                return False
            try:
                ok = await asyncio.wait_for(asyncio.shield(manager.logged_in), self.login_timeout)
            except TimeoutError:
                ok = False
            if not ok:
                log.warning(
                    "AMI at %s:%s did not accept the login of %r (check manager.conf)",
                    a.host,
                    a.port,
                    a.username,
                )
                return False
            self.logins += 1
            log.info("logged in to AMI at %s:%s as %r", a.host, a.port, a.username)
            await self._until_lost(manager)
            return True
        finally:
            manager.close()

    async def _until_lost(self, manager: _Manager) -> None:
        """Wait for the connection to end; a Ping left unanswered ends it (a peer gone without
        closing the connection would otherwise hold the listener for ever)."""
        while True:
            done, _ = await asyncio.wait({manager.lost}, timeout=self.keepalive)
            if done:
                break
            pong = manager.send_action({"Action": "Ping"})
            done, _ = await asyncio.wait({manager.lost, pong}, timeout=self.keepalive)
            if manager.lost in done:
                break
            if pong not in done:
                log.warning("AMI did not answer a Ping in %.0f s; reconnecting", self.keepalive)
                return
        log.warning("the AMI connection was lost")

    def on_event(self, manager: Any, message: Mapping[str, Any]) -> None:
        """panoramisk's callback for every event: emit its changes; never raises."""
        try:
            changes = state_changes(message, self.rules, self.clock())
        except Exception:
            name = message.get("Event") if isinstance(message, Mapping) else None
            log.warning("skipped a malformed AMI event %s", mask(str(name)[:40]))
            return
        for change in changes:
            self.emit(change)


# --- the process -----------------------------------------------------------------------------


async def listen(
    address: AmiAddress,
    rules: Rules,
    *,
    url: str,
    token: str,
    source: str,
    delays: tuple[float, float] = (1.0, 30.0),
    drain_seconds: float = 5.0,
) -> None:
    """The listener's process: AMI in, the server out, until cancelled (then what is queued
    gets ``drain_seconds`` to reach the server). ``delays``: the first and the longest wait
    before reconnecting, to AMI and to the server alike."""
    with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread
        # SIGTERM (systemd, docker stop) stops it as Ctrl-C does: the queue is posted first.
        task = asyncio.current_task()
        if task is not None:
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    poster = Poster(url, token, backoff=Backoff(*delays))
    listener = AmiListener(
        address, rules, lambda c: poster.put(payload(c, source)), backoff=Backoff(*delays)
    )
    sending = asyncio.create_task(poster.run())
    try:
        await listener.run()
    finally:
        sending.cancel()
        await asyncio.gather(sending, return_exceptions=True)
        await poster.drain(drain_seconds)
        await poster.aclose()


def rules_for(pattern: str, reasons: Mapping[str, PauseReason]) -> Rules:
    """Rules from --agent-pattern (re.error when it is no regular expression)."""
    return Rules(re.compile(pattern), reasons)
