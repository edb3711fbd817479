"""Time in state: interval accounting per local hour, exact in any arrival order."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.floor import agent_state
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


# --- a view's rows: presence, counts, one rep's change shifted into its group ------------------

_time_cells = st.lists(
    st.tuples(
        st.sampled_from(STATES), st.sampled_from(["", "lunch", "break"]), st.integers(0, 3600)
    ),
    max_size=6,
)
_row = st.builds(
    lambda state, cells: {
        "agent": None if state is None else {"state": state, "reason": "", "since": "x"},
        "time": agent_state.time_in_state(cells),
        "not_in": False,
    },
    st.one_of(st.none(), st.sampled_from(STATES)),
    _time_cells,
)


@given(reps=st.lists(_row, min_size=1, max_size=6), new=_row, data=st.data())
def test_one_reps_change_shifted_into_its_group_equals_recounting_the_group(reps, new, data):
    i = data.draw(st.integers(0, len(reps) - 1))
    group = agent_state.group_presence(reps)
    after = [*reps[:i], new, *reps[i + 1 :]]
    assert agent_state.shift_presence(group, reps[i], new) == agent_state.group_presence(after)


def test_occupancy_is_on_call_and_wrap_up_over_logged_in_time():
    t = agent_state.time_in_state(
        [("on_call", "", 1800), ("wrap_up", "", 600), ("paused", "lunch", 1200),
         ("available", "", 400), ("logged_out", "", 9999)]
    )  # fmt: skip
    assert t["logged_in_seconds"] == 4000
    assert t["paused_by_reason"] == {"lunch": 1200}
    assert t["occupancy"] == 0.6
    assert agent_state.time_in_state([])["occupancy"] is None


def test_a_rep_logged_out_all_day_is_not_in_and_the_open_interval_counts_to_the_instant():
    tz = ZoneInfo("Asia/Shanghai")
    day = date(2026, 11, 26)
    out = StateEvent(datetime(2026, 11, 25, 10, 0, tzinfo=UTC), "s", "k", "logged_out")
    got = agent_state.presence_fields(out, {}, day=day, at=datetime(2026, 11, 26, 3, 0,
                                      tzinfo=UTC), cut=10, tz=tz)  # fmt: skip
    assert got["not_in"] and got["time"]["logged_in_seconds"] == 0
    ready = StateEvent(datetime(2026, 11, 26, 2, 30, tzinfo=UTC), "s", "k", "available")
    got = agent_state.presence_fields(
        ready, {}, day=day, at=datetime(2026, 11, 26, 3, 0, tzinfo=UTC), cut=11, tz=tz
    )
    assert not got["not_in"] and got["time"]["available_seconds"] == 1800
    assert got["agent"] == {"state": "available", "reason": "", "since": ready.at.isoformat()}


@pytest.mark.parametrize(
    "text", ["", "break", "break=休息", "break=休息/Break/0", "break=休息/Break/x", "=a/b"]
)
def test_a_pause_reason_list_that_is_not_one_is_refused(text):
    with pytest.raises(ValueError):
        agent_state.parse_pause_reasons(text)


def test_a_pause_reason_list_sets_labels_and_limits():
    got = agent_state.parse_pause_reasons("break=休息/Break, lunch=午饭/Lunch/60")
    assert got["lunch"] == agent_state.PauseReason("lunch", "午饭", "Lunch", 60)
    assert got["break"].limit_minutes == agent_state.DEFAULT_PAUSE_LIMIT_MINUTES
