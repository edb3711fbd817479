"""The admin's first-day checklist: each item ticks from the database state alone, and the
commands that connect a phone system are ones a shell runs as they are."""

from __future__ import annotations

import json
import shlex
from datetime import UTC, date, datetime

import pytest

from app.db import session_scope
from app.ingest.service import context_for
from app.services import checklist
from app.services.displays import create_display, revoke_display
from app.services.roster import create_rep, ensure_team
from app.services.targets import set_target
from app.services.tokens import create_token, revoke_token
from tests.conftest import enrol, new_token, record


def items(engine) -> dict[str, dict]:
    with engine.connect() as conn:
        got = checklist.checklist(conn)
    assert [i["key"] for i in got["items"]] == ["roster", "tv", "phone", "targets"]
    return {i["key"]: i for i in got["items"]}


def test_a_fresh_floor_has_nothing_ticked_though_the_default_targets_are_seeded(engine):
    got = items(engine)
    assert not any(i["done"] for i in got.values())
    assert (got["phone"]["token"], got["phone"]["connected"]) == (False, False)
    assert {k: i["section"] for k, i in got.items()} == {
        "roster": "roster",
        "tv": "displays",
        "phone": "tokens",
        "targets": "targets",
    }


def test_the_roster_ticks_with_an_active_rep_and_not_with_an_inactive_one(engine, settings):
    with session_scope(engine) as s:
        ensure_team(s, "一组")
        ctx = context_for(settings)
        create_rep(s, code="r1", name="王芳", team="一组", active=False, ingest=ctx)
    assert not items(engine)["roster"]["done"]
    enrol(engine, ["r2"])
    assert items(engine)["roster"]["done"]


def test_an_unresolved_agent_is_no_roster(api, engine):
    # A call from an identifier no rep has keeps an unresolved agent (a rep row without a team).
    api.post_calls(record("u1", rep="7777"), on_roster=False)
    got = items(engine)
    assert not got["roster"]["done"] and got["phone"]["connected"]


def test_the_tv_ticks_with_a_live_display_link_and_unticks_when_it_is_revoked(engine):
    with session_scope(engine) as s:
        row, _ = create_display(s, name="TV", teams=[])
        display_id = row.id
    assert items(engine)["tv"]["done"]
    with session_scope(engine) as s:
        revoke_display(s, display_id=display_id)
    assert not items(engine)["tv"]["done"]


def test_the_phone_needs_a_live_ingest_token_and_a_call(api, engine):
    # The api fixture made an ingest token; revoke it to start from none.
    with session_scope(engine) as s:
        for tok in checklist_tokens(s):
            revoke_token(s, token_id=tok)
    got = items(engine)["phone"]
    assert (got["token"], got["connected"], got["done"]) == (False, False, False)
    with session_scope(engine) as s:
        create_token(s, name="reader", scope="read")
    assert items(engine)["phone"]["token"] is False  # a read token posts nothing
    token = new_token(engine, "ingest")
    got = items(engine)["phone"]
    assert (got["token"], got["connected"], got["done"]) == (True, False, False)
    api.post_calls(record("c1"), token=token)
    got = items(engine)["phone"]
    assert (got["token"], got["connected"], got["done"]) == (True, True, True)


def checklist_tokens(session) -> list[int]:
    from app.services.tokens import list_tokens

    return [t.id for t in list_tokens(session) if t.scope == "ingest"]


@pytest.mark.parametrize(
    "rule",
    [
        {"team": "一组"},
        {"valid_from": date(2026, 12, 1)},
        {"valid_from": checklist.SEEDED_FROM},  # the seed's own day, set again: logged
    ],
    ids=["a team target", "a floor target from a day", "a seeded floor default set again"],
)
def test_targets_tick_once_someone_sets_one(engine, rule):
    with session_scope(engine) as s:
        ensure_team(s, "一组")
    assert not items(engine)["targets"]["done"]
    with session_scope(engine) as s:
        set_target(
            s,
            metric="dials",
            period="day",
            value=250,
            valid_from=rule.get("valid_from", date(2026, 12, 1)),
            team=rule.get("team"),
            by="boss",
        )
    assert items(engine)["targets"]["done"]


def test_everything_done_is_done(api, engine):
    enrol(engine, ["1001"])
    with session_scope(engine) as s:
        create_display(s, name="TV", teams=[])
        set_target(s, metric="revenue", period="day", value=500000, valid_from=date(2026, 12, 1))
    api.post_calls(record("c1"))
    with engine.connect() as conn:
        got = checklist.checklist(conn)
    assert got["done"] and all(i["done"] for i in got["items"])


def test_the_sample_record_is_a_valid_call_of_now_in_the_floors_timezone():
    now = datetime(2026, 12, 7, 2, 5, 9, 123456, tzinfo=UTC)
    rec = checklist.sample_record(rep="王芳01", now=now, timezone="Asia/Shanghai")
    assert rec == {
        "call_id": "paceboard-test-20261207100509",
        "rep": "王芳01",
        "started_at": "2026-12-07T10:05:09+08:00",
        "disposition": "answered",
        "talk_seconds": 60,
    }


def test_the_curl_command_splits_into_the_request_a_shell_would_send():
    rec = {"call_id": "x", "rep": "O'Brien 王"}
    cmd = checklist.curl_command(
        base_url="https://pb.example.com/floor3/", token="pb_s3cret", record=rec
    )
    assert "\n" not in cmd
    args = shlex.split(cmd)
    assert args[:4] == ["curl", "-X", "POST", "https://pb.example.com/floor3/api/v1/calls"]
    assert args[4:8] == [
        "-H",
        "Authorization: Bearer pb_s3cret",
        "-H",
        "Content-Type: application/json",
    ]
    assert args[8] == "-d" and json.loads(args[9]) == rec and len(args) == 10


def test_the_import_command_names_the_tokens_source_when_it_has_one():
    assert checklist.import_command(source=None) == "paceboard import Master.csv --format asterisk"
    assert shlex.split(checklist.import_command(source="pbx floor3"))[-2:] == [
        "--source",
        "pbx floor3",
    ]


def test_the_sample_rep_is_the_first_active_rep_on_the_roster(engine):
    with engine.connect() as conn:
        assert checklist.sample_rep(conn) is None
    enrol(engine, ["b2", "a1"])
    with engine.connect() as conn:
        assert checklist.sample_rep(conn) == "a1"  # enrolled first
