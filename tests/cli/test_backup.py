"""paceboard backup FILE: a checked copy of a SQLite floor taken while the server takes calls."""

from __future__ import annotations

import sqlite3
import threading

import httpx
import pytest

from tests.conftest import SQLITE_ONLY, record, run_cli


@SQLITE_ONLY
def test_backup_copies_a_running_floor_consistently(live_server, server_env, tmp_path):
    live_server.start()
    token = live_server.cli("token", "create", "--name", "pbx", "--scope", "ingest").stdout
    token = token.strip().splitlines()[-1]
    acked: list[int] = []
    stop = threading.Event()

    def post() -> None:
        n = 0
        with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
            while not stop.is_set():
                batch = [record(f"b{n}-{k}", rep=f"r{k % 4}") for k in range(200)]
                if client.post(live_server.url + "/api/v1/calls", json=batch).status_code == 200:
                    acked.append(n)
                n += 1

    writer = threading.Thread(target=post)
    writer.start()
    try:
        while len(acked) < 5:
            stop.wait(0.05)
        before = len(acked) * 200
        copy = tmp_path / "floor-backup.db"
        out = run_cli(server_env, "backup", str(copy))
    finally:
        stop.set()
        writer.join(30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"backup: {copy} (") and out.stdout.strip().endswith("checked")
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        calls = conn.execute("SELECT count(*) FROM call").fetchone()[0]
    assert calls >= before and calls % 200 == 0  # whole batches: a transaction, never half
    # The copy is a floor of its own: its totals agree with its calls.
    check = run_cli(
        {**server_env, "PACEBOARD_DATABASE_URL": f"sqlite:///{copy}"}, "rebuild-totals", "--check"
    )
    assert check.returncode == 0, check.stdout + check.stderr


@SQLITE_ONLY
def test_backup_refuses_to_overwrite_or_to_copy_onto_itself(cli, server_env, tmp_path):
    assert cli("migrate").returncode == 0
    target = tmp_path / "b.db"
    target.write_text("keep me")
    out = cli("backup", str(target))
    assert out.returncode == 2 and "exists; add --force" in out.stderr
    assert target.read_text() == "keep me"
    live = server_env["PACEBOARD_DATABASE_URL"].removeprefix("sqlite:///")
    out = cli("backup", live)
    assert out.returncode == 2 and "is the live database itself" in out.stderr
    assert cli("backup", str(target), "--force").returncode == 0


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_backup_points_postgresql_floors_to_pg_dump(cli, tmp_path):
    out = cli("backup", str(tmp_path / "x.db"))
    assert out.returncode == 2 and "pg_dump" in out.stderr
