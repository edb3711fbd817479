"""POST /api/v1/webhooks/twilio: signed status callbacks become calls, ordered by SequenceNumber."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from app.ingest.adapters.twilio import signature, valid_signature
from app.models import Call
from tests.conftest import enrol

TOKEN = "twilio-test-auth-token"
PATH = "/api/v1/webhooks/twilio"
URL = "http://testserver" + PATH  # what the TestClient's requests arrive at
CUSTOMER = "+8613800138000"
LINE = "+8657188880001"  # a rep's desk number, known to the roster as an identifier
CALL = Call.__table__


@pytest.fixture
def settings(settings):
    settings.twilio_auth_token = SecretStr(TOKEN)
    return settings


@pytest.fixture(autouse=True)
def roster(engine) -> None:
    """The browser-phone reps the callbacks name are on the roster."""
    enrol(engine, {"1001", "2001", "2002"})


def callback(**overrides: Any) -> dict[str, str]:
    """A completed 95-second outbound call from rep 1001's browser phone, ending 10:05 Shanghai."""
    base = {
        "AccountSid": "AC00000000000000000000000000000000",
        "ApiVersion": "2010-04-01",
        "CallSid": "CA11111111111111111111111111111111",
        "CallStatus": "completed",
        "CallDuration": "95",
        "Duration": "2",  # billed minutes: never the talk
        "Direction": "outbound-api",
        "From": "client:1001",
        "To": CUSTOMER,
        "Timestamp": "Thu, 26 Nov 2026 02:05:00 +0000",
        "SequenceNumber": "3",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def post(
    api,
    params: dict[str, str],
    *,
    expect: int = 200,
    url: str = URL,
    path: str = PATH,
    sig: str | None = None,
    signed: bool = True,
):
    headers = {"X-Twilio-Signature": sig or signature(url, params, TOKEN)} if signed else {}
    resp = api.client.post(path, data=params, headers=headers)
    assert resp.status_code == expect, resp.text
    return resp


def stored(engine, call_id: str = "CA11111111111111111111111111111111") -> dict[str, Any]:
    with engine.connect() as conn:
        q = sa.select(CALL).where(CALL.c.source == "twilio", CALL.c.external_id == call_id)
        return dict(conn.execute(q).mappings().one())


def add_rep(api, code: str, identifiers: list[str]) -> None:
    api.call("POST", "/api/v1/teams", json={"name": "一组"})
    resp = api.call(
        "POST",
        "/api/v1/reps",
        json={"code": code, "name": "王芳", "team": "一组", "identifiers": identifiers},
    )
    assert resp.status_code == 201, resp.text


# --- the signature ---------------------------------------------------------------------------


def test_signature_is_hmac_sha1_of_url_and_sorted_params_in_base64():
    url = "https://paceboard.example.com/api/v1/webhooks/twilio?team=a"
    params = {"To": "+861", "CallSid": "CA9", "From": "client:7", "Body": ""}
    # Worked out by hand: the URL, then name+value for each parameter sorted by name.
    text = url + "Body" + "" + "CallSid" + "CA9" + "From" + "client:7" + "To" + "+861"
    expected = base64.b64encode(
        hmac.new(b"secret-token", text.encode(), hashlib.sha1).digest()
    ).decode()
    assert signature(url, params, "secret-token") == expected
    # Twilio's own documented example (security docs, auth token 12345).
    doc = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    assert (
        signature("https://mycompany.com/myapp.php?foo=1&bar=2", doc, "12345")
        == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    )


def test_signature_check_accepts_the_url_with_or_without_the_default_port():
    params = {"CallSid": "CA9"}
    sig = signature("https://pb.example.com:443/hook", params, TOKEN)
    assert valid_signature("https://pb.example.com/hook", params, TOKEN, sig)
    assert valid_signature("https://pb.example.com:443/hook", params, TOKEN, sig)
    assert not valid_signature("https://pb.example.com/other", params, TOKEN, sig)
    assert not valid_signature("https://pb.example.com/hook", params, "", sig)
    assert not valid_signature("https://pb.example.com/hook", params, TOKEN, None)


# --- storing ---------------------------------------------------------------------------------


def test_signed_completed_callback_is_stored_and_counted_as_a_connect(api):
    resp = post(api, callback())
    assert resp.json() == {"call_id": "CA11111111111111111111111111111111", "status": "created"}
    totals = api.rep_totals("1001")
    assert (totals["dials"], totals["connects"], totals["talk_seconds"]) == (1, 1, 95)
    assert totals["leads_dialled"] == 1


def test_webhook_takes_no_bearer_token_and_ignores_a_wrong_one(api):
    params = callback()
    headers = {"X-Twilio-Signature": signature(URL, params, TOKEN), **api.auth("pb_not_a_token")}
    resp = api.client.post(PATH, data=params, headers=headers)
    assert resp.status_code == 200, resp.text


def test_started_at_is_timestamp_minus_call_duration_and_talk_is_call_duration(api, engine):
    post(api, callback())
    row = stored(engine)
    started = datetime(2026, 11, 26, 2, 3, 25, tzinfo=UTC)  # 02:05:00 − 95 s
    assert row["started_at"] == started and row["answered_at"] == started
    assert row["ended_at"] == datetime(2026, 11, 26, 2, 5, tzinfo=UTC)
    assert (row["talk_seconds"], row["disposition"]) == (95, "answered")
    assert row["direction"] == "outbound"
    assert (row["revision"], row["local_hour"]) == (3, 10)
    assert row["customer_key"] and CUSTOMER not in row["customer_key"]


def test_late_ringing_callback_after_completed_is_stale_and_the_call_stays_a_connect(api, engine):
    post(api, callback(SequenceNumber="3"))
    late = post(
        api,
        callback(
            CallStatus="ringing",
            CallDuration=None,
            SequenceNumber="1",
            Timestamp="Thu, 26 Nov 2026 02:03:20 +0000",
        ),
    )
    assert late.json()["status"] == "stale"
    totals = api.rep_totals("1001")
    assert (totals["dials"], totals["connects"], totals["talk_seconds"]) == (1, 1, 95)
    assert (stored(engine)["disposition"], stored(engine)["revision"]) == ("answered", 3)


def test_ringing_callback_counts_the_dial_and_the_completed_one_makes_it_a_connect(api):
    ringing = callback(
        CallStatus="ringing",
        CallDuration=None,
        SequenceNumber="1",
        Timestamp="Thu, 26 Nov 2026 02:03:20 +0000",
    )
    assert post(api, ringing).json()["status"] == "created"
    totals = api.rep_totals("1001")
    assert (totals["dials"], totals["connects"], totals["talk_seconds"]) == (1, 0, 0)
    assert post(api, callback(SequenceNumber="3")).json()["status"] == "updated"
    totals = api.rep_totals("1001")
    assert (totals["dials"], totals["connects"], totals["talk_seconds"]) == (1, 1, 95)


def test_resent_callback_is_a_duplicate(api):
    post(api, callback())
    assert post(api, callback()).json()["status"] == "duplicate"
    assert api.rep_totals("1001")["dials"] == 1


@pytest.mark.parametrize(
    ("status", "duration", "disposition"),
    [
        ("completed", "0", "no_answer"),
        ("busy", "0", "busy"),
        ("failed", "0", "failed"),
        ("no-answer", "0", "no_answer"),
        ("canceled", None, "cancelled"),
    ],
)
def test_calls_that_did_not_connect_are_dials_without_talk(
    api, engine, status, duration, disposition
):
    post(api, callback(CallStatus=status, CallDuration=duration))
    row = stored(engine)
    assert (row["disposition"], row["talk_seconds"], row["answered_at"]) == (disposition, 0, None)
    assert row["started_at"] == row["ended_at"] == datetime(2026, 11, 26, 2, 5, tzinfo=UTC)
    totals = api.rep_totals("1001")
    assert (totals["dials"], totals["connects"]) == (1, 0)


def test_outcome_set_at_wrap_up_survives_a_later_callback(api):
    post(api, callback(SequenceNumber="3"))
    api.patch_call(
        "twilio", "CA11111111111111111111111111111111", {"outcome": "sale", "order_value": "99"}
    )
    post(api, callback(SequenceNumber="4"))
    assert api.rep_totals("1001")["orders"] == 1


# --- reps ------------------------------------------------------------------------------------


def test_client_identity_in_from_or_to_names_the_rep(api, engine):
    post(api, callback(CallSid="CAout", From="client:2001", To=CUSTOMER))
    post(
        api,
        callback(CallSid="CAin", Direction="inbound", From=CUSTOMER, To="client:2002"),
    )
    assert api.rep_totals("2001")["connects"] == 1
    assert api.rep_totals("2002")["inbound_connects"] == 1
    # The customer is the other party either way: one customer, one hash.
    assert stored(engine, "CAout")["customer_key"] == stored(engine, "CAin")["customer_key"]
    assert stored(engine, "CAin")["direction"] == "inbound"


def test_rep_is_found_by_a_number_among_their_identifiers(api, engine):
    add_rep(api, "8001", [LINE])
    post(api, callback(CallSid="CAout", From=LINE, To=CUSTOMER))
    post(api, callback(CallSid="CAin", Direction="inbound", From=CUSTOMER, To=LINE))
    rep = api.snapshot(team="一组")["reps"][0]
    assert (rep["code"], rep["totals"]["dials"], rep["totals"]["connects"]) == ("8001", 1, 1)
    assert (rep["totals"]["inbound_calls"], rep["totals"]["inbound_connects"]) == (1, 1)
    # The rep's number is not taken for the customer.
    assert stored(engine, "CAout")["customer_key"] == stored(engine, "CAin")["customer_key"]


@pytest.mark.parametrize(
    ("direction", "frm", "to", "field"),
    [("outbound-api", LINE, CUSTOMER, "From"), ("inbound", CUSTOMER, LINE, "To")],
)
def test_an_unknown_line_is_kept_under_an_unresolved_agent_until_a_rep_has_it(
    api, caplog, direction, frm, to, field
):
    caplog.set_level(logging.DEBUG)
    resp = post(api, callback(Direction=direction, From=frm, To=to))
    assert resp.json()["status"] == "created"
    bucket = api.call("GET", "/api/v1/agents/unresolved").json()
    assert (bucket["named"], bucket["unnamed_calls"]) == ([], 1)
    for number in (LINE, CUSTOMER, LINE.lstrip("+"), CUSTOMER.lstrip("+")):
        assert number not in resp.text and number not in caplog.text
        assert number not in str(bucket)
    assert api.snapshot()["floor"]["totals"]["dials"] == 0
    # The line added to a rep (spelled without +86): the call is the rep's now.
    add_rep(api, "8001", ["057188880001"])
    totals = api.rep_totals("8001")
    assert (totals["dials"], totals["inbound_calls"]) == (
        (1, 0) if direction != "inbound" else (0, 1)
    )
    assert api.call("GET", "/api/v1/agents/unresolved").json()["calls"] == 0


# --- refusals --------------------------------------------------------------------------------


def test_missing_or_wrong_signature_is_403_and_stores_nothing(api):
    params = callback()
    missing = post(api, params, signed=False, expect=403)
    assert missing.json()["errors"][0]["field"] == "X-Twilio-Signature"
    post(api, params, sig=signature(URL, params, "another-account-token"), expect=403)
    post(api, params, sig=signature(URL, callback(CallDuration="9999"), TOKEN), expect=403)
    post(api, params, sig="not base64 at all", expect=403)
    assert api.snapshot()["floor"]["totals"]["dials"] == 0


def test_unconfigured_auth_token_refuses_every_callback_with_403(api, settings):
    settings.twilio_auth_token = SecretStr("")
    resp = post(api, callback(), sig=signature(URL, callback(), ""), expect=403)
    assert "not configured" in resp.json()["errors"][0]["reason"]
    assert api.snapshot()["floor"]["totals"]["dials"] == 0


def test_signature_is_computed_over_public_url_when_set(api, settings):
    settings.public_url = "https://paceboard.example.com"
    path = PATH + "?floor=a"
    public = "https://paceboard.example.com" + path
    # Signed for the address Twilio was given: accepted, although the request came in elsewhere.
    post(api, callback(CallSid="CA1"), path=path, url=public)
    # Signed for the internal address the request reached: refused.
    post(api, callback(CallSid="CA2"), path=path, url="http://testserver" + path, expect=403)
    assert api.rep_totals("1001")["dials"] == 1


def test_form_body_is_required(api):
    resp = api.client.post(
        PATH, json=callback(), headers={"X-Twilio-Signature": signature(URL, {}, TOKEN)}
    )
    assert resp.status_code == 415


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"CallSid": None}, "CallSid"),
        ({"CallStatus": "exploded"}, "CallStatus"),
        ({"Timestamp": "yesterday"}, "Timestamp"),
        ({"Timestamp": None}, "Timestamp"),
        ({"CallDuration": "1.5"}, "CallDuration"),
        ({"CallDuration": None}, "CallDuration"),  # completed needs it
        ({"SequenceNumber": "x"}, "SequenceNumber"),
        ({"SequenceNumber": None}, "SequenceNumber"),
        ({"From": "client:"}, "From"),
        ({"Timestamp": "Fri, 31 Dec 9999 23:59:59 +0000"}, "Timestamp"),
        ({"CallDuration": "99999999999999"}, "CallDuration"),
        ({"From": None, "To": CUSTOMER}, "From"),
    ],
)
def test_missing_or_malformed_parameters_are_422_naming_the_parameter(api, overrides, field):
    resp = post(api, callback(**overrides), expect=422)
    assert resp.json()["errors"][0]["field"] == field
    assert CUSTOMER not in resp.text


def test_a_line_on_the_roster_finds_its_rep_however_the_callback_spells_it(api, engine):
    from app.services.roster import read_roster_csv

    rows, errors = read_roster_csv(
        "code,name,team,identifiers\n8001,王芳,一组,+86 571 8888 0001;8001\n".encode()
    )
    assert errors == [] and rows[0]["identifiers"] == ["+86 571 8888 0001", "8001"]
    add_rep(api, "8001", ["+86 571 8888 0001"])
    post(api, callback(CallSid="CAsp", From=LINE, To=CUSTOMER))
    assert api.rep_totals("8001")["dials"] == 1
    reps = api.call("GET", "/api/v1/reps").json()
    assert next(r for r in reps if r["code"] == "8001")["identifiers"] == ["+86 571 8888 0001"]


# --- TaskRouter worker activity -> agent state --------------------------------------------------

TR_PATH = "/api/v1/webhooks/twilio/taskrouter"
TR_URL = "http://testserver" + TR_PATH


def activity(**overrides: Any) -> dict[str, str]:
    """Worker 1001 went on a break at 10:05 Shanghai (a worker.activity.update callback)."""
    base = {
        "AccountSid": "AC00000000000000000000000000000000",
        "WorkspaceSid": "WS00000000000000000000000000000000",
        "EventType": "worker.activity.update",
        "Sid": "EV11111111111111111111111111111111",
        "WorkerSid": "WK11111111111111111111111111111111",
        "WorkerName": "1001",
        "WorkerActivityName": "Break",
        "Timestamp": str(int(datetime(2026, 11, 26, 2, 5, tzinfo=UTC).timestamp())),
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def test_a_signed_activity_update_becomes_the_mapped_agent_state_once(api, engine):
    got = post(api, activity(), url=TR_URL, path=TR_PATH).json()
    assert got == {"event_id": "EV11111111111111111111111111111111", "status": "created"}
    later = activity(Sid="EV2", WorkerActivityName="Available", Timestamp=str(
        int(datetime(2026, 11, 26, 2, 20, tzinfo=UTC).timestamp())))  # fmt: skip
    post(api, later, url=TR_URL, path=TR_PATH)
    again = post(api, activity(), url=TR_URL, path=TR_PATH).json()  # Twilio retries
    assert again["status"] == "duplicate"
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT state, reason, seconds FROM state_total ORDER BY state")
        ).all()
    assert [tuple(r) for r in rows] == [("paused", "break", 900)]


def test_other_taskrouter_events_are_acknowledged_and_change_nothing(api, engine):
    got = post(api, activity(EventType="reservation.created"), url=TR_URL, path=TR_PATH)
    assert got.json() == {"status": "ignored", "event_type": "reservation.created"}
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM agent_event")).scalar() == 0


def test_an_unsigned_or_unmapped_activity_is_refused_naming_why(api):
    post(api, activity(), url=TR_URL, path=TR_PATH, signed=False, expect=403)
    post(api, activity(), url=TR_URL, path=TR_PATH, sig="bm9wZQ==", expect=403)
    bad = post(api, activity(WorkerActivityName="Nap"), url=TR_URL, path=TR_PATH, expect=422)
    assert "WorkerActivityName" in bad.text and "PACEBOARD_TASKROUTER_ACTIVITIES" in bad.text


def test_the_activity_table_is_a_setting_that_names_a_bad_entry():
    from app.config import Settings

    got = Settings(secret_key="k" * 40, taskrouter_activities="Away=paused:休息,On=available")
    assert got.taskrouter_activities == {"Away": ("paused", "休息"), "On": ("available", "")}
    with pytest.raises(ValueError, match="'On=asleep' is not Name=state"):
        Settings(secret_key="k" * 40, taskrouter_activities="On=asleep")
    with pytest.raises(ValueError, match="only a paused state has a reason"):
        Settings(secret_key="k" * 40, taskrouter_activities="On=available:x")
