"""The Asterisk cdr_csv adapter: Master.csv rows → call records, each documented trap."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.ingest.adapters import ADAPTERS, Input, Options
from app.ingest.adapters.asterisk import channel_peer, mask_line, read_master_csv
from app.ingest.adapters.base import NO_AGENT
from app.ingest.records import CustomerHasher, Incoming, parse_record

DATA = Path(__file__).resolve().parent.parent / "data"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def read(name_or_lines, *, tz: ZoneInfo = SHANGHAI, rep_from: str | None = None) -> list:
    if isinstance(name_or_lines, str):
        with (DATA / name_or_lines).open("rb") as f:
            lines = [raw.decode("utf-8", errors="replace") for raw in f]
    else:
        lines = name_or_lines
    return list(read_master_csv(lines, timezone=tz, source="ast", rep_from=rep_from))


def records(name_or_lines, **kw) -> dict[int, dict]:
    return {row: rec for row, rec, reason in read(name_or_lines, **kw) if rec is not None}


def row16(**over) -> str:
    """One 16-column Master.csv line, fields overridable by column name."""
    f = {
        "accountcode": '""',
        "src": '"1001"',
        "dst": '"13800138000"',
        "dcontext": '"from-internal"',
        "clid": '"""Wang"" <1001>"',
        "channel": '"SIP/1001-0000002a"',
        "dstchannel": '"SIP/trunk-0000002b"',
        "lastapp": '"Dial"',
        "lastdata": '"SIP/trunk/13800138000,60"',
        "start": '"2026-11-26 10:05:00"',
        "answer": '"2026-11-26 10:05:10"',
        "end": '"2026-11-26 10:06:10"',
        "duration": "70",
        "billsec": "60",
        "disposition": '"ANSWERED"',
        "amaflags": '"DOCUMENTATION"',
    }
    f.update(over)
    return ",".join(f.values())


@pytest.mark.parametrize(
    ("channel", "peer"),
    [
        ("SIP/1001-0000002a", "1001"),
        ("PJSIP/1001-00000031", "1001"),
        ("IAX2/1001-7342", "1001"),
        ("Local/1001@from-internal-00000012;1", "1001"),
        ("PJSIP/agent-7-0000abcd", "agent-7"),
        ("PJSIP/1001", "1001"),
        ("", None),
        ("garbage", None),
    ],
)
def test_rep_is_the_channel_peer(channel, peer):
    assert channel_peer(channel) == peer


def test_16_columns_every_trap():
    got = read("master16.csv")
    recs = {row: rec for row, rec, _ in got if rec}
    reasons = {row: reason for row, rec, reason in got if reason}
    assert sorted(recs) == [1, 2, 3, 4, 5, 6, 9, 10]
    assert set(reasons) == {7, 8}
    assert "16, 18 or 21 columns, got 15" in reasons[7] and reasons[8].startswith("start:")

    connect = recs[1]
    assert connect["rep"] == "1001" and connect["disposition"] == "answered"
    assert connect["talk_seconds"] == 60 and connect["customer"] == "13800138001"
    assert connect["started_at"] == "2026-11-26T10:05:00+08:00"
    assert connect["answered_at"] == "2026-11-26T10:05:10+08:00"
    assert connect["ended_at"] == "2026-11-26T10:06:10+08:00"
    assert connect["direction"] == "outbound" and connect["source"] == "ast"
    assert connect["call_id"].startswith("cdr-")
    # Empty answer ("" or nothing), PJSIP peer.
    assert recs[2]["rep"] == "1002" and recs[2]["disposition"] == "no_answer"
    assert "answered_at" not in recs[2]
    # NO ANSWER with an answer time and billsec > 0: a dial, no talk.
    assert recs[3]["rep"] == "1003" and recs[3]["disposition"] == "no_answer"
    assert recs[3]["talk_seconds"] == 0 and "answered_at" not in recs[3]
    # ANSWERED with billsec 0 on a Local channel: a dial.
    assert recs[4]["rep"] == "1004" and recs[4]["disposition"] == "no_answer"
    assert recs[4]["talk_seconds"] == 0
    assert recs[5]["disposition"] == "busy"
    # GBK bytes in clid do not stop the row.
    assert recs[6]["disposition"] == "answered" and recs[6]["talk_seconds"] == 45
    assert recs[9]["disposition"] == "failed" and recs[10]["disposition"] == "cancelled"


def test_16_column_call_id_is_stable_and_distinct():
    first, again = records("master16.csv"), records("master16.csv")
    assert first == again
    ids = [r["call_id"] for r in first.values()]
    assert len(set(ids)) == len(ids)


def test_quoted_commas_and_escaped_quotes_do_not_shift_columns():
    line = row16(clid='"""Ma, Li"" <1001>"', lastdata='"SIP/trunk/1,2,3,""x"""')
    [(row, rec, reason)] = read([line])
    assert reason is None and rec["rep"] == "1001" and rec["talk_seconds"] == 60


def test_18_columns_rows_of_one_uniqueid_are_one_call():
    recs = records("master18.csv")
    assert sorted(recs) == [1, 3]
    assert recs[1]["call_id"] == "pbx1-1764122400.5"  # system-name prefix kept
    assert recs[1]["disposition"] == "answered" and recs[1]["talk_seconds"] == 30
    assert recs[3]["call_id"] == "1764122460.7" and recs[3]["disposition"] == "busy"


def test_21_columns_legs_of_a_linkedid_are_one_call():
    recs = records("master21.csv")
    assert sorted(recs) == [1, 3, 5, 7]
    a, b, c, d = (recs[r] for r in (1, 3, 5, 7))
    # Both legs ANSWERED 90 s: one connect, 90 s, the rep from the originating leg (not 's').
    assert a["call_id"] == "host-1764122400.10" and a["rep"] == "2001"
    assert (a["disposition"], a["talk_seconds"]) == ("answered", 90)
    assert (b["rep"], b["disposition"], b["talk_seconds"]) == ("2002", "no_answer", 0)
    # An IVR leg then the connected leg: the connected leg's talk and answer time.
    assert (c["disposition"], c["talk_seconds"]) == ("answered", 50)
    assert c["answered_at"] == "2026-11-26T10:10:30+08:00"
    assert c["ended_at"] == "2026-11-26T10:11:20+08:00"
    assert (d["disposition"], d["talk_seconds"]) == ("no_answer", 0)


def test_mixed_layouts_in_one_file_are_detected_per_row():
    lines = [
        row16(),
        row16(start='"2026-11-26 10:07:00"') + ',"1764122820.1",""',
        row16(start='"2026-11-26 10:08:00"') + ',"1764122880.1","","","1764122880.1",3',
    ]
    recs = records(lines)
    assert [r["call_id"][:4] for r in recs.values()] == ["cdr-", "1764", "1764"]


def test_rep_from_another_column():
    line = row16(src='"8001"', accountcode='"agent-9"')
    assert records([line], rep_from="src")[1]["rep"] == "8001"
    assert records([line], rep_from="accountcode")[1]["rep"] == "agent-9"
    # An empty --rep-from column falls back to the default rule (the channel's peer).
    [(_, rec, reason)] = read([row16(accountcode='""')], rep_from="accountcode")
    assert reason is None and (rec["rep"], rec["rep_column"]) == ("1001", "channel")
    [(_, rec, reason)] = read([row16()], rep_from="uniqueid")
    assert rec is None and "no such column" in reason
    with pytest.raises(ValueError, match="not a Master.csv column"):
        read([row16()], rep_from="nonsense")


def test_times_are_read_in_the_given_timezone():
    rec = records([row16()], tz=ZoneInfo("UTC"))[1]
    assert rec["started_at"] == "2026-11-26T10:05:00+00:00"


def test_each_broken_row_is_rejected_with_its_row_number():
    lines = [
        row16(),
        "",
        row16(disposition='"HUNG UP"'),
        row16(billsec="sixty"),
        row16(channel='""'),
        row16(start='"1899-01-01 00:00:00"'),
        '"unterminated,' + row16(),
        row16(start='"2026-11-26 10:09:00"'),
    ]
    got = read(lines)
    reasons = {row: reason for row, rec, reason in got if reason}
    assert set(reasons) == {3, 4, 6, 7}
    assert "disposition" in reasons[3] and "billsec" in reasons[4]
    assert "out of range" in reasons[6]
    assert sorted(row for row, rec, _ in got if rec) == [1, 5, 8]
    # No channel: no agent to name; the call is kept under the unresolved bucket.
    no_agent = next(rec for row, rec, _ in got if row == 5)
    assert (no_agent["rep"], no_agent["rep_column"]) == (NO_AGENT, "channel")


def test_records_pass_the_call_record_schema():
    hasher = CustomerHasher("k" * 32)
    for name in ("master16.csv", "master18.csv", "master21.csv"):
        for i, rec in enumerate(records(name).values()):
            item = parse_record(rec, i, default_source="x", hasher=hasher, minor_digits=2)
            assert isinstance(item, Incoming), item
            assert item.fields["started_at"].tzinfo is not None


def test_masked_rejects_text_holds_no_phone_number():
    masked = mask_line(row16(dst='"+86 138-0013-8000"', clid='"13900139000"'))
    assert "138" not in masked and "13900139000" not in masked
    assert "2026-11-26 10:05:00" in masked and "SIP/1001-0000002a" in masked
    assert "138001" not in mask_line('"broken,13800138000,"x')


_CDR_CHARS = st.sampled_from(list(',"\\ ;/-:.@\t\r') + list("0123456789ANSWEREDSIPLocal"))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(max_size=300),
            st.text(_CDR_CHARS, max_size=300),
            st.lists(st.text(_CDR_CHARS, max_size=25), min_size=15, max_size=22).map(",".join),
        ),
        max_size=8,
    )
)
def test_arbitrary_lines_never_crash_the_adapter(lines):
    hasher = CustomerHasher("k" * 32)
    got = read(lines)
    for i, (row, rec, reason) in enumerate(got):
        assert isinstance(row, int) and 1 <= row <= len(lines)
        assert (rec is None) != (reason is None)
        if rec is not None:
            # What the adapter emits never crashes the schema either.
            parse_record(rec, i, default_source="x", hasher=hasher, minor_digits=2)
            datetime.fromisoformat(rec["started_at"])
        else:
            assert reason
    # Each non-blank row yields a record or a reason (merged legs yield one record).
    rows = {row for row, _, _ in got}
    assert len(rows) == len(got)
    if any(line.strip() for line in lines):
        assert got


def read_custom(name: str) -> list:
    data = (DATA / name).read_bytes()
    options = Options(timezone=SHANGHAI, source="ast")
    return list(ADAPTERS["asterisk-custom"].read(Input(io.BytesIO(data)), options))


def test_cdr_custom_default_template_reads_clid_first_and_all_fields_quoted():
    got = read_custom("custom19.csv")
    recs = {row: rec for row, rec, _, _ in got if rec}
    reasons = {row: reason for row, rec, reason, _ in got if reason}
    assert sorted(recs) == [1, 2, 3, 4, 5] and set(reasons) == {6}
    assert reasons[6] == "expected 18 or 19 columns, got 15"
    one = recs[1]
    assert (one["rep"], one["disposition"], one["talk_seconds"]) == ("1001", "answered", 60)
    assert one["call_id"] == "pbx1-1764122700.1" and one["customer"] == "13800138011"
    assert one["answered_at"] == "2026-11-26T10:05:10+08:00"
    # An empty answer written as "" and a quoted "0" billsec.
    assert (recs[2]["disposition"], "answered_at" in recs[2]) == ("no_answer", False)
    # The same traps as cdr_csv: an IVR's answer is a dial, ANSWERED with 0 s is a dial.
    assert (recs[3]["disposition"], recs[3]["talk_seconds"]) == ("no_answer", 0)
    assert (recs[4]["rep"], recs[4]["disposition"]) == ("1004", "no_answer")
    # 18 columns: the template without the trailing sequence.
    assert recs[5]["disposition"] == "busy"


def test_cdr_custom_rejects_mask_the_dialled_number():
    [(_, _, reason, raw)] = [r for r in read_custom("custom19.csv") if r[2]]
    assert "13800138016" not in raw and "***" in raw


def test_cdr_csv_rows_are_not_read_as_cdr_custom():
    # A 16-column cdr_csv row fed to asterisk-custom is refused, not misread.
    data = (row16() + "\n").encode()
    options = Options(timezone=SHANGHAI, source="ast")
    [(_, rec, reason, _)] = ADAPTERS["asterisk-custom"].read(Input(io.BytesIO(data)), options)
    assert rec is None and "got 16" in reason


def test_an_inbound_call_through_an_ivr_row_then_a_dial_row_is_the_agents_with_its_talk():
    # Asterisk 12+ writes a row per application on the trunk's channel, one linkedid.
    common = '"DOCUMENTATION","1764122700.3","","","1764122700.3"'
    ivr = (
        '"","13998765432","4008001234","from-trunk","x","PJSIP/trunk-00000003","","BackGround",'
        '"custom/welcome","2026-11-26 10:05:00","2026-11-26 10:05:01","2026-11-26 10:05:20",'
        f'20,19,"ANSWERED",{common},1'
    )
    dial = (
        '"","13998765432","8002","from-internal","x","PJSIP/trunk-00000003",'
        '"PJSIP/8002-00000004","Dial","PJSIP/8002,30","2026-11-26 10:05:20",'
        f'"2026-11-26 10:05:25","2026-11-26 10:06:10",50,45,"ANSWERED",{common},2'
    )
    [rec] = records([ivr, dial]).values()
    assert (rec["rep"], rec["rep_column"], rec["direction"]) == ("8002", "dstchannel", "inbound")
    assert (rec["disposition"], rec["talk_seconds"]) == ("answered", 45)
    assert rec["customer"] == "13998765432"
    # --rep-from renames the agent; the talk is still the agent's leg's.
    [forced] = records([ivr, dial], rep_from="accountcode").values()
    assert forced["talk_seconds"] == 45
    # The IVR alone reached no agent: kept under the no-agent bucket, and not a connect.
    [alone] = records([ivr]).values()
    assert (alone["rep"], alone["disposition"], alone["talk_seconds"]) == (NO_AGENT, "no_answer", 0)


def test_a_row_as_a_spreadsheet_resaves_it_reads_without_quotes_or_seconds():
    line = (
        ",8001,13800138000,from-internal,Wang,PJSIP/8001-00000001,PJSIP/trunk-00000002,Dial,"
        "x,2026/11/26 10:05,2026/11/26 10:05,2026/11/26 10:06,60,55,ANSWERED,DOCUMENTATION"
    )
    [rec] = records([line]).values()
    assert rec["started_at"] == "2026-11-26T10:05:00+08:00"
    assert (rec["rep"], rec["direction"], rec["talk_seconds"]) == ("8001", "outbound", 55)
