"""Today's floor kept in memory and brought up to date per changed rep (the live hub's model).

A full read (:meth:`LiveFloor.load`) takes the roster, schedules, target rules, the week and
month totals of the days before today, and today's cells. After that a commit names the reps
whose cells or last dial changed (``TotalsChanged``): :meth:`LiveFloor.update` re-reads only
those reps' cells of today (and their earlier totals when a past day of the week or month
moved), rebuilds only their teams' rows and the floor's row, and says which teams changed.
A minute tick (:meth:`LiveFloor.retime`) re-evaluates every row at the new instant from
memory, without a read. The result equals :func:`app.services.snapshot.load_snapshot` at the
same instant (tests/live/test_live_floor.py checks it on random streams of batches).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

import sqlalchemy as sa

from app.floor.agent_state import (
    DayCells,
    StateEvent,
    group_presence,
    presence_fields,
    shift_presence,
    sum_presence,
)
from app.floor.metrics import METRICS
from app.floor.pacing import period_days
from app.floor.progress import PacingConfig, RepInfo, TeamFigures, enrich_floor, enrich_team
from app.floor.schedule import Schedule
from app.floor.snapshot import RepRow, build_snapshot
from app.floor.targets import TargetRule
from app.floor.types import Snapshot
from app.ingest.service import BatchOutcome
from app.services.attendance import attendance_key, attendance_of
from app.services.plans import last_plans
from app.services.schedules import team_schedules
from app.services.snapshot import (
    REP,
    TEAM,
    TOTAL,
    board_fingerprint,
    day_state_cells,
    earlier_totals,
    last_dial_at,
    last_dials,
    last_hour,
    present_states,
    rep_info,
)
from app.services.targets import load_rules

Cells = dict[int, dict[str, int]]  # hour -> metrics
Rows = Sequence[Any]  # result rows (sa.Row of various widths)


@dataclass(frozen=True)
class RosterRep:
    id: int
    code: str
    name: str
    team_id: int
    active: bool
    hired_on: date | None
    mentor_id: int | None = None


@dataclass
class _Team:
    """One team's enriched rows, as the snapshot carries them."""

    row: dict[str, Any]
    reps: list[dict[str, Any]]
    figures: TeamFigures
    index: dict[str, int] = field(init=False)  # code -> position in reps

    def __post_init__(self) -> None:
        self.index = {r["code"]: i for i, r in enumerate(self.reps)}


@dataclass
class _Base:
    """What changes only with the day, the roster or the targets."""

    day: date
    teams: list[tuple[int, str]]
    schedules: dict[int, Schedule]
    reps: dict[int, RosterRep]
    rules: list[TargetRule]
    roster_key: tuple
    earlier: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    #: rep id -> (their leave this week and month, today's mark): reps with any mark only.
    attendance: dict[int, tuple[Any, dict[str, str] | None]] = field(default_factory=dict)
    plans: dict[int, dict[str, Any]] = field(default_factory=dict)  # rep id -> last plan
    members: dict[int, list[RosterRep]] = field(init=False)  # team id -> its reps

    def __post_init__(self) -> None:
        # A team's rebuild (every change) looks its reps up here, not in the whole roster.
        self.members = {team_id: [] for team_id, _ in self.teams}
        for rep in self.reps.values():
            self.members[rep.team_id].append(rep)

    def infos(self) -> dict[str, RepInfo]:
        names = dict(self.teams)
        codes = {r.id: r.code for r in self.reps.values()}
        return {
            r.code: rep_info(
                r, names[r.team_id], away=self.attendance, codes=codes, plans=self.plans
            )
            for r in self.reps.values()
        }


def _roster(conn: sa.Connection) -> tuple[Rows, Rows, list[TargetRule]]:
    """The rows a floor view takes from the roster, teams, schedules and target rules."""
    reps = conn.execute(
        sa.select(
            REP.c.id,
            REP.c.code,
            REP.c.name,
            REP.c.team_id,
            REP.c.active,
            REP.c.hired_on,
            REP.c.mentor_id,
        ).order_by(REP.c.id)
    ).all()
    teams = conn.execute(
        sa.select(TEAM.c.id, TEAM.c.name, TEAM.c.schedule_id).order_by(TEAM.c.id)
    ).all()
    return reps, teams, load_rules(conn)


def _key(reps: Rows, teams: Rows, rules: list[TargetRule]) -> tuple:
    return (tuple(map(tuple, reps)), tuple(map(tuple, teams)), tuple(sorted(rules, key=repr)))


def roster_key(conn: sa.Connection, day: date) -> tuple:
    """Everything a floor view takes from the roster, teams, schedules, target rules and the
    attendance of ``day``'s week and month, as one comparable value: a tick reads it
    (O(roster), once a minute) to notice changes made by any process, the CLI included."""
    return (_key(*_roster(conn)), attendance_key(conn, day))


def changed_reps(outcome: BatchOutcome) -> set[tuple[int, date]]:
    """(rep id, local day) whose figures a commit may have moved: its cells and last dials."""
    return {(rep_id, day) for rep_id, day, _ in outcome.changed_cells} | outcome.touched


class LiveFloor:
    """Today's floor view in memory; see the module docstring."""

    def __init__(self, *, timezone: str, pacing: PacingConfig) -> None:
        self.timezone = timezone
        self.pacing = pacing
        self.base: _Base | None = None
        self.cells: dict[int, Cells] = {}  # rep id -> today's cells, uncut
        self.last: dict[int, datetime] = {}
        #: Each rep's present state (latest agent event) and today's time-in-state cells.
        self.present: dict[int, StateEvent] = {}
        self.state_cells: dict[int, DayCells] = {}
        #: rep id -> (the instant, the row's presence fields at it): a team rebuilt for a call
        #: re-evaluates its reps' presence only when the minute moved or their state did.
        self._presence_at: dict[int, tuple[datetime, dict[str, Any]]] = {}
        self.parts: dict[str, _Team] = {}
        self.snapshot: Snapshot | None = None
        self._infos: dict[str, RepInfo] = {}
        #: The minute (its ``at``) every row was last evaluated at, and the teams not yet
        #: re-evaluated at a newer one (a tick re-evaluates them a slice at a time).
        self.evaluated_at: datetime | None = None
        self.stale: list[str] = []

    # --- reads ---------------------------------------------------------------------------------

    def load(self, conn: sa.Connection, *, day: date, now: datetime, at: datetime) -> Snapshot:
        """Read the whole floor of ``day`` and evaluate it at ``at``."""
        rep_rows, team_rows, rules = _roster(conn)  # read once: the view and its roster key
        teams = [(t.id, t.name) for t in team_rows]
        team_ids = {t for t, _ in teams}
        reps = {
            r.id: RosterRep(r.id, r.code, r.name, r.team_id, r.active, r.hired_on, r.mentor_id)
            for r in rep_rows
            if r.team_id in team_ids
        }
        schedules = team_schedules(conn, self.pacing.floor)
        self.base = _Base(
            day=day,
            teams=teams,
            schedules=schedules,
            reps=reps,
            rules=rules,
            roster_key=(_key(rep_rows, team_rows, rules), attendance_key(conn, day)),
        )
        self.base.plans = last_plans(conn, day, set(reps))
        self.base.attendance = attendance_of(
            conn,
            day,
            ((r.id, schedules.get(r.team_id, self.pacing.floor)) for r in reps.values()),
        )
        self.base.earlier = earlier_totals(conn, day, {r.id: r.code for r in reps.values()})
        self._infos = self.base.infos()
        self.cells = {i: c for i, c in self._read_cells(conn, day, None).items() if i in reps}
        self.last = {i: t for i, t in last_dials(conn, day).items() if i in reps}
        self._presence_at = {}
        self.present = {i: e for i, e in present_states(conn).items() if i in reps}
        self.state_cells = {i: c for i, c in day_state_cells(conn, day).items() if i in reps}
        return self.evaluate_all(now=now, at=at)

    def update_states(
        self, conn: sa.Connection, rep_ids: set[int], *, now: datetime, at: datetime
    ) -> tuple[Snapshot, set[str]] | None:
        """Bring up to date the present state and time in state of ``rep_ids`` (agent events
        committed) and return the view and the teams whose rows moved; each rep costs its own
        rows (two keyed reads, its row, its team's and the floor's counts), not a rebuild.
        None when a rep is new to the board (read the floor again)."""
        base = self.base
        assert base is not None and self.snapshot is not None
        known = rep_ids & base.reps.keys()
        if rep_ids - known and self._any_on_a_team(conn, rep_ids - known):
            return None
        if not known:
            return self.snapshot, set()
        present, cells = present_states(conn, known), day_state_cells(conn, base.day, known)
        for rep_id in known:
            if rep_id in present:
                self.present[rep_id] = present[rep_id]
            self.state_cells[rep_id] = cells.get(rep_id, {})
            self._presence_at.pop(rep_id, None)
        names = dict(base.teams)
        moved = {
            names[base.reps[i].team_id]
            for i in known
            if self._restate(i, names[base.reps[i].team_id], at)
        }
        if moved:
            self._splice(moved)
        return self.snapshot, moved

    def _restate(self, rep_id: int, name: str, at: datetime) -> bool:
        """Re-evaluate one rep's presence in its row, its team's and the floor's; whether the
        row changed. Rows are replaced, never changed in place: the last view sent keeps its
        own, which is what the next delta is measured against."""
        assert self.base is not None and self.snapshot is not None
        rep = self.base.reps[rep_id]
        part = self.parts[name]
        i = part.index.get(rep.code)
        if i is None:
            return False  # not on the board (inactive, no calls)
        old = part.reps[i]
        new = {**old, **self._presence(rep_id, rep.team_id, at)}
        if new == old:
            return False
        part.reps = [*part.reps[:i], new, *part.reps[i + 1 :]]
        part.row = {**part.row, **shift_presence(part.row, old, new)}
        floor = self.snapshot["floor"]
        floor = cast(Any, {**floor, **shift_presence(floor, old, new)})
        self.snapshot = cast(Snapshot, {**self.snapshot, "floor": floor})
        return True

    def _splice(self, names: set[str]) -> None:
        """A new view with the rows of the teams ``names`` replaced (their reps included)."""
        assert self.base is not None and self.snapshot is not None
        parts = [self.parts[n] for _, n in self.base.teams]
        view = {
            **self.snapshot,
            "teams": [p.row for p in parts],
            "reps": [rep for p in parts for rep in p.reps],
        }
        self.snapshot = cast(Snapshot, view)

    def _presence(self, rep_id: int, team_id: int, at: datetime) -> dict[str, Any]:
        held = self._presence_at.get(rep_id)
        if held is not None and held[0] == at:
            return held[1]
        fields = self._presence_fresh(rep_id, team_id, at)
        self._presence_at[rep_id] = (at, fields)
        return fields

    def _presence_fresh(self, rep_id: int, team_id: int, at: datetime) -> dict[str, Any]:
        assert self.base is not None
        schedule = self.base.schedules.get(team_id, self.pacing.floor)
        return presence_fields(
            self.present.get(rep_id),
            self.state_cells.get(rep_id, {}),
            day=self.base.day,
            at=at,
            cut=last_hour(at, schedule.timezone, self.base.day),
            tz=schedule.timezone,
        )

    def update(
        self,
        conn: sa.Connection,
        changed: Iterable[tuple[int, date]],
        *,
        now: datetime,
        at: datetime,
    ) -> tuple[Snapshot, set[str]] | None:
        """Bring up to date the reps whose figures of a day changed (``changed``: rep id, local
        day, from a commit's cells and last dials) and return the view and the names of the
        teams whose rows were rebuilt; None when the change needs a full read (a rep this view
        does not know of)."""
        base = self.base
        assert base is not None and self.snapshot is not None
        today, earlier = set(), set()
        first = min(period_days("week", base.day)[0], period_days("month", base.day)[0])
        for rep_id, day in changed:
            if day == base.day:
                today.add(rep_id)
            elif first <= day < base.day:
                earlier.add(rep_id)
        unknown = (today | earlier) - set(base.reps)
        if unknown and self._any_on_a_team(conn, unknown):
            return None  # a rep new to the board: the roster changed
        today &= set(base.reps)
        earlier &= set(base.reps)
        if not today and not earlier:
            return self.snapshot, set()
        if today:
            fresh = self._read_cells(conn, base.day, today)
            for rep_id in today:
                self.cells[rep_id] = fresh.get(rep_id, {})
            last = last_dials(conn, base.day, today)
            for rep_id in today:
                if rep_id in last:
                    self.last[rep_id] = last[rep_id]
        if earlier:
            codes = {i: base.reps[i].code for i in earlier}
            got = earlier_totals(conn, base.day, codes)
            for code in codes.values():
                base.earlier[code] = got.get(code, {})
        names = dict(base.teams)
        rebuilt = {names[base.reps[i].team_id] for i in today | earlier}
        return self.rebuild(rebuilt, now=now, at=at), rebuilt

    def retime(self, conn: sa.Connection, *, now: datetime, at: datetime) -> Snapshot | None:
        """Evaluate every row at ``at`` from memory (a minute tick); None when the roster,
        teams or targets changed since the last full read (then read the floor again)."""
        if not self.unchanged(conn):
            return None
        return self.evaluate_all(now=now, at=at)

    def unchanged(self, conn: sa.Connection) -> bool:
        """Whether the roster, teams, targets and today's board are what this view holds: a
        cheap check (the roster, one pass over today's cells) for changes made behind the
        hooks' back, by the CLI or an admin in another process."""
        assert self.base is not None
        if roster_key(conn, self.base.day) != self.base.roster_key:
            return False
        return board_fingerprint(conn, self.base.day) == self.fingerprint()

    def start_minute(self, at: datetime, fresh: set[str]) -> None:
        """A new minute began: every team but ``fresh`` (already evaluated at ``at``) is stale."""
        assert self.base is not None
        self.evaluated_at = at
        self.stale = [name for _, name in self.base.teams if name not in fresh]

    def rebuild(self, names: set[str], *, now: datetime, at: datetime) -> Snapshot:
        """Re-evaluate the rows of the teams ``names`` at ``at`` from memory, no read."""
        assert self.base is not None
        for team_id, name in self.base.teams:
            if name in names:
                self.parts[name] = self._build_team(team_id, name, now=now, at=at)
        self.stale = [n for n in self.stale if n not in names]
        return self._assemble(now=now, at=at)

    def fingerprint(self) -> tuple:
        """:func:`app.services.snapshot.board_fingerprint` of the cells and last dials held."""
        count, sums, weighted, talk = 0, dict.fromkeys(METRICS, 0), 0, 0
        for rep_id, hours in self.cells.items():
            for hour, v in hours.items():
                count += 1
                for m in METRICS:
                    sums[m] += v[m]
                weighted += (rep_id * 24 + hour) * (
                    v["dials"] + 3 * v["connects"] + 7 * v["orders"] + 11 * v["invites"]
                )
                talk += rep_id * v["talk_seconds"]
        last = max(self.last.values(), default=None)
        return (count, *(sums[m] for m in METRICS), weighted, talk, last)

    def _read_cells(
        self, conn: sa.Connection, day: date, rep_ids: set[int] | None
    ) -> dict[int, Cells]:
        q = sa.select(TOTAL.c.rep_id, TOTAL.c.hour, *(TOTAL.c[m] for m in METRICS)).where(
            TOTAL.c.day == day
        )
        if rep_ids is not None:
            q = q.where(TOTAL.c.rep_id.in_(sorted(rep_ids)))
        out: dict[int, Cells] = {}
        for rep_id, hour, *values in conn.execute(q):
            out.setdefault(rep_id, {})[hour] = dict(zip(METRICS, values, strict=True))
        return out

    @staticmethod
    def _any_on_a_team(conn: sa.Connection, rep_ids: set[int]) -> bool:
        q = sa.select(sa.func.count()).where(
            REP.c.id.in_(sorted(rep_ids)), REP.c.team_id.is_not(None)
        )
        return bool(conn.execute(q).scalar())

    # --- assembly (no reads) -------------------------------------------------------------------

    def evaluate_all(self, *, now: datetime, at: datetime) -> Snapshot:
        """Every row evaluated at ``at`` from memory (no read, no check)."""
        assert self.base is not None
        self.evaluated_at, self.stale = at, []
        self.parts = {
            name: self._build_team(team_id, name, now=now, at=at)
            for team_id, name in self.base.teams
        }
        return self._assemble(now=now, at=at)

    def _build_team(self, team_id: int, name: str, *, now: datetime, at: datetime) -> _Team:
        base = self.base
        assert base is not None
        schedule = base.schedules.get(team_id, self.pacing.floor)
        cut = last_hour(at, schedule.timezone, base.day)
        members = base.members[team_id]
        cells = [
            (r.id, hour, values)
            for r in members
            for hour, values in self.cells.get(r.id, {}).items()
            if hour <= cut
        ]
        with_calls = {c[0] for c in cells}
        rows = [
            RepRow(r.id, r.code, r.name, name, r.active)
            for r in members
            if r.active or r.id in with_calls
        ]
        part = build_snapshot(
            day=base.day,
            timezone=self.timezone,
            generated_at=now,
            teams=[name],
            reps=rows,
            cells=cells,
        )
        team, reps = part["teams"][0], part["reps"]
        figures = enrich_team(
            team,
            reps,
            day=base.day,
            at=at,
            reps=self._infos,
            rules=base.rules,
            schedule=schedule,
            earlier=base.earlier,
            cfg=self.pacing,
        )
        ids = {r.code: r.id for r in members}
        for rep in reps:
            rep_id = ids[rep["code"]]
            rep["last_dial_at"] = last_dial_at(self.last.get(rep_id), at)
            rep.update(self._presence(rep_id, team_id, at))
        team.update(group_presence(reps))
        return _Team(team, reps, figures)

    def _assemble(self, *, now: datetime, at: datetime) -> Snapshot:
        assert self.base is not None
        parts = [self.parts[name] for _, name in self.base.teams]
        totals = dict.fromkeys(METRICS, 0)
        for p in parts:
            for m in METRICS:
                totals[m] += p.row["totals"][m]
        floor: dict[str, Any] = {"totals": totals}
        teams = [p.row for p in parts]
        enrich_floor(
            floor, teams, [p.figures for p in parts], day=self.base.day, at=at, cfg=self.pacing
        )
        floor.update(sum_presence(teams))
        view = {
            "day": self.base.day.isoformat(),
            "timezone": self.timezone,
            "generated_at": now.isoformat(),
            "floor": floor,
            "teams": teams,
            "reps": [rep for p in parts for rep in p.reps],
            "at": at.isoformat(),
        }
        # Built from dicts the pure floor functions fill; tests validate it against the type.
        self.snapshot = cast(Snapshot, view)
        return self.snapshot
