"""``POST /api/v1/imports``: the CLI's import over HTTP, admin only, the same summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import enrol

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
    bad = upload(api, "master18.csv", format="vicidial")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "format"
    bad = upload(api, "master18.csv", timezone="Mars/Base")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "timezone"


def test_import_profiles_are_saved_listed_used_and_deleted(api):
    enrol(api.engine, {"team-a", "team-b"})
    body = {"format": "asterisk", "rep_from": "accountcode", "timezone": "UTC", "source": "pbx-2"}
    saved = api.call("PUT", "/api/v1/import-profiles/二号中继", json=body)
    assert saved.status_code == 200, saved.text
    assert saved.json()["rep_from"] == "accountcode"
    listed = api.call("GET", "/api/v1/import-profiles", token=api.read).json()
    assert [p["name"] for p in listed] == ["二号中继"]
    with (DATA / "master18.csv").open("rb") as f:
        resp = api.call(
            "POST",
            "/api/v1/imports",
            files={"file": ("master18.csv", f, "text/csv")},
            data={"profile": "二号中继"},
        )
    assert resp.status_code == 200, resp.text
    assert (resp.json()["format"], resp.json()["created"]) == ("asterisk", 2)
    reps = {r["code"] for r in api.snapshot()["reps"]}
    assert {"team-a", "team-b"} <= reps  # the rep came from accountcode, as the profile says
    assert api.call("DELETE", "/api/v1/import-profiles/二号中继").status_code == 204
    gone = api.call("DELETE", "/api/v1/import-profiles/二号中继")
    assert gone.status_code == 404 and gone.json()["errors"][0]["field"] == "profile"


def test_import_profiles_refuse_bad_options_and_non_admins(api):
    bad = api.call(
        "PUT", "/api/v1/import-profiles/x", json={"format": "asterisk", "mapping": {"rep": "坐席"}}
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "map"
    bad = api.call(
        "PUT", "/api/v1/import-profiles/x", json={"format": "asterisk", "timezone": "Mars/Base"}
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "timezone"
    denied = api.call(
        "PUT", "/api/v1/import-profiles/x", token=api.read, json={"format": "asterisk"}
    )
    assert denied.status_code == 403


@pytest.mark.parametrize("encoding", ["rot13", "uu_codec", "no-such-encoding"])
def test_an_encoding_that_is_no_text_encoding_is_422_naming_it(api, encoding):
    for fmt in ("asterisk", "csv"):
        bad = upload(api, "master18.csv", format=fmt, encoding=encoding)
        assert bad.status_code == 422, bad.text
        assert bad.json()["errors"][0]["field"] == "encoding"
