"""Generic spreadsheets → call records: ``csv`` and ``xlsx`` files with a header row.

The first non-blank row is the header; every later non-blank row is one call. Columns are mapped
to record fields by ``Options.mapping`` ({record field: column header}, ``--map
started_at=开始时间``); a field left unmapped is read from a column whose header is the field's
name, so an export with the English headers ``call_id,rep,started_at,…`` needs no map. Headers
match with surrounding whitespace and a BOM stripped, exactly first, then case-insensitively.
``rep_from`` names the rep's column like ``--map rep=…``.

Rules:

* rep and started_at need a column. A mapped column missing from the header, or a required field
  without a column, raises :class:`OptionError` before any row is read: every row would fail.
* Times: ISO 8601 (an offset is kept; none → ``Options.timezone``), ``YYYY-MM-DD HH:MM[:SS]``,
  ``YYYY/M/D H:MM[:SS]`` (Excel drops the seconds when it re-saves a CSV), and in xlsx datetime
  cells (naive → the timezone) and Excel serial day numbers.
* talk_seconds: whole seconds, ``H:MM:SS``/``MM:SS``, ``1分30秒``, and in xlsx time/duration cells.
* disposition: ours or a common word (接通, 未接, 占线, 空号, 取消, ``NO ANSWER`` …); with no
  disposition column (or an empty cell) a call with talk is ``answered``, else ``no_answer``.
* call_id: the mapped/named column; without one, ``row-`` + a SHA-1 prefix of (rep, started_at,
  customer), so a re-import, even of a re-sorted file, finds the same calls.
* CSV text: ``Options.encoding``, else UTF-8 (BOM or not) when the first 64 KiB decode as UTF-8,
  else GB18030 (Excel on Chinese Windows). The delimiter is a comma, or a tab/semicolon when the
  header has more of those. The file is streamed; rows are numbered by the file line they start
  on (the header is row 1). xlsx: the first sheet, numbered by sheet row.
* A row that cannot be read yields its reason (naming the field and the value, never the
  customer's number) and the rest of the file goes on. Raw text for rejects has the customer
  column replaced by ``***`` and other phone-like values masked.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import math
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from app.ingest.adapters.base import (
    Adapter,
    Input,
    OptionError,
    Options,
    Row,
    RowError,
    mask_fields,
    mask_value,
)

#: Record fields a column may be mapped to.
FIELDS = (
    "call_id",
    "revision",
    "rep",
    "direction",
    "started_at",
    "answered_at",
    "ended_at",
    "talk_seconds",
    "disposition",
    "outcome",
    "order_value",
    "customer",
)
REQUIRED = ("rep", "started_at")

DISPOSITIONS = {
    **{
        w: "answered" for w in ("answered", "answer", "connected", "接通", "已接通", "已接", "成功")
    },
    **{
        w: "no_answer"
        for w in (
            "no_answer",
            "no answer",
            "noanswer",
            "not answered",
            "unanswered",
            "未接",
            "未接通",
            "无人接听",
            "无应答",
        )
    },
    **{w: "busy" for w in ("busy", "忙", "占线", "用户忙", "忙线")},
    **{w: "failed" for w in ("failed", "fail", "congestion", "失败", "呼叫失败", "空号", "停机")},
    **{w: "cancelled" for w in ("cancelled", "canceled", "cancel", "取消", "已取消")},
}
DIRECTIONS = {
    **{w: "outbound" for w in ("outbound", "out", "outgoing", "呼出", "外呼", "去电")},
    **{w: "inbound" for w in ("inbound", "in", "incoming", "呼入", "来电")},
    **{w: "internal" for w in ("internal", "内线", "内部", "分机互拨")},
}
OUTCOMES = {
    **{w: "none" for w in ("none", "无")},
    **{w: "sale" for w in ("sale", "sold", "成交", "成单")},
    **{w: "invite" for w in ("invite", "邀约")},
    **{w: "callback" for w in ("callback", "call back", "回访", "回拨", "再联系")},
    **{w: "not_interested" for w in ("not_interested", "not interested", "无意向", "不感兴趣")},
    **{w: "do_not_call" for w in ("do_not_call", "do not call", "dnc", "勿扰", "拒绝再呼")},
}

_PREFIX = 64 * 1024
_PROGRESS_EVERY = 100
_MIN_YEAR, _MAX_YEAR = 1970, 2100
# Excel serial day numbers of 1970-01-01 and 2101-01-01 (1900 date system).
_SERIAL_MIN, _SERIAL_MAX = 25569, 73416
_EXCEL_EPOCH = datetime(1899, 12, 30)
_DATETIME = re.compile(
    r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})[ T]+"
    r"(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?"
    r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?",
    re.IGNORECASE,
)
_CLOCK = re.compile(r"(?:(\d{1,5}):)?(\d{1,5}):(\d{1,2})(?:[.,]\d+)?")
_CHINESE_SPAN = re.compile(
    r"(?:(\d{1,5})\s*(?:小时|时))?\s*(?:(\d{1,5})\s*分钟?)?\s*(?:(\d{1,9})\s*秒)?"
)
# A bad time worth showing as written: a date-like value without a phone-length digit run.
_DATE_LIKE = re.compile(
    r"(?:(?:19|20|21)\d{2}[-/.年]\d{1,2}(?:[-/.月]\d{1,2}日?)?|\d{1,2}[-/.]\d{1,2}[-/.](?:19|20)\d{2})"
    r"(?:[ T][\d:.\sAPMapm+Z-]{0,20})?"
)
_MONEY_NOISE = re.compile(r"[\s,¥￥$元]")
_HEADER_SHOWN = 30


# --- options ---------------------------------------------------------------------------------


def check_mapping(mapping: Mapping[str, str]) -> None:
    """Raise ``OptionError(map)`` when ``mapping`` names a field a record does not have."""
    for name in mapping:
        if name not in FIELDS:
            raise OptionError("map", f"unknown field '{name}' (fields: {', '.join(FIELDS)})")


def _norm(name: str) -> str:
    return name.strip().strip("\ufeff").strip()


@dataclass(frozen=True, slots=True)
class _Layout:
    """Where each field is in a row, as the header says."""

    columns: dict[str, int]
    names: tuple[str, ...]

    @property
    def customer(self) -> frozenset[int]:
        i = self.columns.get("customer")
        return frozenset() if i is None else frozenset({i})

    def label(self, name: str) -> str:
        """``field`` or ``field (column)`` when the column has another name."""
        column = self.names[self.columns[name]]
        return name if column == name else f"{name} ({column})"


def _listing(names: list[str]) -> str:
    """The header for an error message; a data row taken for a header shows no numbers."""
    shown = [f"'{mask_value(n[:40])}'" for n in names[:_HEADER_SHOWN]]
    more = f", … ({len(names)} columns)" if len(names) > _HEADER_SHOWN else ""
    return ", ".join(shown) + more


def _layout(header: list[Any], options: Options) -> _Layout:
    check_mapping(options.mapping)
    mapping = {name: _norm(column) for name, column in options.mapping.items()}
    if options.rep_from is not None:
        rep_from = _norm(options.rep_from)
        if "rep" in mapping and mapping["rep"] != rep_from:
            raise OptionError(
                "rep_from", f"'{rep_from}' and --map rep={mapping['rep']} name different columns"
            )
        mapping["rep"] = rep_from
    names = [_norm(_text(cell)) for cell in header]
    exact: dict[str, int] = {}
    folded: dict[str, int] = {}
    for pos, name in enumerate(names):
        exact.setdefault(name, pos)
        folded.setdefault(name.casefold(), pos)

    def find(column: str) -> int | None:
        i = exact.get(column)
        return folded.get(column.casefold()) if i is None else i

    columns: dict[str, int] = {}
    for name, column in mapping.items():
        i = find(column)
        if i is None:
            option = "rep_from" if name == "rep" and options.rep_from is not None else "map"
            raise OptionError(
                option, f"column '{column}' ({name}) is not in the header: {_listing(names)}"
            )
        columns[name] = i
    for name in FIELDS:
        if name not in columns:
            i = find(name)
            if i is not None:
                columns[name] = i
    for name in REQUIRED:
        if name not in columns:
            raise OptionError(
                "map",
                f"no column for {name}: map one with --map {name}=COLUMN "
                f"(the header: {_listing(names)})",
            )
    return _Layout(columns, tuple(names))


# --- values ----------------------------------------------------------------------------------


def _text(value: Any) -> str:
    """A cell as text: what the rejects file shows and what text fields hold."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        total = int(value.total_seconds())
        sign, total = ("-", -total) if total < 0 else ("", total)
        return f"{sign}{total // 3600}:{total % 3600 // 60:02d}:{total % 60:02d}"
    return str(value)


def _shown(value: Any) -> str:
    """A value quoted in a reason: short, and never a phone number."""
    return mask_value(_text(value).strip()[:40])


def _offset(text: str) -> timezone:
    if text.upper() == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    if hours > 18 or minutes > 59:
        raise ValueError("offset out of range")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _parse_time_text(text: str) -> datetime:
    m = _DATETIME.fullmatch(text)
    if m:
        y, mo, d, h, mi, s, frac, off = m.groups()
        micro = int((frac or "0")[:6].ljust(6, "0"))
        value = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s or 0), micro)
        return value.replace(tzinfo=_offset(off)) if off else value
    if "T" in text.upper() or ":" in text:
        return datetime.fromisoformat(text)
    raise ValueError(text)


def _when(value: Any, name: str, layout: _Layout, tz: ZoneInfo) -> datetime | None:
    """A time cell → an aware datetime; None when the cell is empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        if isinstance(value, datetime):
            parsed = value
        elif isinstance(value, int | float) and not isinstance(value, bool):
            if not (math.isfinite(value) and _SERIAL_MIN <= value < _SERIAL_MAX):
                raise ValueError(value)
            parsed = _EXCEL_EPOCH + timedelta(seconds=round(value * 86400))
        elif isinstance(value, str):
            parsed = _parse_time_text(value.strip())
        else:
            raise ValueError(value)
    except (ValueError, OverflowError):
        text = _text(value).strip()[:40]
        shown = text if _DATE_LIKE.fullmatch(text) and not re.search(r"\d{5}", text) else None
        raise RowError(
            f"{layout.label(name)}: '{shown or _shown(value)}' is not a date and time "
            "(YYYY-MM-DD HH:MM[:SS], YYYY/M/D H:MM or ISO 8601)"
        ) from None
    if not _MIN_YEAR <= parsed.year <= _MAX_YEAR:
        raise RowError(
            f"{layout.label(name)}: '{mask_value(_text(value).strip()[:40])}' is out of range"
        )
    return parsed.replace(tzinfo=tz) if parsed.tzinfo is None else parsed


def _seconds(value: Any, name: str, layout: _Layout) -> int | None:
    """A duration cell → whole seconds; None when the cell is empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    seconds: float | None = None
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, time):
        seconds = value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value) if math.isfinite(value) else None
    elif isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.isdigit() and len(text) <= 9:
            seconds = int(text)
        elif m := re.fullmatch(r"(\d{1,9})[.,](\d{1,6})", text):
            seconds = float(f"{m.group(1)}.{m.group(2)}")
        elif m := _CLOCK.fullmatch(text):
            h, mi, s = (int(g or 0) for g in m.groups())
            if s < 60 and (m.group(1) is None or mi < 60):
                seconds = h * 3600 + mi * 60 + s
        elif (m := _CHINESE_SPAN.fullmatch(text)) and any(m.groups()):
            h, mi, s = (int(g or 0) for g in m.groups())
            seconds = h * 3600 + mi * 60 + s
    if seconds is None or seconds < 0 or seconds > 10**9:
        raise RowError(
            f"{layout.label(name)}: '{_shown(value)}' is not a duration (seconds, H:MM:SS or MM:SS)"
        )
    return round(seconds)


def _word(value: Any, name: str, layout: _Layout, words: dict[str, str], what: str) -> str | None:
    text = _text(value).strip()
    if not text:
        return None
    key = " ".join(text.replace("_", " ").split()).casefold()
    found = words.get(text.casefold()) or words.get(key) or words.get(key.replace(" ", "_"))
    if found is None:
        raise RowError(f"{layout.label(name)}: '{_shown(value)}' is not {what}")
    return found


def _money(value: Any, name: str, layout: _Layout) -> str | None:
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    text = _MONEY_NOISE.sub("", _text(value))
    if not text:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        raise RowError(f"{layout.label(name)}: '{_shown(value)}' is not an amount")
    return text


def _integer(value: Any, name: str, layout: _Layout) -> int | None:
    text = _text(value).strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > 16:
        raise RowError(f"{layout.label(name)}: '{_shown(value)}' is not a whole number")
    return int(text)


def _record(cells: list[Any], layout: _Layout, options: Options) -> dict[str, Any]:
    """One row → a record in the POST /api/v1/calls shape, or :class:`RowError`."""

    def get(name: str) -> Any:
        i = layout.columns.get(name)
        return cells[i] if i is not None and i < len(cells) else None

    tz = options.timezone
    rep = _text(get("rep")).strip()
    if not rep:
        raise RowError(f"{layout.label('rep')}: is empty")
    started = _when(get("started_at"), "started_at", layout, tz)
    if started is None:
        raise RowError(f"{layout.label('started_at')}: is empty")
    answered = _when(get("answered_at"), "answered_at", layout, tz)
    ended = _when(get("ended_at"), "ended_at", layout, tz)
    talk = _seconds(get("talk_seconds"), "talk_seconds", layout)
    disposition = _word(get("disposition"), "disposition", layout, DISPOSITIONS, "a disposition")
    direction = _word(get("direction"), "direction", layout, DIRECTIONS, "a direction")
    outcome = _word(get("outcome"), "outcome", layout, OUTCOMES, "an outcome")
    order_value = _money(get("order_value"), "order_value", layout)
    revision = _integer(get("revision"), "revision", layout)
    customer = _text(get("customer")).strip()
    if disposition is None:
        if talk is None and answered is not None and ended is not None:
            talk = max(0, int((ended - answered).total_seconds()))
        disposition = "answered" if talk else "no_answer"
        talk = talk or 0
    started_text = started.isoformat()
    call_id = _text(get("call_id")).strip()
    if not call_id:
        basis = "\x1f".join((rep, started_text, customer))
        call_id = "row-" + hashlib.sha1(basis.encode()).hexdigest()[:24]
    rec: dict[str, Any] = {
        "source": options.source,
        "call_id": call_id,
        "rep": rep,
        "rep_column": layout.names[layout.columns["rep"]],
        "started_at": started_text,
        "disposition": disposition,
    }
    optional = {
        "revision": revision,
        "direction": direction,
        "answered_at": answered.isoformat() if answered is not None else None,
        "ended_at": ended.isoformat() if ended is not None else None,
        "talk_seconds": talk,
        "outcome": outcome,
        "order_value": order_value,
        "customer": customer or None,
    }
    rec.update((k, v) for k, v in optional.items() if v is not None)
    return rec


# --- rows ------------------------------------------------------------------------------------


def _blank(cells: list[Any]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def _rows(
    rows: Iterable[tuple[int, list[Any], str | None]], source: Input, options: Options
) -> Iterator[Row]:
    """(row number, cells, or the reason they cannot be read) → adapter rows; the first
    non-blank row is the header."""
    layout: _Layout | None = None
    try:
        for number, cells, error in rows:
            if error is None and _blank(cells):
                continue
            if layout is None:
                if error is not None:
                    raise OptionError("map", f"the header row cannot be read ({error})")
                layout = _layout(cells, options)
                continue
            source.rows += 1
            if error is not None:
                yield number, None, error, ""
                continue
            raw = mask_fields([_text(c) for c in cells], layout.customer)
            try:
                record = _record(cells, layout, options)
            except RowError as exc:
                yield number, None, str(exc), raw
                continue
            yield number, record, None, raw
    finally:
        # A header error leaves the reader suspended: release the file now.
        close = getattr(rows, "close", None)
        if close is not None:
            close()


# --- csv -------------------------------------------------------------------------------------


def _encoding(head: bytes, given: str | None) -> str:
    """The text encoding: the given one (a UTF-8 BOM tolerated), else UTF-8 when the first
    64 KiB decode as UTF-8 (a character cut at the end allowed), else GB18030."""
    if given:
        try:
            name = codecs.lookup(given).name
        except LookupError:
            raise OptionError("encoding", f"unknown text encoding '{given}'") from None
        return "utf-8-sig" if name == "utf-8" else name
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=len(head) < _PREFIX)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8-sig"


def _delimiter(head: bytes, encoding: str) -> str:
    """Comma, or tab/semicolon when the header line holds more of those."""
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(head, final=False)
    line = next((ln for ln in text.splitlines() if ln.strip()), "")
    return max((",", "\t", ";"), key=line.count)


def _csv_rows(source: Input, options: Options) -> Iterator[tuple[int, list[Any], str | None]]:
    f = source.file
    head = f.read(_PREFIX)
    f.seek(0)
    encoding = _encoding(head, options.encoding)
    delimiter = _delimiter(head, encoding)
    text = io.TextIOWrapper(f, encoding=encoding, errors="replace", newline="")
    try:
        reader = csv.reader(text, delimiter=delimiter)
        last_line = 0
        count = 0
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                start, last_line = last_line + 1, reader.line_num
                yield start, [], f"not a CSV row ({exc})"
                continue
            start, last_line = last_line + 1, reader.line_num
            count += 1
            if count % _PROGRESS_EVERY == 0:
                source.bytes_read = f.tell()
            yield start, cells, None
        source.bytes_read = f.tell()
    finally:
        if not f.closed:
            text.detach()  # the caller's file stays open


def _read_csv(source: Input, options: Options) -> Iterator[Row]:
    return _rows(_csv_rows(source, options), source, options)


# --- xlsx ------------------------------------------------------------------------------------


def _read_xlsx(source: Input, options: Options) -> Iterator[Row]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(source.file, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError) as exc:
        raise OptionError("format", f"not an xlsx workbook ({exc})") from None
    try:
        if not book.worksheets:
            return
        sheet = book.worksheets[0]
        sheet.reset_dimensions()
        rows = (
            (number, list(cells), None)
            for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1)
        )
        yield from _rows(rows, source, options)
    finally:
        book.close()
        source.bytes_read = source.size


def _check_options(options: Options) -> None:
    check_mapping(options.mapping)


CSV = Adapter(
    name="csv",
    summary="A CSV file with a header row (UTF-8 or GB18030); columns mapped with --map",
    read=_read_csv,
    rep_columns=(),
    mapped=True,
    validate=_check_options,
)
XLSX = Adapter(
    name="xlsx",
    summary="An Excel .xlsx workbook, first sheet, header row; columns mapped with --map",
    read=_read_xlsx,
    rep_columns=(),
    mapped=True,
    validate=_check_options,
)
