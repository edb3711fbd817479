"""What every page of ours shares: the templates, the headers of a page carrying a credential,
plotly.js's version, the refusal page that says what a page needs, and the page skeleton the
screens (/wallboard, /lead, /morning, /admin) render. pages.py, reports.py, admin.py and auth.py
build on it."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from app.config import Settings
from app.labels import catalog, overrides_by_lang, pick_lang
from app.live.deps import PrincipalLookup
from app.services.principals import SESSION_COOKIE
from app.services.tokens import Principal

# A page's link parameters. No length limits here: a page answers a bad link with its own 401
# page, not a JSON 422 (an over-long token is simply unknown to the verifier).
Token = Annotated[str | None, Query(description="An API token (read, lead or admin)")]
Lang = Annotated[str | None, Query(description="zh (default) or en")]

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"

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
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
# base.html hands the floor's own labels to the page's scripts (makeI18n reads them).
templates.env.globals["label_overrides"] = overrides_by_lang


@lru_cache
def plotly_version() -> str:
    try:
        return version("plotly")
    except PackageNotFoundError:
        return "0"


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
#: What of a page's URL its "Sign in" link comes back to (never a token or display link).
_KEEP = ("team", "lang", "day", "week", "month", "metric")


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


def refusal(
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


async def render_page(
    request: Request,
    template: str,
    *,
    lookup: PrincipalLookup,
    settings: Settings,
    scope: str,
    token: str | None,
    display: str | None,
    lang: str | None,
    team: str | None,
    extra: Callable[[Principal], dict[str, Any]] | None = None,
) -> HTMLResponse:
    """A screen for a principal allowed ``scope`` (and ``team``), else its refusal page; the
    page's settings and ``extra(principal)`` (run in a worker thread) go to the template."""
    code = pick_lang(lang)
    principal = await lookup(token=token, display=display)
    if principal is None:
        return refusal(request, code, forbidden=False)
    team = (team or "").strip()
    if not principal.allows(scope) or (team and not principal.sees_team(team)):
        return refusal(request, code, forbidden=True, principal=principal)
    if not team and principal.teams is not None and len(principal.teams) == 1:
        [team] = principal.teams  # a lead of one team, a TV of one team: pin it
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
