"""Targets in the database: read the rules, set one, and the morning meeting's hand-down."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.floor.targets import (
    PERIODS,
    TARGET_METRICS,
    Ramp,
    RepRef,
    TargetRule,
    is_new_hire,
    rep_targets,
    sum_targets,
)
from app.models import Rep, Target, TargetChange, Team, stored_id, table_of, utcnow
from app.services.errors import InputError

TARGET, REP, TEAM = table_of(Target), table_of(Rep), table_of(Team)


def load_rules(conn: sa.Connection | Session) -> list[TargetRule]:
    """Every target rule, for :mod:`app.floor.targets` to resolve."""
    q = sa.select(
        TARGET.c.metric,
        TARGET.c.period,
        TARGET.c.scope,
        TARGET.c.scope_id,
        TARGET.c.value,
        TARGET.c.valid_from,
    )
    return [TargetRule(*row) for row in conn.execute(q)]


def _scope(session: Session, team: str | None, rep: str | None) -> tuple[str, int]:
    if team and rep:
        raise InputError("scope", "give a team or a rep, not both")
    if team:
        team_row = session.exec(select(Team).where(Team.name == team)).first()
        if team_row is None:
            raise InputError("team", f"no team named '{team}'", 404)
        return "team", stored_id(team_row)
    if rep:
        rep_row = session.exec(select(Rep).where(Rep.code == rep)).first()
        if rep_row is None:
            raise InputError("rep", f"no rep with code '{rep}'", 404)
        if rep_row.team_id is None:
            raise InputError(
                "rep", f"'{rep}' is an unresolved agent: add it to a rep before giving targets"
            )
        return "rep", stored_id(rep_row)
    return "floor", 0


def set_target(
    session: Session,
    *,
    metric: str,
    period: str,
    value: int | None,
    valid_from: date,
    team: str | None = None,
    rep: str | None = None,
    by: str = "",
) -> dict[str, Any]:
    """Set (or with ``value`` None, unset) a target from ``valid_from`` for the floor, a team or
    a rep; setting the same scope and day again replaces the value. Every change is logged with
    ``by`` and the time (``target_change``)."""
    if metric not in TARGET_METRICS:
        raise InputError("metric", f"must be one of {', '.join(TARGET_METRICS)}")
    if period not in PERIODS:
        raise InputError("per", f"must be one of {', '.join(PERIODS)}")
    if value is not None and value < 0:
        raise InputError("value", "must be ≥ 0")
    scope, scope_id = _scope(session, team, rep)
    row = session.exec(
        select(Target).where(
            Target.metric == metric,
            Target.period == period,
            Target.scope == scope,
            Target.scope_id == scope_id,
            Target.valid_from == valid_from,
        )
    ).first()
    if row is None:
        row = Target(
            metric=metric, period=period, scope=scope, scope_id=scope_id, valid_from=valid_from
        )
    row.value = value
    row.updated_at = utcnow()
    session.add(row)
    change = TargetChange(
        metric=metric,
        period=period,
        scope=scope,
        scope_id=scope_id,
        value=value,
        valid_from=valid_from,
        set_by=by or "admin",
        set_at=row.updated_at,
    )
    session.add(change)
    session.flush()
    return {
        **target_view(session, row),
        "set_by": change.set_by,
        "set_at": change.set_at.isoformat(),
    }


def check_lead_target(
    session: Session,
    *,
    teams: frozenset[str],
    metric: str,
    period: str,
    value: int | None,
    valid_from: date,
    team: str | None,
    rep: str | None,
    today: date,
    minimums: Mapping[str, int],
) -> None:
    """A lead's change within the rules: a rep target of one of their teams, from today on, not
    below the floor's minimum for it (``minimums``: "metric/period" -> value); else 403 or 422
    naming the field."""
    if team is not None or rep is None:
        raise InputError(
            "rep", "a lead sets rep targets only (admins set floor and team ones)", 403
        )
    found = session.execute(
        sa.select(TEAM.c.name).join(REP, REP.c.team_id == TEAM.c.id).where(REP.c.code == rep)
    ).first()
    if found is None or found.name not in teams:
        raise InputError("rep", f"no rep with code '{rep}' in your teams", 404)
    if valid_from < today:
        raise InputError("valid_from", f"must be today ({today}) or later: the past is judged")
    floor = minimums.get(f"{metric}/{period}")
    if value is not None and floor is not None and value < floor:
        raise InputError("value", f"must be at least the floor's minimum, {floor}")


def target_changes(
    session: Session, *, since: datetime, teams: frozenset[str] | None = None
) -> list[dict[str, Any]]:
    """Target changes made since ``since``, newest first; with ``teams`` (a lead's), rep
    changes of those teams' reps only."""
    q = (
        select(TargetChange)
        .where(TargetChange.set_at >= since)
        .order_by(col(TargetChange.set_at).desc(), col(TargetChange.id).desc())
    )
    out = []
    for row in session.exec(q):
        view = {**target_view(session, row), "set_by": row.set_by, "set_at": row.set_at.isoformat()}
        if (
            teams is not None
            and row.scope == "rep"
            and _rep_team(session, row.scope_id) not in teams
        ):
            continue
        out.append(view)
    return out


def _rep_team(session: Session, rep_id: int) -> str | None:
    q = sa.select(TEAM.c.name).join(REP, REP.c.team_id == TEAM.c.id).where(REP.c.id == rep_id)
    return session.execute(q).scalar()


def target_view(session: Session | sa.Connection, row: Any) -> dict[str, Any]:
    name = None
    if row.scope == "team":
        name = session.execute(sa.select(TEAM.c.name).where(TEAM.c.id == row.scope_id)).scalar()
    elif row.scope == "rep":
        name = session.execute(sa.select(REP.c.code).where(REP.c.id == row.scope_id)).scalar()
    return {
        "metric": row.metric,
        "period": row.period,
        "scope": row.scope,
        "team": name if row.scope == "team" else None,
        "rep": name if row.scope == "rep" else None,
        "value": row.value,
        "valid_from": row.valid_from.isoformat(),
    }


def list_targets(session: Session, *, teams: frozenset[str] | None = None) -> list[dict[str, Any]]:
    """Every rule, floor first, then teams, then reps, oldest first; with ``teams`` (a lead's),
    the rep rules of those teams' reps only (floor and team rules are public on the floor)."""
    order = sa.case({"floor": 0, "team": 1, "rep": 2}, value=Target.scope)
    q = select(Target).order_by(order, col(Target.scope_id), Target.metric, col(Target.valid_from))
    if teams is not None:
        theirs = (
            sa.select(REP.c.id)
            .join(TEAM, TEAM.c.id == REP.c.team_id)
            .where(TEAM.c.name.in_(sorted(teams)))
        )
        q = q.where(sa.or_(col(Target.scope) != "rep", col(Target.scope_id).in_(theirs)))
    return [target_view(session, r) for r in session.exec(q)]


def day_plan(
    conn: sa.Connection | Session,
    *,
    day: date,
    ramp: Ramp,
    stretch_pct: float,
    teams: frozenset[str] | None = None,
) -> dict[str, Any]:
    """The morning meeting's hand-down: every active rep's targets for ``day``, with team and
    floor sums and the stretch figure (target + stretch %) beside each; with ``teams`` (a
    lead's), the rep rows of those teams only."""
    rules = load_rules(conn)
    team_rows = conn.execute(sa.select(TEAM.c.id, TEAM.c.name).order_by(TEAM.c.id)).all()
    reps = conn.execute(
        sa.select(REP.c.id, REP.c.code, REP.c.name, REP.c.team_id, REP.c.hired_on)
        # Unresolved agents (no team) are given no targets.
        .where(REP.c.active.is_(True), REP.c.team_id.is_not(None))
        .order_by(REP.c.name, REP.c.code)
    ).all()

    def fmt(targets: dict[tuple[str, str], int]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for (metric, period), v in sorted(targets.items()):
            stretch = round(v * (1 + stretch_pct / 100), 1)
            out.setdefault(period, {})[metric] = {"target": v, "stretch": stretch}
        return out

    by_team: dict[int, list[dict]] = {t.id: [] for t in team_rows}
    team_sums: dict[int, list[dict[tuple[str, str], int]]] = {t.id: [] for t in team_rows}
    for r in reps:
        targets = rep_targets(rules, RepRef(r.id, r.team_id, r.hired_on), day, ramp)
        team_sums.setdefault(r.team_id, []).append(targets)
        by_team.setdefault(r.team_id, []).append(
            {
                "code": r.code,
                "name": r.name,
                "new_hire": is_new_hire(r.hired_on, day, ramp),
                "targets": fmt(targets),
            }
        )
    out_teams = [
        {
            "name": t.name,
            "targets": fmt(sum_targets(team_sums[t.id])),
            "reps": by_team[t.id] if teams is None or t.name in teams else [],
        }
        for t in team_rows
        if by_team[t.id]
    ]
    return {
        "day": day.isoformat(),
        "stretch_pct": stretch_pct,
        "floor": {"targets": fmt(sum_targets(x for v in team_sums.values() for x in v))},
        "teams": out_teams,
    }
