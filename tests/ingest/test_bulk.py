"""Which path a batch takes: the set-based one for large batches and imports, the per-record
one for small batches and corrections (the two store alike: tests/ingest/test_properties.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app.db import writer
from app.ingest import batch, rebuild
from app.ingest.importer import import_file, import_transaction
from app.ingest.records import CustomerHasher, parse_record
from app.ingest.service import IngestContext
from tests.conftest import SECRET, enrol, record

HASHER = CustomerHasher(SECRET)
CTX = IngestContext(default_tz=ZoneInfo("Asia/Shanghai"), hasher=HASHER, bulk_from=50)
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.fixture
def bulk_calls(monkeypatch) -> list[int]:
    """The size of each batch the set-based path stores (the path itself still runs)."""
    sizes: list[int] = []
    real = batch.apply_bulk

    def counted(conn, items, opts):
        sizes.append(len(items))
        return real(conn, items, opts)

    monkeypatch.setattr(batch, "apply_bulk", counted)
    return sizes


def _items(n: int, start: int = 0) -> list:
    recs = [record(f"c{i}", rep="r1", customer=f"1380000{i:04d}") for i in range(start, start + n)]
    return [
        parse_record(r, i, default_source="t", hasher=HASHER, minor_digits=2)
        for i, r in enumerate(recs)
    ]


def test_a_batch_of_bulk_from_records_takes_the_set_based_path_and_a_smaller_one_does_not(
    engine, bulk_calls
):
    enrol(engine, {"r1"})
    with writer(engine).begin() as conn:
        small = batch.apply_batch(conn, _items(49), ctx=CTX, now=NOW)
        large = batch.apply_batch(conn, _items(50, start=49), ctx=CTX, now=NOW)
        again = batch.apply_batch(conn, _items(99), ctx=CTX, now=NOW)
        patch = batch.apply_batch(conn, _items(60), ctx=CTX, now=NOW, require_existing=True)
    assert bulk_calls == [50, 99]  # a correction (require_existing) never goes set-wise
    assert {r.status for r in small.results + large.results} == {"created"}
    assert [r.index for r in large.results] == list(range(50))
    assert {r.status for r in again.results + patch.results} == {"duplicate"}
    with engine.connect() as conn:
        assert rebuild.check(conn) == []


def test_an_import_stores_every_batch_set_wise(engine, tmp_path: Path, bulk_calls):
    enrol(engine, {"r1"})
    path = tmp_path / "calls.csv"
    rows = [record(f"f{i}", rep="r1") for i in range(5)]
    path.write_text(
        "call_id,rep,started_at,disposition\n"
        + "".join(f"{r['call_id']},r1,{r['started_at']},{r['disposition']}\n" for r in rows)
    )
    out = import_file(
        path,
        engine=engine,
        ctx=CTX,
        fmt="csv",
        source="file",
        timezone=ZoneInfo("Asia/Shanghai"),
        rep_from=None,
        rejects_path=None,
        minor_digits=2,
    )
    assert out["created"] == 5
    assert bulk_calls == [5]  # five records: far below bulk_from, set-wise all the same


def _durability(conn) -> str:
    if conn.dialect.name == "postgresql":
        return conn.exec_driver_sql("SHOW synchronous_commit").scalar_one()
    return {1: "normal", 2: "full"}[conn.exec_driver_sql("PRAGMA synchronous").scalar_one()]


def test_an_import_commits_without_waiting_for_the_disk_and_the_api_still_waits(engine):
    """An import's batches commit unsynced (re-importing restores what a power cut lost); the
    connection goes back to the pool waiting again, as the API's answers promise."""
    with import_transaction(engine) as conn:
        assert _durability(conn) in ("normal", "off")
    for _ in range(3):  # whichever pooled connection comes next
        with writer(engine).begin() as conn:
            assert _durability(conn) in ("full", "on")
