"""Group commit: concurrent requests share transactions, and a request is never half-stored."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

import app.ingest.writer as writer_module
from tests.conftest import enrol, record


def hold_until_queued(writer, jobs: int, limit: float = 10.0) -> None:
    """Block the writer's thread until ``jobs`` requests wait in its queue (or ``limit`` seconds
    pass). A fixed pause was not enough on a loaded machine: requests still on their way when it
    ended made groups of their own."""
    deadline = time.monotonic() + limit
    while writer._queue.qsize() < jobs and time.monotonic() < deadline:
        time.sleep(0.01)


def test_concurrent_posts_share_transactions_and_all_are_stored(api, monkeypatch):
    writer = api.client.app.state.writer
    real_commit = writer._commit
    first = threading.Event()

    def slow_first_commit(jobs):
        # Hold the first transaction open until the other requests have queued up behind it.
        if not first.is_set():
            first.set()
            hold_until_queued(writer, 19)
        return real_commit(jobs)

    monkeypatch.setattr(writer, "_commit", slow_first_commit)
    groups_before = writer.groups

    def post(n: int) -> dict:
        return api.post_calls([record(f"g{n}-{i}") for i in range(5)])

    with ThreadPoolExecutor(20) as pool:
        futures = [pool.submit(post, 0)]
        first.wait(5)
        futures += [pool.submit(post, n) for n in range(1, 20)]
        results = [f.result() for f in futures]
    assert all(r["created"] == 5 for r in results)
    assert api.rep_totals("1001")["dials"] == 100
    # 20 requests: the held first one, then (nearly) all the rest in one transaction.
    assert writer.groups - groups_before <= 3


def test_a_failing_request_is_not_stored_at_all_and_does_not_sink_its_group(api, monkeypatch):
    real_apply = writer_module.apply_batch

    def apply_then_fail_on_boom(conn, items, **kw):
        outcome = real_apply(conn, items, **kw)  # rows written inside the transaction...
        if any(getattr(it, "call_id", None) == "boom" for it in items):
            # ...then the storage fails before commit (a transient fault: "send it again")
            raise sa.exc.OperationalError("COMMIT", {}, Exception("database or disk is full"))
        return outcome

    monkeypatch.setattr(writer_module, "apply_batch", apply_then_fail_on_boom)
    enrol(api.engine, {"1001"})
    with ThreadPoolExecutor(8) as pool:
        bad = pool.submit(
            api.client.post,
            "/api/v1/calls",
            json=[record("ok-in-bad-request"), record("boom")],
            headers=api.auth(api.ingest),
        )
        good = [pool.submit(api.post_calls, [record(f"fine-{n}")]) for n in range(6)]
        assert all(g.result()["created"] == 1 for g in good)
        resp = bad.result()
    assert resp.status_code == 503 and "send it again" in resp.json()["detail"]
    assert api.rep_totals("1001")["dials"] == 6  # nothing of the failed request
    monkeypatch.setattr(writer_module, "apply_batch", real_apply)
    # The client resends the whole request, as the 503 told it to: now it all lands.
    again = api.post_calls([record("ok-in-bad-request"), record("boom")])
    assert again["created"] == 2 and api.rep_totals("1001")["dials"] == 8


def test_folded_requests_keep_their_own_result_numbering_and_count_shared_calls_once(
    api, monkeypatch
):
    writer = api.client.app.state.writer
    real_commit = writer._commit
    first = threading.Event()
    sizes: list[int] = []

    def slow_first_commit(jobs):
        sizes.append(len(jobs))
        if not first.is_set():
            first.set()
            hold_until_queued(writer, 11)
        return real_commit(jobs)

    monkeypatch.setattr(writer, "_commit", slow_first_commit)

    # Each request's own call is another rep's: the folded group's items share index numbers,
    # and each must keep its own rep.
    enrol(api.engine, {"1001", *(f"r{n}" for n in range(12))})

    def post(n: int) -> dict:
        bad = {**record(f"bad-{n}"), "disposition": "maybe"}
        # Every request also carries the same shared call: one creates it, the rest see duplicates.
        return api.post_calls([record(f"own-{n}", rep=f"r{n}"), bad, record("shared")])

    with ThreadPoolExecutor(12) as pool:
        futures = [pool.submit(post, 0)]
        first.wait(5)
        futures += [pool.submit(post, n) for n in range(1, 12)]
        results = [f.result() for f in futures]
    assert max(sizes) > 1, "the requests were never folded into one group"
    for n, r in enumerate(results):
        assert [x["index"] for x in r["results"]] == [0, 1, 2]
        assert [x["call_id"] for x in r["results"]] == [f"own-{n}", f"bad-{n}", "shared"]
        assert r["results"][1]["errors"][0]["field"] == "disposition"
    statuses = sorted(r["results"][2]["status"] for r in results)
    assert statuses == ["created"] + ["duplicate"] * 11
    assert api.rep_totals("1001")["dials"] == 1
    assert all(api.rep_totals(f"r{n}")["dials"] == 1 for n in range(12))


def test_a_record_the_database_cannot_hold_is_rejected_alone_and_the_rest_stored(api, monkeypatch):
    real_apply = writer_module.apply_batch

    def refuse_poison(conn, items, **kw):
        outcome = real_apply(conn, items, **kw)
        # The stored call's totals are what overflow; the kept reject is no call.
        if any(it.call_id == "poison" and hasattr(it, "fields") for it in items):
            raise sa.exc.DataError("INSERT", {}, Exception("bigint out of range: 13800138000"))
        return outcome

    monkeypatch.setattr(writer_module, "apply_batch", refuse_poison)
    body = [record(f"fine-{n}") for n in range(5)]
    body.insert(3, record("poison"))
    res = api.post_calls(body)
    assert [r["status"] for r in res["results"]] == ["created"] * 3 + ["rejected"] + ["created"] * 2
    why = res["results"][3]["errors"][0]
    assert why["field"] == "record" and "out of the range" in why["reason"]
    assert "13800138000" not in str(res)
    assert api.rep_totals("1001")["dials"] == 5
    # Kept with the rejects, like any other rejected record.
    with api.engine.connect() as conn:
        kept = conn.execute(sa.text("SELECT call_id, errors FROM ingest_reject")).all()
    assert [k[0] for k in kept] == ["poison"] and "13800138000" not in kept[0][1]
