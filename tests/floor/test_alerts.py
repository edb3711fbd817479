"""Alerts: the clock is driven by passing different `now` values to decide()."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from app.floor.alerts import (
    KINDS,
    NewAlert,
    OpenAlerts,
    PauseLimits,
    RepState,
    decide,
    track_amber,
)
from app.floor.pacing import Pace, pace_for
from app.floor.schedule import Schedule

SHANGHAI = ZoneInfo("Asia/Shanghai")
FLOOR = Schedule(SHANGHAI, ((time(9, 30), time(11, 30)), (time(13, 0), time(17, 30))))
TUESDAY = date(2026, 3, 10)
SATURDAY = date(2026, 3, 14)
NOTHING_OPEN = OpenAlerts()


def at(hour: int, minute: int = 0, second: int = 0, day: date = TUESDAY) -> datetime:
    return datetime.combine(day, time(hour, minute, second), tzinfo=SHANGHAI)


def dials(actual: int, now: datetime, target: int = 300) -> Pace:
    return pace_for(
        target=target, actual=actual, schedule=FLOOR, period="day", day=now.date(), now=now
    )


def rep(
    now: datetime,
    actual: int = 0,
    *,
    rep_id: int = 1,
    active: bool = True,
    last_dial_at: datetime | None = None,
) -> RepState:
    """A rep on the dials target; by default one who dialled a minute ago (so not idle)."""
    if last_dial_at is None:
        last_dial_at = now.replace(minute=max(now.minute - 1, 0))
    return RepState(rep_id, active, FLOOR, {"dials": dials(actual, now)}, last_dial_at)


def test_red_in_the_first_calling_hour_raises_nothing():
    now = at(10, 0)  # 30 calling minutes in; 0 of an expected 23.1
    state = rep(now, 0)
    assert state.paces["dials"].status == "red"
    assert decide([state], NOTHING_OPEN, day=TUESDAY, now=now) == []


def test_behind_pace_waits_for_a_full_calling_hour():
    assert decide([rep(at(10, 29), 0)], NOTHING_OPEN, day=TUESDAY, now=at(10, 29)) == []
    raised = decide([rep(at(10, 30), 0)], NOTHING_OPEN, day=TUESDAY, now=at(10, 30))
    assert [(a.kind, a.metric) for a in raised] == [("behind_pace", "dials")]


def test_red_at_1040_raises_behind_pace_with_the_pace_as_detail():
    now = at(10, 40)
    state = rep(now, 33)
    assert decide([state], NOTHING_OPEN, day=TUESDAY, now=now) == [
        NewAlert(1, "behind_pace", "dials", state.paces["dials"].as_dict())
    ]
    assert state.paces["dials"].as_dict()["expected"] == 53.8


def test_still_red_with_the_alert_open_raises_nothing_again():
    still_open = OpenAlerts(behind=frozenset({(1, "dials")}))
    for now in (at(10, 40), at(11, 0), at(14, 0)):
        assert decide([rep(now, 33)], still_open, day=TUESDAY, now=now) == []


def test_back_to_amber_recovers_only_after_ten_minutes_out_of_the_red():
    now = at(11, 0)  # expected 69.2; 60 dials is 0.87 of it
    state = rep(now, 60)
    assert state.paces["dials"].status == "amber"
    behind = frozenset({(1, "dials")})
    just = OpenAlerts(behind=behind, amber_since={(1, "dials"): at(10, 51)})
    assert decide([state], just, day=TUESDAY, now=now) == []  # nine minutes: still open
    settled = OpenAlerts(behind=behind, amber_since={(1, "dials"): at(10, 50)})
    assert decide([state], settled, day=TUESDAY, now=now) == [
        NewAlert(1, "recovered", "dials", state.paces["dials"].as_dict())
    ]


def test_back_to_green_recovers_at_once():
    now = at(11, 0)
    state = rep(now, 70)
    assert state.paces["dials"].status == "green"
    open_ = OpenAlerts(behind=frozenset({(1, "dials")}))
    assert [a.kind for a in decide([state], open_, day=TUESDAY, now=now)] == ["recovered"]


def test_a_rep_hovering_at_the_line_opens_one_behind_an_hour():
    now = at(10, 40)
    red = rep(now, 33)
    recent = OpenAlerts(last_behind={(1, "dials"): at(9, 45)})
    assert decide([red], recent, day=TUESDAY, now=now) == []  # 55 minutes since the last
    later = OpenAlerts(last_behind={(1, "dials"): at(9, 40)})
    assert [a.kind for a in decide([red], later, day=TUESDAY, now=now)] == ["behind_pace"]


def test_time_out_of_the_red_is_kept_while_amber_and_dropped_in_the_red():
    behind = frozenset({(1, "dials")})
    amber, red = rep(at(11, 0), 60), rep(at(11, 0), 30)
    first = track_amber([amber], behind, {}, at(11, 0))
    assert first == {(1, "dials"): at(11, 0)}
    assert track_amber([amber], behind, first, at(11, 5)) == first  # still since 11:00
    assert track_amber([red], behind, first, at(11, 6)) == {}
    assert track_amber([amber], frozenset(), first, at(11, 7)) == {}  # nothing open


def test_amber_without_an_open_alert_raises_nothing():
    assert decide([rep(at(11, 0), 60)], NOTHING_OPEN, day=TUESDAY, now=at(11, 0)) == []


def test_a_break_over_lunch_is_not_idle():
    last = at(11, 25)
    for now in (at(11, 45), at(12, 30), at(13, 0), at(13, 5)):  # 5 + at most 5 calling minutes
        assert decide([rep(now, 300, last_dial_at=last)], NOTHING_OPEN, day=TUESDAY, now=now) == []


def test_silence_across_lunch_counts_only_calling_minutes_and_is_idle_at_16():
    now, last = at(13, 11), at(11, 25)
    assert decide([rep(now, 300, last_dial_at=last)], NOTHING_OPEN, day=TUESDAY, now=now) == [
        NewAlert(1, "idle", None, {"idle_minutes": 16, "last_dial_at": last.isoformat()})
    ]


def test_idle_starts_at_exactly_idle_minutes():
    last = at(10, 0)
    quiet = rep(at(10, 14, 59), 300, last_dial_at=last)
    assert decide([quiet], NOTHING_OPEN, day=TUESDAY, now=at(10, 14, 59)) == []
    raised = decide([quiet], NOTHING_OPEN, day=TUESDAY, now=at(10, 15))
    assert [(a.kind, a.detail["idle_minutes"]) for a in raised] == [("idle", 15)]
    assert decide([quiet], NOTHING_OPEN, day=TUESDAY, now=at(10, 12), idle_minutes=10) != []


def test_an_open_idle_alert_is_not_raised_again():
    now, last = at(14, 0), at(13, 0)
    state = rep(now, 300, last_dial_at=last)
    assert decide([state], OpenAlerts(idle=frozenset({1})), day=TUESDAY, now=now) == []


def test_a_rep_who_has_not_dialled_today_is_idle_15_minutes_into_the_day():
    state = RepState(1, True, FLOOR, {}, None)
    assert decide([state], NOTHING_OPEN, day=TUESDAY, now=at(9, 44)) == []
    assert decide([state], NOTHING_OPEN, day=TUESDAY, now=at(9, 45)) == [
        NewAlert(1, "idle", None, {"idle_minutes": 15, "last_dial_at": None})
    ]


def test_idle_is_counted_from_midnight_when_the_last_dial_was_yesterday():
    yesterday = datetime(2026, 3, 9, 17, 20, tzinfo=SHANGHAI)
    state = RepState(1, True, FLOOR, {}, yesterday)
    [alert] = decide([state], NOTHING_OPEN, day=TUESDAY, now=at(9, 50))
    assert alert.detail == {"idle_minutes": 20, "last_dial_at": yesterday.isoformat()}


@pytest.mark.parametrize(
    "now, day",
    [(at(17, 30), TUESDAY), (at(19, 0), TUESDAY), (at(10, 0, day=SATURDAY), SATURDAY)],
)
def test_nobody_is_idle_outside_calling_windows(now, day):
    state = RepState(1, True, FLOOR, {}, None)
    assert decide([state], NOTHING_OPEN, day=day, now=now) == []


def test_an_inactive_rep_gets_nothing():
    now = at(10, 40)
    red_and_silent = RepState(1, False, FLOOR, {"dials": dials(0, now)}, None)
    assert decide([red_and_silent], NOTHING_OPEN, day=TUESDAY, now=now) == []
    recovered = RepState(1, False, FLOOR, {"dials": dials(300, now)}, now)
    assert (
        decide([recovered], OpenAlerts(behind=frozenset({(1, "dials")})), day=TUESDAY, now=now)
        == []
    )


def test_alerts_come_ordered_by_rep_then_kind_then_metric():
    now = at(14, 0)  # 180 of 390 calling minutes gone
    behind = {"dials": dials(10, now), "talk_seconds": dials(10, now)}
    rep2 = RepState(2, True, FLOOR, behind, at(13, 0))
    rep1 = RepState(1, True, FLOOR, {"invites": dials(300, now), "dials": dials(10, now)}, now)
    open_ = OpenAlerts(behind=frozenset({(1, "invites")}))
    got = decide([rep2, rep1], open_, day=TUESDAY, now=now)
    assert [(a.rep_id, a.kind, a.metric) for a in got] == [
        (1, "behind_pace", "dials"),
        (1, "recovered", "invites"),
        (2, "behind_pace", "dials"),
        (2, "behind_pace", "talk_seconds"),
        (2, "idle", None),
    ]
    assert {a.kind for a in got} <= set(KINDS)


def test_now_may_be_given_in_any_timezone():
    now = at(10, 40).astimezone(ZoneInfo("UTC"))
    raised = decide([rep(at(10, 40), 33)], NOTHING_OPEN, day=TUESDAY, now=now)
    assert [a.kind for a in raised] == ["behind_pace"]


def test_a_naive_now_is_refused():
    with pytest.raises(ValueError, match="naive"):
        decide([], NOTHING_OPEN, day=TUESDAY, now=datetime(2026, 3, 10, 10, 40))


def test_a_naive_last_dial_is_refused():
    state = RepState(1, True, FLOOR, {}, datetime(2026, 3, 10, 10, 0))
    with pytest.raises(ValueError, match="naive"):
        decide([state], NOTHING_OPEN, day=TUESDAY, now=at(10, 40))


# --- with agent states ---------------------------------------------------------------------------


def in_state(now: datetime, state: str, since: datetime, reason: str = "", **kw) -> RepState:
    """A rep on pace (no pace alert) whose source reports ``state`` since ``since``."""
    return replace(rep(now, 300, **kw), state=state, state_since=since, reason=reason)


def test_a_rep_on_a_long_call_is_not_idle():
    now, last = at(10, 40), at(10, 0)
    on_call = in_state(now, "on_call", at(10, 1), last_dial_at=last)
    assert decide([on_call], NOTHING_OPEN, day=TUESDAY, now=now) == []


def test_a_ready_rep_is_idle_counted_from_when_they_became_ready():
    now, last = at(10, 40), at(10, 0)
    ready = in_state(now, "available", at(10, 30), last_dial_at=last)
    assert decide([ready], NOTHING_OPEN, day=TUESDAY, now=now) == []  # ready for 10 minutes
    later = at(10, 46)
    ready = in_state(later, "available", at(10, 30), last_dial_at=last)
    got = decide([ready], NOTHING_OPEN, day=TUESDAY, now=later)
    assert [(a.kind, a.detail["idle_minutes"]) for a in got] == [("idle", 16)]


def test_a_pause_past_its_reasons_limit_raises_paused_long_once():
    now = at(10, 40)
    paused = in_state(now, "paused", at(10, 20), "break")
    got = decide([paused], NOTHING_OPEN, day=TUESDAY, now=now)
    assert got == [
        NewAlert(
            1,
            "paused_long",
            None,
            {
                "reason": "break",
                "paused_minutes": 20,
                "limit_minutes": 15,
                "since": at(10, 20).astimezone(UTC).isoformat(),
            },
        )
    ]
    assert decide([paused], OpenAlerts(paused=frozenset({1})), day=TUESDAY, now=now) == []


def test_a_pause_within_its_limit_raises_nothing_and_limits_are_per_reason():
    now = at(10, 40)
    training = in_state(now, "paused", at(10, 0), "training")
    limits = PauseLimits({"training": 60})
    assert decide([training], NOTHING_OPEN, day=TUESDAY, now=now, pause_limits=limits) == []
    assert decide([training], NOTHING_OPEN, day=TUESDAY, now=now)[0].kind == "paused_long"


def test_lunch_inside_the_lunch_break_is_exempt_but_not_after_it():
    lunch = in_state(at(12, 50), "paused", at(11, 30), "lunch")
    assert decide([lunch], NOTHING_OPEN, day=TUESDAY, now=at(12, 50)) == []  # 80 min, in the gap
    late = in_state(at(13, 16), "paused", at(11, 30), "lunch")
    got = decide([late], NOTHING_OPEN, day=TUESDAY, now=at(13, 16))
    assert [(a.kind, a.detail["paused_minutes"]) for a in got] == [("paused_long", 16)]


def test_a_rep_not_in_gets_no_pace_or_idle_alert():
    now = at(14, 0)
    out = replace(rep(now, 0, last_dial_at=at(9, 0)), state="logged_out", not_in=True)
    out = replace(out, state_since=at(0, 0))
    assert [a.kind for a in decide([out], NOTHING_OPEN, day=TUESDAY, now=now)] == ["not_in"]
    assert {
        a.kind for a in decide([replace(out, not_in=False)], NOTHING_OPEN, day=TUESDAY, now=now)
    } == {"behind_pace"}


def test_a_rep_logged_out_all_day_is_not_in_from_ten_once_a_day():
    out = replace(rep(at(9, 59), 0), state="logged_out", not_in=True, state_since=at(0, 0))
    assert decide([out], NOTHING_OPEN, day=TUESDAY, now=at(9, 59)) == []
    got = decide([out], NOTHING_OPEN, day=TUESDAY, now=at(10, 0))
    assert got == [NewAlert(1, "not_in", None, {"by": "10:00"})]
    assert decide([out], OpenAlerts(not_in=frozenset({1})), day=TUESDAY, now=at(11, 0)) == []
    # Away for the day, or a day off: not expected, so not "not in".
    assert decide([replace(out, off=True)], NOTHING_OPEN, day=TUESDAY, now=at(11, 0)) == []
    saturday = datetime.combine(SATURDAY, time(11, 0), tzinfo=SHANGHAI)
    assert decide([out], NOTHING_OPEN, day=SATURDAY, now=saturday) == []
