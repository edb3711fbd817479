"""Routes take the app's shared objects through the dependencies of app/api/deps.py and
app/live/deps.py: a test replaces any of them with ``app.dependency_overrides`` and the route
answers with the replacement. And nothing else in app/api or app/live reads ``app.state`` or
opens a session of its own (an ast scan of the sources)."""

from __future__ import annotations

import ast
import shutil
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.websockets import WebSocketDisconnect

from app.api import deps as api_deps
from app.ingest.records import CustomerHasher
from app.ingest.service import IngestContext
from app.live import deps as live_deps
from app.live.ws import TRY_LATER
from app.services.tokens import Principal
from tests.conftest import Api, enrol, record

APP = Path(__file__).resolve().parents[2] / "app"


@pytest.fixture
def overrides(api: Api) -> Iterator[dict[Any, Any]]:
    """The app's ``dependency_overrides``, emptied after the test."""
    found = api.client.app.dependency_overrides  # type: ignore[attr-defined]
    yield found
    found.clear()


def test_a_replaced_settings_reaches_the_pages_and_the_live_socket(api, settings, overrides):
    other = settings.model_copy(update={"max_sockets": 0, "currency_minor_digits": 3})
    overrides[live_deps.get_settings] = lambda: other
    page = api.client.get("/lead", params={"token": api.admin})
    assert page.status_code == 200
    assert 'data-minor-digits="3"' in page.text
    socket = api.client.websocket_connect(f"/ws?token={api.read}")
    with pytest.raises(WebSocketDisconnect) as closed, socket as ws:
        ws.receive_text()
    assert closed.value.code == TRY_LATER  # no room for a socket with max_sockets=0


def test_a_replaced_engine_is_the_database_the_routes_read_and_write(
    api, overrides, sqlite_template, tmp_path
):
    other_path = tmp_path / "other.db"
    shutil.copy(sqlite_template, other_path)
    other = sa.create_engine(f"sqlite:///{other_path}")
    try:
        enrol(other, ["7777"])
        overrides[live_deps.get_engine] = lambda: other
        roster = api.call("GET", "/api/v1/reps").json()
        assert [r["code"] for r in roster] == ["7777"]
        saved = api.call("PUT", "/api/v1/import-profiles/other", json={"format": "asterisk"})
        assert saved.status_code == 200
        overrides.clear()
        assert api.call("GET", "/api/v1/import-profiles").json() == []
    finally:
        other.dispose()


def test_a_replaced_hub_answers_the_polled_snapshot(api, overrides):
    class Hub:
        async def polled_view(self) -> dict[str, Any]:
            return {"from": "the replacement hub"}

    overrides[live_deps.get_hub] = Hub
    assert api.call("GET", "/api/v1/floor/snapshot").json() == {"from": "the replacement hub"}


class _Writer:
    """Takes the items and answers with the customer key the route computed for the first."""

    async def submit(self, items: list) -> SimpleNamespace:
        key = items[0].fields.get("customer_key")
        return SimpleNamespace(results=[], counts=lambda: {"accepted": 42, "key": key})


def test_a_replaced_writer_takes_the_posted_calls(api, overrides):
    overrides[api_deps.get_writer] = _Writer
    got = api.post_calls([record()], token=api.ingest)
    assert got == {"accepted": 42, "key": None, "results": []}


def test_a_replaced_ingest_context_hashes_the_posted_customer(api, settings, overrides):
    other = CustomerHasher("another-floor's-key")
    ctx = IngestContext(default_tz=settings.tz, hasher=other)
    overrides[api_deps.get_writer] = _Writer
    overrides[api_deps.get_ingest_context] = lambda: ctx
    got = api.post_calls([record(customer="13800001234")], token=api.ingest)
    assert got["key"] == other("13800001234")
    assert got["key"] != CustomerHasher(settings.secret_key)("13800001234")


def test_a_replaced_bus_is_the_one_readiness_reports(api, overrides):
    overrides[api_deps.get_bus] = lambda: SimpleNamespace(name="stub-bus", connected=False)
    assert api.client.get("/readyz").json()["checks"]["bus"] == "stub-bus: reconnecting"


def test_replaced_metrics_tokens_and_login_limiter_are_the_ones_used(api, overrides):
    overrides[api_deps.get_metrics] = lambda: SimpleNamespace(exposition=lambda: "stub 1\n")
    assert api.client.get("/metrics").text == "stub 1\n"

    someone = Principal(token_id=99, name="stub-admin", scope="admin", source=None)
    overrides[live_deps.get_tokens] = lambda: SimpleNamespace(cached=lambda s: (True, someone))
    assert api.call("GET", "/api/v1/reps", token="pb_not-a-real-token").status_code == 200

    overrides[api_deps.get_login_limiter] = lambda: SimpleNamespace(attempt=lambda key: 77)
    form = api.client.get("/login")
    csrf = form.cookies["paceboard_login_csrf"]
    refused = api.client.post("/login", data={"username": "x", "password": "y", "csrf": csrf})
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "77"


# --- only the providers touch app.state or open sessions -------------------------------------

_PROVIDERS = {APP / "api" / "deps.py", APP / "live" / "deps.py"}
_OPENERS = {"Session", "session_scope"}


def _offences(path: Path) -> list[str]:
    """Where ``path`` reads ``….app.state`` or calls Session()/session_scope() outside a
    ``get_*`` provider of the deps modules."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    allowed: set[int] = set()
    if path in _PROVIDERS:
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith(
                "get_"
            ):
                allowed |= {id(n) for n in ast.walk(node)}
    found = []
    for node in ast.walk(tree):
        if id(node) in allowed:
            continue
        if (
            isinstance(node, ast.Attribute)
            and node.attr == "state"
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "app"
        ):
            found.append(f"{path.name}:{node.lineno} reads .app.state")
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name in _OPENERS:
                found.append(f"{path.name}:{node.lineno} calls {name}()")
    return found


def test_only_the_dependency_providers_read_app_state_or_open_sessions():
    sources = sorted((APP / "api").glob("*.py")) + sorted((APP / "live").glob("*.py"))
    assert APP / "api" / "deps.py" in sources
    offences = [o for path in sources for o in _offences(path)]
    assert offences == []


def test_the_scan_catches_a_route_reading_app_state(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "def route(request):\n"
        "    with session_scope(request.app.state.engine) as s:\n"
        "        return s\n"
    )
    assert sorted(_offences(bad)) == ["bad.py:2 calls session_scope()", "bad.py:2 reads .app.state"]
