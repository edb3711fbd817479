"""The floor view's declared types: the snapshot, its rows, hours and pace blocks, and the live
socket's messages. They document the REST snapshot (its ``response_model``, so OpenAPI shows
them) and the hub's frames; tests/api/test_floor_types.py validates real snapshots and frames
against them with extra keys forbidden, so the types and the data cannot drift apart. Pure."""

from __future__ import annotations

from typing import Literal, NotRequired

from pydantic import ConfigDict
from typing_extensions import TypedDict

_STRICT = ConfigDict(extra="forbid")

Status = Literal["green", "amber", "red"]
TierName = Literal["top", "core", "laggard", "new"]


class Totals(TypedDict):
    """Every figure an hour cell holds (app.floor.metrics.METRICS)."""

    __pydantic_config__ = _STRICT  # type: ignore[misc]
    dials: int
    connects: int
    talk_seconds: int
    orders: int
    invites: int
    revenue: int  # minor units
    inbound_calls: int
    inbound_connects: int
    connect_orders: int
    leads_dialled: int
    leads_connected: int


class Hour(Totals):
    """One local hour: its totals and its share of each day target (every calling hour)."""

    hour: int
    target_share: dict[str, float]


class Pace(TypedDict):
    """Progress against one target (app.floor.pacing.Pace.as_dict)."""

    __pydantic_config__ = _STRICT  # type: ignore[misc]
    target: int | float
    stretch: float
    expected: float
    actual: int | float
    pace: float | None
    status: Status
    projection: float | None
    needed_per_hour: float | None


class Funnel(TypedDict):
    """The seed's funnel identities for one rep, team or the floor (app.floor.funnel)."""

    __pydantic_config__ = _STRICT  # type: ignore[misc]
    leads_dialled: int
    contact_rate: float | None
    connected_leads: int
    turnover: float | None
    dials: int
    avg_talk_per_dial: float | None
    talk_seconds: int
    success_rate: float | None
    orders: int
    avg_order_value: float | None
    revenue: int


class Diagnosis(TypedDict):
    """A factor holding a behind rep back, against the team's median."""

    __pydantic_config__ = _STRICT  # type: ignore[misc]
    factor: str
    rep: float
    team: float
    ratio: float
    text: dict[str, str]  # {"en": …, "zh": …}


class Tiers(TypedDict):
    __pydantic_config__ = _STRICT  # type: ignore[misc]
    day: TierName | None
    month: TierName | None


class MentoringPair(TypedDict):
    __pydantic_config__ = _STRICT  # type: ignore[misc]
    mentor: str
    mentee: str
    pinned: bool  # set by a lead (rep.mentor_id); else paired automatically


class TimeInState(TypedDict):
    """Seconds in each agent state today up to the view's instant (closed intervals and the
    open one), and occupancy = (on_call + wrap_up) / logged_in (None before any logged-in time)."""

    __pydantic_config__ = _STRICT  # type: ignore[misc]
    logged_in_seconds: int
    available_seconds: int
    ringing_seconds: int
    on_call_seconds: int
    wrap_up_seconds: int
    paused_seconds: int
    paused_by_reason: dict[str, int]  # reason code ("" when none was given) -> seconds
    occupancy: float | None


class AgentNow(TypedDict):
    """A rep's present state as the latest event says, and since when (the page counts up)."""

    __pydantic_config__ = _STRICT  # type: ignore[misc]
    state: str
    reason: str  # a pause's reason code, "" otherwise
    since: str  # ISO instant


class Group(TypedDict):
    """What the floor's row and each team's row carry."""

    __pydantic_config__ = _STRICT  # type: ignore[misc]
    totals: Totals
    #: Reps by present state (every state, 0 included); reps no source reported are not counted.
    states: dict[str, int]
    time: TimeInState
    targets: dict[str, int]  # "metric/period" -> value
    pace: dict[str, Pace]  # by metric: today
    pace_week: dict[str, Pace]
    pace_month: dict[str, Pace]
    hours: list[Hour]
    funnel: Funnel


class TeamRow(Group):
    name: str
    #: Rep codes: only for viewers of this team (a team's figures are public, its reps not).
    mentoring: NotRequired[list[MentoringPair]]


class AttendanceMark(TypedDict):
    """A rep's day that is not an ordinary working day (no mark: present)."""

    __pydantic_config__ = _STRICT  # type: ignore[misc]
    status: str  # leave | half_day | sick | absent
    half: str  # am | pm for a half day, else ""
    note: str


class PlanMark(TypedDict):
    """A rep's latest evening plan before the view's day, and its follow-up."""

    __pydantic_config__ = _STRICT  # type: ignore[misc]
    day: str
    problem: str
    plan: str
    set_by: str
    done: bool | None  # None: not followed up yet
    followed_by: str | None


class RepRow(TypedDict):
    __pydantic_config__ = _STRICT  # type: ignore[misc]
    code: str
    name: str
    team: str
    active: bool
    new_hire: bool
    totals: Totals
    targets: dict[str, int]
    pace: dict[str, Pace]
    pace_week: dict[str, Pace]
    pace_month: dict[str, Pace]
    hours: list[Hour]
    funnel: Funnel
    tier: Tiers
    diagnosis: list[Diagnosis]
    last_dial_at: str | None
    agent: AgentNow | None  # None: no source has reported this rep's state
    time: TimeInState
    #: Logged out all day on a floor that reports states: shown as not in, not as behind.
    not_in: bool
    #: Today's attendance when the rep is not simply present (their targets are reduced).
    attendance: AttendanceMark | None
    #: The last evening's plan for this rep (the morning checks it), None when there is none.
    plan: PlanMark | None


class Snapshot(TypedDict):
    """A day's floor as a screen or the REST snapshot sees it."""

    __pydantic_config__ = _STRICT  # type: ignore[misc]
    day: str
    timezone: str
    generated_at: str
    at: str  # the instant the pace is evaluated at
    floor: Group
    teams: list[TeamRow]
    reps: list[RepRow]


# --- the live socket's messages ----------------------------------------------------------------


class SnapshotMessage(TypedDict):
    """The first frame, and the frame after a new day, a resync or a slow reader's backlog."""

    __pydantic_config__ = _STRICT  # type: ignore[misc]
    type: Literal["snapshot"]
    seq: int
    data: Snapshot


class DeltaMessage(TypedDict):
    """Rows that changed since the last frame: each with its key and the fields that changed
    (``hours``: the changed cells only); the page merges them into what it holds. On a
    ``?patch=deep`` socket nested objects carry only their changed keys too."""

    __pydantic_config__ = _STRICT  # type: ignore[misc]
    type: Literal["delta"]
    seq: int
    day: str
    at: str
    floor: dict[str, object]  # a partial Group
    teams: list[dict[str, object]]  # partial TeamRows, each with its "name"
    reps: list[dict[str, object]]  # partial RepRows, each with its "code"


class CelebrateMessage(TypedDict):
    """A call that became a sale (from the commit, not a diff): the TV's banner."""

    __pydantic_config__ = _STRICT  # type: ignore[misc]
    type: Literal["celebrate"]
    seq: int
    rep: str
    name: str
    team: str
    orders: int
    amount: int  # minor units
    currency_minor_digits: int
