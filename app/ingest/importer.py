"""Import a telephony export file: stream it through an adapter into the ingest service.

The file is read line by line (never whole); every ``batch`` records are stored with
:func:`app.ingest.service.apply_batch` in their own write transaction, so a 1 GB file costs the
memory of a few batches. A big file is read and judged in a worker process while this one
stores, so the import uses two cores as the HTTP ingest does. Rows the adapter cannot read and
records the ingest rejects go, with their row number and reason, to a rejects CSV
(``row,reason,raw``) whose raw text never holds a phone number. Re-importing a file changes
nothing: every call comes back ``duplicate``.
"""

from __future__ import annotations

import csv
import multiprocessing
import queue
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from app.db import writer
from app.ingest.adapters import ADAPTERS, Input, OptionError, Options, Row
from app.ingest.adapters.base import MaskedRow
from app.ingest.records import CustomerHasher, Incoming, Invalid, parse_record
from app.ingest.service import IngestContext, apply_batch

STATUSES = ("created", "updated", "duplicate", "stale", "rejected")
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
        self._file = None
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
    batch: int = 5000,
    progress: Callable[[int], None] | None = None,
    parallel_from: int = 4 << 20,
) -> dict[str, Any]:
    """Import one file; returns ``{"rows", created…rejected, "rejects_path"}``.

    ``rows`` counts the data rows read; a call of several legs is one record.
    ``progress(bytes_read)`` is called after every stored batch. Raises ``OSError`` when the
    file cannot be read or the rejects file cannot be written, :class:`FormatNotSupported`
    for a format without an adapter, :class:`~app.ingest.adapters.OptionError` for options
    the format cannot use (before anything is read). Files of ``parallel_from`` bytes or more
    are read in a worker process while this one stores.
    """
    adapter = ADAPTERS.get(fmt)
    if adapter is None:
        raise FormatNotSupported(f"format '{fmt}' is not supported")
    options = Options(
        timezone=timezone,
        source=source,
        rep_from=rep_from,
        mapping=dict(mapping or {}),
        encoding=encoding,
    )
    adapter.check(options)
    path = Path(path)
    rejects = _Rejects(Path(rejects_path) if rejects_path else default_rejects_path(path))
    counts = dict.fromkeys(STATUSES, 0)
    read = _Batch([], [], [], 0, 0)

    def judge(batch: _Batch) -> None:
        for pos, entry in enumerate(batch.rows):
            if entry[1] is not None:
                batch.items.append(
                    parse_record(
                        entry[1],
                        len(batch.items),
                        default_source=source,
                        hasher=ctx.hasher,
                        minor_digits=minor_digits,
                    )
                )
                batch.where.append(pos)

    def store(batch: _Batch) -> None:
        judge(batch)
        reasons: dict[int, str] = {}
        if batch.items:
            with writer(engine).begin() as conn:
                outcome = apply_batch(conn, batch.items, ctx=ctx, now=datetime.now(UTC))
            for result in outcome.results:
                counts[result.status] = counts.get(result.status, 0) + 1
                if result.status == "rejected":
                    reasons[batch.where[result.index]] = _reason(result.errors)
        # Merged legs come out when the next call starts: write rejects in row order.
        rows = batch.rows
        for pos in sorted(range(len(rows)), key=lambda p: rows[p][0]):
            row, record, reason, raw = rows[pos]
            if record is None:
                counts["rejected"] += 1
                rejects.write(row, reason or "unreadable row", _text(raw))
            elif pos in reasons:
                rejects.write(row, reasons[pos], _text(raw))
        if progress is not None:
            progress(batch.bytes_read)

    job = _Job(path, fmt, options, ctx.hasher, minor_digits, batch)
    try:
        big = path.stat().st_size >= parallel_from
        for prepared in _in_worker(job) if big else _prepared_batches(job):
            store(prepared)
            read = prepared
    finally:
        rejects.close()
    return {
        "rows": read.rows_read,
        **counts,
        "rejects_path": str(rejects.path) if rejects.count else None,
    }


def _text(raw: Any) -> str:
    """A row's masked text, whether it came as a MaskedRow or as (lines, customer) from a
    worker process."""
    if isinstance(raw, tuple):
        masked = MaskedRow("", raw[1])
        masked.lines = raw[0]
        return str(masked)
    return str(raw)


@dataclass(slots=True)
class _Batch:
    """Rows as the adapter yielded them, their records judged, and how far the file was read."""

    rows: list[Row]
    items: list[Incoming | Invalid]  # the records of rows, judged
    where: list[int]  # position in rows of each item
    bytes_read: int
    rows_read: int


@dataclass(frozen=True, slots=True)
class _Job:
    path: Path
    fmt: str
    options: Options
    hasher: CustomerHasher
    minor_digits: int
    batch: int


def _prepared_batches(job: _Job) -> Iterator[_Batch]:
    """Read the file a batch of rows at a time; the last batch (maybe empty) carries the final
    counts. Records are judged (parse_record) by the storing side: a judged record costs more
    to pass between processes than to judge."""
    adapter = ADAPTERS[job.fmt]
    with job.path.open("rb", buffering=1 << 20) as f:
        source = Input(f, size=job.path.stat().st_size)
        pending: list[Row] = []

        def prepare() -> _Batch:
            return _Batch(pending, [], [], source.bytes_read, source.rows)

        for item in adapter.read(source, job.options):
            pending.append(item)
            if len(pending) >= job.batch:
                yield prepare()
                pending = []
        yield prepare()


def _produce(job: _Job, out: Any) -> None:
    """The worker process: read, hand batches over; errors travel as messages."""
    try:
        for prepared in _prepared_batches(job):
            # Plain tuples cross the pipe at C speed; MaskedRow objects would each cost a call.
            prepared.rows = [
                (row, record, reason, raw if isinstance(raw, str) else (raw.lines, raw.customer))
                for row, record, reason, raw in prepared.rows
            ]
            out.put(("batch", prepared))
        out.put(("end",))
    except OptionError as exc:
        out.put(("option", exc.field, exc.reason))
    except OSError as exc:
        out.put(("os", exc.errno, exc.strerror, str(exc.filename or job.path)))
    except BaseException as exc:  # noqa: BLE001 - reported to the importing process
        out.put(("error", f"{type(exc).__name__}: {exc}"))


def _in_worker(job: _Job) -> Iterator[_Batch]:
    """:func:`_prepared_batches` run in a worker process, so reading the next batch (CPU in
    Python) overlaps judging and storing this one instead of taking turns with it for the GIL.
    Spawned, not forked: the server that uploads imports runs threads."""
    context = multiprocessing.get_context("spawn")
    out = context.Queue(maxsize=2)  # two batches in flight bound the memory
    worker = context.Process(target=_produce, args=(job, out), daemon=True)
    worker.start()
    try:
        while True:
            try:
                message = out.get(timeout=1.0)
            except queue.Empty:
                if not worker.is_alive():
                    raise RuntimeError(
                        f"the import worker stopped (exit code {worker.exitcode})"
                    ) from None
                continue
            kind = message[0]
            if kind == "batch":
                yield message[1]
            elif kind == "end":
                return
            elif kind == "option":
                raise OptionError(message[1], message[2])
            elif kind == "os":
                raise OSError(message[1], message[2], message[3])
            else:
                raise RuntimeError(message[1])
    finally:
        if worker.is_alive():
            worker.terminate()
        worker.join(timeout=5)
        out.close()
