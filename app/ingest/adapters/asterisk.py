"""Asterisk ``cdr_csv`` Master.csv → call records in the POST /api/v1/calls shape.

The file has no header. Each row is one line of comma-separated fields; strings are quoted with
``""`` escapes, numbers are not. The layout is told by the column count, row by row:

* 16 columns (the default): accountcode, src, dst, dcontext, clid, channel, dstchannel, lastapp,
  lastdata, start, answer, end, duration, billsec, disposition, amaflags;
* 18 with ``loguniqueid``/``loguserfield``: + uniqueid, userfield;
* 21 with ``newcdrcolumns``: + peeraccount, linkedid, sequence.

``asterisk-custom`` reads cdr_custom's default ``Master.csv`` template: clid first, every field
quoted (an empty answer is ``""``), 19 columns (clid, src, dst, dcontext, channel, dstchannel,
lastapp, lastdata, start, answer, end, duration, billsec, disposition, amaflags, accountcode,
uniqueid, userfield, sequence) or 18 without sequence. The rules below hold for both.

Rules (see issue 5):

* Times are ``YYYY-MM-DD HH:MM:SS`` without an offset, read in the given timezone (the PBX may
  log local time or UTC), or as a spreadsheet re-saves them (``2026/11/26 10:05``, no seconds).
  An unanswered call has an empty answer field.
* A connect is disposition ANSWERED with billsec > 0; its talk is billsec. NO ANSWER with an
  answer time and billsec > 0 (an IVR picked up the other leg) is a dial, not a connect, no talk;
  ANSWERED with billsec 0 is a dial (disposition ``no_answer``). Only a connect carries
  ``answered_at``.
* The agent, the direction and the customer (see ``docs/pbx-exports.md``): a roster
  identifier first; inbound (a trunk in a ``from-trunk``/``public``… context) → the agent is
  ``dstchannel``'s peer and the customer ``src``; a ``Local/<number>…;1`` channel is a click-to-call
  by ``dstchannel``'s agent; else the agent is ``channel``'s peer, internal when the far end is an
  extension, outbound otherwise (the customer ``dst``). ``--rep-from`` replaces the default rule.
  A phone-like value or the other party never becomes a rep (the ingest buckets it by hash); no
  agent at all is :data:`~app.ingest.adapters.base.NO_AGENT`.
* Helper rows: ``AppDial``/``AppDial2`` rows and ``Local/…;2`` halves are merged into their call,
  or, alone, skipped with a counted reason (:class:`~app.ingest.adapters.base.Skipped`).
* call_id: the linkedid (21 columns), else the uniqueid (18+, kept as written, system-name prefix
  included), else for the 16-column layout ``cdr-`` + a SHA-1 prefix of (channel, start, dst), so
  a re-import finds the same calls.
* Legs: rows sharing a call_id are one call: one dial, a connect if any leg connected, with the
  connected leg's talk. The file streams, so only *consecutive* rows are merged. Asterisk writes
  the CDRs of one linkedid when the call's last channel hangs up, so they land adjacently; legs of
  one call split by other rows become separate records with the same call_id, and the later one
  replaces the earlier (last writer wins in the ingest).
* A row is one line: a broken row (wrong column count, bad quoting, a bad time or number, an
  unknown disposition) yields its reason and the rest of the file goes on.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from app.ingest.adapters.base import (
    NO_AGENT,
    Adapter,
    Input,
    MaskedRow,
    Options,
    Row,
    RowError,
    Skipped,
    extension_like,
    inbound_context,
    mask_text,
    mask_value,
    naive_time,
    whole_seconds,
)
from app.ingest.adapters.base import mask_fields as _mask_fields
from app.ingest.mask import holds_number

COLUMNS_16 = (
    "accountcode",
    "src",
    "dst",
    "dcontext",
    "clid",
    "channel",
    "dstchannel",
    "lastapp",
    "lastdata",
    "start",
    "answer",
    "end",
    "duration",
    "billsec",
    "disposition",
    "amaflags",
)
COLUMNS_18 = (*COLUMNS_16, "uniqueid", "userfield")
COLUMNS_21 = (*COLUMNS_18, "peeraccount", "linkedid", "sequence")
LAYOUTS = {16: COLUMNS_16, 18: COLUMNS_18, 21: COLUMNS_21}
#: Every column a ``rep_from`` may name.
ALL_COLUMNS = COLUMNS_21

#: cdr_custom's default template, with and without the trailing (unquoted) sequence.
CUSTOM_18 = (
    "clid",
    "src",
    "dst",
    "dcontext",
    "channel",
    "dstchannel",
    "lastapp",
    "lastdata",
    "start",
    "answer",
    "end",
    "duration",
    "billsec",
    "disposition",
    "amaflags",
    "accountcode",
    "uniqueid",
    "userfield",
)
CUSTOM_19 = (*CUSTOM_18, "sequence")
CUSTOM_LAYOUTS = {18: CUSTOM_18, 19: CUSTOM_19}

DISPOSITIONS = {
    "ANSWERED": "answered",
    "NO ANSWER": "no_answer",
    "BUSY": "busy",
    "FAILED": "failed",
    "CONGESTION": "failed",
    "CANCEL": "cancelled",
    "UNKNOWN": "failed",
}

# Column name → position, per layout.
_INDEX = {
    cols: {name: i for i, name in enumerate(cols)}
    for cols in (*LAYOUTS.values(), *CUSTOM_LAYOUTS.values())
}
# The channel's unique suffix: -0000002a, optionally ;1 / ;2 for Local channel halves.
_CHANNEL_SUFFIX = re.compile(r"-[0-9a-fA-F]+(?:;\d+)?$")
_MIN_YEAR, _MAX_YEAR = 1970, 2100
_MAX_RAW_LEGS = 5


def channel_peer(channel: str) -> str | None:
    """The peer of an Asterisk channel name: ``SIP/1001-0000002a`` → ``1001``,
    ``Local/1001@from-internal-00000012;1`` → ``1001``; None when there is none."""
    tech, sep, rest = channel.strip().partition("/")
    if not sep or not tech:
        return None
    if tech.lower() == "local" or "@" in rest:
        peer = rest.partition("@")[0]
    else:
        peer = _CHANNEL_SUFFIX.sub("", rest)
    peer = peer.strip()
    return peer or None


def mask_fields(fields: list[str], layout: tuple[str, ...] = COLUMNS_21) -> str:
    """One row as CSV text with the dialled number replaced by ``***`` and anything else that
    may be a phone number (caller ids, dial strings) masked too: safe to write to a file."""
    return _mask_fields(fields, {layout.index("dst")})


def mask_line(text: str, layout: tuple[str, ...] = COLUMNS_21) -> str:
    """A line that may not parse, made safe like :func:`mask_fields`."""
    return mask_text(text, {layout.index("dst")})


def _csv_line(fields: list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(fields)
    return buf.getvalue()


def _time(text: str, name: str, tz: ZoneInfo, *, required: bool) -> datetime | None:
    text = text.strip()
    if not text:
        if required:
            raise RowError(f"{name}: is empty")
        return None
    try:
        value = naive_time(text)
    except ValueError:
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise RowError(
                f"{name}: '{mask_value(text[:40])}' is not a time YYYY-MM-DD HH:MM[:SS]"
            ) from None
    if not _MIN_YEAR <= value.year <= _MAX_YEAR:
        raise RowError(f"{name}: '{mask_value(text[:40])}' is out of range")
    return value.replace(tzinfo=tz) if value.tzinfo is None else value


@dataclass(slots=True)
class Leg:
    """One CDR row, parsed."""

    row: int
    call_id: str
    uniqueid: str
    #: (column, value) of ``--rep-from`` (a channel's peer for channel/dstchannel).
    forced: tuple[str, str] | None
    channel: str
    dstchannel: str
    src: str
    dst: str
    dcontext: str
    lastapp: str
    start: datetime
    answer: datetime | None
    end: datetime | None
    billsec: int
    disposition: str  # Asterisk's, upper case
    customer: str
    raw: MaskedRow

    @property
    def connected(self) -> bool:
        return self.disposition == "ANSWERED" and self.billsec > 0

    @property
    def originating(self) -> bool:
        return self.uniqueid != "" and self.uniqueid == self.call_id

    @property
    def helper(self) -> str | None:
        """Why this row is a helper leg of a call counted on another row (None: it is not)."""
        if self.lastapp.lower() in ("appdial", "appdial2"):
            return "lastapp: an AppDial row (the dialled side of a call, counted on its caller)"
        if _local(self.channel) and self.channel.strip().endswith(";2"):
            return "channel: the second half of a Local channel (counted on its first half)"
        return None


def parse_fields(
    fields: list[str],
    row: int,
    *,
    tz: ZoneInfo,
    rep_from: str | None,
    layouts: dict[int, tuple[str, ...]] = LAYOUTS,
    line: str | None = None,
) -> Leg:
    """One row's fields (``line``: its text as read) → :class:`Leg`, or :class:`RowError`
    with the reason."""
    n = len(fields)
    layout = layouts.get(n)
    if layout is None:
        counts = sorted(layouts)
        wanted = ", ".join(map(str, counts[:-1])) + f" or {counts[-1]}"
        raise RowError(f"expected {wanted} columns, got {n}")
    index = _INDEX[layout]
    # Strip once: every field is read at most twice below, the lookups stay plain indexing.
    f = [v.strip() for v in fields]
    get = lambda name: f[index[name]] if name in index else ""  # noqa: E731
    forced: tuple[str, str] | None = None
    if rep_from is not None:
        if rep_from not in index:
            raise RowError(f"--rep-from {rep_from}: this {n}-column row has no such column")
        value = f[index[rep_from]]
        peer = channel_peer(value) or "" if rep_from in ("channel", "dstchannel") else value
        forced = (rep_from, peer)
    disposition = f[index["disposition"]].upper()
    if disposition not in DISPOSITIONS:
        raise RowError(
            f"disposition: '{mask_value(disposition[:40])}' is not an Asterisk disposition"
        )
    start = _time(f[index["start"]], "start", tz, required=True)
    answer = _time(f[index["answer"]], "answer", tz, required=False)
    end = _time(f[index["end"]], "end", tz, required=False)
    billsec = whole_seconds(f[index["billsec"]], "billsec")
    whole_seconds(f[index["duration"]], "duration")
    uniqueid = get("uniqueid")
    call_id = get("linkedid") or uniqueid
    if not call_id:
        basis = "\x1f".join((get("channel"), get("start"), get("dst")))
        call_id = "cdr-" + hashlib.sha1(basis.encode()).hexdigest()[:24]
    if len(call_id) > 200:
        raise RowError("uniqueid/linkedid: longer than 200 characters")
    assert start is not None
    return Leg(
        row=row,
        call_id=call_id,
        uniqueid=uniqueid,
        forced=forced,
        channel=get("channel"),
        dstchannel=get("dstchannel"),
        src=get("src"),
        dst=get("dst"),
        dcontext=get("dcontext"),
        lastapp=get("lastapp"),
        start=start,
        answer=answer,
        end=end,
        billsec=billsec,
        disposition=disposition,
        customer=f[index["dst"]],
        raw=MaskedRow(
            line if line is not None else _csv_line(fields), {index["dst"], index["src"]}
        ),
    )


@dataclass(slots=True)
class _Call:
    """The legs of one call seen so far, merged as they come (constant memory per call)."""

    first: Leg
    base: Leg | None  # the call's own row: the originating non-helper leg, else the first one
    start: datetime
    end: datetime | None
    best: Leg | None  # the connected leg with the longest talk
    raws: MaskedRow | None = None
    kept: int = 0
    legs: int = 0
    #: dstchannel peer → that peer's legs (Asterisk 12+ writes a row per application on the
    #: trunk's channel: an IVR's row, then the Dial that reached the agent), a few at most.
    reached: dict[str, list[Leg]] | None = None

    @classmethod
    def of(cls, leg: Leg) -> _Call:
        call = cls(leg, None, leg.start, leg.end, None, reached={})
        call.add(leg, first=True)
        return call

    def add(self, leg: Leg, *, first: bool = False) -> None:
        self.legs += 1
        if self.raws is None:
            self.raws = leg.raw
            self.kept = 1
        elif self.kept < _MAX_RAW_LEGS:
            self.raws.add(leg.raw)
            self.kept += 1
        if leg.helper is None and (
            self.base is None or (leg.originating and not self.base.originating)
        ):
            # The originating channel (uniqueid == linkedid) is the call's own row.
            self.base = leg
        if not first:
            self.start = min(self.start, leg.start)
            if leg.end is not None:
                self.end = leg.end if self.end is None else max(self.end, leg.end)
        if leg.connected and (self.best is None or leg.billsec > self.best.billsec):
            self.best = leg
        peer = channel_peer(leg.dstchannel) if leg.helper is None else None
        if peer and self.reached is not None and len(self.reached) < _MAX_RAW_LEGS:
            self.reached.setdefault(peer, []).append(leg)

    def agent_reached(self, identifiers: frozenset[str]) -> str | None:
        """The agent an inbound call reached: a roster identifier among the legs' dstchannel
        peers first, then an extension; None when no leg reached one."""
        peers = list(self.reached or {})
        known = [p for p in peers if p in identifiers]
        found = known or [p for p in peers if extension_like(p)] or peers
        return found[0] if found else None

    def record(self, source: str, identifiers: frozenset[str]) -> dict[str, Any] | Skipped:
        base = self.base
        if base is None:
            return Skipped(self.first.helper or "a helper leg")
        rep, column, direction, customer = agent_side(base, identifiers)
        best = self.best
        if direction == "inbound":
            # The agent's own leg: its talk (time in an IVR or a queue is no conversation).
            agent = self.agent_reached(identifiers)
            legs = (self.reached or {}).get(agent or "", [])
            talked = [leg for leg in legs if leg.connected]
            best = max(talked, key=lambda leg: leg.billsec) if talked else None
            if column == "dstchannel":  # not renamed by --rep-from
                rep = agent or NO_AGENT
        rec: dict[str, Any] = {
            "source": source,
            "call_id": self.first.call_id,
            "rep": rep,
            "rep_column": column,
            "direction": direction,
            "started_at": self.start.isoformat(),
        }
        if best is not None:
            rec["disposition"] = "answered"
            rec["talk_seconds"] = best.billsec
            if best.answer is not None:
                rec["answered_at"] = best.answer.isoformat()
        else:
            # ANSWERED with billsec 0 is a dial, not a connect.
            d = base.disposition
            rec["disposition"] = "no_answer" if d == "ANSWERED" else DISPOSITIONS[d]
            rec["talk_seconds"] = 0
        if self.end is not None:
            rec["ended_at"] = self.end.isoformat()
        if customer:
            rec["customer"] = customer
        return rec


def _local(channel: str) -> bool:
    return channel.strip().lower().startswith("local/")


def _agent_like(peer: str, identifiers: frozenset[str]) -> bool:
    """An extension or a roster identifier: the inside end of a call."""
    return peer in identifiers or extension_like(peer)


def agent_side(leg: Leg, identifiers: frozenset[str]) -> tuple[str, str, str, str]:
    """(rep, the column it came from, direction, customer) of a call's own row; see the module
    rules."""
    src = channel_peer(leg.channel) or ""
    dst = channel_peer(leg.dstchannel) or ""
    if _local(leg.channel) and holds_number(src) and src not in identifiers:
        # Click-to-call: a Local channel to the customer's number bridged to the agent's phone.
        direction, column, rep, customer = "outbound", "dstchannel", dst, src
    else:
        if src in identifiers:
            inbound = False
        elif inbound_context(leg.dcontext) or holds_number(src):
            inbound = True
        else:
            inbound = dst in identifiers and not extension_like(src)
        if inbound:
            direction, column, rep, customer = "inbound", "dstchannel", dst, leg.src
        else:
            far = dst or leg.dst
            direction = "internal" if _agent_like(far, identifiers) else "outbound"
            column, rep, customer = "channel", src, leg.dst
    # --rep-from replaces the default rule, not a roster identifier the row already names.
    if (
        leg.forced
        and leg.forced[1]
        and not (rep in identifiers and leg.forced[1] not in identifiers)
    ):
        column, rep = leg.forced
    return rep or NO_AGENT, column, direction, "" if direction == "internal" else customer


def _iter_legs(
    lines: Iterable[str],
    *,
    timezone: ZoneInfo,
    source: str,
    rep_from: str | None,
    layouts: dict[int, tuple[str, ...]],
    identifiers: frozenset[str] = frozenset(),
) -> Iterator[Row]:
    columns = {c for cols in layouts.values() for c in cols}
    if rep_from is not None and rep_from not in columns:
        raise ValueError(f"rep_from: '{rep_from}' is not a Master.csv column")
    dst = {n: cols.index("dst") for n, cols in layouts.items()}
    pending: _Call | None = None
    for row, line in enumerate(lines, start=1):
        text = line.rstrip("\r\n")
        if row == 1:
            text = text.removeprefix("\ufeff")
        if not text.strip():
            continue
        try:
            try:
                fields = next(csv.reader([text], strict=True))
            except csv.Error as exc:
                raise RowError(f"not a CSV row ({exc})") from None
            leg = parse_fields(
                fields, row, tz=timezone, rep_from=rep_from, layouts=layouts, line=text
            )
        except RowError as exc:
            # Mask as the layout of this column count would, or as the widest one.
            n = len(text.split(","))
            yield row, None, str(exc), mask_text(text, {dst.get(n, 2), 1})
            continue
        if pending is not None and pending.first.call_id == leg.call_id:
            pending.add(leg)
            continue
        if pending is not None:
            yield _out(pending, source, identifiers)
        pending = _Call.of(leg)
    if pending is not None:
        yield _out(pending, source, identifiers)


def _out(call: _Call, source: str, identifiers: frozenset[str]) -> Row:
    made = call.record(source, identifiers)
    if isinstance(made, Skipped):
        return call.first.row, None, made, call.raws or ""
    return call.first.row, made, None, call.raws or ""


def iter_master_csv(
    lines: Iterable[str], *, timezone: ZoneInfo, source: str, rep_from: str | None
) -> Iterator[Row]:
    """Like :func:`read_master_csv`, each item with a fourth member: the row's raw text with
    phone numbers masked (for a rejects file). A call's raw text is its legs' lines."""
    return _iter_legs(lines, timezone=timezone, source=source, rep_from=rep_from, layouts=LAYOUTS)


def read_master_csv(
    lines: Iterable[str], *, timezone: ZoneInfo, source: str, rep_from: str | None
) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """Stream Master.csv lines → (row number (1-based line), record dict or None, reason or None).

    A record is in the POST /api/v1/calls shape; a row that is not one yields its reason. Blank
    lines are skipped. Merged legs carry the row number of the call's first leg.
    """
    for row, record, reason, _raw in iter_master_csv(
        lines, timezone=timezone, source=source, rep_from=rep_from
    ):
        yield row, record, reason


def _read_cdr_csv(source: Input, options: Options) -> Iterator[Row]:
    return _iter_legs(
        source.lines(options.encoding or "utf-8"),
        timezone=options.timezone,
        source=options.source,
        rep_from=options.rep_from,
        layouts=LAYOUTS,
        identifiers=options.identifiers,
    )


def _read_cdr_custom(source: Input, options: Options) -> Iterator[Row]:
    return _iter_legs(
        source.lines(options.encoding or "utf-8"),
        timezone=options.timezone,
        source=options.source,
        rep_from=options.rep_from,
        layouts=CUSTOM_LAYOUTS,
        identifiers=options.identifiers,
    )


ASTERISK = Adapter(
    name="asterisk",
    summary="Asterisk cdr_csv Master.csv (16, 18 or 21 columns, no header)",
    read=_read_cdr_csv,
    rep_columns=COLUMNS_21,
)
ASTERISK_CUSTOM = Adapter(
    name="asterisk-custom",
    summary="Asterisk cdr_custom Master.csv, the default template (clid first, all quoted)",
    read=_read_cdr_custom,
    rep_columns=CUSTOM_19,
)
