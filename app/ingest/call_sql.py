"""The per-call rules as SQL over any table with the call's columns (``call`` itself, or the
bulk path's staging table): one definition for the recount and the set-based ingest."""

from __future__ import annotations

import sqlalchemy as sa

from app.floor.metrics import CALL_METRICS


def contributions(t: sa.Table) -> dict[str, sa.ColumnElement]:
    """What each row of ``t`` counts for, per metric: :func:`app.floor.metrics.contribution`."""
    answered = t.c.disposition == "answered"
    outbound = t.c.direction == "outbound"
    inbound = t.c.direction == "inbound"
    sale = t.c.outcome == "sale"
    zero = sa.literal(0)

    def count(cond, value=sa.literal(1)):
        return sa.case((cond, value), else_=zero)

    out = {
        "dials": count(outbound),
        "connects": count(sa.and_(outbound, answered)),
        "talk_seconds": count(sa.and_(answered, outbound | inbound), t.c.talk_seconds),
        "orders": count(sale),
        "invites": count(t.c.outcome == "invite"),
        "revenue": count(sale, t.c.order_value),
        "inbound_calls": count(inbound),
        "inbound_connects": count(sa.and_(inbound, answered)),
        "connect_orders": count(sa.and_(sale, outbound, answered)),
    }
    assert tuple(out) == CALL_METRICS
    return out


def counts_as_lead(t: sa.Table) -> sa.ColumnElement[bool]:
    """:func:`app.floor.metrics.counts_as_lead`: an outbound call to a known customer."""
    return sa.and_(t.c.direction == "outbound", t.c.customer_key.is_not(None))


def first_hours(t: sa.Table) -> tuple[sa.ColumnElement, sa.ColumnElement]:
    """A lead's first-dial and first-connect hour, as aggregates over its calls in ``t``."""
    answered = t.c.disposition == "answered"
    return (
        sa.func.min(t.c.local_hour).label("first_dial_hour"),
        sa.func.min(sa.case((answered, t.c.local_hour))).label("first_connect_hour"),
    )


def earlier_hour(a: sa.ColumnElement, b: sa.ColumnElement) -> sa.ColumnElement:
    """:func:`app.floor.leads.earlier_hour` in SQL: the earlier of two first hours, NULL being
    "not yet" (the merge of a lead's stored first hours with a batch's)."""
    return sa.case((b.is_(None), a), (sa.or_(a.is_(None), b <= a), b), else_=a)


def leads_of(t: sa.Table) -> sa.Select:
    """(rep, local day, customer, first-dial hour, first-connect hour) of the leads in ``t``:
    the distinct-lead query, shared by the recount and the bulk path."""
    return (
        sa.select(t.c.rep_id, t.c.local_day, t.c.customer_key, *first_hours(t))
        .where(counts_as_lead(t))
        .group_by(t.c.rep_id, t.c.local_day, t.c.customer_key)
    )
