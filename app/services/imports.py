"""Import options and saved profiles: what the CLI and ``POST /api/v1/imports`` share.

A profile stores how to read one kind of export (format, column mapping, encoding, timezone,
rep column, source) under a name, so the back office types ``--profile 话单`` instead of six
``--map`` options every morning. Options given with the import override the profile's.
Services never commit.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session, select

from app.ingest.adapters import ADAPTERS, OptionError, Options
from app.ingest.adapters.base import check_encoding
from app.models import ImportProfile, utcnow
from app.services.errors import InputError

_NAME_MAX = 100


@dataclass(frozen=True, slots=True)
class ImportPlan:
    """Everything :func:`app.ingest.importer.import_file` needs besides the file."""

    fmt: str
    source: str
    timezone: ZoneInfo
    rep_from: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    encoding: str | None = None

    def kwargs(self) -> dict[str, Any]:
        return {
            "fmt": self.fmt,
            "source": self.source,
            "timezone": self.timezone,
            "rep_from": self.rep_from,
            "mapping": self.mapping,
            "encoding": self.encoding,
        }


def parse_map(items: Iterable[str]) -> dict[str, str]:
    """``["rep=坐席工号", …]`` → ``{"rep": "坐席工号"}``; InputError(map) when malformed."""
    mapping: dict[str, str] = {}
    for item in items:
        name, sep, column = item.partition("=")
        name, column = name.strip(), column.strip()
        if not sep or not name or not column:
            raise InputError("map", f"'{item}' is not FIELD=COLUMN")
        if name in mapping and mapping[name] != column:
            raise InputError("map", f"'{name}' is mapped twice")
        mapping[name] = column
    return mapping


def _timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError("timezone", f"unknown IANA timezone '{name}'") from None


def _encoding(name: str) -> str:
    try:
        check_encoding(name)
    except OptionError as exc:
        raise InputError(exc.field, exc.reason) from None
    return codecs.lookup(name).name


def _check(plan: ImportPlan) -> ImportPlan:
    adapter = ADAPTERS.get(plan.fmt)
    if adapter is None:
        raise InputError("format", f"'{plan.fmt}' is unknown (one of {', '.join(ADAPTERS)})")
    if not plan.source or len(plan.source) > _NAME_MAX:
        raise InputError("source", "must be 1 to 100 characters")
    try:
        adapter.check(
            Options(
                timezone=plan.timezone,
                source=plan.source,
                rep_from=plan.rep_from,
                mapping=plan.mapping,
                encoding=plan.encoding,
            )
        )
    except OptionError as exc:
        raise InputError(exc.field, exc.reason) from None
    return plan


def _profile(session: Session, name: str) -> ImportProfile:
    row = session.get(ImportProfile, name)
    if row is None:
        raise InputError("profile", f"no import profile named '{name}'", 404)
    return row


def plan_import(
    session: Session | None,
    *,
    default_timezone: ZoneInfo,
    profile: str | None = None,
    fmt: str | None = None,
    source: str | None = None,
    timezone: str | None = None,
    rep_from: str | None = None,
    mapping: dict[str, str] | None = None,
    encoding: str | None = None,
) -> ImportPlan:
    """The options of one import: a saved profile's, overridden by those given; InputError
    names the first option that cannot be used."""
    saved: dict[str, Any] = {}
    if profile:
        if session is None:
            raise InputError("profile", "profiles need the database")
        saved = profile_dict(_profile(session, profile))
    fmt = fmt or saved.get("format")
    if not fmt:
        raise InputError("format", "is required (or give a --profile that has one)")
    tz_name = timezone or saved.get("timezone")
    enc = encoding or saved.get("encoding")
    return _check(
        ImportPlan(
            fmt=fmt,
            source=(source or saved.get("source") or fmt.split("-")[0]).strip(),
            timezone=_timezone(tz_name) if tz_name else default_timezone,
            rep_from=rep_from or saved.get("rep_from"),
            mapping={**saved.get("mapping", {}), **(mapping or {})},
            encoding=_encoding(enc) if enc else None,
        )
    )


def profile_dict(row: ImportProfile) -> dict[str, Any]:
    """A profile as the API shows it."""
    return {
        "name": row.name,
        "format": row.format,
        "mapping": json.loads(row.mapping),
        "encoding": row.encoding,
        "timezone": row.timezone,
        "rep_from": row.rep_from,
        "source": row.source,
        "updated_at": row.updated_at.isoformat() if row.updated_at else None,
    }


def save_profile(
    session: Session,
    *,
    name: str,
    fmt: str,
    mapping: dict[str, str] | None = None,
    encoding: str | None = None,
    timezone: str | None = None,
    rep_from: str | None = None,
    source: str | None = None,
) -> dict[str, Any]:
    """Create or replace the profile ``name``; InputError if its options cannot be used."""
    name = name.strip()
    if not name or len(name) > _NAME_MAX:
        raise InputError("name", "must be 1 to 100 characters")
    tz = _timezone(timezone) if timezone else ZoneInfo("UTC")
    enc = _encoding(encoding) if encoding else None
    _check(
        ImportPlan(
            fmt=fmt,
            source=(source or fmt).strip(),
            timezone=tz,
            rep_from=rep_from,
            mapping=dict(mapping or {}),
            encoding=enc,
        )
    )
    row = session.get(ImportProfile, name) or ImportProfile(name=name, format=fmt)
    row.format = fmt
    row.mapping = json.dumps(mapping or {}, ensure_ascii=False, sort_keys=True)
    row.encoding = enc
    row.timezone = timezone or None
    row.rep_from = rep_from or None
    row.source = source.strip() if source else None
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    return profile_dict(row)


def list_profiles(session: Session) -> list[dict[str, Any]]:
    """Every saved profile, by name."""
    rows = session.exec(select(ImportProfile).order_by(ImportProfile.name)).all()
    return [profile_dict(r) for r in rows]


def get_profile(session: Session, *, name: str) -> dict[str, Any]:
    """One profile; InputError 404 if there is none of that name."""
    return profile_dict(_profile(session, name))


def delete_profile(session: Session, *, name: str) -> None:
    """Forget a profile; InputError 404 if there is none of that name."""
    session.delete(_profile(session, name))
