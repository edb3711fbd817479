"""Runs alert evaluation in the background: after every committed batch and once a minute."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import date, datetime

import sqlalchemy as sa

from app.db import writer
from app.floor.alerts import RECOVER_MINUTES, Key, PauseLimits
from app.floor.progress import PacingConfig
from app.ingest.agent_events import EventOutcome
from app.ingest.service import BatchOutcome
from app.models import utcnow
from app.services.alerts import alert_view, raise_due
from app.services.live_floor import LiveFloor, changed_reps

log = logging.getLogger("paceboard.alerts")

AlertHook = Callable[[list[dict]], None]


class AlertEngine:
    """One evaluation at a time in its own thread; pokes that arrive meanwhile coalesce into one
    more run, so a burst of posts costs one evaluation, not one each."""

    def __init__(
        self,
        engine: sa.Engine,
        pacing: PacingConfig,
        *,
        idle_minutes: int,
        pause_limits: PauseLimits | None = None,
        recover_minutes: int = RECOVER_MINUTES,
        interval: float = 60.0,
        settle: float = 1.0,
        max_settle: float = 10.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = writer(engine)
        self.reader = engine
        self.pacing = pacing
        self.idle_minutes = idle_minutes
        self.pause_limits = pause_limits
        self.recover_minutes = recover_minutes
        #: Since when each open behind has been out of the red (kept between runs; after a
        #: restart an amber rep's ten minutes start again).
        self._amber: dict[Key, datetime] = {}
        self.interval = interval
        self.settle = settle
        self.max_settle = max_settle
        self.clock = clock
        self.hooks: list[AlertHook] = []  # called with each run's new alerts (the live hub)
        self.runs = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # The floor kept in memory between evaluations, told which reps each commit changed:
        # an evaluation re-reads those reps, not the floor and its month of history.
        self.floor = LiveFloor(timezone=str(pacing.floor.timezone), pacing=pacing)
        self._floor_lock = threading.Lock()
        self._changed: set[tuple[int, date]] = set()
        self._states: set[int] = set()  # reps whose agent state moved
        self._changed_lock = threading.Lock()

    def evaluate(self, now: datetime | None = None) -> list[dict]:
        """Evaluate at ``now`` (default the clock) in one transaction; the new alerts."""
        with self._changed_lock:
            changed, self._changed = self._changed, set()
            states, self._states = self._states, set()
        now = now or self.clock()
        with self._floor_lock:
            # The floor is read outside the write transaction: on SQLite the write lock is
            # taken at BEGIN, and every POST would wait for a whole floor's evaluation.
            with self.reader.connect() as conn:
                view = alert_view(
                    conn,
                    now=now,
                    pacing=self.pacing,
                    floor=self.floor,
                    changed=changed,
                    states=states,
                )
            with self.engine.begin() as conn:
                new, self._amber = raise_due(
                    conn,
                    view,
                    now=now,
                    idle_minutes=self.idle_minutes,
                    pause_limits=self.pause_limits,
                    recover_minutes=self.recover_minutes,
                    amber_since=self._amber,
                )
        self.runs += 1
        for hook in self.hooks:
            try:
                hook(new)
            except Exception:
                log.exception("alert hook failed")
        return new

    def poke(self, outcome: BatchOutcome | None = None) -> None:
        """Ask for an evaluation soon (safe from any thread; usable as a writer commit hook,
        whose outcome names the reps to re-read)."""
        if outcome is not None:
            with self._changed_lock:
                self._changed |= changed_reps(outcome)
                self._states |= outcome.states
        self._wake.set()

    def poke_states(self, outcome: EventOutcome) -> None:
        """Agent-state events committed (a writer event hook): a pause may have begun, a rep
        may have become ready; evaluate soon."""
        with self._changed_lock:
            self._states |= outcome.reps
        self._wake.set()

    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="alerts", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            # Let a burst settle (an import or a backfill arrives as many batches): judging the
            # floor halfway through would flag reps as behind or idle who are not. A stop ends
            # the wait at once (stop() sets the wake event after the stop flag).
            deadline = time.monotonic() + self.max_settle
            while (
                not self._stop.is_set()
                and time.monotonic() < deadline
                and self._wake.wait(self.settle)
            ):
                self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.evaluate()
            except Exception:
                # A database hiccup must not end alerting for the day; the next tick retries.
                log.exception("alert evaluation failed")
