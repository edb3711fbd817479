"""Settings: one pydantic-settings class, env prefix ``PACEBOARD_``, ``.env`` supported."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.floor.agent_state import (
    DEFAULT_TASKROUTER_ACTIVITIES,
    PauseReason,
    default_pause_reasons,
    parse_activity_map,
    parse_pause_reasons,
)
from app.floor.alerts import PauseLimits
from app.floor.pacing import Thresholds
from app.floor.progress import PacingConfig
from app.floor.schedule import (  # noqa: F401 (re-exported)
    Schedule,
    Window,
    format_windows,
    parse_weekdays,
    parse_windows,
)
from app.floor.targets import PERIODS, TARGET_METRICS, Ramp
from app.labels import Overrides, parse_labels


class SettingsError(Exception):
    """Raised with a message naming the offending ``PACEBOARD_`` setting."""


def parse_minimums(text: str) -> dict[str, int]:
    """``"dials/day=150,talk_seconds/day=6000"`` as {"dials/day": 150, …}; ValueError naming
    the entry that is not one."""
    out: dict[str, int] = {}
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        key, sep, value = entry.partition("=")
        metric, slash, period = key.strip().partition("/")
        if not (sep and slash and metric in TARGET_METRICS and period in PERIODS):
            raise ValueError(f"'{entry}' is not metric/period=value")
        if not value.strip().isdigit():
            raise ValueError(f"'{entry}': the value must be a whole number")
        out[f"{metric}/{period}"] = int(value)
    return out


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PACEBOARD_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = Path("./var")
    database_url: str = ""
    timezone: str = "Asia/Shanghai"
    calling_windows: Annotated[list[Window], NoDecode] = Field(
        default_factory=lambda: parse_windows("09:30-11:30,13:00-17:30")
    )
    working_days: Annotated[frozenset[int], NoDecode] = Field(
        default_factory=lambda: parse_weekdays("mon-fri")
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    secret_key: str = ""
    # Ingest limits: a clear 413 beats a server that swaps.
    max_batch_records: int = Field(default=5000, ge=1)
    max_body_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    # Decimal places of the currency's minor unit (2 for CNY fen, USD cents).
    currency_minor_digits: int = Field(default=2, ge=0, le=4)
    # Country calling code of the floor's customers: "+86 138…" and "138…" are one customer.
    customer_country_code: str = Field(default="86", pattern=r"^\d{0,3}$")
    # How long a verified API token is trusted before it is looked up again.
    token_cache_seconds: float = Field(default=5.0, ge=0)
    log_level: str = "info"
    # One line per event: JSON (for a log pipeline) or text (for a person reading a terminal).
    log_format: Literal["json", "text"] = "json"
    # On SIGTERM, requests in flight get this long to finish (their writes committed, answered)
    # before the server stops; screens are told to reconnect (elsewhere, or after the restart).
    shutdown_seconds: float = Field(default=20.0, gt=0, le=600)
    # A client must send its request headers within this long of its first byte, and its body
    # with no pause longer than body_timeout_seconds; else the connection is closed (slow
    # clients would hold connections open for ever). Also the bounds of nginx in compose.yaml.
    header_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    body_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    # A call starting more than this many minutes ahead of the server's clock is refused with
    # the reason (a phone system with a wrong clock would fill tomorrow's board).
    max_future_minutes: int = Field(default=5, ge=1, le=1440)
    # Pacing: the team target sits this far above the company's (the seed's "+20 %").
    stretch_pct: float = Field(default=20.0, ge=0, le=500)
    # New-hire ramp: the first NEW_HIRE_DAYS calendar days (hired_on is day 1) call to a lower bar.
    new_hire_days: int = Field(default=7, ge=0, le=366)
    new_hire_dials: int = Field(default=150, ge=0)
    # The least a lead may set a rep's target to ("metric/period=value,…", e.g. "dials/day=150";
    # revenue in minor units); unset: no minimum.
    target_minimums: Annotated[dict[str, int], NoDecode] = Field(default_factory=dict)
    # A new hire's talk-time and connects targets, in % of the floor's or team's, in their
    # first days (their dials have PACEBOARD_NEW_HIRE_DIALS).
    new_hire_activity_pct: float = Field(default=50.0, ge=0, le=100)
    # Status colours: pace >= PACE_GREEN is green, >= PACE_AMBER amber, else red.
    pace_green: float = Field(default=1.0, gt=0)
    pace_amber: float = Field(default=0.8, gt=0)
    # A rep with no dial for this many calling minutes is idle.
    idle_minutes: int = Field(default=15, ge=1, le=600)
    # An open behind_pace recovers at green, or after this many minutes out of the red (amber).
    recover_minutes: int = Field(default=10, ge=1, le=600)
    # Assessment: this many months in a row under target flag a rep for review (the seed's three).
    review_months: int = Field(default=3, ge=1, le=12)
    # A month with fewer working days present than this (leave taken off) is not judged.
    review_min_days: int = Field(default=15, ge=0, le=31)
    # The targets a month is judged by, e.g. "revenue,dials"; empty: the sales (业绩) target —
    # revenue, or orders where a rep has no revenue target, or every target where they have
    # neither (a day target counts as its sum over the month's working days).
    review_metrics: Annotated[tuple[str, ...], NoDecode] = ()
    # How often alerts are re-evaluated when no call arrives (expected-by-now keeps moving).
    alert_interval_seconds: float = Field(default=60.0, gt=0)
    # Live screens per process; more are refused with "try again" rather than starving the rest.
    max_sockets: int = Field(default=2000, ge=1)
    # How often an open socket's credential is checked again: a revoked display link or API
    # token, an expired or signed-out session, loses its screen within this many seconds.
    recheck_seconds: float = Field(default=30.0, gt=0)
    # The address people and webhooks reach this service at (https://paceboard.example.com);
    # behind a proxy, webhook signatures are computed over it. Unset: the request's own URL.
    public_url: str = Field(default="", pattern=r"^(https?://[^\s/]+(/[^\s]*)?)?$")
    # Twilio-compatible status callbacks are verified with this account auth token; unset, the
    # webhook refuses every request (403).
    twilio_auth_token: SecretStr = SecretStr("")
    # TaskRouter activity names and the agent state each means ("Name=state[:reason],…").
    taskrouter_activities: Annotated[dict[str, tuple[str, str]], NoDecode] = Field(
        default_factory=lambda: parse_activity_map(DEFAULT_TASKROUTER_ACTIVITIES)
    )
    # Pause reasons with their labels and how long each may last before ``paused_long``
    # ("code=中文/English[/minutes],…"; a reason not listed is kept as given, shown as is).
    pause_reasons: Annotated[dict[str, PauseReason], NoDecode] = Field(
        default_factory=default_pause_reasons
    )
    # Fan-out between processes (app/live/bus.py): auto is Redis when REDIS_URL is set, else
    # LISTEN/NOTIFY on a PostgreSQL database, else in-process (one process on SQLite).
    bus: Literal["auto", "memory", "postgres", "redis"] = "auto"
    redis_url: str = Field(default="", pattern=r"^(rediss?://\S+)?$")
    # The floor's own names for labels of the catalog ("key=中文/English,…", e.g.
    # "dials=外呼量/Calls"): pages, reports and exports use them.
    labels: Annotated[Overrides, NoDecode] = ()
    # Mark the sign-in cookies Secure (sent over HTTPS only). Unset or "auto": Secure when
    # PUBLIC_URL starts with https://. Set false only to sign in over plain HTTP on a trusted LAN.
    secure_cookies: bool | None = None

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA timezone '{v}'") from exc
        return v

    @field_validator("secure_cookies", mode="before")
    @classmethod
    def _auto_secure(cls, v: object) -> object:
        return None if isinstance(v, str) and v.strip().lower() in ("", "auto") else v

    @field_validator("taskrouter_activities", mode="before")
    @classmethod
    def _activities(cls, v: object) -> object:
        return parse_activity_map(v) if isinstance(v, str) else v

    @property
    def ramp(self) -> Ramp:
        """What a new hire's first days are judged by (PACEBOARD_NEW_HIRE_*)."""
        return Ramp(self.new_hire_days, self.new_hire_dials, self.new_hire_activity_pct)

    @property
    def pause_limits(self) -> PauseLimits:
        """Each listed reason's limit; a reason not listed gets the default 15 minutes."""
        return PauseLimits({c: r.limit_minutes for c, r in self.pause_reasons.items()})

    @field_validator("labels", mode="before")
    @classmethod
    def _labels(cls, v: object) -> object:
        return parse_labels(v) if isinstance(v, str) else v

    @field_validator("target_minimums", mode="before")
    @classmethod
    def _minimums(cls, v: object) -> object:
        return parse_minimums(v) if isinstance(v, str) else v

    @field_validator("pause_reasons", mode="before")
    @classmethod
    def _reasons(cls, v: object) -> object:
        return parse_pause_reasons(v) if isinstance(v, str) else v

    @field_validator("calling_windows", mode="before")
    @classmethod
    def _windows(cls, v: object) -> object:
        return parse_windows(v) if isinstance(v, str) else v

    @field_validator("review_metrics", mode="before")
    @classmethod
    def _review_metrics(cls, v: Any) -> object:
        if isinstance(v, str):
            v = tuple(m.strip() for m in v.split(",") if m.strip())
        for m in v or ():
            if m not in TARGET_METRICS:
                raise ValueError(f"'{m}' is not a target metric ({', '.join(TARGET_METRICS)})")
        return v

    @field_validator("working_days", mode="before")
    @classmethod
    def _weekdays(cls, v: object) -> object:
        return parse_weekdays(v) if isinstance(v, str) else v

    @model_validator(mode="after")
    def _bus_has_its_backend(self) -> Settings:
        if self.bus == "redis" and not self.redis_url:
            raise ValueError("bus: 'redis' needs PACEBOARD_REDIS_URL")
        if self.bus == "postgres" and not self.resolved_database_url.startswith("postgresql"):
            raise ValueError("bus: 'postgres' needs a PostgreSQL PACEBOARD_DATABASE_URL")
        return self

    @model_validator(mode="after")
    def _amber_below_green(self) -> Settings:
        if self.pace_amber > self.pace_green:
            raise ValueError("pace_amber: must not be above PACE_GREEN")
        return self

    @field_validator("secret_key")
    @classmethod
    def _strong_secret(cls, v: str) -> str:
        if v and len(v) < 16:
            raise ValueError("must be at least 16 characters (or unset to generate one)")
        return v

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def today(self, now: datetime | None = None) -> date:
        """The floor's local date at ``now`` (default: the current instant)."""
        return (now or datetime.now(UTC)).astimezone(self.tz).date()

    @property
    def schedule(self) -> Schedule:
        """The floor's default schedule (teams without their own use it)."""
        return Schedule(self.tz, tuple(self.calling_windows), self.working_days)

    @property
    def pacing(self) -> PacingConfig:
        """What pacing needs from the settings: schedule, ramp, stretch, colour thresholds."""
        return PacingConfig(
            floor=self.schedule,
            ramp=self.ramp,
            stretch_pct=self.stretch_pct,
            thresholds=Thresholds(self.pace_green, self.pace_amber),
            minor_digits=self.currency_minor_digits,
            labels=self.labels,
        )

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'paceboard.db').as_posix()}"

    def ensure_secret_key(self) -> str:
        """Return the secret key, generating and keeping one under ``data_dir`` if unset."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if path.exists():
            self.secret_key = path.read_text().strip()
        else:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            key = secrets.token_urlsafe(48)
            path.write_text(key + "\n")
            path.chmod(0o600)
            self.secret_key = key
        return self.secret_key


def load_settings(**overrides: Any) -> Settings:
    """Build settings from env/.env; raise SettingsError naming the bad ``PACEBOARD_`` variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            msg = err["msg"].removeprefix("Value error, ")
            field = str(err["loc"][0]) if err["loc"] else ""
            if not field and ": " in msg:  # a cross-field check names its field itself
                field, msg = msg.split(": ", 1)
            lines.append(f"PACEBOARD_{field.upper()}: {msg}")
        raise SettingsError("invalid settings: " + "; ".join(lines)) from None


@lru_cache
def get_settings() -> Settings:
    return load_settings()
