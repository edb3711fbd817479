"""Crash safety for real: a server killed with SIGKILL while clients post keeps every
acknowledged record, its totals agree with its calls, and clients retrying afterwards get
duplicates, never double counts (on SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from app.db import make_engine
from app.models import Call
from tests.conftest import call_count, record, totals

pytestmark = pytest.mark.e2e

CLIENTS = 8
KILL_AFTER_ACKS = 40  # acknowledged requests before the kill: well into the stream
REPS = [f"90{n:02d}" for n in range(12)]
SOURCE = "pbx"


@dataclass
class Request:
    """One POST a client made: its records and what it got back (None: no answer)."""

    records: list[dict[str, Any]]
    status: int | None = None
    body: dict[str, Any] | None = None
    error: str | None = None
    ids: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.ids = [r["call_id"] for r in self.records]


def _records(client: int, n: int, size: int) -> list[dict[str, Any]]:
    base = datetime.now(UTC) - timedelta(hours=1)
    return [
        record(
            f"c{client}-r{n}-{i}",
            rep=REPS[(client + n + i) % len(REPS)],
            started_at=(base + timedelta(seconds=(n * 61 + i * 7) % 3000)).isoformat(),
            disposition="answered" if i % 3 else "no_answer",
            talk_seconds=30 + i,
            customer=f"1390000{(client * 1000 + n * 50 + i) % 9973:04d}",
        )
        for i in range(size)
    ]


def _post(http: httpx.Client, token: str, req: Request) -> None:
    try:
        resp = http.post(
            "/api/v1/calls", json=req.records, headers={"Authorization": f"Bearer {token}"}
        )
    except httpx.HTTPError as exc:
        req.error = type(exc).__name__
        return
    req.status = resp.status_code
    if resp.status_code == 200:
        req.body = resp.json()


def _stored_ids(db_url: str, ids: list[str]) -> set[str]:
    engine = make_engine(db_url)
    try:
        c = Call.__table__.c
        found: set[str] = set()
        with engine.connect() as conn:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                q = sa.select(c.external_id).where(c.source == SOURCE, c.external_id.in_(chunk))
                found.update(conn.execute(q).scalars())
        return found
    finally:
        engine.dispose()


def test_sigkill_mid_stream_loses_no_acknowledged_record_and_retries_are_duplicates(
    live_server, db_url
):
    live_server.start()
    live_server.enrol(REPS)
    made = live_server.cli(
        "token", "create", "--name", "pbx", "--scope", "ingest", "--source", SOURCE
    )
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip().splitlines()[-1]

    requests: list[Request] = []
    lock = threading.Lock()
    acked = threading.Semaphore(0)
    killed = threading.Event()
    sent_at: list[float | None] = [None] * CLIENTS  # when each client's open request went out

    def client(k: int, http: httpx.Client) -> None:
        n = 0
        while not killed.is_set():
            # Mostly batches of 50, every fourth request a single record.
            req = Request(_records(k, n, 1 if n % 4 == 3 else 50))
            n += 1
            with lock:
                requests.append(req)
                sent_at[k] = time.monotonic()
            _post(http, token, req)
            with lock:
                sent_at[k] = None
            if req.status == 200:
                acked.release()
            elif req.status is not None:
                return  # an answer that is not 200 before the kill: the assertions below say so

    https = [httpx.Client(base_url=live_server.url, timeout=15) for _ in range(CLIENTS)]
    threads = [
        threading.Thread(target=client, args=(k, https[k]), daemon=True) for k in range(CLIENTS)
    ]
    started = time.monotonic()
    for t in threads:
        t.start()
    for _ in range(KILL_AFTER_ACKS):
        assert acked.acquire(timeout=20), "the server stopped acknowledging before the kill"
    # Answers come in groups (group commit), so wait for a moment when most clients have had a
    # request out for a few milliseconds (on the wire, not yet answered), then kill.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        now = time.monotonic()
        with lock:
            waiting = sum(1 for t in sent_at if t is not None and now - t > 0.005)
        if waiting >= CLIENTS // 2:
            break
        time.sleep(0.0005)
    pid = live_server.proc.pid
    os.kill(pid, signal.SIGKILL)
    killed.set()
    live_server.proc.wait(10)
    for t in threads:
        t.join(20)
        assert not t.is_alive(), "a client hung on a killed server"

    ok = [r for r in requests if r.status == 200]
    unanswered = [r for r in requests if r.status is None]
    assert not [r for r in requests if r.status not in (200, None)], [
        (r.status, r.body) for r in requests if r.status not in (200, None)
    ]
    assert len(ok) >= KILL_AFTER_ACKS
    # The kill landed mid-stream: requests were on the wire and never answered.
    in_flight = [r for r in unanswered if r.error != "ConnectError"]
    assert in_flight, [r.error for r in unanswered]
    for r in ok:
        assert r.body["rejected"] == 0 and r.body["created"] == len(r.ids), r.body

    # Restart on the same database: every acknowledged record is there, totals agree.
    live_server.start()
    acked_ids = [i for r in ok for i in r.ids]
    stored = _stored_ids(db_url, acked_ids)
    missing = set(acked_ids) - stored
    assert not missing, f"{len(missing)} acknowledged records lost, e.g. {sorted(missing)[:5]}"
    check = live_server.cli("rebuild-totals", "--check")
    assert check.returncode == 0, check.stdout + check.stderr
    unanswered_ids = [i for r in unanswered for i in r.ids]
    committed_unanswered = len(_stored_ids(db_url, unanswered_ids))

    # Clients retry everything unanswered, and re-send some acknowledged requests.
    resent_ok = ok[:: max(1, len(ok) // 10)]
    retries = [Request(r.records) for r in unanswered + resent_ok]
    retry_threads = [
        threading.Thread(
            target=lambda part, http: [_post(http, token, q) for q in part],
            args=(retries[k::CLIENTS], https[k]),
        )
        for k in range(CLIENTS)
    ]
    for t in retry_threads:
        t.start()
    for t in retry_threads:
        t.join(60)
    assert [r.status for r in retries] == [200] * len(retries), [
        (r.status, r.error) for r in retries if r.status != 200
    ]
    statuses: dict[str, str] = {}
    for r in retries:
        for result in r.body["results"]:
            statuses[result["call_id"]] = result["status"]
    assert {statuses[i] for r in resent_ok for i in r.ids} == {"duplicate"}
    assert set(statuses.values()) <= {"created", "duplicate"}, set(statuses.values())
    duplicates_of_unanswered = sum(statuses[i] == "duplicate" for i in unanswered_ids)
    assert duplicates_of_unanswered == committed_unanswered

    distinct = {i for r in requests for i in r.ids}
    assert len(distinct) == sum(len(r.ids) for r in requests)  # ids are unique per request
    engine = make_engine(live_server.env["PACEBOARD_DATABASE_URL"])
    try:
        assert call_count(engine) == len(distinct)
        assert sum(d for d, _, _ in totals(engine).values()) == len(distinct)
    finally:
        engine.dispose()
    check = live_server.cli("rebuild-totals", "--check")
    assert check.returncode == 0, check.stdout + check.stderr
    for http in https:
        http.close()
    assert time.monotonic() - started < 60
