"""The live hub: one process-wide view of the floor, brought up to date per change, fanned out.

After a batch commits (here or, over the bus, in another process) the hub re-reads only the
changed reps' cells into its in-memory floor (app/services/live_floor.py), and sends each group
of sockets with the same team filter and patch depth one delta of the rows that changed, built
once for the group. Each socket has a bounded queue; one that falls behind gets a fresh snapshot
instead of a backlog, so a slow TV never holds up the others or grows the server's memory.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import orjson
import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool

from app.config import Settings
from app.floor.snapshot import only_teams, team_level
from app.floor.types import Snapshot
from app.ingest.agent_events import EventOutcome
from app.ingest.service import BatchOutcome
from app.live.tasks import cancel_all
from app.models import utcnow
from app.services.live_floor import LiveFloor, changed_reps

log = logging.getLogger("paceboard.live")

Send = Callable[[str], Any]  # an async function sending one text frame


def frame_body(payload: dict[str, Any]) -> str:
    """The payload serialised once, without its leading brace, for :meth:`Subscriber.frame`."""
    return orjson.dumps(payload)[1:].decode()


def _patch(
    new: Mapping[str, Any], old: Mapping[str, Any] | None, key: str, *, deep: bool = False
) -> dict[str, Any]:
    """What a delta carries for a changed row: its ``key`` and the fields that changed, with
    ``hours`` cut to the cells that changed (the page merges fields, and hours by ``hour``).
    ``deep``: nested objects (totals, pace blocks, hour cells) cut to their changed keys too.

    Rows are about 2 KB and most of a row stays put between two deltas; sending only the
    changes keeps a hundred screens from costing a hundred times the whole floor.
    """
    if old is None:
        return dict(new)
    changed = _changed(new, old, deep=deep)
    return {key: new[key], **changed} if key in new else changed


class Reshaped(Exception):
    """A nested object lost a key between two views: a deep patch (which merges key by key)
    cannot say so, and the screens asking for deep patches get a snapshot instead."""


_ABSENT = object()


def _changed(new: Mapping[str, Any], old: Mapping[str, Any], *, deep: bool) -> dict[str, Any]:
    """The fields of ``new`` whose values differ from ``old``'s, ``hours`` cut to the changed
    cells; ``deep``: objects and hour cells (keeping their ``hour``) cut recursively, and
    :class:`Reshaped` when a key went away."""
    if deep and old.keys() - new.keys():
        raise Reshaped
    out: dict[str, Any] = {}
    for field, value in new.items():
        was = old.get(field, _ABSENT)
        if was == value:
            continue
        if field == "hours" and isinstance(was, list):
            before = {h["hour"]: h for h in was}
            value = [
                {"hour": h["hour"], **_changed(h, before[h["hour"]], deep=True)}
                if deep and h["hour"] in before
                else h
                for h in value
                if before.get(h["hour"]) != h
            ]
        elif deep and isinstance(value, dict) and isinstance(was, dict):
            value = _changed(value, was, deep=True)
        out[field] = value
    return out


@dataclass(slots=True)
class Frame:
    """A queued message; its text is built only when it is sent, so a thousand sockets waiting
    for the same 250 KB snapshot hold one body between them, not a thousand copies."""

    kind: str
    seq: int
    body: str  # frame_body(): the payload's JSON without its opening brace

    def text(self) -> str:
        head = f'{{"type":"{self.kind}","seq":{self.seq}'
        return head + ("," + self.body if self.body != "}" else "}")


#: A poll with no change heard of checks for writes made behind the hooks' back (a CLI import
#: in another process) at most this often: a dashboard polling in a tight loop costs the
#: check once a second, and such a write shows within a second.
POLL_CHECK_SECONDS = 1.0

#: Refreshes a new minute's re-evaluation is spread over (a slice of the teams each): every
#: row's pace moves at once, and sent in one delta to a thousand screens that is a burst the
#: calls arriving meanwhile would queue behind.
RETIME_STEPS = 5

#: Frames at least this big (snapshots) are sent a few sockets at a time, which bounds the
#: transport buffers a connection storm (every screen reconnecting after a restart) piles up.
BIG_FRAME = 64_000
#: A frame not sent within this many seconds means the client stopped reading: drop it (its page
#: reconnects by itself if it is only slow, and starts from a fresh snapshot).
SEND_TIMEOUT = 5.0
#: How long a big frame's send holds its permit before it goes on without one.
BIG_PERMIT_HOLD = 0.5


class Subscriber:
    """One socket: its team filter, its sequence numbers and its bounded outbox."""

    def __init__(
        self, teams: frozenset[str], maxsize: int, max_bytes: int, *, deep: bool = False
    ) -> None:
        self.teams = teams  # empty: the whole floor
        self.deep = deep  # deltas cut nested objects to their changed keys (``?patch=deep``)
        self.seq = 0
        self.queue: asyncio.Queue[Frame] = asyncio.Queue()
        self.maxsize = maxsize
        self.max_bytes = max_bytes
        self.queued_bytes = 0
        self.dropped = 0  # times the backlog was replaced by a snapshot

    def wants(self, team: str | None) -> bool:
        return not self.teams or team in self.teams

    def frame(self, kind: str, body: str) -> Frame:
        self.seq += 1
        return Frame(kind, self.seq, body)

    def offer(self, frame: Frame) -> bool:
        """Queue a frame; False when the outbox is full in frames or bytes (the hub then sends a
        snapshot instead)."""
        size = len(frame.body)
        if self.queue.qsize() >= self.maxsize or self.queued_bytes + size > self.max_bytes:
            return False
        self.queued_bytes += size
        self.queue.put_nowait(frame)
        return True

    def reset(self, frame: Frame) -> None:
        """Throw the backlog away and queue ``frame`` (a snapshot) alone."""
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queued_bytes = len(frame.body)
        self.queue.put_nowait(frame)

    async def pump(self, send: Send, big: asyncio.Semaphore, timeout: float = SEND_TIMEOUT) -> None:
        """Send queued frames in order until cancelled or the socket fails; a send that cannot
        finish within ``timeout`` (a client that stopped reading) ends the pump, and with it the
        socket: a stuck screen must not hold a big-frame permit other screens wait for."""
        while True:
            frame = await self.queue.get()
            self.queued_bytes -= len(frame.body)
            if len(frame.body) < BIG_FRAME:
                # A reader stuck on small frames only holds up its own queue, which then
                # overflows into a snapshot: a big frame, whose send below is bounded.
                await send(frame.text())
                continue
            async with big:
                sending = asyncio.ensure_future(send(frame.text()))
                await asyncio.wait({sending}, timeout=BIG_PERMIT_HOLD)
            # Not written yet: a slow or stuck reader finishes (or times out) without the
            # permit, so a screen that stopped reading never keeps others from their snapshot.
            await asyncio.wait_for(sending, max(0.0, timeout - BIG_PERMIT_HOLD))


class _Changes:
    """What changed between two views, as each group of sockets is sent it (built lazily: the
    rows once in each patch depth, a body once per team filter and depth)."""

    def __init__(self, old: Snapshot, new: Snapshot, rebuilt: set[str] | None) -> None:
        self.old, self.new = old, new
        self.old_reps = {
            r["code"]: r for r in old["reps"] if rebuilt is None or r["team"] in rebuilt
        }
        self.old_teams = {t["name"]: t for t in old["teams"]}
        candidates = (
            new["reps"] if rebuilt is None else [r for r in new["reps"] if r["team"] in rebuilt]
        )
        self.reps = [r for r in candidates if self.old_reps.get(r["code"]) != r]
        self.teams = [
            t
            for t in new["teams"]
            if (rebuilt is None or t["name"] in rebuilt) and self.old_teams.get(t["name"]) != t
        ]
        self.floor_changed = old["floor"] != new["floor"]
        self.any = bool(self.reps or self.teams or self.floor_changed)
        self._patches: dict[bool, tuple[list, list, dict]] = {}

    def patched(self, *, deep: bool) -> tuple[list, list, dict]:
        """(rep patches, team patches, floor patch); :class:`Reshaped` for a deep one that
        cannot be expressed."""
        if deep not in self._patches:
            self._patches[deep] = (
                [_patch(r, self.old_reps.get(r["code"]), "code", deep=deep) for r in self.reps],
                [_patch(t, self.old_teams.get(t["name"]), "name", deep=deep) for t in self.teams],
                _patch(self.new["floor"], self.old["floor"], "", deep=deep),
            )
        return self._patches[deep]

    def body(self, sub: Subscriber) -> str | None:
        """The delta ``sub``'s group is sent, None when nothing of it changed for them."""
        reps, teams, floor = self.patched(deep=sub.deep)
        mine = [p for p, r in zip(reps, self.reps, strict=True) if sub.wants(r["team"])]
        # Every team's figures (the PK table is public on the floor); reps: own only.
        my_teams = [t if sub.wants(t["name"]) else team_level(t) for t in teams]
        if not (mine or my_teams or self.floor_changed):
            return None
        return frame_body(
            {
                "day": self.new["day"],
                "at": self.new["at"],
                "floor": floor,
                "teams": my_teams,
                "reps": mine,
            }
        )


class Hub:
    """Owns the current floor view and every subscriber of this process."""

    def __init__(
        self,
        engine: sa.Engine,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utcnow,
        min_interval: float = 0.1,
        # Every 5 s: a screen calls itself stale after 10 s without a frame (wallboard.js), so
        # an idle floor must still hear from the server twice in that time.
        heartbeat: float = 5.0,
        tick: float = 60.0,
        queue_size: int = 256,
        queue_bytes: int = 512_000,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.min_interval = min_interval  # at most 1/min_interval deltas a second
        self.heartbeat = heartbeat
        self.tick = tick
        self.queue_size = queue_size
        self.queue_bytes = queue_bytes
        self.subscribers: set[Subscriber] = set()
        self.big_sends = asyncio.Semaphore(16)
        self.current: Snapshot | None = None
        self.reads = 0  # snapshots read from the database, for tests and metrics
        self._bodies_of: Snapshot | None = None
        self._bodies: dict[frozenset[str], str] = {}
        self._dirty = asyncio.Event()
        self._resync = False
        # Bumped by every change this process hears of; the polled view below is kept while it
        # stands still, so a hundred pollers between two changes cost one read.
        self.generation = 0
        # The REST snapshot's own in-memory floor (polled without any screen open), fed by the
        # same changes as the screens' one.
        self.polled_floor = LiveFloor(timezone=settings.timezone, pacing=settings.pacing)
        self._polled_changed: set[tuple[int, date]] = set()
        self._polled_unknown = False
        self._polled_checked = 0.0  # monotonic time of the last check for unheard writes
        self._polled_lock = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task] = []
        self._lock = asyncio.Lock()
        # Today's floor in memory, brought up to date per changed rep (app/services/live_floor).
        self.floor = LiveFloor(timezone=settings.timezone, pacing=settings.pacing)
        self.full_reads = 0  # whole-floor reads (a new day, a roster change, a resync, a gap)
        self._changed: set[tuple[int, date]] = set()  # (rep id, day) heard of, not yet applied
        self._sales: list[tuple[int, date, int, int]] = []  # (rep id, day, amount, orders)
        self._unknown_change = False  # a change heard of without its cells: read the floor
        self._states: set[int] = set()  # reps whose agent state moved, not yet applied
        self._polled_states: set[int] = set()

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._tasks = [
            asyncio.create_task(self._recompute_loop(), name="hub-recompute"),
            asyncio.create_task(self._beat_loop(), name="hub-heartbeat"),
            asyncio.create_task(self._tick_loop(), name="hub-tick"),
        ]

    async def stop(self) -> None:
        await cancel_all(self._tasks)
        self._tasks = []

    # --- inputs (safe from any thread) -------------------------------------------------------

    def poke(self, outcome: BatchOutcome | None = None) -> None:
        """A batch committed (a writer hook, safe from any thread): apply what it changed soon.
        Without an outcome (an import, an old peer) the next refresh reads the whole floor."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.heard, outcome)

    def poke_changes(
        self,
        reps: set[tuple[int, date]] | None,
        sales: list[tuple[int, date, int, int]],
        states: set[int] | None = None,
    ) -> None:
        """:meth:`heard_changes` (and :meth:`heard_states`) from any thread: another process's
        commit, off the bus."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.heard_changes, reps, sales)
            if states:
                self._loop.call_soon_threadsafe(self.heard_states, states)

    def poke_states(self, outcome: EventOutcome) -> None:
        """Agent-state events committed (a writer event hook, safe from any thread)."""
        if self._loop is not None and outcome.reps:
            self._loop.call_soon_threadsafe(self.heard_states, set(outcome.reps))

    def heard_states(self, reps: set[int]) -> None:
        """Reps whose present state or time in state moved: each costs that rep, not a team."""
        self._states |= reps
        self._polled_states |= reps
        self._mark_dirty()

    def heard(self, outcome: BatchOutcome | None) -> None:
        """:meth:`poke` on the hub's own loop."""
        if outcome is None:
            self.heard_changes(None, [])
        else:
            sales = [(x.rep_id, x.day, x.amount, x.orders) for x in outcome.sales]
            self.heard_changes(changed_reps(outcome), sales)
            if outcome.states:  # a call began or ended: its rep is on a call, or ready
                self.heard_states(set(outcome.states))

    def heard_changes(
        self,
        reps: set[tuple[int, date]] | None,
        sales: list[tuple[int, date, int, int]],
    ) -> None:
        """Reps (id, local day) whose figures changed and the sales among them, from this
        process's writer or another's over the bus; None: unknown, read the whole floor."""
        if reps is None:
            self._unknown_change = self._polled_unknown = True
        else:
            self._changed |= reps
            self._polled_changed |= reps
        self._sales += sales
        self._mark_dirty()

    def _mark_dirty(self) -> None:
        self.generation += 1  # whatever was read before this is stale
        self._dirty.set()

    def resync(self) -> None:
        """Changes may have been missed (the bus was away): read the floor again and send every
        screen a fresh snapshot, which is what a client does itself on a gap in ``seq``."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._mark_resync)

    def _mark_resync(self) -> None:
        self._resync = self._polled_unknown = True
        self._mark_dirty()

    def publish_alerts(self, alerts: list[dict]) -> None:
        """Send newly raised alerts to the sockets watching the rep's team (an alert hook)."""
        if alerts and self._loop is not None:
            self._loop.call_soon_threadsafe(self._send_alerts, alerts)

    # --- subscribers -------------------------------------------------------------------------

    async def subscribe(self, teams: Iterable[str] = (), *, deep: bool = False) -> Subscriber:
        """A new subscriber, its first frame (a snapshot) already queued; ``deep``: its deltas
        are deep patches (see :func:`_patch`)."""
        sub = Subscriber(frozenset(teams), self.queue_size, self.queue_bytes, deep=deep)
        self.subscribers.add(sub)
        await self.send_snapshot(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)

    async def send_snapshot(self, sub: Subscriber) -> None:
        """Queue the current view for ``sub`` (read from the database only if there is none)."""
        if self.current is None:
            async with self._lock:
                if self.current is None:
                    self.current, _ = await self._bring_up_to_date(set(), whole=True)
        sub.reset(sub.frame("snapshot", self._snapshot_body(sub)))

    async def polled_view(self) -> Snapshot:
        """Today's floor as the screens see it (evaluated at the end of this minute) for a
        client that polls the REST snapshot, from an in-memory floor of its own: a change heard
        of costs its reps, a poll with none heard costs a cheap check for writes made behind the
        hooks' back (then one full read), a new minute re-evaluates the rows in memory."""
        async with self._polled_lock:
            day, at = self._at()
            now = self.clock()
            changed, self._polled_changed = self._polled_changed, set()
            states, self._polled_states = self._polled_states, set()
            unknown, self._polled_unknown = self._polled_unknown, False
            model = self.polled_floor

            def work() -> Snapshot:
                with self.engine.connect() as conn:
                    held = (
                        not unknown
                        and model.base is not None
                        and model.base.day == day
                        and model.snapshot is not None
                    )
                    if held and states:
                        held = model.update_states(conn, states, now=now, at=at) is not None
                    if held and changed:
                        self.reads += 1
                        held = model.update(conn, changed, now=now, at=at) is not None
                    elif (
                        held
                        and not states
                        and time.monotonic() - self._polled_checked >= POLL_CHECK_SECONDS
                    ):
                        held = model.unchanged(conn)
                        self._polled_checked = time.monotonic()
                    if not held:
                        self.reads += 1
                        return model.load(conn, day=day, now=now, at=at)
                    if model.evaluated_at != at:
                        return model.evaluate_all(now=now, at=at)
                    assert model.snapshot is not None
                    return model.snapshot

            return await run_in_threadpool(work)

    def _poll_check_due(self) -> bool:
        return time.monotonic() - self._polled_checked >= POLL_CHECK_SECONDS

    # --- the work ----------------------------------------------------------------------------

    def _at(self) -> tuple[date, datetime]:
        """The floor's day and the instant the live view is evaluated at.

        Pacing moves by the minute (a ``tick``), so the view is evaluated at the end of the
        current minute: rows change only when their figures do, not on every recompute.
        """
        now = self.clock()
        minute = now.replace(second=0, microsecond=0)
        at = minute + timedelta(seconds=59, microseconds=999_999)
        return self.settings.today(now), at

    async def refresh(self) -> None:
        """Bring the floor up to date and send every socket what changed (a snapshot on a new
        day or a resync). Heard-of changes cost their reps' teams; a quiet refresh (a minute
        tick) re-evaluates the floor in memory after checking nothing changed behind its back;
        a new day, a roster or target change, a resync or an unknown change read it whole."""
        async with self._lock:
            resync, self._resync = self._resync, False
            changed, self._changed = self._changed, set()
            states, self._states = self._states, set()
            sales, self._sales = self._sales, []
            unknown, self._unknown_change = self._unknown_change, False
            old = self.current
            new, rebuilt = await self._bring_up_to_date(
                changed, states, whole=resync or unknown or old is None
            )
            self.current = new
        if self.floor.stale:
            self._dirty.set()  # the rest of the minute's re-evaluation, after the pause
        if old is None or old["day"] != new["day"] or resync:
            for sub in list(self.subscribers):
                await self.send_snapshot(sub)
            return
        self._send_changes(old, new, rebuilt, self._celebrations(new, sales))

    async def _bring_up_to_date(
        self, changed: set[tuple[int, date]], states: set[int] | None = None, *, whole: bool
    ) -> tuple[Snapshot, set[str] | None]:
        """The floor now, and the teams rebuilt (None: every row may have changed)."""
        day, at = self._at()
        now = self.clock()
        model = self.floor

        def work() -> tuple[Snapshot, set[str] | None]:
            with self.engine.connect() as conn:
                if not whole and model.base is not None and model.base.day == day:
                    got = self._apply(conn, model, changed, states or set(), now=now, at=at)
                    if got is not None:
                        return got
                self.full_reads += 1
                return model.load(conn, day=day, now=now, at=at), None

        self.reads += 1
        return await run_in_threadpool(work)

    @staticmethod
    def _apply(
        conn: sa.Connection,
        model: LiveFloor,
        changed: set[tuple[int, date]],
        states: set[int],
        *,
        now: datetime,
        at: datetime,
    ) -> tuple[Snapshot, set[str]] | None:
        """The changes heard of applied in memory, and a new minute's re-evaluation advanced by
        one slice of teams; None when only a full read will do."""
        assert model.snapshot is not None
        view: Snapshot = model.snapshot
        rebuilt: set[str] = set()
        if states:
            moved = model.update_states(conn, states, now=now, at=at)
            if moved is None:
                return None
            view, rebuilt = moved
        if changed:
            got = model.update(conn, changed, now=now, at=at)
            if got is None:
                return None
            view, rebuilt = got[0], rebuilt | got[1]
        elif not states and not model.unchanged(conn):
            return None  # a quiet refresh (a tick): something changed behind the hooks' back
        if model.evaluated_at != at:
            model.start_minute(at, rebuilt)
        if model.stale:
            # Expected-by-now moves for every row once a minute; a slice of teams per refresh
            # keeps that O(floor) work from stalling the calls arriving meanwhile.
            assert model.base is not None
            step = -(-len(model.base.teams) // RETIME_STEPS)  # ceil
            part = set(model.stale[:step])
            view = model.rebuild(part, now=now, at=at)
            rebuilt |= part
        return view, rebuilt

    def _celebrations(
        self, view: Snapshot, sales: list[tuple[int, date, int, int]]
    ) -> list[dict[str, Any]]:
        """The banners for today's sales heard of: one per rep, its orders and amount summed."""
        base = self.floor.base
        if base is None or not sales:
            return []
        shown = {r["code"]: r for r in view["reps"]}
        by_rep: dict[int, list[int]] = {}
        for rep_id, day, amount, orders in sales:
            if day == base.day and rep_id in base.reps:
                acc = by_rep.setdefault(rep_id, [0, 0])
                acc[0] += orders
                acc[1] += amount
        out = []
        for rep_id, (orders, amount) in by_rep.items():
            rep = shown.get(base.reps[rep_id].code)
            if rep is None:
                continue
            out.append(
                {
                    "rep": rep["code"],
                    "name": rep["name"],
                    "team": rep["team"],
                    "orders": orders,
                    "amount": amount,
                    "currency_minor_digits": self.settings.currency_minor_digits,
                }
            )
        return out

    def _send_changes(
        self,
        old: Snapshot,
        new: Snapshot,
        rebuilt: set[str] | None = None,
        sales: list[dict[str, Any]] | None = None,
    ) -> None:
        """Send each socket the rows that differ between ``old`` and ``new`` (of the teams
        ``rebuilt`` only, when given: the others are the same objects), then the sales. Each
        delta is built once per group of sockets with the same teams and patch depth."""
        sales = sales or []
        changes = _Changes(old, new, rebuilt)
        if not (changes.any or sales):
            return
        reshaped = False  # the deep-patch screens got a snapshot instead of this delta
        if changes.any and any(s.deep for s in self.subscribers):
            try:
                changes.patched(deep=True)
            except Reshaped:
                reshaped = True
                self._reshaped()
        bodies: dict[tuple[frozenset[str], bool], str | None] = {}
        for sub in list(self.subscribers):
            group = (sub.teams, sub.deep)
            if group not in bodies:
                wanted = changes.any and not (sub.deep and reshaped)
                bodies[group] = changes.body(sub) if wanted else None
            body = bodies[group]
            if body is not None:
                self._deliver(sub, "delta", body)
            for sale in sales:
                if sub.wants(sale["team"]):
                    self._deliver(sub, "celebrate", frame_body(sale))

    def _reshaped(self) -> None:
        """A row lost a nested key (a target went away): the deep-patch screens start over from
        a snapshot of the new view instead of a delta."""
        for sub in list(self.subscribers):
            if sub.deep:
                sub.reset(sub.frame("snapshot", self._snapshot_body(sub)))

    def _send_alerts(self, alerts: list[dict]) -> None:
        for alert in alerts:
            body = frame_body({"alert": alert})
            for sub in list(self.subscribers):
                if sub.wants(alert.get("team")):
                    self._deliver(sub, "alert", body)

    def _deliver(self, sub: Subscriber, kind: str, body: str) -> None:
        if not sub.offer(sub.frame(kind, body)) and self.current is not None:
            # Behind: the backlog is worth less than the present. One snapshot replaces it.
            sub.dropped += 1
            sub.reset(sub.frame("snapshot", self._snapshot_body(sub)))

    def broadcast(self, kind: str, payload: dict[str, Any]) -> None:
        body = frame_body(payload)
        for sub in list(self.subscribers):
            self._deliver(sub, kind, body)

    def _snapshot_body(self, sub: Subscriber) -> str:
        """The current view serialised once per team filter (a thousand screens joining after a
        restart must not serialise it a thousand times)."""
        current = self.current
        assert current is not None
        if self._bodies_of is not current:
            self._bodies_of, self._bodies = current, {}
        body = self._bodies.get(sub.teams)
        if body is None:
            body = self._bodies[sub.teams] = frame_body({"data": self._filtered(current, sub)})
        return body

    @staticmethod
    def _filtered(snapshot: Snapshot, sub: Subscriber) -> Snapshot:
        return only_teams(snapshot, sub.teams) if sub.teams else snapshot

    # --- loops -------------------------------------------------------------------------------

    async def _recompute_loop(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            if not self.subscribers:
                # Nobody is watching: reading the floor would only slow ingest down. The next
                # screen to connect reads a fresh view.
                self.current = None
                continue
            try:
                await self.refresh()
            except Exception:
                log.exception("live refresh failed; the next change or tick retries")
            # Coalesce: changes during the pause are folded into the next refresh.
            await asyncio.sleep(self.min_interval)

    async def _beat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat)
            self.broadcast("heartbeat", {"at": self.clock().isoformat()})

    async def _tick_loop(self) -> None:
        while True:
            now = self.clock()
            # On the minute, so every screen's expected-by-now moves together.
            await asyncio.sleep(self.tick - (now.second + now.microsecond / 1e6) % self.tick)
            self.broadcast("tick", {"at": self.clock().isoformat()})
            self._mark_dirty()
