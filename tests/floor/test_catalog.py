"""The metric list in ``app/static/catalog.json`` (which the pages' scripts read) is the one
``app/floor`` counts with: same keys, same order, same call metrics and target metrics."""

from __future__ import annotations

from app.floor.funnel import FACTORS, RATES
from app.floor.metrics import CALL_METRICS, METRICS
from app.floor.targets import TARGET_METRICS
from app.labels import base_catalog, shipped


def test_the_catalog_lists_the_metrics_app_floor_sums_in_its_order():
    assert tuple(m["key"] for m in shipped()["metrics"]) == METRICS


def test_the_catalogs_call_metrics_are_the_ones_a_call_contributes():
    assert tuple(m["key"] for m in shipped()["metrics"] if m["call"]) == CALL_METRICS


def test_the_catalogs_target_metrics_are_the_ones_a_target_can_be_set_on():
    assert tuple(m["key"] for m in shipped()["metrics"] if m["target"]) == TARGET_METRICS


def test_the_catalogs_ratios_are_the_funnel_factors_and_its_rates_read_as_percent():
    ratios = shipped()["ratios"]
    assert tuple(r["key"] for r in ratios) == tuple(f for f in FACTORS if f not in METRICS)
    assert {r["key"] for r in ratios if r["kind"] == "rate"} == RATES


def test_every_metric_and_ratio_has_a_label_in_both_languages():
    for m in (*shipped()["metrics"], *shipped()["ratios"]):
        for lang in ("zh", "en"):
            assert base_catalog()[lang][m["key"]], (lang, m["key"])
