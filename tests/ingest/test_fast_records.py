"""The fast check of a usual record (msgspec) gives what the full model (pydantic) gives."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from app.ingest.records import CustomerHasher, Incoming, Invalid, parse_record
from tests.conftest import SECRET, record

HASHER = CustomerHasher(SECRET)

_TEXT = st.one_of(
    st.sampled_from(["r1", " r1", "r1 ", "", "a\x00b", "x" * 101, "x" * 201, "13800000001"]),
    st.text(string.ascii_letters + string.digits + " -+", max_size=12),
)
_TIMES = st.one_of(
    st.sampled_from(
        [
            "2026-11-26T08:30:00+08:00",
            "2026-11-26T00:30:00Z",
            "2026-11-26T08:30:00.123456+08:00",
            "2026-11-26T08:30:00.1234567+08:00",
            "2026-11-26T08:30:00",  # naive
            "2026-11-26 08:30:00+08:00",
            "2026-11-26t08:30:00z",
            "1999-12-31T23:59:59+00:00",
            "2101-01-01T00:00:00+00:00",
            "2026-02-30T08:00:00+08:00",
            "2026-11-26T24:00:00+08:00",
            "2026-11-26T08:30:60+08:00",
            "2026-11-26T08:30:00+25:00",
        ]
    ),
    st.integers(-(10**10), 10**10),
    st.floats(allow_nan=True),
)
_VALUES = {
    "call_id": st.one_of(_TEXT, st.integers(), st.floats(), st.booleans()),
    "rep": st.one_of(_TEXT, st.none(), st.integers()),
    "source": st.one_of(_TEXT, st.none()),
    "started_at": _TIMES,
    "answered_at": st.one_of(_TIMES, st.none()),
    "ended_at": st.one_of(_TIMES, st.none()),
    "disposition": st.sampled_from(["answered", "busy", "ANSWERED", " busy", None, 1]),
    "direction": st.sampled_from(["outbound", "inbound", "internal", "out", None]),
    "outcome": st.sampled_from(["sale", "none", "invite", "won", None]),
    "revision": st.one_of(st.integers(-2, 2**53 + 2), st.booleans(), st.sampled_from(["3", 2.0])),
    "talk_seconds": st.one_of(st.integers(-2, 86_402), st.booleans(), st.sampled_from(["5", 5.5])),
    "order_value": st.one_of(
        st.sampled_from(["199.00", "0", "1e3", " 5", "-1", "1000000001", "12.345", "NaN", ""]),
        st.integers(-2, 10**10),
        st.floats(allow_nan=True, allow_infinity=True),
        st.booleans(),
        st.none(),
    ),
    "customer": st.one_of(_TEXT, st.none(), st.integers()),
}


@st.composite
def raw_records(draw):
    """A record that is usually well formed, with some fields drawn from what could go wrong."""
    rec = record(draw(st.sampled_from(["c1", "c2"])), customer="13800000001")
    for name in draw(st.sets(st.sampled_from(sorted(_VALUES)), max_size=5)):
        rec[name] = draw(_VALUES[name])
    for name in draw(st.sets(st.sampled_from(["rep", "started_at", "customer"]), max_size=1)):
        rec.pop(name, None)
    return rec


def _parse(raw, fast: bool) -> Incoming | Invalid:
    return parse_record(raw, 0, default_source="api", hasher=HASHER, minor_digits=2, fast=fast)


@settings(max_examples=400, deadline=None)
@given(raw=raw_records())
def test_the_fast_check_stores_and_refuses_exactly_what_the_full_model_does(raw):
    assert _parse(raw, fast=True) == _parse(raw, fast=False)


def test_a_usual_record_is_taken_by_the_fast_check(monkeypatch):
    """The fast check is the one that judges a usual record (the model is not consulted)."""
    from app.ingest import records

    def refuse(*_a, **_kw):
        raise AssertionError("the full model was consulted")

    monkeypatch.setattr(records.CallRecord, "model_validate", refuse)
    rec = record("c1", customer="+86 138 0000 0001", order_value="199.00", revision=2)
    item = _parse(rec, fast=True)
    assert isinstance(item, Incoming)
    assert item.fields["order_value"] == 19900 and item.revision == 2
