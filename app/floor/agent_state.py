"""Agent states and the time spent in them, per local hour. Pure: instants are passed in.

A rep's events, in their order (:func:`event_order`: the instant, then the source and event
key, so any arrival order gives the same sequence), cut the day into intervals: each event's
state lasts until the next event. Closed intervals are counted per local hour; the last event's
interval stays open (the present: "on a call for 12 minutes") and is counted by whoever
evaluates it at an instant. An event arriving late, between two known ones, splits the interval
it falls into: :func:`insertion_deltas` says what moves, so stored totals change by the
difference and always equal :func:`totals_of` over all the events.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

State = Literal["logged_out", "available", "ringing", "on_call", "wrap_up", "paused"]
STATES: tuple[State, ...] = ("logged_out", "available", "ringing", "on_call", "wrap_up", "paused")

#: The pause reasons a floor starts with (README, "Agent states"): code -> labels. A reason not
#: on the floor's list is kept as given and shown as is.
DEFAULT_PAUSE_REASONS: dict[str, dict[str, str]] = {
    "break": {"zh": "休息", "en": "Break"},
    "lunch": {"zh": "午饭", "en": "Lunch"},
    "training": {"zh": "培训", "en": "Training"},
    "meeting": {"zh": "会议", "en": "Meeting"},
    "coaching": {"zh": "辅导", "en": "Coaching"},
    "other": {"zh": "其他", "en": "Other"},
}

#: (local day, local hour, state, reason) -> seconds; reason is "" for every state but paused.
StateCell = tuple[date, int, str, str]


@dataclass(frozen=True, slots=True)
class StateEvent:
    """One event of one rep: from ``at`` the rep is in ``state`` (``reason``: a pause's)."""

    at: datetime  # aware, whole seconds
    source: str
    key: str  # the event's identity within its source (its event_id, or a digest of it)
    state: str
    reason: str = ""


def event_order(e: StateEvent) -> tuple[datetime, str, str]:
    """The order events take effect in, whatever order they arrived in."""
    return (e.at, e.source, e.key)


def seconds_by_hour(start: datetime, end: datetime, tz: ZoneInfo) -> dict[tuple[date, int], int]:
    """The whole seconds of ``[start, end)`` in each local (day, hour) of ``tz``."""
    out: dict[tuple[date, int], int] = {}
    t = start.astimezone(UTC)
    end = end.astimezone(UTC)
    while t < end:
        local = t.astimezone(tz)
        # The next local hour begins this many seconds on (a zone's offset moves by whole
        # quarter hours at most, so the boundary is where the local minute and second are 0).
        into = local.minute * 60 + local.second
        step = min(end, t + timedelta(seconds=3600 - into))
        cell = (local.date(), local.hour)
        out[cell] = out.get(cell, 0) + int((step - t).total_seconds())
        t = step
    return out


def interval_cells(
    state: str, reason: str, start: datetime, end: datetime, tz: ZoneInfo
) -> dict[StateCell, int]:
    """``[start, end)`` spent in ``state`` as (day, hour, state, reason) cells."""
    return {
        (day, hour, state, reason): s
        for (day, hour), s in seconds_by_hour(start, end, tz).items()
        if s
    }


def totals_of(events: Iterable[StateEvent], tz: ZoneInfo) -> dict[StateCell, int]:
    """Every closed interval of one rep's events, counted per cell (the rebuild)."""
    ordered = sorted(events, key=event_order)
    out: dict[StateCell, int] = defaultdict(int)
    for e, nxt in zip(ordered, ordered[1:], strict=False):
        for cell, s in interval_cells(e.state, e.reason, e.at, nxt.at, tz).items():
            out[cell] += s
    return dict(out)


def insertion_deltas(
    new: StateEvent, before: StateEvent | None, after: StateEvent | None, tz: ZoneInfo
) -> dict[StateCell, int]:
    """What the stored totals move by when ``new`` takes its place between ``before`` and
    ``after`` (its neighbours in :func:`event_order`; None at either end). ``before``'s interval
    used to run to ``after`` (or stay open): from ``new.at`` on, it is ``new``'s."""
    out: dict[StateCell, int] = defaultdict(int)
    if before is not None:
        if after is None:  # its open interval now closes at new.at
            cells = interval_cells(before.state, before.reason, before.at, new.at, tz)
            sign = 1
        else:  # it loses [new.at, after.at) to new
            cells = interval_cells(before.state, before.reason, new.at, after.at, tz)
            sign = -1
        for cell, s in cells.items():
            out[cell] += sign * s
    if after is not None:
        for cell, s in interval_cells(new.state, new.reason, new.at, after.at, tz).items():
            out[cell] += s
    return {c: s for c, s in out.items() if s}


def neighbours(
    ordered: Sequence[StateEvent], new: StateEvent
) -> tuple[StateEvent | None, StateEvent | None]:
    """``new``'s neighbours among ``ordered`` (sorted by :func:`event_order`)."""
    key = event_order(new)
    before = None
    for e in ordered:
        if event_order(e) < key:
            before = e
        else:
            return before, e
    return before, None


#: Twilio TaskRouter activity names -> (state, pause reason): a new workspace's activities and
#: the usual additions. PACEBOARD_TASKROUTER_ACTIVITIES replaces it ("Name=state[:reason],…").
DEFAULT_TASKROUTER_ACTIVITIES = (
    "Offline=logged_out,Available=available,Unavailable=paused,Break=paused:break,"
    "Lunch=paused:lunch,Training=paused:training,Meeting=paused:meeting,WrapUp=wrap_up"
)


def parse_activity_map(text: str) -> dict[str, tuple[str, str]]:
    """``"Name=state[:reason],…"`` as {activity name: (state, reason)}; ValueError naming the
    entry that is not one."""
    out: dict[str, tuple[str, str]] = {}
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        name, sep, target = entry.partition("=")
        state, _, reason = target.strip().partition(":")
        if not sep or not name.strip() or state not in STATES:
            raise ValueError(
                f"'{entry}' is not Name=state[:reason] with a state of {', '.join(STATES)}"
            )
        if reason and state != "paused":
            raise ValueError(f"'{entry}': only a paused state has a reason")
        out[name.strip()] = (state, reason.strip())
    return out
