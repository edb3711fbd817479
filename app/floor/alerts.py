"""Which alerts to raise now, from each rep's paces and last dial. Pure: the caller stores them
and passes back what is still open, so each alert is raised once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from app.floor.pacing import Pace, calling_seconds, calling_windows, period_bounds
from app.floor.schedule import Schedule

KINDS = ("behind_pace", "recovered", "idle", "paused_long", "not_in")
#: A red in the first calling hour is one slow start, not a rep to step in with.
BEHIND_AFTER_SECONDS = 3600
#: At most one behind/recovered cycle per rep and metric in this long: a rep hovering at the
#: amber line is one alert, not one a minute.
CYCLE_SECONDS = 3600
#: A rep a source reports logged out all day is "not in" from this local time on.
NOT_IN_BY = time(10, 0)
#: An open behind recovers at green, or after this long out of the red (PACEBOARD_RECOVER_MINUTES).
RECOVER_MINUTES = 10

Key = tuple[int, str]  # (rep id, metric)


@dataclass(frozen=True)
class RepState:
    """What :func:`decide` needs to know about one rep today."""

    rep_id: int
    active: bool
    schedule: Schedule
    paces: Mapping[str, Pace]  # metric -> today's day-period Pace (only metrics with a day target)
    last_dial_at: datetime | None  # the rep's latest call started_at today (aware), or None
    #: The present agent state (None: no source reports this rep's states), its pause reason
    #: and since when; ``not_in``: logged out all day (no pace alerts for someone not in).
    state: str | None = None
    reason: str = ""
    state_since: datetime | None = None
    not_in: bool = False
    #: Away the whole day (leave, sick, absent): no alert of any kind.
    off: bool = False


@dataclass(frozen=True)
class OpenAlerts:
    """Alerts raised earlier and still standing, so they are not raised again."""

    # (rep_id, metric) with a behind_pace raised today and not yet recovered
    behind: frozenset[Key] = frozenset()
    # (rep_id, metric) -> when the latest behind_pace of today was raised (open or not)
    last_behind: Mapping[Key, datetime] = field(default_factory=dict)
    # (rep_id, metric) with an open behind -> since when it has been out of the red (amber)
    amber_since: Mapping[Key, datetime] = field(default_factory=dict)
    # rep_ids with an idle alert raised after their last dial
    idle: frozenset[int] = frozenset()
    # rep_ids with a paused_long alert raised during their present pause
    paused: frozenset[int] = frozenset()
    # rep_ids with a not_in alert raised today
    not_in: frozenset[int] = frozenset()


@dataclass(frozen=True)
class PauseLimits:
    """How long a pause may last before ``paused_long``: minutes by reason, else ``default``;
    ``exempt_outside_windows``: reasons whose time outside the calling windows (the lunch
    break) does not count."""

    by_reason: Mapping[str, int]
    default: int = 15
    exempt_outside_windows: frozenset[str] = frozenset({"lunch"})

    def minutes(self, reason: str) -> int:
        return self.by_reason.get(reason, self.default)


@dataclass(frozen=True)
class NewAlert:
    """An alert to raise. detail: Pace.as_dict() for behind_pace/recovered; for idle
    {"idle_minutes": calling minutes since the last dial, "last_dial_at": iso or None}."""

    rep_id: int
    kind: str
    metric: str | None
    detail: dict[str, Any]


def _pace_alerts(
    rep: RepState, open_alerts: OpenAlerts, day: date, now: datetime, recover_minutes: int
) -> list[NewAlert]:
    """Hysteresis: behind opens in the red (below amber) after the first calling hour, at most
    once per :data:`CYCLE_SECONDS`; it recovers at green, or after ``recover_minutes`` out of
    the red (``open_alerts.amber_since``, kept by the caller with :func:`track_amber`)."""
    start, end = period_bounds(rep.schedule, "day", day)
    called = calling_seconds(rep.schedule, start, min(now, end))
    alerts = []
    for metric, pace in rep.paces.items():
        key = (rep.rep_id, metric)
        if key not in open_alerts.behind:
            last = open_alerts.last_behind.get(key)
            recent = last is not None and (now - last).total_seconds() < CYCLE_SECONDS
            if pace.status == "red" and called >= BEHIND_AFTER_SECONDS and not recent:
                alerts.append(NewAlert(rep.rep_id, "behind_pace", metric, pace.as_dict()))
            continue
        amber = open_alerts.amber_since.get(key)
        settled = amber is not None and (now - amber).total_seconds() >= recover_minutes * 60
        if pace.status == "green" or (pace.status == "amber" and settled):
            alerts.append(NewAlert(rep.rep_id, "recovered", metric, pace.as_dict()))
    return alerts


def track_amber(
    reps: Sequence[RepState], behind: frozenset[Key], held: Mapping[Key, datetime], now: datetime
) -> dict[Key, datetime]:
    """Since when each open behind has been out of the red, as of ``now``: kept from ``held``
    while it stays amber, begun now when it leaves the red, dropped when it is red again."""
    out: dict[Key, datetime] = {}
    for rep in reps:
        for metric, pace in rep.paces.items():
            key = (rep.rep_id, metric)
            if key in behind and pace.status != "red":
                out[key] = held.get(key, now)
    return out


def _idle_alert(rep: RepState, day: date, now: datetime, idle_minutes: int) -> NewAlert | None:
    if not any(a <= now < b for a, b in calling_windows(rep.schedule, day)):
        return None
    if rep.state is not None and rep.state != "available":
        return None  # on a call, paused or out: not idle (a long pause has its own alert)
    since = period_bounds(rep.schedule, "day", day)[0].astimezone(UTC)
    if rep.last_dial_at is not None:
        if rep.last_dial_at.utcoffset() is None:
            raise ValueError(f"rep {rep.rep_id}: last_dial_at {rep.last_dial_at!r} is naive")
        since = max(since, rep.last_dial_at.astimezone(UTC))
    if rep.state_since is not None:
        since = max(since, rep.state_since.astimezone(UTC))  # ready since then
    # Calling time, not wall time: a lunch break is nobody's idleness.
    idle = calling_seconds(rep.schedule, since, now)
    if idle < idle_minutes * 60:
        return None
    last = rep.last_dial_at.isoformat() if rep.last_dial_at is not None else None
    return NewAlert(
        rep.rep_id, "idle", None, {"idle_minutes": int(idle // 60), "last_dial_at": last}
    )


def _paused_alert(rep: RepState, now: datetime, limits: PauseLimits) -> NewAlert | None:
    if rep.state != "paused" or rep.state_since is None:
        return None
    since = rep.state_since.astimezone(UTC)
    if rep.reason in limits.exempt_outside_windows:
        paused = calling_seconds(rep.schedule, since, now)  # the lunch break is lunch's
    else:
        paused = (now - since).total_seconds()
    limit = limits.minutes(rep.reason)
    if paused <= limit * 60:
        return None
    detail = {
        "reason": rep.reason,
        "paused_minutes": int(paused // 60),
        "limit_minutes": limit,
        "since": since.isoformat(),
    }
    return NewAlert(rep.rep_id, "paused_long", None, detail)


def _not_in_alert(rep: RepState, day: date, now: datetime, by: time) -> NewAlert | None:
    """A rep a source reports logged out all day, past ``by`` on a working day they are
    expected (not away): not in yet."""
    if not rep.not_in or day.isoweekday() not in rep.schedule.working_days:
        return None
    deadline = datetime.combine(day, by, rep.schedule.timezone)
    if now < deadline:
        return None
    return NewAlert(rep.rep_id, "not_in", None, {"by": by.strftime("%H:%M")})


def decide(
    reps: Sequence[RepState],
    open_alerts: OpenAlerts,
    *,
    day: date,
    now: datetime,
    idle_minutes: int = 15,
    pause_limits: PauseLimits | None = None,
    recover_minutes: int = RECOVER_MINUTES,
    not_in_by: time = NOT_IN_BY,
) -> list[NewAlert]:
    """The alerts to raise at `now` for local date `day`, ordered by rep_id, kind, metric.

    behind_pace: a metric is red after the first calling hour, not already open and not opened
    in the last hour. recovered: an open one is green, or amber for ``recover_minutes``. idle:
    inside a calling window, no dial for `idle_minutes` calling minutes and no idle alert open;
    with agent states, only while ``available`` (counted from when they became so).
    paused_long: a pause longer than its reason's limit, once per pause. not_in: reported
    logged out all day past ``not_in_by`` on a working day, once a day. Inactive reps and
    reps away for the day get nothing; a rep not in gets no behind_pace or idle.
    """
    if now.utcoffset() is None:
        raise ValueError(f"{now!r} is naive; alerts need a timezone-aware now")
    # Same-tzinfo datetimes compare by wall clock, wrong in a repeated DST hour.
    now = now.astimezone(UTC)
    alerts: list[NewAlert] = []
    for rep in reps:
        if not rep.active or rep.off:
            continue
        if rep.rep_id not in open_alerts.paused:
            paused = _paused_alert(rep, now, pause_limits or PauseLimits({}))
            if paused is not None:
                alerts.append(paused)
        if rep.not_in:
            if rep.rep_id not in open_alerts.not_in:
                late = _not_in_alert(rep, day, now, not_in_by)
                if late is not None:
                    alerts.append(late)
            continue
        alerts.extend(_pace_alerts(rep, open_alerts, day, now, recover_minutes))
        if rep.rep_id not in open_alerts.idle:
            idle = _idle_alert(rep, day, now, idle_minutes)
            if idle is not None:
                alerts.append(idle)
    return sorted(alerts, key=lambda a: (a.rep_id, a.kind, a.metric or ""))
