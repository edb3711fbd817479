"""The access matrix: every route of the app × every kind of caller, against the route's rule.

The routes come from the app itself (``app.routes``), so a route added tomorrow is in the matrix
without anyone editing this file, and a route whose dependencies carry no rule fails
(``test_every_route_declares_who_may_call_it``). A rule is the ``.policy`` of a dependency
somewhere in the route's dependency tree: ``require(scope)`` (IngestPrincipal, ReadPrincipal,
LeadPrincipal, AdminPrincipal), ``page_rule(scope)`` on the pages, or ``public(reason)`` on a
route open on purpose (app/api/deps.py).

"Passes" means the answer is neither 401 nor 403: a 404 or 422 for the made-up path parameters
and empty bodies used here is expected. A refusal is 401 for a caller without a valid credential
and 403 for one whose credential is valid but not enough.

What passes is then read: a team-limited caller (a lead, a team's TV) gets every team's and the
floor's figures, and never another team's rep rows, rep targets, alerts or notes, in any body of
any GET route in any format (``test_no_body_a_limited_caller_gets_…``).
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlmodel import select

from app.config import Settings
from app.db import make_engine, session_scope
from app.main import create_app
from app.models import Alert, AppUser, Rep
from app.services.displays import create_display
from app.services.principals import SESSION_COOKIE
from app.services.roster import ensure_team
from app.services.users import create_user, csrf_token, start_session
from tests.conftest import SECRET, fresh_database, new_token, record

TEAM_A, TEAM_B = "一组", "二组"
#: Each team's rep, named so that any trace of it in a body is unmistakable (a two-letter code
#: could turn up by chance in a nonce or a hash).
REP_A = {"code": "alpha-rep", "name": "Aurelia Ownteam", "team": TEAM_A}
REP_B = {"code": "bravo-rep", "name": "Bertram Otherteam", "team": TEAM_B}
DAY = "2026-11-26"


def rep_level_markers(rep: dict[str, str]) -> tuple[str, ...]:
    """What only viewers of ``rep``'s team may read: the rep's code and name, the team's
    evening note, the note a lead left on the rep's alert."""
    return (rep["code"], rep["name"], f"TEAM-NOTE-{rep['code']}", f"ALERT-NOTE-{rep['code']}")


#: FastAPI's own documentation routes: not APIRoutes of ours, listed so nothing else hides here.
FRAMEWORK_ROUTES = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}

#: Plausible values for path parameters (a new parameter name must be added here).
PATH_VALUES = {
    "alert_id": "1",
    "name": TEAM_A,
    "code": REP_A["code"],
    "source": "s",
    "call_id": "c1",
    "rep": REP_A["code"],
    "day": "2026-11-26",
    # Made up, so an admin's POST …/disable or …/revoke changes no caller the matrix relies on.
    "username": "nobody",
    "display_id": "999",
    "token_id": "999",
}

PRINCIPALS = ("anonymous", "ingest", "read", "display_a", "lead_a", "lead_b", "admin")
#: The only JSON routes a display link's secret opens: the TV's own reads (its rotating views).
DISPLAY_API = frozenset({"/api/v1/floor/leaderboard"})
LIMITED = {"display_a": TEAM_A, "lead_a": TEAM_A, "lead_b": TEAM_B}

#: Who passes each rule (admins pass every check).
PASSES: dict[str, frozenset[str]] = {
    "public": frozenset(PRINCIPALS),
    "ingest": frozenset({"ingest", "admin"}),
    "read": frozenset({"read", "lead_a", "lead_b", "admin"}),
    "display": frozenset({"display_a", "read", "lead_a", "lead_b", "admin"}),
    "lead": frozenset({"lead_a", "lead_b", "admin"}),
    "admin": frozenset({"admin"}),
}


# --- the routes ------------------------------------------------------------------------------


def find_policy(dependant: Dependant) -> str | None:
    """The ``.policy`` of the first dependency in ``dependant``'s tree that has one."""
    for dep in dependant.dependencies:
        policy = getattr(dep.call, "policy", None)
        if policy is not None:
            return policy
        policy = find_policy(dep)
        if policy is not None:
            return policy
    return None


def query_names(dependant: Dependant) -> set[str]:
    names = {p.alias or p.name for p in dependant.query_params}
    for dep in dependant.dependencies:
        names |= query_names(dep)
    return names


@dataclass(frozen=True)
class RouteCase:
    method: str
    path: str
    policy: str | None
    query: frozenset[str]

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    def url(self) -> str:
        path = self.path
        for name in _path_params(path):
            assert name in PATH_VALUES, (
                f"{self.label}: add a plausible value for the path parameter '{name}' to "
                "PATH_VALUES in tests/api/test_access_matrix.py"
            )
            path = path.replace("{" + name + "}", PATH_VALUES[name])
        return path


def _path_params(path: str) -> list[str]:
    return [part[1:-1].split(":")[0] for part in path.split("/") if part.startswith("{")]


def route_cases(app) -> tuple[list[RouteCase], set[str]]:
    """Every (method, path) of every APIRoute with its rule; and the non-API route paths."""
    cases, others = [], set()
    for ctx in iter_route_contexts(app.routes):
        if not isinstance(ctx.original_route, APIRoute):
            if ctx.path is not None:
                others.add(ctx.path)
            continue
        policy = find_policy(ctx.dependant)
        query = frozenset(query_names(ctx.dependant))
        for method in sorted(ctx.methods):
            cases.append(RouteCase(method, ctx.path, policy, query))
    return sorted(cases, key=lambda c: (c.path, c.method)), others


def _collect() -> list[RouteCase]:
    # Collection needs the route list before any fixture exists; routes are code, not data, so
    # an app on a throwaway database has the same ones (test_matrix_is_the_apps_routes checks).
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            Settings(data_dir=Path(tmp), secret_key=SECRET, _env_file=None)  # type: ignore[call-arg]
        )
        try:
            return route_cases(app)[0]
        finally:
            app.state.engine.dispose()


ROUTES = _collect()
MATRIX = [(route, who) for route in ROUTES for who in PRINCIPALS]
TEAM_ROUTES = [r for r in ROUTES if r.method == "GET" and "team" in r.query]
TEAM_MATRIX = [
    (route, who, team)
    for route in TEAM_ROUTES
    for who in LIMITED
    if route.policy in PASSES and who in PASSES[route.policy]
    for team in (TEAM_A, TEAM_B)
]


# --- the callers -----------------------------------------------------------------------------


@dataclass
class Caller:
    """How one kind of caller authenticates a request."""

    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)


class Floor:
    """One app on one database for the whole module (an app's shutdown alone takes a second, so
    one per case would make the matrix take minutes), with two teams, a rep in each, one call
    each, and every kind of caller. The requests are empty or made up, so they change nothing
    another case depends on; a lead gets a fresh session for every case (POST /logout ends
    one)."""

    def __init__(self, client: TestClient, engine: sa.Engine) -> None:
        self.client, self.engine = client, engine
        self.tokens = {scope: new_token(engine, scope) for scope in ("ingest", "read", "admin")}
        with session_scope(engine) as session:
            for team in (TEAM_A, TEAM_B):
                ensure_team(session, team)
            for who, team in (("lead_a", TEAM_A), ("lead_b", TEAM_B)):
                create_user(
                    session,
                    username=who,
                    password="correct horse battery",
                    role="lead",
                    teams=[team],
                )
            self.display = create_display(session, name="TV A", teams=[TEAM_A])[1]
        admin = self.caller("admin").headers
        for rep in (REP_A, REP_B):
            self.add_rep_with_everything_a_lead_may_not_see_of_others(rep, admin)
        self.add_alerts()

    def add_rep_with_everything_a_lead_may_not_see_of_others(
        self, rep: dict[str, str], admin: dict[str, str]
    ) -> None:
        """The rep, a call, a sale, a rep target and the team's evening note."""
        post = self.client.post
        resp = post("/api/v1/reps", json=rep, headers=admin)
        assert resp.status_code == 201, resp.text
        calls = [
            record(f"call-{rep['code']}", rep=rep["code"]),
            record(f"sale-{rep['code']}", rep=rep["code"], outcome="sale", order_value="99"),
        ]
        resp = post("/api/v1/calls", json=calls, headers=self.caller("ingest").headers)
        assert resp.status_code == 200 and resp.json()["created"] == 2, resp.text
        target = {"metric": "dials", "period": "day", "value": 280, "rep": rep["code"]}
        resp = self.client.put("/api/v1/targets", json=target, headers=admin)
        assert resp.status_code == 200, resp.text
        note = {
            "day": DAY,
            "team": rep["team"],
            "problems": f"TEAM-NOTE-{rep['code']}",
            "plan": "call earlier",
        }
        resp = self.client.put("/api/v1/reports/notes", json=note, headers=admin)
        assert resp.status_code == 200, resp.text

    def add_alerts(self) -> None:
        """A behind-pace alert per rep, acknowledged with a lead's note (team A's is id 1)."""
        with session_scope(self.engine) as session:
            for rep in (REP_A, REP_B):
                rep_id = session.exec(select(Rep.id).where(Rep.code == rep["code"])).one()
                session.add(
                    Alert(
                        rep_id=rep_id,
                        day=date.fromisoformat(DAY),
                        kind="behind_pace",
                        metric="dials",
                        raised_at=datetime(2026, 11, 26, 3, 0, tzinfo=UTC),
                        note=f"ALERT-NOTE-{rep['code']}",
                        acknowledged_by="admin",
                        acknowledged_at=datetime(2026, 11, 26, 3, 5, tzinfo=UTC),
                    )
                )

    def caller(self, who: str) -> Caller:
        if who == "anonymous":
            return Caller()
        if who in self.tokens:
            return Caller({"Authorization": f"Bearer {self.tokens[who]}"})
        if who == "display_a":
            return Caller(query={"display": self.display})
        with session_scope(self.engine) as session:
            user = session.exec(select(AppUser).where(AppUser.username == who)).one()
            secret = start_session(session, user=user, now=datetime.now(UTC))
        return Caller(
            {"Cookie": f"{SESSION_COOKIE}={secret}", "X-CSRF-Token": csrf_token(SECRET, secret)}
        )

    def send(self, route: RouteCase, who: str, **query: str) -> Any:
        caller = self.caller(who)
        body = {"json": {}} if route.method in ("POST", "PUT", "PATCH") else {}
        # Not followed: a redirect (/ sends a signed-in person on) is the route's own answer.
        return self.client.request(
            route.method,
            route.url(),
            headers=caller.headers,
            params={**caller.query, **query},
            follow_redirects=False,
            **body,
        )


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def matrix_db(request, tmp_path_factory) -> Iterator[str]:
    """A migrated database of each engine for this module (as conftest's db_url, per module)."""
    yield from fresh_database(request, tmp_path_factory.mktemp("matrix"))


@pytest.fixture(scope="module")
def floor(matrix_db, tmp_path_factory) -> Iterator[Floor]:
    settings = Settings(
        database_url=matrix_db,
        data_dir=tmp_path_factory.mktemp("matrix-var"),
        secret_key=SECRET,
        token_cache_seconds=0,
        # Configured, the Twilio webhook answers an unsigned JSON request with its own 415, as
        # any public route answers a bad request; unconfigured it refuses everything (403).
        twilio_auth_token=SecretStr("matrix-test-twilio-token"),
        _env_file=None,
    )
    engine = make_engine(settings.resolved_database_url)
    try:
        with TestClient(create_app(settings)) as client:
            yield Floor(client, engine)
    finally:
        engine.dispose()


# --- the matrix ------------------------------------------------------------------------------


def test_every_route_declares_who_may_call_it(settings):
    app = create_app(settings)
    cases, others = route_cases(app)
    unmarked = sorted({c.label for c in cases if c.policy is None})
    assert not unmarked, (
        "routes without an access rule (add AdminPrincipal/ReadPrincipal/…, page_rule(scope) or "
        "dependencies=[Depends(public('why'))]):\n  " + "\n  ".join(unmarked)
    )
    unknown = sorted({f"{c.label}: {c.policy}" for c in cases if c.policy not in PASSES})
    assert not unknown, "rules this matrix does not know:\n  " + "\n  ".join(unknown)
    # Everything that is not an APIRoute: the framework's docs, the socket (it checks its own
    # credential, tests/live) and the static files (public by nature).
    assert others == FRAMEWORK_ROUTES | {"/ws", "/static"}


def test_matrix_is_the_apps_routes(settings):
    """The collected matrix is exactly the routes of the app built from this test's settings."""
    cases, _ = route_cases(create_app(settings))
    assert cases == ROUTES


def test_the_front_door_is_public():
    """``/`` only sends a caller on (to /login, or a signed-in person to their page)."""
    door = {(c.method, c.policy) for c in ROUTES if c.path == "/"}
    assert door == {("GET", "public"), ("HEAD", "public")}


@pytest.mark.parametrize(("route", "who"), MATRIX, ids=[f"{r.label} as {who}" for r, who in MATRIX])
def test_access(floor, route: RouteCase, who: str):
    assert route.policy in PASSES, f"{route.label} has no known rule ({route.policy})"
    resp = floor.send(route, who)
    status = resp.status_code
    if route.policy == "public":
        # Nobody is turned away for who they are. A public route may still refuse the request
        # itself (/login without its form token, /setup without a valid setup link): then an
        # anonymous caller gets the very same answer.
        if status in (401, 403) and who != "anonymous":
            anonymous = floor.send(route, "anonymous").status_code
            assert status == anonymous, f"{route.label} refused {who}: {status} {resp.text[:300]}"
        return
    if who in PASSES[route.policy] and not (who == "display_a" and _display_refused(route)):
        assert status not in (401, 403), f"{route.label} refused {who}: {status} {resp.text}"
        return
    # Refused: no credential (anonymous, or a display link on the API, which does not take
    # one) is 401; a valid credential without the scope is 403.
    if who == "anonymous":
        assert status == 401, f"{route.label} as anonymous: {status} {resp.text[:300]}"
    elif who == "display_a":
        assert status in (401, 403), f"{route.label} let a display in: {status} {resp.text[:300]}"
    else:
        assert status == 403, f"{route.label} as {who}: {status} {resp.text[:300]}"


@pytest.mark.parametrize(
    ("route", "who", "team"),
    TEAM_MATRIX,
    ids=[f"{r.label}?team={team} as {who}" for r, who, team in TEAM_MATRIX],
)
def test_a_limited_caller_sees_only_its_teams(floor, route: RouteCase, who: str, team: str):
    resp = floor.send(route, who, team=team)
    if team == LIMITED[who]:
        assert resp.status_code == 200, f"{who} asking for its own team: {resp.text[:300]}"
    else:
        assert resp.status_code == 403, f"{who} saw {team}: {resp.status_code} {resp.text[:300]}"


@pytest.mark.parametrize("who", ["lead_a", "lead_b"])
def test_a_lead_sees_every_teams_figures_and_only_its_own_reps(floor, who: str):
    headers = floor.caller(who).headers
    (mine, other) = (REP_A, REP_B) if who == "lead_a" else (REP_B, REP_A)
    day = {"day": DAY}

    snap = floor.client.get("/api/v1/floor/snapshot", params=day, headers=headers).json()
    reps = {r["code"]: r for r in snap["reps"]}
    assert set(reps) == {mine["code"]}, reps
    assert reps[mine["code"]]["totals"]["dials"] == 2
    # The team PK table is public on the floor: both teams' figures and the floor's sum.
    teams = {t["name"]: t for t in snap["teams"]}
    assert set(teams) == {TEAM_A, TEAM_B}
    assert teams[other["team"]]["totals"]["dials"] == 2 and snap["floor"]["totals"]["dials"] == 4
    assert "mentoring" in teams[mine["team"]] and "mentoring" not in teams[other["team"]]

    listed = floor.client.get("/api/v1/reps", headers=headers)
    assert listed.status_code == 200 and [r["code"] for r in listed.json()] == [mine["code"]]
    rules = floor.client.get("/api/v1/targets", headers=headers).json()
    assert [r["rep"] for r in rules if r["scope"] == "rep"] == [mine["code"]]
    plan = floor.client.get("/api/v1/floor/plan", params=day, headers=headers).json()
    assert {t["name"]: [r["code"] for r in t["reps"]] for t in plan["teams"]} == {
        mine["team"]: [mine["code"]],
        other["team"]: [],
    }


def _get_routes_for(who: str) -> list[RouteCase]:
    return [
        r
        for r in ROUTES
        if r.method == "GET"
        and r.policy in PASSES
        and who in PASSES[r.policy]
        and not (who == "display_a" and _display_refused(r))
    ]


def _display_refused(route: RouteCase) -> bool:
    """A display link's secret is no credential on the API, but for :data:`DISPLAY_API`."""
    return route.path.startswith("/api/") and route.path not in DISPLAY_API


def _texts(resp) -> str:
    """A response body as text; a spreadsheet (a zip of XML) unpacked."""
    if resp.content[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(resp.content)) as z:
            return "\n".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
    return resp.content.decode("utf-8", "replace")


@pytest.mark.parametrize("who", ["lead_a", "display_a"])
def test_no_body_a_limited_caller_gets_names_another_teams_rep_note_or_alert(floor, who: str):
    """Every GET route the caller may use, in every format it offers, for the day that has the
    data, asked for the whole floor and for the caller's own team: the bodies carry the own
    team's rep-level facts somewhere and the other team's nowhere."""
    forbidden = rep_level_markers(REP_B)
    read, seen = 0, ""
    for route in _get_routes_for(who):
        variants: list[dict[str, str]] = [{}]
        if "day" in route.query:
            variants = [{"day": DAY}]
        if "team" in route.query:
            variants += [{**v, "team": TEAM_A} for v in variants]
        if "format" in route.query:
            variants = [{**v, "format": f} for v in variants for f in ("json", "csv", "xlsx")]
        for query in variants:
            resp = floor.send(route, who, **query)
            if resp.status_code != 200:
                continue
            read += 1
            text = _texts(resp)
            seen += text
            leaked = [m for m in forbidden if m in text]
            assert not leaked, f"{route.label} {query} as {who} carried {leaked}"
    assert read >= (20 if who == "lead_a" else 2), read
    if who == "lead_a":  # the scan saw the data it guards (not a floor of empty answers)
        assert all(m in seen for m in rep_level_markers(REP_A)), "own team's facts not seen"
        assert TEAM_B in seen


def test_a_display_secret_is_no_api_credential_in_any_form(floor):
    for headers, params in (
        ({"Authorization": f"Bearer {floor.display}"}, {}),
        ({}, {"display": floor.display}),
        ({}, {"token": floor.display}),
    ):
        resp = floor.client.get("/api/v1/floor/snapshot", headers=headers, params=params)
        assert resp.status_code == 401, (headers, params, resp.text)
