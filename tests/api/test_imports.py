"""``POST /api/v1/imports``: the CLI's import over HTTP, admin only, the same summary."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data"


def upload(api, name: str, token: str | None = None, **form: str):
    with (DATA / name).open("rb") as f:
        return api.call(
            "POST",
            "/api/v1/imports",
            token=token,
            files={"file": (name, f, "text/csv")},
            data={"format": "asterisk", "timezone": "Asia/Shanghai", **form},
        )


def test_an_uploaded_master_csv_is_imported_and_a_second_upload_changes_nothing(api):
    first = upload(api, "master18.csv")
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["file"], body["rows"], body["created"]) == ("master18.csv", 3, 2)
    again = upload(api, "master18.csv").json()
    assert again["created"] == 0 and again["duplicate"] == body["created"]
    assert "13900139001" not in first.text  # the customer number never comes back


def test_rejected_rows_come_back_with_their_row_number_and_reason(api):
    body = upload(api, "master16.csv").json()
    assert body["rejected"] == len(body["rejects"]) > 0
    assert all(r["row"] >= 1 and r["reason"] for r in body["rejects"])


def test_imports_need_an_admin_token_and_a_known_format(api):
    assert upload(api, "master18.csv", token=api.ingest).status_code == 403
    bad = upload(api, "master18.csv", format="freeswitch")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "format"
    bad = upload(api, "master18.csv", timezone="Mars/Base")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "timezone"
