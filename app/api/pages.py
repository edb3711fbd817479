"""The two screens: ``/wallboard`` (the TV) and ``/lead`` (the team lead's console).

Thin on purpose: check the credential (an API token or display link in the URL, or a signed-in
user's session cookie), render a skeleton page, and let the page's JavaScript
(``app/static``) keep itself current over ``/ws`` (README, "Live"). The page's settings travel in
``data-*`` attributes on ``<body>``, never in inline scripts, so a strict Content-Security-Policy
holds. Static files, plotly.js included, come from this server: a wallboard must not depend on a
CDN being reachable from the floor's network.

``/`` is the front door (to /login, or a signed-in person's own page), and every page refused
says what it needs and offers a way in (:func:`_refusal`, which the report pages use too).
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Callable
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.deps import SESSION_COOKIE, page_rule, public, resolve_principal
from app.labels import (  # noqa: F401 (re-exported)
    LANGS,
    Overrides,
    catalog,
    label,
    overrides_by_lang,
    pick_lang,
    use_labels,
)
from app.models import utcnow
from app.reports.page import cell
from app.services.displays import view_settings
from app.services.morning import morning
from app.services.tokens import Principal

APP_DIR = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = APP_DIR / "templates"
STATIC_DIR = APP_DIR / "static"

# The page carries a read token: never cache it, never leak its URL in a Referer, never frame it.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; connect-src 'self' ws: wss:; font-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
}
# Our own JS/CSS: always revalidate (cheap 304s by ETag), so a deploy reaches the next load.
STATIC_CACHE = "no-cache"
# plotly.js only changes with the installed package; its URL carries the version.
PLOTLY_CACHE = "public, max-age=604800"

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
# base.html hands the floor's own labels to the page's scripts (makeI18n reads them).
templates.env.globals["label_overrides"] = overrides_by_lang
router = APIRouter(include_in_schema=False)


# --- labels: app/labels.py (re-exported for the auth pages) ------------------------------------


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


@lru_cache
def plotly_version() -> str:
    try:
        return version("plotly")
    except PackageNotFoundError:
        return "0"


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


def install(app: FastAPI) -> None:
    """Add the pages and mount ``/static`` (the one line ``create_app`` needs).

    ``check_dir=False``: an install without the page assets (a wheel built without package data)
    must still serve the API; the pages then fail alone instead of the whole app refusing to start.
    """
    labels = app.state.settings.labels
    if labels:  # nothing to do per request on a floor that renames nothing
        app.add_middleware(FloorLabels, labels=labels)
    app.include_router(router)
    app.mount("/static", PageStatic(directory=STATIC_DIR, check_dir=False), name="static")


# --- pages -----------------------------------------------------------------------------------


#: Each page's key (its refusal says what it needs) and the scope it asks of a credential.
PAGE_SCOPES = {
    "wallboard": "display",
    "morning": "display",
    "lead": "lead",
    "reports": "lead",
    "admin": "admin",
}
#: The pages a display link opens (elsewhere a ``display`` in the URL is not read).
DISPLAY_PAGES = frozenset({"wallboard", "morning"})
#: Where a signed-in person's own page is, by role (``/`` and signing in land there).
ROLE_HOME = {"admin": "/admin", "lead": "/lead"}
#: What of a page's URL its "Sign in" link comes back to (never a token or display link).
_KEEP = ("team", "lang", "day", "week", "month", "metric")


def home_of(role: str) -> str:
    """The page a signed-in person of ``role`` starts on."""
    return ROLE_HOME.get(role, "/lead")


def _path(request: Request) -> str:
    """The request's path below the app's root path."""
    base = request.scope.get("root_path", "")
    path = request.url.path
    return path[len(base) :] if base and path.startswith(base) else path


def _page_key(path: str) -> str:
    """Which page ``path`` is ("lead", "reports"…), or "page" for one we do not name."""
    first = path.strip("/").split("/", 1)[0]
    return first if first in PAGE_SCOPES else "page"


def _credential(request: Request, page: str) -> str:
    """What the caller offered, in the order ``resolve_principal`` reads it: token, display,
    session or nothing."""
    query = request.query_params
    if request.headers.get("authorization") or (query.get("token") or "").strip():
        return "token"
    if page in DISPLAY_PAGES and (query.get("display") or "").strip():
        return "display"
    return "session" if request.cookies.get(SESSION_COOKIE) else "none"


def _why(request: Request, page: str, principal: Principal | None) -> tuple[str, str]:
    """(title key, reason key) of a refusal: what went wrong, in the catalog's words."""
    if principal is None:
        return {
            "token": ("refuse_title_link", "refuse_bad_token"),
            "display": ("refuse_title_tv", "refuse_bad_display"),
            "session": ("refuse_title_session", "refuse_session_ended"),
        }.get(_credential(request, page), ("refuse_title_sign_in", "refuse_no_credential"))
    if principal.allows(PAGE_SCOPES.get(page, "admin")):
        return "refuse_title_forbidden", "refuse_team"  # the page, but not that team
    return "refuse_title_forbidden", f"refuse_{principal.kind}_scope"


def _refusal(
    request: Request, lang: str, *, forbidden: bool, principal: Principal | None = None
) -> HTMLResponse:
    """The page's 401 (no valid credential) or 403 (``principal`` may not see it) in plain
    words: what this page needs, what was wrong, and a "Sign in" button that comes back here
    where signing in would help (never the token or display link it was opened with)."""
    t = catalog()[lang]
    base = request.scope.get("root_path", "")
    path = _path(request)
    page = _page_key(path)
    title, reason = _why(request, page, principal if forbidden else None)
    login = home = ""
    if reason != "refuse_team":
        keep = {k: v for k in _KEEP if (v := request.query_params.get(k))}
        back = path + ("?" + urlencode(keep) if keep else "")
        login = f"{base}/login?" + urlencode(
            {"next": back} | ({"lang": lang} if lang == "en" else {})
        )
    if principal is not None and principal.kind == "user":
        home = f"{base}/" + ("?lang=en" if lang == "en" else "")
    return templates.TemplateResponse(
        request,
        "error.html",
        {
            "lang": lang,
            "t": t,
            "base": base,
            "title": t[title],
            "message": t[f"refuse_need_{page}"],
            "reason": t[reason],
            "login": login,
            "home": home,
        },
        status_code=403 if forbidden else 401,
        headers=PAGE_HEADERS,
    )


async def _page(
    request: Request,
    template: str,
    *,
    scope: str,
    token: str | None,
    display: str | None,
    lang: str | None,
    team: str | None,
    extra: Callable[[Principal], dict[str, Any]] | None = None,
) -> HTMLResponse:
    code = pick_lang(lang)
    principal = await resolve_principal(request, token=token, display=display)
    if principal is None:
        return _refusal(request, code, forbidden=False)
    team = (team or "").strip()
    if not principal.allows(scope) or (team and not principal.sees_team(team)):
        return _refusal(request, code, forbidden=True, principal=principal)
    if not team and principal.teams is not None and len(principal.teams) == 1:
        [team] = principal.teams  # a lead of one team, a TV of one team: pin it
    settings = request.app.state.settings
    more = await run_in_threadpool(extra, principal) if extra is not None else {}
    return templates.TemplateResponse(
        request,
        template,
        {
            **more,
            "lang": code,
            "t": catalog()[code],
            # The page passes on only the credential it was opened with; a signed-in user's
            # session rides on its HttpOnly cookie, changes proven by the CSRF token.
            "token": (token or "").strip() if principal.kind == "token" else "",
            "display": (display or "").strip() if principal.kind == "display" else "",
            "csrf": principal.csrf or "",
            "user": principal.name if principal.kind == "user" else "",
            "admin": principal.allows("admin"),
            "team": team,
            "timezone": settings.timezone,
            "minor_digits": settings.currency_minor_digits,
            "pace_green": settings.pace_green,
            "pace_amber": settings.pace_amber,
            "stretch_pct": settings.stretch_pct,
            "pause_reasons": json.dumps(
                {c: {"zh": r.zh, "en": r.en} for c, r in settings.pause_reasons.items()},
                ensure_ascii=False,
            ),
            "plotly_version": plotly_version(),
            "base": request.scope.get("root_path", ""),
        },
        headers=PAGE_HEADERS,
    )


@router.api_route(
    "/",
    methods=["GET", "HEAD"],
    dependencies=[Depends(public("the front door: it only says where to go"))],
)
async def front_door(request: Request, lang: Annotated[str | None, Query()] = None) -> Response:
    """A signed-in person goes to their role's page (admin: /admin, lead: /lead), anyone else
    to /login; 303, keeping ``lang``."""
    who = await resolve_principal(request)
    where = home_of(who.scope) if who is not None and who.kind == "user" else "/login"
    if lang is not None:
        where += "?" + urlencode({"lang": pick_lang(lang)})
    return RedirectResponse(
        request.scope.get("root_path", "") + where,
        status_code=303,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


# No length limits here: a page answers a bad link with its own 401 page, not a JSON 422
# (an over-long token is simply unknown to the verifier).
Token = Annotated[str | None, Query(description="An API token (read scope or admin)")]
Display = Annotated[str | None, Query(description="A display link's secret (TVs)")]
Lang = Annotated[str | None, Query(description="zh (default) or en")]
Team = Annotated[str | None, Query(description="Pin one team")]


@router.api_route(
    "/wallboard",
    methods=["GET", "HEAD"],
    response_class=HTMLResponse,
    dependencies=[Depends(page_rule("display"))],
)
async def wallboard(
    request: Request,
    token: Token = None,
    display: Display = None,
    lang: Lang = None,
    team: Team = None,
) -> HTMLResponse:
    """The TV page: floor (or ``team``) against target, leaderboard, hours, who is behind."""
    engine = request.app.state.engine

    def link_settings(principal: Principal) -> dict[str, Any]:
        # A display link's view settings (size, views, rotation, pin, metric) as JSON.
        if principal.kind != "display":
            return {}
        with Session(engine) as session:
            shown = view_settings(session, display_id=principal.token_id)
        return {"view_settings": json.dumps(shown, ensure_ascii=False)}

    return await _page(
        request,
        "wallboard.html",
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
    request: Request, token: Token = None, lang: Lang = None, team: Team = None
) -> HTMLResponse:
    """The team lead's console: every metric per rep, a rep's hours, alerts to acknowledge."""
    return await _page(
        request, "lead.html", scope="lead", token=token, display=None, lang=lang, team=team
    )


@router.api_route(
    "/morning",
    methods=["GET", "HEAD"],
    response_class=HTMLResponse,
    dependencies=[Depends(page_rule("display"))],
)
async def morning_page(
    request: Request,
    token: Token = None,
    display: Display = None,
    lang: Lang = None,
    team: Team = None,
) -> HTMLResponse:
    """The morning meeting's screen: yesterday, last evening's plans, today's hand-down."""
    settings = request.app.state.settings
    engine = request.app.state.engine

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

    return await _page(
        request,
        "morning.html",
        scope="display",
        token=token,
        display=display,
        lang=lang,
        team=team,
        extra=data,
    )
