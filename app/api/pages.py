"""The two screens: ``/wallboard`` (the TV) and ``/lead`` (the team lead's console).

Thin on purpose: check the credential (an API token or display link in the URL, or a signed-in
user's session cookie), render a skeleton page, and let the page's JavaScript
(``app/static``) keep itself current over ``/ws`` (README, "Live"). The page's settings travel in
``data-*`` attributes on ``<body>``, never in inline scripts, so a strict Content-Security-Policy
holds. Static files, plotly.js included, come from this server: a wallboard must not depend on a
CDN being reachable from the floor's network.

``/`` is the front door (to /login, or a signed-in person's own page), and every page refused
says what it needs and offers a way in (``rendering.refusal``, which the report pages use too).
"""

from __future__ import annotations

import importlib.util
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.deps import (
    EngineDep,
    OpenSessionDep,
    PrincipalLookupDep,
    SettingsDep,
    page_rule,
    public,
)
from app.api.rendering import Lang, Token, render_page
from app.labels import Overrides, label, pick_lang, use_labels
from app.models import utcnow
from app.reports.page import cell
from app.services.displays import view_settings
from app.services.morning import morning
from app.services.tokens import Principal

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

# Our own JS/CSS: always revalidate (cheap 304s by ETag), so a deploy reaches the next load.
STATIC_CACHE = "no-cache"
# plotly.js only changes with the installed package; its URL carries the version.
PLOTLY_CACHE = "public, max-age=604800"

router = APIRouter(include_in_schema=False)


# --- plotly.js from the installed package ----------------------------------------------------


@lru_cache
def plotly_js() -> Path | None:
    """``plotly.min.js`` inside the installed ``plotly`` Python package (without importing it)."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations)))
    preferred = root / "package_data" / "plotly.min.js"
    if preferred.is_file():
        return preferred
    return next((p for p in sorted(root.rglob("plotly.min.js")) if p.is_file()), None)


class PageStatic(StaticFiles):
    """``app/static`` plus ``plotly.min.js`` from the plotly package, with Cache-Control."""

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        if path == "plotly.min.js":
            bundle = plotly_js()
            return (str(bundle), bundle.stat()) if bundle else ("", None)
        return super().lookup_path(path)

    def file_response(
        self, full_path: Any, stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        is_plotly = os.path.basename(str(full_path)) == "plotly.min.js"
        response.headers["Cache-Control"] = PLOTLY_CACHE if is_plotly else STATIC_CACHE
        response.headers["X-Content-Type-Options"] = "nosniff"
        if response.status_code == 200 and str(full_path).endswith(".js"):
            response.headers["Content-Type"] = "text/javascript; charset=utf-8"
        return response


class FloorLabels:
    """ASGI middleware: every request of this app is answered with the floor's own labels
    (``PACEBOARD_LABELS``) in force, whoever renders them (pages, reports, CSV and xlsx
    headers). A context variable, not a global: two apps in one process keep their own."""

    def __init__(self, app: ASGIApp, labels: Overrides) -> None:
        self.app, self.labels = app, labels

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with use_labels(self.labels):
            await self.app(scope, receive, send)


def install(app: FastAPI, labels: Overrides) -> None:
    """Add the pages, the floor's own ``labels`` and ``/static`` (the one line ``create_app``
    needs).

    ``check_dir=False``: an install without the page assets (a wheel built without package data)
    must still serve the API; the pages then fail alone instead of the whole app refusing to start.
    """
    if labels:  # nothing to do per request on a floor that renames nothing
        app.add_middleware(FloorLabels, labels=labels)
    app.include_router(router)
    app.mount("/static", PageStatic(directory=STATIC_DIR, check_dir=False), name="static")


# --- pages -----------------------------------------------------------------------------------


#: Where a signed-in person's own page is, by role (``/`` and signing in land there).
ROLE_HOME = {"admin": "/admin", "lead": "/lead"}


def home_of(role: str) -> str:
    """The page a signed-in person of ``role`` starts on."""
    return ROLE_HOME.get(role, "/lead")


@router.api_route(
    "/",
    methods=["GET", "HEAD"],
    dependencies=[Depends(public("the front door: it only says where to go"))],
)
async def front_door(
    request: Request, lookup: PrincipalLookupDep, lang: Annotated[str | None, Query()] = None
) -> Response:
    """A signed-in person goes to their role's page (admin: /admin, lead: /lead), anyone else
    to /login; 303, keeping ``lang``."""
    who = await lookup()
    where = home_of(who.scope) if who is not None and who.kind == "user" else "/login"
    if lang is not None:
        where += "?" + urlencode({"lang": pick_lang(lang)})
    return RedirectResponse(
        request.scope.get("root_path", "") + where,
        status_code=303,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


Display = Annotated[str | None, Query(description="A display link's secret (TVs)")]
Team = Annotated[str | None, Query(description="Pin one team")]


@router.api_route(
    "/wallboard",
    methods=["GET", "HEAD"],
    response_class=HTMLResponse,
    dependencies=[Depends(page_rule("display"))],
)
async def wallboard(
    request: Request,
    settings: SettingsDep,
    lookup: PrincipalLookupDep,
    open_session: OpenSessionDep,
    token: Token = None,
    display: Display = None,
    lang: Lang = None,
    team: Team = None,
) -> HTMLResponse:
    """The TV page: floor (or ``team``) against target, leaderboard, hours, who is behind."""

    def link_settings(principal: Principal) -> dict[str, Any]:
        # A display link's view settings (size, views, rotation, pin, metric) as JSON.
        if principal.kind != "display":
            return {}
        with open_session() as session:
            shown = view_settings(session, display_id=principal.token_id)
        return {"view_settings": json.dumps(shown, ensure_ascii=False)}

    return await render_page(
        request,
        "wallboard.html",
        lookup=lookup,
        settings=settings,
        scope="display",
        token=token,
        display=display,
        lang=lang,
        team=team,
        extra=link_settings,
    )


@router.api_route(
    "/lead",
    methods=["GET", "HEAD"],
    response_class=HTMLResponse,
    dependencies=[Depends(page_rule("lead"))],
)
async def lead(
    request: Request,
    settings: SettingsDep,
    lookup: PrincipalLookupDep,
    token: Token = None,
    lang: Lang = None,
    team: Team = None,
) -> HTMLResponse:
    """The team lead's console: every metric per rep, a rep's hours, alerts to acknowledge."""
    return await render_page(
        request,
        "lead.html",
        lookup=lookup,
        settings=settings,
        scope="lead",
        token=token,
        display=None,
        lang=lang,
        team=team,
    )


@router.api_route(
    "/morning",
    methods=["GET", "HEAD"],
    response_class=HTMLResponse,
    dependencies=[Depends(page_rule("display"))],
)
async def morning_page(
    request: Request,
    settings: SettingsDep,
    engine: EngineDep,
    lookup: PrincipalLookupDep,
    token: Token = None,
    display: Display = None,
    lang: Lang = None,
    team: Team = None,
) -> HTMLResponse:
    """The morning meeting's screen: yesterday, last evening's plans, today's hand-down."""

    def data(principal: Principal) -> dict[str, Any]:
        teams = principal.teams
        if team and team.strip():
            teams = frozenset({team.strip()})
        with engine.connect() as conn:
            m = morning(conn, day=settings.today(), now=utcnow(), pacing=settings.pacing,
                        teams=teams)  # fmt: skip
        digits = settings.currency_minor_digits
        code = pick_lang(lang)
        return {
            "m": m,
            "money": lambda v: cell("money", v, digits),
            "label": lambda key, **kw: label(code, key, **kw),
        }

    return await render_page(
        request,
        "morning.html",
        lookup=lookup,
        settings=settings,
        scope="display",
        token=token,
        display=display,
        lang=lang,
        team=team,
        extra=data,
    )
