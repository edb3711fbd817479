// The metric list the pages use comes from catalog.json, the file the server reads too.
import { test } from "node:test";
import assert from "node:assert/strict";

import { METRIC_DEFS, METRICS, metricKind, RATIOS } from "../../app/static/metrics.js";

test("the target metrics are the catalog's, in its order", () => {
  assert.deepEqual(METRICS, ["dials", "connects", "talk_seconds", "orders", "invites", "revenue"]);
});

test("every metric and ratio has a kind, and an unknown name counts", () => {
  const kinds = new Set(["count", "money", "seconds", "rate", "ratio", "mean_seconds"]);
  for (const m of METRIC_DEFS) assert.ok(kinds.has(m.kind), m.key);
  assert.equal(metricKind("revenue"), "money");
  assert.equal(metricKind("success_rate"), "rate");
  assert.equal(metricKind("whatever"), "count");
});

test("the funnel's ratios are the catalog's, and no summed metric is one", () => {
  assert.deepEqual([...RATIOS], ["contact_rate", "turnover", "avg_talk_per_dial", "success_rate", "avg_order_value"]);
  for (const m of METRICS) assert.ok(!RATIOS.has(m), m);
});
