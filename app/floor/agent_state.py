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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
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

#: A pause longer than this (minutes) raises ``paused_long`` unless its reason sets its own.
DEFAULT_PAUSE_LIMIT_MINUTES = 15


@dataclass(frozen=True, slots=True)
class PauseReason:
    """One reason on the floor's list: its labels and how long such a pause may last."""

    code: str
    zh: str
    en: str
    limit_minutes: int = DEFAULT_PAUSE_LIMIT_MINUTES


def default_pause_reasons() -> dict[str, PauseReason]:
    return {
        code: PauseReason(code, labels["zh"], labels["en"])
        for code, labels in DEFAULT_PAUSE_REASONS.items()
    }


def parse_pause_reasons(text: str) -> dict[str, PauseReason]:
    """``"code=中文/English[/minutes],…"`` as {code: PauseReason}; ValueError naming the entry
    that is not one."""
    out: dict[str, PauseReason] = {}
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        code, sep, labels = entry.partition("=")
        parts = [p.strip() for p in labels.split("/")]
        ok = sep and code.strip() and len(parts) in (2, 3) and all(parts)
        if ok and len(parts) == 3 and not (parts[2].isdigit() and int(parts[2]) > 0):
            ok = False
        if not ok:
            raise ValueError(f"'{entry}' is not code=中文/English[/minutes]")
        limit = int(parts[2]) if len(parts) == 3 else DEFAULT_PAUSE_LIMIT_MINUTES
        out[code.strip()] = PauseReason(code.strip(), parts[0], parts[1], limit)
    if not out:
        raise ValueError("at least one pause reason is needed")
    return out


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


# --- the present and today's time in state, as a view shows them -------------------------------

#: The states a rep is logged in in (every state but logged_out).
LOGGED_IN = frozenset(STATES) - {"logged_out"}
TIME_FIELDS = tuple(f"{s}_seconds" for s in STATES if s != "logged_out")

#: (local hour, state, reason) -> seconds of one rep's day (state_total's cells of that day).
DayCells = dict[tuple[int, str, str], int]


def occupancy(on_call: int, wrap_up: int, logged_in: int) -> float | None:
    """(on call + wrap-up) / logged in; None with no logged-in time."""
    return round((on_call + wrap_up) / logged_in, 4) if logged_in else None


def time_in_state(cells: Iterable[tuple[str, str, int]]) -> dict[str, Any]:
    """A :class:`app.floor.types.TimeInState` from (state, reason, seconds) cells."""
    out: dict[str, Any] = dict.fromkeys(("logged_in_seconds", *TIME_FIELDS), 0)
    by_reason: dict[str, int] = {}
    for state, reason, s in cells:
        if state not in LOGGED_IN or not s:
            continue
        out["logged_in_seconds"] += s
        out[f"{state}_seconds"] += s
        if state == "paused":
            by_reason[reason] = by_reason.get(reason, 0) + s
    out["paused_by_reason"] = dict(sorted(by_reason.items()))
    out["occupancy"] = occupancy(
        out["on_call_seconds"], out["wrap_up_seconds"], out["logged_in_seconds"]
    )
    return out


def add_times(times: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The sum of several :func:`time_in_state` results (a team's, the floor's)."""
    cells: list[tuple[str, str, int]] = []
    for t in times:
        cells += _time_cells(t, 1)
    return time_in_state(cells)


def state_counts(present: Iterable[str | None]) -> dict[str, int]:
    """Reps by present state, every state keyed (None, never reported, is not counted)."""
    out: dict[str, int] = dict.fromkeys(STATES, 0)
    for state in present:
        if state is not None:
            out[state] += 1
    return out


def presence_fields(
    current: StateEvent | None,
    cells: DayCells,
    *,
    day: date,
    at: datetime,
    cut: int,
    tz: ZoneInfo,
) -> dict[str, Any]:
    """A rep row's ``agent`` (an :class:`app.floor.types.AgentNow`: the present state), ``time``
    on ``day`` up to ``at`` (closed cells of the hours up to ``cut``, and the open interval from
    the latest event to ``at``) and ``not_in`` (reported logged out, no logged-in time)."""
    counted = [(state, reason, s) for (hour, state, reason), s in cells.items() if hour <= cut]
    # Clipped to the day: a rep logged out since last week costs an hour loop of one day.
    start = max(current.at, datetime.combine(day, time(), tz)) if current else at
    if current is not None and start < at:
        for (d, _hour, state, reason), s in interval_cells(
            current.state, current.reason, start, at, tz
        ).items():
            if d == day:
                counted.append((state, reason, s))
    spent = time_in_state(counted)
    if current is None:
        return {"agent": None, "time": spent, "not_in": False}
    now = {"state": current.state, "reason": current.reason, "since": current.at.isoformat()}
    not_in = current.state == "logged_out" and spent["logged_in_seconds"] == 0
    return {"agent": now, "time": spent, "not_in": not_in}


def group_presence(reps: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """A team's or the floor's ``states`` and ``time`` from its rep rows."""
    rows = list(reps)
    return {
        "states": state_counts(r["agent"]["state"] if r["agent"] else None for r in rows),
        "time": add_times(r["time"] for r in rows),
    }


def sum_presence(groups: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The floor's ``states`` and ``time`` from its teams' rows."""
    rows = list(groups)
    states = dict.fromkeys(STATES, 0)
    for g in rows:
        for s, n in g["states"].items():
            states[s] += n
    return {"states": states, "time": add_times(g["time"] for g in rows)}


def shift_presence(
    group: Mapping[str, Any], old: Mapping[str, Any], new: Mapping[str, Any]
) -> dict[str, Any]:
    """A group's ``states`` and ``time`` with one rep row's part replaced (``old`` by
    ``new``): what one rep's state change costs a team and the floor, whatever their size."""
    states = dict(group["states"])
    for row, sign in ((old, -1), (new, 1)):
        if row["agent"]:
            states[row["agent"]["state"]] += sign
    cells = _time_cells(group["time"], 1) + _time_cells(old["time"], -1)
    cells += _time_cells(new["time"], 1)
    merged: dict[tuple[str, str], int] = defaultdict(int)
    for state, reason, s in cells:
        merged[(state, reason)] += s
    return {"states": states, "time": time_in_state((s, r, v) for (s, r), v in merged.items())}


def _time_cells(t: Mapping[str, Any], sign: int) -> list[tuple[str, str, int]]:
    cells = [(s, "", sign * t[f"{s}_seconds"]) for s in LOGGED_IN if s != "paused"]
    return cells + [("paused", r, sign * v) for r, v in t["paused_by_reason"].items()]
