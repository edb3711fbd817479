"""Reports: the evening report (day) and the assessment (week, month) as JSON, CSV or xlsx, the
pages that show and print them, and the problems-and-plan note leads write per team and day.

Leads see their own teams (and no floor total); admins see everything. The routes are thin:
parse the period, call app/services/reports.py, hand the result to app/reports/ to present.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from app.api.deps import (
    ConnDep,
    EngineDep,
    LeadPrincipal,
    PrincipalLookupDep,
    SessionDep,
    SettingsDep,
    page_rule,
    team_allowed,
)
from app.api.rendering import PAGE_HEADERS, Lang, Token, plotly_version, refusal, templates
from app.api.types import Day
from app.config import Settings
from app.floor.targets import TARGET_METRICS
from app.labels import catalog, label, pick_lang
from app.live.deps import PrincipalLookup
from app.models import Team, table_of, utcnow
from app.reports import charts, page
from app.reports.files import filename, report_file
from app.reports.tables import report_tables
from app.services import reports
from app.services.errors import InputError
from app.services.reports import parse_day, parse_month, parse_week
from app.services.tokens import Principal

router = APIRouter(tags=["reports"])
KINDS = reports.KINDS
Format = Literal["json", "csv", "xlsx"]
FORMATS = ("json", "csv", "xlsx")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- building ----------------------------------------------------------------------------------


def build(
    conn: sa.Connection,
    settings: Settings,
    principal: Principal,
    *,
    kind: str,
    day: date | None,
    team: str | None,
    metric: str = "dials",
) -> dict[str, Any]:
    """The ``kind`` report as the principal may see it (403 for another lead's team)."""
    team = team_allowed(principal, (team or "").strip() or None)
    return reports.report(
        conn,
        settings,
        kind=kind,
        day=day,
        now=utcnow(),
        team=team,
        teams=principal.teams,
        metric=metric,
    )


def respond(report: dict[str, Any], fmt: str, lang: str, settings: Settings) -> Response:
    """The report as JSON, or as a CSV / xlsx download headed in ``lang``."""
    if fmt == "json":
        return JSONResponse(report)
    name = filename(report, fmt)
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_")
    headers = {
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''"
        + quote(name, safe=""),
        "Cache-Control": "no-store",
    }
    body = report_file(
        report,
        fmt,
        lang=lang,
        minor_digits=settings.currency_minor_digits,
        amber=settings.pace_amber,
        green=settings.pace_green,
    )
    media = "text/csv; charset=utf-8" if fmt == "csv" else XLSX
    return Response(body, media_type=media, headers=headers)


# --- the API -----------------------------------------------------------------------------------

FormatQ = Annotated[Format, Query(description="json (default), csv (UTF-8 with BOM) or xlsx")]
LangQ = Annotated[str | None, Query(description="Column headers: zh (default) or en")]
TeamQ = Annotated[str | None, Query(description="One team (default: every team you see)")]
MetricQ = Annotated[
    str, Query(description="The metric of the per-day attainment (heatmap): dials, talk_seconds…")
]


FILE_RESPONSES: dict[int | str, dict] = {
    200: {
        "description": "The report: JSON, or with ?format= a CSV or xlsx download",
        "content": {"text/csv": {}, XLSX: {}},
    }
}


@router.get(
    "/api/v1/reports/daily", summary="The evening report of a day", responses=FILE_RESPONSES
)
def daily_report(
    conn: ConnDep,
    settings: SettingsDep,
    principal: LeadPrincipal,
    day: Annotated[Day | None, Query(description="The day (default today)")] = None,
    team: TeamQ = None,
    format: FormatQ = "json",
    lang: LangQ = None,
) -> Response:
    report = build(conn, settings, principal, kind="daily", day=day, team=team)
    return respond(report, format, pick_lang(lang), settings)


@router.get("/api/v1/reports/weekly", summary="The week's assessment", responses=FILE_RESPONSES)
def weekly_report(
    conn: ConnDep,
    settings: SettingsDep,
    principal: LeadPrincipal,
    day: Annotated[Day | None, Query(description="Any day of the week (default today)")] = None,
    week: Annotated[str | None, Query(description="Or the ISO week, e.g. 2026-W48")] = None,
    team: TeamQ = None,
    metric: MetricQ = "dials",
    format: FormatQ = "json",
    lang: LangQ = None,
) -> Response:
    day = parse_week(week) or day
    report = build(conn, settings, principal, kind="weekly", day=day, team=team, metric=metric)
    return respond(report, format, pick_lang(lang), settings)


@router.get("/api/v1/reports/monthly", summary="The month's assessment", responses=FILE_RESPONSES)
def monthly_report(
    conn: ConnDep,
    settings: SettingsDep,
    principal: LeadPrincipal,
    day: Annotated[Day | None, Query(description="Any day of the month (default today)")] = None,
    month: Annotated[str | None, Query(description="Or the month, e.g. 2026-11")] = None,
    team: TeamQ = None,
    metric: MetricQ = "dials",
    format: FormatQ = "json",
    lang: LangQ = None,
) -> Response:
    day = parse_month(month) or day
    report = build(conn, settings, principal, kind="monthly", day=day, team=team, metric=metric)
    return respond(report, format, pick_lang(lang), settings)


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    day: Day
    team: Annotated[str, Field(min_length=1, max_length=100)]
    problems: Annotated[str, Field(max_length=4000, description="员工问题: what held reps back")]
    plan: Annotated[str, Field(max_length=4000, description="整改方案: what changes tomorrow")]


@router.put("/api/v1/reports/notes", summary="Write a team's problems-and-plan note for a day")
def save_note(body: NoteIn, session: SessionDep, principal: LeadPrincipal) -> dict:
    team_allowed(principal, body.team)
    return reports.save_note(
        session,
        day=body.day,
        team=body.team,
        problems=body.problems,
        plan=body.plan,
        by=principal.name,
        teams=principal.teams,
    )


# --- the pages ---------------------------------------------------------------------------------


def _team_names(conn: sa.Connection, principal: Principal) -> list[str]:
    table = table_of(Team)
    names = conn.execute(sa.select(table.c.name).order_by(table.c.id)).scalars()
    return [n for n in names if principal.sees_team(n)]


def _load(
    engine: sa.Engine,
    settings: Settings,
    principal: Principal,
    *,
    kind: str,
    day: date | None,
    team: str | None,
    metric: str,
) -> tuple[dict[str, Any], list[str]]:
    with engine.connect() as conn:
        report = build(conn, settings, principal, kind=kind, day=day, team=team, metric=metric)
        return report, _team_names(conn, principal)


async def _report_page(
    request: Request,
    kind: str,
    *,
    lookup: PrincipalLookup,
    settings: Settings,
    engine: sa.Engine,
    token: str | None,
    lang: str | None,
    team: str | None,
    day: str | None,
    week: str | None = None,
    month: str | None = None,
    metric: str | None = None,
    fmt: str | None = None,
) -> Response:
    """The page, or with ``fmt`` its download: pages take the credential they were opened with
    (a link's ``token``, or the session cookie), so the page's download links work for both."""
    code = pick_lang(lang)
    principal = await lookup(token=token)
    if principal is None:
        return refusal(request, code, forbidden=False)
    team = (team or "").strip() or None
    if not principal.allows("lead") or (team and not principal.sees_team(team)):
        return refusal(request, code, forbidden=True, principal=principal)
    try:
        if fmt not in (None, "", "html", *FORMATS):
            raise InputError("format", f"must be one of html, {', '.join(FORMATS)}")
        when = parse_week(week) or parse_month(month) or parse_day(day)
        report, teams = await run_in_threadpool(
            _load,
            engine,
            settings,
            principal,
            kind=kind,
            day=when,
            team=team,
            metric=(metric or "dials").strip(),
        )
    except InputError as exc:
        return _load_failed(request, code, exc)
    if fmt in FORMATS:
        return respond(report, fmt, code, settings)
    link_token = (token or "").strip() if principal.kind == "token" else ""
    return _render_report(
        request,
        kind,
        code,
        settings,
        principal,
        report=report,
        teams=teams,
        team=team,
        token=link_token,
    )


def _load_failed(request: Request, code: str, exc: InputError) -> HTMLResponse:
    """The page of a report that could not be read (a bad period or format), in plain words."""
    t = catalog()[code]
    context = {"lang": code, "t": t, "base": request.scope.get("root_path", ""), "login": ""}
    context |= {"title": t["load_failed"], "message": str(exc)}
    return templates.TemplateResponse(
        request, "error.html", context, status_code=exc.status, headers=PAGE_HEADERS
    )


def _links(
    base: str, kind: str, code: str, report: dict[str, Any], *, team: str | None, token: str
) -> dict[str, str]:
    """The page's links (the period before and after, its downloads, the other reports, the
    console), keeping its team, language, metric and the link token it was opened with."""
    keep = {"team": team or "", "lang": code if code == "en" else "", "token": token}
    if kind != "daily" and report["metric"] != "dials":
        keep["metric"] = report["metric"]

    def url(path: str, **params: str) -> str:
        query = {k: v for k, v in {**keep, **params}.items() if v}
        return f"{base}{path}" + ("?" + urlencode(query) if query else "")

    here = report.get("day") or report["first"]
    before, after = page.neighbours(report)
    page_url = f"/reports/{kind}"
    return {
        "prev": url(page_url, day=before),
        "next": url(page_url, day=after),
        "csv": url(page_url, day=here, format="csv"),
        "xlsx": url(page_url, day=here, format="xlsx"),
        "lead": url("/lead"),
        **{k: url(f"/reports/{k}", day=here) for k in KINDS},
    }


def _render_report(
    request: Request,
    kind: str,
    code: str,
    settings: Settings,
    principal: Principal,
    *,
    report: dict[str, Any],
    teams: list[str],
    team: str | None,
    token: str,
) -> HTMLResponse:
    """The report page itself: tables, charts and links for ``principal`` in language ``code``."""
    base = request.scope.get("root_path", "")
    tz = ZoneInfo(report["timezone"])
    final = page.is_final(report, settings.today())
    amber, green = settings.pace_amber, settings.pace_green
    digits = settings.currency_minor_digits
    return templates.TemplateResponse(
        request,
        "report.html",
        {
            "lang": code,
            "t": catalog()[code],
            "base": base,
            "kind": kind,
            "report": report,
            "tables": report_tables(report, code),
            "charts": page.charts_for(report, code, minor_digits=digits, amber=amber, green=green),
            "teams": teams,
            "team": team or "",
            "links": _links(base, kind, code, report, team=team, token=token),
            "token": token,
            "csrf": principal.csrf or "",
            "user": principal.name if principal.kind == "user" else "",
            "can_write": principal.allows("lead"),
            "metrics": TARGET_METRICS,
            "local": lambda iso: (
                datetime.fromisoformat(iso).astimezone(tz).strftime("%Y-%m-%d %H:%M")
            ),
            "final": final,
            "cell": lambda kind, v: page.cell(kind, v, digits),
            # Attainment is coloured once the period is over; until then it is still growing.
            "status": lambda v: charts.status(v, amber, green) if final else "",
            "label": lambda key, **kw: label(code, key, **kw),
            "plotly_version": plotly_version(),
        },
        headers=PAGE_HEADERS,
    )


PageTeam = Annotated[str | None, Query(description="One team")]
PageDay = Annotated[str | None, Query(description="A day of the period (YYYY-MM-DD)")]
PageFormat = Annotated[
    str | None, Query(alias="format", description="html (default), or csv, xlsx, json")
]


@router.api_route(
    "/reports/daily",
    methods=["GET", "HEAD"],
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[Depends(page_rule("lead"))],
)
async def daily_page(
    request: Request,
    lookup: PrincipalLookupDep,
    settings: SettingsDep,
    engine: EngineDep,
    token: Token = None,
    lang: Lang = None,
    team: PageTeam = None,
    day: PageDay = None,
    fmt: PageFormat = None,
) -> Response:
    """The evening report page: every rep's day, team notes, charts; prints on A4."""
    return await _report_page(
        request,
        "daily",
        lookup=lookup,
        settings=settings,
        engine=engine,
        token=token,
        lang=lang,
        team=team,
        day=day,
        fmt=fmt,
    )


@router.api_route(
    "/reports/weekly",
    methods=["GET", "HEAD"],
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[Depends(page_rule("lead"))],
)
async def weekly_page(
    request: Request,
    lookup: PrincipalLookupDep,
    settings: SettingsDep,
    engine: EngineDep,
    token: Token = None,
    lang: Lang = None,
    team: PageTeam = None,
    day: PageDay = None,
    week: Annotated[str | None, Query()] = None,
    metric: Annotated[str | None, Query()] = None,
    fmt: PageFormat = None,
) -> Response:
    """The week's assessment page: attainment heatmap, weekly invites, projection."""
    return await _report_page(
        request,
        "weekly",
        lookup=lookup,
        settings=settings,
        engine=engine,
        token=token,
        lang=lang,
        team=team,
        day=day,
        week=week,
        metric=metric,
        fmt=fmt,
    )


@router.api_route(
    "/reports/monthly",
    methods=["GET", "HEAD"],
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[Depends(page_rule("lead"))],
)
async def monthly_page(
    request: Request,
    lookup: PrincipalLookupDep,
    settings: SettingsDep,
    engine: EngineDep,
    token: Token = None,
    lang: Lang = None,
    team: PageTeam = None,
    day: PageDay = None,
    month: Annotated[str | None, Query()] = None,
    metric: Annotated[str | None, Query()] = None,
    fmt: PageFormat = None,
) -> Response:
    """The month's assessment page: month to date, projection, the review list."""
    return await _report_page(
        request,
        "monthly",
        lookup=lookup,
        settings=settings,
        engine=engine,
        token=token,
        lang=lang,
        team=team,
        day=day,
        month=month,
        metric=metric,
        fmt=fmt,
    )
