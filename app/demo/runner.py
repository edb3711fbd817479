"""``paceboard demo``: the real server plus a simulated floor that calls it over HTTP.

Set-up (database, roster, tokens) goes through the services directly, like the admin
commands do; after that the simulator is just another telephony system and CRM: it only
ever talks to the server through ``POST /api/v1/calls`` and ``PATCH /api/v1/calls/...``.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import random
import signal
import socket
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import uvicorn
from sqlalchemy.engine import make_url

from app.config import Settings, format_windows
from app.db import make_engine, session_scope
from app.demo.floor import (
    TEAMS,
    Call,
    RepDay,
    RepProfile,
    backfill_floor,
    build_floor,
    choose_floor_clock,
    floor_day,
    live_floor,
    roster_rows,
)
from app.ingest.service import context_for
from app.main import create_app
from app.migrate import upgrade
from app.models import stored_id
from app.services.roster import import_roster
from app.services.tokens import create_token, list_tokens, revoke_token
from app.serving import tune_interpreter, uvicorn_options

SOURCE = "demo"  # the ingest token's source: where the simulated calls say they come from
TOKEN_PREFIX = "demo-"
BATCH = 1000  # records per POST in the backfill
HISTORY_WEEKS = 1  # whole weeks of earlier days posted for the reports, besides this week's
TICK = 1.0  # seconds between live batches
REPORT_EVERY = 30.0  # seconds between progress lines
WRAP_UP_SHARE = 0.5  # sales whose outcome arrives later from the CRM
WRAP_UP_DELAY = (3.0, 8.0)  # seconds between the call's CDR and its wrap-up
RETRIES = 4


def say(line: str = "") -> None:
    """Print a line now (stdout may be a pipe: a test reads the tokens from it)."""
    print(line, flush=True)


def warn(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# --- set-up ----------------------------------------------------------------------------------


def use_demo_database(settings: Settings) -> None:
    """Point the settings at ``<data_dir>/demo.db`` unless a database URL was given."""
    if not settings.database_url:
        path = (settings.data_dir / "demo.db").as_posix()
        settings.database_url = f"sqlite:///{path}"


def bind_listener(host: str, port: int) -> socket.socket:
    """A listening socket on (host, port), bound before anything else so a clash fails fast."""
    family, kind, proto, _, addr = socket.getaddrinfo(
        host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(addr)
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def bind_error(exc: OSError, host: str, port: int) -> str:
    """The message for a socket that could not be bound, naming the setting to change."""
    if exc.errno == errno.EADDRINUSE:
        return (
            f"error: port {port} on {host} is already in use (another Paceboard?); "
            "pick a free one with --port or PACEBOARD_PORT"
        )
    return (
        f"error: cannot listen on {host}:{port}: {exc.strerror or exc}; "
        "check --host / PACEBOARD_HOST and --port / PACEBOARD_PORT"
    )


@dataclass(frozen=True)
class DemoTokens:
    ingest: str
    read: str
    admin: str


def prepare_database(settings: Settings, floor: Sequence[RepProfile], today: date) -> DemoTokens:
    """Migrate, put the floor on the roster (idempotent) and issue this run's tokens."""
    engine = make_engine(settings.resolved_database_url)
    try:
        upgrade(engine)
        with session_scope(engine) as session:
            import_roster(session, roster_rows(floor, today), ingest=context_for(settings))
            # Each run prints fresh secrets; the last run's would otherwise stay valid forever.
            for token in list_tokens(session):
                if token.name.startswith(TOKEN_PREFIX) and token.revoked_at is None:
                    revoke_token(session, token_id=stored_id(token))
            ingest = create_token(session, name="demo-simulator", scope="ingest", source=SOURCE)
            read = create_token(session, name="demo-read", scope="read")
            admin = create_token(session, name="demo-admin", scope="admin")
        return DemoTokens(ingest=ingest[1], read=read[1], admin=admin[1])
    finally:
        engine.dispose()


def client_host(host: str) -> str:
    """Where a local client reaches a server bound to ``host`` (the wildcard means loopback)."""
    if host in ("", "0.0.0.0", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


# --- the simulator ---------------------------------------------------------------------------


@dataclass
class Stats:
    """What the simulator has sent so far."""

    posted: int = 0
    wrap_ups: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, body: dict[str, Any]) -> None:
        for key in ("created", "updated", "duplicate", "stale", "rejected"):
            self.counts[key] = self.counts.get(key, 0) + int(body.get(key, 0))


class Simulator:
    """Posts the floor's calls to the server: today's so far, then live ones every second."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        settings: Settings,
        floor: Sequence[RepProfile],
        *,
        seed: int,
        speed: float,
        read_token: str,
    ) -> None:
        self.client = client
        self.settings = settings
        self.floor = floor
        self.seed = seed
        self.speed = speed
        self.read_token = read_token
        self.stats = Stats()
        self.rep_days: list[RepDay] = []
        self.day: date | None = None
        self._wrap_ups: list[tuple[float, Call]] = []
        # Set to stop between requests: cancelling one mid-upload leaves the server a half body.
        self.stopping = asyncio.Event()
        # The CRM's own dice: which sales are booked after the call, and how long that takes.
        self._crm = random.Random(f"paceboard-demo/{seed}/crm")

    @property
    def pending_wrap_ups(self) -> list[Call]:
        """Sales posted as a plain call whose outcome has not been sent yet."""
        return [c for _, c in self._wrap_ups]

    def _start_day(self, day: date) -> None:
        self.day = day
        self.rep_days = floor_day(
            self.floor, day, self.settings.tz, self.settings.calling_windows, self.seed
        )

    def today(self, now: datetime) -> date:
        return now.astimezone(self.settings.tz).date()

    # -- HTTP ---------------------------------------------------------------------------------

    async def _send(self, method: str, url: str, body: Any) -> httpx.Response:
        """Send with retries on connection errors and 503 (the server said: nothing stored)."""
        for attempt in range(RETRIES):
            try:
                resp = await self.client.request(method, url, json=body)
            except httpx.TransportError:
                if attempt == RETRIES - 1:
                    raise
            else:
                if resp.status_code != 503 or attempt == RETRIES - 1:
                    resp.raise_for_status()
                    return resp
            await asyncio.sleep(0.5 * 2**attempt)
        raise AssertionError("unreachable")

    async def post(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """POST one batch; rejected records are reported, not retried (they would fail again)."""
        body = (await self._send("POST", "/api/v1/calls", records)).json()
        self.stats.posted += len(records)
        self.stats.add(body)
        if body.get("rejected"):
            first = next(r for r in body["results"] if r["status"] == "rejected")
            warn(f"demo: {body['rejected']} record(s) rejected, e.g. {first}")
        return body

    async def floor_totals(self) -> dict[str, int]:
        """The simulated day's floor totals, read like any wallboard would."""
        resp = await self.client.get(
            "/api/v1/floor/snapshot",
            params={"day": self.day.isoformat()} if self.day else None,
            headers={"Authorization": f"Bearer {self.read_token}"},
        )
        resp.raise_for_status()
        return resp.json()["floor"]["totals"]

    # -- phases -------------------------------------------------------------------------------

    async def backfill(self, now: datetime) -> tuple[int, dict[str, int]]:
        """Post today's calls up to ``now`` in batches; returns (records, result counts)."""
        self._start_day(self.today(now))
        records = [c.record() for c in backfill_floor(self.rep_days, now)]
        before = dict(self.stats.counts)
        for i in range(0, len(records), BATCH):
            if self.stopping.is_set():
                break
            await self.post(records[i : i + BATCH])
        counts = {k: v - before.get(k, 0) for k, v in self.stats.counts.items()}
        return len(records), counts

    async def history(self, now: datetime, weeks: int = HISTORY_WEEKS) -> tuple[int, list[date]]:
        """Post whole earlier working days, back to the Monday ``weeks`` weeks before today's
        week, so the weekly and monthly reports have days to show; returns (records, days)."""
        today = self.today(now)
        monday = today - timedelta(days=today.isoweekday() - 1 + 7 * weeks)
        tz, windows = self.settings.tz, self.settings.calling_windows
        days = [
            d
            for d in (monday + timedelta(days=n) for n in range((today - monday).days))
            if d.isoweekday() in self.settings.working_days
        ]
        posted = 0
        for day in days:
            end_of_day = datetime.combine(day + timedelta(days=1), datetime.min.time(), tz)
            # A rep hired after that day made no calls on it.
            reps = [p for p in self.floor if p.hired_on(today) <= day]
            records = [
                c.record()
                for c in backfill_floor(floor_day(reps, day, tz, windows, self.seed), end_of_day)
            ]
            for i in range(0, len(records), BATCH):
                if self.stopping.is_set():
                    return posted, days
                await self.post(records[i : i + BATCH])
                posted += len(records[i : i + BATCH])
        return posted, days

    async def tick(self, since: datetime, now: datetime) -> list[Call]:
        """One live second: post the calls that hung up in (since, now] and the wrap-ups due;
        returns the calls."""
        if self.today(now) != self.day:
            # Past midnight the sequence numbers start again under the new day's ids.
            self._start_day(self.today(now))
        calls = live_floor(self.rep_days, since, now, self.speed)
        records = []
        for call in calls:
            if call.outcome == "sale" and self._crm.random() < WRAP_UP_SHARE:
                # The PBX reports the call at hang-up; the rep books the sale in the CRM after.
                records.append(call.cdr())
                due = time.monotonic() + self._crm.uniform(*WRAP_UP_DELAY)
                self._wrap_ups.append((due, call))
            else:
                records.append(call.record())
        if records:
            await self.post(records)
        await self.send_wrap_ups(due_by=time.monotonic())
        return calls

    async def send_wrap_ups(self, due_by: float) -> None:
        """PATCH the outcome of every sale whose wrap-up is due by ``due_by``."""
        due = [c for t, c in self._wrap_ups if t <= due_by]
        if not due:
            return
        self._wrap_ups = [(t, c) for t, c in self._wrap_ups if t > due_by]
        await asyncio.gather(
            *(self._send("PATCH", f"/api/v1/calls/{SOURCE}/{c.call_id}", c.wrap_up()) for c in due)
        )
        self.stats.wrap_ups += len(due)

    async def _pause(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; False when asked to stop meanwhile."""
        try:
            await asyncio.wait_for(self.stopping.wait(), timeout=max(0.0, seconds))
        except TimeoutError:
            return True
        return False

    async def live(self) -> None:
        """Post live calls every second until ``stopping``, with a progress line now and then."""
        last = datetime.now(UTC)
        next_tick = time.monotonic() + TICK
        next_report = time.monotonic() + REPORT_EVERY
        posted_at_report = self.stats.posted
        while await self._pause(next_tick - time.monotonic()):
            next_tick += TICK
            now = datetime.now(UTC)
            await self.tick(last, now)
            last = now
            if time.monotonic() >= next_report:
                next_report += REPORT_EVERY
                await self.report(self.stats.posted - posted_at_report)
                posted_at_report = self.stats.posted

    async def report(self, recent: int) -> None:
        """One compact progress line: what was sent, and what the floor shows."""
        try:
            totals = await self.floor_totals()
        except httpx.HTTPError as exc:
            warn(f"demo: could not read the floor snapshot: {exc!r}")
            return
        local = datetime.now(UTC).astimezone(self.settings.tz)
        say(
            f"[{local:%H:%M:%S}] +{recent} calls in the last {REPORT_EVERY:.0f} s "
            f"({self.stats.posted:,} posted, {self.stats.wrap_ups} wrap-ups) · floor today: "
            f"{totals['dials']:,} dials, {totals['connects']:,} connects, "
            f"{totals['talk_seconds'] // 3600} h talk, {totals['orders']} orders, "
            f"¥{totals['revenue'] // 100:,}"
        )


# --- running it ------------------------------------------------------------------------------


class DemoServer(uvicorn.Server):
    """uvicorn's server minus its signal handling: the demo stops server and simulator together."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def banner(url: str, tokens: DemoTokens) -> list[str]:
    """The lines that tell the user where the floor is and which tokens open it."""
    snapshot = f"{url}/api/v1/floor/snapshot"
    return [
        f"Paceboard demo floor is live: {url}",
        f"  wallboard (TV):   {url}/wallboard?token={tokens.read}",
        f"  lead console:     {url}/lead?token={tokens.admin}",
        f"  snapshot: curl -H 'Authorization: Bearer {tokens.read}' {snapshot}",
        f"  read token:  {tokens.read}",
        f"  admin token: {tokens.admin}",
        "Ctrl-C stops the demo.",
    ]


async def _wait_started(server: uvicorn.Server, serving: asyncio.Task) -> bool:
    """Wait until the server accepts connections; False if it gave up starting."""
    while not server.started:
        if serving.done():
            return False
        await asyncio.sleep(0.02)
    return True


async def _stop_after(live: asyncio.Event, duration: float | None, stop: asyncio.Event) -> None:
    """Set ``stop`` ``duration`` seconds after the floor went live (never, without a duration)."""
    await live.wait()
    if duration is not None:
        await asyncio.sleep(duration)
        stop.set()


async def _simulate(sim: Simulator, url: str, tokens: DemoTokens, went_live: asyncio.Event) -> None:
    """Backfill today, print where to look, then run the live floor until ``sim.stopping``."""
    now = datetime.now(UTC)
    started = time.monotonic()
    records, counts = await sim.backfill(now)
    first = sim.settings.calling_windows[0][0]
    local = now.astimezone(sim.settings.tz)
    say(
        f"Backfilled {records:,} calls of {local:%Y-%m-%d} from {first:%H:%M} to {local:%H:%M} "
        f"in {time.monotonic() - started:.1f} s ({counts.get('created', 0):,} new, "
        f"{counts.get('duplicate', 0):,} already stored, {counts.get('updated', 0):,} updated)"
    )
    if sim.stopping.is_set():
        return
    for line in banner(url, tokens):
        say(line)
    went_live.set()
    history = asyncio.create_task(_history(sim, now))
    try:
        await sim.live()
    finally:
        history.cancel()


async def _history(sim: Simulator, now: datetime) -> None:
    """Earlier days for the reports, posted while the board is already live."""
    started = time.monotonic()
    try:
        records, days = await sim.history(now)
    except httpx.HTTPError as exc:
        warn(f"demo: could not post the earlier days: {exc!r}")
        return
    if days and records:
        say(
            f"History for the weekly and monthly reports: {records:,} calls of {len(days)} "
            f"working days ({days[0]:%m-%d} to {days[-1]:%m-%d}) in "
            f"{time.monotonic() - started:.1f} s"
        )


#: The signals that stop the demo.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _demo_server(settings: Settings) -> DemoServer:
    """The app's server, configured as ``paceboard serve`` configures it, quiet but warnings."""
    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="warning",
        **uvicorn_options(settings),  # as `paceboard serve`
    )
    return DemoServer(config)


def _handle_signals(
    loop: asyncio.AbstractEventLoop, server: uvicorn.Server, stop: asyncio.Event
) -> None:
    """A signal sets ``stop``; a second one also stops the server waiting for open connections."""

    def on_signal() -> None:
        if stop.is_set():
            server.force_exit = True  # a second Ctrl-C: stop waiting for open connections
        stop.set()

    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, on_signal)


def _failure(simulating: asyncio.Task, serving: asyncio.Task) -> int:
    """1, the reason said, when the simulator failed or the server stopped on its own; else 0."""
    if simulating.done() and not simulating.cancelled() and simulating.exception():
        exc = simulating.exception()
        warn(f"error: the simulator stopped: {type(exc).__name__}: {exc}")
        return 1
    if serving.done():
        warn("error: the server stopped unexpectedly")
        return 1
    return 0


async def _run_floor(
    sim: Simulator,
    url: str,
    tokens: DemoTokens,
    serving: asyncio.Task,
    stop: asyncio.Event,
    duration: float | None,
) -> int:
    """Run the simulator beside the server until ``duration``, ``stop`` or a failure, then wind
    it down; the exit code so far."""
    went_live = asyncio.Event()
    simulating = asyncio.create_task(_simulate(sim, url, tokens, went_live))
    timer = asyncio.create_task(_stop_after(went_live, duration, stop))
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({simulating, serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
    code = _failure(simulating, serving)
    sim.stopping.set()
    # Let the simulator finish the request in flight; cancel it only if it hangs.
    await asyncio.wait({simulating}, timeout=10)
    for task in (simulating, timer, stopping):
        task.cancel()
    await asyncio.gather(simulating, timer, stopping, return_exceptions=True)
    if code == 0 and not serving.done():
        # A sale whose call is already stored should not lose its outcome to the shutdown.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(sim.send_wrap_ups(due_by=float("inf")), 5)
    return code


async def _shut_down(server: uvicorn.Server, serving: asyncio.Task) -> int:
    """Stop the server and wait for it; 1 if it failed to stop cleanly, else 0."""
    server.should_exit = True
    try:
        await serving
    except (Exception, SystemExit) as exc:
        warn(f"error: server shutdown: {exc!r}")
        return 1
    return 0


async def serve_demo(
    settings: Settings,
    sock: socket.socket,
    floor: Sequence[RepProfile],
    tokens: DemoTokens,
    *,
    speed: float,
    seed: int,
    duration: float | None,
) -> int:
    """Run server and simulator until ``duration``, a signal, or a failure; the exit code."""
    tune_interpreter()
    server = _demo_server(settings)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    _handle_signals(loop, server, stop)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    if not await _wait_started(server, serving):
        warn("error: the server did not start (see the messages above)")
        with contextlib.suppress(BaseException):
            await serving
        return 1

    url = f"http://{client_host(settings.host)}:{settings.port}"
    async with httpx.AsyncClient(
        base_url=url,
        headers={"Authorization": f"Bearer {tokens.ingest}"},
        timeout=httpx.Timeout(60.0, connect=5.0),
    ) as client:
        sim = Simulator(client, settings, floor, seed=seed, speed=speed, read_token=tokens.read)
        code = await _run_floor(sim, url, tokens, serving, stop, duration)
    shutdown = await _shut_down(server, serving)
    code = code or shutdown
    for sig in STOP_SIGNALS:
        loop.remove_signal_handler(sig)
    s = sim.stats
    say(
        f"Demo floor stopped: {s.posted:,} calls posted "
        f"({s.counts.get('created', 0):,} new), {s.wrap_ups} wrap-ups."
    )
    return code


def run_demo(settings: Settings, *, speed: float, seed: int, duration: float | None) -> int:
    """Run the demo floor (server + simulator) in this process; returns the exit code."""
    if speed <= 0:
        warn("error: --speed must be greater than 0")
        return 2
    if duration is not None and duration <= 0:
        warn("error: --duration must be greater than 0 seconds")
        return 2
    try:
        sock = bind_listener(settings.host, settings.port)
    except OSError as exc:
        warn(bind_error(exc, settings.host, settings.port))
        return 1
    # Until serve_demo takes over, SIGTERM interrupts the set-up like Ctrl-C does, so a
    # migration in progress is rolled back rather than cut off by the default handler.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        use_demo_database(settings)
        now = datetime.now(UTC)
        clock = choose_floor_clock(
            now, settings.timezone, settings.calling_windows, settings.working_days
        )
        # The app derives local days, hours and working days from the settings: set them before
        # create_app (the demo's teams have no schedule of their own, so they follow the floor).
        settings.timezone = clock.zone
        settings.working_days = clock.working_days
        floor = build_floor(seed)
        say(clock.describe())
        tokens = prepare_database(settings, floor, clock.local.date())
        say(
            f"Demo database: {_safe_url(settings)} · {len(TEAMS)} teams x "
            f"{len(floor) // len(TEAMS)} reps ({', '.join(TEAMS)}) · calling "
            f"{format_windows(settings.calling_windows)} · speed {speed:g}x · seed {seed}"
        )
        return asyncio.run(
            serve_demo(settings, sock, floor, tokens, speed=speed, seed=seed, duration=duration)
        )
    except KeyboardInterrupt:
        # Stopped before the server ran (while migrating, say); afterwards serve_demo handles it.
        warn("interrupted before the demo floor went live")
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
        sock.close()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _safe_url(settings: Settings) -> str:
    return make_url(settings.resolved_database_url).render_as_string(hide_password=True)
