"""What one call adds to a rep's hourly totals. Pure: the definition every figure rests on."""

from __future__ import annotations

from typing import Any

#: The per-call metrics, in the order :func:`contribution` returns them. Distinct-lead counts
#: (leads_dialled, leads_connected) are per customer and day, so they are kept apart.
CALL_METRICS = ("dials", "connects", "talk_seconds", "orders", "invites", "revenue")
#: Every figure an hourly total cell holds.
METRICS = (*CALL_METRICS, "leads_dialled", "leads_connected")


def contribution(call: dict[str, Any]) -> tuple[int, int, int, int, int, int]:
    """(dials, connects, talk_seconds, orders, invites, revenue) that one stored call counts for.

    Every call is a dial; a connect is disposition ``answered``; talk counts only on a connect
    (an IVR that picked up an unanswered leg is not conversation); revenue only on a sale.
    """
    connected = call["disposition"] == "answered"
    sale = call["outcome"] == "sale"
    return (
        1,
        1 if connected else 0,
        call["talk_seconds"] if connected else 0,
        1 if sale else 0,
        1 if call["outcome"] == "invite" else 0,
        call["order_value"] if sale else 0,
    )
