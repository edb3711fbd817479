"""The web admin's JSON routes and its page: users and their teams, TV links with their settings
and QR code, API tokens shown once, the roster CSV with per-line rejects, the checklist; admins
only (a lead, a display link and a token of another scope are refused), on both engines."""

from __future__ import annotations

import json
import logging
import shlex
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from app.db import session_scope
from app.main import create_app
from app.models import AppUser
from app.services.displays import link_qr
from app.services.users import authenticate
from tests.conftest import test_settings

PASSWORD = "correct horse battery"


@pytest.fixture
def admin(api) -> dict[str, str]:
    """A signed-in admin's headers (session cookie and CSRF token), with teams 一组 and 二组."""
    headers = api.sign_in("boss", role="admin", teams=())
    for team in ("一组", "二组"):
        assert call(api, "POST", "/api/v1/teams", headers, json={"name": team}).status_code == 201
    return headers


def call(api, method: str, path: str, headers: dict[str, str], **kw):
    return api.client.request(method, path, headers=headers, **kw)


def fields(resp) -> list[str]:
    assert resp.status_code == 422, resp.text
    return [e["field"] for e in resp.json()["errors"]]


# --- who may -----------------------------------------------------------------------------------

ADMIN_ROUTES = [
    ("GET", "/api/v1/admin/checklist"),
    ("GET", "/api/v1/users"),
    ("POST", "/api/v1/users"),
    ("PUT", "/api/v1/users/boss/password"),
    ("PUT", "/api/v1/users/boss/teams"),
    ("POST", "/api/v1/users/boss/disable"),
    ("GET", "/api/v1/displays"),
    ("POST", "/api/v1/displays"),
    ("PATCH", "/api/v1/displays/1"),
    ("POST", "/api/v1/displays/1/revoke"),
    ("GET", "/api/v1/tokens"),
    ("POST", "/api/v1/tokens"),
    ("POST", "/api/v1/tokens/1/revoke"),
    ("POST", "/api/v1/roster/import"),
]


def test_a_lead_a_read_token_and_a_display_link_reach_no_admin_route(api, admin):
    created = call(api, "POST", "/api/v1/displays", admin, json={"name": "TV"})
    secret = created.json()["url"].split("display=")[1]
    lead = api.sign_in("lead1", role="lead", teams=("一组",))
    for method, path in ADMIN_ROUTES:
        body = {"json": {}} if method != "GET" else {}
        assert call(api, method, path, lead, **body).status_code == 403, path
        resp = call(api, method, path, api.auth(api.read), **body)
        assert resp.status_code == 403, path
        resp = api.client.request(method, path, params={"display": secret}, **body)
        assert resp.status_code == 401, path
    # Nothing was changed by the refused calls: the admin is still the only admin, enabled.
    users = call(api, "GET", "/api/v1/users", admin).json()
    assert [(u["username"], u["disabled_at"]) for u in users] == [("boss", None), ("lead1", None)]


def test_a_signed_in_admins_change_needs_the_sessions_csrf_token(api, admin):
    no_csrf = {"Cookie": admin["Cookie"]}
    resp = call(api, "POST", "/api/v1/tokens", no_csrf, json={"name": "x", "scope": "read"})
    assert resp.status_code == 403 and "CSRF" in resp.json()["detail"]
    assert call(api, "GET", "/api/v1/tokens", no_csrf).status_code == 200


def test_the_admin_page_is_for_admins_and_a_lead_gets_the_403_page(api, admin):
    page = api.client.get("/admin", headers={"Cookie": admin["Cookie"]})
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert (
        'src="/static/admin.js"' in page.text
        and f'data-csrf="{admin["X-CSRF-Token"]}"' in page.text
    )
    assert 'data-origin="http://testserver"' in page.text
    lead = api.sign_in("lead1", role="lead", teams=("一组",))
    refused = api.client.get("/admin", headers={"Cookie": lead["Cookie"]})
    assert refused.status_code == 403 and "text/html" in refused.headers["content-type"]
    assert "admin.js" not in refused.text
    assert api.client.get("/admin").status_code == 401


def test_the_page_speaks_english_with_lang_en(api, admin):
    page = api.client.get("/admin", params={"lang": "en"}, headers={"Cookie": admin["Cookie"]})
    assert "<h1>Admin</h1>" in page.text and "Get started" in page.text


# --- users -------------------------------------------------------------------------------------


def test_an_admin_creates_a_lead_of_two_teams_and_an_admin(api, admin):
    body = {"username": "lead1", "password": PASSWORD, "role": "lead", "teams": ["一组", "二组"]}
    resp = call(api, "POST", "/api/v1/users", admin, json=body)
    assert resp.status_code == 201, resp.text
    assert resp.json()["teams"] == ["一组", "二组"] and resp.json()["role"] == "lead"
    body = {"username": "boss2", "password": PASSWORD, "role": "admin"}
    assert call(api, "POST", "/api/v1/users", admin, json=body).status_code == 201
    listed = call(api, "GET", "/api/v1/users", admin)
    assert [(u["username"], u["role"], u["teams"]) for u in listed.json()] == [
        ("boss", "admin", []),
        ("boss2", "admin", []),
        ("lead1", "lead", ["一组", "二组"]),
    ]
    assert PASSWORD not in listed.text and "argon2" not in listed.text


@pytest.mark.parametrize(
    ("body", "field", "status"),
    [
        ({"username": "has space", "password": PASSWORD, "role": "lead", "teams": ["一组"]},
         "username", 422),
        ({"username": "x", "password": "short", "role": "lead", "teams": ["一组"]},
         "password", 422),
        ({"username": "x", "password": PASSWORD, "role": "boss"}, "role", 422),
        ({"username": "x", "password": PASSWORD, "role": "lead"}, "team", 422),
        ({"username": "x", "password": PASSWORD, "role": "lead", "teams": ["九组"]}, "team", 404),
        ({"username": "boss", "password": PASSWORD, "role": "admin"}, "username", 409),
        ({"password": PASSWORD, "role": "admin"}, "username", 422),
    ],
)  # fmt: skip
def test_a_user_that_cannot_be_created_names_the_field(api, admin, body, field, status):
    resp = call(api, "POST", "/api/v1/users", admin, json=body)
    assert resp.status_code == status, resp.text
    assert field in [e["field"] for e in resp.json()["errors"]]


def test_a_password_reset_signs_the_user_in_with_the_new_one_only(api, admin):
    lead = api.sign_in("lead1", role="lead", teams=("一组",))
    new = "a brand new passphrase"
    resp = call(api, "PUT", "/api/v1/users/lead1/password", admin, json={"password": new})
    assert resp.status_code == 200, resp.text
    # Its sessions ended; the new password signs in, the old one does not.
    assert api.client.get("/api/v1/reps", headers={"Cookie": lead["Cookie"]}).status_code == 401
    with session_scope(api.engine) as s:
        assert authenticate(s, username="lead1", password=new, now=datetime.now(UTC))
    short = call(api, "PUT", "/api/v1/users/lead1/password", admin, json={"password": "short"})
    assert fields(short) == ["password"]
    missing = call(api, "PUT", "/api/v1/users/nobody/password", admin, json={"password": new})
    assert missing.status_code == 404 and missing.json()["errors"][0]["field"] == "username"


def test_a_leads_teams_are_set_and_take_effect_on_their_next_request(api, admin):
    lead = api.sign_in("lead1", role="lead", teams=("一组",))
    assert api.client.get("/api/v1/reps", params={"team": "二组"}, headers=lead).status_code == 403
    resp = call(api, "PUT", "/api/v1/users/lead1/teams", admin, json={"teams": ["二组"]})
    assert resp.status_code == 200 and resp.json()["teams"] == ["二组"]
    assert api.client.get("/api/v1/reps", params={"team": "二组"}, headers=lead).status_code == 200
    assert api.client.get("/api/v1/reps", params={"team": "一组"}, headers=lead).status_code == 403
    empty = call(api, "PUT", "/api/v1/users/lead1/teams", admin, json={"teams": []})
    assert empty.status_code == 422 and fields(empty) == ["team"]
    unknown = call(api, "PUT", "/api/v1/users/lead1/teams", admin, json={"teams": ["九组"]})
    assert unknown.status_code == 404
    admins = call(api, "PUT", "/api/v1/users/boss/teams", admin, json={"teams": ["一组"]})
    assert fields(admins) == ["team"]


def test_a_disabled_user_is_signed_out_and_the_last_admin_stays(api, admin):
    lead = api.sign_in("lead1", role="lead", teams=("一组",))
    resp = call(api, "POST", "/api/v1/users/lead1/disable", admin)
    assert resp.status_code == 200 and resp.json()["disabled_at"]
    assert api.client.get("/api/v1/reps", headers={"Cookie": lead["Cookie"]}).status_code == 401
    again = call(api, "POST", "/api/v1/users/lead1/disable", admin)
    assert again.status_code == 409
    last = call(api, "POST", "/api/v1/users/boss/disable", admin)
    assert last.status_code == 409 and "last active admin" in last.json()["detail"]
    with session_scope(api.engine) as s:
        boss = s.exec(select(AppUser).where(AppUser.username == "boss")).one()
        assert boss.disabled_at is None


# --- TV display links --------------------------------------------------------------------------

SETTINGS = {"size": "large", "views": ["live", "today", "pk"], "rotate_seconds": 20,
            "pin": None, "metric": "orders"}  # fmt: skip


def test_a_tv_link_is_shown_once_with_its_qr_code_and_listed_without_its_secret(api, admin, caplog):
    caplog.set_level(logging.DEBUG)
    body = {"name": "三楼电视", "teams": ["一组"], **SETTINGS}
    resp = call(api, "POST", "/api/v1/displays", admin, json=body)
    assert resp.status_code == 201, resp.text
    got = resp.json()
    assert got["url"].startswith("http://testserver/wallboard?display=pbd_")
    secret = got["url"].split("display=")[1]
    assert got["qr"] == link_qr(got["url"])
    assert got["display"]["settings"] == SETTINGS and got["display"]["teams"] == ["一组"]
    listed = call(api, "GET", "/api/v1/displays", admin)
    assert listed.json()[0]["prefix"] == secret[:10] and listed.json()[0]["settings"] == SETTINGS
    assert secret not in listed.text and secret[10:] not in listed.text
    assert secret[10:] not in caplog.text
    # The link opens the wallboard, which gets the settings in its page context.
    page = api.client.get("/wallboard", params={"display": secret})
    assert page.status_code == 200
    assert json.loads(page.context["view_settings"]) == SETTINGS


def test_a_link_made_without_settings_opens_the_wallboard_as_before(api, admin):
    resp = call(api, "POST", "/api/v1/displays", admin, json={"name": "TV"})
    secret = resp.json()["url"].split("display=")[1]
    page = api.client.get("/wallboard", params={"display": secret})
    shown = json.loads(page.context["view_settings"])
    assert shown == {"size": "normal", "views": ["live"], "rotate_seconds": 30, "pin": None,
                     "metric": "revenue"}  # fmt: skip
    # Screens opened with a read token or a session have no link, so no link settings.
    by_token = api.client.get("/wallboard", params={"token": api.read})
    assert by_token.status_code == 200 and "view_settings" not in by_token.context


def test_the_tv_link_uses_the_public_url_when_it_is_set(db_url, tmp_path, engine):
    settings = test_settings(db_url, tmp_path, public_url="https://board.example.com/floor3/")
    with TestClient(create_app(settings)) as client:
        from tests.conftest import Api

        api = Api(client, engine)
        admin = api.sign_in("boss", role="admin", teams=())
        resp = client.post("/api/v1/displays", json={"name": "TV"}, headers=admin)
        assert resp.json()["url"].startswith("https://board.example.com/floor3/wallboard?display=")
        token = client.post(
            "/api/v1/tokens", json={"name": "pbx", "scope": "ingest"}, headers=admin
        ).json()
        assert "https://board.example.com/floor3/api/v1/calls" in token["curl"]


def test_the_tv_link_follows_the_requests_origin_and_root_path(settings, engine):
    with TestClient(
        create_app(settings), base_url="http://10.0.0.5:9100", root_path="/pb"
    ) as client:
        from tests.conftest import Api

        api = Api(client, engine)
        admin = api.sign_in("boss", role="admin", teams=())
        resp = client.post("/api/v1/displays", json={"name": "TV"}, headers=admin)
        assert resp.status_code == 201, resp.text
        assert resp.json()["url"].startswith("http://10.0.0.5:9100/pb/wallboard?display=pbd_")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"size": "huge"}, "size"),
        ({"views": ["live", "tetris"]}, "views.1"),
        ({"views": []}, "views"),
        ({"rotate_seconds": 2}, "rotate_seconds"),
        ({"pin": "month"}, "pin"),
        ({"metric": "mood"}, "metric"),
        ({"name": ""}, "name"),
        ({"teams": ["一组"]}, "teams"),
    ],
)
def test_a_wrong_tv_setting_names_its_field(api, admin, change, field):
    made = call(api, "POST", "/api/v1/displays", admin, json={"name": "TV", **SETTINGS})
    display_id = made.json()["display"]["id"]
    resp = call(api, "PATCH", f"/api/v1/displays/{display_id}", admin, json=change)
    assert fields(resp) == [field]
    if field != "teams":  # teams are not a setting: only creation takes them
        created = call(api, "POST", "/api/v1/displays", admin, json={"name": "TV2", **SETTINGS,
                                                                     **change})  # fmt: skip
        assert fields(created) == [field]
    listed = call(api, "GET", "/api/v1/displays", admin).json()
    assert [d["settings"] for d in listed] == [SETTINGS]


def test_a_tv_links_settings_change_and_the_wallboard_follows(api, admin):
    made = call(api, "POST", "/api/v1/displays", admin, json={"name": "TV", **SETTINGS}).json()
    secret = made["url"].split("display=")[1]
    change = {"name": "大厅", "views": ["week", "heatmap"], "pin": "heatmap", "size": "normal"}
    resp = call(api, "PATCH", f"/api/v1/displays/{made['display']['id']}", admin, json=change)
    assert resp.status_code == 200, resp.text
    expected = SETTINGS | {"views": ["week", "heatmap"], "pin": "heatmap", "size": "normal"}
    assert resp.json()["settings"] == expected and resp.json()["name"] == "大厅"
    page = api.client.get("/wallboard", params={"display": secret})
    assert json.loads(page.context["view_settings"]) == expected
    unpin = call(api, "PATCH", f"/api/v1/displays/{made['display']['id']}", admin,
                 json={"pin": None})  # fmt: skip
    assert unpin.json()["settings"]["pin"] is None


def test_a_revoked_tv_link_stops_opening_the_wallboard(api, admin):
    made = call(api, "POST", "/api/v1/displays", admin, json={"name": "TV"}).json()
    secret, display_id = made["url"].split("display=")[1], made["display"]["id"]
    resp = call(api, "POST", f"/api/v1/displays/{display_id}/revoke", admin)
    assert resp.status_code == 200
    assert api.client.get("/wallboard", params={"display": secret}).status_code == 401
    again = call(api, "POST", f"/api/v1/displays/{display_id}/revoke", admin)
    assert again.status_code == 404 and again.json()["errors"][0]["field"] == "display_id"
    edit = call(api, "PATCH", f"/api/v1/displays/{display_id}", admin, json={"size": "large"})
    assert edit.status_code == 404


# --- API tokens --------------------------------------------------------------------------------


def test_an_ingest_token_is_shown_once_with_a_curl_command_that_posts_a_call(api, admin, caplog):
    caplog.set_level(logging.DEBUG)
    rep = {"code": "8001", "name": "王芳", "team": "一组"}
    assert call(api, "POST", "/api/v1/reps", admin, json=rep).status_code == 201
    body = {"name": "asterisk-3", "scope": "ingest", "source": "pbx3"}
    resp = call(api, "POST", "/api/v1/tokens", admin, json=body)
    assert resp.status_code == 201, resp.text
    got = resp.json()
    secret = got["secret"]
    assert secret.startswith("pb_") and got["token"]["prefix"] == secret[:10]
    assert got["import_command"] == "paceboard import Master.csv --format asterisk --source pbx3"
    args = shlex.split(got["curl"])
    assert args[3] == "http://testserver/api/v1/calls"
    assert args[5] == f"Authorization: Bearer {secret}"
    sample = json.loads(args[9])
    assert sample["rep"] == "8001"  # the roster's first rep: the test call shows on the board
    posted = api.client.post("/api/v1/calls", json=sample, headers=api.auth(secret))
    assert posted.status_code == 200 and posted.json()["created"] == 1, posted.text
    check = call(api, "GET", "/api/v1/admin/checklist", admin).json()
    phone = next(i for i in check["items"] if i["key"] == "phone")
    assert phone["done"] and phone["token"] and phone["connected"]
    # Never again: not in the listing, the checklist's commands or the log.
    listed = call(api, "GET", "/api/v1/tokens", admin)
    assert secret not in listed.text and secret[10:] not in listed.text
    assert "token_hash" not in listed.text
    assert secret[10:] not in json.dumps(check) and "<TOKEN>" in check["commands"]["curl"]
    assert secret[10:] not in caplog.text


def test_a_read_token_comes_without_commands(api, admin):
    got = call(api, "POST", "/api/v1/tokens", admin, json={"name": "bi", "scope": "read"}).json()
    assert set(got) == {"token", "secret"} and got["token"]["source"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "", "scope": "ingest"}, "name"),
        ({"name": "x", "scope": "root"}, "scope"),
        ({"name": "x", "scope": "ingest", "source": "s" * 101}, "source"),
        ({"name": "x" * 101, "scope": "read"}, "name"),
    ],
)
def test_a_token_that_cannot_be_made_names_the_field(api, admin, body, field):
    assert fields(call(api, "POST", "/api/v1/tokens", admin, json=body)) == [field]


def test_a_revoked_token_is_refused_at_once(api, admin):
    got = call(api, "POST", "/api/v1/tokens", admin, json={"name": "bi", "scope": "read"}).json()
    headers = api.auth(got["secret"])
    assert api.client.get("/api/v1/reps", headers=headers).status_code == 200
    # Even with a verification cache: the revoke forgets it.
    api.client.app.state.tokens.ttl = 60
    assert api.client.get("/api/v1/reps", headers=headers).status_code == 200
    resp = call(api, "POST", f"/api/v1/tokens/{got['token']['id']}/revoke", admin)
    assert resp.status_code == 200
    assert api.client.get("/api/v1/reps", headers=headers).status_code == 401
    listed = call(api, "GET", "/api/v1/tokens", admin).json()
    assert next(t for t in listed if t["id"] == got["token"]["id"])["revoked_at"]
    again = call(api, "POST", f"/api/v1/tokens/{got['token']['id']}/revoke", admin)
    assert again.status_code == 404 and again.json()["errors"][0]["field"] == "token_id"


# --- roster CSV --------------------------------------------------------------------------------


def upload(api, headers, text: str):
    return call(api, "POST", "/api/v1/roster/import", headers,
                files={"file": ("roster.csv", text.encode("utf-8-sig"))})  # fmt: skip


def test_a_roster_csv_creates_reps_and_teams_and_updates_on_a_second_import(api, admin):
    text = (
        "code,name,team,hired_on,extension\n"
        "1001,王芳,一组,2026-11-02,8001\n"
        "1002,李四,三组,,8002;SIP/8002\n"
    )
    resp = upload(api, admin, text)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"created": 2, "updated": 0, "unchanged": 0}
    reps = {r["code"]: r for r in call(api, "GET", "/api/v1/reps", admin).json()}
    assert reps["1002"]["team"] == "三组" and reps["1002"]["identifiers"] == ["8002", "SIP/8002"]
    assert reps["1001"]["hired_on"] == "2026-11-02"
    again = upload(api, admin, text.replace("李四", "李思"))
    assert again.json() == {"created": 0, "updated": 1, "unchanged": 1}


def test_a_roster_csv_with_bad_rows_imports_nothing_and_names_each_line_and_field(api, admin):
    text = (
        "code,name,team,hired_on\n"
        "1001,王芳,一组,2026-11-02\n"
        ",张三,一组,\n"
        "1003,,一组,11/02/2026\n"
        "1001,重复,二组,\n"
    )
    resp = upload(api, admin, text)
    assert resp.status_code == 422
    errors = resp.json()["errors"]
    assert [(e["line"], e["field"]) for e in errors] == [
        (3, "code"),
        (4, "name"),
        (4, "hired_on"),
        (5, "code"),
    ]
    assert all(e["reason"] for e in errors)
    assert call(api, "GET", "/api/v1/reps", admin).json() == []


def test_a_roster_csv_without_its_columns_or_not_utf8_says_so(api, admin):
    resp = upload(api, admin, "工号,姓名\n1001,王芳\n")
    assert resp.status_code == 422
    [err] = resp.json()["errors"]
    assert (err["line"], err["field"]) == (1, "header") and "code" in err["reason"]
    gbk_file = "code,name,team\n1,王芳,一组\n".encode("gb18030")
    gbk = call(api, "POST", "/api/v1/roster/import", admin, files={"file": ("r.csv", gbk_file)})
    [err] = gbk.json()["errors"]
    assert err["field"] == "file" and "UTF-8" in err["reason"]


def test_a_roster_row_taking_another_reps_identifier_imports_nothing(api, admin):
    rep = {"code": "1001", "name": "王芳", "team": "一组", "identifiers": ["8001"]}
    assert call(api, "POST", "/api/v1/reps", admin, json=rep).status_code == 201
    resp = upload(api, admin, "code,name,team,extension\n1002,李四,一组,\n1003,赵六,二组,8001\n")
    assert resp.status_code == 409
    err = resp.json()["errors"][0]
    assert err["field"] == "identifiers" and "1003" in err["reason"] and "1001" in err["reason"]
    assert [r["code"] for r in call(api, "GET", "/api/v1/reps", admin).json()] == ["1001"]


# --- the checklist -----------------------------------------------------------------------------


def test_the_checklist_ticks_as_the_admin_sets_the_floor_up(api, admin):
    def done() -> dict[str, bool]:
        got = call(api, "GET", "/api/v1/admin/checklist", admin).json()
        return {i["key"]: i["done"] for i in got["items"]}

    # The api fixture's own ingest token counts; no rep, TV, call or target yet.
    assert done() == {"roster": False, "tv": False, "phone": False, "targets": False}
    call(api, "POST", "/api/v1/reps", admin, json={"code": "8001", "name": "王芳", "team": "一组"})
    assert done()["roster"]
    call(api, "POST", "/api/v1/displays", admin, json={"name": "TV"})
    assert done()["tv"]
    target = {"metric": "revenue", "period": "day", "value": 500000}
    assert call(api, "PUT", "/api/v1/targets", admin, json=target).status_code == 200
    assert done()["targets"]
    api.post_calls({"call_id": "c1", "rep": "8001", "started_at": "2026-11-26T10:05:00+08:00",
                    "disposition": "answered"})  # fmt: skip
    assert all(done().values())
