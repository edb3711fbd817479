"""A real uvicorn server on loopback, driven over HTTP like the telephony system would."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.conftest import record


def test_real_server_takes_concurrent_batches_and_totals_check_clean(live_server):
    live_server.start()
    token = (
        live_server.cli("token", "create", "--name", "pbx", "--scope", "ingest", "--source", "pbx")
        .stdout.strip()
        .splitlines()[-1]
    )
    reader = (
        live_server.cli("token", "create", "--name", "tv", "--scope", "read")
        .stdout.strip()
        .splitlines()[-1]
    )
    reps = [f"80{n:02d}" for n in range(10)]
    live_server.enrol(reps)

    def post(batch: int) -> dict:
        records = [
            record(
                f"{batch}-{i}",
                rep=reps[i % 10],
                started_at=f"2026-11-26T{9 + i % 8:02d}:{i % 60:02d}:00+08:00",
                customer=f"1380000{i % 37:04d}",
                outcome="sale" if i % 50 == 0 else "none",
                order_value="10.5",
            )
            for i in range(200)
        ]
        r = httpx.post(
            live_server.url + "/api/v1/calls",
            json=records,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        r.raise_for_status()
        return r.json()

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(post, range(20)))
    assert sum(r["created"] for r in results) == 4000
    snap = httpx.get(
        live_server.url + "/api/v1/floor/snapshot",
        params={"day": "2026-11-26"},
        headers={"Authorization": f"Bearer {reader}"},
    ).json()
    assert snap["floor"]["totals"]["dials"] == 4000
    assert snap["floor"]["totals"]["revenue"] == 20 * 4 * 1050
    assert len(snap["reps"]) == 10
    check = live_server.cli("rebuild-totals", "--check")
    assert check.returncode == 0, check.stdout + check.stderr
    # The same batches again (a retrying PBX): duplicates, not double counts.
    with ThreadPoolExecutor(4) as pool:
        again = list(pool.map(post, range(5)))
    assert sum(r["duplicate"] for r in again) == 1000
    snap = httpx.get(
        live_server.url + "/api/v1/floor/snapshot",
        params={"day": "2026-11-26"},
        headers={"Authorization": f"Bearer {reader}"},
    ).json()
    assert snap["floor"]["totals"]["dials"] == 4000


def test_link_secrets_stay_out_of_the_access_log(live_server, server_env):
    server_env["PACEBOARD_LOG_LEVEL"] = "info"  # uvicorn's access log on, as in production
    live_server.start()
    reader = live_server.cli("token", "create", "--name", "tv", "--scope", "read").stdout
    reader = reader.strip().splitlines()[-1]
    link = live_server.cli("display", "create", "--name", "TV").stdout.strip().splitlines()[-1]
    display = link.rsplit("display=", 1)[1]
    assert httpx.get(f"{live_server.url}/wallboard", params={"token": reader}).status_code == 200
    assert httpx.get(f"{live_server.url}/wallboard", params={"display": display}).status_code == 200
    bad = httpx.get(f"{live_server.url}/lead", params={"token": reader + "x"})
    assert bad.status_code == 401
    live_server.stop()
    log = live_server.log.read_text(errors="replace")
    assert "GET /wallboard?token=pb_… 200" in log and "GET /wallboard?display=pbd_… 200" in log
    assert reader not in log and display not in log and reader[3:12] not in log
