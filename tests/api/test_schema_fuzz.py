"""Schemathesis over every operation of the app's own OpenAPI schema, in process.

Each operation gets a bounded, derandomized run of schema-valid (positive) and, where the
operation has something to break, schema-breaking (negative) requests with an admin token, sent
through the app's TestClient (lifespan, writer and hub running as in production; no network).
What must hold for every answer:

* no 5xx (``not_a_server_error``; with the TestClient a server error surfaces as the exception
  itself, the request that caused it noted as a curl command);
* a documented status answers with a body of its documented schema and media type
  (``response_schema_conformance``, ``content_type_conformance``, ``response_headers_conformance``);
* every error is JSON with a ``detail`` (the contract of ``app.api.errors``);
* schema-breaking input is refused with a 4xx (``negative_data_rejection``, negative mode);
* the status is one the operation documents: an answer its schema does not list (404 for a team
  that does not exist, 409, 413, ...) fails the run, shrunk to the request that got it, until the
  route declares it with ``responses=``.

Not checked, on purpose: ``positive_data_acceptance`` (schema-valid data may name a team, rep or
profile that does not exist, and 404 is right), and the checks that re-send requests or follow
state (``use_after_free``, ``ensure_resource_availability``, ``ignored_auth``: the schema declares
no security scheme, the bearer token is read by a dependency, and who may call what is the
subject of tests/api/test_access_matrix.py). One admin pass only: an ingest token reaches the
same two ingest routes with the same source (none) as the admin token, so a second pass would
send the same requests; the POST /api/v1/calls body (not described in the schema) is fuzzed by
tests/ingest/test_ndjson_fuzz.py.

``PACEBOARD_FUZZ_EXAMPLES`` raises the examples per operation for a deeper local run.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, currently_in_test_context, given, note
from hypothesis import settings as hsettings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
)

from app.config import Settings
from app.main import create_app
from tests.conftest import SECRET, fresh_database

MAX_EXAMPLES = int(os.environ.get("PACEBOARD_FUZZ_EXAMPLES", "25"))
BASE_URL = "http://testserver"


def _operations() -> list[tuple[str, str, GenerationMode]]:
    """(method, path, mode) of every operation, read from the schema of an app that never
    starts (building the app opens no database). Negative mode only for an operation with
    query parameters, a non-string path parameter or a body: any text is a valid string path
    parameter, so an operation with nothing else has nothing to break."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            database_url=f"sqlite:///{tmp}/unused.db",
            data_dir=Path(tmp) / "var",
            secret_key=SECRET,
            _env_file=None,
        )
        spec = create_app(settings).openapi()
    out = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            out.append((method.upper(), path, GenerationMode.POSITIVE))
            breakable = op.get("requestBody") or any(
                p["in"] != "path" or p.get("schema", {}).get("type") != "string"
                for p in op.get("parameters", [])
            )
            if breakable:
                out.append((method.upper(), path, GenerationMode.NEGATIVE))
    return out


# The WebSocket route and the HTML pages (/wallboard, /lead, /login, /setup, /reports/*) are not
# in the schema (include_in_schema=False); every operation that is, is fuzzed here.
OPERATIONS = _operations()


@pytest.fixture(params=["sqlite"])
def db_url(request, tmp_path) -> Iterator[str]:
    """SQLite only: the answers checked here do not depend on the engine, and SQLite keeps the
    run short (engine-specific paths have their own tests on both)."""
    yield from fresh_database(request, tmp_path)


def error_is_json_with_detail(ctx, response, case) -> bool | None:
    """The app's error contract: every 4xx/5xx of the API is JSON carrying a ``detail``, and
    each entry of ``errors`` names a field and a reason."""
    if response.status_code < 400:
        return None
    ctype = response.headers.get("content-type", [""])[0]
    assert ctype.startswith("application/json"), (
        f"{response.status_code} answered as {ctype!r}, not JSON"
    )
    body = response.json()
    assert isinstance(body, dict) and body.get("detail"), f"error without a detail: {body!r}"
    for err in body.get("errors", []):
        assert err.get("field") and err.get("reason"), f"error entry without field/reason: {err}"
    return True


CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    content_type_conformance,
    response_headers_conformance,
    error_is_json_with_detail,
]


def to_testclient(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Requests-style keyword arguments of a case (``case.as_transport_kwargs``) for httpx's
    TestClient: a str/bytes ``data`` is the raw body, multipart form fields are text."""
    keys = ("method", "url", "params", "headers", "cookies")
    out = {k: kwargs[k] for k in keys if kwargs.get(k)}
    if kwargs.get("json") is not None:
        out["json"] = kwargs["json"]
    data = kwargs.get("data")
    if isinstance(data, str | bytes):
        out["content"] = data
    elif data is not None:
        out["data"] = data
    if kwargs.get("files"):
        out["files"] = [
            (name, (value[0], value[1] if isinstance(value[1], str | bytes) else str(value[1])))
            for name, value in kwargs["files"]
        ]
    return out


def send_and_validate(api, case, checks) -> int:
    """Send ``case`` with the admin token through the app's TestClient and run ``checks`` on
    the answer; its status code."""
    kwargs = case.as_transport_kwargs(base_url=BASE_URL)
    kwargs["headers"] = {**kwargs.get("headers", {}), **api.auth(api.admin)}
    say = note if currently_in_test_context() else print
    say(case.as_curl_command(headers={"Authorization": "Bearer <admin>"}, base_url=BASE_URL))
    resp = api.client.request(**to_testclient(kwargs))
    say(f"-> {resp.status_code} {resp.text[:300]}")
    case.validate_response(resp, checks=checks, headers=kwargs["headers"])
    return resp.status_code


def load_schema(api):
    return schemathesis.openapi.from_dict(api.client.get("/openapi.json").json())


@pytest.mark.parametrize(
    ("method", "path", "mode"), OPERATIONS, ids=[f"{m} {p} {g.value}" for m, p, g in OPERATIONS]
)
def test_operation_answers_within_its_schema(api, method, path, mode):
    operation = load_schema(api)[path][method]
    documented = set(operation.definition.raw.get("responses", {}))
    checks = CHECKS + ([negative_data_rejection] if mode is GenerationMode.NEGATIVE else [])

    @hsettings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        # The api fixture (one app, one database) serves every example on purpose: state left
        # by earlier examples (teams, reps, profiles created) is part of what is explored.
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        code = send_and_validate(api, case, checks)
        assert str(code) in documented or "default" in documented, (
            f"{method} {path} answered {code}, a status its schema does not document "
            f"({', '.join(sorted(documented))}); declare it with responses="
        )

    run()


# Boundary values the random runs reach only now and then (they found each of these): the
# oldest and newest representable days and instants, and ids past a 64-bit integer. Each must be
# refused with a 4xx (or answered), never crash the server.
_DAY_ROUTES = [
    "/api/v1/floor/snapshot",
    "/api/v1/floor/plan",
    "/api/v1/alerts",
    "/api/v1/reports/daily",
    "/api/v1/reports/weekly",
    "/api/v1/reports/monthly",
]
EDGES: list[tuple[str, str, dict[str, Any]]] = [
    *(("GET", p, {"query": {"day": d}}) for p in _DAY_ROUTES for d in ("0001-01-01", "9999-12-31")),
    ("GET", "/api/v1/floor/snapshot", {"query": {"at": "0001-01-01T00:00:00+09:00"}}),
    ("GET", "/api/v1/floor/snapshot", {"query": {"at": "9999-12-31T23:59:59-09:00"}}),
    ("GET", "/api/v1/reports/weekly", {"query": {"week": "0001-W01"}}),
    ("GET", "/api/v1/reports/weekly", {"query": {"week": "9999-W52"}}),
    ("GET", "/api/v1/reports/monthly", {"query": {"month": "0001-01"}}),
    ("GET", "/api/v1/reports/monthly", {"query": {"month": "9999-12"}}),
    *(
        (
            "POST",
            "/api/v1/alerts/{alert_id}/ack",
            {"path_parameters": {"alert_id": i}, "body": {"by": "lead", "note": "called back"}},
        )
        for i in (2**63, -(2**63) - 1)
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "parts"),
    EDGES,
    ids=[f"{m} {p} {x.get('query') or x['path_parameters']}" for m, p, x in EDGES],
)
def test_boundary_values_are_answered_not_crashed(api, method, path, parts):
    operation = load_schema(api)[path][method]
    media = {"media_type": "application/json"} if "body" in parts else {}
    case = operation.Case(**parts, **media)
    code = send_and_validate(api, case, [not_a_server_error, error_is_json_with_detail])
    assert code < 500
