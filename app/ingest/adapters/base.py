"""What every adapter shares: the input it reads, the options it is given, the rows it yields.

An adapter is a function ``read(source: Input, options: Options) -> Iterator[Row]``. It never
touches the database: the importer turns each record through
:func:`app.ingest.records.parse_record` and stores batches with
:func:`app.ingest.batch.apply_batch`. A row the adapter cannot read is yielded with its
reason, never raised, so one broken row never stops a file.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

from app.ingest.mask import mask

#: (row number, record in the POST /api/v1/calls shape or None, reason or None, raw text of the
#: row with phone numbers masked — for the rejects file; ``str()`` of it, which may be computed
#: only when asked: most rows are never written to a rejects file).
Row = tuple[int, dict[str, Any] | None, str | None, "str | MaskedRow"]


class RowError(ValueError):
    """A row that cannot become a record; the message is the reason."""


class OptionError(ValueError):
    """An import option the adapter cannot use; ``field`` names the option."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Options:
    """What the person importing said about the file."""

    timezone: ZoneInfo
    source: str
    rep_from: str | None = None
    #: record field → column header (generic CSV/xlsx ``--map started_at=开始时间``).
    mapping: Mapping[str, str] = field(default_factory=dict)
    #: text encoding; None = the adapter's default (UTF-8, BOM tolerated).
    encoding: str | None = None
    #: Every identifier on the roster: an export's side that holds one is the agent's.
    identifiers: frozenset[str] = frozenset()


class Skipped(str):
    """The reason a row is left out on purpose (a helper leg of a call counted on another row):
    counted in the import summary by reason, never a reject."""


#: The rep of a call on which no agent can be found (an inbound call no agent answered): an
#: unresolved bucket that is never shown by name.
NO_AGENT = "#no-agent"


def extension_like(value: str) -> bool:
    """A PBX extension: 2 to 6 digits."""
    return value.isascii() and value.isdigit() and 2 <= len(value) <= 6


#: Dialplan contexts calls from outside enter by (FreePBX, Asterisk and FreeSWITCH defaults).
INBOUND_CONTEXTS = (
    "from-trunk",
    "from-pstn",
    "from-external",
    "from-did",
    "ext-did",
    "public",
    "incoming",
    "inbound",
    "from-provider",
    "from-carrier",
)


def inbound_context(context: str) -> bool:
    """Whether a dialplan context is one calls from outside arrive in."""
    return context.strip().lower().startswith(INBOUND_CONTEXTS)


# What a PBX or a spreadsheet writes: 2020-02-10 22:41:05, 2020/2/10 22:41, 2020-02-10T22:41.
_NAIVE_TIME = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?")


def naive_time(text: str) -> datetime:
    """A time as a PBX or a spreadsheet that re-saved its file writes it (seconds optional,
    ``-`` or ``/``, no zero padding); ValueError otherwise."""
    m = _NAIVE_TIME.fullmatch(text.strip())
    if m is None:
        raise ValueError(text)
    y, mo, d, h, mi, sec = m.groups()
    return datetime(int(y), int(mo), int(d), int(h), int(mi), int(sec or 0))


class Input:
    """A file being imported, read once from start to end.

    ``bytes_read`` feeds a progress bar; ``rows`` counts the data rows read (non-blank lines for
    line-based formats; an adapter with a header row or no lines sets it itself).
    """

    def __init__(self, f: BinaryIO, *, size: int = 0) -> None:
        self.file = f
        self.size = size
        self.bytes_read = 0
        self.rows = 0

    def lines(self, encoding: str = "utf-8") -> Iterator[str]:
        """The file's lines, decoded one by one: a stray undecodable byte (a caller name in a
        clid) spoils one field, not the import. A UTF-8 BOM on the first line is dropped."""
        first = True
        for raw in self.file:
            self.bytes_read += len(raw)
            if first:
                # A file that is only a BOM has no rows: drop it before counting.
                raw = raw.removeprefix(b"\xef\xbb\xbf")
            if raw.strip():
                self.rows += 1
            text = raw.decode(encoding, errors="replace")
            if first:
                text = text.removeprefix("\ufeff")
                first = False
            yield text


@dataclass(frozen=True, slots=True)
class Adapter:
    """A format the importer can read."""

    name: str
    summary: str
    read: Callable[[Input, Options], Iterator[Row]]
    #: Columns ``rep_from`` may name; None when the adapter takes no ``rep_from``.
    rep_columns: tuple[str, ...] | None = None
    #: Whether the format needs a column mapping (``--map``/``--profile``).
    mapped: bool = False
    #: The format's own check of the options (raises :class:`OptionError`), before any read.
    validate: Callable[[Options], None] | None = None

    def check(self, options: Options) -> None:
        """Raise :class:`OptionError` for options this format cannot use."""
        if options.encoding is not None:
            check_encoding(options.encoding)
        if options.rep_from is not None:
            if self.rep_columns is None:
                raise OptionError("rep_from", f"format {self.name} takes no --rep-from")
            if self.rep_columns and options.rep_from not in self.rep_columns:
                raise OptionError(
                    "rep_from",
                    f"'{options.rep_from}' is not a column ({', '.join(self.rep_columns)})",
                )
        if options.mapping and not self.mapped:
            raise OptionError("map", f"format {self.name} has fixed columns; --map is for csv/xlsx")
        if self.validate is not None:
            self.validate(options)


def check_encoding(name: str) -> None:
    """Raise ``OptionError(encoding)`` unless ``name`` is a text encoding Python knows (not a
    bytes-to-bytes codec such as ``rot13`` or ``uu_codec``)."""
    try:
        info = codecs.lookup(name)
    except LookupError:
        raise OptionError(
            "encoding", f"unknown text encoding '{name[:40]}' (e.g. utf-8, gb18030)"
        ) from None
    # The codec registry's own mark: bytes.decode refuses codecs without it.
    if not getattr(info, "_is_text_encoding", True):
        raise OptionError("encoding", f"'{name[:40]}' is not a text encoding (e.g. utf-8)")


# Values kept as written in a rejects file although they hold long digit runs.
_KEEP = re.compile(
    r"\d{4}[-/]\d{1,2}[-/]\d{1,2}[ T]\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:[+-]\d{2}:?\d{2}|Z)?"
    r"|(?:[\w.-]+-)?\d{9,11}\.\d+"  # an Asterisk uniqueid
    r"|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"  # a uuid
    r"|[A-Za-z0-9]+/[\w.]{1,6}-[0-9a-fA-F]{8}(?:;\d)?"  # a channel of a short peer
)


def whole_seconds(text: str, name: str) -> int:
    """A count of seconds as a PBX writes it (empty: 0); RowError naming ``name`` otherwise."""
    text = text.strip()
    if not text:
        return 0
    if not (text.isascii() and text.isdigit()) or len(text) > 9:
        raise RowError(f"{name}: '{mask_value(text[:40])}' is not a whole number of seconds")
    return int(text)


def mask_value(value: str) -> str:
    """``value`` with anything that may be a phone number replaced by ``***``."""
    if _KEEP.fullmatch(value):
        return value
    return mask(value)


def mask_fields(fields: list[str], customer: frozenset[int] | set[int] = frozenset()) -> str:
    """One row as CSV text, safe to write to a file: the fields at ``customer`` positions become
    ``***`` and anything else that may be a phone number is masked too."""
    out = [
        ("***" if value else "") if i in customer else mask_value(value)
        for i, value in enumerate(fields)
    ]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(out)
    return buf.getvalue()


def mask_text(text: str, customer: frozenset[int] | set[int] = frozenset()) -> str:
    """A line that may not parse as CSV, made safe like :func:`mask_fields`."""
    try:
        fields = next(csv.reader([text], strict=False), [])
    except csv.Error:
        return mask(text)
    return mask_fields(fields, customer)


class MaskedRow:
    """A row's text, masked when shown (``str()``): masking every good row costs a fifth of an
    import, and only rejected rows are ever written out. Holds the line as read (not its
    fields): cheap to hand to another process."""

    __slots__ = ("customer", "lines")

    def __init__(self, line: str, customer: frozenset[int] | set[int] | tuple[int, ...]) -> None:
        self.lines = [line]
        self.customer = frozenset(customer)

    def add(self, other: MaskedRow) -> None:
        """Append another row (a further leg of the same call), shown on its own line."""
        self.lines.extend(other.lines)

    def __str__(self) -> str:
        return "\n".join(mask_text(line, self.customer) for line in self.lines)
