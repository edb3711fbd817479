"""Tables (SQLModel). The schema changes only through Alembic migrations in ``migrations/``."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Protocol

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.floor.metrics import METRICS  # noqa: F401 (re-exported: the columns of hourly_total)


class UTCDateTime(sa.types.TypeDecorator):
    """Timezone-aware instants, stored as UTC on every engine (SQLite keeps no offset)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a timezone-aware column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def table_of(model: type[SQLModel]) -> sa.Table:
    """The Core table of a ``table=True`` model (its ``__table__``), typed."""
    # SQLModel sets __table__ on every table model but its type hints don't declare it.
    return model.__table__  # type: ignore[attr-defined]


class _Stored(Protocol):
    @property
    def id(self) -> int | None: ...


def stored_id(row: _Stored) -> int:
    """The id of a row the database has given one (loaded, or added and flushed): an int,
    though the model types it ``int | None`` for the rows not yet inserted."""
    assert row.id is not None, "the row has no id yet: flush it first"
    return row.id


def utcnow() -> datetime:
    return datetime.now(UTC)


def _ts(nullable: bool = False, **kw):
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, **kw)


class Schedule(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    timezone: str = Field(max_length=64)
    calling_windows: str = Field(max_length=200)  # "09:30-11:30,13:00-17:30"
    workdays: str = Field(default="1,2,3,4,5", max_length=20)  # ISO weekdays


class Team(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    # None: the floor's default schedule (settings TIMEZONE / CALLING_WINDOWS).
    schedule_id: int | None = Field(default=None, foreign_key="schedule.id")
    created_at: datetime = _ts()


class Rep(SQLModel, table=True):
    """A rep on the roster, or (no team) an unresolved agent: an identifier the phone system
    sent that no rep has yet. Unresolved agents keep their calls off the TV and outside every
    target until the identifier is added to a rep, which takes their calls over."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=100, unique=True)
    name: str = Field(max_length=200)
    team_id: int | None = Field(default=None, foreign_key="team.id", index=True)
    hired_on: date | None = None
    active: bool = True
    mentor_id: int | None = Field(default=None, foreign_key="rep.id")
    created_at: datetime = _ts()


class RepIdentifier(SQLModel, table=True):
    """Every telephony identifier that maps to a rep (its code, agent id, extension, SIP peer)."""

    __tablename__ = "rep_identifier"
    identifier: str = Field(primary_key=True, max_length=100)
    rep_id: int = Field(foreign_key="rep.id", index=True)


class Call(SQLModel, table=True):
    __table_args__ = (
        sa.UniqueConstraint("source", "external_id", name="uq_call_source_external_id"),
        sa.Index("ix_call_customer_key", "customer_key"),
        sa.Index("ix_call_local_day", "local_day"),
    )
    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=100)
    external_id: str = Field(max_length=200)
    revision: int | None = None
    rep_id: int = Field(foreign_key="rep.id")
    direction: str = Field(max_length=10)
    started_at: datetime = _ts()
    answered_at: datetime | None = _ts(nullable=True)
    ended_at: datetime | None = _ts(nullable=True)
    talk_seconds: int = 0
    disposition: str = Field(max_length=12)
    outcome: str = Field(max_length=16)
    order_value: int = Field(default=0, sa_type=sa.BigInteger)  # minor units
    customer_key: str | None = Field(default=None, max_length=64)  # keyed hash, never the number
    # Derived from started_at in the rep's team timezone at write time.
    local_day: date
    local_hour: int
    received_at: datetime = _ts()
    updated_at: datetime = _ts()


#: The widest sums a cell may hold (below 2**63, so a sum past it fails on both engines).
TOTALS_FIT = "revenue <= 9000000000000000000 AND talk_seconds <= 9000000000000000000"


class HourlyTotal(SQLModel, table=True):
    __tablename__ = "hourly_total"
    __table_args__ = (
        sa.Index("ix_hourly_total_day", "day"),
        # SQLite turns an integer sum past 2**63 into a REAL without a word; this makes it an
        # error there as on PostgreSQL, so the writer rejects the record that would overflow.
        sa.CheckConstraint(TOTALS_FIT, name="ck_hourly_total_sums_fit"),
    )
    rep_id: int = Field(foreign_key="rep.id", primary_key=True)
    day: date = Field(primary_key=True)
    hour: int = Field(primary_key=True)
    dials: int = 0
    connects: int = 0
    talk_seconds: int = Field(default=0, sa_type=sa.BigInteger)
    orders: int = 0
    invites: int = 0
    revenue: int = Field(default=0, sa_type=sa.BigInteger)
    inbound_calls: int = 0
    inbound_connects: int = 0
    connect_orders: int = 0
    leads_dialled: int = 0
    leads_connected: int = 0


class LeadDay(SQLModel, table=True):
    """The hour a customer was first dialled / connected by a rep on a day (distinct leads)."""

    __tablename__ = "lead_day"
    __table_args__ = (sa.Index("ix_lead_day_customer_key", "customer_key"),)
    rep_id: int = Field(foreign_key="rep.id", primary_key=True)
    day: date = Field(primary_key=True)
    customer_key: str = Field(primary_key=True, max_length=64)
    first_dial_hour: int
    first_connect_hour: int | None = None


class IngestReject(SQLModel, table=True):
    __tablename__ = "ingest_reject"
    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=100)
    call_id: str | None = Field(default=None, max_length=200)
    payload: str  # JSON, customer numbers replaced by their keyed hash
    errors: str  # JSON list of {"field", "reason"}
    received_at: datetime = _ts(index=True)


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    scope: str = Field(max_length=10)  # ingest | read | admin
    source: str | None = Field(default=None, max_length=100)
    token_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=12)  # shown in listings so a token can be recognised
    created_at: datetime = _ts()
    revoked_at: datetime | None = _ts(nullable=True)


class Target(SQLModel, table=True):
    """A target from ``valid_from`` on. Scope ``floor`` (scope_id 0), ``team`` or ``rep`` (their
    id); a null value unsets the target from that day. Rep beats team beats floor."""

    __table_args__ = (
        sa.UniqueConstraint(
            "metric", "period", "scope", "scope_id", "valid_from", name="uq_target_rule"
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    metric: str = Field(max_length=20)
    period: str = Field(max_length=10)  # day | week | month
    scope: str = Field(max_length=10)  # floor | team | rep
    scope_id: int = 0
    value: int | None = Field(default=None, sa_type=sa.BigInteger)  # revenue in minor units
    valid_from: date
    updated_at: datetime = _ts()


class TargetChange(SQLModel, table=True):
    """One change of a target rule: who set it, to what (None: unset), and when."""

    __tablename__ = "target_change"
    __table_args__ = (sa.Index("ix_target_change_set_at", "set_at"),)
    id: int | None = Field(default=None, primary_key=True)
    metric: str = Field(max_length=20)
    period: str = Field(max_length=10)
    scope: str = Field(max_length=10)
    scope_id: int = 0
    value: int | None = Field(default=None, sa_type=sa.BigInteger)
    valid_from: date
    set_by: str = Field(max_length=100)
    set_at: datetime = _ts()


class Alert(SQLModel, table=True):
    """Something a lead should look at: a rep behind pace, idle, or recovered."""

    __table_args__ = (sa.Index("ix_alert_day_rep", "day", "rep_id"),)
    id: int | None = Field(default=None, primary_key=True)
    rep_id: int = Field(foreign_key="rep.id")
    day: date
    kind: str = Field(max_length=20)  # behind_pace | recovered | idle | paused_long
    metric: str | None = Field(default=None, max_length=20)
    raised_at: datetime = _ts()
    detail: str = "{}"  # JSON: the pace figures or idle minutes at the moment it was raised
    acknowledged_at: datetime | None = _ts(nullable=True)
    acknowledged_by: str | None = Field(default=None, max_length=100)
    note: str | None = Field(default=None, max_length=2000)
    #: Closed by itself (a behind whose rep recovered, and the recovered alert): nothing to ack.
    resolved_at: datetime | None = _ts(nullable=True)


class RepActivity(SQLModel, table=True):
    """The latest call a rep started on a local day: what "idle for 15 minutes" is measured from."""

    __tablename__ = "rep_activity"
    rep_id: int = Field(foreign_key="rep.id", primary_key=True)
    day: date = Field(primary_key=True)
    last_dial_at: datetime = _ts()


class ImportProfile(SQLModel, table=True):
    """A saved way of reading an export: its format and column mapping, reused by name
    (``paceboard import --profile NAME``)."""

    __tablename__ = "import_profile"
    name: str = Field(primary_key=True, max_length=100)
    format: str = Field(max_length=32)
    mapping: str = "{}"  # JSON: record field → column header
    encoding: str | None = Field(default=None, max_length=32)
    timezone: str | None = Field(default=None, max_length=64)
    rep_from: str | None = Field(default=None, max_length=100)
    source: str | None = Field(default=None, max_length=100)
    updated_at: datetime = _ts()


# --- access: people, their sessions, wallboard display links ---------------------------------


class AppUser(SQLModel, table=True):
    """A person who signs in: an admin (everything) or a lead (their teams)."""

    __tablename__ = "app_user"
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    password_hash: str = Field(max_length=255)  # argon2id, never the password
    role: str = Field(max_length=10)  # admin | lead
    created_at: datetime = _ts()
    disabled_at: datetime | None = _ts(nullable=True)
    failed_logins: int = 0  # consecutive; reset by a successful sign-in
    locked_until: datetime | None = _ts(nullable=True)


class UserTeam(SQLModel, table=True):
    """The teams a lead sees."""

    __tablename__ = "user_team"
    user_id: int = Field(foreign_key="app_user.id", primary_key=True)
    team_id: int = Field(foreign_key="team.id", primary_key=True)


class UserSession(SQLModel, table=True):
    """A signed-in browser: the SHA-256 of its cookie secret."""

    __tablename__ = "user_session"
    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    created_at: datetime = _ts()
    expires_at: datetime = _ts()
    last_seen_at: datetime = _ts()


class DisplayLink(SQLModel, table=True):
    """A wallboard TV's link: sees the board of its teams (none: the whole floor), nothing else."""

    __tablename__ = "display_link"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    token_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=12)  # shown in listings so a link can be recognised
    created_at: datetime = _ts()
    revoked_at: datetime | None = _ts(nullable=True)
    # How the TV shows the board (services/displays.py); null: as a link made before these
    # settings existed (the live board at its normal size, no rotation).
    size: str | None = Field(default=None, max_length=10)  # normal | large
    views: str | None = Field(default=None, max_length=100)  # "live,today,pk"
    rotate_seconds: int | None = None
    pin: str | None = Field(default=None, max_length=10)  # one of views; null rotates
    metric: str | None = Field(default=None, max_length=20)  # the leaderboards' metric


class DisplayTeam(SQLModel, table=True):
    __tablename__ = "display_team"
    display_id: int = Field(foreign_key="display_link.id", primary_key=True)
    team_id: int = Field(foreign_key="team.id", primary_key=True)


class SetupLink(SQLModel, table=True):
    """A one-time link that creates the first admin on a fresh install."""

    __tablename__ = "setup_link"
    token_hash: str = Field(primary_key=True, max_length=64)
    created_at: datetime = _ts()
    expires_at: datetime = _ts()
    used_at: datetime | None = _ts(nullable=True)


class ReportNote(SQLModel, table=True):
    """The evening meeting's note for one team and day: the reps' problems (员工问题) and the
    plan to fix them tomorrow (整改方案), shown in the daily report."""

    __tablename__ = "report_note"
    team_id: int = Field(foreign_key="team.id", primary_key=True)
    day: date = Field(primary_key=True)
    problems: str = Field(default="", max_length=4000)
    plan: str = Field(default="", max_length=4000)
    updated_by: str = Field(max_length=100)
    updated_at: datetime = _ts()


class RepPlan(SQLModel, table=True):
    """The evening meeting's problem and plan for one rep and day, and whether the plan was
    done (marked the next day; None: not followed up yet)."""

    __tablename__ = "rep_plan"
    __table_args__ = (sa.Index("ix_rep_plan_day", "day"),)
    rep_id: int = Field(foreign_key="rep.id", primary_key=True)
    day: date = Field(primary_key=True)
    problem: str = Field(default="", max_length=1000)
    plan: str = Field(default="", max_length=1000)
    set_by: str = Field(max_length=100)
    set_at: datetime = _ts()
    done: bool | None = None
    followed_by: str | None = Field(default=None, max_length=100)
    followed_at: datetime | None = _ts(nullable=True)


class AgentEvent(SQLModel, table=True):
    """A rep's state from ``at`` on (app.floor.agent_state), as a source reported it; kept so
    the time totals can be rebuilt and checked, whatever order the events arrived in."""

    __tablename__ = "agent_event"
    __table_args__ = (
        sa.UniqueConstraint("source", "event_key", name="uq_agent_event_source_key"),
        sa.Index("ix_agent_event_rep_at", "rep_id", "at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=100)
    #: The source's event_id, or a digest of the event's content when it sent none.
    event_key: str = Field(max_length=200)
    rep_id: int = Field(foreign_key="rep.id")
    state: str = Field(max_length=12)
    reason: str = Field(default="", max_length=40)  # a pause's reason; "" otherwise
    at: datetime = _ts()
    received_at: datetime = _ts()


class Attendance(SQLModel, table=True):
    """A rep's day that is not an ordinary working day (app.floor.attendance); no row: present."""

    __table_args__ = (sa.Index("ix_attendance_day", "day"),)
    rep_id: int = Field(foreign_key="rep.id", primary_key=True)
    day: date = Field(primary_key=True)
    status: str = Field(max_length=10)  # leave | half_day | sick | absent | present
    half: str = Field(default="", max_length=2)  # am | pm for a half day, else ""
    note: str = Field(default="", max_length=500)
    set_by: str = Field(max_length=100)
    set_at: datetime = _ts()


class AgentNow(SQLModel, table=True):
    """A rep's latest event in event order (their present state), kept as events arrive so a
    screen's full read need not search ``agent_event`` for it."""

    __tablename__ = "agent_now"
    rep_id: int = Field(foreign_key="rep.id", primary_key=True)
    source: str = Field(max_length=100)
    event_key: str = Field(max_length=200)
    state: str = Field(max_length=12)
    reason: str = Field(default="", max_length=40)
    at: datetime = _ts()


class StateTotal(SQLModel, table=True):
    """Seconds a rep spent in a state (and a pause's reason) in one local hour: the closed
    intervals between their events, kept by deltas like ``hourly_total``."""

    __tablename__ = "state_total"
    __table_args__ = (sa.Index("ix_state_total_day", "day"),)
    rep_id: int = Field(foreign_key="rep.id", primary_key=True)
    day: date = Field(primary_key=True)
    hour: int = Field(primary_key=True)
    state: str = Field(primary_key=True, max_length=12)
    reason: str = Field(default="", primary_key=True, max_length=40)
    seconds: int = 0
