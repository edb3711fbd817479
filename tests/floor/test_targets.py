"""Target resolution: rep beats team beats floor, the latest rule in force, the new-hire ramp."""

from __future__ import annotations

from datetime import date

from app.floor.targets import Ramp, RepRef, TargetRule, is_new_hire, rep_targets, sum_targets

D = date(2026, 11, 26)
SINCE = date(2000, 1, 1)
FLOOR = [
    TargetRule("dials", "day", "floor", 0, 300, SINCE),
    TargetRule("talk_seconds", "day", "floor", 0, 13_000, SINCE),
    TargetRule("invites", "week", "floor", 0, 5, SINCE),
]
REP = RepRef(id=7, team_id=2, hired_on=date(2025, 1, 1))


def test_floor_defaults_apply_to_a_rep_without_own_targets():
    assert rep_targets(FLOOR, REP, D, Ramp()) == {
        ("dials", "day"): 300,
        ("talk_seconds", "day"): 13_000,
        ("invites", "week"): 5,
    }


def test_rep_target_beats_team_target_beats_floor_default():
    rules = [
        *FLOOR,
        TargetRule("dials", "day", "team", 2, 320, SINCE),
        TargetRule("dials", "day", "team", 3, 999, SINCE),  # another team's
    ]
    assert rep_targets(rules, REP, D, Ramp())[("dials", "day")] == 320
    rules.append(TargetRule("dials", "day", "rep", 7, 250, SINCE))
    assert rep_targets(rules, REP, D, Ramp())[("dials", "day")] == 250


def test_the_latest_rule_in_force_wins_and_future_rules_wait():
    rules = [
        *FLOOR,
        TargetRule("dials", "day", "floor", 0, 320, date(2026, 11, 1)),
        TargetRule("dials", "day", "floor", 0, 350, date(2026, 12, 1)),
    ]
    assert rep_targets(rules, REP, D, Ramp())[("dials", "day")] == 320
    assert rep_targets(rules, REP, date(2026, 12, 1), Ramp())[("dials", "day")] == 350


def test_a_null_value_unsets_a_target_from_its_day():
    rules = [*FLOOR, TargetRule("invites", "week", "floor", 0, None, date(2026, 11, 20))]
    assert ("invites", "week") not in rep_targets(rules, REP, D, Ramp())
    assert rep_targets(rules, REP, date(2026, 11, 19), Ramp())[("invites", "week")] == 5


def test_new_hire_gets_150_dials_through_day_7_and_300_on_day_8():
    hired = date(2026, 11, 20)  # day 1
    rep = RepRef(id=8, team_id=2, hired_on=hired)
    assert is_new_hire(hired, date(2026, 11, 26), Ramp())  # day 7
    assert rep_targets(FLOOR, rep, date(2026, 11, 26), Ramp())[("dials", "day")] == 150
    assert not is_new_hire(hired, date(2026, 11, 27), Ramp())  # day 8
    assert rep_targets(FLOOR, rep, date(2026, 11, 27), Ramp())[("dials", "day")] == 300
    assert not is_new_hire(hired, date(2026, 11, 19), Ramp())  # not yet hired


def test_a_personal_target_beats_the_ramp_but_a_team_one_does_not():
    rep = RepRef(id=8, team_id=2, hired_on=date(2026, 11, 25))
    rules = [*FLOOR, TargetRule("dials", "day", "team", 2, 320, SINCE)]
    assert rep_targets(rules, rep, D, Ramp(days=7, dials_per_day=120))[("dials", "day")] == 120
    rules.append(TargetRule("dials", "day", "rep", 8, 200, SINCE))
    assert rep_targets(rules, rep, D, Ramp())[("dials", "day")] == 200


def test_team_target_is_the_sum_of_its_reps_targets():
    a = {("dials", "day"): 300, ("invites", "week"): 5}
    b = {("dials", "day"): 150}
    assert sum_targets([a, b]) == {("dials", "day"): 450, ("invites", "week"): 5}


def test_a_new_hires_talk_time_ramps_to_a_share_unless_set_for_them():
    rep = RepRef(id=8, team_id=2, hired_on=date(2026, 11, 25))
    talk = ("talk_seconds", "day")
    assert rep_targets(FLOOR, rep, D, Ramp())[talk] == 6_500  # 50 % by default
    assert rep_targets(FLOOR, rep, D, Ramp(activity_pct=70))[talk] == 9_100
    connects = [*FLOOR, TargetRule("connects", "day", "floor", 0, 60, SINCE)]
    assert rep_targets(connects, rep, D, Ramp())[("connects", "day")] == 30
    assert rep_targets(FLOOR, REP, D, Ramp())[talk] == 13_000  # not a new hire
    own = [*FLOOR, TargetRule("talk_seconds", "day", "rep", 8, 8_000, SINCE)]
    assert rep_targets(own, rep, D, Ramp())[talk] == 8_000
