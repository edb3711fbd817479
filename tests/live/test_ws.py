"""The live protocol over real WebSockets against a real server (``paceboard serve``)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest
import websockets

from tests.conftest import SQLITE_ONLY, midday_zone, record


@pytest.fixture
def server(live_server, server_env):
    # Calls are stamped "just now": run the floor where it is midday, far from its midnight.
    server_env["PACEBOARD_TIMEZONE"] = midday_zone()
    live_server.start()
    tokens = {scope: live_server.token(scope) for scope in ("read", "ingest", "admin")}
    live_server.tokens = tokens
    admin = {"Authorization": f"Bearer {tokens['admin']}"}
    for team, rep in (("A", "a1"), ("B", "b1")):
        httpx.post(live_server.url + "/api/v1/teams", json={"name": team}, headers=admin)
        httpx.post(
            live_server.url + "/api/v1/reps",
            json={"code": rep, "name": rep.upper(), "team": team},
            headers=admin,
        )
    return live_server


def ws_url(server, token: str, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"token": token, **params}.items())
    return server.url.replace("http", "ws") + "/ws?" + query


def post(server, *records: dict) -> None:
    resp = httpx.post(
        server.url + "/api/v1/calls",
        json=list(records),
        headers={"Authorization": f"Bearer {server.tokens['ingest']}"},
    )
    assert resp.status_code == 200, resp.text


def just_now(seconds: float = 0) -> str:
    # Calls count on the floor's day as it stands, so they are stamped just now.
    return (datetime.now(UTC) - timedelta(seconds=2 + seconds)).isoformat()


async def recv(ws, timeout: float = 5.0) -> dict:
    return orjson.loads(await asyncio.wait_for(ws.recv(), timeout))


async def until(ws, pred, timeout: float = 5.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        msg = await recv(ws, max(0.01, deadline - time.monotonic()))
        if pred(msg):
            return msg


def rep_in(msg: dict, code: str) -> dict | None:
    rows = msg["data"]["reps"] if msg["type"] == "snapshot" else msg.get("reps", [])
    return next((r for r in rows if r["code"] == code), None)


def test_snapshot_on_connect_then_a_delta_within_a_second_of_a_post(server):
    async def go():
        async with websockets.connect(ws_url(server, server.tokens["read"])) as ws:
            first = await recv(ws)
            assert (first["type"], first["seq"]) == ("snapshot", 1)
            assert rep_in(first, "a1")["totals"]["dials"] == 0
            sent = time.monotonic()
            post(server, record("live-1", rep="a1", started_at=just_now()))
            delta = await until(
                ws,
                lambda m: (
                    m["type"] == "delta"
                    and (rep_in(m, "a1") or {}).get("totals", {}).get("dials") == 1
                ),
            )
            assert time.monotonic() - sent < 1.0
            assert "pace" in rep_in(delta, "a1") and delta["floor"]["totals"]["dials"] == 1
            assert delta["seq"] > 1

    asyncio.run(go())


def test_seq_counts_up_by_one_and_resync_answers_with_a_snapshot(server):
    async def go():
        async with websockets.connect(ws_url(server, server.tokens["read"])) as ws:
            seen = [await recv(ws)]

            async def until_seen(pred):
                while not pred(seen[-1]):
                    seen.append(await recv(ws))
                return seen[-1]

            post(server, record("s-1", rep="a1", started_at=just_now()))
            await until_seen(lambda m: m["type"] == "delta")
            await ws.send(orjson.dumps({"type": "resync"}).decode())
            snap = await until_seen(lambda m: m["type"] == "snapshot")
            assert rep_in(snap, "a1")["totals"]["dials"] == 1
            await ws.send("not json at all")
            err = await until_seen(lambda m: m["type"] == "error")
            assert "resync" in err["detail"]
            await ws.send(orjson.dumps({"type": "ping"}).decode())
            await until_seen(lambda m: m["type"] == "pong")
            # Every message, whatever its type (alerts and heartbeats too), is numbered in turn.
            assert [m["seq"] for m in seen] == list(range(1, len(seen) + 1))

    asyncio.run(go())


def test_a_team_subscription_sees_only_its_team(server):
    async def go():
        url = ws_url(server, server.tokens["read"], team="A")
        async with websockets.connect(url) as ws:
            snap = await recv(ws)
            assert {r["team"] for r in snap["data"]["reps"]} == {"A"}
            post(server, record("b-1", rep="b1", started_at=just_now()))
            post(server, record("a-1", rep="a1", started_at=just_now(seconds=5)))
            delta = await until(ws, lambda m: m["type"] == "delta" and rep_in(m, "a1"))
            assert {r["code"] for r in delta["reps"]} == {"a1"}
            assert delta["floor"]["totals"]["dials"] == 2  # the floor line stays the floor's

    asyncio.run(go())


def test_a_sale_is_celebrated_with_the_rep_name_and_amount(server):
    async def go():
        async with websockets.connect(ws_url(server, server.tokens["read"])) as ws:
            await recv(ws)
            post(
                server,
                record(
                    "sale-1", rep="a1", started_at=just_now(), outcome="sale", order_value="399.00"
                ),
            )
            cheer = await until(ws, lambda m: m["type"] == "celebrate")
            assert (cheer["rep"], cheer["name"], cheer["amount"], cheer["orders"]) == (
                "a1",
                "A1",
                39900,
                1,
            )

    asyncio.run(go())


def test_sockets_without_a_fitting_token_are_closed_with_a_reason_code(server):
    async def code(url: str) -> int:
        async with websockets.connect(url) as ws:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await recv(ws)
            return closed.value.rcvd.code

    assert asyncio.run(code(ws_url(server, "pb_not_a_token"))) == 4401
    assert asyncio.run(code(server.url.replace("http", "ws") + "/ws")) == 4401
    assert asyncio.run(code(ws_url(server, server.tokens["ingest"]))) == 4403


@SQLITE_ONLY  # a slow reader is the hub's
def test_a_client_that_never_reads_does_not_delay_the_others(server):
    async def go():
        url = ws_url(server, server.tokens["read"])
        async with websockets.connect(url, max_queue=1) as stuck, websockets.connect(url) as ws:
            await recv(ws)
            for n in range(30):
                sent = time.monotonic()
                post(server, record(f"burst-{n}", rep="a1", started_at=just_now(seconds=n)))
                await until(
                    ws,
                    lambda m, n=n: (
                        m["type"] == "delta"
                        and (rep_in(m, "a1") or {}).get("totals", {}).get("dials", 0) >= n + 1
                    ),
                )
                assert time.monotonic() - sent < 1.5
            assert stuck.state is websockets.protocol.State.OPEN

    asyncio.run(go())


def test_every_frame_and_the_rest_snapshot_are_what_the_declared_types_say(server):
    """app/floor/types.py against real data, extra keys forbidden: the snapshot frame, a
    delta, a sale's banner, a team's view (other teams without mentoring) and the REST body."""
    from pydantic import TypeAdapter

    from app.floor.types import CelebrateMessage, DeltaMessage, Snapshot, SnapshotMessage

    async def go():
        async with websockets.connect(ws_url(server, server.tokens["read"])) as ws:
            TypeAdapter(SnapshotMessage).validate_python(await recv(ws))
            post(
                server,
                record("t-1", rep="a1", started_at=just_now(), outcome="sale", order_value="9"),
                record("t-2", rep="b1", started_at=just_now(), disposition="no_answer"),
            )
            delta = await until(ws, lambda m: m["type"] == "delta")
            TypeAdapter(DeltaMessage).validate_python(delta)
            cheer = await until(ws, lambda m: m["type"] == "celebrate")
            TypeAdapter(CelebrateMessage).validate_python(cheer)
        async with websockets.connect(ws_url(server, server.tokens["read"])) as ws:
            await recv(ws)
            await ws.send(orjson.dumps({"type": "subscribe", "teams": ["A"]}).decode())
            frame = await until(ws, lambda m: m["type"] == "snapshot")
            team_view = TypeAdapter(SnapshotMessage).validate_python(frame)["data"]
            assert {r["team"] for r in team_view["reps"]} == {"A"}
            assert [("mentoring" in t) for t in team_view["teams"]] == [True, False]

    asyncio.run(go())
    body = httpx.get(
        server.url + "/api/v1/floor/snapshot",
        headers={"Authorization": f"Bearer {server.tokens['read']}"},
    ).json()
    snap = TypeAdapter(Snapshot).validate_python(body)
    assert {r["code"] for r in snap["reps"]} == {"a1", "b1"}
