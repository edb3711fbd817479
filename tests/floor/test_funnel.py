"""The seed's two funnel identities (app/floor/funnel.py): the funnel, team medians, diagnosis."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.floor.funnel import FACTORS, diagnose, funnel, medians
from app.floor.metrics import METRICS

#: A rep's day, chosen so every ratio comes out exact.
TOTALS = {
    "dials": 340,
    "connects": 60,
    "talk_seconds": 8160,
    "orders": 4,
    "invites": 3,
    "revenue": 493824,  # 4 orders × 1,234.56
    "connect_orders": 3,  # the fourth sale came in on an inbound call
    "leads_dialled": 200,
    "leads_connected": 50,
}

# --- the funnel ------------------------------------------------------------------------------


def test_funnel_of_a_hand_computed_day():
    assert funnel(TOTALS) == {
        "leads_dialled": 200,
        "contact_rate": 0.25,  # 50 / 200
        "connected_leads": 50,
        "turnover": 6.8,  # 340 / 50
        "dials": 340,
        "avg_talk_per_dial": 24.0,  # 8160 / 340
        "talk_seconds": 8160,
        "success_rate": 0.05,  # 3 / 60: orders on outbound connects over those connects
        "orders": 4,
        "avg_order_value": 123456.0,  # 493824 / 4, minor units
        "revenue": 493824,
    }


def test_hand_computed_funnel_satisfies_its_identities_exactly():
    f = funnel(TOTALS)
    assert f["leads_dialled"] * f["contact_rate"] == f["connected_leads"]
    assert f["connected_leads"] * f["turnover"] == f["dials"]
    assert f["dials"] * f["avg_talk_per_dial"] == f["talk_seconds"]
    assert TOTALS["connects"] * f["success_rate"] == TOTALS["connect_orders"]
    assert f["orders"] * f["avg_order_value"] == f["revenue"]


def test_rates_keep_four_decimals_and_other_ratios_one():
    f = funnel(
        {
            **TOTALS,
            "leads_dialled": 3,
            "leads_connected": 1,
            "dials": 7,
            "connects": 1,
            "connect_orders": 1,
        }
    )
    assert f["contact_rate"] == 0.3333
    assert f["success_rate"] == 1.0
    assert f["turnover"] == 7.0
    assert f["avg_talk_per_dial"] == 1165.7  # 8160 / 7


def test_every_ratio_is_none_on_an_empty_day():
    f = funnel(dict.fromkeys(METRICS, 0))
    assert {k for k, v in f.items() if v is None} == set(FACTORS) - {"leads_dialled"}
    assert f["leads_dialled"] == f["dials"] == f["revenue"] == 0


def test_only_ratios_over_a_zero_denominator_are_none():
    # Dialled all morning, nobody picked up: contact rate is a real 0 %, the rest undefined.
    f = funnel({"dials": 90, "leads_dialled": 60, "talk_seconds": 0, "leads_connected": 0})
    assert f["contact_rate"] == 0.0
    assert f["avg_talk_per_dial"] == 0.0
    assert f["turnover"] is None
    assert f["success_rate"] is None
    assert f["avg_order_value"] is None


def test_missing_metrics_count_as_zero():
    assert funnel({"dials": 10}) == funnel({**dict.fromkeys(METRICS, 0), "dials": 10})


def _within_rounding(a: int, factor: float | None, product: int, decimals: int) -> bool:
    if factor is None:
        return True
    return abs(a * factor - product) <= a * 0.5 * 10**-decimals + 1e-9 * max(product, 1)


@given(
    leads=st.integers(0, 5000),
    connected=st.integers(0, 5000),
    dials=st.integers(0, 20000),
    talk=st.integers(0, 10**6),
    orders=st.integers(0, 500),
    revenue=st.integers(0, 10**9),
)
def test_both_identities_hold_within_rounding(leads, connected, dials, talk, orders, revenue):
    f = funnel(
        {
            "leads_dialled": leads,
            "leads_connected": connected,
            "dials": dials,
            "talk_seconds": talk,
            "orders": orders,
            "revenue": revenue,
        }
    )
    assert _within_rounding(f["leads_dialled"], f["contact_rate"], f["connected_leads"], 4)
    assert _within_rounding(f["connected_leads"], f["turnover"], f["dials"], 1)
    assert _within_rounding(f["dials"], f["avg_talk_per_dial"], f["talk_seconds"], 1)
    assert _within_rounding(f["connected_leads"], f["success_rate"], f["orders"], 4)
    assert _within_rounding(f["orders"], f["avg_order_value"], f["revenue"], 1)


# --- medians ---------------------------------------------------------------------------------


def test_medians_skip_undefined_values_and_cover_every_factor():
    funnels = [
        {"leads_dialled": 100, "contact_rate": 0.2, "turnover": None, "success_rate": 0.1},
        {"leads_dialled": 150, "contact_rate": 0.3, "turnover": 4.0, "success_rate": None},
        {"leads_dialled": 400, "contact_rate": 0.5, "turnover": 6.0, "success_rate": None},
    ]
    assert medians(funnels) == {
        "leads_dialled": 150.0,
        "contact_rate": 0.3,
        "turnover": 5.0,  # the two that are defined
        "avg_talk_per_dial": None,  # defined for nobody
        "success_rate": 0.1,
        "avg_order_value": None,
    }


def test_medians_of_no_funnels_are_all_none():
    assert medians([]) == dict.fromkeys(FACTORS, None)


def test_median_of_an_even_count_is_rounded_like_the_funnel():
    funnels = [funnel({**TOTALS, "leads_connected": c}) for c in (31, 32)]  # 0.155, 0.16
    assert medians(funnels)["contact_rate"] == 0.1575


# --- diagnosis -------------------------------------------------------------------------------

#: A team's medians, and a rep who reaches as many leads but talks too little and connects less.
TEAM = {
    "leads_dialled": 190.0,
    "contact_rate": 0.31,
    "turnover": 8.0,
    "avg_talk_per_dial": 41.0,
    "success_rate": 0.08,
    "avg_order_value": 100000.0,
}
REP = funnel(
    {
        "leads_dialled": 200,
        "leads_connected": 36,  # 18 %
        "dials": 300,  # 8.3 dials per connected lead
        "talk_seconds": 7200,  # 24 s a dial
        "orders": 3,  # 8.33 %
        "revenue": 360000,  # 1,200.00 an order
    }
)


def test_diagnosis_worked_example_names_contact_rate_then_talk_time():
    assert diagnose(REP, TEAM) == [
        {
            "factor": "contact_rate",
            "rep": 0.18,
            "team": 0.31,
            "ratio": 0.581,
            "text": {"en": "contact rate 18 % vs team 31 %", "zh": "接触率 18% vs 组内 31%"},
        },
        {
            "factor": "avg_talk_per_dial",
            "rep": 24.0,
            "team": 41.0,
            "ratio": 0.585,
            "text": {
                "en": "avg talk per dial 24 s vs team 41 s",
                "zh": "平均通时 24秒 vs 组内 41秒",
            },
        },
    ]


def test_diagnosis_stops_at_the_limit():
    assert [d["factor"] for d in diagnose(REP, TEAM, limit=1)] == ["contact_rate"]
    assert diagnose(REP, TEAM, limit=0) == []


def test_diagnosis_ignores_a_factor_only_slightly_below_the_median():
    rep = {**TEAM, "success_rate": 0.0721}  # 90.1 % of the median: within the tolerance
    assert diagnose(rep, TEAM) == []
    assert [d["factor"] for d in diagnose(rep, TEAM, below=1.0)] == ["success_rate"]


def test_a_rep_at_or_above_the_median_everywhere_has_nothing_to_fix():
    better = {k: v * 1.5 for k, v in TEAM.items()}
    assert diagnose(TEAM, TEAM) == []
    assert diagnose(better, TEAM) == []


def test_diagnosis_skips_undefined_values_and_zero_medians():
    rep = {**dict.fromkeys(FACTORS, 0.0), "turnover": None}
    team = {**TEAM, "contact_rate": None, "success_rate": 0.0}
    assert [d["factor"] for d in diagnose(rep, team, limit=9)] == [
        "leads_dialled",
        "avg_talk_per_dial",
        "avg_order_value",
    ]


def test_equal_ratios_keep_funnel_order():
    rep = {k: v / 2 for k, v in TEAM.items()}
    assert [d["factor"] for d in diagnose(rep, TEAM, limit=6)] == list(FACTORS)


def _text(factor, rep, team, **kw):
    return diagnose({factor: rep}, {factor: team}, **kw)[0]["text"]


def test_turnover_reads_as_dials_per_connected_lead():
    assert _text("turnover", 2.1, 3.4) == {
        "en": "turnover 2.1 vs team 3.4 dials per connected lead",
        "zh": "周转次数 2.1 vs 组内 3.4",
    }


def test_order_value_reads_in_major_units():
    assert _text("avg_order_value", 85000.0, 120000.0) == {
        "en": "avg order value 850.00 vs team 1200.00",
        "zh": "客单价 850.00 vs 组内 1200.00",
    }
    assert _text("avg_order_value", 850.0, 1200.0, minor_digits=0) == {
        "en": "avg order value 850 vs team 1200",
        "zh": "客单价 850 vs 组内 1200",
    }


def test_a_floors_own_label_names_the_factor_in_the_diagnosis():
    names = (("avg_order_value", "件单价", "value per sale"), ("dials", "外呼量", "calls"))
    assert _text("avg_order_value", 85000.0, 120000.0, names=names) == {
        "en": "value per sale 850.00 vs team 1200.00",
        "zh": "件单价 850.00 vs 组内 1200.00",
    }
    assert _text("turnover", 2.1, 3.4, names=names)["zh"] == "周转次数 2.1 vs 组内 3.4"


def test_leads_dialled_reads_as_whole_numbers():
    assert _text("leads_dialled", 120, 180.0) == {
        "en": "leads dialled 120 vs team 180",
        "zh": "名单 120 vs 组内 180",
    }


def test_success_rate_reads_as_percent():
    assert _text("success_rate", 0.05, 0.0912)["en"] == "success rate 5 % vs team 9 %"
    assert _text("success_rate", 0.05, 0.0912)["zh"] == "接触成功率 5% vs 组内 9%"


def test_small_values_get_the_decimals_it_takes_to_tell_them_apart():
    # Whole percent would read "0 % vs team 1 %" for a rep who did sell.
    assert _text("success_rate", 0.004, 0.006)["en"] == "success rate 0.4 % vs team 0.6 %"
    # A median halfway between two integers; both sides keep the same decimals.
    assert _text("leads_dialled", 4, 4.5)["en"] == "leads dialled 4.0 vs team 4.5"
    assert _text("avg_talk_per_dial", 0.0, 0.4)["en"] == "avg talk per dial 0.0 s vs team 0.4 s"


VALUE = st.none() | st.floats(0, 1000, allow_nan=False) | st.integers(0, 1000)


@given(
    rep=st.fixed_dictionaries({f: VALUE for f in FACTORS}),
    team=st.fixed_dictionaries({f: VALUE for f in FACTORS}),
    limit=st.integers(0, 7),
    below=st.floats(0.1, 1.5),
)
def test_diagnosis_is_only_factors_below_the_threshold_worst_first(rep, team, limit, below):
    found = diagnose(rep, team, limit=limit, below=below)
    assert len(found) <= limit
    assert len({d["factor"] for d in found}) == len(found)
    for d in found:
        assert d["rep"] == rep[d["factor"]] and d["team"] == team[d["factor"]]
        assert d["rep"] < below * d["team"]
    ratios = [d["ratio"] for d in found]
    assert ratios == sorted(ratios)
    # Nothing left out that is worse than what was kept.
    qualifying = [
        rep[f] / team[f]
        for f in FACTORS
        if rep[f] is not None and team[f] is not None and team[f] > 0 and rep[f] < below * team[f]
    ]
    assert len(found) == min(limit, len(qualifying))
    if found:
        assert sorted(qualifying)[len(found) - 1] <= max(ratios) + 0.0005


_CALL = st.fixed_dictionaries(
    {
        "direction": st.sampled_from(["outbound", "inbound", "internal"]),
        "disposition": st.sampled_from(["answered", "no_answer", "busy", "failed"]),
        "outcome": st.sampled_from(["none", "sale", "invite"]),
        "talk_seconds": st.integers(0, 3600),
        "order_value": st.integers(0, 10**6),
        "customer_key": st.sampled_from([None, "k1", "k2"]),
    }
)


@given(st.lists(_CALL, max_size=40))
def test_success_rate_never_exceeds_one_whatever_the_calls(calls):
    from app.floor.metrics import CALL_METRICS, contribution

    totals = dict.fromkeys(METRICS, 0)
    for call in calls:
        for name, value in zip(CALL_METRICS, contribution(call), strict=True):
            totals[name] += value
    rate = funnel(totals)["success_rate"]
    assert rate is None or 0 <= rate <= 1
    assert (rate is None) == (totals["connects"] == 0)
