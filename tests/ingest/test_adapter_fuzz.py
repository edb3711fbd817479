"""Every registered adapter, fed arbitrary bytes: rows come out as records or reasons, never a
crash; a record the adapter yields is one the ingest can judge (valid, or invalid with reasons)."""

from __future__ import annotations

import io
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.ingest.adapters import ADAPTERS, Input, OptionError, Options
from app.ingest.records import CustomerHasher, Incoming, Invalid, parse_record

HASHER = CustomerHasher("k" * 32)
OPTIONS = Options(timezone=ZoneInfo("Asia/Shanghai"), source="fuzz")
# Bytes shaped like exports: separators, quotes, digits, times, a few multi-byte characters.
_SHAPED = st.lists(
    st.sampled_from(
        [b",", b'"', b'""', b"\n", b"\r\n", b"0", b"1001", b"2026-11-26 10:05:00", b"ANSWERED",
         b"NORMAL_CLEARING", b"SIP/1001-0000002a", b"\xe6\x8e\xa5\xe9\x80\x9a", b"\xb2\xe2",
         b"\xef\xbb\xbf", b"started_at", b"rep", b"\x00", b"PK\x03\x04"]
    ),
    max_size=60,
).map(b"".join)  # fmt: skip


def read_all(name: str, data: bytes) -> list:
    return list(ADAPTERS[name].read(Input(io.BytesIO(data), size=len(data)), OPTIONS))


@pytest.mark.parametrize("name", sorted(ADAPTERS))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.one_of(st.binary(max_size=2000), _SHAPED))
def test_no_adapter_crashes_on_arbitrary_bytes(name, data):
    try:
        rows = read_all(name, data)
    except OptionError as exc:
        # The file as a whole cannot be read this way (no header, not a workbook): refused
        # before any row, with the option or part it is about.
        assert exc.field and exc.reason
        return
    for row, record, reason, raw in rows:
        assert isinstance(row, int) and row >= 1
        assert (record is None) != (reason is None)
        assert isinstance(str(raw), str)
        if record is not None:
            judged = parse_record(record, 0, default_source="fuzz", hasher=HASHER, minor_digits=2)
            assert isinstance(judged, Incoming | Invalid)
        else:
            assert reason.strip()
