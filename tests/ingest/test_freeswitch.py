"""The FreeSWITCH mod_cdr_csv adapter: Master.csv rows → call records, each documented trap."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.ingest.adapters import ADAPTERS, Input, OptionError, Options
from app.ingest.adapters.base import NO_AGENT, Skipped
from app.ingest.adapters.freeswitch import (
    DEFAULT_COLUMNS,
    EXAMPLE_COLUMNS,
    FREESWITCH,
    MAX_LEGS,
    WINDOW,
)
from app.ingest.records import CustomerHasher, Incoming, parse_record
from tests.conftest import call_count, copy, summaries, totals, totals_agree

DATA = Path(__file__).resolve().parent.parent / "data"
SHANGHAI = ZoneInfo("Asia/Shanghai")
HASHER = CustomerHasher("k" * 32)


def read_bytes(data: bytes, *, tz: ZoneInfo = SHANGHAI, rep_from: str | None = None):
    """(rows, Input) for ``data`` read by the adapter the way the importer does."""
    source = Input(io.BytesIO(data), size=len(data))
    options = Options(timezone=tz, source="fs", rep_from=rep_from)
    return list(FREESWITCH.read(source, options)), source


def read(name_or_lines: str | list[str], **kw) -> list:
    if isinstance(name_or_lines, str):
        data = (DATA / name_or_lines).read_bytes()
    else:
        data = "".join(line + "\n" for line in name_or_lines).encode()
    return read_bytes(data, **kw)[0]


def records(name_or_lines, **kw) -> dict[int, dict]:
    return {row: rec for row, rec, _, _ in read(name_or_lines, **kw) if rec is not None}


def reasons(name_or_lines, **kw) -> dict[int, str]:
    return {row: reason for row, rec, reason, _ in read(name_or_lines, **kw) if rec is None}


def row15(**over: str) -> str:
    """One row of the ``example`` template (every field quoted), overridable by column name."""
    f = {
        "caller_id_name": "Wang Fang",
        "caller_id_number": "1001",
        "destination_number": "13800138000",
        "context": "default",
        "start_stamp": "2026-11-26 10:05:00",
        "answer_stamp": "2026-11-26 10:05:10",
        "end_stamp": "2026-11-26 10:06:10",
        "duration": "70",
        "billsec": "60",
        "hangup_cause": "NORMAL_CLEARING",
        "uuid": "a1a1a1a1-0000-4000-8000-000000000001",
        "bleg_uuid": "",
        "accountcode": "team-a",
        "read_codec": "PCMA",
        "write_codec": "PCMA",
    }
    f.update(over)
    return ",".join(f'"{v}"' for v in f.values())


def unanswered(**over: str) -> str:
    return row15(answer_stamp="", billsec="0", **over)


# --- layouts ---------------------------------------------------------------------------------


def test_example_template_file_maps_every_cause_and_rejects_two_broken_rows():
    got = read("freeswitch_example.csv")
    recs = {row: rec for row, rec, _, _ in got if rec}
    why = {row: reason for row, rec, reason, _ in got if rec is None}
    assert sorted(recs) == [1, 2, 3, 4, 6, 7, 8, 11, 12]
    assert set(why) == {5, 9}
    assert "FreeSWITCH does not escape" in why[5]
    assert why[9] == "hangup_cause: 'hung up' is not a Q.850 cause"

    connect = recs[1]
    assert connect == {
        "source": "fs",
        "call_id": "6f1c2a10-0001-4c00-8000-000000000001",
        "rep": "1001",
        "rep_column": "caller_id_number",
        "direction": "outbound",
        "started_at": "2026-11-26T10:05:00+08:00",
        "answered_at": "2026-11-26T10:05:08+08:00",
        "ended_at": "2026-11-26T10:06:08+08:00",
        "talk_seconds": 60,
        "disposition": "answered",
        "customer": "13800138001",
    }
    disp = {row: (rec["disposition"], rec["talk_seconds"]) for row, rec in recs.items()}
    assert disp[2] == ("no_answer", 0)  # NORMAL_CLEARING, empty answer_stamp
    assert disp[3] == ("busy", 0) and disp[4] == ("cancelled", 0)
    assert disp[6] == ("failed", 0)  # CALL_REJECTED
    assert disp[7] == ("answered", 45)  # GBK bytes in caller_id_name
    assert disp[8] == ("failed", 0)  # an UPPER_SNAKE cause this adapter does not know
    assert disp[11] == ("no_answer", 0)  # answered, billsec 0
    assert disp[12] == ("no_answer", 0)  # RECOVERY_ON_TIMER_EXPIRE
    assert all("answered_at" not in recs[r] for r in (2, 3, 4, 6, 8, 11, 12))


def test_default_template_has_13_columns_a_space_before_accountcode_and_may_have_a_header():
    got, source = read_bytes((DATA / "freeswitch_default.csv").read_bytes())
    recs = {row: rec for row, rec, _, _ in got if rec}
    why = {row: reason for row, rec, reason, _ in got if rec is None}
    # Row 1 is a header: skipped, and not counted as a data row.
    assert sorted(recs) == [2, 3, 5] and source.rows == 5
    assert "expected 13 (default template) or 15 (example template) columns, got 14" in why[4]
    assert why[6].startswith("start_stamp: '2026-13-26 11:06:00'")
    assert (recs[2]["rep"], recs[2]["disposition"], recs[2]["talk_seconds"]) == (
        "1001",
        "answered",
        120,
    )
    assert recs[3]["disposition"] == "no_answer"  # NO_ANSWER
    # The space FreeSWITCH writes before "${accountcode}" does not leak into the value.
    by_account = records("freeswitch_default.csv", rep_from="accountcode")
    assert [r["rep"] for r in by_account.values()] == ["team-a", "team-b", "team-a"]


def test_header_row_of_the_example_template_is_skipped_quoted_or_not():
    lines = [",".join(EXAMPLE_COLUMNS), row15(), ",".join(f'"{c}"' for c in EXAMPLE_COLUMNS)]
    got, source = read_bytes("\n".join(lines).encode())
    assert [(row, rec is not None) for row, rec, _, _ in got] == [(2, True)]
    assert source.rows == 1


def test_layout_is_told_by_the_column_count_row_by_row():
    default = ",".join(f'"{v}"' for v in next(csv.reader([row15()]))[:13])
    recs = records([row15(), default.replace("a1a1a1a1", "b2b2b2b2")])
    assert sorted(recs) == [1, 2] and recs[2]["talk_seconds"] == 60
    assert reasons([row15() + ',"extra"'])[1].endswith("got 16")
    assert len(DEFAULT_COLUMNS) == 13 and len(EXAMPLE_COLUMNS) == 15


# --- broken rows -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        'Wang "Boss" Fang',  # quote inside: ',' expected after '"'
        'Fang"',  # ends the field early, then another quote
        'A",B',  # splits the field: an unquoted field with a quote
        "Li, Na",  # a comma inside quotes is fine (control)
    ],
)
def test_an_unescaped_quote_in_caller_id_name_rejects_only_its_row(name):
    lines = [row15(), row15(caller_id_name=name, uuid="c3"), row15(uuid="c4")]
    got = read(lines)
    recs = {row for row, rec, _, _ in got if rec}
    why = {row: reason for row, rec, reason, _ in got if rec is None}
    if name == "Li, Na":
        assert recs == {1, 2, 3} and not why
        return
    assert recs == {1, 3} and set(why) == {2}
    assert '"' in why[2] and ("FreeSWITCH does not escape" in why[2] or "got 16" in why[2])


def test_an_unterminated_row_is_rejected_and_the_file_goes_on():
    got = read([row15()[:-5], "", row15(uuid="z9")])
    assert [(row, rec is None) for row, rec, _, _ in got] == [(1, True), (3, False)]
    assert "unexpected end of data" in got[0][2]


def test_non_utf8_bytes_spoil_one_field_not_the_import():
    name = "赵磊".encode("gbk")
    data = row15().replace("Wang Fang", "@@").encode().replace(b"@@", name) + b"\n\xff\xfe\n"
    data += row15(uuid="u2").encode() + b"\n"
    got, source = read_bytes(data)
    assert [row for row, rec, _, _ in got if rec] == [1, 3]
    assert [row for row, rec, _, _ in got if rec is None] == [2]
    assert source.rows == 3


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"start_stamp": ""}, "start_stamp: is empty"),
        ({"start_stamp": "2026-11-26T10:05:00+08:00"}, "start_stamp:"),
        ({"start_stamp": "1899-01-01 00:00:00"}, "out of range"),
        ({"answer_stamp": "yesterday"}, "answer_stamp:"),
        ({"end_stamp": "2026-11-26 25:00:00"}, "end_stamp:"),
        ({"billsec": "sixty"}, "billsec:"),
        ({"duration": "-5"}, "duration:"),
        ({"uuid": ""}, "uuid: is empty"),
        ({"hangup_cause": ""}, "hangup_cause: '' is not a Q.850 cause"),
        ({"hangup_cause": "normal_clearing"}, "is not a Q.850 cause"),
        ({"hangup_cause": "NORMAL CLEARING"}, "is not a Q.850 cause"),
    ],
)
def test_a_row_with_a_bad_field_is_rejected_with_its_reason(over, field):
    got = read([row15(uuid="ok1"), "", row15(**over), row15(uuid="ok2")])
    why = {row: reason for row, rec, reason, _ in got if rec is None}
    assert list(why) == [3] and field in why[3]
    assert sorted(row for row, rec, _, _ in got if rec) == [1, 4]


# --- dispositions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cause", "disposition"),
    [
        ("NORMAL_CLEARING", "no_answer"),
        ("USER_BUSY", "busy"),
        ("NO_ANSWER", "no_answer"),
        ("NO_USER_RESPONSE", "no_answer"),
        ("ALLOTTED_TIMEOUT", "no_answer"),
        ("RECOVERY_ON_TIMER_EXPIRE", "no_answer"),
        ("ORIGINATOR_CANCEL", "cancelled"),
        ("LOSE_RACE", "cancelled"),
        ("PICKED_OFF", "cancelled"),
        ("CALL_REJECTED", "failed"),
        ("UNALLOCATED_NUMBER", "failed"),
        ("NO_ROUTE_DESTINATION", "failed"),
        ("NUMBER_CHANGED", "failed"),
        ("INVALID_NUMBER_FORMAT", "failed"),
        ("NORMAL_TEMPORARY_FAILURE", "failed"),
        ("NETWORK_OUT_OF_ORDER", "failed"),
        ("DESTINATION_OUT_OF_ORDER", "failed"),
        ("MEDIA_TIMEOUT", "failed"),
        ("INCOMPATIBLE_DESTINATION", "failed"),
        ("SUBSCRIBER_ABSENT", "failed"),
        ("NORMAL_UNSPECIFIED", "failed"),
        ("SERVICE_UNAVAILABLE", "failed"),
        ("A_CAUSE_FROM_2030", "failed"),
    ],
)
def test_an_unanswered_leg_takes_its_disposition_from_the_q850_cause(cause, disposition):
    rec = records([unanswered(hangup_cause=cause)])[1]
    assert (rec["disposition"], rec["talk_seconds"]) == (disposition, 0)
    assert "answered_at" not in rec


@pytest.mark.parametrize(
    ("over", "connect"),
    [
        ({}, True),
        ({"hangup_cause": "MEDIA_TIMEOUT"}, True),  # talked, then the media dropped
        ({"billsec": "0"}, False),  # answered (an IVR, a voicemail) but no billable talk
        ({"answer_stamp": ""}, False),  # billsec without an answer: not a connect
        ({"hangup_cause": "USER_BUSY"}, False),
        ({"hangup_cause": "ORIGINATOR_CANCEL"}, False),
    ],
)
def test_a_connect_is_billsec_with_an_answer_stamp_and_no_busy_or_cancel_cause(over, connect):
    rec = records([row15(**over)])[1]
    assert (rec["disposition"] == "answered") is connect
    assert rec["talk_seconds"] == (60 if connect else 0)
    assert ("answered_at" in rec) is connect
    if connect:
        assert rec["answered_at"] == "2026-11-26T10:05:10+08:00"


# --- rep, customer, time, identity -----------------------------------------------------------


def test_rep_is_the_caller_id_number_or_the_column_rep_from_names():
    assert records([row15()])[1]["rep"] == "1001"
    assert records([row15()], rep_from="accountcode")[1]["rep"] == "team-a"
    # An empty --rep-from column falls back to the default rule.
    assert records([row15(accountcode="")], rep_from="accountcode")[1]["rep"] == "1001"
    # No caller at all: no agent to name; the call is kept under the unresolved bucket.
    assert records([row15(caller_id_number="")])[1]["rep"] == NO_AGENT
    default = ",".join(f'"{v}"' for v in next(csv.reader([row15()]))[:13])
    assert "no such column" in reasons([default], rep_from="read_codec")[1]
    with pytest.raises(OptionError, match="rep_from"):
        FREESWITCH.check(Options(timezone=SHANGHAI, source="fs", rep_from="channel"))
    FREESWITCH.check(Options(timezone=SHANGHAI, source="fs", rep_from="accountcode"))


def test_customer_is_the_destination_number():
    assert records([row15(destination_number="13900139000")])[1]["customer"] == "13900139000"
    assert "customer" not in records([row15(destination_number="")])[1]


def test_times_are_read_in_the_given_timezone():
    rec = records([row15()], tz=ZoneInfo("UTC"))[1]
    assert rec["started_at"] == "2026-11-26T10:05:00+00:00"
    assert rec["answered_at"] == "2026-11-26T10:05:10+00:00"


def test_call_id_is_the_a_leg_uuid_and_the_same_on_every_read():
    for name in ("freeswitch_example.csv", "freeswitch_default.csv", "freeswitch_legs_ab.csv"):
        first, again = records(name), records(name)
        assert first == again
        ids = [r["call_id"] for r in first.values()]
        assert len(set(ids)) == len(ids)
    assert records([row15(uuid="  abc-1  ")])[1]["call_id"] == "abc-1"


def test_records_pass_the_call_record_schema():
    for name in ("freeswitch_example.csv", "freeswitch_default.csv", "freeswitch_legs_ab.csv"):
        for i, rec in enumerate(records(name).values()):
            item = parse_record(rec, i, default_source="x", hasher=HASHER, minor_digits=2)
            assert isinstance(item, Incoming), item
            assert item.fields["customer_key"] is not None


def test_rejects_text_holds_no_phone_number():
    for name in ("freeswitch_example.csv", "freeswitch_default.csv"):
        raws = [raw for _, rec, _, raw in read(name) if rec is None]
        assert raws and all("***" in raw for raw in raws)
        assert not any(re.search(r"13[789]\d{8}", raw) for raw in raws)
    [(_, _, _, raw)] = read([row15(caller_id_name="+86 139-0013-9000", hangup_cause="x")])
    assert "139" not in raw and "13800138000" not in raw
    assert "2026-11-26 10:05:00" in raw and "a1a1a1a1-0000-4000-8000-000000000001" in raw
    [(_, _, _, raw)] = read(['"Wang "Boss"","1001","13800138000","default"'])
    assert "138001" not in raw


# --- legs ------------------------------------------------------------------------------------


def test_legs_ab_file_counts_each_call_once_whichever_leg_comes_first():
    got, source = read_bytes((DATA / "freeswitch_legs_ab.csv").read_bytes())
    assert source.rows == 7 and all(rec is not None for _, rec, _, _ in got)
    recs = {row: rec for row, rec, _, _ in got}
    assert sorted(recs) == [1, 3, 5, 6]
    a, b, c, d = (recs[r] for r in (1, 3, 5, 6))
    # A then B: rep (not the B-leg's outbound caller id) and customer from the A-leg.
    assert a["call_id"] == "c0ffee00-0001-4a00-a000-000000000001"
    assert (a["rep"], a["disposition"], a["talk_seconds"]) == ("1001", "answered", 90)
    assert a["customer"] == "13800138031"
    # B (pointing back) before A: the A-leg's uuid; its NORMAL_CLEARING yields to USER_BUSY.
    assert b["call_id"] == "c0ffee00-0002-4a00-a000-000000000002"
    assert (b["rep"], b["disposition"], b["talk_seconds"]) == ("1002", "busy", 0)
    assert b["started_at"] == "2026-11-26T12:03:00+08:00"
    # A, another call, then B: merged; only the B-leg connected, its talk and answer time.
    assert c["call_id"] == "c0ffee00-0003-4a00-a000-000000000003"
    assert (c["rep"], c["disposition"], c["talk_seconds"]) == ("1003", "answered", 40)
    assert c["answered_at"] == "2026-11-26T12:05:10+08:00"
    assert (d["rep"], d["disposition"]) == ("1001", "failed")
    assert len(got) == 4


def test_legs_raw_text_holds_every_leg_masked():
    raws = {row: raw for row, _, _, raw in read("freeswitch_legs_ab.csv")}
    assert [raws[r].count("\n") + 1 for r in (1, 3, 5, 6)] == [2, 2, 2, 1]
    assert not re.search(r"13[789]\d{8}|02088886666", "".join(raws.values()))


def test_legs_pointing_at_each_other_take_the_earlier_leg_as_a():
    a = row15(uuid="aa", bleg_uuid="bb", start_stamp="2026-11-26 10:05:00")
    b = row15(uuid="bb", bleg_uuid="aa", caller_id_number="8888", start_stamp="2026-11-26 10:05:01")
    for lines in ([a, b], [b, a]):
        [rec] = records(lines).values()
        assert (rec["call_id"], rec["rep"], rec["talk_seconds"]) == ("aa", "1001", 60)
    # Same start: the longer leg, then the one read first.
    b_same = b.replace("10:05:01", "10:05:00").replace('"70"', '"69"')
    [rec] = records([b_same, a]).values()
    assert rec["call_id"] == "aa"


def test_a_failover_b_leg_pointing_back_joins_its_call():
    a = unanswered(uuid="aa", bleg_uuid="b2")
    b1 = unanswered(uuid="b1", bleg_uuid="aa", hangup_cause="NORMAL_TEMPORARY_FAILURE")
    b2 = row15(uuid="b2", bleg_uuid="", caller_id_number="02088886666")
    [rec] = records([b1, a, b2]).values()
    assert (rec["call_id"], rec["rep"], rec["disposition"]) == ("aa", "1001", "answered")


def test_legs_within_the_window_merge_and_a_leg_further_away_is_skipped_not_counted_twice():
    a = row15(uuid="aa", bleg_uuid="bb", answer_stamp="", billsec="0")
    b = row15(uuid="bb", caller_id_number="02088886666")
    between = [unanswered(uuid=f"x{i}", bleg_uuid=f"y{i}") for i in range(WINDOW - 1)]
    near = records([a, *between, b])
    assert len(near) == WINDOW and near[1]["disposition"] == "answered"
    far = [unanswered(uuid=f"x{i}", bleg_uuid=f"y{i}") for i in range(WINDOW + 1)]
    got = read([a, *far, b])
    recs = [rec for _, rec, _, _ in got if rec]
    why = {row: reason for row, rec, reason, _ in got if rec is None}
    assert len(recs) == WINDOW + 2 and recs[0]["disposition"] == "no_answer"
    assert list(why) == [WINDOW + 3] and isinstance(why[WINDOW + 3], Skipped)
    assert "read more than 8 calls earlier" in why[WINDOW + 3]


def test_a_call_takes_at_most_max_legs_and_skips_the_rest():
    lines = [row15(uuid="aa", bleg_uuid="bb")] * (MAX_LEGS + 3)
    got = read(lines)
    [rec] = [rec for _, rec, _, _ in got if rec]
    why = {row: reason for row, rec, reason, _ in got if rec is None}
    assert rec["call_id"] == "aa" and sorted(why) == list(range(MAX_LEGS + 1, MAX_LEGS + 4))
    assert all(isinstance(r, Skipped) for r in why.values())
    assert f"past the {MAX_LEGS} a call may have" in why[MAX_LEGS + 1]


def test_a_legs_a_file_never_merges_rows_of_different_calls():
    lines = [unanswered(uuid=f"u{i}", bleg_uuid=f"b{i}") for i in range(30)]
    assert len(records(lines)) == 30


# --- never a crash ---------------------------------------------------------------------------


def _check(rows: list, source: Input) -> None:
    """Every non-blank, non-header row is a reason or a leg of exactly one record."""
    seen, legs = set(), 0
    for i, (row, rec, reason, raw) in enumerate(rows):
        assert isinstance(row, int) and row >= 1 and row not in seen
        seen.add(row)
        assert (rec is None) != (reason is None) and isinstance(raw, str)
        if rec is None:
            assert reason.strip()
            legs += 1
            continue
        legs += raw.count("\n") + 1
        for key in ("source", "call_id", "rep", "started_at", "disposition", "direction"):
            assert rec[key], key
        datetime.fromisoformat(rec["started_at"])
        parse_record(rec, i, default_source="x", hasher=HASHER, minor_digits=2)
    assert legs == source.rows


_FS_CHARS = st.sampled_from(list(',"\\ ;/-:_.@\t\r') + list("0123456789ABCDEFNORMAL_CLEARING"))
_FIELD = st.one_of(
    st.text(_FS_CHARS, max_size=20),
    st.sampled_from(
        ["", "2026-11-26 10:05:00", "NORMAL_CLEARING", "USER_BUSY", "60", "aa", "bb", "1001"]
    ),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_crash_the_adapter(data):
    rows, source = read_bytes(data)
    _check(rows, source)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(
            st.text(max_size=200),
            st.lists(_FIELD, min_size=13, max_size=15).map(
                lambda fs: ",".join(f'"{f}"' for f in fs)
            ),
        ),
        max_size=12,
    )
)
def test_arbitrary_lines_never_crash_the_adapter(lines):
    rows, source = read_bytes("\n".join(lines).encode("utf-8", errors="surrogatepass"))
    _check(rows, source)


# --- end to end ------------------------------------------------------------------------------


def test_import_through_the_cli_counts_each_call_once_and_reimports_as_duplicates(
    cli, engine, tmp_path
):
    assert "freeswitch" in ADAPTERS
    files = copy(tmp_path, "freeswitch_example.csv", "freeswitch_legs_ab.csv")
    out = cli("import", *map(str, files), "--format", "freeswitch")
    assert out.returncode == 0, out.stderr
    s = summaries(out.stdout)
    rejects = tmp_path / "freeswitch_example.csv.rejects.csv"
    assert s["freeswitch_example.csv"] == {
        "rows": 11,
        "created": 9,
        "updated": 0,
        "duplicate": 0,
        "stale": 0,
        "rejected": 2,
        "rejects": str(rejects),
    }
    assert s["freeswitch_legs_ab.csv"] | {"rejects": None} == {
        "rows": 7,
        "created": 4,
        "updated": 0,
        "duplicate": 0,
        "stale": 0,
        "rejected": 0,
        "rejects": None,
    }
    assert totals(engine) == {
        "1001": (5, 2, 150),  # example: connect 60, busy, new cause; legs: connect 90, failed
        "1002": (4, 0, 0),  # example: no answer, cancel, answered with billsec 0; legs: busy
        "1003": (4, 2, 85),  # example: CALL_REJECTED, GBK connect 45, timer; legs: B-leg connect 40
    }
    assert totals_agree(engine) and call_count(engine) == 13
    rows = list(csv.DictReader(rejects.read_text(encoding="utf-8").splitlines()))
    assert [r["row"] for r in rows] == ["5", "9"]
    assert not re.search(r"13[789]\d{8}", rejects.read_text(encoding="utf-8"))

    again = summaries(cli("import", *map(str, files), "--format", "freeswitch").stdout)
    assert (
        again["freeswitch_example.csv"]["duplicate"],
        again["freeswitch_example.csv"]["created"],
    ) == (9, 0)
    assert (
        again["freeswitch_legs_ab.csv"]["duplicate"],
        again["freeswitch_legs_ab.csv"]["created"],
    ) == (4, 0)
    assert call_count(engine) == 13 and totals_agree(engine)


def test_an_inbound_call_keeps_the_agents_leg_when_rep_from_names_another_column():
    a = row15(
        caller_id_number="62345678",
        destination_number="5000",
        context="public",
        uuid="aa",
        bleg_uuid="bb",
        billsec="119",
        accountcode="agent7",
    )
    b = row15(
        caller_id_number="62345678",
        destination_number="1001",
        context="public",
        uuid="bb",
        bleg_uuid="",
        billsec="95",
        accountcode="agent7",
    )
    [rec] = records([a, b], rep_from="accountcode").values()
    assert (rec["rep"], rec["direction"]) == ("agent7", "inbound")
    assert (rec["disposition"], rec["talk_seconds"]) == ("answered", 95)
    # Naming the IVR's column: the IVR's time is still no conversation.
    [ivr] = records([a], rep_from="destination_number").values()
    assert (ivr["rep"], ivr["disposition"], ivr["talk_seconds"]) == ("5000", "no_answer", 0)
