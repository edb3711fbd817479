"""The CallRecord schema: what a telephony source may send, validated and normalised.

Adapters (JSON, CSV exports, webhooks) all end here; the ingest service only sees
:class:`Incoming` (a valid record: the fields it carries, normalised) or :class:`Invalid`.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal, overload

import msgspec
import orjson
from msgspec import UNSET, UnsetType
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from app.floor.pacing import FIRST_DAY, LAST_DAY
from app.ingest.mask import holds_number, replace_numbers
from app.ingest.mask import normalise as fold

#: ``internal``: extension to extension, kept but counted as neither a dial nor inbound.
Direction = Literal["outbound", "inbound", "internal"]
Disposition = Literal["answered", "no_answer", "busy", "failed", "cancelled"]
Outcome = Literal["none", "sale", "invite", "callback", "not_interested", "do_not_call"]

#: Fields that make up a call's content (compared to tell duplicate from update).
CONTENT_FIELDS = (
    "rep",
    "direction",
    "started_at",
    "answered_at",
    "ended_at",
    "talk_seconds",
    "disposition",
    "outcome",
    "order_value",
    "customer_key",
)
#: Defaults for fields a record leaves out when it creates a call.
CREATE_DEFAULTS: dict[str, Any] = {
    "direction": "outbound",
    "answered_at": None,
    "ended_at": None,
    "talk_seconds": 0,
    "outcome": "none",
    "order_value": 0,
    "customer_key": None,
}

Text = Annotated[str, Field(min_length=1, max_length=200)]
#: The largest order value a record may carry, in major units.
MAX_ORDER_VALUE = Decimal("1e9")


def no_nul(v: Any) -> Any:
    """Refuse a NUL character in text: PostgreSQL cannot store one, and no phone system means it."""
    if isinstance(v, str) and "\x00" in v:
        raise ValueError("may not contain NUL characters")
    return v


@overload
def printable_id(v: str) -> str: ...
@overload
def printable_id(v: None) -> None: ...
def printable_id(v: str | None) -> str | None:
    """An id as it can be kept beside a reject (NUL characters shown as U+FFFD)."""
    return v.replace("\x00", "\ufffd") if v is not None else None


class CallFields(BaseModel):
    """Every field a record may carry; none required (a PATCH carries only what it corrects)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    revision: int | None = Field(default=None, ge=0, le=2**53)
    rep: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    direction: Direction | None = None
    started_at: AwareDatetime | None = None
    answered_at: AwareDatetime | None = None
    ended_at: AwareDatetime | None = None
    talk_seconds: int | None = Field(default=None, ge=0, le=86_400)
    disposition: Disposition | None = None
    outcome: Outcome | None = None
    # At most a billion major units: even at 4 minor digits a rep-hour's 64-bit revenue cell
    # would need some 900,000 such sales to overflow (the old 1e12 took 922).
    order_value: Decimal | None = Field(default=None, ge=0, le=MAX_ORDER_VALUE)
    customer: Annotated[str, Field(max_length=64)] | None = None

    @field_validator("order_value", mode="before")
    @classmethod
    def _decimal_text(cls, v: Any) -> Any:
        # Floats arrive from JSON numbers: go through their shortest repr, never binary noise.
        if isinstance(v, float):
            return str(v)
        if isinstance(v, bool):
            raise ValueError("must be a decimal number, not a boolean")
        return v

    @field_validator("rep", "customer", mode="before")
    @classmethod
    def _no_nul(cls, v: Any) -> Any:
        return no_nul(v)

    @field_validator("started_at", "answered_at", "ended_at")
    @classmethod
    def _in_range(cls, v: datetime | None) -> datetime | None:
        # The days the floor can read (and a UTC conversion can never overflow).
        if v is not None and not FIRST_DAY.year <= v.year <= LAST_DAY.year:
            raise ValueError(f"must be between {FIRST_DAY} and {LAST_DAY}")
        return v

    @field_validator("talk_seconds", "revision", mode="before")
    @classmethod
    def _no_bool(cls, v: Any) -> Any:
        if isinstance(v, bool):
            raise ValueError("must be an integer, not a boolean")
        return v


class CallRecord(CallFields):
    """A record posted to ``/api/v1/calls``: its identity and what a new call cannot lack."""

    source: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    call_id: Text
    rep: Annotated[str, Field(min_length=1, max_length=100)]
    started_at: AwareDatetime
    disposition: Disposition

    @field_validator("call_id", mode="before")
    @classmethod
    def _id_text(cls, v: Any) -> Any:
        # PBXs send numeric ids (uniqueid 1700000000.123) as numbers; keep them as text.
        return no_nul(str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v)

    @field_validator("source", mode="before")
    @classmethod
    def _source_text(cls, v: Any) -> Any:
        return no_nul(v)


@dataclass(slots=True)
class Incoming:
    """A valid record: its identity and the normalised fields it carries."""

    index: int
    source: str
    call_id: str
    revision: int | None
    fields: dict[str, Any]
    raw: Any = None
    #: Where the rep came from, for a reason that names it: ``rep``, or the export's column.
    rep_column: str = "rep"


@dataclass(slots=True)
class Invalid:
    index: int
    source: str
    call_id: str | None
    errors: list[dict[str, str]]
    raw: Any = None


@dataclass(slots=True)
class FieldError(Exception):
    field: str
    reason: str


_NON_DIGITS = re.compile(r"[^0-9]")


@dataclass
class CustomerHasher:
    """Keyed hash of a phone number: stable per install, useless without the secret key."""

    secret_key: str
    country_code: str = "86"
    _key: bytes = field(init=False, repr=False)
    #: Each agent code's (looks like a phone number, its keyed hash), kept across batches: an
    #: import meets the same few thousand codes in every batch (app.ingest.service).
    agent_codes: dict[str, tuple[bool, str | None]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        self._key = hmac.new(self.secret_key.encode(), b"paceboard-customer", "sha256").digest()

    def national(self, number: str) -> str:
        """The number without international or trunk prefixes, so every spelling of one
        customer's number (+86 138…, 0086138…, 138-…) hashes alike."""
        # Full-width digits, dashes of any width and invisible characters read as the masking
        # reads them (app.ingest.mask): one customer, however the number was typed.
        text = fold(number).strip()
        # Most numbers arrive as bare digits; the regex is for the spelled-out ones.
        digits = text if text.isascii() and text.isdigit() else _NON_DIGITS.sub("", text)
        international = text.startswith("+") or digits.startswith("00")
        digits = digits[2:] if digits.startswith("00") else digits
        cc = self.country_code
        if cc and digits.startswith(cc) and (international or len(digits) - len(cc) >= 10):
            return digits[len(cc) :].lstrip("0")
        return digits if international else digits.lstrip("0")

    def __call__(self, number: str) -> str | None:
        digits = self.national(number)
        if not digits:
            return None
        # Keyed BLAKE2b is a MAC in one call: as safe as HMAC-SHA256 here, and cheap per record.
        return hashlib.blake2b(digits.encode(), key=self._key, digest_size=16).hexdigest()


def to_minor_units(value: Decimal, digits: int) -> int:
    scaled = value.scaleb(digits)
    if scaled != scaled.to_integral_value():
        raise FieldError("order_value", f"has more than {digits} decimal places")
    return int(scaled)


def validation_errors(exc: ValidationError) -> list[dict[str, str]]:
    """Each of a validation's errors as ``{field, reason}`` (the field a dotted path)."""
    out = []
    for e in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in e["loc"]) or "record"
        out.append({"field": loc, "reason": e["msg"]})
    return out


def normalise(model: CallFields, *, hasher: CustomerHasher, minor_digits: int) -> dict[str, Any]:
    """The carried content fields of a validated model, in stored form (UTC, minor units, hash)."""
    carried = {name: getattr(model, name) for name in model.model_fields_set}
    return normalise_carried(carried, hasher=hasher, minor_digits=minor_digits)


def normalise_carried(
    carried: dict[str, Any], *, hasher: CustomerHasher, minor_digits: int
) -> dict[str, Any]:
    """The content fields among ``carried`` (validated values by field name), in stored form."""
    out: dict[str, Any] = {}
    for name in ("rep", "direction", "disposition", "outcome", "talk_seconds"):
        if name in carried:
            out[name] = carried[name]
    for name in ("started_at", "answered_at", "ended_at"):
        if name in carried:
            v = carried[name]
            out[name] = v.astimezone(UTC) if v is not None else None
    if "order_value" in carried:
        v = carried["order_value"]
        out["order_value"] = 0 if v is None else to_minor_units(v, minor_digits)
    if "customer" in carried:
        customer = carried["customer"]
        out["customer_key"] = hasher(customer) if customer else None
    if out.get("talk_seconds", 0) is None:
        out["talk_seconds"] = 0
    if "talk_seconds" not in carried and out.get("answered_at") and out.get("ended_at"):
        out["talk_seconds"] = max(0, int((out["ended_at"] - out["answered_at"]).total_seconds()))
    for name in ("rep", "direction", "disposition", "outcome", "started_at"):
        if name in out and out[name] is None:
            raise FieldError(name, "may not be null")
    return out


# --- the common record, checked fast ----------------------------------------------------------


class _Usual(msgspec.Struct):
    """A posted record of the usual shape, for msgspec's strict check: text as text, times as
    RFC 3339 text, integers as integers. Anything else goes to :class:`CallRecord`."""

    call_id: str
    rep: str
    started_at: datetime
    disposition: Disposition
    source: str | None | UnsetType = UNSET
    revision: int | None | UnsetType = UNSET
    direction: Direction | None | UnsetType = UNSET
    answered_at: datetime | None | UnsetType = UNSET
    ended_at: datetime | None | UnsetType = UNSET
    talk_seconds: int | None | UnsetType = UNSET
    outcome: Outcome | None | UnsetType = UNSET
    order_value: str | int | float | None | UnsetType = UNSET
    customer: str | None | UnsetType = UNSET


_USUAL_FIELDS = _Usual.__struct_fields__
#: Text fields and their (min, max) length, as CallRecord declares them.
_TEXT_LIMITS = {"call_id": (1, 200), "rep": (1, 100), "source": (1, 100), "customer": (0, 64)}
_TIME_TEXT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)")
_PLAIN_DECIMAL = re.compile(r"\d{1,13}(?:\.\d{1,12})?")


def _usual(raw: Any) -> dict[str, Any] | None:
    """The carried fields of ``raw`` when it is a usual record that CallRecord would accept
    with these very values; None: let CallRecord judge it (and word any error)."""
    if type(raw) is not dict:
        return None
    try:
        rec = msgspec.convert(raw, _Usual)
    except msgspec.ValidationError:
        return None
    carried = {n: v for n in _USUAL_FIELDS if (v := getattr(rec, n)) is not UNSET}
    for name, (low, high) in _TEXT_LIMITS.items():
        v = carried.get(name)
        if v is not None and (not low <= len(v) <= high or "\x00" in v or v != v.strip()):
            return None
    for name in ("started_at", "answered_at", "ended_at"):
        v = carried.get(name)
        if v is not None and (
            v.tzinfo is None
            or not FIRST_DAY.year <= v.year <= LAST_DAY.year
            or not _TIME_TEXT.fullmatch(raw[name])
        ):
            return None
    if not 0 <= (carried.get("revision") or 0) <= 2**53:
        return None
    if not 0 <= (carried.get("talk_seconds") or 0) <= 86_400:
        return None
    if "order_value" in carried:
        value = _plain_order_value(carried["order_value"])
        if value is _NOT_PLAIN:
            return None
        carried["order_value"] = value
    return carried


_NOT_PLAIN = object()


def _plain_order_value(v: Any) -> Any:
    """An order value as CallRecord reads it, when it is plainly written (digits, a point);
    else _NOT_PLAIN."""
    if v is None:
        return None
    if isinstance(v, float):
        if not math.isfinite(v):
            return _NOT_PLAIN
        v = str(v)  # CallRecord reads a float through its shortest repr too
    if isinstance(v, int) or _PLAIN_DECIMAL.fullmatch(v):
        value = Decimal(v)
    else:
        return _NOT_PLAIN
    return value if 0 <= value <= MAX_ORDER_VALUE else _NOT_PLAIN


def parse_record(
    raw: Any,
    index: int,
    *,
    default_source: str,
    hasher: CustomerHasher,
    minor_digits: int,
    fast: bool = True,
) -> Incoming | Invalid:
    """Validate one posted record; never raises. ``fast``: a usual record is checked by
    msgspec (the same verdict and values as CallRecord's, which words every error)."""
    call_id = None
    source = default_source
    if isinstance(raw, dict):
        cid = raw.get("call_id")
        call_id = printable_id(str(cid)[:200]) if cid is not None else None
        src = raw.get("source")
        if isinstance(src, str) and src.strip():
            source = printable_id(src.strip()[:100]) or default_source
    try:
        usual = _usual(raw) if fast else None
        if usual is not None:
            model_source, model_call_id, revision = (
                usual.pop("source", None),
                usual.pop("call_id"),
                usual.pop("revision", None),
            )
            fields = normalise_carried(usual, hasher=hasher, minor_digits=minor_digits)
        else:
            model = CallRecord.model_validate(raw)
            model_source, model_call_id, revision = model.source, model.call_id, model.revision
            fields = normalise(model, hasher=hasher, minor_digits=minor_digits)
    except ValidationError as exc:
        return Invalid(index, source, call_id, validation_errors(exc), raw)
    except FieldError as exc:
        return Invalid(index, source, call_id, [{"field": exc.field, "reason": exc.reason}], raw)
    column = raw.get("rep_column") if isinstance(raw, dict) else None
    return Incoming(
        index,
        model_source or default_source,
        model_call_id,
        revision,
        fields,
        raw,
        column if isinstance(column, str) and column else "rep",
    )


def held_to_source(item: Incoming | Invalid, source: str | None) -> Incoming | Invalid:
    """``item``, or an :class:`Invalid` when it names a source other than ``source`` (a token
    made for one phone system writes that system's calls only; None: any source)."""
    if source is None or item.source == source:
        return item
    reason = f"this token writes the calls of source '{source}' only"
    return Invalid(
        item.index, item.source, item.call_id, [{"field": "source", "reason": reason}], item.raw
    )


def parse_patch(
    raw: Any, *, source: str, call_id: str, hasher: CustomerHasher, minor_digits: int
) -> Incoming | Invalid:
    """Validate a correction: a record without a revision carrying only the given fields."""
    for name, value in (("source", source), ("call_id", call_id)):
        if "\x00" in value:
            reason = "may not contain NUL characters"
            return Invalid(
                0, printable_id(source), printable_id(call_id), [{"field": name, "reason": reason}]
            )
    if not isinstance(raw, dict):
        return Invalid(0, source, call_id, [{"field": "body", "reason": "must be a JSON object"}])
    body = {k: v for k, v in raw.items() if k not in ("revision", "source", "call_id")}
    try:
        model = CallFields.model_validate(body)
        fields = normalise(model, hasher=hasher, minor_digits=minor_digits)
    except ValidationError as exc:
        return Invalid(0, source, call_id, validation_errors(exc), raw)
    except FieldError as exc:
        return Invalid(0, source, call_id, [{"field": exc.field, "reason": exc.reason}], raw)
    if not fields:
        return Invalid(0, source, call_id, [{"field": "body", "reason": "carries no call field"}])
    return Incoming(0, source, call_id, None, fields, raw)


# --- bodies ----------------------------------------------------------------------------------


class BodyError(ValueError):
    """The request body is not JSON / NDJSON at all; the message gives the position."""


def parse_body_lines(body: bytes, content_type: str) -> list[tuple[int | None, Any]]:
    """Like :func:`parse_body`, each value with its NDJSON line number (None for JSON bodies),
    so a rejected record can be named by the line a person would look at."""
    # Windows tools write a UTF-8 byte-order mark first; it is no part of the data.
    body = body.removeprefix(b"\xef\xbb\xbf")
    ctype = content_type.split(";")[0].strip().lower()
    if ctype in ("application/x-ndjson", "application/ndjson", "application/jsonlines"):
        items: list[tuple[int | None, Any]] = []
        for lineno, line in enumerate(body.split(b"\n"), start=1):
            if not line.strip():
                continue
            try:
                items.append((lineno, orjson.loads(line)))
            except orjson.JSONDecodeError as exc:
                raise BodyError(f"line {lineno}: {exc.msg} at column {exc.colno}") from None
        return items
    if not body.strip():
        raise BodyError("empty body: send a JSON object, a JSON array or NDJSON")
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BodyError(
            f"{exc.msg} at line {exc.lineno} column {exc.colno} (char {exc.pos})"
        ) from None
    if isinstance(value, list):
        return [(None, v) for v in value]
    if isinstance(value, dict):
        return [(None, value)]
    kind = type(value).__name__
    raise BodyError(f"a JSON {kind} is not a record: send an object, an array of them, or NDJSON")


_TIME_FIELDS = frozenset({"started_at", "answered_at", "ended_at"})


def _iso_time(value: Any) -> bool:
    """Whether ``value`` is an ISO 8601 time (kept as written in a reject: it is no number)."""
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value.strip())
    except ValueError:
        return False
    return True


def _number_text(value: int | float) -> str:
    """A JSON number as the digits a client meant (13912345678.0 is 13912345678)."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


#: How deep a kept reject's payload goes; deeper values are replaced (a hostile record nested a
#: thousand levels would otherwise exhaust the stack of whatever walks it).
SCRUB_DEPTH = 16
TOO_DEEP = "…(nested too deep)"


def scrub(raw: Any, hasher: CustomerHasher, depth: int = 0) -> Any:
    """A copy of a raw record safe to keep: the customer field and anything that may be a phone
    number (text, a JSON number, a key, an unparseable time) replaced by its keyed hash; values
    below :data:`SCRUB_DEPTH` levels replaced by :data:`TOO_DEEP`."""
    if depth > SCRUB_DEPTH and isinstance(raw, dict | list | tuple):
        return TOO_DEEP

    def hashed(text: str) -> str:
        key = hasher(text)
        return f"hash:{key}" if key else ""

    if isinstance(raw, dict):
        out = {}
        for k, v in raw.items():
            name = scrub(k, hasher, depth + 1) if isinstance(k, str) else k
            if k == "customer" and isinstance(v, str | int | float) and not isinstance(v, bool):
                # Any customer value, a JSON number (an invalid record) included, is one number.
                out[name] = hashed(v if isinstance(v, str) else _number_text(v))
            elif k in ("call_id", "source") or (k in _TIME_FIELDS and _iso_time(v)):
                out[name] = v
            else:
                out[name] = scrub(v, hasher, depth + 1)
        return out
    if isinstance(raw, list | tuple):
        return [scrub(v, hasher, depth + 1) for v in raw]
    if isinstance(raw, str):
        return replace_numbers(raw, hashed)
    if raw is None or isinstance(raw, bool):
        return raw
    if isinstance(raw, int | float):
        # A number posted as a JSON number is as personal as one posted as text.
        text = _number_text(raw)
        return hashed(text) if holds_number(text) else raw
    return scrub(str(raw), hasher, depth + 1)


def now_utc() -> datetime:
    return datetime.now(UTC)


def decimal_from_text(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation as exc:
        raise FieldError("order_value", f"'{text}' is not a decimal number") from exc
