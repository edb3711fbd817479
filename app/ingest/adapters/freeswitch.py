"""FreeSWITCH ``mod_cdr_csv`` Master.csv → call records in the POST /api/v1/calls shape.

The file has no header (a header row whose fields are the column names is skipped wherever it
appears). Every field is written in double quotes and the layout is told by the column count,
row by row:

* 13 columns, the module's built-in ``default`` template: caller_id_name, caller_id_number,
  destination_number, context, start_stamp, answer_stamp, end_stamp, duration, billsec,
  hangup_cause, uuid, bleg_uuid, accountcode. Based on ``default_template`` in FreeSWITCH's
  ``src/mod/event_handlers/mod_cdr_csv/mod_cdr_csv.c`` (signalwire/freeswitch), which writes a
  space before the last field (``…,"${bleg_uuid}", "${accountcode}"``): tolerated.
* 15 columns, the ``example`` template of ``cdr_csv.conf.xml`` (the vanilla config's
  ``default-template``): the 13 above + read_codec, write_codec.

Rules:

* FreeSWITCH does not escape a ``"`` inside a field: a caller_id_name holding one breaks the
  row. A row that is not clean CSV, or whose field still holds a ``"``, is rejected with its row
  number and reason; the rest of the file goes on. Undecodable bytes only spoil their field.
* Times are ``YYYY-MM-DD HH:MM:SS`` without an offset, read in the given timezone, or as a
  spreadsheet re-saves them (``2026/11/26 10:05``, no seconds, no quotes). An empty answer_stamp
  means the leg was never answered.
* A leg *connects* when billsec > 0, it has an answer_stamp and its hangup_cause is not a busy
  or cancel cause (below); its talk is billsec and it carries ``answered_at``. Anything else is
  a dial without talk, its disposition from the Q.850 hangup_cause:

  - NORMAL_CLEARING (billsec 0 or no answer_stamp), NO_ANSWER, NO_USER_RESPONSE, NO_PICKUP,
    ALLOTTED_TIMEOUT, RECOVERY_ON_TIMER_EXPIRE (SIP 408: the far end never responded) →
    ``no_answer``;
  - USER_BUSY, BUSY_EVERYWHERE → ``busy``;
  - ORIGINATOR_CANCEL, LOSE_RACE, PICKED_OFF → ``cancelled``;
  - every other UPPER_SNAKE cause (CALL_REJECTED, UNALLOCATED_NUMBER, NO_ROUTE_DESTINATION,
    MEDIA_TIMEOUT, NORMAL_TEMPORARY_FAILURE, SERVICE_UNAVAILABLE, … and causes newer than this
    list) → ``failed``;
  - a hangup_cause that is not an UPPER_SNAKE word (empty, lower case, text) rejects the row:
    ``hangup_cause: 'X' is not a Q.850 cause``.

* The agent, the direction and the customer (see ``docs/pbx-exports.md``): inbound when the
  A-leg's caller and accountcode are no roster identifiers and its context is ``public`` (or
  another inbound context) or its caller is a phone number: the agent is the bridged leg's
  destination_number (a roster identifier first), the talk that leg's, the customer the A-leg's
  caller; no such leg → :data:`~app.ingest.adapters.base.NO_AGENT`, not a connect. Otherwise the
  agent is the A-leg's caller_id_number (its accountcode when that is a roster identifier),
  internal when the destination is an extension, outbound otherwise (the customer the
  destination). ``--rep-from`` replaces the default rule. call_id: the A-leg's uuid.
* Legs (``legs="ab"``): the A-leg's bleg_uuid is the B-leg's uuid; the B-leg's bleg_uuid is empty
  or points back. Legs linked so are one call: one dial, a connect if any leg connected (with the
  longest connected leg's talk and answer time), agent and customer as above, started at the
  earliest start, ended at the latest end. Without a connect the A-leg's cause decides, unless it
  is NORMAL_CLEARING (it only says someone hung up): then the first B-leg with another cause
  does. The A-leg is the leg that points at another (of several, the one most pointed at); if
  both point at each other, the one that started first, then the longer, then the one read first.
* The file streams: the last :data:`WINDOW` calls stay open for their other legs (B before A or
  after it, other calls' rows between them); an older call is written out. A leg linked to a
  call already written out (more than :data:`WINDOW` calls earlier, remembered for the last
  :data:`REMEMBERED` uuids) is skipped with a counted reason rather than counted twice, and so
  is a call's leg past its first :data:`MAX_LEGS`. Row numbers are line numbers (blank lines count).
"""

from __future__ import annotations

import csv
import re
from collections import OrderedDict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from app.ingest.adapters.base import (
    NO_AGENT,
    Adapter,
    Input,
    Options,
    Row,
    RowError,
    Skipped,
    extension_like,
    inbound_context,
    mask_fields,
    mask_text,
    mask_value,
    naive_time,
    whole_seconds,
)
from app.ingest.mask import holds_number

DEFAULT_COLUMNS = (
    "caller_id_name",
    "caller_id_number",
    "destination_number",
    "context",
    "start_stamp",
    "answer_stamp",
    "end_stamp",
    "duration",
    "billsec",
    "hangup_cause",
    "uuid",
    "bleg_uuid",
    "accountcode",
)
EXAMPLE_COLUMNS = (*DEFAULT_COLUMNS, "read_codec", "write_codec")
LAYOUTS = {13: DEFAULT_COLUMNS, 15: EXAMPLE_COLUMNS}
_INDEX = {n: {name: i for i, name in enumerate(cols)} for n, cols in LAYOUTS.items()}
#: destination_number's position (the customer), the same in both layouts.
CUSTOMER = frozenset({DEFAULT_COLUMNS.index("destination_number")})

#: Calls kept open for legs still to come; an older one is written out.
WINDOW = 8
#: uuids of calls written out that a late leg is still recognised by.
REMEMBERED = 4096
#: Legs one call may have; a further leg linked to it is rejected (memory stays bounded).
MAX_LEGS = 16
#: Legs of one call kept for the rejects text.
_MAX_RAW_LEGS = MAX_LEGS

NO_ANSWER_CAUSES = frozenset(
    {
        "NORMAL_CLEARING",
        "NO_ANSWER",
        "NO_USER_RESPONSE",
        "NO_PICKUP",
        "ALLOTTED_TIMEOUT",
        "RECOVERY_ON_TIMER_EXPIRE",
    }
)
BUSY_CAUSES = frozenset({"USER_BUSY", "BUSY_EVERYWHERE"})
CANCEL_CAUSES = frozenset({"ORIGINATOR_CANCEL", "LOSE_RACE", "PICKED_OFF"})

_UPPER_SNAKE = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*")
_MIN_YEAR, _MAX_YEAR = 1970, 2100
# What bytes.strip() strips: a line of only these is blank (as Input counts rows).
_BLANK = " \t\n\r\x0b\x0c"


def disposition_of(cause: str) -> str:
    """The disposition of a leg that did not connect, by its hangup_cause."""
    if cause in NO_ANSWER_CAUSES:
        return "no_answer"
    if cause in BUSY_CAUSES:
        return "busy"
    if cause in CANCEL_CAUSES:
        return "cancelled"
    return "failed"


def _time(text: str, name: str, tz: ZoneInfo, *, required: bool) -> datetime | None:
    if not text:
        if required:
            raise RowError(f"{name}: is empty")
        return None
    try:
        value = naive_time(text)
    except ValueError:
        raise RowError(
            f"{name}: '{mask_value(text[:40])}' is not a time YYYY-MM-DD HH:MM[:SS]"
        ) from None
    if not _MIN_YEAR <= value.year <= _MAX_YEAR:
        raise RowError(f"{name}: '{mask_value(text[:40])}' is out of range")
    return value.replace(tzinfo=tz)


@dataclass(slots=True)
class Leg:
    """One CDR row, parsed."""

    row: int
    uuid: str
    bleg: str
    caller: str  # caller_id_number
    destination: str  # destination_number
    context: str
    accountcode: str
    #: (column, value) of ``--rep-from``.
    forced: tuple[str, str] | None
    start: datetime
    answer: datetime | None
    end: datetime | None
    duration: int
    billsec: int
    cause: str
    raw: str

    @property
    def connected(self) -> bool:
        return (
            self.billsec > 0
            and self.answer is not None
            and self.cause not in BUSY_CAUSES
            and self.cause not in CANCEL_CAUSES
        )


def split_row(text: str) -> list[str]:
    """One line → its fields, or :class:`RowError` when a stray quote broke it."""
    try:
        fields = next(csv.reader([text], strict=True, skipinitialspace=True))
    except csv.Error as exc:
        raise RowError(
            f"not a CSV row ({exc}): FreeSWITCH does not escape a '\"' inside a field"
        ) from None
    if any('"' in f for f in fields):
        raise RowError("a field holds a '\"': FreeSWITCH does not escape quotes, the row is broken")
    return fields


def parse_fields(fields: list[str], row: int, *, tz: ZoneInfo, rep_from: str | None) -> Leg:
    """One row's fields → :class:`Leg`, or :class:`RowError` with the reason."""
    n = len(fields)
    index = _INDEX.get(n)
    if index is None:
        raise RowError(f"expected 13 (default template) or 15 (example template) columns, got {n}")
    get = lambda name: fields[index[name]].strip()  # noqa: E731
    forced: tuple[str, str] | None = None
    if rep_from is not None:
        if rep_from not in index:
            raise RowError(f"--rep-from {rep_from}: this {n}-column row has no such column")
        forced = (rep_from, get(rep_from))
    cause = get("hangup_cause")
    if len(cause) > 60 or not _UPPER_SNAKE.fullmatch(cause):
        raise RowError(f"hangup_cause: '{mask_value(cause[:40])}' is not a Q.850 cause")
    uuid = get("uuid")
    if not uuid:
        raise RowError("uuid: is empty (it is the call id)")
    if len(uuid) > 200:
        raise RowError("uuid: longer than 200 characters")
    start = _time(get("start_stamp"), "start_stamp", tz, required=True)
    answer = _time(get("answer_stamp"), "answer_stamp", tz, required=False)
    end = _time(get("end_stamp"), "end_stamp", tz, required=False)
    duration = whole_seconds(get("duration"), "duration")
    billsec = whole_seconds(get("billsec"), "billsec")
    bleg = get("bleg_uuid")
    assert start is not None
    return Leg(
        row=row,
        uuid=uuid,
        bleg="" if bleg == uuid else bleg,
        caller=get("caller_id_number"),
        destination=get("destination_number"),
        context=get("context"),
        accountcode=get("accountcode"),
        forced=forced,
        start=start,
        answer=answer,
        end=end,
        duration=duration,
        billsec=billsec,
        cause=cause,
        raw=mask_fields(fields, CUSTOMER),
    )


@dataclass(slots=True)
class _Call:
    """The legs of one call read so far (a handful at most)."""

    legs: list[Leg] = field(default_factory=list)
    uuids: set[str] = field(default_factory=set)
    blegs: set[str] = field(default_factory=set)

    def links(self, leg: Leg) -> bool:
        return leg.uuid in self.uuids or leg.uuid in self.blegs or leg.bleg in self.uuids

    def add(self, leg: Leg) -> None:
        self.legs.append(leg)
        self.uuids.add(leg.uuid)
        if leg.bleg:
            self.blegs.add(leg.bleg)

    @property
    def row(self) -> int:
        return self.legs[0].row

    def a_leg(self) -> Leg:
        if len(self.legs) == 1:
            return self.legs[0]

        def rank(pos: int) -> tuple:
            leg = self.legs[pos]
            points = leg.bleg != "" and any(o.uuid == leg.bleg for o in self.legs if o is not leg)
            pointed = sum(1 for o in self.legs if o.uuid != leg.uuid and o.bleg == leg.uuid)
            return (not points, -pointed, leg.start, -leg.duration, pos)

        return self.legs[min(range(len(self.legs)), key=rank)]

    def record(self, source: str, identifiers: frozenset[str] = frozenset()) -> dict[str, Any]:
        a = self.a_leg()
        rep, column, direction, reached = self.agent_side(a, identifiers)
        rec: dict[str, Any] = {
            "source": source,
            "call_id": a.uuid,
            "rep": rep,
            "rep_column": column,
            "direction": direction,
            "started_at": min(leg.start for leg in self.legs).isoformat(),
        }
        connected = [leg for leg in self.legs if leg.connected]
        if direction == "inbound":
            # Time in the IVR or the queue is no conversation: the agent's own leg's talk.
            connected = [leg for leg in connected if reached and leg.destination == reached]
        if connected:
            best = max(connected, key=lambda leg: leg.billsec)
            assert best.answer is not None
            rec["disposition"] = "answered"
            rec["talk_seconds"] = best.billsec
            rec["answered_at"] = best.answer.isoformat()
        else:
            cause = a.cause
            if cause == "NORMAL_CLEARING":
                others = (leg.cause for leg in self.legs if leg is not a)
                cause = next((c for c in others if c != "NORMAL_CLEARING"), cause)
            rec["disposition"] = disposition_of(cause)
            rec["talk_seconds"] = 0
        ends = [leg.end for leg in self.legs if leg.end is not None]
        if ends:
            rec["ended_at"] = max(ends).isoformat()
        customer = a.caller if direction == "inbound" else a.destination
        if customer and direction != "internal":
            rec["customer"] = customer
        return rec

    def agent_side(self, a: Leg, identifiers: frozenset[str]) -> tuple[str, str, str, str | None]:
        """(rep, the column it came from, direction, the extension an inbound call reached
        by the default rule, whose leg's talk counts); see the module rules."""
        inside = lambda v: v in identifiers or extension_like(v)  # noqa: E731
        if a.caller in identifiers or a.accountcode in identifiers:
            inbound = False
        else:
            inbound = inbound_context(a.context) or holds_number(a.caller)
        if inbound:
            rep, column = NO_AGENT, "destination_number"
            # The agent is the extension the call was bridged to: a B-leg's destination,
            # a roster identifier first; else the A-leg's own destination when it is one.
            others = [leg.destination for leg in self.legs if leg is not a]
            known = [v for v in (*others, a.destination) if v in identifiers]
            found = known or [v for v in others if extension_like(v)]
            if found:
                rep = found[0]
            direction, reached = "inbound", (found[0] if found else None)
        else:
            direction, reached = ("internal" if inside(a.destination) else "outbound"), None
            if a.caller in identifiers or a.accountcode not in identifiers:
                rep, column = a.caller, "caller_id_number"
            else:
                rep, column = a.accountcode, "accountcode"
        if a.forced and a.forced[1] and not (rep in identifiers and a.forced[1] not in identifiers):
            column, rep = a.forced
        return rep or NO_AGENT, column, direction, reached

    def raw(self) -> str:
        return "\n".join(leg.raw for leg in self.legs[:_MAX_RAW_LEGS])


def iter_cdr_csv(source: Input, options: Options) -> Iterator[Row]:
    """Stream Master.csv → (row number, record or None, reason or None, masked raw text).

    A call of several legs is one record, with the row number of its first leg read. Blank lines
    and header rows are skipped (a header is not counted in ``source.rows``).
    """
    tz, rep_from = options.timezone, options.rep_from
    if rep_from is not None and rep_from not in EXAMPLE_COLUMNS:
        raise ValueError(f"rep_from: '{rep_from}' is not a mod_cdr_csv column")
    headers = {tuple(cols) for cols in LAYOUTS.values()}
    window: deque[_Call] = deque()
    # uuid/bleg_uuid of calls written out → their call_id (bounded, oldest forgotten first).
    written: OrderedDict[str, str] = OrderedDict()

    def write_out(call: _Call) -> Row:
        rec = call.record(options.source, options.identifiers)
        for key in (*call.uuids, *call.blegs):
            written[key] = rec["call_id"]
            written.move_to_end(key)
        while len(written) > REMEMBERED:
            written.popitem(last=False)
        return call.row, rec, None, call.raw()

    for row, line in enumerate(source.lines(options.encoding or "utf-8"), start=1):
        text = line.rstrip("\r\n")
        if not text.strip(_BLANK):
            continue
        text = text.rstrip(_BLANK)
        fields: list[str] | None = None
        try:
            fields = split_row(text)
            if tuple(f.strip().lower() for f in fields) in headers:
                source.rows -= 1
                continue
            leg = parse_fields(fields, row, tz=tz, rep_from=rep_from)
        except RowError as exc:
            raw = mask_fields(fields, CUSTOMER) if fields is not None else mask_text(text, CUSTOMER)
            yield row, None, str(exc), raw
            continue
        call = next((c for c in window if c.links(leg)), None)
        if call is not None and len(call.legs) >= MAX_LEGS:
            reason = f"uuid/bleg_uuid: a leg past the {MAX_LEGS} a call may have (not counted)"
            yield row, None, Skipped(reason), leg.raw
            continue
        if call is not None:
            call.add(leg)
            continue
        earlier = written.get(leg.uuid) or (written.get(leg.bleg) if leg.bleg else None)
        if earlier is not None:
            reason = (
                f"uuid/bleg_uuid: a leg of a call read more than {WINDOW} calls earlier "
                "(counted there, not twice)"
            )
            yield row, None, Skipped(reason), leg.raw
            continue
        call = _Call()
        call.add(leg)
        window.append(call)
        if len(window) > WINDOW:
            yield write_out(window.popleft())
    while window:
        yield write_out(window.popleft())


FREESWITCH = Adapter(
    name="freeswitch",
    summary="FreeSWITCH mod_cdr_csv Master.csv (default 13 or example 15 columns, all quoted)",
    read=iter_cdr_csv,
    rep_columns=EXAMPLE_COLUMNS,
)
