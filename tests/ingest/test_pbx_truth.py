"""Real PBX exports tell the truth (issue 15): who the rep is, which way the call went, what
counts, and never a customer's number as a rep, on both engines, through the README's commands.

The files in ``tests/data`` (``asterisk_messy*.csv``, ``freeswitch_messy.csv``,
``freeswitch_excel.csv``) are built to the documented formats with every trap: AppDial rows,
Local channel halves, inbound calls from outside into an IVR (FreeSWITCH legs=ab), calls no agent
answered, extension-to-extension calls, unknown extensions, and a FreeSWITCH file re-saved by a
spreadsheet (quotes gone, ``2026/11/26 12:00`` without seconds).
"""

from __future__ import annotations

import csv
import re

import sqlalchemy as sa

from app.ingest.adapters.asterisk import COLUMNS_21
from app.ingest.adapters.freeswitch import DEFAULT_COLUMNS
from app.models import Call, Rep
from tests.conftest import DATA, copy, summaries, totals_agree

ROSTER = """code,name,team,hired_on,extension,accountcode
wang,王丽,一组,,8001,
li,李娜,一组,,8002,
zhao,赵强,二组,,1001,
qian,钱多,二组,,,fs-qian
"""
FILES = ("asterisk_messy.csv", "asterisk_messy16.csv")
FS_FILES = ("freeswitch_messy.csv", "freeswitch_excel.csv")
CALLER_CALLEE = {
    "asterisk": ("src", "dst", "clid", "channel", "dstchannel", "lastdata"),
    "freeswitch": ("caller_id_name", "caller_id_number", "destination_number"),
}
METRICS = ("dials", "connects", "talk_seconds", "inbound_calls", "inbound_connects")


def file_numbers() -> set[str]:
    """Every phone number (7+ digits) in the files' caller and callee columns."""
    numbers: set[str] = set()
    for name in (*FILES, *FS_FILES):
        columns = COLUMNS_21 if name.startswith("asterisk") else DEFAULT_COLUMNS
        kind = "asterisk" if name.startswith("asterisk") else "freeswitch"
        for row in csv.reader((DATA / name).read_text().splitlines(), skipinitialspace=True):
            for column, value in zip(columns, row, strict=False):
                if column in CALLER_CALLEE[kind]:
                    # Not a channel's unique suffix (PJSIP/8001-00000001).
                    numbers.update(re.findall(r"(?<![-\w])\d{7,}", value))
    return numbers


def import_all(cli, tmp_path, *extra: str) -> dict[str, dict]:
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    out = cli("roster", "import", str(roster))
    assert out.returncode == 0, out.stderr
    stdout = ""
    for fmt, names in (("asterisk", FILES), ("freeswitch", FS_FILES)):
        files = copy(tmp_path, *names)
        out = cli("import", *map(str, files), "--format", fmt, *extra)
        assert out.returncode == 0, out.stderr
        stdout += out.stdout
    return {"summaries": summaries(stdout), "stdout": stdout}


def rep_totals(engine) -> dict[str, dict[str, int]]:
    """Every rep's (and unresolved agent's) day totals by code."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT r.code, "
                + ", ".join(f"SUM(h.{m})" for m in METRICS)
                + " FROM hourly_total h JOIN rep r ON r.id = h.rep_id GROUP BY r.code"
            )
        ).all()
    return {
        code: dict(zip(METRICS, map(int, vals), strict=True)) for code, *vals in rows if any(vals)
    }


def directions(engine) -> dict[str, str]:
    """call id → stored direction."""
    call = Call.__table__
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(call.c.external_id, call.c.direction)).all())


def every_text(engine) -> str:
    """Every value of every table, as text: what 'anywhere in the database' means."""
    parts = []
    with engine.connect() as conn:
        for table in sa.inspect(conn).get_table_names():
            for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')):
                parts.extend(str(v) for v in row)
    return "\n".join(parts)


def test_reps_directions_and_totals_are_exact(cli, api, engine, tmp_path):
    got = import_all(cli, tmp_path)
    s = got["summaries"]
    # AppDial2 row and a Local ;2 half of the 16-column file: skipped, counted, never reps.
    assert s["asterisk_messy16.csv"]["created"] == 2 and s["asterisk_messy16.csv"]["skipped"] == 2
    assert s["asterisk_messy.csv"]["created"] == 7 and s["asterisk_messy.csv"]["rejected"] == 0
    assert s["freeswitch_messy.csv"]["created"] == 5
    assert s["freeswitch_excel.csv"]["created"] == 3 and s["freeswitch_excel.csv"]["rejected"] == 0
    assert "skipped 1: lastapp: an AppDial row" in got["stdout"]
    assert "skipped 1: channel: the second half of a Local channel" in got["stdout"]

    assert rep_totals(engine) == {
        # 21 columns: outbound + its AppDial row (one call), click-to-call by Local/<number>;1
        # (its ;2 half merged); 16 columns: outbound + Local;1 click-to-call, not answered.
        "wang": {
            "dials": 4,
            "connects": 3,
            "talk_seconds": 150,
            "inbound_calls": 0,
            "inbound_connects": 0,
        },
        "li": {
            "dials": 0,
            "connects": 0,
            "talk_seconds": 45,
            "inbound_calls": 1,
            "inbound_connects": 1,
        },
        # Inbound from outside via IVR 5000, bridged to 1001 (talk = the agent's leg), twice
        # (the spreadsheet copy too); an outbound NO_ANSWER; an internal call counts nothing.
        "zhao": {
            "dials": 1,
            "connects": 0,
            "talk_seconds": 190,
            "inbound_calls": 2,
            "inbound_connects": 2,
        },
        # Found by its accountcode (a roster identifier) though caller_id_number is 1002.
        "qian": {
            "dials": 2,
            "connects": 2,
            "talk_seconds": 80,
            "inbound_calls": 0,
            "inbound_connects": 0,
        },
        "8011": {
            "dials": 1,
            "connects": 0,
            "talk_seconds": 0,
            "inbound_calls": 0,
            "inbound_connects": 0,
        },
        "8012": {
            "dials": 1,
            "connects": 1,
            "talk_seconds": 60,
            "inbound_calls": 0,
            "inbound_connects": 0,
        },
        "1009": {
            "dials": 1,
            "connects": 0,
            "talk_seconds": 0,
            "inbound_calls": 0,
            "inbound_connects": 0,
        },
        # Inbound calls no agent answered (an IVR only): kept, never connects.
        "#no-agent": {
            "dials": 0,
            "connects": 0,
            "talk_seconds": 0,
            "inbound_calls": 2,
            "inbound_connects": 0,
        },
    }
    d = directions(engine)
    assert d["1764122400.1"] == "outbound" and d["1764122700.3"] == "inbound"
    assert d["1764123000.5"] == "outbound" and d["1764123600.8"] == "internal"
    assert d["1764123900.10"] == "inbound"
    assert d["aaaa0001-0000-4000-8000-000000000001"] == "inbound"
    assert d["aaaa0004-0000-4000-8000-000000000004"] == "internal"
    assert d["aaaa0003-0000-4000-8000-000000000003"] == "outbound"
    assert totals_agree(engine)

    snap = api.snapshot()
    assert {r["code"] for r in snap["reps"]} == {"wang", "li", "zhao", "qian"}
    assert [t["name"] for t in snap["teams"]] == ["一组", "二组"]
    floor = snap["floor"]["totals"]
    assert (floor["dials"], floor["connects"], floor["talk_seconds"]) == (7, 5, 465)
    assert (floor["inbound_calls"], floor["inbound_connects"]) == (3, 3)


def test_unresolved_agents_are_shown_to_admins_by_extension_only(cli, api, engine, tmp_path):
    got = import_all(cli, tmp_path)
    assert (
        "  3 calls from 3 unknown agents: 8011, 8012 (and 1 that cannot be named: no agent on "
        "the call, or a phone number where the agent should be)" in got["stdout"]
    )
    resp = api.call("GET", "/api/v1/agents/unresolved")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["calls"], body["agents"]) == (5, 4)
    assert [a["code"] for a in body["named"]] == ["1009", "8011", "8012"]
    assert (body["unnamed_calls"], body["unnamed_agents"]) == (2, 1)
    # Leads and read tokens never see the bucket; the admin's console has its panel.
    assert api.call("GET", "/api/v1/agents/unresolved", token=api.read).status_code == 403
    lead = api.sign_in(teams=("一组",))
    assert api.client.get("/api/v1/agents/unresolved", headers=lead).status_code == 403
    page = api.client.get("/lead", headers=lead)
    assert page.status_code == 200 and "unresolved-panel" not in page.text
    assert "unresolved-panel" in api.call("GET", f"/lead?token={api.admin}").text
    # Nobody is given a target for an unresolved agent.
    resp = api.call(
        "PUT",
        "/api/v1/targets",
        json={"metric": "dials", "period": "day", "value": 300, "rep": "8011"},
    )
    assert resp.status_code in (404, 422) and "8011" in resp.text


def test_adding_an_identifier_to_a_rep_moves_its_calls(cli, api, engine, tmp_path):
    import_all(cli, tmp_path)
    resp = api.call("PATCH", "/api/v1/reps/li", json={"identifiers": ["8002", "8011"]})
    assert resp.status_code == 200, resp.text
    t = rep_totals(engine)
    assert "8011" not in t
    assert (t["li"]["dials"], t["li"]["inbound_calls"]) == (1, 1)
    assert totals_agree(engine)
    snap = api.snapshot()
    li = next(r for r in snap["reps"] if r["code"] == "li")
    assert li["totals"]["dials"] == 1
    named = api.call("GET", "/api/v1/agents/unresolved").json()["named"]
    assert [a["code"] for a in named] == ["1009", "8012"]
    # A roster import naming the extension does the same for 8012, and makes a new rep.
    roster = tmp_path / "more.csv"
    roster.write_text("code,name,team,extension\nzhou,周,一组,8012\n", encoding="utf-8")
    out = cli("roster", "import", str(roster))
    assert out.returncode == 0, out.stderr
    assert rep_totals(engine)["zhou"]["connects"] == 1 and totals_agree(engine)


def test_strict_rejects_calls_of_unknown_agents_naming_the_column(cli, engine, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    assert cli("roster", "import", str(roster)).returncode == 0
    [file] = copy(tmp_path, "asterisk_messy.csv")
    out = cli("import", str(file), "--format", "asterisk", "--strict")
    assert out.returncode == 0, out.stderr
    s = summaries(out.stdout)["asterisk_messy.csv"]
    assert (s["created"], s["rejected"]) == (4, 3)
    rows = list(csv.DictReader((tmp_path / "asterisk_messy.csv.rejects.csv").open()))
    reasons = {r["row"]: r["reason"] for r in rows}
    assert reasons["8"].startswith("channel: '8011' is no rep's identifier")
    assert reasons["7"] == "dstchannel: no agent on this call"
    assert {r.code for r in _reps(engine)} == {"wang", "li", "zhao", "qian"}


def _reps(engine) -> list:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(Rep.__table__.c.code)))


def test_no_number_from_the_files_appears_anywhere(cli, api, engine, tmp_path):
    numbers = file_numbers()
    assert {"13812345678", "62345678", "13700001111", "4008001234"} <= numbers
    got = import_all(cli, tmp_path)
    api.call("PATCH", "/api/v1/reps/li", json={"identifiers": ["8002", "8011"]})
    places = {
        "database": every_text(engine),
        "import output": got["stdout"],
        "snapshot": api.call("GET", "/api/v1/floor/snapshot?day=2026-11-26").text,
        "unresolved": api.call("GET", "/api/v1/agents/unresolved").text,
        "report csv": api.call("GET", "/api/v1/reports/daily?day=2026-11-26&format=csv").text,
        "console": api.call("GET", f"/lead?token={api.admin}").text,
        "wallboard": api.call("GET", f"/wallboard?token={api.admin}").text,
    }
    for rejects in tmp_path.glob("*.rejects.csv"):
        places[rejects.name] = rejects.read_text()
    for where, text in places.items():
        found = sorted(n for n in numbers if n in text)
        assert not found, f"{where} shows {found}"
