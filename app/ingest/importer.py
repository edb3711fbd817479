"""Import a telephony export file: stream it through an adapter into the ingest service.

The file is read line by line (never whole); every ``batch`` records are stored with
:func:`app.ingest.batch.apply_batch` in their own write transaction, so a 1 GB file costs the
memory of a few batches. A big file is read in a worker process while this one judges and
stores, so the import uses two cores as the HTTP ingest does. Rows the adapter cannot read and
records the ingest rejects go, with their row number and reason, to a rejects CSV
(``row,reason,raw``) whose raw text never holds a phone number. Re-importing a file changes
nothing: every call comes back ``duplicate``.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from app.db import writer
from app.ingest.adapters import ADAPTERS, Options
from app.ingest.adapters.base import MaskedRow, Skipped
from app.ingest.batch import apply_batch
from app.ingest.reader import Batch, Judge, ReadJob, read_batches, read_in_worker
from app.ingest.service import IDENT, BatchOutcome, IngestContext
from app.ingest.sql import lazy_commit

STATUSES = ("created", "updated", "duplicate", "stale", "rejected", "skipped")
REJECT_COLUMNS = ("row", "reason", "raw")


class FormatNotSupported(ValueError):
    pass


def default_rejects_path(path: Path) -> Path:
    return path.with_name(path.name + ".rejects.csv")


def _reason(errors: list[dict[str, str]]) -> str:
    return "; ".join(f"{e['field']}: {e['reason']}" for e in errors) or "rejected"


class _Rejects:
    """The rejects CSV, created on the first reject (no file when nothing is rejected)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._file: TextIO | None = None
        self._writer: Any = None

    def write(self, row: int, reason: str, raw: str) -> None:
        if self._writer is None:
            self._file = self.path.open("w", encoding="utf-8", newline="")
            self._writer = csv.writer(self._file)
            self._writer.writerow(REJECT_COLUMNS)
        self._writer.writerow((row, reason, raw))
        self.count += 1

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def import_file(
    path: Path | str,
    *,
    engine: sa.Engine,
    ctx: IngestContext,
    fmt: str,
    source: str,
    timezone: ZoneInfo,
    rep_from: str | None,
    rejects_path: Path | str | None,
    minor_digits: int,
    mapping: Mapping[str, str] | None = None,
    encoding: str | None = None,
    batch: int = 2000,
    progress: Callable[[int], None] | None = None,
    parallel_from: int = 1 << 20,
    strict_agents: bool = False,
) -> dict[str, Any]:
    """Import one file; returns ``{"rows", created…rejected, "skipped", "skipped_reasons",
    "unresolved", "rejects_path"}``.

    ``skipped`` counts helper legs left out on purpose (by reason in ``skipped_reasons``);
    ``unresolved`` maps the bucket codes of calls kept under unresolved agents to their record
    counts (``strict_agents`` rejects those calls instead).

    ``rows`` counts the data rows read; a call of several legs is one record.
    ``progress(bytes_read)`` is called after every stored batch. Raises ``OSError`` when the
    file cannot be read or the rejects file cannot be written, :class:`FormatNotSupported`
    for a format without an adapter, :class:`~app.ingest.adapters.OptionError` for options
    the format cannot use (before anything is read). Files of ``parallel_from`` bytes or more
    are read in a worker process while this one stores.
    """
    options = _checked_options(engine, fmt, timezone, source, rep_from, mapping, encoding)
    path = Path(path)
    rejects = _Rejects(Path(rejects_path) if rejects_path else default_rejects_path(path))
    tally = _Tally()
    read = Batch([], 0, 0)
    job = ReadJob(path, fmt, options, batch, Judge(source, ctx.hasher, minor_digits))
    try:
        big = path.stat().st_size >= parallel_from
        for prepared in read_in_worker(job) if big else read_batches(job):
            outcome = _store(engine, prepared, ctx, strict_agents)
            tally.add(prepared, outcome, rejects)
            if progress is not None:
                progress(prepared.bytes_read)
            read = prepared
    finally:
        rejects.close()
    return {
        "rows": read.rows_read,
        **tally.counts,
        "skipped_reasons": tally.skipped,
        "unresolved": tally.unresolved,
        "rejects_path": str(rejects.path) if rejects.count else None,
    }


def _checked_options(
    engine: sa.Engine,
    fmt: str,
    timezone: ZoneInfo,
    source: str,
    rep_from: str | None,
    mapping: Mapping[str, str] | None,
    encoding: str | None,
) -> Options:
    """The adapter options of an import, checked by the format's adapter before any read."""
    adapter = ADAPTERS.get(fmt)
    if adapter is None:
        raise FormatNotSupported(f"format '{fmt}' is not supported")
    options = Options(
        timezone=timezone,
        source=source,
        rep_from=rep_from,
        mapping=dict(mapping or {}),
        encoding=encoding,
        identifiers=roster_identifiers(engine),
    )
    adapter.check(options)
    return options


def _store(
    engine: sa.Engine, batch: Batch, ctx: IngestContext, strict_agents: bool
) -> BatchOutcome | None:
    """Store one read batch's records in their own transaction (None: it had none)."""
    if not batch.items:
        return None
    with import_transaction(engine) as conn:
        return apply_batch(
            conn,
            batch.items,
            ctx=ctx,
            now=datetime.now(UTC),
            strict_agents=strict_agents,
            bulk=True,  # an import is history in bulk: the set-based path
        )


class _Tally:
    """An import's counts so far: by status, skipped legs by reason, unresolved agents."""

    def __init__(self) -> None:
        self.counts = dict.fromkeys(STATUSES, 0)
        self.skipped: dict[str, int] = {}
        self.unresolved: dict[str, int] = {}

    def add(self, batch: Batch, outcome: BatchOutcome | None, rejects: _Rejects) -> None:
        """Count one stored batch, and write its rejected and unreadable rows to ``rejects``."""
        reasons: dict[int, str] = {}
        if outcome is not None:
            for code, n in outcome.unresolved.items():
                self.unresolved[code] = self.unresolved.get(code, 0) + n
            for result in outcome.results:
                self.counts[result.status] = self.counts.get(result.status, 0) + 1
                if result.status == "rejected":
                    reasons[batch.where[result.index]] = _reason(result.errors)
        # Merged legs come out when the next call starts: write rejects in row order.
        rows = batch.rows
        for pos in sorted(range(len(rows)), key=lambda p: rows[p][0]):
            row, record, reason, raw = rows[pos]
            if isinstance(reason, Skipped):
                self.counts["skipped"] += 1
                self.skipped[str(reason)] = self.skipped.get(str(reason), 0) + 1
            elif record is None:
                self.counts["rejected"] += 1
                rejects.write(row, reason or "unreadable row", _text(raw))
            elif pos in reasons:
                rejects.write(row, reasons[pos], _text(raw))


@contextmanager
def import_transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A write transaction for one batch of an import, committed without waiting for the disk
    (:func:`app.ingest.sql.lazy_commit`).

    An import is idempotent: a power cut may lose its last batches (never corrupt the
    database), and importing the file again brings them back while the rest come back as
    duplicates. The wait for the disk was a third of a SQLite import's time. Calls posted to the
    API keep the full wait (their answer promises they are stored). On SQLite the batch also
    keeps a 32 MiB page cache: inserts into the call and lead indexes land all over them.
    """
    with writer(engine).connect() as conn, lazy_commit(conn):
        yield conn


def roster_identifiers(engine: sa.Engine) -> frozenset[str]:
    """Every identifier of a rep on the roster (not of unresolved agents): what an adapter
    recognises as the agent's side of a call."""
    from app.models import Rep, table_of

    rep = table_of(Rep)
    q = (
        sa.select(IDENT.c.identifier)
        .join(rep, rep.c.id == IDENT.c.rep_id)
        .where(rep.c.team_id.is_not(None))
    )
    with engine.connect() as conn:
        return frozenset(conn.execute(q).scalars())


def _text(raw: Any) -> str:
    """A row's masked text, whether it came as a MaskedRow or as (lines, customer) from a
    worker process."""
    if isinstance(raw, tuple):
        masked = MaskedRow("", raw[1])
        masked.lines = raw[0]
        return str(masked)
    return str(raw)
