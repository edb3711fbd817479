"""Several `paceboard serve` processes on one PostgreSQL: every screen sees every call, whichever
process took it; the bus is survived when its connection drops; and totals stay exact with four
processes writing at once, revisions of one call included."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import psycopg
import pytest
import websockets
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy.engine import make_url

from tests.conftest import (
    PG_ONLY,
    ROOT,
    LiveServer,
    ScreenView,
    enrol_at,
    free_port,
    midday_zone,
    record,
    record_reps,
    run_cli,
)
from tests.live.test_ws import just_now, recv, rep_in, until, ws_url

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


@pytest.fixture
def cluster(server_env, tmp_path) -> Iterator[callable]:
    """``cluster(n, **env)`` starts n servers on this test's database (stopped afterwards)."""
    started: list[LiveServer] = []

    def start(n: int, **extra: str) -> list[LiveServer]:
        for i in range(n):
            env = {**server_env, **extra, "PACEBOARD_PORT": str(free_port())}
            server = LiveServer(env, int(env["PACEBOARD_PORT"]), tmp_path / f"server{i}.log")
            started.append(server.start())
        tokens = {
            scope: run_cli(server_env, "token", "create", "--name", scope, "--scope", scope)
            .stdout.strip()
            .splitlines()[-1]
            for scope in ("ingest", "read")
        }
        for server in started:
            server.tokens = tokens
        return started

    yield start
    for server in started:
        server.stop()


def post_to(server: LiveServer, *records: dict) -> dict:
    server.enrol(record_reps(records))
    resp = httpx.post(
        server.url + "/api/v1/calls",
        json=list(records),
        headers={"Authorization": f"Bearer {server.tokens['ingest']}"},
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


def full_reads(server: LiveServer) -> int:
    """The server's whole-floor reads of its live view so far (its /metrics)."""
    text = httpx.get(server.url + "/metrics", timeout=10).text
    return int(float(re.search(r"^paceboard_live_full_reads (\S+)$", text, re.M)[1]))


def _terminate_bus_connections(db_url: str) -> int:
    url = make_url(db_url)
    with psycopg.connect(
        host=url.host, port=url.port, user=url.username, dbname=url.database, autocommit=True
    ) as conn:
        return len(
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND application_name = 'paceboard-bus'"
            ).fetchall()
        )


def _watch_b_while_posting_to_a(a: LiveServer, b: LiveServer, db_url: str | None) -> None:
    async def main() -> None:
        async with websockets.connect(ws_url(b, b.tokens["read"])) as ws:
            assert (await recv(ws))["type"] == "snapshot"
            post_to(a, record("x-1", rep="r1", started_at=just_now()))
            delta = await until(ws, lambda m: m["type"] == "delta" and rep_in(m, "r1"))
            assert rep_in(delta, "r1")["totals"]["dials"] == 1
            if db_url is None:
                return
            # The database drops every bus connection (a failover, a proxy restart).
            assert await asyncio.to_thread(_terminate_bus_connections, db_url) >= 2
            # B reconnects and sends its screens a fresh snapshot: nothing missed is lost.
            snap = await until(ws, lambda m: m["type"] == "snapshot", timeout=15)
            assert rep_in(snap, "r1")["totals"]["dials"] == 1
            # Calls posted to A keep reaching B's screens afterwards (A's sender reconnects).
            for i in range(2, 6):
                post_to(a, record(f"x-{i}", rep="r1", started_at=just_now()))
            await until(
                ws,
                lambda m: (
                    m["type"] in ("delta", "snapshot")
                    and (rep_in(m, "r1") or {}).get("totals", {}).get("dials") == 5
                ),
                timeout=15,
            )

    asyncio.run(main())


@PG_ONLY
def test_a_call_posted_to_one_process_reaches_screens_of_another_over_postgres(cluster, db_url):
    a, b = cluster(2)
    _watch_b_while_posting_to_a(a, b, db_url)


def test_a_call_posted_to_one_process_reaches_screens_of_another_over_redis(
    cluster, redis_url, db_url
):
    # On SQLite too: Redis carries the news, the shared database file the figures.
    a, b = cluster(2, PACEBOARD_REDIS_URL=redis_url)
    _watch_b_while_posting_to_a(a, b, None)


@PG_ONLY
def test_four_processes_writing_at_once_keep_the_totals_exact(cluster, db_url, server_env):
    servers = cluster(4)
    barrier = threading.Barrier(len(servers))
    errors: list[BaseException] = []

    def writer(i: int, server: LiveServer) -> None:
        try:
            barrier.wait(timeout=30)
            for n in range(15):
                batch = [
                    # The process's own calls ...
                    *(
                        record(
                            f"p{i}-{n}-{k}",
                            rep=f"r{k % 5}",
                            started_at=just_now(60),
                            customer=f"1380000{(i * 7 + k) % 40:04d}",
                            disposition="answered" if k % 3 else "no_answer",
                            talk_seconds=30 + k,
                        )
                        for k in range(20)
                    ),
                    # ... and revisions of calls every process is posting at the same time.
                    *(
                        record(
                            f"shared-{n}-{k}",
                            rep=f"r{(k + i) % 5}",
                            revision=i + 1,
                            started_at=just_now(30),
                            customer=f"1390000{k:04d}",
                            talk_seconds=100 * (i + 1),
                            outcome="sale" if i == 3 else "none",
                            order_value="10" if i == 3 else "0",
                        )
                        for k in range(5)
                    ),
                ]
                post_to(server, *batch)
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i, s)) for i, s in enumerate(servers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    check = run_cli(server_env, "rebuild-totals", "--check")
    assert check.returncode == 0, check.stdout + check.stderr
    url = make_url(db_url)
    with psycopg.connect(
        host=url.host, port=url.port, user=url.username, dbname=url.database
    ) as conn:
        calls = conn.execute("SELECT count(*) FROM call").fetchone()[0]
        shared = conn.execute(
            "SELECT min(revision), max(revision), min(talk_seconds), count(*) FROM call"
            " WHERE external_id LIKE 'shared-%'"
        ).fetchone()
        dials, orders = conn.execute("SELECT sum(dials), sum(orders) FROM hourly_total").fetchone()
    assert calls == 4 * 15 * 20 + 15 * 5
    # Every shared call ends at the highest revision, whichever process applied it last.
    assert shared == (4, 4, 400, 75)
    assert (dials, orders) == (calls, 75)


def test_bus_settings_reach_the_server(server_env, tmp_path):
    env = {**server_env, "PACEBOARD_BUS": "redis"}
    env.pop("PACEBOARD_REDIS_URL", None)
    server = LiveServer(env, int(env["PACEBOARD_PORT"]), tmp_path / "bad.log")
    with pytest.raises(RuntimeError, match="'redis' needs PACEBOARD_REDIS_URL"):
        server.start(timeout=20)
    assert os.path.exists(tmp_path / "bad.log")


@PG_ONLY
def test_servers_started_together_on_an_empty_database_migrate_it_once(server_env):
    """Four `paceboard migrate` at the same instant on a new PostgreSQL database (what starting
    four servers at once does): all succeed, the schema is at head."""
    from tests.conftest import _pg_admin, _pg_url

    name = f"pb_mig_{os.getpid()}_{free_port()}"
    with _pg_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        env = {**server_env, "PACEBOARD_DATABASE_URL": _pg_url(name)}
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "app", "migrate"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for _ in range(4)
        ]
        outputs = [p.communicate(timeout=120)[0] for p in procs]
        assert [p.returncode for p in procs] == [0, 0, 0, 0], outputs
        with psycopg.connect(_pg_url(name).replace("+psycopg", "")) as conn:
            heads = conn.execute("SELECT version_num FROM alembic_version").fetchall()
        assert len(heads) == 1
    finally:
        with _pg_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _merge(rows: dict[str, dict], patches: list[dict], key: str) -> None:
    """A delta's rows merged as the pages merge them (fields replaced; totals whole)."""
    for p in patches:
        rows.setdefault(p[key], {}).update(p)


@PG_ONLY
def test_a_screen_of_another_process_ends_equal_to_a_full_read_and_celebrates(
    cluster, db_url, server_env
):
    """Batches of new calls, revisions, resends and sales posted to A: B's screen, applying
    B's deltas (B heard only the reps and days each commit changed, over PostgreSQL), ends
    with every rep's, team's and the floor's totals equal to a full read of the floor, and
    shows the banner of each sale once."""
    reps = {"p1": "一组", "p2": "一组", "q1": "二组"}
    for code, team in reps.items():  # on the roster before the servers start
        enrol_at(server_env["PACEBOARD_DATABASE_URL"], {code}, team=team)
    a, b = cluster(2)

    async def main() -> None:
        async with websockets.connect(ws_url(b, b.tokens["read"])) as ws:
            first = await recv(ws)
            assert first["type"] == "snapshot"
            view = {r["code"]: r for r in first["data"]["reps"]}
            teams = {t["name"]: t for t in first["data"]["teams"]}
            floor = dict(first["data"]["floor"])
            banners = []
            batches = [
                [record("m1", rep="p1", started_at=just_now()),
                 record("m2", rep="q1", started_at=just_now())],
                [record("m1", rep="p1", started_at=just_now(), outcome="sale",
                        order_value="12", revision=2),
                 record("m3", rep="p2", started_at=just_now(), disposition="no_answer")],
                [record("m2", rep="q1", started_at=just_now(), revision=0)],  # stale
                [record("m3", rep="p2", started_at=just_now(), revision=3)],  # now answered
            ]  # fmt: skip
            for batch in batches:
                post_to(a, *batch)
            want = httpx.get(
                a.url + "/api/v1/floor/snapshot",
                headers={"Authorization": f"Bearer {a.tokens['read']}"},
                timeout=30,
            ).json()

            def caught_up(m: dict) -> bool:
                if m["type"] == "celebrate":
                    banners.append((m["rep"], m["orders"]))
                elif m["type"] in ("delta", "snapshot"):
                    data = m["data"] if m["type"] == "snapshot" else m
                    if m["type"] == "snapshot":
                        view.clear(), teams.clear(), floor.clear()
                    _merge(view, data["reps"], "code")
                    _merge(teams, data["teams"], "name")
                    floor.update(data.get("floor") or {})
                return {c: r["totals"] for c, r in view.items()} == {
                    r["code"]: r["totals"] for r in want["reps"]
                } and floor.get("totals") == want["floor"]["totals"]

            await until(ws, caught_up, timeout=15)
            assert {n: t["totals"] for n, t in teams.items()} == {
                t["name"]: t["totals"] for t in want["teams"]
            }
            await asyncio.sleep(0.5)  # a banner would have come with its delta
            while True:
                try:
                    caught_up(await recv(ws, 0.3))
                except TimeoutError:
                    break
            assert banners == [("p1", 1)]

    asyncio.run(main())


_EXAMPLES = itertools.count()
_batch = st.lists(
    st.fixed_dictionaries(
        {
            "call": st.integers(0, 4),
            "rep": st.sampled_from(["p1", "p2", "q1"]),
            "disposition": st.sampled_from(["answered", "no_answer"]),
            "talk_seconds": st.integers(0, 300),
            "outcome": st.sampled_from(["none", "sale"]),
            "direction": st.sampled_from(["outbound", "inbound"]),
            "revision": st.one_of(st.none(), st.integers(0, 3)),
            "minutes_ago": st.integers(0, 90),  # this hour and the last
        }
    ),
    min_size=1,
    max_size=4,
)


@pytest.fixture
def pair(cluster, server_env) -> list[LiveServer]:
    """Two servers on a floor of three reps in two teams (shared by a property test's examples:
    a function-scoped fixture is set up once per test, not per example)."""
    for code, team in {"p1": "一组", "p2": "一组", "q1": "二组"}.items():
        enrol_at(server_env["PACEBOARD_DATABASE_URL"], {code}, team=team)
    return cluster(2, PACEBOARD_TIMEZONE=midday_zone())


@PG_ONLY
@hsettings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=st.lists(st.tuples(st.sampled_from("ab"), _batch), min_size=1, max_size=4))
def test_random_batches_to_either_process_leave_the_other_ones_screen_equal_to_a_full_read(
    pair, db_url, server_env, batches
):
    """New calls, revisions, stale and conflicting updates, posted to A or to B: after every
    batch, a screen on B (deep patches, merged as the pages merge them) holds exactly what a
    full read of the floor holds at the view's instant, and B got there from what the bus told
    it (no whole-floor read beyond the screen's first, except where a minute tick raced a
    commit of A's, which B's check for unheard writes catches)."""
    from app.config import Settings
    from app.db import make_engine
    from app.services.snapshot import load_snapshot

    a, b = pair
    example = next(_EXAMPLES)
    settings = Settings(
        database_url=server_env["PACEBOARD_DATABASE_URL"], timezone=a.env["PACEBOARD_TIMEZONE"]
    )
    engine = make_engine(settings.database_url)

    def full_read(at: str) -> dict:
        now = datetime.now(UTC)
        with engine.connect() as conn:
            return load_snapshot(
                conn, day=settings.today(now), timezone=settings.timezone, now=now,
                at=datetime.fromisoformat(at), pacing=settings.pacing,
            )  # fmt: skip

    async def main() -> None:
        async with websockets.connect(ws_url(b, b.tokens["read"], patch="deep")) as ws:
            view = ScreenView()
            view.apply(await recv(ws))
            reads, minutes = full_reads(b), {view.at}
            for to, batch in batches:
                records = [
                    record(f"x{example}-{r['call']}", rep=r["rep"],
                           started_at=just_now(60 * r["minutes_ago"]),
                           disposition=r["disposition"], direction=r["direction"],
                           talk_seconds=r["talk_seconds"] if r["disposition"] == "answered" else 0,
                           outcome=r["outcome"], order_value="50",
                           **({} if r["revision"] is None else {"revision": r["revision"]}))
                    for r in batch
                ]  # fmt: skip
                post_to(a if to == "a" else b, *records)
                deadline = time.monotonic() + 15
                while not (view.at and view.matches(full_read(view.at))):
                    assert time.monotonic() < deadline, "B's screen never caught up"
                    with contextlib.suppress(TimeoutError):
                        view.apply(await recv(ws, 0.3))
                    minutes.add(view.at)
            assert full_reads(b) - reads <= len(minutes) - 1

    try:
        asyncio.run(main())
    finally:
        engine.dispose()
