// The metrics, declared once in catalog.json (shared with the server: app/labels.py, and
// tests/floor/test_catalog.py holds app/floor to the same list). Everything else derives from it.

import catalog from "./catalog.json" with { type: "json" };

/** Every summed metric and ratio, each { key, kind, … } in display order. */
export const METRIC_DEFS = [...catalog.metrics, ...catalog.ratios];

/** The metrics a target can be set on (the KPI tiles, the metric pickers, a view's metric). */
export const METRICS = catalog.metrics.filter((m) => m.target).map((m) => m.key);

/** The funnel's ratios (a rep's compares with the team's; counts are sums over every rep). */
export const RATIOS = new Set(catalog.ratios.map((m) => m.key));

const KINDS = new Map(METRIC_DEFS.map((m) => [m.key, m.kind]));

/** How a metric's figure reads: count, money, seconds, rate, ratio or mean_seconds ("count"
 * for a name that is no metric). */
export function metricKind(name) {
  return KINDS.get(name) ?? "count";
}
