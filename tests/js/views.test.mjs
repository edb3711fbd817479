// A display link's view settings with the page's query over them (views.js).
import { test } from "node:test";
import assert from "node:assert/strict";

import { viewSettings } from "../../app/static/views.js";

test("no settings show the live board alone, nothing rotating", () => {
  assert.deepEqual(viewSettings("", ""), {
    views: ["live"],
    rotate_seconds: 30,
    pin: null,
    metric: "revenue",
    steps: ["live"],
  });
});

test("the query overrides the link, unknown views and metrics are left out quietly", () => {
  const link = JSON.stringify({ views: ["live", "week", "bogus"], rotate_seconds: 10, metric: "orders" });
  const got = viewSettings(link, "?views=pk,nope,pk&rotate=0.5&metric=fake");
  assert.deepEqual(got.views, ["pk"]);
  assert.equal(got.rotate_seconds, 0.5);
  assert.equal(got.metric, "orders");
});

test("a pinned view is the only step, and pin=none unpins", () => {
  const link = JSON.stringify({ views: ["live", "today"], pin: "heatmap" });
  assert.deepEqual(viewSettings(link, "").steps, ["heatmap"]);
  assert.deepEqual(viewSettings(link, "?pin=none").steps, ["live", "today"]);
});

test("a bad link or a too short rotation falls back to the defaults", () => {
  const got = viewSettings("{not json", "?rotate=0.1&metric=talk_seconds");
  assert.equal(got.rotate_seconds, 30);
  assert.equal(got.metric, "talk_seconds");
});
