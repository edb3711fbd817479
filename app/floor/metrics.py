"""What one call adds to a rep's hourly totals. Pure: the definition every figure rests on."""

from __future__ import annotations

from typing import Any

#: The per-call metrics, in the order :func:`contribution` returns them. Distinct-lead counts
#: (leads_dialled, leads_connected) are per customer and day, so they are kept apart.
CALL_METRICS = (
    "dials",
    "connects",
    "talk_seconds",
    "orders",
    "invites",
    "revenue",
    "inbound_calls",
    "inbound_connects",
    "connect_orders",
)
#: Every figure an hourly total cell holds.
METRICS = (*CALL_METRICS, "leads_dialled", "leads_connected")

Contribution = tuple[int, int, int, int, int, int, int, int, int]


def contribution(call: dict[str, Any]) -> Contribution:
    """What one stored call counts for, in :data:`CALL_METRICS` order.

    通次 is calls made: ``dials`` and ``connects`` count outbound calls only; an inbound call
    counts in ``inbound_calls`` (and ``inbound_connects`` when answered). 通时 is time on the
    phone with customers: talk counts on a connect in either direction (an IVR that picked up an
    unanswered leg is no conversation). An internal call (extension to extension) is kept but
    counts no call and no talk. Orders, invites and revenue are a person's statement of an
    outcome and count whatever the direction; revenue only on a sale. ``connect_orders`` counts
    the outbound connects that closed an order: the success rate's numerator, so that rate is
    connect_orders ÷ connects, at most 100 % by construction.
    """
    connected = call["disposition"] == "answered"
    direction = call["direction"]
    outbound, inbound = direction == "outbound", direction == "inbound"
    sale = call["outcome"] == "sale"
    return (
        1 if outbound else 0,
        1 if outbound and connected else 0,
        call["talk_seconds"] if connected and (outbound or inbound) else 0,
        1 if sale else 0,
        1 if call["outcome"] == "invite" else 0,
        call["order_value"] if sale else 0,
        1 if inbound else 0,
        1 if inbound and connected else 0,
        1 if sale and outbound and connected else 0,
    )


def counts_as_lead(call: dict[str, Any]) -> bool:
    """Whether a call counts toward the distinct leads dialled/connected: an outbound call to a
    known customer (an inbound caller is not a lead the rep dialled)."""
    return call["direction"] == "outbound" and bool(call.get("customer_key"))
