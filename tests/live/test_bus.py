"""The bus between processes (app/live/bus.py) on each backend, with real PostgreSQL and Redis:
a message reaches the other process and not its sender, commits are coalesced, alerts are cut
to fit NOTIFY, and a dropped connection is survived: reconnect, then the hub is told to resync."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import orjson
import psycopg
import pytest
import redis.asyncio as aioredis
from sqlalchemy.engine import make_url

from app.config import Settings
from app.live import bus as bus_mod
from app.live.bus import MAX_PAYLOAD, Bus, channel_for, chunks, make_bus


class Ear:
    """What one bus heard: messages and reconnects."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.resyncs = 0

    def message(self, m: dict[str, Any]) -> None:
        self.messages.append(m)

    def resync(self) -> None:
        self.resyncs += 1


def pair(kind: str, database_url: str, redis_url: str = "") -> tuple[Bus, Ear, Bus, Ear]:
    ears = Ear(), Ear()
    buses = [
        make_bus(
            kind=kind,
            database_url=database_url,
            redis_url=redis_url,
            on_message=e.message,
            on_reconnect=e.resync,
        )
        for e in ears
    ]
    return buses[0], ears[0], buses[1], ears[1]


async def eventually(pred: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s")
        await asyncio.sleep(0.02)


async def exchange(a: Bus, b: Bus, ear_a: Ear, ear_b: Ear) -> None:
    """a says 'changed' and raises an alert; b hears both, a hears nothing of its own."""
    await eventually(lambda: a.connected and b.connected)
    a.changed()
    a.alerts([{"id": 1, "kind": "idle", "team": "一组", "rep": "a1"}])
    await eventually(lambda: len(ear_b.messages) >= 2)
    kinds = [m["kind"] for m in ear_b.messages]
    assert kinds == ["changed", "alerts"]
    assert ear_b.messages[1]["alerts"][0]["rep"] == "a1"
    await asyncio.sleep(0.2)
    assert ear_a.messages == []


# --- choosing and naming --------------------------------------------------------------------


def test_auto_picks_redis_then_postgres_then_memory():
    def kind(db: str, redis: str = "") -> str:
        return make_bus(
            kind="auto", database_url=db, redis_url=redis, on_message=print, on_reconnect=print
        ).name

    assert kind("sqlite:///var/paceboard.db") == "memory"
    assert kind("postgresql://u@db/floor") == "postgres"
    assert kind("postgresql://u@db/floor", "redis://cache:6379/0") == "redis"


def test_settings_refuse_a_bus_without_its_backend(tmp_path):
    with pytest.raises(ValueError, match="'redis' needs PACEBOARD_REDIS_URL"):
        Settings(bus="redis", data_dir=tmp_path, _env_file=None)
    with pytest.raises(ValueError, match="'postgres' needs a PostgreSQL"):
        Settings(bus="postgres", data_dir=tmp_path, _env_file=None)


def test_one_floor_one_channel_and_never_the_password():
    a = channel_for("postgresql+psycopg://u:secret@db:5432/floor")
    assert a == channel_for("postgresql://other:pw@db:5432/floor")  # who connects: same floor
    assert a != channel_for("postgresql://u@db:5432/floor2")
    assert "secret" not in a and a.startswith("paceboard_") and len(a) < 64  # a PG identifier


def test_alerts_are_cut_into_messages_that_fit_a_notify():
    alerts = [{"id": i, "note": "备注" * 200} for i in range(40)]
    parts = chunks(alerts)
    assert len(parts) > 1 and [a for p in parts for a in p] == alerts
    for part in parts:
        assert len(orjson.dumps({"kind": "alerts", "alerts": part, "origin": "x" * 20})) < 8000
    assert max(len(orjson.dumps(p)) for p in parts) < MAX_PAYLOAD


# --- memory ---------------------------------------------------------------------------------


def test_memory_buses_of_one_floor_hear_each_other_and_commits_coalesce():
    async def main() -> None:
        a, ear_a, b, ear_b = pair("memory", "sqlite:///floor-one.db")
        _, _, other, ear_other = pair("memory", "sqlite:///floor-two.db")
        for x in (a, b, other):
            await x.start()
        try:
            await exchange(a, b, ear_a, ear_b)
            assert ear_other.messages == []  # another floor's bus hears nothing
            # A burst of commits while one message waits to go: far fewer messages than commits.
            ear_b.messages.clear()
            sent = a.sent
            for _ in range(500):
                a.changed()
            await eventually(lambda: ear_b.messages)
            await asyncio.sleep(0.2)
            assert 1 <= a.sent - sent < 50
            assert all(m["kind"] == "changed" for m in ear_b.messages)
        finally:
            for x in (a, b, other):
                await x.stop()

    asyncio.run(main())


def _outcome(reps: range, sales: int = 0):
    from datetime import date

    from app.ingest.service import BatchOutcome, Sale

    day = date(2026, 11, 26)
    return BatchOutcome(
        [],
        {(r, day, 10) for r in reps},
        touched={(r, day) for r in reps},
        sales=[Sale(r, day, 100 * r) for r in list(reps)[:sales]],
    )


def test_a_commit_crosses_the_bus_as_its_reps_and_sales_in_messages_that_fit():
    """What a batch changed reaches the other process compactly (rep ids and days), however
    big the batch: a 2,000-rep commit is split under the NOTIFY limit, nothing lost."""
    from datetime import date

    from app.live.bus import heard_changes

    async def main() -> None:
        a, _, b, ear_b = pair("memory", "sqlite:///floor-three.db")
        for x in (a, b):
            await x.start()
        try:
            await eventually(lambda: a.connected and b.connected)
            a.changed(_outcome(range(1, 4), sales=1))
            await eventually(lambda: ear_b.messages)
            reps, sales = heard_changes(ear_b.messages[0])
            day = date(2026, 11, 26)
            assert reps == {(1, day), (2, day), (3, day)}
            assert sales == [(1, day, 100, 1)]
            ear_b.messages.clear()
            a.changed(_outcome(range(1, 2001), sales=300))
            await eventually(lambda: sum(len(m["reps"]) for m in ear_b.messages) >= 2000)
            await asyncio.sleep(0.1)
            assert len(ear_b.messages) > 1
            assert all(len(orjson.dumps(m)) < 8000 for m in ear_b.messages)
            heard = [heard_changes(m) for m in ear_b.messages]
            assert set().union(*(r for r, _ in heard)) == {(r, day) for r in range(1, 2001)}
            assert sum(len(s) for _, s in heard) == 300
            # A change whose cells are unknown (an import) says so: the receiver reads it all.
            ear_b.messages.clear()
            a.changed()
            await eventually(lambda: ear_b.messages)
            assert heard_changes(ear_b.messages[0]) == (None, [])
        finally:
            for x in (a, b):
                await x.stop()

    asyncio.run(main())


# --- PostgreSQL -----------------------------------------------------------------------------


def _kill_listeners(db_url: str, channel_pid: int | None = None) -> int:
    url = make_url(db_url)
    with psycopg.connect(
        host=url.host, port=url.port, user=url.username, dbname=url.database, autocommit=True
    ) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = 'paceboard-bus'"
            " AND (%s::int IS NULL OR pid = %s::int)",
            (channel_pid, channel_pid),
        ).fetchall()
    return len(rows)


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_postgres_bus_carries_messages_and_survives_a_killed_connection(db_url, monkeypatch):
    monkeypatch.setattr(bus_mod, "BACKOFF_FIRST", 0.05)

    async def main() -> None:
        a, ear_a, b, ear_b = pair("postgres", db_url)
        await a.start()
        await b.start()
        try:
            await exchange(a, b, ear_a, ear_b)
            # The database drops b's listening connection (a restart, a failover, a proxy).
            assert await asyncio.to_thread(_kill_listeners, db_url, b.listener_pid) == 1
            await eventually(lambda: b.reconnects == 1 and b.connected)
            assert ear_b.resyncs == 1  # the hub is told to send fresh snapshots
            ear_b.messages.clear()
            a.changed()
            await eventually(
                lambda: (
                    [(m["kind"], m["origin"]) for m in ear_b.messages] == [("changed", a.origin)]
                )
            )
            # The publishing side losing its connection is survived as well.
            await asyncio.to_thread(_kill_listeners, db_url, None)
            await eventually(lambda: a.connected and b.connected and a.reconnects == 1)
            ear_b.messages.clear()
            for _ in range(3):  # the first publish may meet the dead connection and be dropped
                a.changed()
                await asyncio.sleep(0.3)
            assert any(m["kind"] == "changed" for m in ear_b.messages)
        finally:
            await a.stop()
            await b.stop()

    asyncio.run(main())


# --- Redis ----------------------------------------------------------------------------------


async def _kill_pubsub(redis_url: str, bus: Bus) -> int:
    """Drop ``bus``'s subscription connection, as a Redis restart or failover would."""
    client = aioredis.from_url(redis_url)
    try:
        killed = 0
        for c in await client.client_list(_type="pubsub"):
            if c.get("name") == f"paceboard-bus-{bus.origin}":
                killed += int(await client.client_kill_filter(_id=c["id"]))
        return killed
    finally:
        await client.aclose()


def test_redis_bus_carries_messages_and_survives_a_killed_connection(redis_url, monkeypatch):
    monkeypatch.setattr(bus_mod, "BACKOFF_FIRST", 0.05)
    # A database URL of its own: its channel is this test's alone on the shared Redis.
    floor = f"postgresql://u@nowhere/redis_test_{time.monotonic_ns()}"

    async def main() -> None:
        a, ear_a, b, ear_b = pair("redis", floor, redis_url)
        await a.start()
        await b.start()
        try:
            await exchange(a, b, ear_a, ear_b)
            assert await _kill_pubsub(redis_url, b) == 1
            await eventually(lambda: b.reconnects == 1 and b.connected)
            assert ear_b.resyncs == 1
            ear_b.messages.clear()
            a.changed()
            await eventually(lambda: any(m["kind"] == "changed" for m in ear_b.messages))
        finally:
            await a.stop()
            await b.stop()

    asyncio.run(main())
