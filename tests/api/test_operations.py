"""What an operator runs the service by: readiness, Prometheus metrics, request ids and the
access log."""

from __future__ import annotations

import logging
import re

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.conftest import SECRET


def test_readyz_says_ready_when_the_database_answers_and_is_current(api):
    resp = api.client.get("/readyz")
    assert resp.status_code == 200
    body = resp.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"] == "ok" and body["checks"]["migrations"] == "current"
    assert body["checks"]["bus"] in ("memory: connected", "postgres: connected")


def _app(tmp_path, url: str) -> TestClient:
    settings = Settings(
        database_url=url, data_dir=tmp_path / "var", secret_key=SECRET, _env_file=None
    )
    return TestClient(create_app(settings))


def test_readyz_is_503_naming_the_pending_migrations(tmp_path):
    with _app(tmp_path, f"sqlite:///{tmp_path / 'never-migrated.db'}") as client:
        resp = client.get("/readyz")
        assert client.get("/healthz").status_code == 200  # alive, just not ready
    assert resp.status_code == 503
    assert resp.json()["status"] == "not ready"
    assert resp.json()["checks"]["migrations"].startswith("pending: ")
    assert "0001" in resp.json()["checks"]["migrations"]


def test_readyz_is_503_when_the_database_is_unreachable(tmp_path):
    with _app(tmp_path, "postgresql://paceboard:hunter2@127.0.0.1:1/floor") as client:
        resp = client.get("/readyz")
    assert resp.status_code == 503
    assert resp.json()["checks"]["database"] == "unreachable (OperationalError)"
    assert "hunter2" not in resp.text and "127.0.0.1" not in resp.text  # the kind, not the URL


def _metric(text: str, name: str, **labels: str) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = re.match(r"^([a-z_]+)(?:\{(.*)\})? (\S+)$", line)
        if m and m.group(1) == name:
            got = ",".join(sorted((m.group(2) or "").split(","))) if m.group(2) else ""
            if got == want:
                return float(m.group(3))
    raise AssertionError(f"{name}{{{want}}} not in metrics")


def test_metrics_count_ingest_by_result_and_time_requests_by_route(api, rec):
    api.post_calls(
        [
            rec("m1", customer="13800138000"),
            rec("m2"),
            rec("m1", customer="13800138000"),
            rec("bad", disposition="maybe"),
        ]
    )
    api.patch_call("default", "m2", {"outcome": "sale", "order_value": "10"})
    text = api.client.get("/metrics").text
    assert _metric(text, "paceboard_ingest_records_total", status="created") == 2
    assert _metric(text, "paceboard_ingest_records_total", status="duplicate") == 1
    assert _metric(text, "paceboard_ingest_records_total", status="rejected") == 1
    assert _metric(text, "paceboard_ingest_records_total", status="updated") == 1
    assert _metric(text, "paceboard_ingest_rejects_total") == 1
    route = "/api/v1/calls/{source}/{call_id}"  # the template, never the call's own path
    assert (
        _metric(
            text,
            "paceboard_http_request_duration_seconds_count",
            method="PATCH",
            route=route,
            status="200",
        )
        == 1
    )
    assert _metric(text, "paceboard_live_sockets") == 0
    assert _metric(text, "paceboard_bus_connected") == 1
    assert "13800138000" not in text and "/m2" not in text and api.ingest not in text


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("pbx-7f3a.42", True),
        ("has spaces", False),
        ("x" * 65, False),
        ("a\r\nSet-Cookie: x", False),
    ],
)
def test_a_request_id_is_echoed_when_sane_and_made_up_otherwise(api, sent, kept):
    resp = api.client.get("/healthz", headers={"X-Request-ID": sent})
    got = resp.headers["x-request-id"]
    assert (got == sent) is kept
    if not kept:
        assert re.fullmatch(r"[0-9a-f]{32}", got)


def test_the_access_log_line_carries_the_request_id_route_and_no_secret(api, caplog):
    caplog.set_level(logging.INFO, logger="paceboard.access")
    api.client.get("/wallboard", params={"token": api.read}, headers={"X-Request-ID": "tv-3"})
    [line] = [r for r in caplog.records if r.name == "paceboard.access"]
    assert line.request_id == "tv-3" and line.status == 200 and line.method == "GET"
    assert line.path == "/wallboard?token=pb_…" and api.read not in line.getMessage()
    assert line.duration_ms >= 0
