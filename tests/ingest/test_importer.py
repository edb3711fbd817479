"""The importer's two ways of reading: in this process, or a worker process for big files.
They must store the same calls, count the same and write the same rejects."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.ingest.adapters import OptionError
from app.ingest.importer import import_file
from app.ingest.records import CustomerHasher
from app.ingest.service import IngestContext
from tests.conftest import copy, totals, totals_agree

IN_PROCESS, WORKER = 1 << 60, 0  # parallel_from: never / always


def run(engine, settings, file: Path, rejects: Path, parallel_from: int, **kw) -> dict:
    options = dict(
        fmt="asterisk",
        source="asterisk",
        timezone=settings.tz,
        rep_from=None,
        minor_digits=2,
        batch=4,
    )
    options.update(kw)
    return import_file(
        file,
        engine=engine,
        ctx=IngestContext(settings.tz, CustomerHasher(settings.secret_key)),
        rejects_path=rejects,
        parallel_from=parallel_from,
        **options,
    )


@pytest.mark.parametrize("name", ["master16.csv", "master21.csv", "freeswitch_legs_ab.csv"])
def test_worker_process_and_in_process_imports_agree(engine, settings, tmp_path, name):
    [file] = copy(tmp_path, name)
    fmt = "freeswitch" if name.startswith("freeswitch") else "asterisk"
    seen: list[int] = []
    worker = run(engine, settings, file, tmp_path / "w.csv", WORKER, fmt=fmt, progress=seen.append)
    stored = totals(engine)
    assert totals_agree(engine)
    assert seen and seen[-1] == file.stat().st_size
    # The same file again, in process: every call is already there.
    again = run(engine, settings, file, tmp_path / "p.csv", IN_PROCESS, fmt=fmt)
    assert again["duplicate"] == worker["created"] and again["created"] == 0
    assert (again["rows"], again["rejected"]) == (worker["rows"], worker["rejected"])
    assert totals(engine) == stored
    if worker["rejected"]:
        assert (tmp_path / "w.csv").read_text() == (tmp_path / "p.csv").read_text()
        assert "***" in (tmp_path / "w.csv").read_text()


def test_a_worker_reports_a_header_problem_as_the_option_it_is_about(engine, settings, tmp_path):
    file = tmp_path / "calls.csv"
    file.write_text("坐席,开始\n1001,2026-11-26 10:00\n", encoding="utf-8")
    with pytest.raises(OptionError) as exc:
        run(engine, settings, file, tmp_path / "r.csv", WORKER, fmt="csv",
            mapping={"rep": "坐席", "started_at": "开始时间"})  # fmt: skip
    assert exc.value.field == "map" and "开始时间" in exc.value.reason
    assert totals(engine) == {}
