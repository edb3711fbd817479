"""``paceboard import``: Master.csv streamed into the ingest; totals, rejects, re-imports."""

from __future__ import annotations

import csv
import re

import sqlalchemy as sa

from app.models import Call
from tests.conftest import SQLITE_ONLY, call_count, copy, enrol, summaries, totals, totals_agree


def test_import_master16_counts_each_trap_and_rejects_broken_rows(cli, engine, tmp_path):
    [file] = copy(tmp_path, "master16.csv")
    out = cli("import", str(file), "--format", "asterisk")
    assert out.returncode == 0, out.stderr
    s = summaries(out.stdout)["master16.csv"]
    assert s == {
        "rows": 10,
        "created": 8,
        "updated": 0,
        "duplicate": 0,
        "stale": 0,
        "rejected": 2,
        "rejects": str(tmp_path / "master16.csv.rejects.csv"),
    }
    assert totals(engine) == {
        "1001": (3, 1, 60),  # connect 60 s, busy, cancel
        "1002": (2, 1, 45),  # no answer (empty answer), connect with GBK clid
        "1003": (2, 0, 0),  # NO ANSWER with billsec 40 (IVR), congestion
        "1004": (1, 0, 0),  # ANSWERED with billsec 0 on a Local channel
    }
    assert totals_agree(engine)

    text = (tmp_path / "master16.csv.rejects.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    assert [r["row"] for r in rows] == ["7", "8"]
    assert "got 15" in rows[0]["reason"] and rows[1]["reason"].startswith("start:")
    assert all("***" in r["raw"] for r in rows)
    assert not re.search(r"13[789]\d{8}", text)


def test_reimport_changes_nothing(cli, engine, tmp_path):
    files = copy(tmp_path, "master16.csv", "master21.csv")
    first = cli("import", *map(str, files), "--format", "asterisk")
    assert first.returncode == 0, first.stderr
    before, calls = totals(engine), call_count(engine)
    again = cli("import", *map(str, files), "--format", "asterisk")
    assert again.returncode == 0, again.stderr
    s = summaries(again.stdout)
    assert (s["master16.csv"]["duplicate"], s["master16.csv"]["created"]) == (8, 0)
    assert s["master16.csv"]["rejected"] == 2
    assert (s["master21.csv"]["duplicate"], s["master21.csv"]["created"]) == (4, 0)
    assert s["master21.csv"]["updated"] == 0
    assert totals(engine) == before and call_count(engine) == calls


def test_legs_count_once_in_the_snapshot(cli, api, tmp_path):
    enrol(api.engine, {"2001", "2002", "3001", "3002"})
    files = copy(tmp_path, "master18.csv", "master21.csv")
    rejects = tmp_path / "rejects"
    rejects.mkdir()
    out = cli("import", *map(str, files), "--format", "asterisk", "--rejects", str(rejects))
    assert out.returncode == 0, out.stderr
    s = summaries(out.stdout)
    assert s["master18.csv"]["rows"] == 3 and s["master18.csv"]["created"] == 2
    assert s["master21.csv"]["rows"] == 7 and s["master21.csv"]["created"] == 4
    assert s["master21.csv"]["rejects"] is None and not list(rejects.iterdir())

    def got(code: str) -> tuple[int, int, int]:
        t = api.rep_totals(code)
        return t["dials"], t["connects"], t["talk_seconds"]

    assert got("2001") == (2, 1, 90)  # two legs both ANSWERED 90 s: one connect, 90 s
    assert got("2002") == (2, 1, 50)  # IVR leg + connected leg: the connected leg's talk
    assert got("3001") == (1, 1, 30)  # two rows of one uniqueid
    assert got("3002") == (1, 0, 0)
    codes = {r["code"] for r in api.snapshot()["reps"]}
    assert "s" not in codes  # Local/s@ringgroup legs never become reps


def test_rep_from_source_and_timezone_options(cli, engine, tmp_path):
    [file] = copy(tmp_path, "master18.csv")
    out = cli(
        "import", str(file), "--format", "asterisk", "--rep-from", "accountcode",
        "--source", "pbx-2", "--timezone", "UTC",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert totals(engine) == {"team-a": (1, 1, 30), "team-b": (1, 0, 0)}
    c = Call.__table__
    with engine.connect() as conn:
        rows = conn.execute(sa.select(c.c.source, c.c.external_id, c.c.local_hour)).all()
    # 10:00 UTC is 18:00 in Shanghai (the floor's timezone).
    assert sorted(rows) == [("pbx-2", "1764122460.7", 18), ("pbx-2", "pbx1-1764122400.5", 18)]


def test_rejects_path_option(cli, tmp_path):
    [file] = copy(tmp_path, "master16.csv")
    target = tmp_path / "out" / "bad.csv"
    target.parent.mkdir()
    out = cli("import", str(file), "--format", "asterisk", "--rejects", str(target))
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0].endswith(f"rejects in {target}")
    assert target.exists() and not (tmp_path / "master16.csv.rejects.csv").exists()


@SQLITE_ONLY  # the command line's refusals, before any storing
def test_bad_invocations(cli, tmp_path, engine):
    missing = cli("import", str(tmp_path / "nope.csv"), "--format", "asterisk")
    assert missing.returncode == 1 and "nope.csv" in missing.stderr
    [file] = copy(tmp_path, "master16.csv")
    later = cli("import", str(file), str(tmp_path / "gone.csv"), "--format", "asterisk")
    assert later.returncode == 1 and "gone.csv" in later.stderr
    assert call_count(engine) == 0  # nothing imported when a file is missing
    other = cli("import", str(file), "--format", "vicidial")
    assert other.returncode == 2 and "--format: 'vicidial' is unknown" in other.stderr
    bad_col = cli("import", str(file), "--format", "asterisk", "--rep-from", "agent")
    assert bad_col.returncode == 2 and "--rep-from" in bad_col.stderr
    bad_tz = cli("import", str(file), "--format", "asterisk", "--timezone", "Mars/Base")
    assert bad_tz.returncode == 2 and "--timezone" in bad_tz.stderr


def test_import_file_streams_in_batches_with_progress(engine, settings, tmp_path):
    from app.ingest.importer import import_file
    from app.ingest.records import CustomerHasher
    from app.ingest.service import IngestContext

    [file] = copy(tmp_path, "master16.csv")
    ctx = IngestContext(settings.tz, CustomerHasher(settings.secret_key))
    seen: list[int] = []
    kw = dict(
        engine=engine,
        ctx=ctx,
        fmt="asterisk",
        source="asterisk",
        timezone=settings.tz,
        rep_from=None,
        rejects_path=tmp_path / "r.csv",
        minor_digits=2,
        batch=3,
    )
    summary = import_file(file, **kw, progress=seen.append)
    # Nobody is on the roster: every call is kept under its extension's unresolved agent.
    assert summary.pop("unresolved") == {"1001": 3, "1002": 2, "1003": 2, "1004": 1}
    assert (summary.pop("skipped"), summary.pop("skipped_reasons")) == (0, {})
    assert summary == {
        "rows": 10,
        "created": 8,
        "updated": 0,
        "duplicate": 0,
        "stale": 0,
        "rejected": 2,
        "rejects_path": str(tmp_path / "r.csv"),
    }
    assert len(seen) >= 3 and seen == sorted(seen) and seen[-1] == file.stat().st_size
    assert totals(engine)["1001"] == (3, 1, 60) and totals_agree(engine)
    assert import_file(file, **kw)["duplicate"] == 8


@SQLITE_ONLY  # profiles: tests/api/test_imports.py
def test_a_saved_profile_supplies_the_options_and_flags_override_it(cli, engine, tmp_path):
    [file] = copy(tmp_path, "master18.csv")
    saved = cli(
        "profile", "save", "二号中继", "--format", "asterisk", "--rep-from", "accountcode",
        "--source", "pbx-2", "--timezone", "UTC",
    )  # fmt: skip
    assert saved.returncode == 0, saved.stderr
    assert saved.stdout.strip() == "profile 二号中继 saved: asterisk, no mapping"
    listed = cli("profile", "list").stdout
    assert listed.startswith("二号中继\tasterisk\t-\t") and "rep_from=accountcode" in listed
    out = cli("import", str(file), "--profile", "二号中继")
    assert out.returncode == 0, out.stderr
    assert totals(engine) == {"team-a": (1, 1, 30), "team-b": (1, 0, 0)}
    # --source given with the profile wins over the profile's.
    again = cli("import", str(file), "--profile", "二号中继", "--source", "pbx-3")
    assert summaries(again.stdout)["master18.csv"]["created"] == 2
    with engine.connect() as conn:
        sources = conn.execute(sa.select(Call.__table__.c.source).distinct()).scalars().all()
    assert sorted(sources) == ["pbx-2", "pbx-3"]
    gone = cli("profile", "delete", "二号中继")
    assert gone.returncode == 0 and cli("profile", "list").stdout.startswith("no import profiles")
    missing = cli("import", str(file), "--profile", "二号中继")
    assert missing.returncode == 2
    assert "--profile: no import profile named '二号中继'" in missing.stderr


@SQLITE_ONLY  # profiles: tests/api/test_imports.py
def test_bad_profile_and_map_options_name_the_option(cli, tmp_path):
    bad_format = cli("profile", "save", "x", "--format", "vicidial")
    assert bad_format.returncode == 2 and "--format: 'vicidial' is unknown" in bad_format.stderr
    bad_map = cli("profile", "save", "x", "--format", "asterisk", "--map", "rep")
    assert bad_map.returncode == 2 and "--map: 'rep' is not FIELD=COLUMN" in bad_map.stderr
    fixed = cli("profile", "save", "x", "--format", "asterisk", "--map", "rep=坐席")
    assert fixed.returncode == 2 and "--map: format asterisk has fixed columns" in fixed.stderr
    bad_enc = cli("profile", "save", "x", "--format", "asterisk", "--encoding", "klingon")
    assert bad_enc.returncode == 2 and "--encoding: unknown text encoding" in bad_enc.stderr
    [file] = copy(tmp_path, "master18.csv")
    no_format = cli("import", str(file))
    assert no_format.returncode == 2 and "--format: is required" in no_format.stderr


def test_asterisk_custom_imports_and_reimports_unchanged(cli, engine, tmp_path):
    [file] = copy(tmp_path, "custom19.csv")
    first = summaries(cli("import", str(file), "--format", "asterisk-custom").stdout)
    assert first["custom19.csv"] | {"rejects": None} == {
        "rows": 6, "created": 5, "updated": 0, "duplicate": 0, "stale": 0, "rejected": 1,
        "rejects": None,
    }  # fmt: skip
    assert totals(engine)["1001"] == (1, 1, 60)
    again = summaries(cli("import", str(file), "--format", "asterisk-custom").stdout)
    assert again["custom19.csv"]["duplicate"] == 5 and totals_agree(engine)
