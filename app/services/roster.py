"""Teams, reps and the telephony identifiers that map calls to reps. Services never commit."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session, col, func, select

from app.floor.agents import HASHED_AGENT_PREFIX, hashed_agent_code
from app.floor.schedule import format_weekdays, format_windows, parse_weekdays, parse_windows
from app.ingest.mask import holds_number
from app.ingest.records import CustomerHasher
from app.ingest.service import IngestContext
from app.models import Rep, RepIdentifier, Schedule, Team, stored_id, utcnow
from app.services import agents
from app.services.errors import InputError

# --- teams -----------------------------------------------------------------------------------


def _team_by_name(session: Session, name: str) -> Team:
    team = session.exec(select(Team).where(Team.name == name)).first()
    if team is None:
        raise InputError("team", f"no team named '{name}'", 404)
    return team


def _stored_days(text: str) -> str:
    """Working days as the schedule table keeps them: ISO weekday numbers, ``"1,2,3,4,5"``."""
    return ",".join(str(d) for d in sorted(parse_weekdays(text)))


def _check_schedule(
    timezone: str | None, windows: str | None, working_days: str | None = None
) -> tuple[str | None, str | None, str | None]:
    if timezone is not None:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InputError("timezone", f"unknown IANA timezone '{timezone}'") from None
    if windows is not None:
        try:
            windows = format_windows(parse_windows(windows))
        except ValueError as exc:
            raise InputError("calling_windows", str(exc)) from None
    if working_days is not None:
        try:
            working_days = _stored_days(working_days)
        except ValueError as exc:
            raise InputError("working_days", str(exc)) from None
    return timezone, windows, working_days


def _set_schedule(
    session: Session,
    team: Team,
    timezone: str | None,
    windows: str | None,
    working_days: str | None,
    defaults: tuple[str, str, str],
) -> None:
    """Give the team its own schedule (named after it), starting from the floor's defaults."""
    if timezone is None and windows is None and working_days is None:
        return
    sched = session.get(Schedule, team.schedule_id) if team.schedule_id else None
    if sched is None:
        sched = Schedule(
            name=f"team:{team.name}",
            timezone=defaults[0],
            calling_windows=defaults[1],
            workdays=_stored_days(defaults[2]),
        )
    if timezone is not None:
        sched.timezone = timezone
    if windows is not None:
        sched.calling_windows = windows
    if working_days is not None:
        sched.workdays = working_days
    session.add(sched)
    session.flush()
    team.schedule_id = sched.id


def team_view(session: Session, team: Team) -> dict[str, Any]:
    sched = session.get(Schedule, team.schedule_id) if team.schedule_id else None
    reps = session.exec(select(func.count()).select_from(Rep).where(Rep.team_id == team.id)).one()
    return {
        "name": team.name,
        "timezone": sched.timezone if sched else None,
        "calling_windows": sched.calling_windows if sched else None,
        "working_days": format_weekdays(parse_weekdays(sched.workdays)) if sched else None,
        "reps": reps,
    }


def list_teams(session: Session) -> list[dict[str, Any]]:
    """Every team with its own schedule (null = the floor default) and its head count."""
    return [team_view(session, t) for t in session.exec(select(Team).order_by(col(Team.id)))]


def create_team(
    session: Session,
    *,
    name: str,
    timezone: str | None = None,
    calling_windows: str | None = None,
    working_days: str | None = None,
    defaults: tuple[str, str, str],
) -> Team:
    """Create a team; 409 if the name is taken."""
    timezone, calling_windows, working_days = _check_schedule(
        timezone, calling_windows, working_days
    )
    if session.exec(select(Team).where(Team.name == name)).first():
        raise InputError("name", f"a team named '{name}' exists", 409)
    team = Team(name=name, created_at=utcnow())
    session.add(team)
    session.flush()
    _set_schedule(session, team, timezone, calling_windows, working_days, defaults)
    return team


def update_team(
    session: Session, *, name: str, changes: dict[str, Any], defaults: tuple[str, str, str]
) -> Team:
    """Rename a team or give it its own timezone / calling windows."""
    team = _team_by_name(session, name)
    timezone, windows, working_days = _check_schedule(
        changes.get("timezone"), changes.get("calling_windows"), changes.get("working_days")
    )
    new_name = changes.get("name")
    if new_name and new_name != team.name:
        if session.exec(select(Team).where(Team.name == new_name)).first():
            raise InputError("name", f"a team named '{new_name}' exists", 409)
        team.name = new_name
    _set_schedule(session, team, timezone, windows, working_days, defaults)
    session.add(team)
    session.flush()
    return team


def ensure_team(session: Session, name: str) -> Team:
    team = session.exec(select(Team).where(Team.name == name)).first()
    if team is None:
        team = Team(name=name, created_at=utcnow())
        session.add(team)
        session.flush()
    return team


# --- reps ------------------------------------------------------------------------------------


def rep_view(session: Session, rep: Rep) -> dict[str, Any]:
    team = session.get(Team, rep.team_id)
    idents = session.exec(
        select(RepIdentifier.identifier).where(RepIdentifier.rep_id == rep.id)
    ).all()
    return {
        "code": rep.code,
        "name": rep.name,
        "team": team.name if team else None,
        "hired_on": rep.hired_on,
        "active": rep.active,
        # A phone-like identifier's hashed form is bookkeeping, not something the admin set.
        "identifiers": sorted(
            i for i in idents if i != rep.code and not i.startswith(HASHED_AGENT_PREFIX)
        ),
    }


def list_reps(session: Session, *, team: str | None = None) -> list[dict[str, Any]]:
    """Reps on the roster ordered by team and name, optionally one team's (unresolved agents,
    having no team, are not reps: see :mod:`app.services.agents`)."""
    q = select(Rep).join(Team, col(Rep.team_id) == Team.id).order_by(col(Team.id), Rep.name)
    if team is not None:
        q = q.where(Team.name == team)
    return [rep_view(session, r) for r in session.exec(q)]


def _rep_by_code(session: Session, code: str) -> Rep:
    rep = session.exec(select(Rep).where(Rep.code == code)).first()
    if rep is None or rep.team_id is None:
        raise InputError("code", f"no rep with code '{code}'", 404)
    return rep


def _set_identifiers(
    session: Session, rep: Rep, identifiers: list[str], hasher: CustomerHasher
) -> None:
    """Make ``identifiers`` (plus the rep's code) exactly the set that maps to this rep; a
    phone-like one also by its hashed form, so every spelling of the number finds the rep."""
    given = {i.strip() for i in identifiers if i.strip()} | {rep.code}
    wanted = given | {hashed_agent_code(i, hasher) for i in given if holds_number(i)}
    for ident in wanted:
        owner = session.get(RepIdentifier, ident)
        if owner is not None and owner.rep_id != rep.id:
            other = session.get(Rep, owner.rep_id)
            raise InputError(
                "identifiers",
                f"'{ident}' already belongs to rep '{other.code if other else '?'}'",
                409,
            )
    for row in session.exec(select(RepIdentifier).where(RepIdentifier.rep_id == rep.id)).all():
        if row.identifier not in wanted:
            session.delete(row)
    session.flush()
    for ident in sorted(wanted):
        if session.get(RepIdentifier, ident) is None:
            session.add(RepIdentifier(identifier=ident, rep_id=stored_id(rep)))
    session.flush()


def create_rep(
    session: Session,
    *,
    code: str,
    name: str,
    team: str,
    hired_on: date | None = None,
    active: bool = True,
    identifiers: list[str] | None = None,
    ingest: IngestContext,
) -> Rep:
    """Add a rep to an existing team; 409 if the code or an identifier is another rep's. An
    unresolved agent holding the code or an identifier hands its calls over to the new rep."""
    t = _team_by_name(session, team)
    now = utcnow()
    wanted = [code, *(identifiers or [])]
    calls = agents.claim(
        session.connection(),
        rep_code=code,
        identifiers=wanted,
        ctx=ingest,
        now=now,
        release_only=True,
    )
    if session.exec(select(Rep).where(Rep.code == code)).first():
        raise InputError("code", f"a rep with code '{code}' exists", 409)
    owner = session.get(RepIdentifier, code)
    if owner is not None:
        raise InputError("code", f"'{code}' is already an identifier of another rep", 409)
    rep = Rep(code=code, name=name, team_id=t.id, hired_on=hired_on, active=active, created_at=now)
    session.add(rep)
    session.flush()
    _set_identifiers(session, rep, identifiers or [], ingest.hasher)
    if calls:
        agents.hand_over(session.connection(), calls, rep_code=code, ctx=ingest, now=now)
    return rep


def pin_mentor(
    session: Session, *, code: str, mentor: str | None, teams: frozenset[str] | None = None
) -> dict[str, Any]:
    """Pin ``mentor`` (a rep of the same team; None unpins) as ``code``'s mentor; automatic
    pairs then leave the rep alone. 404 for a rep not on the roster or not one of ``teams``, 422
    for a mentor on another team or the rep themself."""
    rep = _rep_by_code(session, code)
    team = session.get(Team, rep.team_id)
    if team is None or (teams is not None and team.name not in teams):
        raise InputError("code", f"no rep with code '{code}'", 404)
    if mentor is None:
        rep.mentor_id = None
    else:
        other = session.exec(select(Rep).where(Rep.code == mentor)).first()
        if other is None or other.team_id != rep.team_id or other.id == rep.id:
            raise InputError("mentor", f"'{mentor}' is not another rep of team '{team.name}'")
        rep.mentor_id = other.id
    session.add(rep)
    session.flush()
    return {"rep": rep.code, "team": team.name, "mentor": mentor}


def update_rep(
    session: Session, *, code: str, changes: dict[str, Any], ingest: IngestContext
) -> Rep:
    """Change a rep's fields; ``identifiers`` replaces the list of other identifiers. An
    unresolved agent holding a new code or identifier hands its calls over to the rep."""
    rep = _rep_by_code(session, code)
    now = utcnow()
    claimed = [changes.get("code") or "", *(changes.get("identifiers") or [])]
    calls = agents.claim(
        session.connection(),
        rep_code=rep.code,
        identifiers=claimed,
        ctx=ingest,
        now=now,
        release_only=True,
    )
    new_code = changes.get("code")
    if new_code and new_code != rep.code:
        if session.exec(select(Rep).where(Rep.code == new_code)).first():
            raise InputError("code", f"a rep with code '{new_code}' exists", 409)
        owner = session.get(RepIdentifier, new_code)
        if owner is not None and owner.rep_id != rep.id:
            raise InputError("code", f"'{new_code}' is an identifier of another rep", 409)
        old = session.get(RepIdentifier, rep.code)
        if old is not None:
            session.delete(old)
            session.flush()
        rep.code = new_code
        if owner is None:
            session.add(RepIdentifier(identifier=new_code, rep_id=stored_id(rep)))
    if "team" in changes and changes["team"] is not None:
        rep.team_id = _team_by_name(session, changes["team"]).id
    for name in ("name", "hired_on", "active"):
        if name in changes:
            if changes[name] is None and name != "hired_on":
                raise InputError(name, "may not be null")
            setattr(rep, name, changes[name])
    session.add(rep)
    session.flush()
    if changes.get("identifiers") is not None:
        _set_identifiers(session, rep, changes["identifiers"], ingest.hasher)
    if calls:
        session.flush()
        agents.hand_over(session.connection(), calls, rep_code=rep.code, ctx=ingest, now=now)
    return rep


# --- CSV import ------------------------------------------------------------------------------

ROSTER_COLUMNS = ("code", "name", "team", "hired_on")
#: Columns whose cells are telephony identifiers of the rep (several per cell, separated by
#: ``;``, ``|`` or spaces): how calls from each phone system find the rep.
IDENTIFIER_COLUMNS = ("identifiers", "extension", "sip_peer", "accountcode", "agent_id", "client")
_SEPARATORS = re.compile(r"[;|]")


@dataclass
class RosterImport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def read_roster_csv(data: bytes) -> tuple[list[dict[str, Any]], list[str]]:
    """Parse a roster CSV (UTF-8, BOM optional); returns rows and errors naming the row number.
    A row's ``identifiers`` is None when the file has no identifier column."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return [], [f"the file is not UTF-8 (byte {exc.start}); save it as CSV UTF-8"]
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in ROSTER_COLUMNS[:3] if c not in header]
    if missing:
        return [], [
            f"row 1: missing column(s) {', '.join(missing)} (need {', '.join(ROSTER_COLUMNS)})"
        ]
    ident_columns = [c for c in IDENTIFIER_COLUMNS if c in header]
    reader.fieldnames = header
    rows: list[dict[str, Any]] = []
    errors: list[str] = []
    seen: dict[str, int] = {}
    for rowno, raw in enumerate(reader, start=2):
        rec: dict[str, Any] = {k: (v or "").strip() for k, v in raw.items() if k in ROSTER_COLUMNS}
        idents = [
            part
            for c in ident_columns
            for part in (p.strip() for p in _SEPARATORS.split(raw.get(c) or ""))
            if part
        ]
        if not any(rec.values()) and not idents:
            continue
        for field in ("code", "name", "team"):
            if not rec.get(field):
                errors.append(f"row {rowno}: {field}: is empty")
        for ident in idents:
            if len(ident) > 100:
                errors.append(f"row {rowno}: identifiers: longer than 100 characters")
        rec["identifiers"] = list(dict.fromkeys(idents)) if ident_columns else None
        hired = rec.get("hired_on") or ""
        if hired:
            try:
                rec["hired_on"] = date.fromisoformat(hired)
            except ValueError:
                errors.append(f"row {rowno}: hired_on: '{hired}' is not a date (YYYY-MM-DD)")
        else:
            rec["hired_on"] = None
        if rec.get("code") in seen:
            errors.append(f"row {rowno}: code: '{rec['code']}' repeats row {seen[rec['code']]}")
        elif rec.get("code"):
            seen[rec["code"]] = rowno
        rows.append(rec)
    return rows, errors


def _roster_rep(session: Session, code: str) -> Rep | None:
    """The rep on the roster with ``code`` as its code or one of its identifiers."""
    rep = session.exec(select(Rep).where(Rep.code == code, col(Rep.team_id).is_not(None))).first()
    if rep is None:
        owner = session.get(RepIdentifier, code)
        if owner is not None:
            found = session.get(Rep, owner.rep_id)
            rep = found if found is not None and found.team_id is not None else None
    return rep


def _identifiers_of(session: Session, rep: Rep) -> set[str]:
    rows = session.exec(select(RepIdentifier.identifier).where(RepIdentifier.rep_id == rep.id))
    return {i for i in rows.all() if not i.startswith(HASHED_AGENT_PREFIX)} - {rep.code}


def import_roster(
    session: Session, rows: list[dict[str, Any]], *, ingest: IngestContext
) -> RosterImport:
    """Create or update reps (and their teams) from parsed rows; all in the caller's transaction.
    When the file has identifier columns they replace each rep's identifiers; calls kept under
    unresolved agents with those identifiers move to the rep."""
    result = RosterImport()
    for rec in rows:
        team = ensure_team(session, rec["team"])
        idents = rec.get("identifiers")
        rep = _roster_rep(session, rec["code"])
        if rep is None:
            create_rep(
                session,
                code=rec["code"],
                name=rec["name"],
                team=team.name,
                hired_on=rec["hired_on"],
                identifiers=idents or [],
                ingest=ingest,
            )
            result.created += 1
            continue
        before = (rep.name, rep.team_id, rep.hired_on, _identifiers_of(session, rep))
        changes: dict[str, Any] = {"name": rec["name"], "team": team.name}
        changes["hired_on"] = rec["hired_on"]
        if idents is not None:
            changes["identifiers"] = idents
        rep = update_rep(session, code=rep.code, changes=changes, ingest=ingest)
        if before == (rep.name, rep.team_id, rep.hired_on, _identifiers_of(session, rep)):
            result.unchanged += 1
        else:
            result.updated += 1
    session.flush()
    return result
