"""What the image and the compose file promise, checked without a Docker engine (none runs on
these machines): a slim base, a non-root user, a health check, the /data volume, PostgreSQL with
two app processes behind nginx; and the package the image installs carries the pages."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def instructions(name: str) -> list[str]:
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [
        line.split(None, 1)[1]
        for line in joined.splitlines()
        if line.strip() and not line.startswith("#") and line.split()[0] == name
    ]


def test_the_image_is_slim_runs_as_a_user_and_keeps_its_data_in_a_volume():
    [base] = instructions("FROM")
    assert re.fullmatch(r"python:3\.1[1-9]-slim", base)
    [user] = instructions("USER")
    assert user not in ("root", "0")
    assert any("/data" in v for v in instructions("VOLUME"))
    assert "PACEBOARD_DATA_DIR=/data" in " ".join(instructions("ENV"))
    [health] = instructions("HEALTHCHECK")
    assert "/healthz" in health and "--interval" in health
    assert instructions("CMD") == ['["paceboard", "serve"]']
    for copied in instructions("COPY"):
        for path in copied.split()[:-1]:
            assert (ROOT / path).exists(), f"COPY {path}: not in the repository"


def test_compose_runs_two_app_processes_on_postgresql_behind_nginx():
    spec = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = spec["services"]
    assert services["db"]["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(services["db"]["healthcheck"]["test"])
    for name in ("app1", "app2"):
        app = services[name]
        env = app["environment"]
        assert (
            env["PACEBOARD_DATABASE_URL"].startswith("postgresql://")
            and "@db:" in env["PACEBOARD_DATABASE_URL"]
        )
        assert app["depends_on"]["db"]["condition"] == "service_healthy"
        assert "/readyz" in " ".join(app["healthcheck"]["test"])
        assert app["stop_grace_period"] == "30s"
    proxy = services["proxy"]
    conf_path = proxy["volumes"][0].split(":")[0]
    conf = (ROOT / conf_path).read_text()
    assert "server app1:8000" in conf and "server app2:8000" in conf
    ws = conf.split("location /ws", 1)[1].split("}", 1)[0]
    assert "proxy_set_header Upgrade $http_upgrade" in ws and "proxy_read_timeout 1h" in ws


def test_compose_trusts_forwarded_addresses_from_the_proxy_only():
    spec = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = spec["services"]
    proxy_ip = services["proxy"]["networks"]["floor"]["ipv4_address"]
    for name in ("app1", "app2"):
        trusted = services[name]["environment"]["FORWARDED_ALLOW_IPS"]
        assert "*" not in trusted and trusted == proxy_ip, trusted
    conf_path = services["proxy"]["volumes"][0].split(":")[0]
    conf = (ROOT / conf_path).read_text()
    # The edge proxy sets the header from the connection, never appends the client's own.
    assert "$proxy_add_x_forwarded_for" not in conf
    assert conf.count("X-Forwarded-For $remote_addr") >= 3
    deployment = (ROOT / "docs" / "deployment.md").read_text()
    assert (
        "FORWARDED_ALLOW_IPS=*" not in deployment and 'FORWARDED_ALLOW_IPS: "*"' not in deployment
    )


def test_the_installed_package_carries_its_pages_and_scripts(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [wheel] = tmp_path.glob("paceboard-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "app/templates/report.html",
        "app/templates/wallboard.html",
        "app/static/report.js",
        "app/static/i18n.js",
        "app/static/paceboard.css",
    ):
        assert needed in names, needed
