"""The report tables format each metric as ``app/static/catalog.json`` says the pages do: a count
as a whole number, money as money, talk as time, a rate as a percentage."""

from __future__ import annotations

from app.labels import shipped
from app.reports.tables import COUNTS, TARGET_KIND

# The catalog's kinds in the report tables' words (a mean talk per dial is seconds there too).
AS_COLUMN = {
    "count": "int",
    "money": "money",
    "seconds": "seconds",
    "mean_seconds": "seconds",
    "rate": "rate",
}


def kinds() -> dict[str, str]:
    return {m["key"]: m["kind"] for m in (*shipped()["metrics"], *shipped()["ratios"])}


def test_every_report_column_of_a_metric_has_the_kind_the_catalog_gives_it():
    for key, kind in COUNTS:
        assert AS_COLUMN[kinds()[key]] == kind, key


def test_a_target_column_is_formatted_by_its_metrics_kind():
    targets = [m["key"] for m in shipped()["metrics"] if m["target"]]
    for key in targets:
        assert TARGET_KIND.get(key, "int") == AS_COLUMN[kinds()[key]], key
