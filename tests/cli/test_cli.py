"""The paceboard command as an admin runs it: tokens, settings errors, roster import, rebuild."""

from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa

from app.models import ApiToken, HourlyTotal
from tests.conftest import run_cli


def test_token_create_prints_the_secret_alone_on_the_last_line_and_stores_a_hash(cli, engine):
    out = cli("token", "create", "--name", "asterisk-3f", "--scope", "ingest", "--source", "ast")
    assert out.returncode == 0, out.stderr
    secret = out.stdout.strip().splitlines()[-1]
    assert secret.startswith("pb_") and len(secret) > 40 and " " not in secret
    with engine.connect() as conn:
        row = conn.execute(sa.select(ApiToken.token_hash, ApiToken.source, ApiToken.scope)).one()
    assert row == (hashlib.sha256(secret.encode()).hexdigest(), "ast", "ingest")
    listed = cli("token", "list")
    assert "asterisk-3f" in listed.stdout and secret not in listed.stdout


def test_token_create_refuses_an_unknown_scope(cli):
    out = cli("token", "create", "--name", "x", "--scope", "god")
    assert out.returncode == 2 and "--scope" in out.stderr


def test_bad_settings_fail_at_start_naming_the_setting(server_env):
    for name, value in [
        ("PACEBOARD_TIMEZONE", "Asia/Atlantis"),
        ("PACEBOARD_CALLING_WINDOWS", "13:00-09:00"),
        ("PACEBOARD_PORT", "eighty"),
    ]:
        out = run_cli({**server_env, name: value}, "migrate")
        assert out.returncode == 2 and name in out.stderr, (name, out.stderr)


def test_secret_key_is_generated_once_and_kept(server_env, tmp_path):
    env = {k: v for k, v in server_env.items() if k != "PACEBOARD_SECRET_KEY"}
    assert run_cli(env, "migrate").returncode == 0
    key_file = tmp_path / "var" / "secret_key"
    first = key_file.read_text()
    assert len(first.strip()) >= 32 and oct(key_file.stat().st_mode)[-3:] == "600"
    run_cli(env, "migrate")
    assert key_file.read_text() == first


def test_roster_import_reads_bom_csv_and_updates_on_reimport(cli, tmp_path, engine):
    path = tmp_path / "roster.csv"
    path.write_bytes(
        "code,name,team,hired_on\r\n8001,王芳,一组,2026-11-20\r\n8002,李强,二组,\r\n".encode(
            "utf-8-sig"
        )
    )
    out = cli("roster", "import", str(path))
    assert out.returncode == 0, out.stderr
    assert "2 created" in out.stdout
    path.write_bytes(
        "code,name,team,hired_on\n8001,王芳,二组,2026-11-20\n8002,李强,二组,\n".encode()
    )
    assert "1 updated, 1 unchanged" in cli("roster", "import", str(path)).stdout
    with engine.connect() as conn:
        teams = conn.execute(
            sa.text(
                "SELECT r.code, t.name FROM rep r JOIN team t ON t.id = r.team_id ORDER BY r.code"
            )
        ).all()
    assert [tuple(t) for t in teams] == [("8001", "二组"), ("8002", "二组")]


def test_roster_import_names_the_row_of_each_error_and_imports_nothing(cli, tmp_path, engine):
    path = tmp_path / "roster.csv"
    path.write_text(
        "code,name,team,hired_on\n8001,王芳,一组,20/11/2026\n,李强,二组,\n8001,x,y,\n",
        encoding="utf-8",
    )
    out = cli("roster", "import", str(path))
    assert out.returncode == 1
    assert "row 2: hired_on" in out.stderr and "row 3: code" in out.stderr
    assert "row 4: code: '8001' repeats row 2" in out.stderr
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM rep")).scalar() == 0


def test_rebuild_totals_check_finds_a_wrong_cell_and_rebuild_repairs_it(api, cli, engine):
    from tests.conftest import record

    api.post_calls([record("1"), record("2", outcome="sale", order_value="5")])
    assert cli("rebuild-totals", "--check").returncode == 0
    with engine.begin() as conn:
        conn.execute(sa.update(HourlyTotal).values(dials=HourlyTotal.dials + 3))
    bad = cli("rebuild-totals", "--check", "--day", "2026-11-26")
    assert bad.returncode == 1
    assert "rep 1001 2026-11-26 10h" in bad.stdout and "dials 5≠2" in bad.stdout
    fixed = cli("rebuild-totals")
    assert fixed.returncode == 0 and "rebuilt 1 cell" in fixed.stdout
    assert cli("rebuild-totals", "--check").returncode == 0
    assert api.rep_totals("1001")["dials"] == 2
    assert cli("rebuild-totals", "--day", "tomorrow").returncode == 2


def test_target_set_stores_a_rule_revenue_in_minor_units_and_names_bad_options(cli, engine):
    ok = cli(
        "target",
        "set",
        "--metric",
        "dials",
        "--per",
        "day",
        "--value",
        "320",
        "--from",
        "2026-12-01",
    )
    assert ok.returncode == 0
    assert "dials/day for floor default from 2026-12-01: 320 dials" in ok.stdout
    assert (
        cli(
            "target",
            "set",
            "--metric",
            "revenue",
            "--per",
            "month",
            "--value",
            "50000.50",
            "--from",
            "2026-12-01",
        ).returncode
        == 0
    )
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT metric, period, scope, value FROM target WHERE valid_from = '2026-12-01'"
            " ORDER BY metric"
        ).all()
    assert [tuple(r) for r in rows] == [
        ("dials", "day", "floor", 320),
        ("revenue", "month", "floor", 5_000_050),
    ]
    bad = cli("target", "set", "--metric", "dials", "--per", "fortnight", "--value", "3")
    assert bad.returncode == 1 and "--per: must be one of day, week, month" in bad.stderr
    bad = cli("target", "set", "--metric", "dials", "--per", "day", "--value", "3", "--team", "Z")
    assert bad.returncode == 1 and "--team: no team named 'Z'" in bad.stderr
    listed = cli("target", "list")
    assert "revenue" in listed.stdout and "¥50,000.50" in listed.stdout


@pytest.mark.parametrize(
    ("metric", "value", "shown"),
    [
        ("revenue", "5000", "¥5,000.00"),
        ("talk_seconds", "13000", "13,000 s (3:36:40)"),
        ("dials", "300", "300 dials"),
        ("invites", "none", "unset"),
    ],
)
def test_target_set_echoes_the_figure_target_list_shows_with_its_unit(
    cli, engine, metric, value, shown
):
    per = "week" if metric == "invites" else "day"
    args = ("--metric", metric, "--per", per, "--value", value, "--from", "2030-01-01")
    done = cli("target", "set", *args)
    assert done.returncode == 0, done.stderr
    echoed = done.stdout.strip().rsplit(": ", 1)[1]
    assert echoed == shown
    [line] = [
        ln
        for ln in cli("target", "list").stdout.splitlines()
        if f" {metric} " in ln and "2030-01-01" in ln
    ]
    assert line.split()[0] == "floor" and f" {shown}  from 2030-01-01" in line
    if metric == "revenue":  # yuan on the command line, minor units (fen) in the database
        with engine.connect() as conn:
            stored = conn.exec_driver_sql(
                "SELECT value FROM target WHERE metric = 'revenue' AND valid_from = '2030-01-01'"
            ).scalar_one()
        assert stored == 500_000


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the engine plays no part
def test_serve_runs_the_server_with_the_short_gil_switch_interval_and_rarer_collections(
    server_env, monkeypatch
):
    """The ingest writer's thread wins the GIL back from a busy event loop quickly, and the
    garbage collector does not stall the loop every few hundred rows (app/serving.py):
    `paceboard serve` sets both before uvicorn starts."""
    import gc
    import sys

    import uvicorn

    from app.commands import server
    from app.serving import GC_THRESHOLDS, SWITCH_INTERVAL_SECONDS

    for name, value in server_env.items():
        monkeypatch.setenv(name, value)
    seen: list[tuple] = []
    monkeypatch.setattr(
        uvicorn,
        "run",
        lambda *a, **k: seen.append((sys.getswitchinterval(), gc.get_threshold())),
    )
    before = (sys.getswitchinterval(), gc.get_threshold())
    try:
        server.serve(host=None, port=None)
    finally:
        sys.setswitchinterval(before[0])
        gc.set_threshold(*before[1])
        gc.unfreeze()
    assert seen == [(SWITCH_INTERVAL_SECONDS, GC_THRESHOLDS)] != [before]


def test_rebuild_totals_check_covers_time_in_state_and_rebuild_repairs_it(api, cli, engine):
    from tests.conftest import enrol

    enrol(engine, {"r1"})
    events = [
        {"rep": "r1", "state": "available", "at": "2026-11-26T10:00:00+08:00"},
        {"rep": "r1", "state": "paused", "reason": "午饭", "at": "2026-11-26T10:20:00+08:00"},
        {"rep": "r1", "state": "logged_out", "at": "2026-11-26T11:05:00+08:00"},
    ]
    resp = api.client.post("/api/v1/agent-events", json=events, headers=api.auth(api.ingest))
    assert resp.json()["created"] == 3
    assert cli("rebuild-totals", "--check").returncode == 0
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE state_total SET seconds = seconds + 7 WHERE hour = 10"))
    bad = cli("rebuild-totals", "--check")
    assert bad.returncode == 1
    assert "rep r1 2026-11-26 10h: stored≠events: paused/午饭 2407≠2400 s" in bad.stdout
    assert (
        "rebuilt 0 cell(s) from the calls and 3 from the agent events"
        in cli("rebuild-totals").stdout
    )
    assert cli("rebuild-totals", "--check").returncode == 0
    # The present state is checked and repaired too.
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE agent_now SET state = 'available'"))
    bad = cli("rebuild-totals", "--check")
    assert bad.returncode == 1
    assert (
        "rep r1: present state stored≠events: available since 2026-11-26T03:05:00+00:00"
        "≠logged_out since 2026-11-26T03:05:00+00:00"
    ) in bad.stdout
    cli("rebuild-totals")
    assert cli("rebuild-totals", "--check").returncode == 0
