"""Two writers (two processes on one PostgreSQL) counting the same customer at once."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest

from app.db import writer
from app.ingest import rebuild
from app.ingest.batch import apply_batch
from app.ingest.records import CustomerHasher, parse_record
from app.ingest.service import IngestContext
from tests.conftest import PG_ONLY, enrol, record

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)


@PG_ONLY
@pytest.mark.parametrize(
    ("first_path", "second_path"), [("each", "each"), ("bulk", "bulk"), ("each", "bulk")]
)
def test_two_transactions_counting_the_same_new_lead_count_it_once(
    engine, settings, first_path, second_path
):
    """The second transaction reaches the lead while the first, which counted it, has not
    committed: it waits, then sees the lead as counted (leads_dialled 1, not 2)."""
    enrol(engine, {"r1"})
    hasher = CustomerHasher(settings.secret_key or "x" * 32, "86")
    ctx = IngestContext(settings.tz, hasher)
    bulk = {"each": False, "bulk": True}

    def items(call_id: str) -> list:
        rec = record(call_id, rep="r1", customer="13800000001")
        return [parse_record(rec, 0, default_source="t", hasher=hasher, minor_digits=2)]

    first_in, errors = threading.Event(), []

    def second() -> None:
        try:
            first_in.wait(10)
            with writer(engine).begin() as conn:
                apply_batch(conn, items("b"), ctx=ctx, now=NOW, bulk=bulk[second_path])
        except BaseException as exc:  # reported below
            errors.append(exc)

    thread = threading.Thread(target=second)
    thread.start()
    with writer(engine).begin() as conn:
        apply_batch(conn, items("a"), ctx=ctx, now=NOW, bulk=bulk[first_path])
        first_in.set()
        time.sleep(0.5)  # the second transaction runs meanwhile, up to where it must wait
    thread.join(10)
    assert not errors, errors
    with engine.connect() as conn:
        assert rebuild.check(conn) == []
        cells = rebuild.stored(conn).values()
    assert sum(v[rebuild.METRICS.index("leads_dialled")] for v in cells) == 1
