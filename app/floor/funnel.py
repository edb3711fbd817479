"""The seed's two funnel identities, team medians, and which factors hold a rep back. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from statistics import median
from typing import Any

#: The multiplicative factors of the seed's two identities, in funnel order:
#:   leads × contact_rate = connected × turnover     = dials  × avg_talk_per_dial = talk_seconds
#:   leads × contact_rate = connected × success_rate = orders × avg_order_value   = revenue
#: For every one of them higher is better (turnover reads as persistence on a list). The success
#: rate is measured on calls, not leads: orders closed on outbound connects ÷ outbound connects
#: (at most 100 %); orders ÷ connected leads went past 100 % with sales on inbound calls or on
#: calls without a customer, so the second identity holds only where every sale is such a call.
FACTORS = (
    "leads_dialled",
    "contact_rate",
    "turnover",
    "avg_talk_per_dial",
    "success_rate",
    "avg_order_value",
)
#: Rates are shown as percent, so they keep 4 decimals; the other ratios keep 1.
RATES = frozenset({"contact_rate", "success_rate"})

NAMES = {
    "leads_dialled": {"en": "leads dialled", "zh": "名单"},
    "contact_rate": {"en": "contact rate", "zh": "接触率"},
    "turnover": {"en": "turnover", "zh": "周转次数"},
    "avg_talk_per_dial": {"en": "avg talk per dial", "zh": "平均通时"},
    "success_rate": {"en": "success rate", "zh": "接触成功率"},
    "avg_order_value": {"en": "avg order value", "zh": "客单价"},
}


def _round(factor: str, value: float | None) -> float | None:
    if value is None:
        return None
    return round(value, 4 if factor in RATES else 1)


def _ratio(factor: str, num: int, den: int) -> float | None:
    return _round(factor, num / den) if den else None


def funnel(totals: Mapping[str, int]) -> dict[str, float | int | None]:
    """The seed's two identities for one rep or team from its totals (keys of METRICS).

    Missing metrics count as 0; a ratio whose denominator is 0 is None.
    """
    leads, connected, dials, talk, orders, revenue, connects, closed = (
        int(totals.get(k, 0))
        for k in (
            "leads_dialled",
            "leads_connected",
            "dials",
            "talk_seconds",
            "orders",
            "revenue",
            "connects",
            "connect_orders",
        )
    )
    return {
        "leads_dialled": leads,
        "contact_rate": _ratio("contact_rate", connected, leads),
        "connected_leads": connected,
        "turnover": _ratio("turnover", dials, connected),
        "dials": dials,
        "avg_talk_per_dial": _ratio("avg_talk_per_dial", talk, dials),
        "talk_seconds": talk,
        "success_rate": _ratio("success_rate", closed, connects),
        "orders": orders,
        "avg_order_value": _ratio("avg_order_value", revenue, orders),
        "revenue": revenue,
    }


def medians(funnels: Sequence[Mapping[str, Any]]) -> dict[str, float | None]:
    """Per factor in FACTORS, the median over the funnels where it is not None (None if none is)."""
    out: dict[str, float | None] = {}
    for factor in FACTORS:
        values = [f[factor] for f in funnels if f.get(factor) is not None]
        out[factor] = _round(factor, float(median(values))) if values else None
    return out


def _pair(rep: float, team: float, scale: float, decimals: int) -> tuple[str, str]:
    """Both values at `decimals`, or up to 2 more until they differ and no non-zero one reads 0."""
    # A 0.4 % vs 0.6 % success rate must not read "0 % vs team 1 %", nor 4 vs 4.5 "4 vs team 4".
    for d in range(decimals, decimals + 3):
        a, b = f"{rep * scale:.{d}f}", f"{team * scale:.{d}f}"
        if a != b and (rep == 0 or float(a) != 0) and (team == 0 or float(b) != 0):
            break
    return a, b


def _names(factor: str, renamed: Sequence[tuple[str, str, str]]) -> tuple[str, str]:
    """(en, zh): the floor's own names of ``factor`` if it renamed it, else ours."""
    for key, zh, en in renamed:
        if key == factor:
            return en, zh
    return NAMES[factor]["en"], NAMES[factor]["zh"]


def _texts(
    factor: str, rep: float, team: float, minor_digits: int, renamed: Sequence[tuple[str, str, str]]
) -> dict[str, str]:
    en, zh = _names(factor, renamed)
    if factor in RATES:
        a, b = _pair(rep, team, 100, 0)
        return {"en": f"{en} {a} % vs team {b} %", "zh": f"{zh} {a}% vs 组内 {b}%"}
    if factor == "avg_talk_per_dial":
        a, b = _pair(rep, team, 1, 0)
        return {"en": f"{en} {a} s vs team {b} s", "zh": f"{zh} {a}秒 vs 组内 {b}秒"}
    if factor == "turnover":
        a, b = _pair(rep, team, 1, 1)
        return {
            "en": f"{en} {a} vs team {b} dials per connected lead",
            "zh": f"{zh} {a} vs 组内 {b}",
        }
    if factor == "avg_order_value":
        a, b = _pair(rep, team, 10**-minor_digits, minor_digits)
    else:  # leads_dialled
        a, b = _pair(rep, team, 1, 0)
    return {"en": f"{en} {a} vs team {b}", "zh": f"{zh} {a} vs 组内 {b}"}


def diagnose(
    rep: Mapping[str, Any],
    team_medians: Mapping[str, Any],
    *,
    limit: int = 2,
    below: float = 0.9,
    minor_digits: int = 2,
    names: Sequence[tuple[str, str, str]] = (),
) -> list[dict[str, Any]]:
    """The factors most below the team median (value < below × median), worst ratio first, ≤ limit.

    Factors where the rep's value or the median is None, or the median is not positive, are
    skipped; equal ratios keep funnel order. `minor_digits` scales order value to major units;
    `names` ((factor, zh, en), …: a floor's own labels) renames factors in the texts.
    """
    found: list[tuple[float, int, dict[str, Any]]] = []
    for i, factor in enumerate(FACTORS):
        value, team = rep.get(factor), team_medians.get(factor)
        # A zero median has no rep below it, and a ratio to it would divide by zero.
        if value is None or team is None or team <= 0 or not value < below * team:
            continue
        ratio = value / team
        item = {
            "factor": factor,
            "rep": value,
            "team": team,
            "ratio": round(ratio, 3),
            "text": _texts(factor, value, team, minor_digits, names),
        }
        found.append((ratio, i, item))
    found.sort(key=lambda t: (t[0], t[1]))
    return [item for _, _, item in found[: max(limit, 0)]]
