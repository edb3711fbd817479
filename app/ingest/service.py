"""Apply a batch of records to the calls table and the hourly totals, in the caller's transaction.

Per (source, call_id) a record updates only the fields it carries. Totals move by the difference
between a call's old and new contribution, so a correction never counts twice. The caller
(the group-commit writer, an import, a test) owns the transaction; nothing here commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from app.floor.metrics import CALL_METRICS, contribution
from app.ingest.records import CREATE_DEFAULTS, CustomerHasher, Incoming, Invalid, scrub
from app.models import (
    METRICS,
    Call,
    HourlyTotal,
    IngestReject,
    LeadDay,
    Rep,
    RepIdentifier,
    Schedule,
    Team,
)

CALL = Call.__table__
TOTAL = HourlyTotal.__table__
LEAD = LeadDay.__table__
REJECT = IngestReject.__table__
REP = Rep.__table__
IDENT = RepIdentifier.__table__
TEAM = Team.__table__
SCHEDULE = Schedule.__table__

UNASSIGNED_TEAM = "Unassigned"
# contribution() fills the first metrics of a totals row, in this order.
assert METRICS[: len(CALL_METRICS)] == CALL_METRICS
_CHUNK = 400
_STORED_CONTENT = (
    "rep_id",
    "direction",
    "started_at",
    "answered_at",
    "ended_at",
    "talk_seconds",
    "disposition",
    "outcome",
    "order_value",
    "customer_key",
)

Cell = tuple[int, date, int]  # (rep_id, local day, local hour)
LeadKey = tuple[int, date, str]


@dataclass(slots=True)
class RecordResult:
    index: int
    call_id: str | None
    status: str  # created | updated | duplicate | stale | rejected | not_found
    errors: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"index": self.index, "call_id": self.call_id, "status": self.status}
        if self.errors:
            d["errors"] = self.errors
        return d


@dataclass
class BatchOutcome:
    results: list[RecordResult]
    changed_cells: set[Cell]

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(("created", "updated", "duplicate", "stale", "rejected"), 0)
        for r in self.results:
            out[r.status] = out.get(r.status, 0) + 1
        return out


@dataclass(frozen=True)
class IngestContext:
    default_tz: ZoneInfo
    hasher: CustomerHasher


def _chunks(seq: Sequence[Any], n: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


def _insert(conn: sa.Connection, table: sa.Table):
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def consistency_errors(row: dict[str, Any]) -> list[dict[str, str]]:
    """Cross-field checks on a call's merged state (a PATCH can break them as well as a POST)."""
    errs = []
    started, answered, ended = row["started_at"], row.get("answered_at"), row.get("ended_at")
    if answered is not None and answered < started:
        errs.append({"field": "answered_at", "reason": "is before started_at"})
    if ended is not None and ended < started:
        errs.append({"field": "ended_at", "reason": "is before started_at"})
    elif ended is not None and answered is not None and ended < answered:
        errs.append({"field": "ended_at", "reason": "is before answered_at"})
    return errs


def ensure_team(conn: sa.Connection, name: str, now: datetime) -> int:
    """The id of team ``name``, created if missing (safe against a concurrent creator)."""
    conn.execute(
        _insert(conn, TEAM)
        .values(name=name, created_at=now)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    return conn.execute(sa.select(TEAM.c.id).where(TEAM.c.name == name)).scalar_one()


def resolve_reps(conn: sa.Connection, codes: set[str], now: datetime) -> dict[str, int]:
    """Map telephony identifiers to rep ids; unknown ones become reps in the Unassigned team."""
    found: dict[str, int] = {}
    ordered = sorted(codes)
    for chunk in _chunks(ordered):
        q = sa.select(IDENT.c.identifier, IDENT.c.rep_id).where(IDENT.c.identifier.in_(chunk))
        found.update(conn.execute(q).all())
    missing = [c for c in ordered if c not in found]
    if missing:
        team_id = ensure_team(conn, UNASSIGNED_TEAM, now)
        for code in missing:
            conn.execute(
                _insert(conn, REP)
                .values(code=code, name=code, team_id=team_id, active=True, created_at=now)
                .on_conflict_do_nothing(index_elements=["code"])
            )
            rep_id = conn.execute(sa.select(REP.c.id).where(REP.c.code == code)).scalar_one()
            conn.execute(
                _insert(conn, IDENT)
                .values(identifier=code, rep_id=rep_id)
                .on_conflict_do_nothing(index_elements=["identifier"])
            )
            found[code] = conn.execute(
                sa.select(IDENT.c.rep_id).where(IDENT.c.identifier == code)
            ).scalar_one()
    return found


def rep_timezones(conn: sa.Connection, rep_ids: set[int], default: ZoneInfo) -> dict[int, ZoneInfo]:
    """Each rep's schedule timezone (their team's, else the floor's)."""
    out: dict[int, ZoneInfo] = {}
    ids = sorted(rep_ids)
    for chunk in _chunks(ids):
        q = (
            sa.select(REP.c.id, SCHEDULE.c.timezone)
            .select_from(
                REP.join(TEAM, REP.c.team_id == TEAM.c.id).outerjoin(
                    SCHEDULE, TEAM.c.schedule_id == SCHEDULE.c.id
                )
            )
            .where(REP.c.id.in_(chunk))
        )
        for rep_id, tz in conn.execute(q):
            out[rep_id] = ZoneInfo(tz) if tz else default
    return out


def _load_calls(conn: sa.Connection, keys: list[tuple[str, str]]) -> dict[tuple[str, str], dict]:
    out = {}
    for chunk in _chunks(keys):
        q = sa.select(CALL).where(sa.tuple_(CALL.c.source, CALL.c.external_id).in_(chunk))
        if conn.dialect.name == "postgresql":
            # Two processes applying revisions of one call serialise here, not in the totals.
            q = q.with_for_update()
        for row in conn.execute(q).mappings():
            out[(row["source"], row["external_id"])] = dict(row)
    return out


def _add(deltas: dict[Cell, list[int]], cell: Cell, values: Sequence[int], sign: int) -> None:
    acc = deltas.get(cell)
    if acc is None:
        acc = deltas[cell] = [0] * len(METRICS)
    for i, v in enumerate(values):
        acc[i] += sign * v


def apply_batch(
    conn: sa.Connection,
    items: Sequence[Incoming | Invalid],
    *,
    ctx: IngestContext,
    now: datetime,
    require_existing: bool = False,
) -> BatchOutcome:
    """Store ``items`` in order in the caller's transaction; one result per item, in input order.

    ``require_existing`` (PATCH) answers ``not_found`` instead of creating a call.
    """
    results: list[RecordResult] = []
    rejects: list[dict[str, Any]] = []
    valid = [it for it in items if isinstance(it, Incoming)]

    codes = {it.fields["rep"] for it in valid if "rep" in it.fields}
    rep_ids = resolve_reps(conn, codes, now) if codes else {}
    state = _load_calls(conn, list(dict.fromkeys((it.source, it.call_id) for it in valid)))
    tz_reps = set(rep_ids.values()) | {c["rep_id"] for c in state.values()}
    tzs = rep_timezones(conn, tz_reps, ctx.default_tz) if tz_reps else {}

    new_keys: set[tuple[str, str]] = set()
    dirty: set[tuple[str, str]] = set()
    deltas: dict[Cell, list[int]] = {}
    lead_keys: set[LeadKey] = set()

    def place(row: dict[str, Any]) -> None:
        local = row["started_at"].astimezone(tzs[row["rep_id"]])
        row["local_day"], row["local_hour"] = local.date(), local.hour

    def reject(item: Incoming | Invalid, errors: list[dict[str, str]]) -> None:
        results.append(RecordResult(item.index, item.call_id, "rejected", errors))
        rejects.append(
            {
                "source": item.source,
                "call_id": item.call_id,
                "payload": orjson.dumps(scrub(item.raw, ctx.hasher), default=str).decode(),
                "errors": orjson.dumps(errors).decode(),
                "received_at": now,
            }
        )

    for item in items:
        if isinstance(item, Invalid):
            reject(item, item.errors)
            continue
        key = (item.source, item.call_id)
        fields = dict(item.fields)
        if "rep" in fields:
            fields["rep_id"] = rep_ids[fields.pop("rep")]
        cur = state.get(key)

        if cur is None:
            if require_existing:
                results.append(RecordResult(item.index, item.call_id, "not_found"))
                continue
            row = {**CREATE_DEFAULTS, **fields}
            errs = consistency_errors(row)
            if errs:
                reject(item, errs)
                continue
            row.update(
                source=item.source,
                external_id=item.call_id,
                revision=item.revision,
                received_at=now,
                updated_at=now,
            )
            place(row)
            state[key] = row
            new_keys.add(key)
            _add(deltas, (row["rep_id"], row["local_day"], row["local_hour"]), contribution(row), 1)
            if row["customer_key"]:
                lead_keys.add((row["rep_id"], row["local_day"], row["customer_key"]))
            results.append(RecordResult(item.index, item.call_id, "created"))
            continue

        stored_rev = cur["revision"] or 0
        differs = any(cur[k] != v for k, v in fields.items())
        if item.revision is not None and item.revision < stored_rev:
            results.append(RecordResult(item.index, item.call_id, "stale"))
            continue
        if item.revision is not None and item.revision == stored_rev and differs:
            reject(
                item,
                [
                    {
                        "field": "revision",
                        "reason": f"revision {item.revision} is stored with other content",
                    }
                ],
            )
            continue
        if not differs:
            if item.revision is not None and item.revision > stored_rev:
                cur["revision"] = item.revision
                dirty.add(key)
            results.append(RecordResult(item.index, item.call_id, "duplicate"))
            continue

        new = {**cur, **fields}
        errs = consistency_errors(new)
        if errs:
            reject(item, errs)
            continue
        if item.revision is not None:
            new["revision"] = item.revision
        new["updated_at"] = now
        place(new)
        _add(deltas, (cur["rep_id"], cur["local_day"], cur["local_hour"]), contribution(cur), -1)
        _add(deltas, (new["rep_id"], new["local_day"], new["local_hour"]), contribution(new), 1)
        for r in (cur, new):
            if r["customer_key"]:
                lead_keys.add((r["rep_id"], r["local_day"], r["customer_key"]))
        state[key] = new
        dirty.add(key)
        results.append(RecordResult(item.index, item.call_id, "updated"))

    _write_calls(conn, state, new_keys, dirty - new_keys)
    if lead_keys:
        _apply_lead_changes(conn, lead_keys, deltas)
    changed = _apply_deltas(conn, deltas)
    if rejects:
        conn.execute(REJECT.insert(), rejects)
    results.sort(key=lambda r: r.index)
    return BatchOutcome(results, changed)


def _write_calls(conn, state, new_keys, updated_keys) -> None:
    if new_keys:
        rows = [{k: v for k, v in state[k].items() if k != "id"} for k in new_keys]
        for chunk in _chunks(rows, 1000):
            conn.execute(CALL.insert(), list(chunk))
    if updated_keys:
        cols = [*_STORED_CONTENT, "revision", "local_day", "local_hour", "updated_at"]
        stmt = (
            CALL.update()
            .where(CALL.c.id == sa.bindparam("_id"))
            .values({c: sa.bindparam(c) for c in cols})
        )
        rows = [{"_id": state[k]["id"], **{c: state[k][c] for c in cols}} for k in updated_keys]
        conn.execute(stmt, rows)


def _apply_lead_changes(conn, lead_keys: set[LeadKey], deltas: dict[Cell, list[int]]) -> None:
    """Recount the first dial / first connect hour of each touched (rep, day, customer)."""
    keys = sorted(lead_keys)
    fresh: dict[LeadKey, tuple[int, int | None]] = {}
    stored: dict[LeadKey, tuple[int, int | None]] = {}
    connected_hour = sa.case((CALL.c.disposition == "answered", CALL.c.local_hour))
    for chunk in _chunks(keys):
        q = (
            sa.select(
                CALL.c.rep_id,
                CALL.c.local_day,
                CALL.c.customer_key,
                sa.func.min(CALL.c.local_hour),
                sa.func.min(connected_hour),
            )
            .where(sa.tuple_(CALL.c.rep_id, CALL.c.local_day, CALL.c.customer_key).in_(chunk))
            .group_by(CALL.c.rep_id, CALL.c.local_day, CALL.c.customer_key)
        )
        for rep_id, day, ckey, fd, fc in conn.execute(q):
            fresh[(rep_id, day, ckey)] = (fd, fc)
        q = sa.select(LEAD).where(
            sa.tuple_(LEAD.c.rep_id, LEAD.c.day, LEAD.c.customer_key).in_(chunk)
        )
        for row in conn.execute(q).mappings():
            key = (row["rep_id"], row["day"], row["customer_key"])
            stored[key] = (row["first_dial_hour"], row["first_connect_hour"])

    i_ld, i_lc = METRICS.index("leads_dialled"), METRICS.index("leads_connected")
    upserts, deletes = [], []

    def bump(rep_id: int, day: date, hour: int, idx: int, sign: int) -> None:
        acc = deltas.setdefault((rep_id, day, hour), [0] * len(METRICS))
        acc[idx] += sign

    for key in keys:
        old, new = stored.get(key), fresh.get(key)
        if old == new:
            continue
        rep_id, day, ckey = key
        if old:
            bump(rep_id, day, old[0], i_ld, -1)
            if old[1] is not None:
                bump(rep_id, day, old[1], i_lc, -1)
        if new:
            bump(rep_id, day, new[0], i_ld, 1)
            if new[1] is not None:
                bump(rep_id, day, new[1], i_lc, 1)
            upserts.append(
                {
                    "rep_id": rep_id,
                    "day": day,
                    "customer_key": ckey,
                    "first_dial_hour": new[0],
                    "first_connect_hour": new[1],
                }
            )
        else:
            deletes.append({"r": rep_id, "d": day, "k": ckey})
    if upserts:
        stmt = _insert(conn, LEAD)
        stmt = stmt.on_conflict_do_update(
            index_elements=["rep_id", "day", "customer_key"],
            set_={
                "first_dial_hour": stmt.excluded.first_dial_hour,
                "first_connect_hour": stmt.excluded.first_connect_hour,
            },
        )
        conn.execute(stmt, upserts)
    if deletes:
        conn.execute(
            LEAD.delete().where(
                LEAD.c.rep_id == sa.bindparam("r"),
                LEAD.c.day == sa.bindparam("d"),
                LEAD.c.customer_key == sa.bindparam("k"),
            ),
            deletes,
        )


def _apply_deltas(conn: sa.Connection, deltas: dict[Cell, list[int]]) -> set[Cell]:
    """Add each cell's delta to hourly_total atomically; cells in key order to avoid deadlocks."""
    rows = []
    for cell in sorted(deltas):
        vals = deltas[cell]
        if any(vals):
            rows.append(
                {
                    "rep_id": cell[0],
                    "day": cell[1],
                    "hour": cell[2],
                    **dict(zip(METRICS, vals, strict=True)),
                }
            )
    if not rows:
        return set()
    stmt = _insert(conn, TOTAL)
    stmt = stmt.on_conflict_do_update(
        index_elements=["rep_id", "day", "hour"],
        set_={m: TOTAL.c[m] + stmt.excluded[m] for m in METRICS},
    )
    conn.execute(stmt, rows)
    return {(r["rep_id"], r["day"], r["hour"]) for r in rows}
