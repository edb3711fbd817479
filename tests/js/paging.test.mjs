// Paging and ranking of the board's lists (paging.js).
import { test } from "node:test";
import assert from "node:assert/strict";

import { byValue, pageCount, pageOf, rankAll, teamParts } from "../../app/static/paging.js";

test("a list takes whole pages, and an empty one still one page", () => {
  assert.equal(pageCount(0, 5), 1);
  assert.equal(pageCount(5, 5), 1);
  assert.equal(pageCount(6, 5), 2);
});

test("a page is its slice of the list, the last one short", () => {
  const items = [1, 2, 3, 4, 5, 6, 7];
  assert.deepEqual(pageOf(items, 0, 3), [1, 2, 3]);
  assert.deepEqual(pageOf(items, 2, 3), [7]);
  assert.deepEqual(pageOf(items, 3, 3), []);
});

test("equal figures share a rank and the next rank skips past them", () => {
  const ranked = rankAll([{ value: 9 }, { value: 5 }, { value: 5 }, { value: 1 }]);
  assert.deepEqual(ranked.map((r) => r.rank), [1, 2, 2, 4]);
});

test("the highest figure comes first, a tie by name", () => {
  const rows = [
    { name: "b", value: 1 },
    { name: "a", value: 1 },
    { name: "c", value: 3 },
  ];
  assert.deepEqual([...rows].sort(byValue).map((r) => r.name), ["c", "a", "b"]);
});

test("a team longer than a page is split into parts whose ranks run on", () => {
  const reps = ["r1", "r2", "r3", "r4", "r5"];
  const parts = teamParts("一组", reps, 2, "一组");
  assert.deepEqual(parts.map((p) => p.key), ["一组#0", "一组#1", "一组#2"]);
  assert.deepEqual(parts.map((p) => p.offset), [0, 2, 4]);
  assert.deepEqual(parts[2].reps, ["r5"]);
  assert.ok(parts.every((p) => p.team === "一组"));
});

test("a team with no reps has no page, but the whole floor always has one", () => {
  assert.deepEqual(teamParts("二组", [], 4, "二组"), []);
  assert.deepEqual(teamParts(null, [], 4, "all"), [{ key: "all", team: null, reps: [], offset: 0 }]);
});
