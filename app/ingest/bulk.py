"""The set-based path for large batches and imports, in the caller's transaction.

Python validates, resolves and places each record (a reject still names its field and reason);
the database does the set work. The batch is staged (``COPY`` on PostgreSQL, ``executemany``
into a temporary table on SQLite), matched to the stored calls in one join and judged there by
the same revision rule as the per-record path (:func:`app.ingest.service.verdict`); the new
calls are inserted, and the hourly totals, the distinct leads and the last dials move, each by
one grouped statement.

Two kinds of record go through the per-record path (:func:`app.ingest.service.apply_each`) in
the same transaction, so both paths share one definition of the merge: keys posted more than
once in the batch (their order decides which revision wins) and records that change a stored
call (an update, or a duplicate carrying a newer revision). An import of new calls, or a
re-import, never needs it.
"""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import Any

import sqlalchemy as sa

from app.floor.metrics import CALL_METRICS
from app.ingest.call_sql import contributions, earlier_hour, leads_of
from app.ingest.records import CONTENT_FIELDS, CREATE_DEFAULTS, Incoming, Invalid
from app.ingest.service import (
    CALL,
    LEAD,
    REJECT,
    STORED_CONTENT,
    TOTAL,
    Agent,
    BatchOptions,
    BatchOutcome,
    Cell,
    RecordResult,
    Sale,
    Verdict,
    apply_each,
    call_event,
    conflict_error,
    consistency_errors,
    count_unresolved,
    in_progress,
    not_on_roster,
    reject_row,
    rep_timezones,
    resolve_agents,
    store_call_states,
    verdict,
)
from app.ingest.sql import INSERT_COLS, insert_for, load_rows, lock_leads_of, temp_table
from app.models import METRICS, RepActivity, table_of

ACTIVITY = table_of(RepActivity)
_META = sa.MetaData()

#: One staged record: its position in the batch, identity, content as stored, local day and
#: hour, which content fields it carried (a bit each, in STORED_CONTENT order) and ``new``
#: (1 until the join finds its call stored, 0 too when it failed a cross-field check).
STAGE = temp_table(
    "call_stage",
    _META,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("source", CALL.c.source.type),
    sa.Column("external_id", CALL.c.external_id.type),
    sa.Column("revision", CALL.c.revision.type),
    *(sa.Column(name, CALL.c[name].type) for name in STORED_CONTENT),
    sa.Column("local_day", CALL.c.local_day.type),
    sa.Column("local_hour", CALL.c.local_hour.type),
    sa.Column("carried", sa.Integer),
    sa.Column("new", sa.Integer),
)
_STAGE_COLS = [c.name for c in STAGE.columns]
#: The positions of the date and time values in a staged row (converted to text on SQLite).
_STAGE_TEMPORAL = [
    _STAGE_COLS.index(c) for c in ("started_at", "answered_at", "ended_at", "local_day")
]
_BIT = {f: 1 << i for i, f in enumerate(CONTENT_FIELDS)}
_CONTENT_OF = operator.itemgetter(*STORED_CONTENT)
assert [("rep_id" if f == "rep" else f) for f in _BIT] == list(STORED_CONTENT)

#: The leads the batch's new calls touch: their first hours in the batch (``nfd``/``nfc``),
#: as stored (``ofd``/``ofc``; ``has_old`` when a row exists) and merged (``mfd``/``mfc``).
LEAD_STAGE = temp_table(
    "lead_stage",
    _META,
    sa.Column("rep_id", sa.Integer),
    sa.Column("day", LEAD.c.day.type),
    sa.Column("customer_key", LEAD.c.customer_key.type),
    *(sa.Column(c, sa.Integer) for c in ("nfd", "nfc", "ofd", "ofc", "has_old", "mfd", "mfc")),
)


@dataclass
class _Plan:
    """The batch sorted by where each record goes, by position in ``items``."""

    staged: list[tuple[Any, ...]] = field(default_factory=list)
    #: position -> (item, its merged row, its agent) of each staged record
    rows: dict[int, tuple[Incoming, dict[str, Any], Agent]] = field(default_factory=dict)
    #: position -> its cross-field errors (refused if it creates a call)
    errors: dict[int, list[dict[str, str]]] = field(default_factory=dict)
    rejected: dict[int, list[dict[str, str]]] = field(default_factory=dict)
    each: list[int] = field(default_factory=list)  # positions for the per-record path


def apply_bulk(
    conn: sa.Connection, items: Sequence[Incoming | Invalid], opts: BatchOptions
) -> BatchOutcome:
    """Store ``items`` set-wise; the same results and stored rows as the per-record path."""
    plan = _plan(conn, items, opts)
    judged: dict[int, Verdict] = {}
    changed: set[Cell] = set()
    if plan.staged:
        _stage(conn, plan.staged)
        judged = _judge(conn, plan, items)
        changed = _apply_sets(conn, opts.now)
    parts = _sort_judged(plan, judged)
    made = _created(conn, plan, parts.created, opts)
    kept = _keep_rejects(conn, items, parts.rejected, opts)
    merged = _merge_each(conn, items, parts.each, opts)
    by_pos = {
        **parts.settled,
        **dict(zip(parts.created, made.results, strict=True)),
        **kept,
        **dict(zip(parts.each, merged.results, strict=True)),
    }
    return _joined([by_pos[pos] for pos in range(len(items))], changed, made, merged)


@dataclass(frozen=True)
class _Parts:
    """Where each record of the batch ends up once the staged ones are judged, by position."""

    settled: dict[int, RecordResult]  # stale or duplicate: nothing to write
    created: list[int]  # new calls, inserted by the set statements
    rejected: dict[int, list[dict[str, str]]]
    each: list[int]  # for the per-record path, in batch order


def _sort_judged(plan: _Plan, judged: dict[int, Verdict]) -> _Parts:
    """Sort the batch by what each record needs, given the staged records' verdicts."""
    settled: dict[int, RecordResult] = {}
    rejected = dict(plan.rejected)
    each = list(plan.each)
    for pos, status in judged.items():
        item = plan.rows[pos][0]  # a staged record
        if status == "conflict":
            rejected[pos] = [conflict_error(item.revision)]
        elif status in ("stale", "duplicate"):
            settled[pos] = RecordResult(item.index, item.call_id, status)
        else:
            each.append(pos)
    created = []
    for pos in plan.rows:
        if pos not in judged:
            if pos in plan.errors:
                rejected[pos] = plan.errors[pos]
            else:
                created.append(pos)
    return _Parts(settled, created, rejected, sorted(each))


def _joined(
    results: list[RecordResult], changed: set[Cell], made: BatchOutcome, merged: BatchOutcome
) -> BatchOutcome:
    """The batch's outcome: the set path's and the per-record path's, added up."""
    unresolved = dict(made.unresolved)
    for code, n in merged.unresolved.items():
        unresolved[code] = unresolved.get(code, 0) + n
    return BatchOutcome(
        results,
        changed | made.changed_cells | merged.changed_cells,
        unresolved,
        made.touched | merged.touched,
        made.sales + merged.sales,
        made.states | merged.states,
    )


def _plan(conn: sa.Connection, items: Sequence[Incoming | Invalid], opts: BatchOptions) -> _Plan:
    """Sort the batch: rejects, records for the per-record path, and staged rows."""
    ctx, now, strict_agents = opts.ctx, opts.now, opts.strict_agents
    plan = _Plan()
    valid = [it for it in items if isinstance(it, Incoming)]
    agents = resolve_agents(conn, valid, now, ctx.hasher, create=not strict_agents)
    tzs = rep_timezones(conn, {a.rep_id for a in agents.values()}, ctx.default_tz)
    repeats = Counter((it.source, it.call_id) for it in valid)
    bits: dict[tuple[str, ...], int] = {}  # a batch's records carry few sets of fields
    for pos, item in enumerate(items):
        if isinstance(item, Invalid):
            plan.rejected[pos] = item.errors
            continue
        fields = item.fields
        agent = agents.get(id(item))
        if agent is None or "started_at" not in fields or "disposition" not in fields:
            plan.each.append(pos)  # cannot create a call: the per-record path says why
            continue
        if agent.unresolved is not None and strict_agents:
            plan.rejected[pos] = [not_on_roster(item, agent)]
            continue
        if repeats[(item.source, item.call_id)] > 1:
            plan.each.append(pos)
            continue
        row = {**CREATE_DEFAULTS, **fields}
        del row["rep"]
        row["rep_id"] = agent.rep_id
        errs = consistency_errors(row, now, ctx.max_future)
        if errs:
            plan.errors[pos] = errs
        local = row["started_at"].astimezone(tzs[agent.rep_id])
        row["local_day"], row["local_hour"] = local.date(), local.hour
        plan.rows[pos] = (item, row, agent)
        shape = tuple(fields)
        carried = bits.get(shape)
        if carried is None:
            carried = bits[shape] = sum(_BIT[name] for name in shape)
        plan.staged.append(
            (
                pos,
                item.source,
                item.call_id,
                item.revision,
                *_CONTENT_OF(row),
                row["local_day"],
                row["local_hour"],
                carried,
                0 if errs else 1,
            )
        )
    return plan


def _stage(conn: sa.Connection, rows: list[tuple[Any, ...]]) -> None:
    """Load the staged rows into the (per-session) staging table."""
    for table in (STAGE, LEAD_STAGE):
        conn.execute(sa.schema.CreateTable(table, if_not_exists=True))
    load_rows(conn, STAGE, rows, _STAGE_TEMPORAL)


def _differs() -> sa.ColumnElement[bool]:
    """Whether a staged record's carried fields differ from its stored call's."""
    return sa.or_(
        *(
            sa.and_(
                STAGE.c.carried.op("&")(_BIT[f]) != 0,
                CALL.c[name].is_distinct_from(STAGE.c[name]),
            )
            for f, name in zip(CONTENT_FIELDS, STORED_CONTENT, strict=True)
        )
    )


def _judge(
    conn: sa.Connection, plan: _Plan, items: Sequence[Incoming | Invalid]
) -> dict[int, Verdict]:
    """Each staged record whose call is stored, by position: its verdict. Those records are
    no longer new."""
    sql = _statements(conn.dialect.name)
    judged = {
        pos: verdict(items[pos].revision, stored, bool(differs))
        for pos, stored, differs in conn.execute(sql.matched)
    }
    if judged:
        conn.execute(sql.not_new, [{"pos": pos} for pos in sorted(judged)])
    return judged


def _apply_sets(conn: sa.Connection, now: datetime) -> set[Cell]:
    """Insert the new calls; move the leads, the hourly totals and the last dials they touch.
    The cells whose totals changed."""
    sql = _statements(conn.dialect.name)
    conn.execute(sql.insert_calls, {"now": now})
    # Another writer may be counting the same lead: wait for it before reading its row.
    lock_leads_of(conn, sql.lead_keys)
    conn.execute(sql.stage_leads)
    conn.execute(sql.write_leads)
    changed = {(r, d, h) for r, d, h in conn.execute(sql.totals)}
    conn.execute(sql.activity)
    # One transaction may hold several batches (a group commit): each starts empty.
    conn.execute(sql.clear_calls)
    conn.execute(sql.clear_leads)
    return changed


@dataclass(frozen=True)
class _Statements:
    """The bulk path's statements for one dialect, built once."""

    matched: sa.Select
    not_new: sa.Update
    insert_calls: sa.Insert
    lead_keys: sa.Select
    stage_leads: sa.Insert
    write_leads: sa.Insert
    totals: sa.Insert
    activity: sa.Insert
    clear_calls: sa.Delete
    clear_leads: sa.Delete


@cache
def _statements(dialect: str) -> _Statements:
    new_leads = leads_of(STAGE).where(STAGE.c.new == 1).subquery()
    return _Statements(
        matched=sa.select(STAGE.c.seq, CALL.c.revision, _differs()).select_from(
            STAGE.join(
                CALL,
                sa.and_(CALL.c.source == STAGE.c.source, CALL.c.external_id == STAGE.c.external_id),
            )
        ),
        not_new=STAGE.update().where(STAGE.c.seq == sa.bindparam("pos")).values(new=0),
        insert_calls=_insert_calls(),
        lead_keys=sa.select(*list(new_leads.c)[:3]),
        stage_leads=_stage_leads(new_leads),
        write_leads=_write_leads(dialect),
        totals=_totals(dialect),
        activity=_activity(dialect),
        clear_calls=STAGE.delete(),
        clear_leads=LEAD_STAGE.delete(),
    )


def _insert_calls() -> sa.Insert:
    """Insert the new calls, in batch order (``now``: their received and updated time)."""
    at = {c: sa.bindparam("now", type_=CALL.c[c].type) for c in ("received_at", "updated_at")}
    cols = [at[c] if c in at else STAGE.c[c] for c in INSERT_COLS]
    q = sa.select(*cols).where(STAGE.c.new == 1).order_by(STAGE.c.seq)
    return CALL.insert().from_select(INSERT_COLS, q)


def _stage_leads(new: sa.Subquery) -> sa.Insert:
    """Stage each lead the new calls touch with its first hours: in the batch, stored, merged."""
    rep, day, ckey, nfd, nfc = new.c
    has_old = LEAD.c.rep_id.is_not(None)
    ofd, ofc = LEAD.c.first_dial_hour, LEAD.c.first_connect_hour
    q = sa.select(
        rep,
        day,
        ckey,
        nfd,
        nfc,
        ofd,
        ofc,
        sa.case((has_old, 1), else_=0),
        earlier_hour(nfd, ofd),
        earlier_hour(nfc, ofc),
    ).select_from(
        new.outerjoin(
            LEAD, sa.and_(LEAD.c.rep_id == rep, LEAD.c.day == day, LEAD.c.customer_key == ckey)
        )
    )
    cols = ["rep_id", "day", "customer_key", "nfd", "nfc", "ofd", "ofc", "has_old", "mfd", "mfc"]
    return LEAD_STAGE.insert().from_select(cols, q)


def _write_leads(dialect: str) -> sa.Insert:
    """Store the merged first hours of each staged lead that moved (or is new)."""
    ls = LEAD_STAGE
    moved = sa.or_(ls.c.has_old == 0, ls.c.mfd != ls.c.ofd, ls.c.mfc.is_distinct_from(ls.c.ofc))
    q = (
        sa.select(ls.c.rep_id, ls.c.day, ls.c.customer_key, ls.c.mfd, ls.c.mfc)
        .where(moved)
        .order_by(ls.c.rep_id, ls.c.day, ls.c.customer_key)
    )
    cols = ["rep_id", "day", "customer_key", "first_dial_hour", "first_connect_hour"]
    ins = insert_for(dialect, LEAD)
    return ins.from_select(cols, q).on_conflict_do_update(
        index_elements=["rep_id", "day", "customer_key"],
        set_={
            "first_dial_hour": ins.excluded.first_dial_hour,
            "first_connect_hour": ins.excluded.first_connect_hour,
        },
    )


def _lead_moves() -> list[sa.Select]:
    """The leads-dialled and leads-connected counts each staged lead moves, a cell a row."""
    ls = LEAD_STAGE
    zeros: list[sa.ColumnElement[int]] = [sa.literal_column("0") for _ in CALL_METRICS]
    one, minus, none = (sa.literal_column(v, sa.Integer) for v in ("1", "-1", "0"))

    def move(hour, dialled, connected, where) -> sa.Select:
        return sa.select(ls.c.rep_id, ls.c.day, hour, *zeros, dialled, connected).where(where)

    fd_moved = sa.or_(ls.c.has_old == 0, ls.c.mfd != ls.c.ofd)
    fc_moved = sa.and_(ls.c.mfc.is_not(None), ls.c.mfc.is_distinct_from(ls.c.ofc))
    return [
        move(ls.c.mfd, one, none, fd_moved),
        move(ls.c.ofd, minus, none, sa.and_(ls.c.has_old == 1, ls.c.mfd != ls.c.ofd)),
        move(ls.c.mfc, none, one, fc_moved),
        move(ls.c.ofc, none, minus, sa.and_(ls.c.ofc.is_not(None), ls.c.mfc != ls.c.ofc)),
    ]


def _totals(dialect: str) -> sa.Insert:
    """Add the new calls' contributions and the leads' moves to the hourly totals, one upsert
    grouped by cell (in key order, as the per-record path); returns the cells it changed."""
    calls = sa.select(
        STAGE.c.rep_id,
        STAGE.c.local_day.label("day"),
        STAGE.c.local_hour.label("hour"),
        *(expr.label(m) for m, expr in contributions(STAGE).items()),
        sa.literal_column("0").label("leads_dialled"),
        sa.literal_column("0").label("leads_connected"),
    ).where(STAGE.c.new == 1)
    moves = sa.union_all(calls, *_lead_moves()).subquery()
    rep, day, hour, *values = moves.c
    sums = [sa.func.sum(v) for v in values]
    grouped = (
        sa.select(rep, day, hour, *sums)
        .group_by(rep, day, hour)
        .having(sa.or_(*(s != 0 for s in sums)))
        .order_by(rep, day, hour)
    )
    ins = insert_for(dialect, TOTAL)
    return (
        ins.from_select(["rep_id", "day", "hour", *METRICS], grouped)
        .on_conflict_do_update(
            index_elements=["rep_id", "day", "hour"],
            set_={m: TOTAL.c[m] + ins.excluded[m] for m in METRICS},
        )
        .returning(TOTAL.c.rep_id, TOTAL.c.day, TOTAL.c.hour)
    )


def _activity(dialect: str) -> sa.Insert:
    """Move each (rep, day)'s last dial forward to its latest new outbound call."""
    s = STAGE
    latest = (
        sa.select(s.c.rep_id, s.c.local_day, sa.func.max(s.c.started_at))
        .where(s.c.new == 1, s.c.direction == "outbound")
        .group_by(s.c.rep_id, s.c.local_day)
        .order_by(s.c.rep_id, s.c.local_day)
    )
    ins = insert_for(dialect, ACTIVITY)
    later = ins.excluded.last_dial_at > ACTIVITY.c.last_dial_at
    return ins.from_select(["rep_id", "day", "last_dial_at"], latest).on_conflict_do_update(
        index_elements=["rep_id", "day"],
        set_={
            "last_dial_at": sa.case(
                (later, ins.excluded.last_dial_at), else_=ACTIVITY.c.last_dial_at
            )
        },
    )


def _created(
    conn: sa.Connection, plan: _Plan, created: list[int], opts: BatchOptions
) -> BatchOutcome:
    """What the created calls did: their results (in ``created`` order), sales, last dials,
    states and agents."""
    results = []
    unresolved: dict[str, int] = {}
    touched: set[tuple[int, date]] = set()
    sales: list[Sale] = []
    in_call = []
    now = opts.now
    for pos in created:
        item, row, agent = plan.rows[pos]
        results.append(RecordResult(item.index, item.call_id, "created"))
        count_unresolved(unresolved, agent)
        if row["direction"] == "outbound":
            touched.add((row["rep_id"], row["local_day"]))
        if row["outcome"] == "sale":
            sales.append(Sale(row["rep_id"], row["local_day"], row["order_value"]))
        if in_progress(row, item.fields, now):
            row.update(source=item.source, external_id=item.call_id)
            in_call.append(call_event(row, "on_call", row["started_at"], "start"))
    states = store_call_states(conn, in_call, opts.ctx.default_tz, now)
    return BatchOutcome(results, set(), unresolved, touched, sales, states)


def _keep_rejects(
    conn: sa.Connection,
    items: Sequence[Incoming | Invalid],
    rejected: dict[int, list[dict[str, str]]],
    opts: BatchOptions,
) -> dict[int, RecordResult]:
    """Keep the rejected records; their results, by position."""
    results = {}
    rows = []
    for pos in sorted(rejected):
        item, errors = items[pos], rejected[pos]
        results[pos] = RecordResult(item.index, item.call_id, "rejected", errors)
        rows.append(reject_row(item, errors, opts.ctx.hasher, opts.now))
    if rows:
        conn.execute(REJECT.insert(), rows)
    return results


def _merge_each(
    conn: sa.Connection,
    items: Sequence[Incoming | Invalid],
    positions: list[int],
    opts: BatchOptions,
) -> BatchOutcome:
    """Store the records the set cannot decide (at ``positions``, in batch order) through the
    per-record path."""
    if not positions:
        return BatchOutcome([], set())
    return apply_each(conn, [items[p] for p in positions], opts)
