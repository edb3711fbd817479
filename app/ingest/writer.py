"""Group commit: one writer thread per process folds concurrent requests into one transaction.

A request's records land in the same transaction, and its future resolves only after that
transaction committed, so an HTTP response means "durable". A transient storage fault (a lock,
a deadlock, a race on a new row, a lost connection) is retried, then answered "send it again"
with nothing of the request stored. A fault of a record's content (a value the database cannot
hold, a sum that overflows) is not retried: the request is split until the record is found, it
is rejected with its reason, and the rest is stored (its parts then commit apart).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from app.db import writer
from app.ingest.agent_events import EventIn, EventOutcome, apply_events
from app.ingest.batch import apply_batch
from app.ingest.records import Incoming, Invalid
from app.ingest.service import BatchOutcome, IngestContext, RecordResult
from app.models import utcnow

log = logging.getLogger("paceboard.ingest")

CommitHook = Callable[[BatchOutcome], None]


class WriterUnavailable(RuntimeError):
    """The batch could not be stored; nothing of it was committed, so it is safe to resend."""


@dataclass
class _Job:
    items: Sequence[Any]  # calls (Incoming | Invalid), or agent events (EventIn | Invalid)
    require_existing: bool
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future
    events: bool = False  # agent-state events (app.ingest.agent_events), not calls
    size: int = field(init=False)

    def __post_init__(self) -> None:
        self.size = max(1, len(self.items))


class IngestWriter:
    """The process's single writer. ``submit`` from async code; the work runs in one thread."""

    def __init__(
        self,
        engine: sa.Engine,
        ctx: IngestContext,
        *,
        max_group_records: int = 20_000,
        retries: int = 3,
    ) -> None:
        self.engine = writer(engine)
        self.ctx = ctx
        self.max_group_records = max_group_records
        self.retries = retries
        self.hooks: list[CommitHook] = []
        #: Called with each committed request of agent-state events (the live view, the bus).
        self.event_hooks: list[Callable[[EventOutcome], Any]] = []
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.groups = 0  # committed transactions, for metrics and tests

    def start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="ingest-writer", daemon=True)
                self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish what is queued, then stop the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)

    async def submit(
        self, items: Sequence[Incoming | Invalid], *, require_existing: bool = False
    ) -> BatchOutcome:
        """Store ``items`` (one request) and return their results once committed."""
        self.start()
        loop = asyncio.get_running_loop()
        job = _Job(items, require_existing, loop, loop.create_future())
        self._queue.put(job)
        return await job.future

    async def submit_events(self, items: Sequence[EventIn | Invalid]) -> EventOutcome:
        """Store agent-state events (one request) in the same single writer as the calls, and
        return their results once committed."""
        self.start()
        loop = asyncio.get_running_loop()
        job = _Job(items, False, loop, loop.create_future(), events=True)
        self._queue.put(job)
        return await job.future

    # --- writer thread ------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            jobs, size, stop = [job], job.size, False
            while size < self.max_group_records:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                jobs.append(nxt)
                size += nxt.size
            self._process(jobs)
            if stop:
                return

    def _commit(self, jobs: list[_Job]) -> list[BatchOutcome | EventOutcome]:
        """Apply ``jobs`` in one transaction; one outcome per job, results in its own numbering.

        Plain posts are folded into one ``apply_batch`` call (one rep lookup, one calls lookup,
        one totals upsert for the whole group), which is what makes group commit pay off.
        """
        now = utcnow()
        with self.engine.begin() as conn:
            outcomes: list[BatchOutcome | EventOutcome] = []
            pending: list[_Job] = []
            for j in jobs:
                if j.events:
                    outcomes.extend(self._apply_folded(conn, pending, now))
                    pending = []
                    outcomes.append(self._apply_events(conn, j, now))
                elif j.require_existing:
                    outcomes.extend(self._apply_folded(conn, pending, now))
                    pending = []
                    outcomes.append(
                        apply_batch(conn, j.items, ctx=self.ctx, now=now, require_existing=True)
                    )
                else:
                    pending.append(j)
            outcomes.extend(self._apply_folded(conn, pending, now))
            return outcomes

    def _apply_events(self, conn: sa.Connection, job: _Job, now: datetime) -> EventOutcome:
        ctx = self.ctx
        return apply_events(
            conn, list(job.items), hasher=ctx.hasher, default_tz=ctx.default_tz, now=now
        )

    def _apply_folded(
        self, conn: sa.Connection, jobs: list[_Job], now: datetime
    ) -> list[BatchOutcome]:
        if not jobs:
            return []
        if len(jobs) == 1:
            return [apply_batch(conn, jobs[0].items, ctx=self.ctx, now=now)]
        merged: list[Incoming | Invalid] = [it for j in jobs for it in j.items]
        outcome = apply_batch(conn, merged, ctx=self.ctx, now=now)
        # Results come back one per item in input order, each keeping its request's own index.
        out: list[BatchOutcome] = []
        start = 0
        for j in jobs:
            out.append(
                BatchOutcome(
                    outcome.results[start : start + len(j.items)],
                    # The group's changes go with its first job so hooks see each one once.
                    outcome.changed_cells if not out else set(),
                    touched=outcome.touched if not out else set(),
                    sales=outcome.sales if not out else [],
                    states=outcome.states if not out else set(),
                )
            )
            start += len(j.items)
        return out

    def _process(self, jobs: list[_Job]) -> None:
        try:
            outcomes = self._commit(jobs)
        except Exception:
            if len(jobs) == 1:
                self._retry(jobs[0])
            else:
                # One bad request must not sink the others folded into its group.
                for j in jobs:
                    self._retry(j)
            return
        self.groups += 1
        for j, outcome in zip(jobs, outcomes, strict=True):
            self._deliver(j, outcome)

    def _retry(self, job: _Job) -> None:
        delay = 0.02
        for attempt in range(1, self.retries + 1):
            try:
                outcome = self._commit([job])[0]
            except Exception as exc:
                if not transient(exc):
                    if job.events:  # no total of theirs can overflow: nothing to isolate
                        log.exception("agent events could not be stored")
                        self._fail(job, exc)
                    else:
                        self._isolate_and_deliver(job)
                    return
                # Deadlocks, serialisation failures and races on new rows are worth another go.
                if attempt == self.retries:
                    log.exception("ingest batch failed after %d attempts", attempt)
                    self._fail(job, exc)
                    return
                time.sleep(delay)
                delay *= 4
            else:
                self.groups += 1
                self._deliver(job, outcome)
                return

    def _isolate_and_deliver(self, job: _Job) -> None:
        try:
            outcome = self._isolate(list(job.items), job.require_existing)
        except Exception as exc:
            log.exception("ingest batch failed while looking for the record that broke it")
            self._fail(job, exc)
            return
        self.groups += 1
        self._deliver(job, outcome)

    def _isolate(self, items: list[Incoming | Invalid], require_existing: bool) -> BatchOutcome:
        """Store ``items`` in halves until the records whose content cannot be stored are
        alone; those are rejected, the rest committed. A transient fault propagates."""
        try:
            with self.engine.begin() as conn:
                return apply_batch(
                    conn, items, ctx=self.ctx, now=utcnow(), require_existing=require_existing
                )
        except Exception as exc:
            if transient(exc):
                raise
            if len(items) == 1:
                return self._reject_alone(items[0], exc)
            mid = len(items) // 2
            first = self._isolate(items[:mid], require_existing)
            second = self._isolate(items[mid:], require_existing)
            unresolved = dict(first.unresolved)
            for code, n in second.unresolved.items():
                unresolved[code] = unresolved.get(code, 0) + n
            return BatchOutcome(
                first.results + second.results,
                first.changed_cells | second.changed_cells,
                unresolved,
                first.touched | second.touched,
                first.sales + second.sales,
                first.states | second.states,
            )

    def _reject_alone(self, item: Incoming | Invalid, exc: BaseException) -> BatchOutcome:
        """The record that broke its batch, rejected with why (and kept with the rejects)."""
        errors = [{"field": "record", "reason": f"could not be stored: {content_fault(exc)}"}]
        invalid = Invalid(item.index, item.source, item.call_id, errors, item.raw)
        try:
            with self.engine.begin() as conn:
                return apply_batch(conn, [invalid], ctx=self.ctx, now=utcnow())
        except Exception:
            log.exception("could not keep a rejected record")
            return BatchOutcome([RecordResult(item.index, item.call_id, "rejected", errors)], set())

    def _deliver(self, job: _Job, outcome: BatchOutcome | EventOutcome) -> None:
        # Hooks first (they only schedule work or count): once a client has its answer, the
        # metrics and the live view already know of the batch.
        hooks: list[Callable[[Any], Any]] = (
            list(self.hooks) if isinstance(outcome, BatchOutcome) else list(self.event_hooks)
        )
        for hook in hooks:
            try:
                hook(outcome)
            except Exception:
                log.exception("commit hook failed")
        job.loop.call_soon_threadsafe(_set_result, job.future, outcome)

    def _fail(self, job: _Job, exc: Exception) -> None:
        err = WriterUnavailable(f"could not store the batch: {type(exc).__name__}")
        job.loop.call_soon_threadsafe(_set_exception, job.future, err)


def transient(exc: BaseException) -> bool:
    """Whether a failed commit is worth retrying as it is: lock waits, deadlocks, serialisation
    failures, races on new rows and lost connections; not a value the database refuses."""
    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        return True
    if _check_violation(exc):
        return False
    return isinstance(exc, sa.exc.OperationalError | sa.exc.IntegrityError | sa.exc.InterfaceError)


def _check_violation(exc: BaseException) -> bool:
    """A CHECK constraint refused a value (a total past its bound): content, not a race."""
    if not isinstance(exc, sa.exc.IntegrityError):
        return False
    # PostgreSQL names it by SQLSTATE 23514; SQLite only in its message.
    return getattr(exc.orig, "sqlstate", None) == "23514" or "CHECK constraint failed" in str(
        exc.orig
    )


def content_fault(exc: BaseException) -> str:
    """Why a record's content could not be stored, in words a client can act on (never the
    value: the driver's message may quote it)."""
    if isinstance(exc, sa.exc.DataError) or _check_violation(exc):
        return "a value is out of the range the database can hold (a total would overflow)"
    if isinstance(exc, RecursionError):
        return "a value is nested too deeply"
    if isinstance(exc, OverflowError):
        return "a value is out of range"
    return type(exc).__name__


def _set_result(fut: asyncio.Future, value: Any) -> None:
    if not fut.done():
        fut.set_result(value)


def _set_exception(fut: asyncio.Future, exc: BaseException) -> None:
    if not fut.done():
        fut.set_exception(exc)
