"""The generic csv/xlsx adapters: a header row, columns mapped to record fields."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from app.ingest.adapters import ADAPTERS, Input, OptionError, Options
from app.ingest.adapters.table import CSV, FIELDS, XLSX, check_mapping
from app.ingest.records import CallRecord, CustomerHasher, Incoming, parse_record
from tests.conftest import SECRET, summaries, totals, totals_agree

DATA = Path(__file__).resolve().parent.parent / "data"
SHANGHAI = ZoneInfo("Asia/Shanghai")
CN_MAP = {
    "rep": "坐席工号",
    "started_at": "开始时间",
    "answered_at": "接通时间",
    "ended_at": "结束时间",
    "talk_seconds": "通话时长",
    "disposition": "呼叫结果",
    "customer": "被叫号码",
}
PHONE = re.compile(r"1[3-9]\d{9}")


def read(
    data: bytes | Path,
    adapter=CSV,
    *,
    mapping: dict[str, str] | None = None,
    encoding: str | None = None,
    rep_from: str | None = None,
) -> tuple[list, Input]:
    """Every row the adapter yields for ``data`` (bytes or a file), and the Input it read."""
    f = data.open("rb") if isinstance(data, Path) else io.BytesIO(data)
    with f:
        size = len(data) if isinstance(data, bytes) else data.stat().st_size
        source = Input(f, size=size)
        options = Options(
            timezone=SHANGHAI,
            source="sheet",
            rep_from=rep_from,
            mapping=mapping or {},
            encoding=encoding,
        )
        return list(adapter.read(source, options)), source


def records(rows: list) -> dict[int, dict]:
    return {row: rec for row, rec, _reason, _raw in rows if rec is not None}


def reasons(rows: list) -> dict[int, str]:
    return {row: reason for row, _rec, reason, _raw in rows if reason is not None}


def one(text: str, **kw) -> dict:
    """The single record of a CSV ``text`` (header line first); fails when it is rejected."""
    rows, _ = read(text.encode(), **kw)
    assert len(rows) == 1, rows
    _row, rec, reason, _raw = rows[0]
    assert reason is None, reason
    CallRecord.model_validate(rec)
    return rec


def one_reason(text: str, **kw) -> str:
    rows, _ = read(text.encode(), **kw)
    assert len(rows) == 1, rows
    assert rows[0][1] is None
    return rows[0][2]


def xlsx(tmp_path: Path, rows: list[list], name: str = "calls.xlsx") -> Path:
    """A workbook whose first sheet holds ``rows`` (``None`` = an empty row)."""
    book = Workbook()
    sheet = book.active
    for number, cells in enumerate(rows, start=1):
        for col, value in enumerate(cells or [], start=1):
            cell = sheet.cell(row=number, column=col, value=value)
            if isinstance(value, timedelta):
                cell.number_format = "[h]:mm:ss"
            elif isinstance(value, time):
                cell.number_format = "h:mm:ss"
    book.create_sheet("second").append(["rep", "started_at"])
    path = tmp_path / name
    book.save(path)
    return path


def test_registry_lists_csv_and_xlsx_as_mapped_formats():
    assert ADAPTERS["csv"] is CSV and ADAPTERS["xlsx"] is XLSX
    assert CSV.mapped and XLSX.mapped and CSV.rep_columns == () == XLSX.rep_columns


# --- csv: headers and mapping ----------------------------------------------------------------


def test_chinese_headers_with_map_read_every_row_and_reject_only_the_bad_ones():
    rows, source = read(DATA / "table_cn.csv", mapping=CN_MAP)
    recs, why = records(rows), reasons(rows)
    assert sorted(recs) == [2, 3, 4, 6, 9]  # row 4 spans two lines (a quoted newline)
    assert sorted(why) == [7, 8]
    assert why[7] == "disposition (呼叫结果): '不知道' is not a disposition"
    assert why[8].startswith("started_at (开始时间): '2026/13/26 10:31' is not a date and time")
    assert recs[2] == {
        "source": "sheet",
        "call_id": recs[2]["call_id"],
        "rep": "1001",
        "rep_column": "坐席工号",
        "started_at": "2026-11-26T10:05:00+08:00",
        "answered_at": "2026-11-26T10:05:00+08:00",
        "ended_at": "2026-11-26T10:06:00+08:00",
        "talk_seconds": 60,
        "disposition": "answered",
        "customer": "13800138000",
    }
    assert [recs[r]["disposition"] for r in (3, 4, 6, 9)] == [
        "no_answer",
        "answered",
        "busy",
        "failed",
    ]
    assert recs[4]["talk_seconds"] == 95 and "talk_seconds" not in recs[9]
    assert source.rows == 7 and source.bytes_read == source.size
    for rec in recs.values():
        CallRecord.model_validate(rec)


def test_rejected_rows_raw_text_masks_the_customer_and_other_numbers():
    rows, _ = read(DATA / "table_cn.csv", mapping=CN_MAP)
    raw = {row: text for row, _rec, _reason, text in rows}
    assert raw[7] == "1003,2026/11/26 10:30,,,0,不知道,***,回拨 ***"
    assert raw[8] == "1003,2026/13/26 10:31,,,0,未接,***,"
    assert not any(PHONE.search(text) for text in raw.values())
    assert not any(PHONE.search(reason) for reason in reasons(rows).values())


def test_english_headers_need_no_map():
    rows, source = read(DATA / "table_en.csv")
    recs = records(rows)
    assert reasons(rows) == {} and sorted(recs) == [2, 3, 4, 5] and source.rows == 4
    assert recs[2] == {
        "source": "sheet",
        "call_id": "c-1",
        "rep": "1001",
        "rep_column": "rep",
        "started_at": "2026-11-26T10:05:00+08:00",
        "answered_at": "2026-11-26T10:05:10+08:00",
        "ended_at": "2026-11-26T10:07:10+08:00",
        "talk_seconds": 120,
        "disposition": "answered",
        "outcome": "sale",
        "order_value": "1299.00",
        "customer": "13800138000",
    }
    assert recs[3]["started_at"] == "2026-11-26T10:06:00+08:00"  # no offset: the timezone
    assert recs[4]["started_at"] == "2026-11-26T02:30:00+00:00"  # an offset is kept
    assert recs[4]["outcome"] == "callback" and recs[5]["disposition"] == "busy"


def test_headers_match_ignoring_whitespace_and_case_exact_match_first():
    rec = one(" REP , Started_At ,rep\n1001,2026-11-26 10:05,1002\n")
    assert rec["rep"] == "1002"  # the exact 'rep' wins over the case-insensitive ' REP '
    rec = one("Rep,Started_At\n1001,2026-11-26 10:05\n")
    assert rec["rep"] == "1001"
    rec = one("工号,时间\n1001,2026-11-26 10:05\n", mapping={"rep": " 工号 ", "started_at": "时间"})
    assert rec["started_at"] == "2026-11-26T10:05:00+08:00"


def test_utf8_bom_is_not_part_of_the_first_header():
    text = "坐席工号,开始时间\n1001,2026/11/26 10:05\n"
    mapping = {"rep": "坐席工号", "started_at": "开始时间"}
    for data in (b"\xef\xbb\xbf" + text.encode(), text.encode()):
        for encoding in (None, "utf-8"):
            rows, _ = read(data, mapping=mapping, encoding=encoding)
            assert records(rows)[2]["rep"] == "1001"


def test_gbk_file_is_detected_or_read_with_the_given_encoding():
    text = (DATA / "table_cn.csv").read_text(encoding="utf-8-sig")
    data = text.encode("gbk")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    for encoding in (None, "gbk", "gb18030"):
        rows, _ = read(data, mapping=CN_MAP, encoding=encoding)
        assert sorted(records(rows)) == [2, 3, 4, 6, 9]
        assert reasons(rows)[7] == "disposition (呼叫结果): '不知道' is not a disposition"


def test_utf8_character_cut_at_the_64k_detection_boundary_is_still_utf8():
    header = "坐席工号,开始时间,备注\n".encode()
    lead = b"1001,2026/11/26 10:05,"
    filler = lead + b"x\n"
    body = header + filler * ((64 * 1024 - len(header) - 100) // len(filler))
    # Pad so the first byte of a 3-byte character is the last byte of the first 64 KiB.
    body += lead + b"y" * (64 * 1024 - len(body) - len(lead) - 1) + "备注\n".encode()
    body += (lead + "备注\n".encode()) * 10
    assert body[64 * 1024 - 1 : 64 * 1024 + 2].decode() == "备"
    rows, source = read(body, mapping={"rep": "坐席工号", "started_at": "开始时间"})
    assert reasons(rows) == {} and len(rows) == source.rows
    assert source.bytes_read == len(body)


def test_semicolon_and_tab_separated_files_are_read():
    assert one("rep;started_at\n1001;2026-11-26 10:05\n")["rep"] == "1001"
    assert one("rep\tstarted_at\n1001\t2026-11-26 10:05\n")["rep"] == "1001"


def test_missing_mapped_column_raises_before_any_row_naming_the_header():
    with pytest.raises(OptionError) as err:
        read(DATA / "table_en.csv", mapping={"started_at": "开始时间"})
    assert err.value.field == "map"
    assert err.value.reason.startswith(
        "column '开始时间' (started_at) is not in the header: 'call_id', 'rep', 'started_at'"
    )


def test_a_headerless_file_is_an_option_error_that_shows_no_phone_number():
    with pytest.raises(OptionError) as err:
        read(b"1001,2026-11-26 10:05,13800138000\n", mapping={"customer": "被叫号码"})
    assert err.value.reason == (
        "column '被叫号码' (customer) is not in the header: '1001', '2026-11-26 10:05', '***'"
    )


@pytest.mark.parametrize("header", ["started_at,customer", "rep,customer"])
def test_rep_and_started_at_need_a_column(header):
    with pytest.raises(OptionError) as err:
        read(f"{header}\n1001,x\n".encode())
    assert err.value.field == "map" and "no column for" in err.value.reason


def test_rep_from_names_the_rep_column():
    assert one("坐席,started_at\n1001,2026-11-26 10:05\n", rep_from="坐席")["rep"] == "1001"
    with pytest.raises(OptionError) as err:
        read(b"rep,started_at\n1001,2026-11-26 10:05\n", rep_from="agent")
    assert err.value.field == "rep_from"
    with pytest.raises(OptionError):
        read(b"a,b,started_at\n1,2,2026-11-26 10:05\n", rep_from="a", mapping={"rep": "b"})


def test_check_mapping_refuses_unknown_fields():
    check_mapping({name: "x" for name in FIELDS})
    with pytest.raises(OptionError) as err:
        check_mapping({"start": "开始时间"})
    assert err.value.field == "map" and "'start'" in err.value.reason
    with pytest.raises(OptionError):
        read(DATA / "table_en.csv", mapping={"agent": "rep"})


def test_empty_file_yields_no_rows():
    assert read(b"")[0] == [] and read(b"\n\n")[0] == []
    rows, source = read(b"rep,started_at\n\n")
    assert rows == [] and source.rows == 0


# --- csv: values -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("2020/2/10 22:41", "2020-02-10T22:41:00+08:00"),  # Excel re-saved: no seconds
        ("2020/02/10 22:41:05", "2020-02-10T22:41:05+08:00"),
        ("2020-02-10 22:41", "2020-02-10T22:41:00+08:00"),
        ("2020-2-3 7:05:09", "2020-02-03T07:05:09+08:00"),
        ("2020-02-10T22:41:05", "2020-02-10T22:41:05+08:00"),
        ("2020-02-10T22:41:05.250+08:00", "2020-02-10T22:41:05.250000+08:00"),
        ("2020-02-10T14:41:05Z", "2020-02-10T14:41:05+00:00"),
        ("2020-02-10 22:41:05 +0800", "2020-02-10T22:41:05+08:00"),
    ],
)
def test_times_accept_iso_and_spreadsheet_forms(text, iso):
    assert one(f"rep,started_at\n1001,{text}\n")["started_at"] == iso


@pytest.mark.parametrize("text", ["2020-02-10", "10/02/2020 22:41", "2020/2/30 10:00", "soon"])
def test_a_bad_time_rejects_the_row_naming_the_field_and_value(text):
    reason = one_reason(f"rep,started_at\n1001,{text}\n")
    assert reason.startswith(f"started_at: '{text}' is not a date and time")


def test_a_phone_number_in_a_time_column_is_masked_in_the_reason():
    reason = one_reason("rep,started_at\n1001,138-0013-8000\n")
    assert reason.startswith("started_at: '***' is not a date and time")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("75", 75), ("1:15", 75), ("01:01:15", 3675), ("0:00:00", 0), ("75.4", 75), ("1分15秒", 75)],
)
def test_talk_seconds_accept_seconds_and_clock_forms(text, seconds):
    rec = one(f"rep,started_at,talk_seconds\n1001,2026-11-26 10:05,{text}\n")
    assert rec["talk_seconds"] == seconds
    assert rec["disposition"] == ("answered" if seconds else "no_answer")


@pytest.mark.parametrize("text", ["-5", "1:75", "forever"])
def test_a_bad_duration_rejects_the_row(text):
    reason = one_reason(f"rep,started_at,talk_seconds\n1001,2026-11-26 10:05,{text}\n")
    assert reason.startswith(f"talk_seconds: '{text}' is not a duration")


@pytest.mark.parametrize(
    ("word", "disposition"),
    [
        ("answered", "answered"),
        ("Connected", "answered"),
        ("接通", "answered"),
        ("成功", "answered"),
        ("NO ANSWER", "no_answer"),
        ("no_answer", "no_answer"),
        ("无人接听", "no_answer"),
        ("用户忙", "busy"),
        ("占线", "busy"),
        ("停机", "failed"),
        ("canceled", "cancelled"),
        ("取消", "cancelled"),
    ],
)
def test_disposition_words_map_to_ours(word, disposition):
    rec = one(f"rep,started_at,disposition\n1001,2026-11-26 10:05,{word}\n")
    assert rec["disposition"] == disposition


def test_disposition_is_derived_from_talk_when_there_is_no_column():
    head = "rep,started_at,talk_seconds\n"
    assert one(head + "1001,2026-11-26 10:05,30\n")["disposition"] == "answered"
    rec = one(head + "1001,2026-11-26 10:05,\n")
    assert (rec["disposition"], rec["talk_seconds"]) == ("no_answer", 0)
    rec = one("rep,started_at\n1001,2026-11-26 10:05\n")
    assert (rec["disposition"], rec["talk_seconds"]) == ("no_answer", 0)


def test_an_unknown_value_names_the_field_and_value_but_never_the_customer():
    reason = one_reason(
        "rep,started_at,disposition,customer\n1001,2026-11-26 10:05,huh,13800138000\n"
    )
    assert reason == "disposition: 'huh' is not a disposition"
    reason = one_reason(
        "rep,started_at,outcome,customer\n1001,2026-11-26 10:05,maybe,13800138000\n"
    )
    assert reason == "outcome: 'maybe' is not an outcome"
    reason = one_reason("rep,started_at,disposition\n1001,2026-11-26 10:05,13800138000\n")
    assert "13800138000" not in reason and "***" in reason


def test_an_empty_rep_or_start_rejects_the_row():
    assert one_reason("rep,started_at\n,2026-11-26 10:05\n") == "rep: is empty"
    assert one_reason("rep,started_at\n1001,\n") == "started_at: is empty"


def test_a_bad_row_among_good_ones_keeps_the_others():
    text = (
        "rep,started_at,talk_seconds,note\n"
        "1001,2026-11-26 10:05,10,\n"
        '1001,2026-11-26 10:06,10,"two\nlines, one comma"\n'
        "1001,2026-11-26 10:07,x,\n"
        "1001,2026-11-26 10:08,10,\n"
    )
    rows, source = read(text.encode())
    assert sorted(records(rows)) == [2, 3, 6] and reasons(rows) == {
        5: "talk_seconds: 'x' is not a duration (seconds, H:MM:SS or MM:SS)"
    }
    assert source.rows == 4  # row 3 spans lines 3-4


def test_derived_call_id_is_stable_across_a_resorted_file():
    head = "rep,started_at,customer\n"
    lines = [
        "1001,2026-11-26 10:05,13800138000\n",
        "1001,2026-11-26 10:05,13700137000\n",
        "1002,2026-11-26 10:05,13800138000\n",
        "1001,2026/11/26 10:06,\n",
    ]
    first = {
        (r["rep"], r["started_at"], r.get("customer")): r["call_id"]
        for r in records(read((head + "".join(lines)).encode())[0]).values()
    }
    again = {
        (r["rep"], r["started_at"], r.get("customer")): r["call_id"]
        for r in records(read((head + "".join(reversed(lines))).encode())[0]).values()
    }
    assert first == again and len(set(first.values())) == 4
    assert all(re.fullmatch(r"row-[0-9a-f]{24}", cid) for cid in first.values())


def test_a_call_id_column_is_used_as_written():
    assert one("call_id,rep,started_at\n 17.5 ,1001,2026-11-26 10:05\n")["call_id"] == "17.5"
    rec = one("编号,rep,started_at\nA-9,1001,2026-11-26 10:05\n", mapping={"call_id": "编号"})
    assert rec["call_id"] == "A-9"


def test_direction_outcome_and_order_value_words():
    head = "rep,started_at,direction,outcome,order_value\n"
    rec = one(head + '1001,2026-11-26 10:05,呼入,成交,"¥1,299.50"\n')
    assert (rec["direction"], rec["outcome"], rec["order_value"]) == ("inbound", "sale", "1299.50")


def test_rows_and_bytes_read_count_data_rows_for_progress():
    body = "rep,started_at\n" + "1001,2026-11-26 10:05\n\n" * 500
    rows, source = read(body.encode())
    assert len(rows) == source.rows == 500
    assert source.bytes_read == len(body.encode())


# --- xlsx ------------------------------------------------------------------------------------


def test_xlsx_reads_datetime_duration_and_serial_cells(tmp_path):
    path = xlsx(
        tmp_path,
        [
            None,
            ["坐席工号", "开始时间", "通话时长", "被叫号码", "呼叫结果"],
            [1001, datetime(2026, 11, 26, 10, 5, 30), timedelta(minutes=1, seconds=5), 13800138000],
            [1002, datetime(2026, 11, 26, 10, 6), time(0, 2, 0), "13700137000", "接通"],
            None,
            ["1003", 46352.4375, 30, None, "占线"],
            [1003, "2026/11/26 10:41", "0:00:45", 13900139000],
            [1004, time(10, 0), 0, 13800138001],
        ],
    )
    mapping = {
        "rep": "坐席工号",
        "started_at": "开始时间",
        "talk_seconds": "通话时长",
        "customer": "被叫号码",
        "disposition": "呼叫结果",
    }
    rows, source = read(path, XLSX, mapping=mapping)
    recs, why = records(rows), reasons(rows)
    assert sorted(recs) == [3, 4, 6, 7] and sorted(why) == [8]  # sheet row numbers
    assert why[8].startswith("started_at (开始时间): '10:00:00' is not a date and time")
    assert recs[3] | {"call_id": ""} == {
        "source": "sheet",
        "call_id": "",
        "rep": "1001",
        "rep_column": "坐席工号",
        "started_at": "2026-11-26T10:05:30+08:00",
        "talk_seconds": 65,
        "disposition": "answered",
        "customer": "13800138000",
    }
    assert (recs[4]["talk_seconds"], recs[4]["disposition"]) == (120, "answered")
    assert recs[6]["started_at"] == "2026-11-26T10:30:00+08:00"  # an Excel serial number
    assert (recs[6]["disposition"], recs[6]["talk_seconds"]) == ("busy", 30)
    assert recs[7]["started_at"] == "2026-11-26T10:41:00+08:00"
    assert recs[7]["talk_seconds"] == 45 and recs[7]["disposition"] == "answered"
    assert source.rows == 5 and source.bytes_read == source.size
    raw = {row: text for row, _rec, _reason, text in rows}
    assert raw[8] == "1004,10:00:00,0,***" and not any(PHONE.search(t) for t in raw.values())
    for rec in recs.values():
        CallRecord.model_validate(rec)


def test_xlsx_missing_mapped_column_raises_before_any_row(tmp_path):
    path = xlsx(tmp_path, [["rep", "started_at"], [1001, datetime(2026, 11, 26, 10, 5)]])
    with pytest.raises(OptionError) as err:
        read(path, XLSX, mapping={"talk_seconds": "通话时长"})
    assert err.value.reason == (
        "column '通话时长' (talk_seconds) is not in the header: 'rep', 'started_at'"
    )


def test_xlsx_derived_call_id_matches_the_same_calls_in_csv(tmp_path):
    path = xlsx(
        tmp_path,
        [["rep", "started_at", "customer"], [1001, datetime(2026, 11, 26, 10, 5), 13800138000]],
    )
    from_xlsx = records(read(path, XLSX)[0])[2]["call_id"]
    from_csv = one("rep,started_at,customer\n1001,2026/11/26 10:05,13800138000\n")["call_id"]
    assert from_xlsx == from_csv


def test_a_file_that_is_not_a_workbook_is_an_option_error(tmp_path):
    path = tmp_path / "calls.xlsx"
    path.write_bytes(b"rep,started_at\n")
    with pytest.raises(OptionError) as err:
        read(path, XLSX)
    assert err.value.field == "format"


# --- properties ------------------------------------------------------------------------------

HEADER = b"call_id,rep,started_at,answered_at,ended_at,talk_seconds,disposition,customer\n"
HASHER = CustomerHasher(SECRET)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=2000), with_header=st.booleans())
def test_arbitrary_bytes_yield_a_record_or_a_reason_for_every_row(data, with_header):
    body = HEADER + data if with_header else data
    try:
        rows, source = read(body)
    except OptionError:
        assert not with_header
        return
    assert len(rows) == source.rows
    for row, rec, reason, raw in rows:
        assert row >= 2 and (rec is None) != (reason is None)
        assert isinstance(raw, str)
        if rec is not None:
            parsed = parse_record(rec, 0, default_source="sheet", hasher=HASHER, minor_digits=2)
            assert isinstance(parsed, Incoming) or parsed.errors


@settings(max_examples=200, deadline=None)
@given(
    cells=st.lists(
        st.lists(st.text(max_size=12) | st.integers(-(10**12), 10**12), max_size=5), max_size=8
    )
)
def test_arbitrary_text_cells_never_raise(cells):
    buf = io.StringIO()
    csv.writer(buf).writerows(cells)
    rows, source = read(
        b"rep,started_at,talk_seconds,disposition,customer\n" + buf.getvalue().encode()
    )
    assert len(rows) == source.rows


# --- end to end ------------------------------------------------------------------------------


def test_cli_imports_a_chinese_csv_with_map_and_reimports_as_duplicates(cli, engine, tmp_path):
    file = tmp_path / "话单.csv"
    file.write_bytes((DATA / "table_cn.csv").read_text(encoding="utf-8-sig").encode("gbk"))
    args = [
        "import",
        str(file),
        "--format",
        "csv",
        *(
            "--map",
            "started_at=开始时间",
            "--map",
            "rep=坐席工号",
            "--map",
            "talk_seconds=通话时长",
        ),
        *("--map", "answered_at=接通时间", "--map", "ended_at=结束时间"),
        *("--map", "disposition=呼叫结果", "--map", "customer=被叫号码"),
        *("--encoding", "gb18030", "--timezone", "Asia/Shanghai"),
    ]
    out = cli(*args)
    assert out.returncode == 0, out.stderr
    s = summaries(out.stdout)["话单.csv"]
    assert (s["rows"], s["created"], s["rejected"]) == (7, 5, 2)
    assert totals(engine) == {"1001": (2, 1, 60), "1002": (2, 1, 95), "1003": (1, 0, 0)}
    assert totals_agree(engine)
    rejects = list(csv.DictReader(Path(s["rejects"]).read_text(encoding="utf-8").splitlines()))
    assert [r["row"] for r in rejects] == ["7", "8"]
    assert not PHONE.search(Path(s["rejects"]).read_text(encoding="utf-8"))

    again = cli(*args)
    assert again.returncode == 0, again.stderr
    s = summaries(again.stdout)["话单.csv"]
    assert (s["created"], s["duplicate"], s["rejected"]) == (0, 5, 2)


def test_cli_reports_a_missing_mapped_column_and_imports_nothing(cli, engine, tmp_path):
    file = tmp_path / "calls.csv"
    file.write_bytes((DATA / "table_en.csv").read_bytes())
    out = cli("import", str(file), "--format", "csv", "--map", "started_at=开始时间")
    assert out.returncode != 0
    assert "column '开始时间' (started_at) is not in the header" in out.stderr
    assert totals(engine) == {}
