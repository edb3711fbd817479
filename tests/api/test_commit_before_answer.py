"""A write is committed before its answer leaves the server: a client that reads right after a
200 (another connection, another process) finds what it wrote."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient

from app.main import create_app
from tests.conftest import new_token


def test_a_write_is_committed_when_its_answer_starts(settings, engine):
    app = create_app(settings)
    seen: list[int] = []

    async def spy_app(scope, receive, send):
        async def spy_send(message):
            if message["type"] == "http.response.start" and scope.get("method") == "POST":
                # Another connection, as the next request (or another process) would use.
                with engine.connect() as conn:
                    q = sa.text("SELECT count(*) FROM team WHERE name = :n")
                    seen.append(conn.execute(q, {"n": "早班"}).scalar_one())
            await send(message)

        await app(scope, receive, spy_send)

    admin = new_token(engine, "admin")
    with TestClient(spy_app) as client:
        resp = client.post(
            "/api/v1/teams", json={"name": "早班"}, headers={"Authorization": f"Bearer {admin}"}
        )
    assert resp.status_code in (200, 201), resp.text
    assert seen == [1]
