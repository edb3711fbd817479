"""Display links (``paceboard display …``) against a real server and real WebSockets: a TV's link
opens its wallboard and its socket, shows only its teams, opens no API route, and stops the moment
(within the re-check interval) it is revoked."""

from __future__ import annotations

import asyncio
import re
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import websockets

from tests.live.test_ws import just_now, post, recv, until

TEAM_A, TEAM_B = "一组", "二组"
RECHECK = 0.5


@pytest.fixture
def server(live_server, server_env):
    server_env["PACEBOARD_RECHECK_SECONDS"] = str(RECHECK)
    live_server.start()
    live_server.tokens = {scope: live_server.token(scope) for scope in ("ingest", "admin")}
    admin = {"Authorization": f"Bearer {live_server.tokens['admin']}"}
    for team, rep in ((TEAM_A, "a1"), (TEAM_B, "b1")):
        resp = httpx.post(live_server.url + "/api/v1/teams", json={"name": team}, headers=admin)
        assert resp.status_code == 201, resp.text
        resp = httpx.post(
            live_server.url + "/api/v1/reps",
            json={"code": rep, "name": rep.upper(), "team": team},
            headers=admin,
        )
        assert resp.status_code == 201, resp.text
    post(
        live_server,
        {"call_id": "da-1", "rep": "a1", "started_at": just_now(), "disposition": "answered"},
        {"call_id": "db-1", "rep": "b1", "started_at": just_now(), "disposition": "answered"},
    )
    return live_server


def create_display(server, *teams: str) -> tuple[int, str]:
    """(id, secret) of a new display link made with the CLI, as an admin would."""
    args = ["display", "create", "--name", "TV"]
    for team in teams:
        args += ["--team", team]
    done = server.cli(*args)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    display_id = int(re.match(r"display (\d+) ", lines[0]).group(1))
    url = lines[-1]  # the path, or the whole link when PACEBOARD_PUBLIC_URL is set
    assert "/wallboard?display=" in url, url
    return display_id, parse_qs(urlsplit(url).query)["display"][0]


def socket_url(server, secret: str) -> str:
    return server.url.replace("http", "ws", 1) + "/ws?display=" + secret


def body_attrs(html: str) -> dict[str, str]:
    tag = re.search(r"<body\b[^>]*>", html).group(0)
    return dict(re.findall(r'(data-[\w-]+)="([^"]*)"', tag))


def teams_in(snapshot: dict) -> set[str]:
    return {r["team"] for r in snapshot["data"]["reps"]}


def test_a_team_display_shows_its_team_only_and_stops_when_revoked(server):
    display_id, secret = create_display(server, TEAM_A)

    page = httpx.get(server.url + "/wallboard", params={"display": secret})
    assert page.status_code == 200
    attrs = body_attrs(page.text)
    assert attrs["data-display"] == secret and attrs["data-token"] == ""
    assert attrs["data-team"] == TEAM_A
    # Not the other team's board, not the lead console, not the API.
    assert (
        httpx.get(server.url + "/wallboard", params={"display": secret, "team": TEAM_B}).status_code
        == 403
    )
    assert httpx.get(server.url + "/lead", params={"display": secret}).status_code in (401, 403)
    for kw in (
        {"params": {"display": secret}},
        {"headers": {"Authorization": f"Bearer {secret}"}},
    ):
        resp = httpx.get(server.url + "/api/v1/floor/snapshot", **kw)
        assert resp.status_code in (401, 403), resp.text

    async def watch_then_revoke() -> tuple[int, float]:
        async with websockets.connect(socket_url(server, secret)) as ws:
            snap = await recv(ws)
            assert snap["type"] == "snapshot"
            assert teams_in(snap) == {TEAM_A}
            assert {r["code"] for r in snap["data"]["reps"]} == {"a1"}
            # Asking for the other team changes nothing: a display sees only its own.
            await ws.send('{"type": "subscribe", "teams": ["二组"]}')
            again = await until(ws, lambda m: m["type"] == "snapshot")
            assert teams_in(again) == {TEAM_A}

            done = await asyncio.to_thread(server.cli, "display", "revoke", str(display_id))
            assert done.returncode == 0, done.stderr
            revoked = time.monotonic()
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await recv(ws, timeout=5)
            return closed.value.rcvd.code, time.monotonic() - revoked

    code, took = asyncio.run(watch_then_revoke())
    assert code == 4401
    assert took < 2.5, f"the socket closed {took:.1f}s after the revoke"

    assert httpx.get(server.url + "/wallboard", params={"display": secret}).status_code == 401

    async def reconnect() -> int:
        async with websockets.connect(socket_url(server, secret)) as ws:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await recv(ws)
            return closed.value.rcvd.code

    assert asyncio.run(reconnect()) == 4401


def test_a_display_of_no_team_sees_the_whole_floor(server):
    _, secret = create_display(server)
    page = httpx.get(server.url + "/wallboard", params={"display": secret})
    assert page.status_code == 200
    attrs = body_attrs(page.text)
    assert (
        attrs["data-display"] == secret and attrs["data-token"] == "" and attrs["data-team"] == ""
    )

    async def first() -> dict:
        async with websockets.connect(socket_url(server, secret)) as ws:
            return await recv(ws)

    snap = asyncio.run(first())
    assert teams_in(snap) == {TEAM_A, TEAM_B}
    assert snap["data"]["floor"]["totals"]["dials"] == 2
    assert httpx.get(
        server.url + "/api/v1/floor/snapshot", params={"display": secret}
    ).status_code in (401, 403)
