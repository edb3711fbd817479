"""HTTP hardening (app/api/security.py, app/api/errors.py): security headers on every answer,
the request body limit on every route, and 500s as JSON without a traceback.

Token checks need no timing test: an API token, display link, session or setup secret is looked
up by the SHA-256 of what the caller sent (``WHERE token_hash = ?``). An attacker who learns from
timing how much of a *hash* matched learns nothing about the secret, because they cannot choose
a secret whose hash has a prefix they want (that is a preimage search on SHA-256), and the
secrets carry 256 random bits, so guessing is out of reach anyway. A byte-by-byte ``==`` on the
secret itself is what would leak; nothing compares secrets directly (the CSRF check uses
``hmac.compare_digest``).
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.api.rendering import PAGE_HEADERS
from app.main import create_app
from tests.conftest import record

STRICT = "default-src 'none'; frame-ancestors 'none'"


def assert_hardened(resp, csp: str = STRICT) -> None:
    h = resp.headers
    assert h["x-content-type-options"] == "nosniff"
    assert h["referrer-policy"] == "no-referrer"
    assert h["x-frame-options"] == "DENY"
    assert h["content-security-policy"] == csp
    # One of each, not the page's and the middleware's both.
    for name in ("x-content-type-options", "referrer-policy", "content-security-policy"):
        assert len(h.get_list(name)) == 1, (name, h.get_list(name))


def test_headers_on_a_json_route_and_its_refusals(api):
    resp = api.client.get("/api/v1/teams", headers=api.auth(api.read))
    assert resp.status_code == 200
    assert_hardened(resp)
    assert_hardened(api.client.get("/api/v1/teams"))  # 401


def test_headers_on_healthz_and_a_404(api):
    resp = api.client.get("/healthz")
    assert resp.status_code == 200 and resp.json() == {"status": "ok"}
    assert_hardened(resp)
    resp = api.client.get("/no/such/page")
    assert resp.status_code == 404 and resp.json() == {"detail": "Not Found"}
    assert_hardened(resp)


def test_a_page_keeps_its_own_strict_policy(api):
    resp = api.client.get("/wallboard", params={"token": api.read})
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
    assert_hardened(resp, csp=PAGE_HEADERS["Content-Security-Policy"])
    assert "script-src 'self'" in resp.headers["content-security-policy"]
    refused = api.client.get("/wallboard")  # the 401 page too
    assert refused.status_code == 401
    assert_hardened(refused, csp=PAGE_HEADERS["Content-Security-Policy"])


def test_static_files_and_the_api_docs_cannot_be_framed(api):
    js = api.client.get("/static/wallboard.js")
    assert js.status_code == 200
    assert_hardened(js)
    docs = api.client.get("/docs")  # loads its assets from a CDN: only framing is forbidden
    assert docs.status_code == 200
    assert_hardened(docs, csp="frame-ancestors 'none'")


def test_a_body_over_the_limit_is_413_by_its_content_length(api):
    limit = api.client.app.state.settings.max_body_bytes
    body = b'{"metric": "dials", "period": "day", "value": 1, "pad": "' + b"x" * limit + b'"}'
    resp = api.client.put(
        "/api/v1/targets",
        content=body,
        headers={**api.auth(api.admin), "Content-Type": "application/json"},
    )
    assert resp.status_code == 413
    assert resp.json() == {
        "detail": f"body is larger than {limit} bytes",
        "errors": [{"field": "body", "reason": f"body is larger than {limit} bytes"}],
    }
    assert_hardened(resp)
    # Refused before authentication: nobody can make the server read a big body.
    assert api.client.put("/api/v1/targets", content=body).status_code == 413


def test_a_chunked_body_is_cut_when_it_passes_the_limit(api):
    limit = api.client.app.state.settings.max_body_bytes
    sent = []

    def chunks():
        for _ in range(limit // 65536 + 8):
            sent.append(65536)
            yield b" " * 65536

    resp = api.client.put(
        "/api/v1/targets",
        content=chunks(),
        headers={**api.auth(api.admin), "Content-Type": "application/json"},
    )
    assert resp.request.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in resp.request.headers
    assert resp.status_code == 413, resp.text
    assert resp.json()["errors"] == [
        {"field": "body", "reason": f"body is larger than {limit} bytes"}
    ]


def test_ingest_keeps_its_own_words_for_a_big_batch(api):
    limit = api.client.app.state.settings.max_body_bytes
    resp = api.client.post(
        "/api/v1/calls",
        content=b"[" + b" " * limit + b"]",
        headers={**api.auth(api.ingest), "Content-Type": "application/json"},
    )
    assert resp.status_code == 413
    assert resp.json()["detail"] == f"body is larger than {limit} bytes; split it into batches"

    def chunks():
        yield b"["
        for _ in range(limit // 65536 + 2):
            yield b" " * 65536
        yield b"]"

    resp = api.client.post(
        "/api/v1/calls",
        content=chunks(),
        headers={**api.auth(api.ingest), "Content-Type": "application/json"},
    )
    assert resp.status_code == 413
    assert "split it into batches" in resp.json()["detail"]
    # Under the limit, everything works as before.
    assert api.post_calls([record("small")])["created"] == 1


def test_an_upload_is_exempt_but_authenticated_before_its_body_is_read(api):
    limit = api.client.app.state.settings.max_body_bytes
    big = b"call_id,rep\n" + b"x" * (limit + 1)
    files = {"file": ("big.csv", big, "text/csv")}
    # Without a credential (or with one too weak) the upload is refused before it is read.
    resp = api.client.post("/api/v1/imports", files=files)
    assert resp.status_code == 401 and "errors" not in resp.json()
    resp = api.client.post("/api/v1/imports", files=files, headers=api.auth(api.read))
    assert resp.status_code == 403
    # An admin's upload over the API body limit reaches the importer (which judges the rows).
    resp = api.client.post(
        "/api/v1/imports", files=files, data={"format": "csv"}, headers=api.auth(api.admin)
    )
    assert resp.status_code != 413, resp.text


def test_an_unexpected_error_is_json_500_without_a_traceback(settings, caplog):
    app = create_app(settings)

    @app.get("/test-only/boom")
    def boom() -> None:
        raise RuntimeError("secret internals: /srv/paceboard/app.py line 42")

    with TestClient(app, raise_server_exceptions=False) as client:
        resp = client.get("/test-only/boom")
    assert resp.status_code == 500
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert body["detail"] == "internal error"
    assert "Traceback" not in resp.text and "secret internals" not in resp.text
    assert_hardened(resp)
    # The traceback is for the operator: in the server's log, not the answer.
    assert any("secret internals" in (r.exc_text or "") for r in caplog.records) or any(
        r.exc_info and "secret internals" in str(r.exc_info[1]) for r in caplog.records
    )
