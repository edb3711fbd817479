"""Team make-up and mentoring pairs (app/floor/tiers.py): 10 % top, 15–20 % laggards, 师徒结对."""

from __future__ import annotations

import math
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.floor.tiers import (
    TIER_NAMES,
    TIERS,
    TierInput,
    assign_tiers,
    basis,
    mentoring_pairs,
)


def rep(code: str, revenue: int = 0, orders: int = 0, dials: int = 0, new: bool = False):
    return TierInput(code, revenue, orders, dials, new)


def by_tier(tiers: dict[str, str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {t: [] for t in TIERS}
    for code, tier in tiers.items():
        out[tier].append(code)
    return out


#: 24 veterans, r01 the weakest … r24 the strongest, no two alike.
TEAM = [rep(f"r{i:02d}", revenue=1000 * i, orders=i // 5, dials=200 + i) for i in range(1, 25)]
#: Three new hires; n2 has outsold several veterans.
NEW = [rep("n1", dials=50, new=True), rep("n2", 3000, 1, 120, True), rep("n3", dials=10, new=True)]


def test_tier_names_cover_every_tier():
    assert set(TIER_NAMES) == set(TIERS)
    assert [TIER_NAMES[t]["zh"] for t in TIERS] == ["绩优", "中坚", "落后", "新人"]


# --- basis -----------------------------------------------------------------------------------


def test_basis_is_revenue_once_anyone_ranked_has_sold():
    assert basis(TEAM) == "revenue"


def test_basis_falls_back_to_orders_then_dials():
    assert basis([rep("a", orders=1), rep("b")]) == "orders"
    assert basis([rep("a", dials=5), rep("b")]) == "dials"
    assert basis([rep("a"), rep("b")]) == "dials"
    assert basis([]) == "dials"


def test_a_new_hires_sale_does_not_change_the_basis():
    assert basis([rep("a", dials=80), rep("n", 5000, 1, 40, new=True)]) == "dials"


# --- assign_tiers ----------------------------------------------------------------------------


def test_twenty_four_reps_give_two_top_and_four_laggards():
    # 10 % of 24 = 2.4 → 2 top; 17.5 % of 24 = 4.2 → 4 laggards; 18 core (75 %).
    tiers = by_tier(assign_tiers(TEAM))
    assert tiers["top"] == ["r23", "r24"]
    assert tiers["laggard"] == ["r01", "r02", "r03", "r04"]
    assert len(tiers["core"]) == 18
    assert tiers["new"] == []


def test_new_hires_are_new_and_do_not_move_anyone_else():
    with_new = assign_tiers(TEAM + NEW)
    assert {c: t for c, t in with_new.items() if t == "new"} == dict.fromkeys(
        ["n1", "n2", "n3"], "new"
    )
    assert {c: t for c, t in with_new.items() if t != "new"} == assign_tiers(TEAM)


def test_a_new_hire_with_the_best_day_is_still_new():
    assert assign_tiers([*TEAM[:5], rep("n", 10**9, 99, 999, new=True)])["n"] == "new"


def test_share_targets_round_half_up():
    # 17.5 % of 20 = 3.5 → 4 laggards; 10 % of 25 = 2.5 → 3 top.
    assert len(by_tier(assign_tiers(TEAM[:20]))["laggard"]) == 4
    team25 = [*TEAM, rep("r25", revenue=99_000)]
    assert by_tier(assign_tiers(team25))["top"] == ["r23", "r24", "r25"]


def test_codes_come_out_sorted():
    assert list(assign_tiers(list(reversed(TEAM + NEW)))) == sorted(r.code for r in TEAM + NEW)


def test_reps_tied_on_the_best_figures_are_all_top():
    team = [*TEAM[:21], *(rep(c, 50_000, 9, 300) for c in ("x1", "x2", "x3"))]
    assert by_tier(assign_tiers(team))["top"] == ["x1", "x2", "x3"]


def test_a_tie_straddling_the_top_edge_at_equal_distance_stays_out():
    # Ranks 2 and 3 are equal: cutting after 1 or after 3 is equally far from 2 → the smaller.
    team = [*TEAM[:21], rep("best", 90_000), rep("x1", 50_000), rep("x2", 50_000)]
    assert by_tier(assign_tiers(team))["top"] == ["best"]


def test_a_small_tie_at_the_bottom_is_all_laggards():
    # Five reps who never dialled: 5 is nearer the target of 4 than 0 is.
    team = [*TEAM[5:], *(rep(f"z{i}") for i in range(5))]
    assert by_tier(assign_tiers(team))["laggard"] == ["z0", "z1", "z2", "z3", "z4"]


def test_a_large_tie_at_the_bottom_is_left_in_core():
    # Ten reps who never dialled: labelling 10 of 24 laggards is further from 4 than none.
    team = [*TEAM[10:], *(rep(f"z{i:02d}") for i in range(10))]
    tiers = by_tier(assign_tiers(team))
    assert tiers["laggard"] == []
    assert tiers["top"] == ["r23", "r24"]


def test_figures_below_the_basis_break_its_ties():
    # Only one sale so far: the basis is revenue, and among the rest dials decide.
    team = [
        rep("a", 5000, 1, 100),
        *(rep(c, dials=d) for c, d in zip("bcdef", (90, 80, 70, 60, 20), strict=True)),
    ]
    assert basis(team) == "revenue"
    assert assign_tiers(team) == {
        "a": "top",
        "b": "core",
        "c": "core",
        "d": "core",
        "e": "core",
        "f": "laggard",
    }


def test_an_all_zero_morning_is_all_core():
    team = [rep(f"r{i}") for i in range(8)] + [rep("n", new=True)]
    assert basis(team) == "dials"
    tiers = assign_tiers(team)
    assert tiers == {**{f"r{i}": "core" for i in range(8)}, "n": "new"}
    assert mentoring_pairs(team, tiers) == []


def test_a_team_of_equals_is_all_core_whatever_its_figures():
    assert set(assign_tiers([rep(f"r{i}", 1000, 1, 100) for i in range(12)]).values()) == {"core"}


@pytest.mark.parametrize(
    ("size", "top", "laggards"),
    [(0, 0, 0), (1, 0, 0), (2, 0, 0), (3, 1, 0), (4, 1, 0), (5, 1, 1), (8, 1, 1), (10, 1, 2)],
)
def test_small_teams(size, top, laggards):
    tiers = by_tier(assign_tiers(TEAM[:size]))
    assert (len(tiers["top"]), len(tiers["laggard"])) == (top, laggards)


def test_three_reps_get_a_top_performer_even_if_two_share_it():
    tiers = assign_tiers([rep("a", 500), rep("b", 500), rep("c", 100)])
    assert tiers == {"a": "top", "b": "top", "c": "core"}


def test_zero_shares_leave_everyone_core():
    assert set(assign_tiers(TEAM, top_share=0, bottom_share=0).values()) == {"core"}


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="unique"):
        assign_tiers([rep("a"), rep("a", 5)])
    with pytest.raises(ValueError, match="shares"):
        assign_tiers(TEAM, top_share=0.5, bottom_share=0.6)
    with pytest.raises(ValueError, match="shares"):
        assign_tiers(TEAM, top_share=-0.1)


# --- mentoring_pairs -------------------------------------------------------------------------


def test_pairs_deal_weakest_mentees_to_strongest_mentors_in_turn():
    team = TEAM + NEW
    pairs = mentoring_pairs(team, assign_tiers(team))
    # Mentees weakest first: n3 (10 dials), n1 (50), r01 (1000), r02 (2000), r03 (3000, 0 orders),
    # n2 (3000, 1 order), r04; dealt to r24, r23, r24, r23, …
    assert [(p["mentee"], p["mentor"]) for p in pairs] == [
        ("n3", "r24"),
        ("n1", "r23"),
        ("r01", "r24"),
        ("r02", "r23"),
        ("r03", "r24"),
        ("n2", "r23"),
        ("r04", "r24"),
    ]


def test_nobody_top_means_no_pairs():
    team = [rep("a", 100), rep("b", 50), rep("n", new=True)]
    assert mentoring_pairs(team, assign_tiers(team)) == []


def test_pairs_follow_the_tiers_given():
    team = [rep("a", 100), rep("b", 50), rep("c", 10)]
    tiers = {"a": "top", "b": "laggard", "c": "laggard"}
    assert mentoring_pairs(team, tiers) == [
        {"mentor": "a", "mentee": "c", "pinned": False},
        {"mentor": "a", "mentee": "b", "pinned": False},
    ]


def test_a_pinned_mentor_comes_first_and_automatic_pairs_fill_only_the_rest():
    team = [rep("a", 100), rep("b", 50), rep("c", 10), rep("d", 80)]
    tiers = {"a": "top", "b": "laggard", "c": "laggard", "d": "core"}
    assert mentoring_pairs(team, tiers, {"c": "d"}) == [
        {"mentor": "d", "mentee": "c", "pinned": True},
        {"mentor": "a", "mentee": "b", "pinned": False},
    ]
    # A pin to someone not on the team (or to themself) is left out; with no top performer
    # the pins still stand.
    assert mentoring_pairs(team, tiers, {"c": "zz", "b": "b"})[0]["pinned"] is False
    no_top = {"a": "core", "b": "laggard", "c": "laggard", "d": "core"}
    assert mentoring_pairs(team, no_top, {"c": "d"}) == [
        {"mentor": "d", "mentee": "c", "pinned": True}
    ]


# --- invariants ------------------------------------------------------------------------------

RANK = {"top": 0, "core": 1, "laggard": 2}


@st.composite
def teams(draw, distinct: bool = False):
    """Up to 30 reps from small pools of figures, so ties are common (or none, if distinct)."""
    n = draw(st.integers(0, 30))
    dials = draw(st.lists(st.integers(0, 400), min_size=n, max_size=n, unique=distinct))
    return [
        TierInput(
            f"r{i:02d}",
            0 if distinct else draw(st.sampled_from([0, 0, 1000, 2500])),
            0 if distinct else draw(st.sampled_from([0, 0, 1, 2])),
            dials[i] if distinct else draw(st.sampled_from([0, 100, 200])),
            False if distinct else draw(st.integers(0, 5)) == 0,
        )
        for i in range(n)
    ]


def _figures(r: TierInput) -> tuple[int, int, int]:
    return (r.revenue, r.orders, r.dials)


@given(team=teams())
def test_every_rep_gets_exactly_one_tier_and_tiers_never_split_equals(team):
    tiers = assign_tiers(team)
    assert list(tiers) == sorted(r.code for r in team)
    assert all(tiers[r.code] == "new" for r in team if r.new_hire)
    ranked = [r for r in team if not r.new_hire]
    assert all(tiers[r.code] in RANK for r in ranked)
    for a in ranked:
        for b in ranked:
            if RANK[tiers[a.code]] < RANK[tiers[b.code]]:
                assert _figures(a) > _figures(b)  # a better tier means strictly better figures
            if _figures(a) == _figures(b):
                assert tiers[a.code] == tiers[b.code]


@given(team=teams())
def test_tier_sizes_stay_near_the_shares(team):
    tiers = by_tier(assign_tiers(team))
    ranked = sorted((r for r in team if not r.new_hire), key=_figures, reverse=True)
    n = len(ranked)
    if n < 3:
        assert tiers["top"] == []
    if n < 5:
        assert tiers["laggard"] == []
    if len({_figures(r) for r in ranked}) <= 1:
        assert tiers["top"] == tiers["laggard"] == []
        return
    assert n < 3 or tiers["top"]
    assert tiers["core"]  # neither tier takes everyone
    if tiers["top"]:
        # At most the target (rounded half up, at least 1) plus reps tied with the one at it.
        target = max(1, math.floor(0.1 * n + 0.5))
        at_target = _figures(ranked[target - 1])
        ties = sum(_figures(r) == at_target for r in ranked) - 1
        assert len(tiers["top"]) <= target + ties


@given(team=teams(distinct=True))
def test_without_ties_the_sizes_are_the_rounded_shares(team):
    tiers = by_tier(assign_tiers(team))
    n = len(team)
    assert len(tiers["top"]) == (max(1, math.floor(0.1 * n + 0.5)) if n >= 3 else 0)
    assert len(tiers["laggard"]) == (math.floor(0.175 * n + 0.5) if n >= 5 else 0)


@given(team=teams())
def test_pairs_give_every_laggard_and_new_hire_one_top_mentor_evenly(team):
    tiers = assign_tiers(team)
    pairs = mentoring_pairs(team, tiers)
    mentors = [c for c, t in tiers.items() if t == "top"]
    if not mentors:
        assert pairs == []
        return
    mentees = sorted(c for c, t in tiers.items() if t in ("laggard", "new"))
    assert sorted(p["mentee"] for p in pairs) == mentees
    assert all(tiers[p["mentor"]] == "top" for p in pairs)
    load = Counter({m: 0 for m in mentors}) + Counter(p["mentor"] for p in pairs)
    loads = [load[m] for m in mentors]
    assert max(loads) - min(loads) <= 1
