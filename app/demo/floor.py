"""The simulated floor: who the reps are and which calls they make.

Pure: every function takes its randomness (a seeded ``random.Random``) and its ``now`` as
arguments; nothing here reads the clock, the network or the database. The runner turns what
this module produces into HTTP requests.

The numbers follow FLOOR_RULES.md: a core rep makes ~300 dials over the 6.5 calling hours,
reaches ~30 % of them and talks ~13,000 s a day; 0–3 sales a day of 500–5,000 CNY and about
one invite. A floor is ~10 % top performers, ~70 % core and the rest laggards and new hires.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, Literal
from zoneinfo import ZoneInfo

from app.config import Window
from app.floor.schedule import DEFAULT_WORKING_DAYS

Tier = Literal["top", "core", "laggard", "new"]

# Teams are listed in creation order, so 一组, 二组, 三组 come out as a floor names them.
TEAMS = ("一组", "二组", "三组")
REPS_PER_TEAM = 8
FIRST_CODE = 8001
NAMES = (
    "王芳", "李强", "张伟", "刘洋", "陈静", "杨磊", "赵敏", "黄勇",
    "周婷", "吴昊", "徐丽", "孙杰", "胡娟", "朱峰", "高霞", "林涛",
    "何琳", "郭斌", "马超", "罗雪", "梁晨", "宋佳", "郑凯", "谢薇",
)  # fmt: skip
#: Days since hiring of each team's new hire (inside the first week, so the 150-dial ramp applies).
NEW_HIRE_DAYS = 2
#: Mobile prefixes of mainland carriers, so fake customers look like the real thing.
MOBILE_PREFIXES = (
    "130", "131", "132", "133", "135", "136", "137", "138", "139",
    "150", "151", "152", "155", "156", "157", "158", "159",
    "176", "177", "180", "181", "182", "183", "186", "187", "188", "189",
)  # fmt: skip


# --- rep profiles ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Skill:
    """How a rep works: the factors of the seed's two funnel formulas."""

    dials_per_hour: float  # of calling time
    contact_rate: float  # share of dials a person answers
    talk_mean: float  # seconds of an ordinary connect (sales and invites talk longer)
    close_rate: float  # sales per connect
    invite_rate: float  # invites per connect
    order_mean: float  # CNY


TIER_SKILLS: dict[str, Skill] = {
    # 50/h x 6.5 h = 325 dials, better lists and closing: ~15,500 s talk, ~3 sales.
    "top": Skill(50, 0.33, 130, 0.028, 0.018, 2600),
    # 46/h x 6.5 h = 299 dials, 90 connects, ~13,000 s talk, ~1.2 sales, ~1 invite.
    "core": Skill(46, 0.30, 132, 0.013, 0.011, 1900),
    "laggard": Skill(38, 0.26, 110, 0.008, 0.008, 1500),
    # The first-week ramp is 150 dials a day: half a core rep's pace.
    "new": Skill(23, 0.25, 100, 0.006, 0.006, 1300),
}


@dataclass(frozen=True)
class RepProfile:
    """One simulated rep: roster identity plus a skill."""

    code: str
    name: str
    team: str
    tier: Tier
    skill: Skill
    tenure_days: int  # days since hiring, relative to the demo day

    @property
    def new_hire(self) -> bool:
        return self.tier == "new"

    def hired_on(self, today: date) -> date:
        """The hiring date as seen on ``today`` (the new hire stays in their first week)."""
        return today - timedelta(days=self.tenure_days)


def _jitter(skill: Skill, rng: random.Random) -> Skill:
    """The tier's skill with each factor moved a few per cent, so no two reps are alike."""

    def j(v: float) -> float:
        return v * rng.uniform(0.93, 1.07)

    return Skill(
        dials_per_hour=j(skill.dials_per_hour),
        contact_rate=j(skill.contact_rate),
        talk_mean=j(skill.talk_mean),
        close_rate=j(skill.close_rate),
        invite_rate=j(skill.invite_rate),
        order_mean=j(skill.order_mean),
    )


def _tiers(seed: int) -> list[Tier]:
    """Tier of each roster slot: per team one new hire and one top rep, two laggards in all."""
    rng = random.Random(f"paceboard-demo/{seed}/tiers")
    tiers: list[Tier] = []
    for _ in TEAMS:
        team: list[Tier] = ["new", "top"]
        core: list[Tier] = ["core"]
        team += core * (REPS_PER_TEAM - 2)
        rng.shuffle(team)
        tiers.extend(team)
    core_slots = [i for i, t in enumerate(tiers) if t == "core"]
    for i in rng.sample(core_slots, 2):
        tiers[i] = "laggard"
    return tiers


def build_floor(seed: int) -> list[RepProfile]:
    """The 3 x 8 reps of the demo floor; the same seed gives the same floor."""
    reps = []
    for i, tier in enumerate(_tiers(seed)):
        code = str(FIRST_CODE + i)
        rng = random.Random(f"paceboard-demo/{seed}/rep/{code}")
        tenure = NEW_HIRE_DAYS if tier == "new" else rng.randint(60, 1500)
        reps.append(
            RepProfile(
                code=code,
                name=NAMES[i],
                team=TEAMS[i // REPS_PER_TEAM],
                tier=tier,
                skill=_jitter(TIER_SKILLS[tier], rng),
                tenure_days=tenure,
            )
        )
    return reps


def roster_rows(floor: Sequence[RepProfile], today: date) -> list[dict[str, Any]]:
    """Rows for ``app.services.roster.import_roster`` (code, name, team, hired_on)."""
    return [
        {"code": r.code, "name": r.name, "team": r.team, "hired_on": r.hired_on(today)}
        for r in floor
    ]


# --- calling hours and the floor clock -------------------------------------------------------


def calling_spans(
    day: date, tz: tzinfo, windows: Sequence[Window]
) -> list[tuple[datetime, datetime]]:
    """The calling windows of ``day`` as aware (start, end) instants in ``tz``."""
    return [
        (datetime.combine(day, a, tzinfo=tz), datetime.combine(day, b, tzinfo=tz))
        for a, b in windows
    ]


def in_calling_window(at: datetime, tz: tzinfo, windows: Sequence[Window]) -> bool:
    """Whether ``at`` falls inside one of the day's calling windows (breaks excluded)."""
    local = at.astimezone(tz).time()
    return any(a <= local < b for a, b in windows)


def in_calling_day(
    at: datetime, tz: tzinfo, windows: Sequence[Window], working_days: AbstractSet[int]
) -> bool:
    """A working day, between the first window's start and the last window's end (breaks
    included)."""
    local = at.astimezone(tz)
    return local.isoweekday() in working_days and windows[0][0] <= local.time() < windows[-1][1]


def etc_zone(offset_hours: int) -> str:
    """The IANA fixed-offset zone for UTC+``offset_hours`` (POSIX inverts the sign: UTC+3 is
    ``Etc/GMT-3``)."""
    if offset_hours == 0:
        return "Etc/GMT"
    return f"Etc/GMT{-offset_hours:+d}"


def mid_morning(windows: Sequence[Window]) -> time:
    """The moment a demo likes to land on: 70 minutes into the first window (10:40 by default)."""
    a, b = windows[0]
    start = datetime.combine(date(2000, 1, 1), a)
    span = datetime.combine(date(2000, 1, 1), b) - start
    return (start + min(timedelta(minutes=70), span * 0.9)).time()


@dataclass(frozen=True)
class FloorClock:
    """The timezone and working days the demo floor runs in, and why."""

    zone: str
    kept: bool
    local: datetime  # now, in ``zone``
    configured: str
    configured_local: datetime  # now, in the configured zone
    reason: str  # why the configured zone was not kept; empty when it was
    #: The demo floor's working days: the configured ones, plus ``added_day``.
    working_days: frozenset[int] = DEFAULT_WORKING_DAYS
    #: The ISO weekday made a working day because no zone had a working day in calling hours
    #: now (a weekend everywhere on Earth); None when the configured days sufficed.
    added_day: int | None = None

    def describe(self) -> str:
        """The line the demo prints about its clock."""
        offset = self.local.strftime("%z")
        here = f"{self.zone} (UTC{offset[:3]}:{offset[3:]}), {self.local:%a %H:%M} there"
        if self.kept:
            return f"Demo floor clock: {here} — inside calling hours"
        line = (
            f"Demo floor clock: {here} — {self.reason} in {self.configured}"
            f" ({self.configured_local:%a %H:%M})"
        )
        if self.added_day is not None:
            line += f"; the demo floor works {self.local:%A}s too"
        return line


def _minutes_apart(a: time, b: time) -> int:
    """Distance between two times of day in minutes, around the clock."""
    d = abs((a.hour * 60 + a.minute) - (b.hour * 60 + b.minute))
    return min(d, 24 * 60 - d)


def _live_for(at: datetime, tz: tzinfo, windows: Sequence[Window], minutes: int) -> bool:
    """Inside a calling window with at least ``minutes`` of it left."""
    return in_calling_window(at, tz, windows) and in_calling_window(
        at + timedelta(minutes=minutes), tz, windows
    )


def choose_floor_clock(
    now: datetime,
    configured: str,
    windows: Sequence[Window],
    working_days: AbstractSet[int] = DEFAULT_WORKING_DAYS,
) -> FloorClock:
    """Keep ``configured`` when its floor is calling now (a working day, inside a window with ten
    minutes of it left); otherwise the fixed-offset zone where it is mid-morning now, a working
    day preferred, so ``make run`` always opens on a moving floor, even over lunch. When it is a
    non-working day in every zone near mid-morning (a weekend), that day becomes a working day
    of the demo floor, as on a floor that works Saturdays."""
    tz = ZoneInfo(configured)
    local = now.astimezone(tz)
    days = frozenset(working_days)
    if local.isoweekday() in days and _live_for(now, tz, windows, 10):
        return FloorClock(configured, True, local, configured, local, "", days)
    if local.isoweekday() not in days:
        reason = "not a calling day"
    elif in_calling_day(now, tz, windows, days):
        reason = "between calling windows"
    else:
        reason = "outside calling hours"
    target = mid_morning(windows)
    zones = [(etc_zone(h), ZoneInfo(etc_zone(h))) for h in range(-12, 15)]
    # Prefer a zone where the floor is calling now with half an hour of it left, on a working day.
    live = [(name, z) for name, z in zones if _live_for(now, z, windows, 30)]
    pool = live or zones

    def score(zone: tuple[str, ZoneInfo]) -> tuple[bool, int]:
        at = now.astimezone(zone[1])
        return at.isoweekday() not in days, _minutes_apart(at.time(), target)

    name, zone = min(pool, key=score)
    there = now.astimezone(zone)
    added = None if there.isoweekday() in days else there.isoweekday()
    return FloorClock(
        name, False, there, configured, local, reason, days | {there.isoweekday()}, added
    )


# --- calls -----------------------------------------------------------------------------------

# Ring time in seconds by disposition, and how often each non-connect happens.
RING = {
    "answered": (4, 16),
    "no_answer": (20, 40),
    "busy": (2, 6),
    "failed": (1, 3),
    "cancelled": (5, 20),
}
MISSES = (("no_answer", 0.70), ("busy", 0.15), ("failed", 0.10), ("cancelled", 0.05))
# Outcomes of an ordinary connect besides sale / invite (the rest stay "none").
OTHER_OUTCOMES = (("not_interested", 0.45), ("callback", 0.08), ("do_not_call", 0.01))
SALE_TALK = (300, 900)
INVITE_TALK = (240, 600)
ORDER_RANGE = (500, 5000)  # CNY
TALK_SIGMA = 0.9  # lognormal spread: many short connects, a long tail of real conversations
MAX_TALK = 1800
REDIAL_SHARE = 0.15  # dials that retry an earlier unanswered lead
MIN_WRAP = 3.0  # seconds between hanging up and the next dial, at the least
SETTLE_IN = 120  # seconds after a window opens before a rep's first dial, at the most


def _mean(bounds: tuple[int, int]) -> float:
    return (bounds[0] + bounds[1]) / 2


def expected_call_seconds(skill: Skill) -> float:
    """Mean seconds one dial takes (ring plus talk), to pace a rep's day at their dial rate."""
    miss_ring = sum(p * _mean(RING[d]) for d, p in MISSES)
    special = skill.close_rate + skill.invite_rate
    talk = (1 - special) * skill.talk_mean + skill.close_rate * _mean(SALE_TALK)
    talk += skill.invite_rate * _mean(INVITE_TALK)
    c = skill.contact_rate
    return c * (_mean(RING["answered"]) + talk) + (1 - c) * miss_ring


@dataclass(frozen=True)
class Call:
    """One simulated call as the telephony system and the CRM would report it."""

    call_id: str
    rep: str
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime
    talk_seconds: int
    disposition: str
    outcome: str
    order_value: int  # minor units (fen); 0 unless a sale
    customer: str

    def record(self) -> dict[str, Any]:
        """The full record for ``POST /api/v1/calls``, outcome included (a settled call)."""
        rec = self.cdr()
        rec["outcome"] = self.outcome
        rec["order_value"] = format_money(self.order_value)
        return rec

    def cdr(self) -> dict[str, Any]:
        """The record as the PBX posts it at hang-up: no outcome, the CRM adds that later."""
        return {
            "call_id": self.call_id,
            "rep": self.rep,
            "direction": "outbound",
            "started_at": self.started_at.isoformat(),
            "answered_at": self.answered_at.isoformat() if self.answered_at else None,
            "ended_at": self.ended_at.isoformat(),
            "talk_seconds": self.talk_seconds,
            "disposition": self.disposition,
            "customer": self.customer,
        }

    def wrap_up(self) -> dict[str, Any]:
        """The CRM wrap-up for ``PATCH /api/v1/calls/{source}/{call_id}``."""
        return {"outcome": self.outcome, "order_value": format_money(self.order_value)}


def format_money(minor: int) -> str:
    """Minor units as a decimal string in major units: 198000 -> "1980.00"."""
    return f"{minor // 100}.{minor % 100:02d}"


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson-distributed count with mean ``lam``."""
    if lam <= 0:
        return 0
    if lam > 30:
        # Knuth's product underflows for large means; the normal approximation is close there.
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


@dataclass(frozen=True)
class _Draft:
    """A call's content before it has a start time and a sequence number."""

    ring: int
    talk: int
    disposition: str
    outcome: str
    order_value: int
    customer: str


class RepDay:
    """One rep's calls on one day, drawn from a stream seeded by (seed, day, rep).

    ``backfill(now)`` walks the day from the first calling window: each dial starts when the
    previous one has ended plus a short wrap-up, so the same seed, day and rep give the same
    calls in the same order, whatever ``now`` is — a rerun's backfill repeats the first run's.
    ``live(since, now, speed)`` then adds Poisson-distributed calls that ended in (since, now].
    """

    def __init__(
        self,
        profile: RepProfile,
        day: date,
        tz: tzinfo,
        windows: Sequence[Window],
        seed: int,
    ) -> None:
        self.profile = profile
        self.day = day
        self.tz = tz
        self.windows = list(windows)
        self.rng = random.Random(f"paceboard-demo/{seed}/{day.isoformat()}/{profile.code}")
        # Nobody has the same day twice: a rep's pace varies a little from day to day.
        self.form = self.rng.uniform(0.95, 1.05)
        self.seq = 0
        self._unanswered: list[str] = []
        cycle = 3600 / (profile.skill.dials_per_hour * self.form)
        self.wrap_mean = max(MIN_WRAP, cycle - expected_call_seconds(profile.skill))

    @property
    def dials_per_second(self) -> float:
        return self.profile.skill.dials_per_hour * self.form / 3600

    # -- content --------------------------------------------------------------------------------

    def _customer(self, rng: random.Random) -> str:
        """A lead: mostly fresh off the list, sometimes a retry of one who did not pick up."""
        if self._unanswered and rng.random() < REDIAL_SHARE:
            return self._unanswered.pop(rng.randrange(len(self._unanswered)))
        return rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"

    def _talk(self, rng: random.Random, outcome: str) -> int:
        if outcome == "sale":
            return rng.randint(*SALE_TALK)
        if outcome == "invite":
            return rng.randint(*INVITE_TALK)
        mean = self.profile.skill.talk_mean
        mu = math.log(mean) - TALK_SIGMA**2 / 2
        return max(3, min(MAX_TALK, round(rng.lognormvariate(mu, TALK_SIGMA))))

    def _order_value(self, rng: random.Random) -> int:
        """A sale's value in fen: spread around the rep's mean, 500–5,000 CNY in tens."""
        mean = self.profile.skill.order_mean
        raw = rng.lognormvariate(math.log(mean) - 0.125, 0.5)
        yuan = min(ORDER_RANGE[1], max(ORDER_RANGE[0], round(raw / 10) * 10))
        return yuan * 100

    def _draw(self) -> _Draft:
        """Draw the next call's content from the rep's stream."""
        rng, skill = self.rng, self.profile.skill
        customer = self._customer(rng)
        if rng.random() >= skill.contact_rate:
            disposition = _pick(rng, MISSES)
            self._unanswered = (self._unanswered + [customer])[-200:]
            return _Draft(rng.randint(*RING[disposition]), 0, disposition, "none", 0, customer)
        u = rng.random()
        if u < skill.close_rate:
            outcome = "sale"
        elif u < skill.close_rate + skill.invite_rate:
            outcome = "invite"
        else:
            outcome = _pick(rng, OTHER_OUTCOMES, default="none")
        value = self._order_value(rng) if outcome == "sale" else 0
        ring = rng.randint(*RING["answered"])
        return _Draft(ring, self._talk(rng, outcome), "answered", outcome, value, customer)

    def _place(self, draft: _Draft, started_at: datetime) -> Call:
        """Give a draft its start time and the next sequence number."""
        start = started_at.astimezone(self.tz).replace(microsecond=0)
        answered = (
            start + timedelta(seconds=draft.ring) if draft.disposition == "answered" else None
        )
        ended = start + timedelta(seconds=draft.ring + draft.talk)
        call = Call(
            call_id=call_id(self.day, self.profile.code, self.seq),
            rep=self.profile.code,
            started_at=start,
            answered_at=answered,
            ended_at=ended,
            talk_seconds=draft.talk,
            disposition=draft.disposition,
            outcome=draft.outcome,
            order_value=draft.order_value,
            customer=draft.customer,
        )
        self.seq += 1
        return call

    # -- the day --------------------------------------------------------------------------------

    def backfill(self, now: datetime) -> list[Call]:
        """The day's calls from the first window that have ended by ``now``; call once, first."""
        calls: list[Call] = []
        for start, end in calling_spans(self.day, self.tz, self.windows):
            # Nobody dials on the stroke of 09:30: a rep takes a minute or two to get going.
            at = start + timedelta(seconds=self.rng.randint(0, SETTLE_IN))
            while at < end:
                draft = self._draw()
                ended = at + timedelta(seconds=draft.ring + draft.talk)
                if ended > now:
                    return calls
                calls.append(self._place(draft, at))
                at = ended + timedelta(seconds=round(self.rng.expovariate(1 / self.wrap_mean)))
        return calls

    def live(self, since: datetime, now: datetime, speed: float) -> list[Call]:
        """Calls that hung up in (since, now], Poisson at the rep's rate x ``speed``; each is
        started inside a calling window and never after ``now``."""
        seconds = (now - since).total_seconds()
        calls = []
        for _ in range(poisson(self.rng, self.dials_per_second * speed * seconds)):
            draft = self._draw()
            ended = since + timedelta(seconds=seconds * (1 - self.rng.random()))
            started = ended - timedelta(seconds=draft.ring + draft.talk)
            # A call that started in the lunch break or before the window opened did not happen.
            if in_calling_window(started, self.tz, self.windows):
                calls.append(self._place(draft, started))
        return calls


def call_id(day: date, rep: str, seq: int) -> str:
    """The call's id: fixed by (day, rep, sequence), so a replayed backfill is a duplicate.

    The seed is left out on purpose: a rerun with another seed then corrects the same calls
    instead of adding a second set to the day.
    """
    return f"demo-{day:%Y%m%d}-{rep}-{seq:04d}"


def _pick(rng: random.Random, weighted: Sequence[tuple[str, float]], default: str = "") -> str:
    """One of ``weighted``'s names by probability; ``default`` for the remaining mass."""
    u = rng.random()
    for name, p in weighted:
        if u < p:
            return name
        u -= p
    return default or weighted[-1][0]


def floor_day(
    floor: Sequence[RepProfile], day: date, tz: tzinfo, windows: Sequence[Window], seed: int
) -> list[RepDay]:
    """A fresh ``RepDay`` for every rep of the floor."""
    return [RepDay(p, day, tz, windows, seed) for p in floor]


def backfill_floor(rep_days: Sequence[RepDay], now: datetime) -> list[Call]:
    """Every rep's calls of the day so far, in start order (as a CDR export would list them)."""
    calls = [c for rd in rep_days for c in rd.backfill(now)]
    return sorted(calls, key=lambda c: (c.started_at, c.call_id))


def live_floor(
    rep_days: Sequence[RepDay], since: datetime, now: datetime, speed: float
) -> list[Call]:
    """Every rep's calls that hung up in (since, now]; none outside the calling windows."""
    return [c for rd in rep_days for c in rd.live(since, now, speed)]
