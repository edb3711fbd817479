"""Shared fixtures and helpers. Every database test runs on SQLite and, when
``PACEBOARD_TEST_POSTGRES_URL`` is set, again on PostgreSQL, each test in a fresh database."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import hypothesis
import psycopg
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url
from sqlmodel import select

from app.config import Settings
from app.db import make_engine, session_scope
from app.ingest import rebuild
from app.main import create_app
from app.migrate import upgrade
from app.models import Call, HourlyTotal, Rep
from app.services.tokens import create_token

# Timing belongs to bench/, not to tests: hypothesis's 200 ms per-example deadline failed a pure
# function on a loaded CI worker (297 ms). Every property test runs without one.
hypothesis.settings.register_profile("paceboard", deadline=None)
hypothesis.settings.load_profile("paceboard")

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("PACEBOARD_TEST_POSTGRES_URL", "")
REQUIRE_PG = os.environ.get("PACEBOARD_TEST_REQUIRE_POSTGRES") == "1"
REDIS_URL = os.environ.get("PACEBOARD_TEST_REDIS_URL", "")
REQUIRE_REDIS = os.environ.get("PACEBOARD_TEST_REQUIRE_REDIS") == "1"
SECRET = "test-secret-key-not-for-production"
TEAM_DEFAULTS = ("Asia/Shanghai", "09:30-11:30,13:00-17:30", "mon,tue,wed,thu,fri")


# --- databases -------------------------------------------------------------------------------


def _pg_admin() -> psycopg.Connection:
    url = make_url(PG_URL)
    return psycopg.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password,
        dbname=url.database or "postgres",
        autocommit=True,
    )


def _pg_url(dbname: str) -> str:
    return (
        make_url(PG_URL)
        .set(drivername="postgresql+psycopg", database=dbname)
        .render_as_string(hide_password=False)
    )


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    if not PG_URL:
        if REQUIRE_PG:
            pytest.fail(
                "PACEBOARD_TEST_REQUIRE_POSTGRES=1 but PACEBOARD_TEST_POSTGRES_URL is unset"
            )
        pytest.skip("PostgreSQL not configured: set PACEBOARD_TEST_POSTGRES_URL to run these")
    name = f"pb_tmpl_{uuid.uuid4().hex[:10]}"
    with _pg_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    engine = make_engine(_pg_url(name))
    upgrade(engine)
    engine.dispose()
    yield name
    with _pg_admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def redis_url() -> str:
    """The test Redis (PACEBOARD_TEST_REDIS_URL); skips without one unless it is required."""
    if not REDIS_URL:
        if REQUIRE_REDIS:
            pytest.fail("PACEBOARD_TEST_REQUIRE_REDIS=1 but PACEBOARD_TEST_REDIS_URL is unset")
        pytest.skip("Redis not configured: set PACEBOARD_TEST_REDIS_URL to run these")
    return REDIS_URL


def fresh_database(
    request: pytest.FixtureRequest, folder: Path, kind: str | None = None
) -> Iterator[str]:
    """A freshly migrated, empty database of the engine ``kind`` (by default ``request.param``)
    names (a SQLite file in ``folder``, or a PostgreSQL database dropped afterwards): the body
    of a db fixture."""
    if (kind or request.param) == "sqlite":
        path = folder / "paceboard.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    template = request.getfixturevalue("pg_template")
    name = f"pb_t_{uuid.uuid4().hex[:12]}"
    with _pg_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    yield _pg_url(name)
    with _pg_admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


#: A test whose engine does not matter to what it tests (both engines are tested elsewhere).
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
#: A test of what only PostgreSQL does (several processes writing at once, its locks).
PG_ONLY = pytest.mark.parametrize("db_url", ["postgres"], indirect=True)


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path) -> Iterator[str]:
    """A freshly migrated, empty database of each engine."""
    yield from fresh_database(request, tmp_path)


def sqlite_db(sqlite_template: Path, folder: Path) -> str:
    """A fresh migrated SQLite database in ``folder``: the body of a module's own ``db_url``
    where the engine does not matter to what it tests (pages, command processes)."""
    path = folder / "paceboard.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


def test_settings(db_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    """The settings of a test's app on ``db_url``, with ``overrides`` (small limits, …)."""
    return Settings(
        database_url=db_url,
        data_dir=tmp_path / "var",
        secret_key=SECRET,
        token_cache_seconds=0,
        _env_file=None,
        **overrides,
    )


test_settings.__test__ = False  # a helper, not a test


@pytest.fixture
def settings(db_url, tmp_path) -> Settings:
    return test_settings(db_url, tmp_path)


@pytest.fixture
def engine(settings) -> Iterator[sa.Engine]:
    eng = make_engine(settings.resolved_database_url)
    yield eng
    eng.dispose()


def new_token(engine: sa.Engine, scope: str, source: str | None = None) -> str:
    with session_scope(engine) as session:
        return create_token(session, name=f"test-{scope}", scope=scope, source=source)[1]


#: The team :func:`enrol` puts reps in when a test names none.
FLOOR_TEAM = "Floor"


def enrol(engine: sa.Engine, codes: Any, *, team: str = FLOOR_TEAM) -> None:
    """Put reps with these codes on the roster (in ``team``, created if missing) unless some rep
    already has the code as an identifier: calls of an identifier no rep has are kept under an
    unresolved agent, off the board, as on a real floor before its roster is imported."""
    codes = sorted({c for c in codes if c})
    if not codes:
        return
    from sqlalchemy.dialects import postgresql, sqlite

    from app.models import Rep, RepIdentifier, Team

    rep_t, ident_t, team_t = Rep.__table__, RepIdentifier.__table__, Team.__table__
    now = datetime.now(UTC)
    # Safe beside a concurrent enrol of the same codes (threads posting at once).
    insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    with engine.begin() as conn:
        known = set(
            conn.execute(
                sa.select(ident_t.c.identifier).where(ident_t.c.identifier.in_(codes))
            ).scalars()
        )
        missing = [c for c in codes if c not in known]
        if not missing:
            return
        conn.execute(insert(team_t).values(name=team, created_at=now).on_conflict_do_nothing())
        team_id = conn.execute(sa.select(team_t.c.id).where(team_t.c.name == team)).scalar_one()
        for code in missing:
            conn.execute(
                insert(rep_t)
                .values(code=code, name=code, team_id=team_id, active=True, created_at=now)
                .on_conflict_do_nothing()
            )
            rep_id = conn.execute(sa.select(rep_t.c.id).where(rep_t.c.code == code)).scalar_one()
            conn.execute(
                insert(ident_t).values(identifier=code, rep_id=rep_id).on_conflict_do_nothing()
            )


def enrol_at(url: str, codes: Any, *, team: str = FLOOR_TEAM) -> None:
    """:func:`enrol` on the database at ``url`` (a server's, say)."""
    eng = make_engine(url)
    try:
        enrol(eng, codes, team=team)
    finally:
        eng.dispose()


def record_reps(records: Any) -> set[str]:
    """The rep codes of a JSON body's records (an object, a list of them; others ignored)."""
    items = records if isinstance(records, list | tuple) else [records]
    return {r["rep"] for r in items if isinstance(r, dict) and isinstance(r.get("rep"), str)}


# --- API client ------------------------------------------------------------------------------


class Api:
    """A TestClient with tokens of every scope and the calls the tests keep making."""

    def __init__(self, client: TestClient, engine: sa.Engine) -> None:
        self.client = client
        self.engine = engine
        self.admin = new_token(engine, "admin")
        self.ingest = new_token(engine, "ingest")
        self.read = new_token(engine, "read")

    @staticmethod
    def auth(token: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"} if token else {}

    def post_calls(
        self,
        records: Any,
        *,
        token: str | None = None,
        expect: int = 200,
        on_roster: bool = True,
        **kw,
    ) -> dict:
        """POST records; their reps are put on the roster first unless ``on_roster`` is False."""
        if on_roster:
            enrol(self.engine, record_reps(records))
        resp = self.client.post(
            "/api/v1/calls", json=records, headers=self.auth(token or self.ingest), **kw
        )
        assert resp.status_code == expect, resp.text
        return resp.json()

    def post_agent_events(
        self, events: Any, *, token: str | None = None, expect: int = 200, on_roster: bool = True
    ) -> dict:
        """POST agent-state events; their reps are put on the roster first unless ``on_roster``
        is False."""
        if on_roster:
            enrol(self.engine, record_reps(events))
        resp = self.client.post(
            "/api/v1/agent-events", json=events, headers=self.auth(token or self.ingest)
        )
        assert resp.status_code == expect, resp.text
        return resp.json()

    def patch_call(self, source: str, call_id: str, body: dict, *, expect: int = 200) -> dict:
        resp = self.client.patch(
            f"/api/v1/calls/{source}/{call_id}", json=body, headers=self.auth(self.ingest)
        )
        assert resp.status_code == expect, resp.text
        return resp.json()

    def snapshot(
        self,
        day: str = "2026-11-26",
        team: str | None = None,
        expect: int = 200,
        at: str | None = None,
    ) -> dict:
        params = {"day": day} | ({"team": team} if team else {}) | ({"at": at} if at else {})
        resp = self.client.get(
            "/api/v1/floor/snapshot", params=params, headers=self.auth(self.read)
        )
        assert resp.status_code == expect, resp.text
        return resp.json()

    def rep_totals(self, code: str, day: str = "2026-11-26") -> dict[str, int]:
        reps = {r["code"]: r for r in self.snapshot(day)["reps"]}
        return reps[code]["totals"] if code in reps else {}

    def sign_in(
        self, username: str = "lead1", *, role: str = "lead", teams: tuple[str, ...] = ("一组",)
    ) -> dict[str, str]:
        """A user (teams created if missing) with a fresh session: the headers a browser of
        theirs sends (the session cookie and the session's CSRF token)."""
        from app.models import Team as TeamRow
        from app.services.roster import create_team
        from app.services.users import create_user, csrf_token, start_session

        with session_scope(self.engine) as session:
            for name in teams:
                if session.exec(select(TeamRow).where(TeamRow.name == name)).first() is None:
                    create_team(session, name=name, defaults=TEAM_DEFAULTS)
            user = create_user(
                session,
                username=username,
                password="correct horse battery",
                role=role,
                teams=list(teams) if role == "lead" else [],
            )
            secret = start_session(session, user=user, now=datetime.now(UTC))
        return {
            "Cookie": f"paceboard_session={secret}",
            "X-CSRF-Token": csrf_token(SECRET, secret),
        }

    def call(self, method: str, path: str, *, token: str | None = None, **kw) -> httpx.Response:
        return self.client.request(method, path, headers=self.auth(token or self.admin), **kw)


@pytest.fixture
def api(settings, engine) -> Iterator[Api]:
    with TestClient(create_app(settings)) as client:
        yield Api(client, engine)


def record(call_id: str = "c1", **overrides: Any) -> dict[str, Any]:
    """A valid outbound call record on 2026-11-26 at 10:05 Shanghai time, overridable."""
    base = {
        "call_id": call_id,
        "rep": "1001",
        "started_at": "2026-11-26T10:05:00+08:00",
        "disposition": "answered",
        "talk_seconds": 60,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not ...}


@pytest.fixture
def rec():
    return record


def spread(
    rep: str, n: int, start: str, end: str, *, prefix: str | None = None, **overrides: Any
) -> list[dict[str, Any]]:
    """``n`` call records of ``rep`` evenly spaced from ``start`` to before ``end`` (ISO instants
    with offset), ids ``<prefix>-0..n-1``; each record overridable like :func:`record`."""
    t0, t1 = datetime.fromisoformat(start), datetime.fromisoformat(end)
    step = (t1 - t0) / max(n, 1)
    return [
        record(f"{prefix or rep}-{i}", rep=rep, started_at=(t0 + step * i).isoformat(), **overrides)
        for i in range(n)
    ]


# --- real servers ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """``paceboard serve`` in a subprocess on a loopback port."""

    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.env, self.port, self.log = env, port, log
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def enrol(self, codes: Any, *, team: str = FLOOR_TEAM) -> None:
        """Put reps with these codes on this server's roster (see :func:`enrol`)."""
        enrol_at(self.env["PACEBOARD_DATABASE_URL"], codes, team=team)

    def token(self, scope: str, source: str | None = None) -> str:
        """A new API token on this server's database, made in this process: ``paceboard token
        create`` is tested on its own (tests/cli), and a process per token cost the browser and
        socket tests seconds each."""
        eng = make_engine(self.env["PACEBOARD_DATABASE_URL"])
        try:
            return new_token(eng, scope, source)
        finally:
            eng.dispose()

    def start(self, *args: str, timeout: float = 30) -> LiveServer:
        cmd = [sys.executable, "-m", "app", *(args or ("serve",))]
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=self.env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not start: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return run_cli(self.env, *args, stdin=stdin)


def run_cli(
    env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess:
    """Run ``paceboard ARGS`` (as ``python -m app``) the way an admin would."""
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def server_env(db_url, tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PACEBOARD_")}
    env.update(
        PACEBOARD_DATABASE_URL=db_url,
        PACEBOARD_DATA_DIR=str(tmp_path / "var"),
        PACEBOARD_SECRET_KEY=SECRET,
        PACEBOARD_HOST="127.0.0.1",
        PACEBOARD_PORT=str(free_port()),
        PACEBOARD_LOG_LEVEL="warning",
    )
    return env


@pytest.fixture
def cli(server_env):
    """``cli("token", "create", ...)`` runs the command against this test's database."""
    return lambda *args, stdin=None: run_cli(server_env, *args, stdin=stdin)


@pytest.fixture
def live_server(server_env, tmp_path) -> Iterator[LiveServer]:
    server = LiveServer(server_env, int(server_env["PACEBOARD_PORT"]), tmp_path / "server.log")
    yield server
    server.stop()


# --- imports (paceboard import) ---------------------------------------------------------------

DATA = ROOT / "tests" / "data"
SUMMARY = re.compile(
    r"(?P<name>\S+): (?P<rows>[\d,]+) rows → created (?P<created>\d+), updated (?P<updated>\d+), "
    r"duplicate (?P<duplicate>\d+), stale (?P<stale>\d+), rejected (?P<rejected>\d+)"
    r"(?:, skipped (?P<skipped>\d+))?(?:; rejects in (?P<rejects>\S+))?$"
)


def copy(tmp_path: Path, *names: str) -> list[Path]:
    out = []
    for name in names:
        shutil.copy(DATA / name, tmp_path / name)
        out.append(tmp_path / name)
    return out


def summaries(stdout: str) -> dict[str, dict]:
    out = {}
    for line in stdout.strip().splitlines():
        if line.startswith("  "):
            continue  # a file's detail lines: skipped legs, unresolved agents
        m = SUMMARY.match(line)
        assert m, line
        d = m.groupdict()
        name = d.pop("name")
        out[name] = {
            k: (int(v.replace(",", "")) if k != "rejects" and v is not None else v)
            for k, v in d.items()
            if k != "skipped" or v is not None
        }
    return out


def totals(engine) -> dict[str, tuple[int, int, int]]:
    """(dials, connects, talk_seconds) per rep code, summed over every hour."""
    h, r = HourlyTotal.__table__, Rep.__table__
    q = (
        sa.select(
            r.c.code,
            sa.func.sum(h.c.dials),
            sa.func.sum(h.c.connects),
            sa.func.sum(h.c.talk_seconds),
        )
        .join(r, r.c.id == h.c.rep_id)
        .group_by(r.c.code)
    )
    with engine.connect() as conn:
        return {code: (int(d), int(c), int(t)) for code, d, c, t in conn.execute(q)}


def call_count(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(Call.__table__)).scalar_one()


def totals_agree(engine) -> bool:
    with engine.connect() as conn:
        return rebuild.check(conn) == []


# --- clocks and zones -------------------------------------------------------------------------


def fixed_zone(offset_hours: int) -> str:
    """The IANA name of the fixed UTC offset ``offset_hours`` (-12 … +14): ``Etc/GMT-8`` is
    UTC+8 (the Etc names count the other way)."""
    return "UTC" if offset_hours == 0 else f"Etc/GMT{-offset_hours:+d}"


def zone_where_it_is(hour: int, now: datetime) -> str:
    """A fixed-offset zone whose clock shows ``hour``:MM at ``now`` (the minutes are now's): a
    floor inside its calling hours whatever the machine's hour (its working days see to the
    weekday)."""
    offset = hour - now.astimezone(UTC).hour
    if offset < -12:
        offset += 24
    elif offset > 14:
        offset -= 24
    return fixed_zone(offset)


def zone_off_the_utc_date(now: datetime) -> str:
    """A fixed-offset zone whose date at ``now`` is not UTC's and stays the same for at least an
    hour: UTC+14 (tomorrow) from 11:00 UTC, UTC-12 (yesterday) before."""
    return fixed_zone(14 if now.astimezone(UTC).hour >= 11 else -12)


def new_process_clock() -> datetime:
    """What the clock of a process started now reads. Not always the test's own clock: under
    libfaketime's "start at" (``FAKETIME=@…``) without FAKETIME_DONT_RESET every process starts
    its clock afresh at the same instant, so a server started late in a run trails the test
    process by the run so far."""
    out = subprocess.run(
        [sys.executable, "-c", "import time; print(time.time())"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return datetime.fromtimestamp(float(out.stdout), UTC)


def midday_zone() -> str:
    """A fixed-offset zone where it is about noon now: a server run in it counts calls stamped
    "just now" on the floor's today, and no floor midnight falls inside a test."""
    return zone_where_it_is(12, datetime.now(UTC))


def merge_patch(known: dict[str, Any] | None, patch: dict[str, Any]) -> dict[str, Any]:
    """A delta's row merged into the known one as the pages merge it (app/static/floor.js
    ``patch``): nested objects key by key, ``hours`` by ``hour``, anything else replaced."""
    if known is None:
        return patch
    out = dict(known)
    for key, value in patch.items():
        was = known.get(key)
        if key == "hours" and isinstance(value, list) and isinstance(was, list):
            by_hour = {h["hour"]: h for h in was}
            for h in value:
                by_hour[h["hour"]] = merge_patch(by_hour.get(h["hour"]), h)
            out[key] = [by_hour[n] for n in sorted(by_hour)]
        elif isinstance(value, dict) and isinstance(was, dict):
            out[key] = merge_patch(was, value)
        else:
            out[key] = value
    return out


class ScreenView:
    """What a page holds after applying the live frames it was sent (snapshots and deltas)."""

    def __init__(self) -> None:
        self.floor: dict[str, Any] = {}
        self.teams: dict[str, dict[str, Any]] = {}
        self.reps: dict[str, dict[str, Any]] = {}
        self.at: str | None = None  # the instant the view's pace is evaluated at
        self.delta_bytes = 0

    def apply(self, msg: dict[str, Any]) -> None:
        if msg["type"] == "snapshot":
            data = msg["data"]
            self.at = data["at"]
            self.floor = data["floor"]
            self.teams = {t["name"]: t for t in data["teams"]}
            self.reps = {r["code"]: r for r in data["reps"]}
        elif msg["type"] == "delta":
            self.delta_bytes += len(json.dumps(msg, ensure_ascii=False).encode())
            self.at = msg["at"]
            self.floor = merge_patch(self.floor, msg["floor"])
            for t in msg["teams"]:
                self.teams[t["name"]] = merge_patch(self.teams.get(t["name"]), t)
            for r in msg["reps"]:
                self.reps[r["code"]] = merge_patch(self.reps.get(r["code"]), r)

    def matches(self, snapshot: Mapping[str, Any]) -> bool:
        """Whether the view holds exactly ``snapshot``'s floor, teams and reps."""
        return (
            self.floor == snapshot["floor"]
            and self.teams == {t["name"]: t for t in snapshot["teams"]}
            and self.reps == {r["code"]: r for r in snapshot["reps"]}
        )
