"""The README's first-run section, run as written on a fresh database, so it cannot drift.

The shell block between ``<!-- first-run:begin -->`` and ``<!-- first-run:end -->`` in README.md
is split into its numbered steps (``# 1. …``) and each is run with bash, as an admin would type
it, in an empty directory: ``.venv`` is linked to this checkout's and ``make install`` taken as
done (the suite runs inside an installed checkout), and ``8000`` (the one placeholder: the port)
is replaced by a free port. So ``./var/paceboard.db`` is a new SQLite file; on PostgreSQL the
block runs with ``PACEBOARD_DATABASE_URL`` set to a fresh database. Steps 3 and 4 (the setup link,
signing in) are pages: they are done over HTTP as a browser does them. After each step, what it
was for is checked on the running server, and /admin's first-day checklist has ticked its item.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, free_port, sqlite_db

pytestmark = pytest.mark.e2e

README = ROOT / "README.md"
BEGIN, END = "<!-- first-run:begin -->", "<!-- first-run:end -->"
PORT_PLACEHOLDER = re.compile(r"\b8000\b")
PASSWORD = "correct horse battery"
#: What each numbered step is about, in the order a first day goes (issue 20).
ORDER = {
    1: "install",
    2: "server",
    3: "first admin",
    4: "sign in",
    5: "roster",
    6: "tv",
    7: "phone system",
    8: "targets",
}


# --- the README's block ------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    number: int
    title: str  # the step's first comment line, after "N."
    script: str  # every line of the step, comments included (bash skips them)

    @property
    def commands(self) -> list[str]:
        return [ln for ln in self.script.splitlines() if ln.strip() and not ln.startswith("#")]


def first_run_steps(readme: str) -> dict[int, Step]:
    """The numbered steps of the first-run block of ``readme``."""
    assert readme.count(BEGIN) == 1 and readme.count(END) == 1, "the first-run markers"
    section = readme.split(BEGIN, 1)[1].split(END, 1)[0]
    fenced = re.fullmatch(r"\s*```sh\n(.*)```\s*", section, re.DOTALL)
    assert fenced, "the first-run markers hold one ```sh block"
    steps: dict[int, list[str]] = {}
    titles: dict[int, str] = {}
    current = None
    for line in fenced.group(1).splitlines():
        head = re.match(r"# (\d+)\. (.*)", line)
        if head:
            current = int(head.group(1))
            titles[current] = head.group(2)
            steps[current] = []
        assert current is not None, f"a line before step 1: {line!r}"
        steps[current].append(line)
    return {n: Step(n, titles[n], "\n".join(lines) + "\n") for n, lines in steps.items()}


def test_the_first_run_block_follows_the_first_days_order():
    steps = first_run_steps(README.read_text(encoding="utf-8"))
    assert list(steps) == list(ORDER)
    for number, topic in ORDER.items():
        assert topic in steps[number].title.lower(), (number, steps[number].title)
    # Steps 3 and 4 happen in a browser; every other step has something to run.
    assert not steps[3].commands and not steps[4].commands
    assert all(steps[n].commands for n in ORDER if n not in (3, 4))
    assert any("user create" in ln and "--role admin" in ln for ln in steps[3].script.splitlines())


# --- running it ----------------------------------------------------------------------------------


class Inputs(HTMLParser):
    """A page's form fields (name -> value)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("name"):
            self.fields[attrs["name"]] = attrs.get("value") or ""


class FirstRun:
    """The README's steps run in ``folder`` with bash; the server step 2 starts keeps running
    (its process group is ended at the end, by id)."""

    def __init__(self, folder: Path, env: dict[str, str], steps: dict[int, Step]) -> None:
        self.folder, self.env, self.steps = folder, env, steps
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.groups: list[int] = []

    def run(self, number: int, *, timeout: float = 120) -> tuple[str, str]:
        """Run step ``number`` as written (the port replaced, ``make install`` done); its stdout
        and stderr. Whatever it starts in the background writes on to the same files."""
        script = PORT_PLACEHOLDER.sub(str(self.port), self.steps[number].script)
        script = "\n".join(ln for ln in script.splitlines() if not ln.startswith("make install"))
        out, err = self.folder / f"step{number}.out", self.folder / f"step{number}.err"
        with out.open("wb") as stdout, err.open("wb") as stderr:
            proc = subprocess.Popen(
                ["bash", "-euo", "pipefail", "-c", script],
                cwd=self.folder,
                env=self.env,
                stdin=subprocess.PIPE,
                stdout=stdout,
                stderr=stderr,
                start_new_session=True,  # no terminal: password prompts read stdin
            )
            self.groups.append(proc.pid)
            # A prompt for a new password asks twice; steps that ask nothing ignore it.
            proc.communicate(f"{PASSWORD}\n{PASSWORD}\n".encode(), timeout=timeout)
        text = out.read_text(encoding="utf-8"), err.read_text(encoding="utf-8")
        assert proc.returncode == 0, f"step {number} failed ({proc.returncode}): {text}"
        return text

    def stop(self) -> None:
        """End what the steps started (the server), by the process groups they ran in."""
        for group in self.groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for group in self.groups:
            while _alive(group) and time.monotonic() < deadline:
                time.sleep(0.1)
            if _alive(group):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(group, signal.SIGKILL)


def _alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def db_url(sqlite_template, tmp_path) -> str:
    """SQLite, the README's default (PostgreSQL differs by one setting, PACEBOARD_DATABASE_URL,
    and every service is tested on both engines): the first day run once keeps CI inside its
    time."""
    return sqlite_db(sqlite_template, tmp_path)


@pytest.fixture
def first_run(db_url, tmp_path) -> FirstRun:
    folder = tmp_path / "floor"
    folder.mkdir()
    (folder / ".venv").symlink_to(ROOT / ".venv")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PACEBOARD_")}
    env["PACEBOARD_LOG_LEVEL"] = "warning"  # the log stays short; the printed lines are echoes
    if db_url.startswith("postgresql"):
        env["PACEBOARD_DATABASE_URL"] = db_url  # the README's PostgreSQL note
    runner = FirstRun(folder, env, first_run_steps(README.read_text(encoding="utf-8")))
    yield runner
    runner.stop()


def test_the_readmes_first_run_works_on_a_fresh_database(first_run, db_url):
    run, url = first_run, first_run.url

    # 1. Install and migrate: a new database (on SQLite, in the empty folder).
    out, _ = run.run(1)
    assert "database is current" in out
    if db_url.startswith("sqlite"):
        assert (run.folder / "var" / "paceboard.db").is_file()

    # 2. The server answers, and printed the first admin's one-time link.
    out, _ = run.run(2, timeout=60)
    assert httpx.get(url + "/healthz", timeout=10).status_code == 200
    link = re.search(r"Create the first admin within 24 hours: (\S+)", out)
    assert link, out
    assert link.group(1).startswith(f"{url}/setup?token=pbsetup_")

    # 3. The link's form creates the first admin, signed in, on /admin.
    with httpx.Client(base_url=url, timeout=10) as browser:
        form = browser.get(link.group(1))
        assert form.status_code == 200, form.text
        fields = Inputs(form.text).fields
        fields |= {"username": "boss", "password": PASSWORD, "password2": PASSWORD}
        done = browser.post("/setup", data=fields)
        assert done.status_code == 303 and done.headers["location"] == "/admin", done.text

    # 4. Signing in from the front door lands the admin on /admin.
    admin = httpx.Client(base_url=url, timeout=10)
    try:
        door = admin.get("/")
        assert door.status_code == 303 and door.headers["location"] == "/login"
        fields = Inputs(admin.get("/login").text).fields
        fields |= {"username": "boss", "password": PASSWORD}
        signed_in = admin.post("/login", data=fields)
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/admin"
        assert admin.get("/").headers["location"] == "/admin"
        assert admin.get("/admin").status_code == 200
        assert ticked(admin) == set()  # the checklist, nothing done yet
        check_the_rest(run, admin)
    finally:
        admin.close()


def ticked(admin: httpx.Client) -> set[str]:
    """The items of /admin's first-day checklist that are done."""
    resp = admin.get("/api/v1/admin/checklist")
    assert resp.status_code == 200, resp.text
    return {item["key"] for item in resp.json()["items"] if item["done"]}


def check_the_rest(run: FirstRun, admin: httpx.Client) -> None:
    """Steps 5 to 8, each checked on the server as the signed-in admin, and /admin's checklist
    ticking itself in the README's order."""
    # 5. The roster is there, and the team's lead was created (the team already existed).
    out, _ = run.run(5)
    assert "reps: 2 created" in out and "user wang.lead created (lead of 一组)" in out
    reps = admin.get("/api/v1/reps").json()
    assert {(r["code"], r["team"]) for r in reps} == {("8001", "一组"), ("8002", "一组")}
    assert ticked(admin) == {"roster"}

    # 6. The TV link: the printed path after the server's address opens the wallboard.
    out, _ = run.run(6)
    path = out.strip().splitlines()[-1]
    assert path.startswith("/wallboard?display=pbd_"), out
    tv = httpx.get(run.url + path, timeout=10)
    assert tv.status_code == 200 and 'data-display="pbd_' in tv.text
    assert ticked(admin) == {"roster", "tv"}

    # 7. The phone system's first call is on today's snapshot.
    out, _ = run.run(7)
    assert json.loads(out)["created"] == 1, out
    snapshot = admin.get("/api/v1/floor/snapshot").json()
    [rep] = [r for r in snapshot["reps"] if r["code"] == "8001"]
    assert (rep["totals"]["dials"], rep["totals"]["talk_seconds"]) == (1, 95)
    assert ticked(admin) == {"roster", "tv", "phone"}

    # 8. Targets: echoed and listed in their units; revenue stored in minor units.
    out, _ = run.run(8)
    lines = out.strip().splitlines()
    assert lines[0].endswith(": 300 dials") and lines[1].endswith(": ¥5,000.00")
    listed = lines[2:]
    assert any(ln.split()[:3] == ["floor", "dials", "day"] and "300 dials" in ln for ln in listed)
    assert any(ln.split()[:3] == ["floor", "revenue", "day"] and "¥5,000.00" in ln for ln in listed)
    stored = {(t["metric"], t["period"], t["value"]) for t in admin.get("/api/v1/targets").json()}
    assert ("revenue", "day", 500_000) in stored
    assert ticked(admin) == {"roster", "tv", "phone", "targets"}
