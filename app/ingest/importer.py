"""Import a telephony export file: stream it through an adapter into the ingest service.

The file is read line by line (never whole); every ``batch`` records are stored with
:func:`app.ingest.service.apply_batch` in their own write transaction, so a 1 GB file costs the
memory of one batch. Rows the adapter cannot read and records the ingest rejects go, with their
row number and reason, to a rejects CSV (``row,reason,raw``) whose raw text never holds a phone
number. Re-importing a file changes nothing: every call comes back ``duplicate``.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from app.db import writer
from app.ingest.adapters import ADAPTERS, Input, Options
from app.ingest.records import parse_record
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
    batch: int = 1000,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Import one file; returns ``{"rows", created…rejected, "rejects_path"}``.

    ``rows`` counts the data rows read; a call of several legs is one record.
    ``progress(bytes_read)`` is called after every stored batch. Raises ``OSError`` when the
    file cannot be read or the rejects file cannot be written, :class:`FormatNotSupported`
    for a format without an adapter, :class:`~app.ingest.adapters.OptionError` for options
    the format cannot use (before anything is read).
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
    source_file: Input | None = None
    # (row, record or None, reason or None, masked raw) as the adapter yields them: one batch.
    pending: list[tuple[int, dict[str, Any] | None, str | None, str]] = []

    def flush() -> None:
        items, where = [], []
        for pos, entry in enumerate(pending):
            record = entry[1]
            if record is not None:
                items.append(
                    parse_record(
                        record,
                        len(items),
                        default_source=source,
                        hasher=ctx.hasher,
                        minor_digits=minor_digits,
                    )
                )
                where.append(pos)
        reasons: dict[int, str] = {}
        if items:
            with writer(engine).begin() as conn:
                outcome = apply_batch(conn, items, ctx=ctx, now=datetime.now(UTC))
            for result in outcome.results:
                counts[result.status] = counts.get(result.status, 0) + 1
                if result.status == "rejected":
                    reasons[where[result.index]] = _reason(result.errors)
        # Merged legs come out when the next call starts: write rejects in row order.
        for pos in sorted(range(len(pending)), key=lambda p: pending[p][0]):
            row, record, reason, raw = pending[pos]
            if record is None:
                counts["rejected"] += 1
                rejects.write(row, reason or "unreadable row", raw)
            elif pos in reasons:
                rejects.write(row, reasons[pos], raw)
        pending.clear()
        if progress is not None and source_file is not None:
            progress(source_file.bytes_read)

    try:
        with path.open("rb") as f:
            source_file = Input(f, size=path.stat().st_size)
            for item in adapter.read(source_file, options):
                pending.append(item)
                if len(pending) >= batch:
                    flush()
            if pending:
                flush()
    finally:
        rejects.close()
    return {
        "rows": source_file.rows if source_file is not None else 0,
        **counts,
        "rejects_path": str(rejects.path) if rejects.count else None,
    }
