"""The report pages' charts, built as plotly figures in Python; the page draws their JSON with the
plotly.js this server bundles (no CDN). Sizes are fixed to fit an A4 page when printed.

Rep and team names are escaped before they reach a figure: plotly renders a little HTML in
labels (<a href>, <b>), and a name comes from whoever created the rep. Categories are rep codes,
shown as names, so two reps called 张伟 keep a bar each.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from app.labels import label

COLOURS = {"green": "#1a9850", "amber": "#f4a300", "red": "#d73027", "": "#9e9e9e"}
RED, AMBER, GREEN = COLOURS["red"], COLOURS["amber"], COLOURS["green"]
WIDTH = 1000  # px: A4 landscape's printable width at 96 dpi, less margins


def status(value: float | None, amber: float, green: float) -> str:
    """green / amber / red for an attainment or pace ratio; "" for none."""
    if value is None:
        return ""
    return "green" if value >= green else "amber" if value >= amber else "red"


def text(value: str) -> str:
    """A name as plotly shows it: as written, never as markup."""
    return html.escape(value, quote=False)


def _layout(title: str, height: int, **extra: Any) -> dict[str, Any]:
    return {
        "title": {"text": title, "x": 0, "font": {"size": 15}},
        "height": height,
        "width": WIDTH,
        "margin": {"l": 130, "r": 20, "t": 40, "b": 50},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "font": {"family": "Noto Sans CJK SC, WenQuanYi Micro Hei, sans-serif", "size": 11},
        **extra,
    }


def _rep_axis(reps: Sequence[Mapping[str, Any]], with_team: bool = False) -> dict[str, Any]:
    names = [text(f"{r['name']} · {r['team']}" if with_team else r["name"]) for r in reps]
    return {
        "type": "category",
        "tickmode": "array",
        "tickvals": [r["code"] for r in reps],
        "ticktext": names,
    }


def attainment_bars(
    rows: list[Mapping[str, Any]],
    metric: str,
    *,
    lang: str,
    title: str,
    amber: float = 0.8,
    green: float = 1.0,
) -> str | None:
    """A bar per rep of their attainment of ``metric`` (100 % line drawn), as figure JSON;
    None when nobody has that target."""
    import plotly.graph_objects as go

    shown = [r for r in rows if r.get("attainment", {}).get(metric) is not None]
    if not shown:
        return None
    values = [r["attainment"][metric] for r in shown]
    fig = go.Figure(
        go.Bar(
            x=[r["code"] for r in shown],
            y=values,
            customdata=[text(r["name"]) for r in shown],
            marker_color=[COLOURS[status(v, amber, green)] for v in values],
            text=[f"{v * 100:.0f}%" for v in values],
            textposition="outside",
            hovertemplate="%{customdata}: %{y:.1%}<extra></extra>",
        )
    )
    fig.add_hline(y=1, line_dash="dash", line_color="#555")
    fig.update_layout(
        **_layout(title, 320),
        yaxis={"tickformat": ".0%", "rangemode": "tozero", "gridcolor": "#eee"},
        xaxis={**_rep_axis(shown), "tickangle": -30},
        showlegend=False,
    )
    fig.update_layout(margin={"l": 50})
    return fig.to_json()


def hourly_chart(
    hours: list[Mapping[str, Any]], metric: str, *, lang: str, title: str
) -> str | None:
    """The floor's ``metric`` per hour as bars, as figure JSON; None with no hours."""
    import plotly.graph_objects as go

    if not hours:
        return None
    fig = go.Figure(
        go.Bar(
            x=[label(lang, "hour", h=h["hour"]) for h in hours],
            y=[h.get(metric, 0) for h in hours],
            marker_color="#3b6fb6",
            hovertemplate="%{x}: %{y}<extra></extra>",
        )
    )
    fig.update_layout(
        **_layout(title, 260), yaxis={"gridcolor": "#eee", "rangemode": "tozero"}, showlegend=False
    )
    fig.update_layout(margin={"l": 50})
    return fig.to_json()


def heatmap(report: Mapping[str, Any], *, lang: str, title: str) -> str | None:
    """Reps × days, each cell the day's attainment of ``report["metric"]`` (blank: no target or a
    day off), as figure JSON; None with no reps."""
    import plotly.graph_objects as go

    reps = report["reps"]
    if not reps:
        return None
    days = report["days"]
    z = [[_pct(r["daily"].get(d)) for d in days] for r in reps]
    x = [date.fromisoformat(d).strftime("%m-%d") for d in days]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=x,
            y=[r["code"] for r in reps],
            customdata=[[text(r["name"])] * len(days) for r in reps],
            zmin=0,
            zmax=120,
            colorscale=[[0, RED], [0.66, AMBER], [0.83, "#fee08b"], [1, GREEN]],
            colorbar={"ticksuffix": "%", "len": 0.9, "thickness": 12},
            text=[["" if v is None else f"{v:.0f}" for v in row] for row in z],
            texttemplate="%{text}",
            hovertemplate="%{customdata}<br>%{x}: %{z:.0f}%<extra></extra>",
            xgap=1,
            ygap=1,
        )
    )
    fig.update_layout(
        **_layout(title, max(220, 60 + 22 * len(reps))),
        yaxis={**_rep_axis(reps, with_team=True), "autorange": "reversed", "automargin": True},
        xaxis={"side": "top", "type": "category", "tickangle": -45 if len(days) > 10 else 0},
    )
    # Day labels sit on top, under the title: leave them room.
    fig.update_layout(margin={"t": 95 if len(days) > 10 else 70})
    return fig.to_json()


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def period_bars(
    report: Mapping[str, Any], metric: str, *, lang: str, title: str, minor_digits: int = 2
) -> str | None:
    """Per rep: ``metric`` to date against the period target, the projection beside it (money
    in major units, talk time in hours)."""
    import plotly.graph_objects as go

    reps = [r for r in report["reps"] if r["targets"].get(metric)]
    if not reps:
        return None
    unit = {"revenue": 10**minor_digits, "talk_seconds": 3600}.get(metric, 1)

    def scaled(v: float | None) -> float | None:
        return None if v is None else round(v / unit, 2)

    codes = [r["code"] for r in reps]
    fig = go.Figure()
    fig.add_bar(name=label(lang, "actual"), x=codes, y=[scaled(r[metric]) for r in reps])
    fig.add_bar(
        name=label(lang, "projection"),
        x=codes,
        y=[scaled(r["projection"].get(metric)) for r in reps],
        marker_color="#b7c9e6",
    )
    fig.add_scatter(
        name=label(lang, "target"),
        x=codes,
        y=[scaled(r["targets"][metric]) for r in reps],
        mode="markers",
        marker={"symbol": "line-ew-open", "size": 24, "color": "#222", "line": {"width": 3}},
    )
    fig.update_layout(
        **_layout(title, 320),
        barmode="group",
        yaxis={
            "gridcolor": "#eee",
            "rangemode": "tozero",
            "ticksuffix": " h" if metric == "talk_seconds" else "",
        },
        xaxis={**_rep_axis(reps), "tickangle": -30},
        legend={"orientation": "h", "y": 1.12, "x": 1, "xanchor": "right"},
    )
    fig.update_layout(margin={"l": 60})
    return fig.to_json()
