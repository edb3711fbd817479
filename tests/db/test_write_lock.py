"""A writer behind another process's stream of transactions gets in at the first gap."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import sqlalchemy as sa

from app.db import make_engine, writer
from tests.conftest import sqlite_db

HOLD, GAP, ROUNDS = 0.15, 0.005, 8


def _stream_of_transactions(path: str, started: threading.Event, done: threading.Event) -> None:
    """What an import does: hold the write lock for HOLD, let go for GAP, again and again."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        for _ in range(ROUNDS):
            conn.execute("BEGIN IMMEDIATE")
            started.set()
            time.sleep(HOLD)
            conn.execute("COMMIT")
            time.sleep(GAP)
    finally:
        conn.close()
        done.set()


def test_a_writer_behind_a_stream_of_transactions_gets_the_lock_at_its_first_gaps(
    sqlite_template: Path, tmp_path: Path
):
    url = sqlite_db(sqlite_template, tmp_path)
    engine = make_engine(url)
    started, done = threading.Event(), threading.Event()
    other = threading.Thread(
        target=_stream_of_transactions, args=(url.removeprefix("sqlite:///"), started, done)
    )
    other.start()
    try:
        started.wait(5)
        t0 = time.monotonic()
        with writer(engine).begin() as conn:
            waited = time.monotonic() - t0
            conn.execute(sa.text("SELECT 1"))
        # SQLite's own busy handler sleeps up to 100 ms between tries and misses 5 ms gaps:
        # it waited out the whole stream. Polling takes one of the first gaps.
        assert not done.is_set()
        assert waited < 3 * (HOLD + GAP)
    finally:
        other.join()
        engine.dispose()
