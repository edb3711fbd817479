"""Reports: the evening report (day) and the assessment (week, month) as JSON, CSV or xlsx, the
pages that show and print them, and the problems-and-plan note leads write per team and day.

Leads see their own teams (and no floor total); admins see everything. The routes are thin:
parse the period, call app/services/reports.py, hand the result to app/reports/ to present.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from app.api.deps import (
    ConnDep,
    LeadPrincipal,
    SessionDep,
    SettingsDep,
    page_rule,
    resolve_principal,
    team_allowed,
)
from app.api.pages import PAGE_HEADERS, _refusal, plotly_version, templates
from app.config import Settings
from app.floor.targets import TARGET_METRICS
from app.labels import catalog, label, pick_lang
from app.models import Team, utcnow
from app.reports import charts
from app.reports.files import filename, format_value, report_file
from app.reports.tables import report_tables
from app.services import reports
from app.services.errors import InputError
from app.services.reports import parse_day, parse_month, parse_week
from app.services.tokens import Principal

router = APIRouter(tags=["reports"])
KINDS = reports.KINDS
Format = Literal["json", "csv", "xlsx"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _check_metric(metric: str) -> str:
    if metric not in TARGET_METRICS:
        raise InputError("metric", f"must be one of {', '.join(TARGET_METRICS)}", 422)
    return metric


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
        metric=_check_metric(metric),
    )


def respond(report: dict[str, Any], fmt: str, lang: str, minor_digits: int) -> Response:
    """The report as JSON, or as a CSV / xlsx download headed in ``lang``."""
    if fmt == "json":
        return JSONResponse(report)
    name = filename(report, fmt)
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_")
    headers = {
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''"
        + quote(name),
        "Cache-Control": "no-store",
    }
    body = report_file(report, fmt, lang=lang, minor_digits=minor_digits)
    media = "text/csv; charset=utf-8" if fmt == "csv" else XLSX
    return Response(body, media_type=media, headers=headers)


# --- the API -----------------------------------------------------------------------------------

FormatQ = Annotated[Format, Query(description="json (default), csv (UTF-8 with BOM) or xlsx")]
LangQ = Annotated[str | None, Query(description="Column headers: zh (default) or en")]
TeamQ = Annotated[str | None, Query(description="One team (default: every team you see)")]
MetricQ = Annotated[
    str, Query(description="The metric of the per-day attainment (heatmap): dials, talk_seconds…")
]


@router.get("/api/v1/reports/daily", summary="The evening report of a day")
def daily_report(
    conn: ConnDep,
    settings: SettingsDep,
    principal: LeadPrincipal,
    day: Annotated[date | None, Query(description="The day (default today)")] = None,
    team: TeamQ = None,
    format: FormatQ = "json",
    lang: LangQ = None,
) -> Response:
    report = build(conn, settings, principal, kind="daily", day=day, team=team)
    return respond(report, format, pick_lang(lang), settings.currency_minor_digits)


@router.get("/api/v1/reports/weekly", summary="The week's assessment")
def weekly_report(
    conn: ConnDep,
    settings: SettingsDep,
    principal: LeadPrincipal,
    day: Annotated[date | None, Query(description="Any day of the week (default today)")] = None,
    week: Annotated[str | None, Query(description="Or the ISO week, e.g. 2026-W48")] = None,
    team: TeamQ = None,
    metric: MetricQ = "dials",
    format: FormatQ = "json",
    lang: LangQ = None,
) -> Response:
    day = parse_week(week) or day
    report = build(conn, settings, principal, kind="weekly", day=day, team=team, metric=metric)
    return respond(report, format, pick_lang(lang), settings.currency_minor_digits)


@router.get("/api/v1/reports/monthly", summary="The month's assessment")
def monthly_report(
    conn: ConnDep,
    settings: SettingsDep,
    principal: LeadPrincipal,
    day: Annotated[date | None, Query(description="Any day of the month (default today)")] = None,
    month: Annotated[str | None, Query(description="Or the month, e.g. 2026-11")] = None,
    team: TeamQ = None,
    metric: MetricQ = "dials",
    format: FormatQ = "json",
    lang: LangQ = None,
) -> Response:
    day = parse_month(month) or day
    report = build(conn, settings, principal, kind="monthly", day=day, team=team, metric=metric)
    return respond(report, format, pick_lang(lang), settings.currency_minor_digits)


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    day: date
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


def status_of(value: Any, settings: Settings) -> str:
    if value is None:
        return ""
    return (
        "green"
        if value >= settings.pace_green
        else "amber"
        if value >= settings.pace_amber
        else "red"
    )


def _team_names(conn: sa.Connection, principal: Principal) -> list[str]:
    table = Team.__table__
    names = conn.execute(sa.select(table.c.name).order_by(table.c.id)).scalars()
    return [n for n in names if principal.sees_team(n)]


def _charts(report: dict[str, Any], lang: str, settings: Settings) -> list[tuple[str, str]]:
    """(id, figure JSON) of the page's charts, in page order."""
    figs: dict[str, str | None] = {}
    if report["kind"] == "daily":
        metric = (report["target_metrics"] or ["dials"])[0]
        figs["attainment"] = charts.attainment_bars(
            report["reps"],
            metric,
            lang=lang,
            title=label(lang, "chart_attainment", metric=label(lang, metric)),
            amber=settings.pace_amber,
            green=settings.pace_green,
        )
        figs["hourly"] = charts.hourly_chart(
            (report.get("floor") or {}).get("hours") or [],
            "dials",
            lang=lang,
            title=label(lang, "chart_hourly", metric=label(lang, "dials")),
        )
    else:
        name = label(lang, report["metric"])
        figs["heatmap"] = charts.heatmap(
            report, lang=lang, title=label(lang, "chart_heatmap", metric=name)
        )
        figs["period"] = charts.period_bars(
            report,
            report["metric"],
            lang=lang,
            title=label(lang, "chart_period", metric=name),
            minor_digits=settings.currency_minor_digits,
        )
    return [(key, fig) for key, fig in figs.items() if fig]


def _neighbours(kind: str, report: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """The query (period part) of the previous and the next report."""
    if kind == "daily":
        d = date.fromisoformat(report["day"])
        return {"day": (d - timedelta(days=1)).isoformat()}, {
            "day": (d + timedelta(days=1)).isoformat()
        }
    first, last = date.fromisoformat(report["first"]), date.fromisoformat(report["last"])
    return {"day": (first - timedelta(days=1)).isoformat()}, {
        "day": (last + timedelta(days=1)).isoformat()
    }


def _page_data(
    engine: sa.Engine,
    settings: Settings,
    principal: Principal,
    *,
    kind: str,
    day: date | None,
    team: str | None,
    metric: str,
    lang: str,
) -> dict[str, Any]:
    with engine.connect() as conn:
        report = build(conn, settings, principal, kind=kind, day=day, team=team, metric=metric)
        teams = _team_names(conn, principal)
    return {
        "report": report,
        "tables": report_tables(report, lang),
        "charts": _charts(report, lang, settings),
        "teams": teams,
    }


async def _report_page(
    request: Request,
    kind: str,
    *,
    token: str | None,
    lang: str | None,
    team: str | None,
    day: str | None,
    week: str | None = None,
    month: str | None = None,
    metric: str | None = None,
) -> HTMLResponse:
    code = pick_lang(lang)
    principal = await resolve_principal(request, token=token)
    if principal is None:
        return _refusal(request, code, forbidden=False)
    team = (team or "").strip() or None
    if not principal.allows("lead") or (team and not principal.sees_team(team)):
        return _refusal(request, code, forbidden=True)
    settings: Settings = request.app.state.settings
    t = catalog()[code]
    base = request.scope.get("root_path", "")
    try:
        when = parse_week(week) or parse_month(month) or parse_day(day)
        data = await run_in_threadpool(
            _page_data,
            request.app.state.engine,
            settings,
            principal,
            kind=kind,
            day=when,
            team=team,
            metric=_check_metric((metric or "dials").strip()),
            lang=code,
        )
    except InputError as exc:
        return templates.TemplateResponse(
            request,
            "error.html",
            {
                "lang": code,
                "t": t,
                "base": base,
                "title": t["load_failed"],
                "message": str(exc),
                "login": "",
            },
            status_code=exc.status,
            headers=PAGE_HEADERS,
        )
    report = data["report"]
    token = (token or "").strip() if principal.kind == "token" else ""
    keep = {"team": team or "", "lang": code if code == "en" else "", "token": token}
    if kind != "daily" and report["metric"] != "dials":
        keep["metric"] = report["metric"]

    def url(path: str, **params: str) -> str:
        query = {k: v for k, v in {**keep, **params}.items() if v}
        return f"{base}{path}" + ("?" + urlencode(query) if query else "")

    here = {"day": report.get("day") or report["first"]}
    prev, nxt = _neighbours(kind, report)
    api = f"/api/v1/reports/{kind}"
    links = {
        "prev": url(f"/reports/{kind}", **prev),
        "next": url(f"/reports/{kind}", **nxt),
        "csv": url(api, **here, format="csv"),
        "xlsx": url(api, **here, format="xlsx"),
        "lead": url("/lead"),
        **{k: url(f"/reports/{k}", **here) for k in KINDS},
    }
    return templates.TemplateResponse(
        request,
        "report.html",
        {
            "lang": code,
            "t": t,
            "base": base,
            "kind": kind,
            "report": report,
            "tables": data["tables"],
            "charts": data["charts"],
            "teams": data["teams"],
            "team": team or "",
            "links": links,
            "token": token,
            "csrf": principal.csrf or "",
            "user": principal.name if principal.kind == "user" else "",
            "can_write": principal.allows("lead"),
            "metrics": TARGET_METRICS,
            "cell": lambda kind, v: format_value(
                kind, v, settings.currency_minor_digits, page=True
            ),
            "status": lambda v: status_of(v, settings),
            "label": lambda key, **kw: label(code, key, **kw),
            "plotly_version": plotly_version(),
        },
        headers=PAGE_HEADERS,
    )


PageToken = Annotated[str | None, Query(description="An API token (lead or admin)")]
PageLang = Annotated[str | None, Query(description="zh (default) or en")]
PageTeam = Annotated[str | None, Query(description="One team")]
PageDay = Annotated[str | None, Query(description="A day of the period (YYYY-MM-DD)")]


@router.api_route(
    "/reports/daily",
    methods=["GET", "HEAD"],
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[Depends(page_rule("lead"))],
)
async def daily_page(
    request: Request,
    token: PageToken = None,
    lang: PageLang = None,
    team: PageTeam = None,
    day: PageDay = None,
) -> HTMLResponse:
    """The evening report page: every rep's day, team notes, charts; prints on A4."""
    return await _report_page(request, "daily", token=token, lang=lang, team=team, day=day)


@router.api_route(
    "/reports/weekly",
    methods=["GET", "HEAD"],
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[Depends(page_rule("lead"))],
)
async def weekly_page(
    request: Request,
    token: PageToken = None,
    lang: PageLang = None,
    team: PageTeam = None,
    day: PageDay = None,
    week: Annotated[str | None, Query()] = None,
    metric: Annotated[str | None, Query()] = None,
) -> HTMLResponse:
    """The week's assessment page: attainment heatmap, weekly invites, projection."""
    return await _report_page(
        request, "weekly", token=token, lang=lang, team=team, day=day, week=week, metric=metric
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
    token: PageToken = None,
    lang: PageLang = None,
    team: PageTeam = None,
    day: PageDay = None,
    month: Annotated[str | None, Query()] = None,
    metric: Annotated[str | None, Query()] = None,
) -> HTMLResponse:
    """The month's assessment page: month to date, projection, the review list."""
    return await _report_page(
        request, "monthly", token=token, lang=lang, team=team, day=day, month=month, metric=metric
    )
