"""Reading an export for the importer: rows in batches, in this process or a worker process.

Kept apart from the importer (no database imports) so a worker process starts light: it
imports the adapters and nothing of SQLAlchemy.
"""

from __future__ import annotations

import multiprocessing
import queue
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from app.ingest.adapters import ADAPTERS, Input, OptionError, Options, Row
from app.ingest.records import CustomerHasher, parse_record

#: A row as a worker process hands it over: its raw text a str or (lines, customer) of a MaskedRow.
PipedRow = tuple[int, dict[str, Any] | None, str | None, str | tuple[list[str], frozenset[int]]]


@dataclass(slots=True)
class Batch:
    """Rows as the adapter yielded them and how far the file was read; the importer judges
    the records (``items``, with ``where`` their positions in ``rows``)."""

    rows: list[Row] | list[PipedRow]
    bytes_read: int
    rows_read: int
    items: list[Any] = field(default_factory=list)
    where: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Judge:
    """How a batch's records are judged (:func:`parse_record`'s settings); it travels to a
    worker process, which then judges as it reads."""

    default_source: str
    hasher: CustomerHasher
    minor_digits: int

    def __call__(self, batch: Batch) -> None:
        """Fill ``batch.items`` with its records judged, ``batch.where`` with their rows."""
        for pos, entry in enumerate(batch.rows):
            if entry[1] is not None:
                batch.items.append(
                    parse_record(
                        entry[1],
                        len(batch.items),
                        default_source=self.default_source,
                        hasher=self.hasher,
                        minor_digits=self.minor_digits,
                    )
                )
                batch.where.append(pos)


@dataclass(frozen=True, slots=True)
class ReadJob:
    path: Path
    fmt: str
    options: Options
    batch: int
    judge: Judge


def read_batches(job: ReadJob) -> Iterator[Batch]:
    """Read the file a batch of rows at a time, its records judged; the last batch (maybe
    empty) carries the final counts. In a worker process the judging happens there too: a
    record judged by msgspec costs less to judge than the storing side's time it saves."""
    adapter = ADAPTERS[job.fmt]
    with job.path.open("rb", buffering=1 << 20) as f:
        source = Input(f, size=job.path.stat().st_size)
        pending: list[Row] = []
        for item in adapter.read(source, job.options):
            pending.append(item)
            if len(pending) >= job.batch:
                yield _judged(job, Batch(pending, source.bytes_read, source.rows))
                pending = []
        yield _judged(job, Batch(pending, source.bytes_read, source.rows))


def _judged(job: ReadJob, batch: Batch) -> Batch:
    job.judge(batch)
    return batch


def _produce(job: ReadJob, out: Any) -> None:
    """The worker process: read, hand batches over; errors travel as messages."""
    try:
        for batch in read_batches(job):
            # Plain tuples cross the pipe at C speed; MaskedRow objects would each cost a call.
            read = cast("list[Row]", batch.rows)  # as the adapter yielded them, not yet piped
            batch.rows = [
                (row, record, reason, raw if isinstance(raw, str) else (raw.lines, raw.customer))
                for row, record, reason, raw in read
            ]
            out.put(("batch", batch))
        out.put(("end",))
    except OptionError as exc:
        out.put(("option", exc.field, exc.reason))
    except OSError as exc:
        out.put(("os", exc.errno, exc.strerror, str(exc.filename or job.path)))
    except BaseException as exc:  # noqa: BLE001 - reported to the importing process
        out.put(("error", f"{type(exc).__name__}: {exc}"))


def read_in_worker(job: ReadJob) -> Iterator[Batch]:
    """:func:`read_batches` run in a worker process, so reading the next batch (CPU in Python)
    overlaps judging and storing this one instead of taking turns with it for the GIL.
    Spawned, not forked: the server that uploads imports runs threads."""
    context = multiprocessing.get_context("spawn")
    out = context.Queue(maxsize=1)  # one batch waiting, one being read: bounded memory
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
