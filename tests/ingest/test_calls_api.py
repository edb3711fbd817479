"""POST /api/v1/calls and PATCH corrections: semantics per (source, call_id), totals by deltas."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest
import sqlalchemy as sa

from app.ingest import rebuild
from app.ingest.records import MAX_ORDER_VALUE
from app.models import Call, IngestReject
from tests.conftest import enrol, new_token, record


def totals_agree(engine) -> bool:
    with engine.connect() as conn:
        return rebuild.check(conn) == []


def test_object_array_and_ndjson_bodies_are_accepted(api):
    one = api.post_calls(record("o1"))
    assert one["created"] == 1 and one["results"] == [
        {"index": 0, "call_id": "o1", "status": "created"}
    ]
    many = api.post_calls([record("a1"), record("a2")])
    assert [r["status"] for r in many["results"]] == ["created", "created"]
    body = b"\n".join(orjson.dumps(record(f"n{i}")) for i in range(3)) + b"\n"
    resp = api.client.post(
        "/api/v1/calls",
        content=body,
        headers={**api.auth(api.ingest), "Content-Type": "application/x-ndjson"},
    )
    assert resp.status_code == 200 and resp.json()["created"] == 3
    assert api.rep_totals("1001")["dials"] == 6


def test_duplicate_call_does_not_change_totals(api, engine):
    api.post_calls(record("d1", outcome="sale", order_value="100"))
    before = api.rep_totals("1001")
    again = api.post_calls([record("d1", outcome="sale", order_value=100.0)] * 2)
    assert again["duplicate"] == 2 and again["created"] == 0
    assert api.rep_totals("1001") == before
    assert totals_agree(engine)


def test_resent_cdr_does_not_undo_outcome_set_later(api):
    cdr = record("k1", customer="13800138000")
    api.post_calls(cdr)
    api.patch_call("default", "k1", {"outcome": "sale", "order_value": "1999.50"})
    resent = api.post_calls(cdr)
    assert resent["results"][0]["status"] == "duplicate"
    totals = api.rep_totals("1001")
    assert (totals["orders"], totals["revenue"]) == (1, 199950)


def test_higher_revision_moves_totals_to_the_new_hour(api, engine):
    api.post_calls(record("r1", revision=1, talk_seconds=30))
    res = api.post_calls(
        record("r1", revision=2, started_at="2026-11-26T14:10:00+08:00", talk_seconds=90)
    )
    assert res["updated"] == 1
    hours = {h["hour"]: h for h in api.snapshot()["reps"][0]["hours"]}
    assert hours.get(10, {}).get("dials", 0) == 0
    assert (hours[14]["dials"], hours[14]["talk_seconds"]) == (1, 90)
    assert totals_agree(engine)


def test_lower_revision_arriving_late_is_stale(api):
    api.post_calls(record("s1", revision=5, disposition="answered"))
    res = api.post_calls(record("s1", revision=3, disposition="no_answer"))
    assert res["stale"] == 1
    assert api.rep_totals("1001")["connects"] == 1


def test_equal_revision_with_different_content_is_a_rejected_conflict(api, engine):
    api.post_calls(record("q1", revision=2))
    res = api.post_calls(record("q1", revision=2, talk_seconds=999))
    assert res["rejected"] == 1
    assert res["results"][0]["errors"][0]["field"] == "revision"
    assert api.rep_totals("1001")["talk_seconds"] == 60
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(IngestReject)).scalar() == 1


def test_higher_revision_with_same_content_is_duplicate_but_recorded(api):
    api.post_calls(record("h1", revision=1))
    assert api.post_calls(record("h1", revision=4))["duplicate"] == 1
    # Revision 4 is now stored, so revision 3 is stale.
    assert api.post_calls(record("h1", revision=3, talk_seconds=5))["stale"] == 1


def test_without_revision_last_writer_wins_and_revision_is_kept(api, engine):
    api.post_calls(record("w1", revision=7))
    res = api.post_calls(record("w1", talk_seconds=200))
    assert res["updated"] == 1 and api.rep_totals("1001")["talk_seconds"] == 200
    with engine.connect() as conn:
        assert conn.execute(sa.select(Call.revision).where(Call.external_id == "w1")).scalar() == 7


def test_invalid_records_are_rejected_by_field_and_kept_while_valid_ones_are_stored(api, engine):
    batch = [
        record("ok1"),
        {"rep": "1001", "started_at": "2026-11-26T10:00:00+08:00", "disposition": "answered"},
        record("bad-naive", started_at="2026-11-26T10:05:00"),
        record(
            "bad-order",
            started_at="2026-11-26T10:05:00+08:00",
            ended_at="2026-11-26T10:00:00+08:00",
        ),
        record("bad-enum", disposition="hung_up"),
        record("bad-neg", talk_seconds=-1),
        record("bad-money", outcome="sale", order_value="10.005", customer="+86 139 1234 5678"),
        "not an object",
    ]
    res = api.post_calls(batch)
    assert res["created"] == 1 and res["rejected"] == 7
    fields = [r.get("errors", [{}])[0].get("field") for r in res["results"]]
    assert fields == [
        None,
        "call_id",
        "started_at",
        "ended_at",
        "disposition",
        "talk_seconds",
        "order_value",
        "record",
    ]
    assert all(r["errors"][0]["reason"] for r in res["results"][1:])
    with engine.connect() as conn:
        rejects = conn.execute(sa.select(IngestReject.payload, IngestReject.errors)).all()
    assert len(rejects) == 7
    assert not any("1234 5678" in p or "13912345678" in p for p, _ in rejects)
    assert api.rep_totals("1001")["dials"] == 1


def test_body_that_is_not_json_is_400_with_the_position(api):
    resp = api.client.post(
        "/api/v1/calls",
        content=b'[{"call_id": "x",}',
        headers={**api.auth(api.ingest), "Content-Type": "application/json"},
    )
    assert resp.status_code == 400 and "char" in resp.json()["detail"]
    resp = api.client.post(
        "/api/v1/calls",
        content=orjson.dumps(record()) + b"\n{oops\n",
        headers={**api.auth(api.ingest), "Content-Type": "application/x-ndjson"},
    )
    assert resp.status_code == 400 and "line 2" in resp.json()["detail"]


def test_too_many_records_or_bytes_is_413_and_nothing_is_stored(api):
    resp = api.client.post(
        "/api/v1/calls", json=[record(f"x{i}") for i in range(5001)], headers=api.auth(api.ingest)
    )
    assert resp.status_code == 413 and "5000" in resp.json()["detail"]
    big = b"[" + b" " * (5 * 1024 * 1024) + b"]"
    resp = api.client.post(
        "/api/v1/calls",
        content=big,
        headers={**api.auth(api.ingest), "Content-Type": "application/json"},
    )
    assert resp.status_code == 413
    assert api.rep_totals("1001") == {}


def test_an_unknown_rep_code_is_kept_under_an_unresolved_agent_off_the_board(api):
    api.post_calls(record("u1", rep="ext-7788"), on_roster=False)
    snap = api.snapshot()
    assert snap["reps"] == [] and snap["teams"] == []
    assert snap["floor"]["totals"]["dials"] == 0
    body = api.call("GET", "/api/v1/agents/unresolved").json()
    assert body["named"][0]["code"] == "ext-7788" and body["calls"] == 1


def test_a_phone_number_or_the_customer_as_rep_is_never_made_a_rep(api, engine):
    api.post_calls(
        [
            record("n1", rep="+86 139 1234 5678"),
            record("n2", rep="13912345678", customer="13912345678"),
            record("n3", rep="62345678", customer="62345678"),
        ],
        on_roster=False,
    )
    with engine.connect() as conn:
        codes = set(conn.execute(sa.text("SELECT code FROM rep")).scalars())
        idents = set(conn.execute(sa.text("SELECT identifier FROM rep_identifier")).scalars())
    assert all(c.startswith("#") for c in codes | idents), codes | idents
    assert len(codes) == 2  # every spelling of one number is one bucket
    body = api.call("GET", "/api/v1/agents/unresolved").json()
    assert (body["named"], body["unnamed_calls"], body["unnamed_agents"]) == ([], 3, 2)
    assert "139" not in str(body)


def test_patch_sets_outcome_and_moves_revenue(api, engine):
    api.post_calls(record("p1"))
    res = api.patch_call("default", "p1", {"outcome": "sale", "order_value": 88.8})
    assert res["status"] == "updated"
    assert api.rep_totals("1001")["revenue"] == 8880
    api.patch_call("default", "p1", {"outcome": "not_interested"})
    assert api.rep_totals("1001")["revenue"] == 0
    assert totals_agree(engine)


def test_patch_of_unknown_call_is_404_and_bad_patch_is_422(api):
    api.patch_call("default", "nope", {"outcome": "sale"}, expect=404)
    api.post_calls(record("p2"))
    res = api.patch_call("default", "p2", {"outcome": "bought"}, expect=422)
    assert res["errors"][0]["field"] == "outcome"


def test_talk_defaults_to_answered_until_ended(api):
    api.post_calls(
        record(
            "t1",
            talk_seconds=...,
            answered_at="2026-11-26T10:05:10+08:00",
            ended_at="2026-11-26T10:07:40+08:00",
        )
    )
    assert api.rep_totals("1001")["talk_seconds"] == 150


def test_talk_of_unanswered_call_is_not_counted(api):
    api.post_calls(record("ivr", disposition="no_answer", talk_seconds=25))
    totals = api.rep_totals("1001")
    assert (totals["dials"], totals["connects"], totals["talk_seconds"]) == (1, 0, 0)


def test_source_defaults_to_the_tokens_source(api, engine):
    pbx = new_token(engine, "ingest", source="asterisk-3f")
    api.post_calls(record("s-1"), token=pbx)
    api.post_calls(record("s-1", source="crm"))  # a token made for no one source
    with engine.connect() as conn:
        sources = sorted(conn.execute(sa.select(Call.source)).scalars())
    assert sources == ["asterisk-3f", "crm"]


def test_distinct_leads_count_once_per_day_in_their_first_hour(api, engine):
    num = "+86 138 0000 1111"
    api.post_calls(
        [
            record("l1", customer=num, disposition="no_answer", talk_seconds=0),
            record("l2", customer="138-0000-1111", started_at="2026-11-26T11:00:00+08:00"),
            record("l3", customer=num, started_at="2026-11-26T14:00:00+08:00"),
        ]
    )
    hours = {h["hour"]: h for h in api.snapshot()["reps"][0]["hours"]}
    assert hours[10]["leads_dialled"] == 1 and hours[10]["leads_connected"] == 0
    assert hours[11]["leads_dialled"] == 0 and hours[11]["leads_connected"] == 1
    assert hours[14]["leads_dialled"] == 0 and hours[14]["leads_connected"] == 0
    # Moving the first dial later moves the lead with it.
    api.patch_call("default", "l1", {"started_at": "2026-11-26T15:00:00+08:00"})
    hours = {h["hour"]: h for h in api.snapshot()["reps"][0]["hours"]}
    assert hours[11]["leads_dialled"] == 1 and hours[11]["leads_connected"] == 1
    assert totals_agree(engine)


def test_local_day_and_hour_follow_the_teams_timezone(api):
    api.call("POST", "/api/v1/teams", json={"name": "NY", "timezone": "America/New_York"})
    api.call("POST", "/api/v1/reps", json={"code": "ny1", "name": "Ann", "team": "NY"})
    # 03:30 UTC on the 26th is 22:30 on the 25th in New York.
    api.post_calls(record("ny-call", rep="ny1", started_at="2026-11-26T03:30:00Z"))
    rep = next(r for r in api.snapshot("2026-11-25", team="NY")["reps"])
    assert [h["hour"] for h in rep["hours"] if h["dials"]] == [22]


def test_tokens_are_checked_by_scope(api):
    assert api.client.get("/healthz").status_code == 200
    no = api.client.post("/api/v1/calls", json=record())
    assert no.status_code == 401 and no.headers["www-authenticate"] == "Bearer"
    bad = api.client.post("/api/v1/calls", json=record(), headers=api.auth("pb_wrong"))
    assert bad.status_code == 401
    assert (
        api.client.post("/api/v1/calls", json=record(), headers=api.auth(api.read)).status_code
        == 403
    )
    assert api.client.get("/api/v1/floor/snapshot", headers=api.auth(api.ingest)).status_code == 403
    assert api.client.get("/api/v1/floor/snapshot", headers=api.auth(api.admin)).status_code == 200
    assert api.call("POST", "/api/v1/teams", token=api.read, json={"name": "A"}).status_code == 403
    assert api.call("POST", "/api/v1/calls", token=api.admin, json=record()).status_code == 200


def test_revoked_token_is_refused(api, engine):
    from sqlmodel import Session

    from app.services.tokens import list_tokens, revoke_token

    with Session(engine) as session:
        ingest_id = next(t.id for t in list_tokens(session) if t.scope == "ingest")
        assert revoke_token(session, token_id=ingest_id)
        session.commit()
    assert (
        api.client.post("/api/v1/calls", json=record(), headers=api.auth(api.ingest)).status_code
        == 401
    )


def test_a_late_arriving_earlier_call_never_moves_the_last_dial_back(api):
    """The 10:05 call arrives first, the 09:50 one (a late CDR) after it, in its own batch: the
    rep's last dial stays 10:05, and idleness is counted from 10:05, not from 09:50."""
    alerts = api.client.app.state.alerts
    alerts.stop()  # every evaluation below is given its instant

    def at(hhmm: str) -> datetime:
        return datetime.fromisoformat(f"2026-11-26T{hhmm}:00+08:00")

    api.post_calls(record("latest", rep="r1", started_at=at("10:05").isoformat()))
    late = api.post_calls(record("late-cdr", rep="r1", started_at=at("09:50").isoformat()))
    assert late["created"] == 1
    [rep] = api.snapshot("2026-11-26", at=at("10:19").isoformat())["reps"]
    assert datetime.fromisoformat(rep["last_dial_at"]) == at("10:05")
    # 14 calling minutes since 10:05 (29 since 09:50): not idle yet; at 10:21 idle since 10:05.
    assert [a for a in alerts.evaluate(at("10:19")) if a["kind"] == "idle"] == []
    [idle] = [a for a in alerts.evaluate(at("10:21")) if a["kind"] == "idle"]
    assert idle["rep"] == "r1" and idle["detail"]["idle_minutes"] == 16
    assert datetime.fromisoformat(idle["detail"]["last_dial_at"]) == at("10:05")


def test_an_agent_an_older_version_kept_under_a_number_is_never_used_again(api, engine, cli):
    # Before issue 15 an unknown code became a rep in "Unassigned"; 0006 made them unresolved.
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO rep (code, name, team_id, active, created_at)"
                " VALUES ('13812345678', '13812345678', NULL, :a, :t)"
            ),
            {"a": True, "t": datetime(2026, 11, 1, tzinfo=UTC)},
        )
        rep_id = conn.execute(sa.text("SELECT id FROM rep")).scalar_one()
        conn.execute(
            sa.text("INSERT INTO rep_identifier (identifier, rep_id) VALUES ('13812345678', :r)"),
            {"r": rep_id},
        )
    api.post_calls(record("old-1", rep="13812345678"), on_roster=False)
    with engine.connect() as conn:
        code = conn.execute(
            sa.text("SELECT r.code FROM call c JOIN rep r ON r.id = c.rep_id")
        ).scalar_one()
    assert code.startswith("#")
    body = api.call("GET", "/api/v1/agents/unresolved").json()
    assert body["named"] == [] and "138" not in str(body)


def test_a_strict_import_names_the_column_never_the_number(api, cli, tmp_path):
    sheet = tmp_path / "calls.csv"
    sheet.write_text(
        "rep,started_at,customer\n13812345678,2026-11-26 10:05,13900001111\n"
        "8011,2026-11-26 10:06,13900001112\n",
        encoding="utf-8",
    )
    out = cli("import", str(sheet), "--format", "csv", "--strict")
    assert out.returncode == 0, out.stderr
    text = (tmp_path / "calls.csv.rejects.csv").read_text(encoding="utf-8")
    assert "rep: looks like a phone number, not an agent" in text
    assert "rep: '8011' is no rep's identifier" in text
    assert "13812345678" not in text + out.stdout + out.stderr


def test_only_outbound_calls_move_the_last_dial(api):
    api.post_calls(record("in-1", direction="inbound", started_at="2026-11-26T10:30:00+08:00"))
    api.post_calls(record("int-1", direction="internal", started_at="2026-11-26T10:40:00+08:00"))
    rep = next(r for r in api.snapshot()["reps"] if r["code"] == "1001")
    assert rep["last_dial_at"] is None
    api.post_calls(record("out-1", started_at="2026-11-26T10:20:00+08:00"))
    rep = next(r for r in api.snapshot()["reps"] if r["code"] == "1001")
    assert rep["last_dial_at"] == "2026-11-26T02:20:00+00:00"


@pytest.mark.parametrize(
    "when",
    ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "1970-01-01T00:00:00+00:00"],
)
def test_a_start_outside_2000_to_2100_is_rejected_alone(api, when):
    res = api.post_calls([record("a"), record("edge", started_at=when), record("b")])
    assert [r["status"] for r in res["results"]] == ["created", "rejected", "created"]
    assert res["results"][1]["errors"][0]["field"] == "started_at"
    assert "2000-01-01 and 2100-12-31" in res["results"][1]["errors"][0]["reason"]
    bad = api.patch_call("default", "a", {"ended_at": "9999-12-31T23:59:59-14:00"}, expect=422)
    assert "ended_at" in str(bad)
    assert api.rep_totals("1001")["dials"] == 2


def test_a_value_nested_a_thousand_levels_rejects_its_record_only(api, engine):
    deep = "[" * 990 + '"13800138000"' + "]" * 990
    body = (
        '[{"call_id": "a", "rep": "1001", "started_at": "2026-11-26T10:05:00+08:00",'
        ' "disposition": "answered"},'
        ' {"call_id": "deep", "rep": "1001", "started_at": "2026-11-26T10:06:00+08:00",'
        f' "disposition": "answered", "customer": {deep}}}]'
    )
    enrol(engine, {"1001"})
    resp = api.client.post(
        "/api/v1/calls",
        content=body,
        headers={**api.auth(api.ingest), "Content-Type": "application/json"},
    )
    assert resp.status_code == 200, resp.text
    assert [r["status"] for r in resp.json()["results"]] == ["created", "rejected"]
    with engine.connect() as conn:
        payload = conn.execute(sa.text("SELECT payload FROM ingest_reject")).scalar_one()
    assert "13800138000" not in payload and len(payload) < 2000


def test_a_token_made_for_one_source_writes_and_corrects_that_sources_calls_only(api):
    pbx2 = new_token(api.engine, "ingest", source="pbx2")
    enrol(api.engine, {"1001"})
    res = api.post_calls(
        [record("own"), {**record("other"), "source": "crm"}, {**record("same"), "source": "pbx2"}],
        token=pbx2,
    )
    assert [r["status"] for r in res["results"]] == ["created", "rejected", "created"]
    assert res["results"][1]["errors"][0]["field"] == "source"
    api.post_calls(record("crm-1", source="crm"))  # the floor's own ingest token
    resp = api.client.patch(
        "/api/v1/calls/crm/crm-1", json={"outcome": "sale"}, headers=api.auth(pbx2)
    )
    assert resp.status_code == 403 and resp.json()["errors"][0]["field"] == "source"
    ok = api.client.patch(
        "/api/v1/calls/pbx2/own", json={"outcome": "sale"}, headers=api.auth(pbx2)
    )
    assert ok.status_code == 200, ok.text


def test_a_rep_hour_of_sales_at_the_largest_order_value_never_overflows(db_url, tmp_path):
    from fastapi.testclient import TestClient

    from app.main import create_app
    from tests.conftest import Api, test_settings

    settings = test_settings(db_url, tmp_path, currency_minor_digits=4)
    with TestClient(create_app(settings)) as client:
        api = Api(client, client.app.state.engine)
        top = MAX_ORDER_VALUE  # the documented maximum
        sales = [record(f"big-{n}", outcome="sale", order_value=str(top)) for n in range(1000)]
        res = api.post_calls(sales)
        assert res["created"] == 1000, res["results"][:2]
        assert api.rep_totals("1001")["revenue"] == 1000 * int(top) * 10**4
        over = api.post_calls(record("too-big", outcome="sale", order_value=str(top + 1)))
        assert over["results"][0]["errors"][0]["field"] == "order_value"


def test_a_sale_that_would_overflow_its_hour_is_rejected_alone_on_either_engine(api):
    # The cell already holds nearly the widest revenue a column can (no mock: the real
    # database refuses the sum; SQLite would have turned it into a REAL without the CHECK).
    api.post_calls(record("first", outcome="sale", order_value="1"))
    with api.engine.begin() as conn:
        conn.execute(sa.text("UPDATE hourly_total SET revenue = 9000000000000000000 - 100"))
    body = [record("fine-1"), record("too-much", outcome="sale", order_value="2"), record("fine-2")]
    res = api.post_calls(body)
    assert [r["status"] for r in res["results"]] == ["created", "rejected", "created"]
    why = res["results"][1]["errors"][0]
    assert why["field"] == "record" and "out of the range" in why["reason"]
    totals = api.rep_totals("1001")
    assert (totals["dials"], totals["revenue"]) == (3, 9000000000000000000 - 100)
    assert isinstance(totals["revenue"], int)


def test_success_rate_counts_orders_on_outbound_connects_only(api):
    # A sale on an inbound call and one on a call with no customer: orders over connected leads
    # read 300 % here; the success rate is sales among this rep's outbound connects.
    api.post_calls(
        [
            record("out-sale", outcome="sale", order_value="10"),
            record("out-miss", disposition="no_answer"),
            record("out-talk"),
            {**record("in-sale", outcome="sale", order_value="10"), "direction": "inbound"},
            {**record("no-cust", outcome="sale", order_value="10"), "customer_number": None},
        ]
    )
    rep = next(r for r in api.snapshot("2026-11-26")["reps"] if r["code"] == "1001")
    assert rep["totals"]["connect_orders"] == 2  # out-sale and no-cust
    assert rep["totals"]["connects"] == 3
    assert rep["funnel"]["success_rate"] == round(2 / 3, 4)
