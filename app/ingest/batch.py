"""One way in for storing call records: the per-record path for small batches and corrections,
the set-based path (:mod:`app.ingest.bulk`) for large batches and imports."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from app.ingest.bulk import apply_bulk
from app.ingest.records import Incoming, Invalid
from app.ingest.service import BatchOptions, BatchOutcome, IngestContext, apply_each


def apply_batch(
    conn: sa.Connection,
    items: Sequence[Incoming | Invalid],
    *,
    ctx: IngestContext,
    now: datetime,
    require_existing: bool = False,
    strict_agents: bool = False,
    bulk: bool | None = None,
) -> BatchOutcome:
    """Store ``items`` in order in the caller's transaction; one result per item, in input order.

    ``require_existing`` (PATCH) answers ``not_found`` instead of creating a call;
    ``strict_agents`` rejects a record whose agent is not on the roster instead of keeping it
    under an unresolved agent. ``bulk`` chooses the set-based path; None: batches of
    ``ctx.bulk_from`` records or more take it. Both paths give the same results and rows.
    """
    if bulk is None:
        bulk = len(items) >= ctx.bulk_from
    opts = BatchOptions(ctx, now, require_existing, strict_agents)
    if bulk and not require_existing:
        return apply_bulk(conn, items, opts)
    return apply_each(conn, items, opts)
