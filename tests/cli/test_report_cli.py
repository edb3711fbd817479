"""paceboard report daily|weekly|monthly: the same files as the report pages' downloads."""

from __future__ import annotations

import io
import json

from openpyxl import load_workbook

from tests.conftest import spread

DAY = "2026-10-14"


def _seed(api) -> None:
    api.call("POST", "/api/v1/teams", json={"name": "一组"})
    api.call("POST", "/api/v1/reps", json={"code": "a1", "name": "张伟", "team": "一组"})
    api.post_calls(
        spread("a1", 30, f"{DAY}T09:30:00+08:00", f"{DAY}T11:00:00+08:00", talk_seconds=70)
    )


def test_report_daily_writes_the_csv_the_api_serves(api, cli, tmp_path):
    _seed(api)
    out_file = tmp_path / "日报.csv"
    out = cli("report", "daily", "--day", DAY, "--format", "csv", "-o", str(out_file))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"daily report {DAY}: 1 reps → {out_file}"
    served = api.call("GET", "/api/v1/reports/daily", params={"day": DAY, "format": "csv"})
    written = out_file.read_bytes()
    assert written.startswith(b"\xef\xbb\xbf")
    assert written == served.content
    assert "张伟" in written.decode("utf-8-sig")


def test_report_daily_xlsx_in_english_for_one_team(api, cli, tmp_path):
    _seed(api)
    out_file = tmp_path / "day.xlsx"
    out = cli(
        "report",
        "daily",
        "--day",
        DAY,
        "--team",
        "一组",
        "--format",
        "xlsx",
        "--lang",
        "en",
        "-o",
        str(out_file),
    )
    assert out.returncode == 0, out.stderr
    ws = load_workbook(io.BytesIO(out_file.read_bytes())).worksheets[0]
    assert [c.value for c in ws[1]][:4] == ["Code", "Name", "Team", "Dials"]
    assert [c.value for c in ws[2]][:4] == ["a1", "张伟", "一组", 30]


def test_report_weekly_and_monthly_take_the_iso_week_and_month(api, cli, tmp_path):
    _seed(api)
    week_file, month_file = tmp_path / "w.json", tmp_path / "m.json"
    out = cli("report", "weekly", "--week", "2026-W42", "--format", "json", "-o", str(week_file))
    assert out.returncode == 0, out.stderr
    week = json.loads(week_file.read_text())
    assert (week["label"], week["reps"][0]["dials"]) == ("2026-W42", 30)
    out = cli("report", "monthly", "--month", "2026-10", "--format", "json", "-o", str(month_file))
    assert out.returncode == 0, out.stderr
    assert json.loads(month_file.read_text())["first"] == "2026-10-01"


def test_report_refuses_bad_options_naming_them(cli, tmp_path):
    out = cli("report", "daily", "--day", "14/10/2026")
    assert out.returncode == 2 and "--day: '14/10/2026' is not a date" in out.stderr
    out = cli("report", "daily", "--team", "九组", "-o", str(tmp_path / "x.csv"))
    assert out.returncode == 2 and "--team: no team named '九组'" in out.stderr
    assert not (tmp_path / "x.csv").exists()
    out = cli("report", "weekly", "--week", "W42")
    assert out.returncode == 2 and "--week: 'W42' is not an ISO week" in out.stderr
    out = cli("report", "daily", "-o", str(tmp_path / "no" / "such" / "dir.csv"))
    assert out.returncode == 2 and "--output: cannot write" in out.stderr


def test_report_files_use_the_floors_own_labels(api, server_env, tmp_path):
    from tests.conftest import run_cli

    _seed(api)
    out_file = tmp_path / "day.csv"
    env = {**server_env, "PACEBOARD_LABELS": "avg_order_value=件单价/value per sale"}
    out = run_cli(env, "report", "daily", "--day", DAY, "--format", "csv", "-o", str(out_file))
    assert out.returncode == 0, out.stderr
    header = out_file.read_bytes().decode("utf-8-sig").splitlines()[0].split(",")
    assert "件单价" in header and "客单价" not in header
