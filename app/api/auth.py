"""Signing in and out (``/login``, ``/logout``) and creating the first admin (``/setup``).

Plain HTML forms, no script: the pages keep the strict Content-Security-Policy of the screens
(``rendering.PAGE_HEADERS``) and speak Chinese by default, English with ``?lang=en``.

- The session is the ``paceboard_session`` cookie: HttpOnly, SameSite=Lax, Path=/, 12 hours,
  Secure per ``PACEBOARD_SECURE_COOKIES`` (unset: when ``PACEBOARD_PUBLIC_URL`` is https).
- The sign-in and setup forms are protected against login CSRF by a double submit: a random
  value in the short-lived ``paceboard_login_csrf`` cookie (HttpOnly, SameSite=Strict) and the
  same value in a hidden field, compared in constant time.
- Sign-out needs the session's own CSRF token (form field ``csrf`` or the X-CSRF-Token header).
- Failed sign-ins are limited per client address in memory (``limits.AttemptLimiter``), on top of
  the per-account lockout the users service keeps in the database.

The password is never logged or echoed; the username is echoed back into the form (escaped).
"""

from __future__ import annotations

import hmac
import math
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.responses import Response

from app.api.deps import CSRF_HEADER, LimiterDep, OpenSession, OpenSessionDep, SettingsDep, public
from app.api.pages import home_of
from app.api.rendering import PAGE_HEADERS, Lang, templates
from app.config import Settings
from app.labels import catalog, pick_lang
from app.models import SetupLink
from app.services.errors import InputError
from app.services.principals import SESSION_COOKIE
from app.services.tokens import hash_token
from app.services.users import (
    MAX_PASSWORD,
    MIN_PASSWORD,
    SETUP_PREFIX,
    WRONG,
    LoginRefused,
    authenticate,
    check_csrf,
    end_session,
    needs_setup,
    start_session,
    use_setup_link,
)

router = APIRouter(include_in_schema=False)

LOGIN_CSRF_COOKIE = "paceboard_login_csrf"
LOGIN_CSRF_SECONDS = 3600  # how long an open sign-in form stays usable
SESSION_LIFETIME = timedelta(hours=12)
_FORM_TOKEN = re.compile(r"[A-Za-z0-9_\-]{32,64}")
_NOT_NEXT = frozenset({"/login", "/logout", "/setup"})
_URL_SAFE = "/?&=%#:;@+,!$'()*~-._"  # what quote() leaves alone in a next path


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# --- helpers ---------------------------------------------------------------------------------


def secure_cookies(settings: Settings) -> bool:
    """Whether the cookies are Secure: the setting, else whether PUBLIC_URL is https."""
    if settings.secure_cookies is not None:
        return settings.secure_cookies
    return settings.public_url.lower().startswith("https://")


def safe_next(value: str | None) -> str | None:
    """``value`` if it is a path on this site ("/lead?team=…"), else None.

    Refused: absolute and scheme-relative URLs ("//evil.com"), backslashes and control characters
    (browsers read "/\\evil.com" and "/\\t/evil.com" as "//evil.com"), and the sign-in pages."""
    v = (value or "").strip()
    if (
        not v.startswith("/")
        or v.startswith("//")
        or "\\" in v
        or len(v) > 2000
        or any(ord(c) < 0x20 or ord(c) == 0x7F for c in v)
    ):
        return None
    if re.split(r"[?#]", v, maxsplit=1)[0] in _NOT_NEXT:
        return None
    return v


def _landing(next_value: str | None, lang: str, role: str) -> str:
    """Where to go after signing in: ``next`` if safe, else the role's own page (an admin's
    /admin, a lead's /lead) in the form's language."""
    found = safe_next(next_value)
    if found is not None:
        return found
    return home_of(role) + ("?lang=en" if lang == "en" else "")


def _base(request: Request) -> str:
    return request.scope.get("root_path", "")


def _redirect(request: Request, path: str) -> RedirectResponse:
    return RedirectResponse(
        _base(request) + quote(path, safe=_URL_SAFE),
        status_code=303,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def _form_token(request: Request) -> str:
    """The sign-in form's double-submit value: the browser's current one, or a new one."""
    current = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    return current if _FORM_TOKEN.fullmatch(current) else secrets.token_urlsafe(32)


def _form_ok(request: Request, given: str) -> bool:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not given:
        return False
    return hmac.compare_digest(cookie.encode(), given.encode("utf-8", "replace"))


def _render(
    request: Request,
    template: str,
    lang: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    form: bool = True,
    secure: bool = False,
) -> HTMLResponse:
    """A page of ours; ``form`` pages carry (and refresh) the double-submit cookie, Secure
    when ``secure``."""
    token = _form_token(request) if form else ""
    response = templates.TemplateResponse(
        request,
        template,
        {"lang": lang, "t": catalog()[lang], "base": _base(request), "csrf_form": token} | context,
        status_code=status,
        headers=PAGE_HEADERS | (headers or {}),
    )
    if form:
        response.set_cookie(
            LOGIN_CSRF_COOKIE,
            token,
            max_age=LOGIN_CSRF_SECONDS,
            path="/",
            secure=secure,
            httponly=True,
            samesite="strict",
        )
    return response


def _refused(
    request: Request, lang: str, title: str, message: str, *, status: int = 403, login: str = ""
) -> HTMLResponse:
    t = catalog()[lang]
    return _render(
        request,
        "error.html",
        lang,
        {"title": t[title], "message": t[message], "login": login},
        status=status,
        form=False,
    )


def _login_href(request: Request, lang: str, next_value: str | None = None) -> str:
    params = {"next": next_value} if next_value else {}
    if lang == "en":
        params["lang"] = "en"
    return _base(request) + "/login" + ("?" + urlencode(params) if params else "")


def _minutes(seconds: float) -> int:
    return max(1, math.ceil(seconds / 60))


def _say(text: str, n: int) -> str:
    return text.replace("{n}", str(n))


def _start_session(response: Response, secret: str, *, secure: bool) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path="/",
        secure=secure,
        httponly=True,
        samesite="lax",
    )
    response.delete_cookie(
        LOGIN_CSRF_COOKIE, path="/", secure=secure, httponly=True, samesite="strict"
    )


# --- sign in ---------------------------------------------------------------------------------


def _login_page(
    request: Request,
    settings: Settings,
    lang: str,
    next_value: str | None,
    *,
    username: str = "",
    error: str = "",
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    other = "zh" if lang == "en" else "en"
    return _render(
        request,
        "login.html",
        lang,
        {
            "next": safe_next(next_value) or "",
            "username": username[:64],
            "error": error,
            "other_lang": _login_href(request, other, safe_next(next_value)),
            "max_password": MAX_PASSWORD,
        },
        status=status,
        headers=headers,
        secure=secure_cookies(settings),
    )


@router.get(
    "/login",
    response_class=HTMLResponse,
    dependencies=[Depends(public("the sign-in form: anyone may ask for it"))],
)
def login_form(
    request: Request, settings: SettingsDep, next: str | None = None, lang: Lang = None
) -> HTMLResponse:
    """The sign-in form; ``next`` is where to go after (a path on this site)."""
    return _login_page(request, settings, pick_lang(lang), next)


@router.post(
    "/login",
    response_class=HTMLResponse,
    dependencies=[Depends(public("signing in: the credentials are what it checks"))],
)
def login(
    request: Request,
    settings: SettingsDep,
    limit: LimiterDep,
    open_session: OpenSessionDep,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
    lang: Annotated[str, Form()] = "",
) -> Response:
    """Check the credentials; on success start a session and go to ``next`` (else the role's
    page: /admin, /lead).

    A sync route on purpose: argon2 takes tens of milliseconds and runs in the threadpool."""
    code = pick_lang(lang)
    t = catalog()[code]
    username = username.strip()
    if not _form_ok(request, csrf):
        return _login_page(
            request, settings, code, next, username=username, error=t["form_expired"], status=403
        )
    client = _client(request)
    wait = limit.attempt(client)
    if wait:
        return _login_page(
            request,
            settings,
            code,
            next,
            username=username,
            error=_say(t["login_too_many"], _minutes(wait)),
            status=429,
            headers={"Retry-After": str(wait)},
        )
    now = datetime.now(UTC)
    reason: str | None = None
    with open_session() as session:
        try:
            user = authenticate(session, username=username, password=password, now=now)
        except LoginRefused as exc:
            reason = exc.reason  # caught inside: the failure count commits
        else:
            secret = start_session(session, user=user, now=now, lifetime=SESSION_LIFETIME)
            role = user.role
    if reason is None:
        limit.succeeded(client)
        response = _redirect(request, _landing(next, code, role))
        _start_session(response, secret, secure=secure_cookies(settings))
        return response
    if reason == WRONG:
        return _login_page(
            request, settings, code, next, username=username, error=t["login_wrong"], status=401
        )
    found = re.search(r"(\d+) minute", reason)
    minutes = int(found.group(1)) if found else 15
    return _login_page(
        request,
        settings,
        code,
        next,
        username=username,
        error=_say(t["login_locked"], minutes),
        status=429,
        headers={"Retry-After": str(minutes * 60)},
    )


# --- sign out --------------------------------------------------------------------------------


@router.post(
    "/logout",
    dependencies=[Depends(public("signing out: it checks the session's own CSRF token"))],
)
def logout(
    request: Request,
    settings: SettingsDep,
    open_session: OpenSessionDep,
    csrf: Annotated[str, Form()] = "",
    lang: Annotated[str, Form()] = "",
) -> Response:
    """End this browser's session and forget its cookie; needs the session's CSRF token."""
    code = pick_lang(lang)
    secret = request.cookies.get(SESSION_COOKIE, "")
    if secret:
        given = csrf or request.headers.get(CSRF_HEADER, "")
        if not check_csrf(settings.secret_key, secret, given):
            return _refused(request, code, "form_expired_title", "logout_refused")
        with open_session() as session:
            end_session(session, secret=secret)
    response = _redirect(request, "/login" + ("?lang=en" if code == "en" else ""))
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=secure_cookies(settings), httponly=True, samesite="lax"
    )
    return response


# --- first admin -----------------------------------------------------------------------------


def _link_usable(open_session: OpenSession, secret: str, now: datetime) -> bool:
    """Whether ``secret`` is an unused, unexpired setup link while there are no users (the
    same test as ``use_setup_link``, without using it up)."""
    if not secret.startswith(SETUP_PREFIX) or len(secret) > 200:
        return False
    with open_session() as session:
        if not needs_setup(session):
            return False
        link = session.get(SetupLink, hash_token(secret))
        return link is not None and link.used_at is None and link.expires_at > now


def _setup_refused(request: Request, lang: str) -> HTMLResponse:
    return _refused(
        request, lang, "setup_invalid_title", "setup_invalid_body", login=_login_href(request, lang)
    )


def _setup_page(
    request: Request,
    settings: Settings,
    lang: str,
    token: str,
    *,
    username: str = "",
    error: str = "",
    status: int = 200,
) -> HTMLResponse:
    return _render(
        request,
        "setup.html",
        lang,
        {
            "token": token,
            "username": username[:64],
            "error": error,
            "min_password": MIN_PASSWORD,
            "max_password": MAX_PASSWORD,
            "password_hint": _say(catalog()[lang]["setup_password_hint"], MIN_PASSWORD),
        },
        status=status,
        secure=secure_cookies(settings),
    )


@router.get(
    "/setup",
    response_class=HTMLResponse,
    dependencies=[Depends(public("first run: the one-time setup link is the credential"))],
)
def setup_form(
    request: Request,
    settings: SettingsDep,
    open_session: OpenSessionDep,
    token: str = "",
    lang: Lang = None,
) -> HTMLResponse:
    """The form that creates the first admin, while the setup link is valid and unused."""
    code = pick_lang(lang)
    token = token.strip()
    if not _link_usable(open_session, token, datetime.now(UTC)):
        return _setup_refused(request, code)
    return _setup_page(request, settings, code, token)


@router.post(
    "/setup",
    response_class=HTMLResponse,
    dependencies=[Depends(public("first run: the one-time setup link is the credential"))],
)
def setup(
    request: Request,
    settings: SettingsDep,
    limit: LimiterDep,
    open_session: OpenSessionDep,
    token: Annotated[str, Form()] = "",
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    password2: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
    lang: Annotated[str, Form()] = "",
) -> Response:
    """Create the first admin with the setup link, sign them in and open /admin (where the
    first-day checklist is)."""
    code = pick_lang(lang)
    t = catalog()[code]
    token, username = token.strip(), username.strip()
    if not _form_ok(request, csrf):
        if not _link_usable(open_session, token, datetime.now(UTC)):
            return _setup_refused(request, code)
        return _setup_page(
            request, settings, code, token, username=username, error=t["form_expired"], status=403
        )
    client = _client(request)
    wait = limit.attempt(client)
    if wait:
        response = _refused(request, code, "too_many_title", "too_many_body", status=429)
        response.headers["Retry-After"] = str(wait)
        return response
    if password != password2:
        return _setup_page(
            request, settings, code, token, username=username, error=t["setup_mismatch"], status=422
        )
    now = datetime.now(UTC)
    try:
        with open_session() as session:
            user = use_setup_link(
                session, secret=token, username=username, password=password, now=now
            )
            secret = start_session(session, user=user, now=now, lifetime=SESSION_LIFETIME)
    except InputError as exc:
        if exc.status == 403:
            return _setup_refused(request, code)
        if exc.field == "password" and exc.reason.startswith("at least"):
            error = t["setup_password_hint"]
        elif exc.field == "username":
            error = t["setup_username_bad"]
        else:
            error = exc.reason
        return _setup_page(
            request,
            settings,
            code,
            token,
            username=username,
            error=_say(error, MIN_PASSWORD),
            status=422,
        )
    limit.succeeded(client)
    redirect = _redirect(request, _landing(None, code, "admin"))
    _start_session(redirect, secret, secure=secure_cookies(settings))
    return redirect
