"""What the report page shows beside the report itself: its charts, the neighbouring periods,
whether its figures are final, and how a cell reads. Pure: the router adds URLs and renders."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from app.labels import label
from app.reports import charts
from app.reports.files import format_value


def charts_for(
    report: Mapping[str, Any], lang: str, *, minor_digits: int, amber: float, green: float
) -> list[tuple[str, str]]:
    """(id, figure JSON) of the page's charts, in page order."""
    figs: dict[str, str | None] = {}
    if report["kind"] == "daily":
        metric = (report["target_metrics"] or ["dials"])[0]
        figs["attainment"] = charts.attainment_bars(
            report["reps"],
            metric,
            lang=lang,
            title=label(lang, "chart_attainment", metric=label(lang, metric)),
            amber=amber,
            green=green,
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
            minor_digits=minor_digits,
        )
    return [(key, fig) for key, fig in figs.items() if fig]


def neighbours(report: Mapping[str, Any]) -> tuple[str, str]:
    """A day of the previous and of the next report (ISO dates)."""
    if report["kind"] == "daily":
        first = last = date.fromisoformat(report["day"])
    else:
        first, last = date.fromisoformat(report["first"]), date.fromisoformat(report["last"])
    return (first - timedelta(days=1)).isoformat(), (last + timedelta(days=1)).isoformat()


def is_final(report: Mapping[str, Any], today: date) -> bool:
    """The day or period is over: attainment is the outcome, not a figure still growing."""
    last = report["day"] if report["kind"] == "daily" else report["last"]
    return date.fromisoformat(last) < today


def cell(kind: str, value: Any, minor_digits: int) -> str:
    """How a typed value reads on the page."""
    return format_value(kind, value, minor_digits, page=True)
