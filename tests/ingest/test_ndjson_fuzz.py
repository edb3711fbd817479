"""The body parser of ``POST /api/v1/calls`` (one JSON object, a JSON array or NDJSON) fed
arbitrary bytes and mixtures of valid and broken lines: invalid UTF-8, NULs, BOMs, CRLF, blank and
very long lines, lines that are JSON but no record, too many records, too many bytes.

Every answer is a 200 with one result per record (a rejected one naming field and reason), or a
4xx JSON error naming the reason (for NDJSON that is not JSON, the first bad line) — never a 5xx.
And nothing is imported silently or partially: the calls stored by the request are exactly those
it reports ``created``, each reported ``rejected`` lands in ``ingest_reject``, a refused request
stores nothing, and the hourly totals still agree with the calls. (The CSV/xlsx adapters have
their own fuzzing in test_adapter_fuzz.py.)
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator

import orjson
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, event, given, note
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from app.config import Settings
from app.ingest import rebuild
from app.models import Call, IngestReject
from tests.conftest import fresh_database, test_settings

MAX_BODY = 64 * 1024
MAX_RECORDS = 40
NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonlines")
STATUSES = {"created", "updated", "duplicate", "stale", "rejected"}


@pytest.fixture(params=["sqlite"])
def db_url(request, tmp_path) -> Iterator[str]:
    """SQLite only: the parser and the per-request accounting do not depend on the engine."""
    yield from fresh_database(request, tmp_path)


@pytest.fixture
def settings(db_url, tmp_path) -> Settings:
    """Small limits, so that fuzzed bodies also cross them (413) without megabytes of input."""
    return test_settings(db_url, tmp_path, max_body_bytes=MAX_BODY, max_batch_records=MAX_RECORDS)


# --- strategies ------------------------------------------------------------------------------

_JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
_DAYS = [f"2026-11-{d:02d}" for d in range(20, 27)]
_OFFSETS = ["+08:00", "Z", "-05:00", "+05:45"]


@st.composite
def valid_records(draw) -> dict:
    """A record the ingest accepts (created, or a duplicate/update/stale of an earlier one: the
    call ids come from a small pool shared by every example)."""
    day, hour, minute = (
        draw(st.sampled_from(_DAYS)),
        draw(st.integers(0, 23)),
        draw(st.integers(0, 59)),
    )
    rec = {
        "call_id": draw(
            st.sampled_from([f"c{i}" for i in range(12)])
            | st.uuids().map(lambda u: u.hex[:12])
            | st.integers(1, 10**12)
        ),
        "rep": draw(st.sampled_from(["1001", "1002", "agent/7", "王芳"])),
        "started_at": f"{day}T{hour:02d}:{minute:02d}:00{draw(st.sampled_from(_OFFSETS))}",
        "disposition": draw(st.sampled_from(["answered", "no_answer", "busy", "failed"])),
    }
    optional = {
        "talk_seconds": st.integers(0, 3600),
        "outcome": st.sampled_from(["none", "sale", "invite", "callback"]),
        "order_value": st.sampled_from(["0", "19.99", 100, 2.5]),
        "customer": st.sampled_from(["13800138000", "+86 139 0000 0000", ""]),
        "revision": st.integers(0, 5),
        "source": st.sampled_from(["pbx-a", "pbx-b"]),
        "direction": st.sampled_from(["outbound", "inbound"]),
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            rec[key] = draw(strategy)
    return rec


@st.composite
def broken_records(draw) -> dict:
    """A valid record with one field missing or replaced by a value of the wrong kind."""
    rec = draw(valid_records())
    key = draw(st.sampled_from([*rec, "talk_seconds", "order_value", "answered_at", "revision"]))
    if draw(st.booleans()) and key in rec:
        del rec[key]
    else:
        rec[key] = draw(_JUNK)
    return rec


def dumps(value) -> bytes:
    """JSON text of ``value`` (stdlib: unlike orjson it writes integers past 64 bits too)."""
    return json.dumps(value, ensure_ascii=False).encode()


def _with_nul(data: bytes, at: int) -> bytes:
    at %= len(data) + 1
    return data[:at] + b"\x00" + data[at:]


_RECORD_BYTES = st.one_of(valid_records(), broken_records()).map(dumps)
# Lines that are JSON (records, broken records, other values) or blank: the body is parsed.
_JSON_LINES = st.one_of(
    _RECORD_BYTES,
    _RECORD_BYTES,
    _RECORD_BYTES,
    # JSON, but not a record object
    st.one_of(_JUNK, st.lists(valid_records(), max_size=2)).map(dumps),
    # blank lines (skipped), and whitespace-only ones
    st.sampled_from([b"", b" ", b"\t", b"\r", b" \r"]),
    # a string escape of NUL inside a value: valid JSON, a NUL character in the text
    valid_records().map(lambda r: dumps({**r, "rep": r["rep"] + "\x00"})),
    # very long lines: a long value in a record, or a long run of blanks before one
    st.tuples(valid_records(), st.integers(1_000, 80_000)).map(
        lambda t: dumps({**t[0], "customer": "1" * t[1]})
    ),
    st.tuples(valid_records(), st.integers(1_000, 80_000)).map(lambda t: b" " * t[1] + dumps(t[0])),
)
# Lines that are not JSON: the whole body is refused naming the first of them.
_BAD_LINES = st.one_of(
    st.binary(max_size=40),
    st.sampled_from(
        [
            b"{",
            b"}",
            b"null null",
            b"\xff\xfe",
            b'{"call_id": "\xc3\x28"}',
            b"NaN",
            b"1e400",
            b'{"call_id": "x\\ud800"}',
        ]
    ),  # fmt: skip
    # a BOM in front of a good record, a raw NUL byte anywhere in one
    _RECORD_BYTES.map(lambda b: b"\xef\xbb\xbf" + b),
    st.tuples(_RECORD_BYTES, st.integers(0, 500)).map(lambda t: _with_nul(*t)),
)


@st.composite
def ndjson_bodies(draw, *, bad_lines: bool = True) -> bytes:
    lines = draw(st.lists(_JSON_LINES, max_size=MAX_RECORDS + 5))
    if bad_lines and draw(st.booleans()):
        for _ in range(draw(st.integers(1, 3))):
            lines.insert(draw(st.integers(0, len(lines))), draw(_BAD_LINES))
    sep = draw(st.sampled_from([b"\n", b"\r\n"]))
    body = sep.join(lines) + (sep if draw(st.booleans()) else b"")
    return (b"\xef\xbb\xbf" if bad_lines and draw(st.booleans()) else b"") + body


@st.composite
def json_bodies(draw) -> bytes:
    """One object or a JSON array of records and junk; sometimes with a byte or two mangled."""
    value = draw(
        st.one_of(
            valid_records(),
            broken_records(),
            st.lists(st.one_of(valid_records(), broken_records(), _JUNK), max_size=MAX_RECORDS + 5),
        )
    )
    body = dumps(value)
    if draw(st.booleans()):
        at = draw(st.integers(0, len(body)))
        body = body[:at] + draw(st.binary(min_size=1, max_size=3)) + body[at:]
    return body


_CONTENT_TYPES = st.sampled_from(
    [
        *NDJSON_TYPES,
        "application/x-ndjson; charset=utf-8",
        "Application/X-NDJSON",
        "application/json",
        "application/json; charset=utf-8",
        "text/plain",
        "",
    ]
)
BODIES = st.one_of(
    # around the record limit
    st.tuples(
        st.lists(valid_records(), min_size=MAX_RECORDS - 1, max_size=MAX_RECORDS + 2).map(
            lambda recs: b"\n".join(map(dumps, recs))
        ),
        st.sampled_from(NDJSON_TYPES),
    ),
    st.tuples(ndjson_bodies(bad_lines=False), st.sampled_from(NDJSON_TYPES)),
    st.tuples(ndjson_bodies(bad_lines=False), st.sampled_from(NDJSON_TYPES)),
    st.tuples(ndjson_bodies(), st.sampled_from(NDJSON_TYPES)),
    st.tuples(json_bodies(), st.sampled_from(["application/json", ""])),
    st.tuples(st.binary(max_size=3000), _CONTENT_TYPES),
    st.tuples(ndjson_bodies(), _CONTENT_TYPES),
)


# --- the property ----------------------------------------------------------------------------


def _stored(engine) -> tuple[Counter, int]:
    c, r = Call.__table__, IngestReject.__table__
    with engine.connect() as conn:
        calls = Counter((s, e) for s, e in conn.execute(sa.select(c.c.source, c.c.external_id)))
        rejects = conn.execute(sa.select(sa.func.count()).select_from(r)).scalar_one()
    return calls, rejects


def _is_ndjson(ctype: str) -> bool:
    return ctype.split(";")[0].strip().lower() in NDJSON_TYPES


def _json_ok(line: bytes) -> bool:
    try:
        orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return True


@hsettings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    # One app and one database serve every example on purpose: later examples meet the calls of
    # earlier ones (duplicates, updates, stale revisions, conflicts).
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.data_too_large, HealthCheck.large_base_example],
)  # fmt: skip
@given(body_and_type=BODIES)
def test_any_body_is_answered_with_reasons_and_stored_exactly_as_reported(api, body_and_type):
    body, ctype = body_and_type
    headers = {**api.auth(api.ingest), **({"Content-Type": ctype} if ctype else {})}
    note(f"content-type {ctype!r}, {len(body)} bytes: {body[:300]!r}")
    calls_before, rejects_before = _stored(api.engine)

    resp = api.client.post("/api/v1/calls", content=body, headers=headers)
    note(f"-> {resp.status_code} {resp.text[:500]}")
    event(f"status {resp.status_code}")
    calls_after, rejects_after = _stored(api.engine)
    new_calls = calls_after - calls_before

    assert resp.status_code < 500, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    answer = resp.json()

    if resp.status_code != 200:
        # Refused as a whole, with the reason; nothing of it is stored.
        assert resp.status_code in (400, 413), resp.text
        assert isinstance(answer.get("detail"), str) and answer["detail"].strip()
        assert not new_calls and calls_after == calls_before
        assert rejects_after == rejects_before
        if resp.status_code == 400 and _is_ndjson(ctype or "application/json"):
            # The reason names the first line that is not JSON, counting from 1.
            m = re.search(r"line (\d+)", answer["detail"])
            assert m, answer["detail"]
            # A byte-order mark opening the body is no part of the data (Windows tools write one).
            lines = body.removeprefix(b"\xef\xbb\xbf").split(b"\n")
            bad = int(m.group(1))
            assert 1 <= bad <= len(lines)
            assert lines[bad - 1].strip() and not _json_ok(lines[bad - 1])
            assert all(_json_ok(x) for x in lines[: bad - 1] if x.strip())
        if resp.status_code == 413:
            assert len(body) > MAX_BODY or str(MAX_RECORDS) in answer["detail"]
        return

    results = answer["results"]
    if _is_ndjson(ctype):
        # One result per non-blank line, in order.
        lines = body.removeprefix(b"\xef\xbb\xbf").split(b"\n")
        assert len(results) == sum(1 for x in lines if x.strip())
        # Each result names its line, counting blank ones, as an editor shows them.
        numbered = [i for i, x in enumerate(lines, start=1) if x.strip()]
        assert [r["line"] for r in results] == numbered
    assert len(results) <= MAX_RECORDS
    assert [r["index"] for r in results] == list(range(len(results)))
    counts = Counter(r["status"] for r in results)
    for status in counts:
        event(f"has {status}")
    assert set(counts) <= STATUSES, counts
    assert {k: answer[k] for k in STATUSES} == {k: counts.get(k, 0) for k in STATUSES}
    for r in results:
        if r["status"] == "rejected":
            assert r["errors"], r
            for err in r["errors"]:
                assert isinstance(err["field"], str) and err["field"].strip(), r
                assert isinstance(err["reason"], str) and err["reason"].strip(), r
        else:
            assert "errors" not in r, r

    # Exactly the calls reported created were stored, each rejected record was kept.
    assert sum(new_calls.values()) == counts["created"]
    assert sorted(e for _, e in new_calls.elements()) == sorted(
        str(r["call_id"]) for r in results if r["status"] == "created"
    )
    assert all(n == 1 for n in calls_after.values())
    assert rejects_after - rejects_before == counts["rejected"]
    with api.engine.connect() as conn:
        assert rebuild.check(conn) == []


# --- pinned cases ----------------------------------------------------------------------------


def _post(api, body: bytes, ctype: str = "application/x-ndjson"):
    return api.client.post(
        "/api/v1/calls", content=body, headers={**api.auth(api.ingest), "Content-Type": ctype}
    )


def _record(call_id: str, **kw) -> bytes:
    base = {
        "call_id": call_id,
        "rep": "1001",
        "started_at": "2026-11-26T10:05:00+08:00",
        "disposition": "answered",
    }
    return orjson.dumps(base | kw)


def test_crlf_ndjson_with_blank_lines_stores_the_good_and_rejects_the_bad(api):
    body = b"\r\n".join([_record("a"), b"", _record("b", talk_seconds=-1), b"  ", _record("c")])
    resp = _post(api, body + b"\r\n")
    assert resp.status_code == 200, resp.text
    answer = resp.json()
    assert [r["status"] for r in answer["results"]] == ["created", "rejected", "created"]
    assert answer["results"][1]["errors"][0]["field"] == "talk_seconds"
    assert _stored(api.engine) == (Counter({("default", "a"): 1, ("default", "c"): 1}), 1)


@pytest.mark.parametrize(
    ("line", "why"),
    [
        (b"\xef\xbb\xbf" + _record("bom"), "a BOM"),
        (_record("bad-utf8")[:-2] + b'\xff"}', "invalid UTF-8"),
        (_with_nul(_record("nul"), 5), "a raw NUL byte"),
    ],
    ids=["bom", "invalid-utf8", "nul"],
)
def test_a_line_that_is_not_json_refuses_the_whole_body_naming_it(api, line, why):
    body = b"\n".join([_record("ok1"), b"", line, _record("ok2")])
    resp = _post(api, body)
    assert resp.status_code == 400, (why, resp.text)
    assert "line 3" in resp.json()["detail"], (why, resp.text)
    assert _stored(api.engine) == (Counter(), 0)


@pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
@pytest.mark.parametrize("field", ["rep", "call_id", "source"])
def test_a_nul_character_inside_a_value_is_stored_or_rejected_not_a_crash(api, field):
    """JSON lets a string carry U+0000 (``"\\u0000"``); PostgreSQL text cannot hold it. The
    record must be stored or rejected with its reason like any other, its batch-mates stored."""
    value = {"rep": "10\x0001", "call_id": "n\x00ul", "source": "pbx\x00"}[field]
    body = _record("fine") + b"\n" + orjson.dumps(json.loads(_record("nul")) | {field: value})
    resp = _post(api, body)
    assert resp.status_code == 200, resp.text
    results = resp.json()["results"]
    assert results[0]["status"] == "created"
    assert results[1]["status"] in ("created", "rejected")
    calls, rejects = _stored(api.engine)
    assert sum(calls.values()) == 1 + (results[1]["status"] == "created")
    assert rejects == (results[1]["status"] == "rejected")


def test_an_ndjson_reject_names_its_line(api):
    body = b"\n".join([_record("l1"), b"", _record("l3", disposition="maybe")])
    result = _post(api, body).json()["results"][1]
    assert result["status"] == "rejected"
    assert result.get("line") == 3


def test_a_byte_order_mark_opening_the_body_is_not_part_of_the_data(api):
    body = b"\xef\xbb\xbf" + b"\n".join([_record("w1"), _record("w2")])
    resp = _post(api, body)
    assert resp.status_code == 200, resp.text
    assert [r["status"] for r in resp.json()["results"]] == ["created", "created"]
