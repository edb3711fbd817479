"""A customer's phone number never leaves the ingest: not in a page, an API answer, an export's
rejects file, a log line, an error, nor the database (only its keyed hash is kept).

One real ``paceboard serve`` (debug logging) takes one number N in several spellings through
every input path — POST /api/v1/calls (object, array with rejects, NDJSON, bad bodies), PATCH
corrections, uploads to /api/v1/imports, ``paceboard import``, the Twilio webhook — then
everything a user can read is fetched, and every byte that came back, was logged, written to a
rejects file or stored (the SQLite file and its WAL; on PostgreSQL every row as text) is searched
for the number's digits, separators allowed.
"""

from __future__ import annotations

import asyncio
import email.utils
import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import orjson
import pytest
import sqlalchemy as sa
import websockets
from sqlalchemy.engine import make_url

from app.ingest.adapters.asterisk import iter_master_csv
from app.ingest.adapters.base import NO_AGENT
from app.ingest.adapters.twilio import signature
from app.ingest.records import CustomerHasher
from tests.conftest import SECRET

N = "13912345678"
INTL = "+86 139 1234 5678"
ZEROS = "008613912345678"
DASHED = "139-1234-5678"
E164 = "+8613912345678"
# The number's digits with any separators between them; the 7-digit prefix guards against a
# partial mask ("1391234****") or a truncated copy.
_SEP = r"[\s().\-]*"
FULL = re.compile(_SEP.join(N))
GUARD = re.compile(_SEP.join(N[:7]))

TZ = ZoneInfo("Asia/Shanghai")
TWILIO_TOKEN = "twilio-test-auth-token-customer-data"
WEBHOOK = "/api/v1/webhooks/twilio"
REP_LINE = "+8657188880001"  # rep 8001's desk line (an identifier), not a customer


class Leaks:
    """Every place the number was found, with a little context."""

    def __init__(self) -> None:
        self.found: list[str] = []
        self.checked: list[str] = []

    def check(self, where: str, data: str | bytes) -> None:
        text = data.decode("latin-1") if isinstance(data, bytes) else data
        self.checked.append(where)
        for m in GUARD.finditer(text):
            kind = "the number" if FULL.match(text, m.start()) else "its 7-digit prefix"
            a, b = max(0, m.start() - 80), m.end() + 80
            self.found.append(f"{where}: {kind} in …{text[a:b]!r}…")

    def assert_none(self) -> None:
        assert not self.found, (
            f"customer number {N} found in {len(self.found)} place(s):\n  "
            + "\n  ".join(self.found)
        )


class Client:
    """httpx against the live server; every answer (body and headers) goes through ``leaks``."""

    def __init__(self, url: str, leaks: Leaks, tokens: dict[str, str]) -> None:
        self.url, self.leaks, self.tokens = url, leaks, tokens
        self.http = httpx.Client(base_url=url, timeout=30)

    def __call__(
        self,
        method: str,
        path: str,
        *,
        expect: int | tuple[int, ...],
        scope: str | None = "admin",
        **kw: Any,
    ) -> httpx.Response:
        headers = dict(kw.pop("headers", {}) or {})
        if scope:
            headers["Authorization"] = f"Bearer {self.tokens[scope]}"
        resp = self.http.request(method, path, headers=headers, **kw)
        where = f"{method} {path} → {resp.status_code}"
        self.leaks.check(f"{where} body", resp.content)
        self.leaks.check(f"{where} headers", str(list(resp.headers.items())))
        wanted = expect if isinstance(expect, tuple) else (expect,)
        assert resp.status_code in wanted, f"{where}: {resp.text[:2000]}"
        return resp


def iso(t: datetime) -> str:
    return t.isoformat()


def master_csv(t: datetime) -> str:
    """An Asterisk Master.csv (16 columns): two good calls to the customer, two broken rows."""
    day = t.strftime("%Y-%m-%d")

    def at(minute: int) -> str:
        return f"{day} {(t + timedelta(minutes=minute)).strftime('%H:%M:%S')}"

    good = (
        f'"","8001","{N}","from-internal","""Kunde"" <{N}>","SIP/8001-0000002a",'
        f'"SIP/trunk-0000002b","Dial","SIP/trunk/{E164},60,tT","{at(0)}","{at(0)}",'
        f'"{at(1)}",70,60,"ANSWERED","DOCUMENTATION"'
    )
    unanswered = (
        f'"","8002","{ZEROS}","from-internal","""8002"" <8002>","PJSIP/8002-00000031","",'
        f'"Dial","PJSIP/{ZEROS}@trunk,30","{at(2)}","","{at(3)}",30,0,"NO ANSWER","DOCUMENTATION"'
    )
    bad_disposition = (
        f'"","8001","{N}","from-internal","""Kunde"" <{N}>","SIP/8001-0000002c","","Dial",'
        f'"SIP/trunk/{N}","{at(4)}","","{at(5)}",30,0,"MAYBE","DOCUMENTATION"'
    )
    fifteen_columns = (
        f'"","8001","{INTL}","from-internal","SIP/8001-0000002d","","Dial","SIP/trunk/{N}",'
        f'"{at(6)}","","{at(7)}",30,0,"NO ANSWER","DOCUMENTATION"'
    )
    return "\n".join((good, unanswered, bad_disposition, fifteen_columns)) + "\n"


TABLE_MAP = {
    "rep": "坐席",
    "started_at": "开始时间",
    "talk_seconds": "通话时长",
    "disposition": "呼叫结果",
    "customer": "被叫号码",
}


def table_csv(t: datetime) -> str:
    """A spreadsheet export with a header: the number in the customer column and in a note."""
    when = (t + timedelta(minutes=10)).strftime("%Y-%m-%d %H:%M:%S")
    rows = [
        "call_id,坐席,开始时间,通话时长,呼叫结果,被叫号码,备注",
        f"t-1,8003,{when},95,接通,{INTL},客户{DASHED}要求回电",
        f"t-2,8003,{when},0,未接,{ZEROS},",
        f"t-3,8003,{N},0,未接,{N},开始时间错位",  # a shifted column: the number as the time
        f"t-4,8003,{when},0,maybe,{N},备注 {N}",  # a bad disposition
        f"t-5,8003,{when},99999,接通,{N},超长通话",  # refused by the ingest, not the adapter
    ]
    return "\n".join(rows) + "\n"


def twilio_form(t: datetime, **overrides: str) -> dict[str, str]:
    base = {
        "AccountSid": "AC00000000000000000000000000000000",
        "CallSid": "CA22222222222222222222222222222222",
        "CallStatus": "completed",
        "CallDuration": "95",
        "Direction": "outbound-api",
        "From": REP_LINE,
        "To": E164,
        "Timestamp": email.utils.format_datetime(t.astimezone(UTC)),
        "SequenceNumber": "3",
    }
    base.update(overrides)
    return base


async def first_ws_message(url: str) -> str:
    async with websockets.connect(url) as ws:
        return await asyncio.wait_for(ws.recv(), 10)


def database_text(db_url: str, leaks: Leaks) -> list[str]:
    """Search the stored data; returns the ingest_reject payloads."""
    url = make_url(db_url)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            payloads = [r[0] for r in conn.execute(sa.text("SELECT payload FROM ingest_reject"))]
            if url.get_backend_name() == "postgresql":
                # pg_dump-like: every row of every table, all columns, as text.
                for table in sa.inspect(conn).get_table_names():
                    rows = conn.execute(sa.text(f'SELECT CAST(t AS text) FROM "{table}" AS t'))
                    leaks.check(f"PostgreSQL table {table}", "\n".join(r[0] for r in rows))
    finally:
        engine.dispose()
    for i, payload in enumerate(payloads):
        leaks.check(f"ingest_reject payload #{i + 1}", payload)
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or "")
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        for file in (path, Path(f"{path}-wal"), Path(f"{path}-journal")):
            if file.exists():
                leaks.check(f"SQLite file {file.name}", file.read_bytes())
    return payloads


def test_customer_number_appears_nowhere(live_server, server_env, db_url, tmp_path):
    server_env["PACEBOARD_TWILIO_AUTH_TOKEN"] = TWILIO_TOKEN
    server_env["PACEBOARD_LOG_LEVEL"] = "debug"
    live_server.start()
    leaks = Leaks()
    key = CustomerHasher(SECRET, "86")(N)
    assert key and all(CustomerHasher(SECRET, "86")(s) == key for s in (INTL, ZEROS, E164))

    def cli(*args: str, expect: int = 0) -> str:
        done = live_server.cli(*args)
        leaks.check(f"`paceboard {' '.join(args[:2])}` stdout", done.stdout)
        leaks.check(f"`paceboard {' '.join(args[:2])}` stderr", done.stderr)
        assert done.returncode == expect, done.stdout + done.stderr
        return done.stdout

    tokens = {
        scope: cli("token", "create", "--name", scope, "--scope", scope).strip().splitlines()[-1]
        for scope in ("ingest", "read", "admin")
    }
    api = Client(live_server.url, leaks, tokens)
    t = datetime.now(TZ).replace(microsecond=0) - timedelta(minutes=40)

    def rec(call_id: str, **kw: Any) -> dict[str, Any]:
        base = {
            "call_id": call_id,
            "rep": "8001",
            "started_at": iso(t),
            "disposition": "answered",
            "talk_seconds": 60,
        }
        return base | kw

    api("POST", "/api/v1/teams", json={"name": "一组"}, expect=201)
    api(
        "POST",
        "/api/v1/reps",
        json={"code": "8001", "name": "王芳", "team": "一组", "identifiers": [REP_LINE]},
        expect=201,
    )

    # --- POST /api/v1/calls ---
    one = api("POST", "/api/v1/calls", scope="ingest", json=rec("c-1", customer=INTL), expect=200)
    assert one.json()["created"] == 1
    batch = [
        rec("c-2", customer=ZEROS),
        rec("c-3", customer=N, disposition="maybe"),
        rec("c-4", customer=int(N)),  # a JSON number: invalid, and still the number
        rec("c-5", customer=N, started_at=INTL, note=f"call {DASHED} back"),
        rec("c-6", customer=f"{N} " * 6),  # over 64 characters
        rec("c-7", rep=N, customer=N, disposition="maybe"),  # a number-shaped rep, rejected
        rec("c-8", customer=float(N), talk_seconds=-1),
        rec("c-9", customer=N, ended_at=iso(t - timedelta(minutes=1))),  # ends before it starts
    ]
    arr = api("POST", "/api/v1/calls", scope="ingest", json=batch, expect=200).json()
    assert (arr["created"], arr["rejected"]) == (1, 7), arr
    ndjson = b"\n".join(
        orjson.dumps(r)
        for r in (rec("n-1", customer=N), rec("n-2", customer=E164, talk_seconds="long"))
    )
    nd = api(
        "POST",
        "/api/v1/calls",
        scope="ingest",
        content=ndjson,
        headers={"Content-Type": "application/x-ndjson"},
        expect=200,
    ).json()
    assert (nd["created"], nd["rejected"]) == (1, 1), nd
    # Bodies that are not JSON at all: the 400 names the position, never the text.
    api(
        "POST",
        "/api/v1/calls",
        scope="ingest",
        content=f'{{"call_id": "x", "customer": {N}x}}'.encode(),
        headers={"Content-Type": "application/json"},
        expect=400,
    )
    api(
        "POST",
        "/api/v1/calls",
        scope="ingest",
        content=ndjson + f'\n{{"customer": "{N}"'.encode(),
        headers={"Content-Type": "application/x-ndjson"},
        expect=400,
    )

    # --- PATCH corrections ---
    api("POST", "/api/v1/calls", scope="ingest", json=rec("p-1"), expect=200)
    patched = api(
        "PATCH", "/api/v1/calls/default/p-1", scope="ingest", json={"customer": N}, expect=200
    )
    assert patched.json()["status"] == "updated"
    api(
        "PATCH",
        "/api/v1/calls/default/p-1",
        scope="ingest",
        json={"customer": INTL, "ended_at": iso(t - timedelta(minutes=5))},
        expect=422,
    )
    api("PATCH", "/api/v1/calls/default/p-1", scope="ingest", json={"customer": int(N)}, expect=422)
    api("PATCH", "/api/v1/calls/default/nope", scope="ingest", json={"customer": N}, expect=404)

    # --- POST /api/v1/imports ---
    exports = tmp_path / "exports"
    exports.mkdir()
    master = exports / "Master.csv"
    master.write_text(master_csv(t), encoding="utf-8")
    table = exports / "话单.csv"
    table.write_text(table_csv(t), encoding="utf-8")

    up = api(
        "POST",
        "/api/v1/imports",
        files={"file": ("Master.csv", master.read_bytes(), "text/csv")},
        data={"format": "asterisk", "source": "pbx"},
        expect=200,
    ).json()
    assert (up["created"], up["rejected"], len(up["rejects"])) == (2, 2, 2), up
    api(
        "PUT",
        "/api/v1/import-profiles/话单",
        json={"format": "csv", "mapping": TABLE_MAP, "source": "sheet"},
        expect=200,
    )
    up = api(
        "POST",
        "/api/v1/imports",
        files={"file": ("话单.csv", table.read_bytes(), "text/csv")},
        data={"profile": "话单"},
        expect=200,
    ).json()
    assert (up["created"], up["rejected"], len(up["rejects"])) == (2, 3, 3), up
    # A header-less export read as a spreadsheet: its first row (the number in it) is taken for
    # the header, and the error lists that header.
    api(
        "POST",
        "/api/v1/imports",
        files={"file": ("Master.csv", master.read_bytes(), "text/csv")},
        data={"format": "csv", "map": [f"{k}={v}" for k, v in TABLE_MAP.items()]},
        expect=422,
    )

    # --- paceboard import ---
    cli("import", str(master), "--format", "asterisk", "--source", "pbx")
    cli("import", str(table), "--profile", "话单")
    cli("import", str(master), "--format", "csv", "--map", "customer=被叫号码", expect=1)
    rejects = sorted(exports.glob("*.rejects.csv"))
    assert [p.name for p in rejects] == ["Master.csv.rejects.csv", "话单.csv.rejects.csv"]
    for path in rejects:
        text = path.read_text(encoding="utf-8")
        assert "***" in text, text  # the raw rows are there, masked
        leaks.check(f"rejects file {path.name}", text)

    # --- Twilio webhook ---
    def twilio(form: dict[str, str], expect: int) -> httpx.Response:
        sig = signature(live_server.url + WEBHOOK, form, TWILIO_TOKEN)
        return api(
            "POST",
            WEBHOOK,
            scope=None,
            data=form,
            headers={"X-Twilio-Signature": sig},
            expect=expect,
        )

    assert twilio(twilio_form(t), 200).json()["status"] == "created"
    # A line no rep has, and the customer where the agent's line should be: kept under
    # unresolved agents named by hash, never by the number.
    unknown = twilio(twilio_form(t, CallSid="CA3", From="+8657100000009"), 200).json()
    assert unknown["status"] == "created"
    inbound = twilio(
        twilio_form(t, CallSid="CA4", Direction="inbound", From=REP_LINE, To=INTL), 200
    ).json()
    assert inbound["status"] == "created"
    twilio(twilio_form(t, CallSid="CA5", SequenceNumber=""), 422)

    # --- everything a user can read ---
    day = t.date().isoformat()
    for path in (
        "/api/v1/floor/snapshot",
        f"/api/v1/floor/snapshot?day={day}",
        f"/api/v1/floor/plan?day={day}",
        f"/api/v1/alerts?day={day}",
        "/api/v1/reps",
        "/api/v1/teams",
        "/api/v1/targets",
        "/api/v1/import-profiles",
    ):
        api("GET", path, scope="read", expect=200)
    bucket = api("GET", "/api/v1/agents/unresolved", expect=200).json()
    assert bucket["unnamed_calls"] >= 2
    api("GET", "/openapi.json", scope=None, expect=200)
    api("GET", f"/wallboard?token={tokens['read']}", scope=None, expect=200)
    # The lead console may want more than a read token (the access matrix decides): the page
    # that comes back, refusal or console, is searched either way, and the console is fetched.
    refused = api("GET", f"/lead?token={tokens['read']}", scope=None, expect=(200, 403))
    if refused.status_code == 403:
        api("GET", f"/lead?token={tokens['admin']}", scope=None, expect=200)
    ws_url = live_server.url.replace("http", "ws", 1) + f"/ws?token={tokens['read']}"
    frame = asyncio.run(first_ws_message(ws_url))
    assert orjson.loads(frame)["type"] == "snapshot"
    leaks.check("/ws snapshot frame", frame)

    # --- the log, then the database ---
    live_server.stop()
    log = live_server.log.read_text(encoding="utf-8", errors="replace")
    assert "POST /api/v1/calls" in log, "the server log holds no access lines: is it captured?"
    leaks.check("server log (stdout+stderr)", log)
    payloads = database_text(db_url, leaks)
    assert any(w.startswith(("SQLite file", "PostgreSQL table")) for w in leaks.checked)

    leaks.assert_none()
    # The checks looked at real data: the calls carry the hash, the rejects keep it.
    assert any(f"hash:{key}" in p for p in payloads), payloads
    engine = sa.create_engine(make_url(db_url))
    try:
        with engine.connect() as conn:
            keyed = conn.execute(
                sa.text("SELECT count(*) FROM call WHERE customer_key = :k"), {"k": key}
            ).scalar_one()
    finally:
        engine.dispose()
    # c-1, c-2, n-1, p-1, Master.csv rows 1 and 2 (the CLI re-import: duplicates), t-1, t-2 and
    # the Twilio calls CA1 and CA3 (from a line no rep has, kept under an unresolved agent).
    assert keyed == 10


def test_number_shaped_rep_is_an_identifier_not_a_customer(api):
    """A rep's telephony identifier may be all digits (an agent's mobile): it is the rep's code
    and shown as such. Only the customer field is hashed on a stored call; an error about a
    record never repeats the rep it carried, and a rejected record keeps it hashed."""
    rec = {
        "call_id": "r-1",
        "rep": N,
        "started_at": "2026-11-26T10:05:00+08:00",
        "disposition": "answered",
        "customer": "13800138000",
    }
    assert api.post_calls(rec)["created"] == 1
    codes = [r["code"] for r in api.call("GET", "/api/v1/reps").json()]
    assert N in codes
    bad = api.post_calls({**rec, "call_id": "r-2", "disposition": "maybe"})
    assert bad["rejected"] == 1
    assert N not in orjson.dumps(bad).decode()
    with api.engine.connect() as conn:
        payload = conn.execute(sa.text("SELECT payload FROM ingest_reject")).scalar_one()
    assert N not in payload and orjson.loads(payload)["rep"].startswith("hash:")


# Known leak outside the ingest: the Asterisk adapter quotes a bad field's text in its reason
# (app/ingest/adapters/asterisk.py _time, _int, the disposition and channel checks; FreeSWITCH
# likewise), and reasons go to the rejects CSV, the POST /api/v1/imports answer and the CLI.
# A column-shifted row puts the dialled number in exactly such a field.
SHIFTED = [
    (
        "start",
        f'"","8001","{N}","ctx","x","SIP/8001-0000002e","","Dial","","{N}","",'
        '"2026-11-26 10:09:30",30,0,"NO ANSWER",""',
    ),
    (
        "billsec",
        '"","8001","x","ctx","x","SIP/8001-0000002f","","Dial","","2026-11-26 10:09:00",'
        f'"","2026-11-26 10:09:30",30,{N},"NO ANSWER",""',
    ),
    (
        "disposition",
        '"","8001","x","ctx","x","SIP/8001-00000030","","Dial","",'
        f'"2026-11-26 10:09:00","","2026-11-26 10:09:30",30,0,"{INTL}",""',
    ),
]


def test_a_number_where_the_channel_should_be_is_never_the_rep():
    line = (
        '"","8001","x","ctx","x","' + N + '","","Dial","","2026-11-26 10:09:00","",'
        '"2026-11-26 10:09:30",30,0,"NO ANSWER",""'
    )
    ((_, record, reason, raw),) = iter_master_csv([line], timezone=TZ, source="pbx", rep_from=None)
    assert reason is None and record["rep"] == NO_AGENT
    assert not GUARD.search(record["rep"]) and not GUARD.search(str(raw))


@pytest.mark.parametrize("field,line", SHIFTED, ids=[f for f, _ in SHIFTED])
def test_asterisk_reject_reason_never_quotes_a_number(field, line):
    (row,) = iter_master_csv([line], timezone=TZ, source="pbx", rep_from=None)
    reason = row[2]
    assert reason and reason.startswith(field), reason
    assert not GUARD.search(reason), f"reject reason quotes the number: {reason!r}"
    assert not GUARD.search(str(row[3])), row[3]
