"""Signing in and out (/login, /logout), the first admin (/setup) and the setup link that
``paceboard serve`` prints while there are no users.

The cookie flows use ``api.client`` directly: ``Api.call`` would add an admin bearer token.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from app.api.auth import safe_next
from app.api.limits import AttemptLimiter
from app.commands.server import setup_notice
from app.db import session_scope
from app.main import create_app
from app.models import AppUser, Team
from app.services.roster import create_team
from app.services.users import create_setup_link, create_user
from tests.conftest import SQLITE_ONLY, TEAM_DEFAULTS, spread

PASSWORD = "correct horse battery"
SESSION = "paceboard_session"
FORM_COOKIE = "paceboard_login_csrf"


# --- helpers ---------------------------------------------------------------------------------


class Form(HTMLParser):
    """The hidden and visible inputs of a page's forms, scripts and inline handlers."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.inputs: dict[str, str] = {}
        self.forms: list[dict[str, str | None]] = []
        self.scripts: list[dict[str, str | None]] = []
        self.handlers: list[str] = []
        self.links: dict[str, str] = {}
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.handlers += [k for k in attrs if k.startswith("on")]
        if tag == "input" and attrs.get("name"):
            self.inputs[attrs["name"]] = attrs.get("value") or ""
        elif tag == "form":
            self.forms.append(attrs)
        elif tag == "script":
            self.scripts.append(attrs)
        elif tag == "a" and attrs.get("id"):
            self.links[attrs["id"]] = attrs.get("href") or ""


def make_user(engine, username: str = "lead1", role: str = "lead", teams=("一组",)) -> None:
    with session_scope(engine) as session:
        for name in teams:
            if session.exec(select(Team).where(Team.name == name)).first() is None:
                create_team(session, name=name, defaults=TEAM_DEFAULTS)
        create_user(
            session,
            username=username,
            password=PASSWORD,
            role=role,
            teams=list(teams) if role == "lead" else [],
        )


def form_of(client: TestClient, path: str = "/login", **params) -> dict[str, str]:
    resp = client.get(path, params=params)
    assert resp.status_code == 200, resp.text
    return Form(resp.text).inputs


def sign_in(
    client: TestClient, username: str = "lead1", password: str = PASSWORD, **fields: str
) -> httpx.Response:
    """Open the form (its double-submit cookie lands in the client) and submit it."""
    form = form_of(client)
    data = {**form, "username": username, "password": password, **fields}
    return client.post("/login", data=data, follow_redirects=False)


def cookie_attrs(resp: httpx.Response, name: str) -> dict[str, str]:
    """The attributes of the Set-Cookie of ``name`` (lower-case keys; flags map to "")."""
    for header in resp.headers.get_list("set-cookie"):
        first, *rest = [p.strip() for p in header.split(";")]
        key, _, value = first.partition("=")
        if key == name:
            attrs = {"value": value}
            for part in rest:
                k, _, v = part.partition("=")
                attrs[k.lower()] = v
            return attrs
    raise AssertionError(f"no Set-Cookie for {name}: {resp.headers.get_list('set-cookie')}")


def console_csrf(client: TestClient, cookie: str | None = None) -> str:
    headers = {"Cookie": f"{SESSION}={cookie}"} if cookie else {}
    resp = client.get("/lead", headers=headers)
    assert resp.status_code == 200, resp.text
    return re.search(r'data-csrf="([0-9a-f]+)"', resp.text).group(1)


@pytest.fixture
def lead(api):
    make_user(api.engine)
    return api


# --- signing in ------------------------------------------------------------------------------


def test_signing_in_sets_an_httponly_lax_session_cookie_that_opens_the_console(lead):
    client = lead.client
    assert client.get("/lead").status_code == 401
    resp = sign_in(client)
    assert resp.status_code == 303
    assert resp.headers["location"] == "/lead"
    attrs = cookie_attrs(resp, SESSION)
    assert attrs["value"].startswith("pbs_")
    assert "httponly" in attrs and attrs["samesite"].lower() == "lax"
    assert attrs["path"] == "/" and attrs["max-age"] == str(12 * 3600)
    assert "secure" not in attrs  # plain http and no setting: a LAN install still signs in
    page = client.get("/lead")  # the client keeps the cookie, like a browser
    assert page.status_code == 200
    assert re.search(r'data-csrf="[0-9a-f]{64}"', page.text)
    assert "lead1" in page.text and 'action="/logout"' in page.text


def test_the_login_form_is_chinese_by_default_english_on_request_and_strict(api):
    zh = api.client.get("/login")
    en = api.client.get("/login", params={"lang": "en"})
    assert zh.status_code == en.status_code == 200
    assert '<html lang="zh-CN">' in zh.text and "登录" in zh.text
    assert '<html lang="en">' in en.text and "Sign in" in en.text
    for resp in (zh, en):
        assert "script-src 'self'" in resp.headers["content-security-policy"]
        assert resp.headers["cache-control"] == "no-store"
        assert resp.headers["x-frame-options"] == "DENY"
        page = Form(resp.text)
        assert page.scripts == [] and page.handlers == []
        assert page.forms[0]["method"] == "post" and page.forms[0]["action"] == "/login"
        form_cookie = cookie_attrs(resp, FORM_COOKIE)
        assert "httponly" in form_cookie and form_cookie["samesite"].lower() == "strict"
        assert page.inputs["csrf"] == api.client.cookies[FORM_COOKIE]


@pytest.mark.parametrize(
    ("update", "secure"),
    [
        ({"secure_cookies": True}, True),
        ({"public_url": "https://paceboard.example.com"}, True),
        ({"public_url": "https://paceboard.example.com", "secure_cookies": False}, False),
        ({"public_url": "http://paceboard.lan"}, False),
    ],
)
def test_the_cookies_are_secure_when_set_so_or_the_public_url_is_https(
    settings, engine, update, secure
):
    make_user(engine)
    app = create_app(settings.model_copy(update=update))
    # An https base URL: the client then sends Secure cookies back, like a browser would.
    with TestClient(app, base_url="https://testserver") as client:
        form_cookie = cookie_attrs(client.get("/login"), FORM_COOKIE)
        resp = sign_in(client)
    assert resp.status_code == 303, resp.text
    assert ("secure" in cookie_attrs(resp, SESSION)) is secure
    assert ("secure" in form_cookie) is secure


def test_a_wrong_password_gets_401_with_the_same_words_as_an_unknown_user(lead):
    wrong = sign_in(lead.client, password="not the password at all")
    unknown = sign_in(lead.client, username="nobody", password="not the password at all")
    assert wrong.status_code == unknown.status_code == 401
    error = re.compile(r'<p id="auth-error"[^>]*>([^<]+)</p>')
    assert (
        error.search(wrong.text).group(1)
        == error.search(unknown.text).group(1)
        == ("用户名或密码错误")
    )
    assert "not the password at all" not in wrong.text  # never echoed
    assert Form(wrong.text).inputs["username"] == "lead1"  # the name is, for a retry
    assert SESSION not in wrong.headers.get("set-cookie", "")


def test_the_username_is_echoed_escaped(lead):
    resp = sign_in(lead.client, username='"><script>x()</script>', password="whatever at all")
    assert resp.status_code == 401
    assert "<script>x()" not in resp.text and "&lt;script&gt;" in resp.text


def test_five_wrong_passwords_lock_the_account_even_against_the_right_one(lead):
    for _ in range(4):
        assert sign_in(lead.client, password="wrong password!").status_code == 401
    fifth = sign_in(lead.client, password="wrong password!", lang="en")
    assert fifth.status_code == 429
    assert "locked" in fifth.text and "15 minutes" in fifth.text
    right = sign_in(lead.client, lang="en")
    assert right.status_code == 429 and "locked" in right.text
    assert int(right.headers["retry-after"]) > 0
    assert SESSION not in right.headers.get("set-cookie", "")
    with session_scope(lead.engine) as session:  # the lock was committed, not rolled back
        user = session.exec(select(AppUser).where(AppUser.username == "lead1")).one()
        assert user.locked_until is not None


def test_too_many_failures_from_one_address_get_429_with_retry_after(lead):
    lead.client.app.state.login_limiter = AttemptLimiter(limit=3, window=300)
    for name in ("a", "b", "c"):  # different names: no account lockout is involved
        assert sign_in(lead.client, username=name, password="guess guess").status_code == 401
    refused = sign_in(lead.client)  # even the right password, from this address
    assert refused.status_code == 429
    assert 0 < int(refused.headers["retry-after"]) <= 300
    assert "请" in refused.text and SESSION not in refused.headers.get("set-cookie", "")


def test_the_limiter_forgives_successes_forgets_old_failures_and_stays_bounded():
    now = [0.0]
    limit = AttemptLimiter(limit=2, window=60, max_clients=3, clock=lambda: now[0])
    for _ in range(5):  # successful sign-ins from one NAT address never add up
        assert limit.attempt("10.0.0.1") == 0
        limit.succeeded("10.0.0.1")
    assert limit.attempt("10.0.0.2") == 0 and limit.attempt("10.0.0.2") == 0
    now[0] = 10.0
    assert limit.attempt("10.0.0.2") == 50  # the oldest failure expires in 50 s
    now[0] = 61.0
    assert limit.attempt("10.0.0.2") == 0
    for i in range(10):
        limit.attempt(f"192.0.2.{i}")
    assert len(limit._hits) <= 3


def test_the_login_form_refuses_a_missing_or_wrong_csrf_value(lead):
    client = lead.client
    good = form_of(client)
    data = {**good, "username": "lead1", "password": PASSWORD}
    no_field = client.post("/login", data={**data, "csrf": ""}, follow_redirects=False)
    wrong = client.post("/login", data={**data, "csrf": "x" * 43}, follow_redirects=False)
    client.cookies.delete(FORM_COOKIE)
    no_cookie = client.post("/login", data=data, follow_redirects=False)
    for resp in (no_field, wrong, no_cookie):
        assert resp.status_code == 403, resp.text
        assert SESSION not in resp.headers.get("set-cookie", "")
    assert client.get("/lead").status_code == 401


@pytest.mark.parametrize(
    ("next_value", "location"),
    [
        ("//evil.com", "/lead"),
        ("https://evil.com/lead", "/lead"),
        ("/\\evil.com", "/lead"),
        ("/\t/evil.com", "/lead"),
        ("javascript:alert(1)", "/lead"),
        ("/login", "/lead"),
        ("", "/lead"),
        ("/wallboard", "/wallboard"),
        ("/lead?team=一组&lang=en", "/lead?team=%E4%B8%80%E7%BB%84&lang=en"),
    ],
)
def test_next_leads_only_to_a_path_on_this_site(lead, next_value, location):
    resp = sign_in(lead.client, next=next_value)
    assert resp.status_code == 303
    assert resp.headers["location"] == location


def test_safe_next_refuses_every_way_off_the_site():
    for bad in ("//x", " //x", "/\\x", "\\\\x", "http://x", "/\nx", "x", "/logout", "/setup?t=1"):
        assert safe_next(bad) is None, bad
    assert safe_next("/lead?team=A") == "/lead?team=A"


def test_the_english_form_lands_on_the_english_console(lead):
    resp = sign_in(lead.client, lang="en")
    assert resp.headers["location"] == "/lead?lang=en"


# --- signing out -----------------------------------------------------------------------------


def test_signing_out_needs_the_csrf_token_and_ends_the_session(lead):
    client = lead.client
    secret = cookie_attrs(sign_in(client), SESSION)["value"]
    refused = client.post("/logout", follow_redirects=False)
    assert refused.status_code == 403
    assert client.get("/lead").status_code == 200  # still signed in
    csrf = console_csrf(client)
    resp = client.post("/logout", data={"csrf": csrf}, follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/login"
    gone = cookie_attrs(resp, SESSION)
    assert gone["value"] in ("", '""') and gone["max-age"] == "0"
    # The session itself is over, not just the browser's cookie.
    replay = client.get("/lead", headers={"Cookie": f"{SESSION}={secret}"})
    assert replay.status_code == 401


def test_signing_out_with_the_csrf_header(lead):
    client = lead.client
    secret = cookie_attrs(sign_in(client), SESSION)["value"]
    csrf = console_csrf(client)
    resp = client.post("/logout", headers={"X-CSRF-Token": csrf}, follow_redirects=False)
    assert resp.status_code == 303
    assert client.get("/lead", headers={"Cookie": f"{SESSION}={secret}"}).status_code == 401


def test_signing_out_without_a_session_just_goes_to_the_form(api):
    resp = api.client.post("/logout", data={"lang": "en"}, follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/login?lang=en"


def test_a_lead_session_acknowledges_an_alert_only_with_the_csrf_header(api):
    api.call("POST", "/api/v1/teams", json={"name": "A"})
    api.call("POST", "/api/v1/reps", json={"code": "a1", "name": "a1", "team": "A"})
    engine = api.client.app.state.alerts
    engine.stop()
    day = "2026-11-24"
    api.post_calls(spread("a1", 5, f"{day}T09:30:00+08:00", f"{day}T10:30:00+08:00"))
    at = datetime.fromisoformat(f"{day}T10:45:00+08:00")
    alert = next(a for a in engine.evaluate(at) if a["kind"] == "behind_pace")
    make_user(api.engine, "lead-a", teams=("A",))
    client = api.client
    assert sign_in(client, username="lead-a").status_code == 303
    note = {"by": "lead-a", "note": "sat with a1"}
    url = f"/api/v1/alerts/{alert['id']}/ack"
    refused = client.post(url, json=note)
    assert refused.status_code == 403 and "X-CSRF-Token" in refused.json()["detail"]
    wrong = client.post(url, json=note, headers={"X-CSRF-Token": "0" * 64})
    assert wrong.status_code == 403
    done = client.post(url, json=note, headers={"X-CSRF-Token": console_csrf(client)})
    assert done.status_code == 200, done.text
    assert done.json()["acknowledged_by"] == "lead-a"


# --- the 401 page and the console's sign-out -------------------------------------------------


def test_the_401_page_links_to_sign_in_and_back_without_the_token(api):
    bad = "pb_" + "x" * 40
    resp = api.client.get("/lead", params={"token": bad, "team": "一组", "lang": "en"})
    assert resp.status_code == 401
    href = Form(resp.text).links["sign-in"]
    assert bad not in href
    url = urlsplit(href)
    assert url.path == "/login"
    query = parse_qs(url.query)
    assert query["lang"] == ["en"]
    [back] = query["next"]
    assert urlsplit(back).path == "/lead"
    assert parse_qs(urlsplit(back).query) == {"team": ["一组"], "lang": ["en"]}
    assert api.client.get(href).status_code == 200


def test_a_403_page_links_to_sign_in_without_the_token(api):
    resp = api.client.get("/lead", params={"token": api.read})
    assert resp.status_code == 403
    href = Form(resp.text).links["sign-in"]
    assert api.read not in resp.text and parse_qs(urlsplit(href).query)["next"] == ["/lead"]


def test_only_a_signed_in_user_sees_sign_out(api):
    headers = api.sign_in("lead1", teams=("一组",))
    signed_in = api.client.get("/lead", headers={"Cookie": headers["Cookie"]})
    form = Form(signed_in.text)
    assert form.inputs["csrf"] == headers["X-CSRF-Token"]
    assert any(f.get("action") == "/logout" for f in form.forms)
    by_token = api.client.get("/lead", params={"token": api.admin})
    assert not any(f.get("action") == "/logout" for f in Form(by_token.text).forms)


# --- the first admin -------------------------------------------------------------------------


def setup_link(engine) -> str:
    with session_scope(engine) as session:
        return create_setup_link(session, now=datetime.now(UTC))


def user_count(engine) -> int:
    with session_scope(engine) as session:
        return len(session.exec(select(AppUser)).all())


def submit_setup(client: TestClient, token: str, **fields: str) -> httpx.Response:
    form = form_of(client, "/setup", token=token)
    data = {**form, "username": "boss", "password": PASSWORD, "password2": PASSWORD, **fields}
    return client.post("/setup", data=data, follow_redirects=False)


def test_the_setup_link_creates_the_first_admin_once(api):
    token = setup_link(api.engine)
    page = api.client.get("/setup", params={"token": token})
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert Form(page.text).scripts == [] and Form(page.text).inputs["token"] == token
    resp = submit_setup(api.client, token)
    assert resp.status_code == 303 and resp.headers["location"] == "/admin"
    assert cookie_attrs(resp, SESSION)["value"].startswith("pbs_")
    console = api.client.get("/lead")
    assert console.status_code == 200 and "boss" in console.text
    # Used up: neither the form nor a replayed submission works again.
    assert api.client.get("/setup", params={"token": token}).status_code == 403
    data = {"token": token, "username": "boss2", "password": PASSWORD, "password2": PASSWORD}
    api.client.cookies.set(FORM_COOKIE, "y" * 43)
    again = api.client.post("/setup", data={**data, "csrf": "y" * 43}, follow_redirects=False)
    assert again.status_code == 403
    assert user_count(api.engine) == 1


def test_a_setup_mistake_leaves_the_link_usable(api):
    token = setup_link(api.engine)
    mismatch = submit_setup(api.client, token, password2="something else entirely")
    short = submit_setup(api.client, token, password="short", password2="short", lang="en")
    bad_name = submit_setup(api.client, token, username="has space")
    assert mismatch.status_code == short.status_code == bad_name.status_code == 422
    assert "At least 10 characters" in short.text
    assert PASSWORD not in mismatch.text
    assert user_count(api.engine) == 0
    assert submit_setup(api.client, token).status_code == 303


def test_setup_refuses_an_unknown_link_and_a_missing_csrf_value(api):
    assert api.client.get("/setup", params={"token": "pbsetup_" + "x" * 43}).status_code == 403
    assert api.client.get("/setup").status_code == 403
    token = setup_link(api.engine)
    data = {"token": token, "username": "boss", "password": PASSWORD, "password2": PASSWORD}
    resp = api.client.post("/setup", data=data, follow_redirects=False)
    assert resp.status_code == 403 and user_count(api.engine) == 0


# --- paceboard serve -------------------------------------------------------------------------


def test_the_setup_notice_names_a_reachable_address(settings, engine):
    line = setup_notice(settings.model_copy(update={"host": "0.0.0.0", "port": 8123}))
    assert line is not None
    assert line.startswith("No users yet. Create the first admin within 24 hours: ")
    assert re.search(r"http://127\.0\.0\.1:8123/setup\?token=pbsetup_\S+$", line)
    public = setup_notice(settings.model_copy(update={"public_url": "https://pb.example.com/"}))
    assert public is not None and "https://pb.example.com/setup?token=pbsetup_" in public
    make_user(engine, "boss", role="admin", teams=())
    assert setup_notice(settings) is None


@SQLITE_ONLY  # what `serve` prints; counting users is tested on both engines
def test_serve_prints_a_setup_link_while_there_are_no_users(live_server):
    live_server.start()
    found = re.search(
        r"No users yet\. Create the first admin within 24 hours: (\S+/setup\?token=\S+)",
        live_server.log.read_text(),
    )
    assert found, live_server.log.read_text()
    url = found.group(1)
    assert url.startswith(live_server.url + "/setup?token=pbsetup_")
    assert httpx.get(url, timeout=10).status_code == 200
    created = live_server.cli(
        "user", "create", "boss", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n"
    )
    assert created.returncode == 0, created.stderr
    assert httpx.get(url, timeout=10).status_code == 403  # users exist: the link is dead
    live_server.stop()
    live_server.log.write_text("")
    live_server.start()
    assert "No users yet" not in live_server.log.read_text()
