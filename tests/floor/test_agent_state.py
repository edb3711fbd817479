"""Time in state: interval accounting per local hour, exact in any arrival order."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from app.floor.agent_state import (
    STATES,
    StateEvent,
    event_order,
    insertion_deltas,
    neighbours,
    seconds_by_hour,
    totals_of,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)  # 22:00 in Shanghai: midnight inside the range

_events = st.lists(
    st.builds(
        StateEvent,
        at=st.integers(0, 4 * 3600).map(lambda s: START + timedelta(seconds=s)),
        source=st.sampled_from(["ami", "rest"]),
        key=st.text("abc", min_size=1, max_size=3),
        state=st.sampled_from(STATES),
        reason=st.sampled_from(["", "lunch", "自定义"]),
    ),
    max_size=12,
    unique_by=lambda e: (e.source, e.key),
)


def test_an_interval_is_cut_at_local_hours_and_midnight():
    got = seconds_by_hour(START + timedelta(minutes=50), START + timedelta(hours=2, minutes=5),
                          SHANGHAI)  # fmt: skip
    assert got == {
        (datetime(2026, 11, 26).date(), 22): 600,
        (datetime(2026, 11, 26).date(), 23): 3600,
        (datetime(2026, 11, 27).date(), 0): 300,
    }


@given(start=st.integers(0, 10**6), length=st.integers(0, 10**5))
def test_the_hours_of_an_interval_add_up_to_its_length(start, length):
    a = START + timedelta(seconds=start)
    assert sum(seconds_by_hour(a, a + timedelta(seconds=length), SHANGHAI).values()) == length


@given(events=_events, order=st.randoms())
def test_totals_kept_by_insertion_in_any_order_equal_a_rebuild(events, order):
    """Each event applied as it arrives (late ones split the interval they fall into) leaves
    the totals a rebuild from all the events gives."""
    arrived = list(events)
    order.shuffle(arrived)
    kept: dict = defaultdict(int)
    known: list[StateEvent] = []
    for e in arrived:
        before, after = neighbours(known, e)
        for cell, s in insertion_deltas(e, before, after, SHANGHAI).items():
            kept[cell] += s
        known = sorted([*known, e], key=event_order)
    assert {c: s for c, s in kept.items() if s} == totals_of(events, SHANGHAI)
