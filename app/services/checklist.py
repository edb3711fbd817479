"""The admin's first-day checklist: what a floor needs before its board means anything, each
item ticked from the database (never from what the page remembers), and the commands that
connect a phone system.

Items, in the order a floor is set up:

- ``roster``: an active rep is on the roster (in a team);
- ``tv``: a display link that is not revoked exists;
- ``phone``: an ingest token that is not revoked exists (``token``) and a call has arrived
  (``connected``), by the API or by ``paceboard import``; done when both hold;
- ``targets``: someone has set a target: a change is logged, or a rule exists beyond the floor
  defaults the first migration seeds (scope floor, valid from 2000-01-01).
"""

from __future__ import annotations

import json
import shlex
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from app.models import ApiToken, Call, DisplayLink, Rep, Target, TargetChange, table_of

REP, DISPLAY, TOKEN = table_of(Rep), table_of(DisplayLink), table_of(ApiToken)
CALL, TARGET, CHANGE = table_of(Call), table_of(Target), table_of(TargetChange)
#: The valid_from of the floor defaults migration 0002 seeds: rules from then are not "set".
SEEDED_FROM = date(2000, 1, 1)
#: Each item's section of the admin page (its ``#`` anchor).
SECTIONS = {"roster": "roster", "tv": "displays", "phone": "tokens", "targets": "targets"}


def _exists(conn: sa.Connection, query: sa.Select[Any]) -> bool:
    return conn.execute(sa.select(sa.exists(query))).scalar() is True


def roster_done(conn: sa.Connection) -> bool:
    """An active rep is on the roster (unresolved agents have no team and do not count)."""
    q = sa.select(REP.c.id).where(REP.c.team_id.is_not(None), REP.c.active.is_(True))
    return _exists(conn, q)


def tv_done(conn: sa.Connection) -> bool:
    """A display link that is not revoked exists."""
    return _exists(conn, sa.select(DISPLAY.c.id).where(DISPLAY.c.revoked_at.is_(None)))


def ingest_token_exists(conn: sa.Connection) -> bool:
    """An ingest-scope token that is not revoked exists."""
    q = sa.select(TOKEN.c.id).where(TOKEN.c.scope == "ingest", TOKEN.c.revoked_at.is_(None))
    return _exists(conn, q)


def call_arrived(conn: sa.Connection) -> bool:
    """A call is stored, however it came (the API, a webhook, an imported export)."""
    return _exists(conn, sa.select(CALL.c.id))


def targets_done(conn: sa.Connection) -> bool:
    """Someone set a target: a logged change, or a rule other than the seeded floor defaults."""
    if _exists(conn, sa.select(CHANGE.c.id)):
        return True
    q = sa.select(TARGET.c.id).where(
        sa.or_(TARGET.c.scope != "floor", TARGET.c.valid_from != SEEDED_FROM)
    )
    return _exists(conn, q)


def checklist(conn: sa.Connection) -> dict[str, Any]:
    """The items in setup order, each with ``done`` and its page section; ``done`` overall."""
    token, connected = ingest_token_exists(conn), call_arrived(conn)
    items: list[dict[str, Any]] = [
        {"key": "roster", "done": roster_done(conn)},
        {"key": "tv", "done": tv_done(conn)},
        {"key": "phone", "done": token and connected, "token": token, "connected": connected},
        {"key": "targets", "done": targets_done(conn)},
    ]
    for item in items:
        item["section"] = SECTIONS[item["key"]]
    return {"done": all(i["done"] for i in items), "items": items}


# --- connecting a phone system -----------------------------------------------------------------


def sample_rep(conn: sa.Connection) -> str | None:
    """The code of the roster's first active rep (a sample call then shows on the board)."""
    q = (
        sa.select(REP.c.code)
        .where(REP.c.team_id.is_not(None), REP.c.active.is_(True))
        .order_by(REP.c.id)
        .limit(1)
    )
    return conn.execute(q).scalar()


def sample_record(*, rep: str, now: datetime, timezone: str) -> dict[str, Any]:
    """A one-call record to try a connection with: answered, a minute long, started ``now``
    (in the floor's timezone, to the second), under an id that says what it is."""
    started = now.astimezone(ZoneInfo(timezone)).replace(microsecond=0)
    return {
        "call_id": f"paceboard-test-{started:%Y%m%d%H%M%S}",
        "rep": rep,
        "started_at": started.isoformat(),
        "disposition": "answered",
        "talk_seconds": 60,
    }


def curl_command(*, base_url: str, token: str, record: dict[str, Any]) -> str:
    """The one-line shell command that posts ``record`` to this server with ``token``."""
    body = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    return " ".join(
        [
            "curl -X POST",
            shlex.quote(base_url.rstrip("/") + "/api/v1/calls"),
            "-H",
            shlex.quote(f"Authorization: Bearer {token}"),
            "-H",
            shlex.quote("Content-Type: application/json"),
            "-d",
            shlex.quote(body),
        ]
    )


def import_command(*, source: str | None) -> str:
    """The command that loads an Asterisk CDR export (run where the server's settings are)."""
    parts = ["paceboard import Master.csv --format asterisk"]
    if source:
        parts.append("--source " + shlex.quote(source))
    return " ".join(parts)
