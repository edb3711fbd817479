"""A report as one table: typed columns headed in the reader's language, one row per rep, team
subtotals and the floor total. The CSV and the xlsx are written from the same table, so they
agree column for column."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from app.labels import label

#: How a column's values are typed: text, a count, seconds shown as h:mm:ss, seconds shown as
#: hh:mm (agent time), a ratio shown as a percentage, money in minor units, a plain number with
#: one decimal.
COLUMN_KINDS = ("text", "int", "seconds", "duration", "rate", "money", "number")


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    kind: str
    #: An attainment-like column: the xlsx colours it like the page's heatmap.
    scale: bool = False


@dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[Column, ...]
    rows: tuple[dict[str, Any], ...]
    #: Indexes of the subtotal and total rows (written bold).
    totals: frozenset[int] = frozenset()


COUNTS = (
    ("dials", "int"),
    ("connects", "int"),
    ("contact_rate", "rate"),
    ("talk_seconds", "seconds"),
    ("avg_talk_per_dial", "seconds"),
    ("orders", "int"),
    ("success_rate", "rate"),
    ("revenue", "money"),
    ("avg_order_value", "money"),
    ("invites", "int"),
    ("leads_dialled", "int"),
    ("leads_connected", "int"),
    ("inbound_calls", "int"),
    ("inbound_connects", "int"),
)
TARGET_KIND = {"talk_seconds": "seconds", "revenue": "money"}


def _base_columns(lang: str) -> list[Column]:
    return [
        Column("code", label(lang, "code"), "text"),
        Column("name", label(lang, "name"), "text"),
        Column("team", label(lang, "team"), "text"),
        *(Column(k, label(lang, k), kind) for k, kind in COUNTS),
    ]


def _target_columns(lang: str, metrics: Sequence[str], projection: bool) -> list[Column]:
    out = []
    for m in metrics:
        name = label(lang, m)
        kind = TARGET_KIND.get(m, "int")
        out.append(Column(f"target.{m}", label(lang, "target_of", metric=name), kind))
        out.append(
            Column(f"attainment.{m}", label(lang, "attainment_of", metric=name), "rate", True)
        )
        if projection:
            out.append(Column(f"projection.{m}", label(lang, "projection_of", metric=name), kind))
    return out


def _flat(row: Mapping[str, Any], metrics: Sequence[str], projection: bool) -> dict[str, Any]:
    out = {k: row.get(k) for k, _ in COUNTS}
    for m in metrics:
        out[f"target.{m}"] = row.get("targets", {}).get(m)
        out[f"attainment.{m}"] = row.get("attainment", {}).get(m)
        if projection:
            out[f"projection.{m}"] = (row.get("projection") or {}).get(m)
    return out


def has_agent_time(report: Mapping[str, Any]) -> bool:
    """Whether any rep, team or floor row of ``report`` has agent time: without, a report (its
    page and files alike) has no agent-time columns rather than columns of blanks."""
    rows = [*report["reps"], *report["teams"], report.get("floor") or {}]
    return any(row.get("agent_time") for row in rows)


def _agent_columns(report: Mapping[str, Any], lang: str) -> list[Column]:
    """Logged-in time, pause time, a pause column per reason shown, occupancy; none at all when
    the report has no agent time."""
    if not has_agent_time(report):
        return []
    return [
        Column("agent.logged_in", label(lang, "logged_in_time"), "duration"),
        Column("agent.paused", label(lang, "pause_time"), "duration"),
        *(
            Column(f"agent.pause.{r['code']}", label(lang, "pause_of", reason=r[lang]), "duration")
            for r in report.get("pause_reasons", [])
        ),
        Column("agent.occupancy", label(lang, "occupancy"), "rate"),
    ]


def agent_cells(time: Mapping[str, Any] | None, reasons: Sequence[str]) -> dict[str, Any]:
    """One row's agent-time cells (none for a row without agent time: its cells read blank)."""
    if not time:
        return {}
    return {
        "agent.logged_in": time["logged_in_seconds"],
        "agent.paused": time["paused_seconds"],
        **{f"agent.pause.{c}": time["paused_by_reason"].get(c, 0) for c in reasons},
        "agent.occupancy": time["occupancy"],
    }


def alert_text(alerts: Sequence[Mapping[str, Any]], lang: str, tz: ZoneInfo) -> str:
    """The day's alerts about a rep in one cell: time, kind, metric, and who did what."""
    parts = []
    for a in alerts:
        at = datetime.fromisoformat(a["raised_at"]).astimezone(tz).strftime("%H:%M")
        what = label(lang, f"alert_{a['kind']}")
        if a.get("metric"):
            what += f" ({label(lang, a['metric'])})"
        if a.get("note"):
            what += f": {a['acknowledged_by']} — {a['note']}"
        parts.append(f"{at} {what}")
    return "; ".join(parts)


def _total_row(
    lang: str, row: Mapping[str, Any], metrics: Sequence[str], projection: bool, team: str | None
) -> dict[str, Any]:
    """A team's subtotal row (``team``) or the floor's total row (None)."""
    name = label(lang, "subtotal", team=team) if team else label(lang, "floor_total")
    return {"code": "", "name": name, "team": team or "", **_flat(row, metrics, projection)}


def _with_totals(
    report: Mapping[str, Any],
    lang: str,
    rep_row: Any,
    team_extra: Any,
    floor_extra: Any,
    *,
    projection: bool,
) -> tuple[list[dict[str, Any]], frozenset[int]]:
    """Rows: each team's reps, then its subtotal; the floor's total last (when there is one).
    Every row carries its agent-time cells."""
    metrics = report["target_metrics"]
    reasons = [r["code"] for r in report.get("pause_reasons", [])]

    def agent(row: Mapping[str, Any]) -> dict[str, Any]:
        return agent_cells(row.get("agent_time"), reasons)

    rows: list[dict[str, Any]] = []
    totals: set[int] = set()
    for team in report["teams"]:
        rows.extend({**rep_row(r), **agent(r)} for r in report["reps"] if r["team"] == team["name"])
        totals.add(len(rows))
        subtotal = _total_row(lang, team, metrics, projection, team["name"])
        rows.append({**subtotal, **team_extra(team), **agent(team)})
    if report.get("floor"):
        totals.add(len(rows))
        floor = report["floor"]
        total = _total_row(lang, floor, metrics, projection, None)
        rows.append({**total, **floor_extra(floor), **agent(floor)})
    return rows, frozenset(totals)


def daily_table(report: Mapping[str, Any], lang: str) -> Table:
    """The evening report: reps by team, each team's subtotal (with its problems-and-plan note)
    after its reps, the floor's total."""
    metrics = report["target_metrics"]
    tz = ZoneInfo(report["timezone"])
    columns = [
        *_base_columns(lang),
        *_target_columns(lang, metrics, projection=False),
        *_agent_columns(report, lang),
        Column("hours_behind", label(lang, "hours_behind"), "int"),
        Column("alerts_raised", label(lang, "alerts_raised"), "int"),
        Column("alert_notes", label(lang, "alert_notes"), "text"),
        Column("problems", label(lang, "problems"), "text"),
        Column("plan", label(lang, "plan"), "text"),
    ]

    def rep_row(rep: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "code": rep["code"],
            "name": rep["name"],
            "team": rep["team"],
            **_flat(rep, metrics, False),
            "hours_behind": rep["hours_behind"],
            "alerts_raised": rep["alerts_raised"],
            "alert_notes": alert_text(rep["alerts"], lang, tz),
        }

    def team_extra(team: Mapping[str, Any]) -> dict[str, Any]:
        note = team.get("note") or {}
        return {
            "hours_behind": team["hours_behind"],
            "alerts_raised": team["alerts_raised"],
            "problems": note.get("problems", ""),
            "plan": note.get("plan", ""),
        }

    def floor_extra(floor: Mapping[str, Any]) -> dict[str, Any]:
        return {"hours_behind": floor["hours_behind"], "alerts_raised": floor["alerts_raised"]}

    rows, totals = _with_totals(report, lang, rep_row, team_extra, floor_extra, projection=False)
    title = f"{label(lang, 'report')} {report['day']}"
    return Table(title, tuple(columns), tuple(rows), totals)


def notes_table(report: Mapping[str, Any], lang: str) -> Table:
    """The daily report's problems-and-plan notes, one row per team."""
    columns = (
        Column("team", label(lang, "team"), "text"),
        Column("problems", label(lang, "problems"), "text"),
        Column("plan", label(lang, "plan"), "text"),
        Column("updated_by", label(lang, "note_updated_by"), "text"),
    )
    rows = tuple(
        {
            "team": t["name"],
            "problems": (t.get("note") or {}).get("problems", ""),
            "plan": (t.get("note") or {}).get("plan", ""),
            "updated_by": (t.get("note") or {}).get("updated_by", ""),
        }
        for t in report["teams"]
    )
    return Table(label(lang, "note_title"), columns, rows)


def period_table(report: Mapping[str, Any], lang: str) -> Table:
    """The week's or month's assessment: period totals, targets, attainment and projection,
    weekly invites, the review streak, then each day's attainment of ``report["metric"]``."""
    metrics = report["target_metrics"]
    weeks = [w["week"] for w in (report["reps"][0]["invites_by_week"] if report["reps"] else [])]
    metric_name = label(lang, report["metric"])
    columns = [
        *_base_columns(lang),
        *_target_columns(lang, metrics, projection=True),
        *_agent_columns(report, lang),
        *(Column(f"invites.{w}", label(lang, "invites_of_week", week=w), "int") for w in weeks),
        Column("invites_target", label(lang, "invites_week_target"), "int"),
        Column("review_streak", label(lang, "months_under"), "int"),
        Column("review_flag", label(lang, "review"), "text"),
        *(
            Column(
                f"day.{d}",
                label(lang, "attainment_on", day=date.fromisoformat(d).strftime("%m-%d"))
                + f" {metric_name}",
                "rate",
                True,
            )
            for d in report["days"]
        ),
    ]

    def rep_row(rep: Mapping[str, Any]) -> dict[str, Any]:
        weekly = {f"invites.{w['week']}": w["invites"] for w in rep["invites_by_week"]}
        targets = [w["target"] for w in rep["invites_by_week"] if w["target"] is not None]
        review = rep["review"]
        return {
            "code": rep["code"],
            "name": rep["name"],
            "team": rep["team"],
            **_flat(rep, metrics, True),
            **weekly,
            "invites_target": targets[-1] if targets else None,
            "review_streak": review["streak"],
            "review_flag": label(lang, "review_flag", n=review["streak"])
            if review["flagged"]
            else "",
            **{f"day.{d}": v for d, v in rep["daily"].items()},
        }

    def nothing(_: Mapping[str, Any]) -> dict[str, Any]:
        return {}

    rows, totals = _with_totals(report, lang, rep_row, nothing, nothing, projection=True)
    key = "report_weekly" if report["period"] == "week" else "report_monthly"
    title = f"{label(lang, key)} {report['label']}"
    return Table(title, tuple(columns), tuple(rows), totals)


def report_tables(report: Mapping[str, Any], lang: str) -> list[Table]:
    """The report's tables in file order: the main one first (the CSV), then the daily notes."""
    if report["kind"] == "daily":
        return [daily_table(report, lang), notes_table(report, lang)]
    return [period_table(report, lang)]
