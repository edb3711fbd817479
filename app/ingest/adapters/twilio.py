"""Twilio-compatible call status callbacks → call records in the POST /api/v1/calls shape.

Pure functions: no FastAPI, no SQL. The router (:mod:`app.api.webhooks`) checks the signature,
finds the rep and hands the record to the group-commit writer.

Signature (Twilio's algorithm): the full URL Twilio was given, then for each POST parameter
sorted by name (case-sensitive, code-point order) its name and value appended; HMAC-SHA1 of that
with the account auth token, base64. A repeated name contributes each distinct value, sorted.

Rules:

* call_id is ``CallSid``; ``SequenceNumber`` is the record's ``revision``. Callbacks are separate
  HTTP requests and arrive out of order; the ingest keeps the highest revision, so a late
  ``ringing`` (seq 1) after ``completed`` (seq 3) is ``stale`` and changes nothing.
* ``Timestamp`` (RFC 2822) is when the event fired. A ``completed`` call started at
  Timestamp − ``CallDuration`` (seconds; ``Duration`` is billed *minutes* and never used);
  every other status started at Timestamp.
* A connect (``answered``) is ``completed`` with CallDuration > 0: talk is CallDuration,
  answered_at is started_at, ended_at is Timestamp. ``completed`` with 0 is ``no_answer``;
  ``busy``, ``failed``, ``no-answer``, ``canceled`` map to busy, failed, no_answer, cancelled,
  each ending at Timestamp.
* ``queued``, ``initiated``, ``ringing`` and ``in-progress`` (the call is still going) *do*
  create a record: a dial with disposition ``no_answer``, no talk and no end. The wallboard counts
  a dial when it is dialled, not when it hangs up, so reps and leads see the dial at once (and the
  idle alert sees the rep working); the later terminal callback has a higher SequenceNumber and
  updates the same call (dials stay 1, the connect and talk are added then). Should the terminal
  callback never come, the call stays what it was: a dial that did not connect.
* Every record carries all its content fields (answered_at and ended_at as null when unknown), so
  a newer revision replaces the older one whole; it never carries ``outcome``/``order_value``, so
  a wrap-up correction (PATCH) survives later callbacks.
* ``Direction`` ``inbound`` is inbound; anything else (``outbound-api``, ``outbound-dial``) is
  outbound.
* Parties (:func:`parties`): a ``client:<code>`` (an agent's browser phone) in From or To names
  the rep and the other party is the customer; otherwise the rep's line is From for an outbound
  call and To for an inbound one (looked up among the reps' identifiers by the caller), and the
  customer is the other number. The ingest keeps only the customer's keyed hash.

Errors are :class:`~app.ingest.records.FieldError` naming the Twilio parameter; no reason ever
contains a phone number.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from app.floor.pacing import FIRST_DAY, LAST_DAY
from app.ingest.records import FieldError

SOURCE = "twilio"

#: Terminal CallStatus values other than ``completed`` → disposition.
_ENDED = {"busy": "busy", "failed": "failed", "no-answer": "no_answer", "canceled": "cancelled"}
#: CallStatus values of a call still going: stored as a dial, updated by the terminal callback.
IN_PROGRESS = frozenset({"queued", "initiated", "ringing", "in-progress"})
STATUSES = frozenset({"completed", *_ENDED, *IN_PROGRESS})

CLIENT_PREFIX = "client:"
#: The longest call a record may carry (talk_seconds' own limit).
MAX_CALL_SECONDS = 86_400

Params = Mapping[str, str] | Iterable[tuple[str, str]]


def _pairs(params: Params) -> list[tuple[str, str]]:
    if isinstance(params, Mapping):
        return [(str(k), str(v)) for k, v in params.items()]
    return [(str(k), str(v)) for k, v in params]


def signature(url: str, params: Params, token: str) -> str:
    """Twilio's X-Twilio-Signature of a form POST to ``url`` with ``params``."""
    values: dict[str, set[str]] = {}
    for name, value in _pairs(params):
        values.setdefault(name, set()).add(value)
    data = url + "".join(name + v for name in sorted(values) for v in sorted(values[name]))
    mac = hmac.new(token.encode("utf-8"), data.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(mac).decode("ascii")


def _port_variants(url: str) -> list[str]:
    """``url`` as given, and with its default port added or removed: Twilio signs the URL as it
    was configured, which may or may not spell ``:443``/``:80`` the way the proxy does."""
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    if default is None or not parts.hostname:
        return [url]
    try:
        port = parts.port
    except ValueError:
        return [url]
    host = parts.netloc.rsplit("@", 1)[-1]
    userinfo = parts.netloc[: len(parts.netloc) - len(host)]
    bare = host if port is None else host.rsplit(":", 1)[0]
    if port is None:
        other = f"{userinfo}{bare}:{default}"
    elif port == default:
        other = f"{userinfo}{bare}"
    else:
        return [url]
    return [url, urlunsplit(parts._replace(netloc=other))]


def valid_signature(url: str, params: Params, token: str, given: str | None) -> bool:
    """Whether ``given`` is the signature of this request (constant-time comparison)."""
    if not token or not given:
        return False
    pairs = _pairs(params)
    expected = given.strip().encode("utf-8")
    ok = False
    for candidate in _port_variants(url):
        # Every variant is compared, so the time taken does not tell which one matched.
        ok |= hmac.compare_digest(signature(candidate, pairs, token).encode("ascii"), expected)
    return ok


# --- parameters → record ---------------------------------------------------------------------


def _text(params: Mapping[str, str], name: str) -> str:
    value = (params.get(name) or "").strip()
    if not value:
        raise FieldError(name, "is required")
    return value


def _int(params: Mapping[str, str], name: str, *, required: bool) -> int | None:
    text = (params.get(name) or "").strip()
    if not text:
        if required:
            raise FieldError(name, "is required")
        return None
    if not (text.isascii() and text.isdigit()):
        raise FieldError(name, "must be a whole number of 0 or more")
    return int(text)


def _timestamp(params: Mapping[str, str]) -> datetime:
    text = _text(params, "Timestamp")
    try:
        ts = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        raise FieldError(
            "Timestamp", "is not an RFC 2822 date (Thu, 26 Nov 2026 02:05:00 +0000)"
        ) from None
    if not FIRST_DAY.year <= ts.year <= LAST_DAY.year:
        raise FieldError("Timestamp", f"must be between {FIRST_DAY} and {LAST_DAY}")
    # RFC 2822's "-0000" is UTC with no local offset known; Python reads it as naive.
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts


def status(params: Mapping[str, str]) -> str:
    """The CallStatus, checked against the ones Twilio sends."""
    value = _text(params, "CallStatus").lower()
    if value not in STATUSES:
        raise FieldError("CallStatus", f"must be one of {', '.join(sorted(STATUSES))}")
    return value


def direction(params: Mapping[str, str]) -> str:
    return "inbound" if (params.get("Direction") or "").strip() == "inbound" else "outbound"


@dataclass(frozen=True, slots=True)
class Parties:
    """Who the call was between. ``client`` is a rep code from ``client:<code>``; otherwise
    ``line`` is the rep's number, to be looked up among identifiers, and ``line_field`` the
    parameter it came from (``From``/``To``), for an error that must not repeat the number."""

    customer: str | None
    client: str | None = None
    line: str | None = None
    line_field: str = "From"


def _customer(value: str) -> str | None:
    """The customer's number as the ingest hashes it (a SIP URI's user part)."""
    if value.lower().startswith("sip:"):
        value = value[4:].split("@", 1)[0].split(";", 1)[0]
    return value or None


def parties(params: Mapping[str, str]) -> Parties:
    """The rep side and the customer of a callback (see the module rules)."""
    frm = (params.get("From") or "").strip()
    to = (params.get("To") or "").strip()
    inbound = direction(params) == "inbound"
    # Both ends browser phones: the agent is the callee of an inbound call, else the caller.
    order = (
        (("To", to, frm), ("From", frm, to)) if inbound else (("From", frm, to), ("To", to, frm))
    )
    for name, mine, other in order:
        if mine.lower().startswith(CLIENT_PREFIX):
            code = mine[len(CLIENT_PREFIX) :].strip()
            if not code:
                raise FieldError(name, "client: carries no identity")
            return Parties(customer=_customer(other), client=code)
    line_field, line, other = ("To", to, frm) if inbound else ("From", frm, to)
    if not line:
        raise FieldError(line_field, "is required")
    return Parties(customer=_customer(other), line=line, line_field=line_field)


def to_record(
    params: Mapping[str, str], *, rep: str, customer: str | None, source: str = SOURCE
) -> dict[str, Any]:
    """The call record of one status callback, for :func:`app.ingest.records.parse_record`."""
    call_id = _text(params, "CallSid")
    state = status(params)
    revision = _int(params, "SequenceNumber", required=True)
    # Checked whatever the status, so a malformed value never passes silently.
    duration = _int(params, "CallDuration", required=state == "completed")
    if duration is not None and duration > MAX_CALL_SECONDS:
        raise FieldError("CallDuration", f"must be at most {MAX_CALL_SECONDS} seconds (a day)")
    ts = _timestamp(params)

    started, answered, ended, talk = ts, None, None, 0
    if state == "completed":
        assert duration is not None
        started, ended = ts - timedelta(seconds=duration), ts
        if duration > 0:
            disposition, answered, talk = "answered", started, duration
        else:
            disposition = "no_answer"
    elif state in _ENDED:
        disposition, ended = _ENDED[state], ts
    else:  # still going: a dial now, updated by the terminal callback
        disposition = "no_answer"

    def iso(t: datetime | None) -> str | None:
        return t.isoformat() if t is not None else None

    return {
        "source": source,
        "call_id": call_id,
        "revision": revision,
        "rep": rep,
        "direction": direction(params),
        "started_at": iso(started),
        "answered_at": iso(answered),
        "ended_at": iso(ended),
        "talk_seconds": talk,
        "disposition": disposition,
        "customer": customer,
    }


# --- TaskRouter: worker activity -> agent-state event --------------------------------------------

#: The TaskRouter event this adapter turns into an agent-state event; the workspace's other
#: events (tasks, reservations) are acknowledged and left alone.
ACTIVITY_EVENT = "worker.activity.update"


def activity_event(
    params: Mapping[str, str], activities: Mapping[str, tuple[str, str]]
) -> dict[str, Any]:
    """A ``worker.activity.update`` callback as a ``POST /api/v1/agent-events`` record: the rep
    is ``WorkerName`` (an identifier of theirs), the state is what ``WorkerActivityName`` means
    in ``activities`` (PACEBOARD_TASKROUTER_ACTIVITIES), ``at`` is ``Timestamp`` (Unix seconds),
    the event id is ``Sid`` (the event's own; a retried callback is a duplicate)."""
    name = params.get("WorkerActivityName", "")
    if name not in activities:
        known = ", ".join(sorted(activities))
        raise FieldError(
            "WorkerActivityName",
            f"'{name[:40]}' is not in PACEBOARD_TASKROUTER_ACTIVITIES ({known})",
        )
    rep = params.get("WorkerName", "").strip()
    if not rep:
        raise FieldError("WorkerName", "missing: the worker names the rep")
    try:
        at = datetime.fromtimestamp(int(params.get("Timestamp", "")), UTC)
    except (ValueError, OverflowError, OSError):
        raise FieldError("Timestamp", "must be Unix seconds") from None
    state, reason = activities[name]
    record: dict[str, Any] = {
        "source": SOURCE,
        "rep": rep,
        "state": state,
        "reason": reason or name,
        "at": at.isoformat(),
    }
    if params.get("Sid"):
        record["event_id"] = params["Sid"]
    return record
