// What the page keeps of the floor: a snapshot replaces it, a delta merges into it (floor.js).
import { test } from "node:test";
import assert from "node:assert/strict";

import { FloorState } from "../../app/static/floor.js";

function snapshot() {
  const state = new FloorState();
  state.applySnapshot({
    day: "2026-12-06",
    timezone: "Asia/Shanghai",
    at: "2026-12-06T02:00:00Z",
    floor: { totals: { dials: 10, orders: 1 } },
    teams: [{ name: "一组", totals: { dials: 10 } }],
    reps: [
      {
        code: "A1",
        name: "张三",
        team: "一组",
        totals: { dials: 10, orders: 1 },
        hours: [
          { hour: 9, dials: 4 },
          { hour: 10, dials: 6 },
        ],
      },
    ],
  });
  return state;
}

test("a snapshot replaces everything and says whether the day changed", () => {
  const state = new FloorState();
  assert.equal(state.applySnapshot({ day: "2026-12-06", reps: [{ code: "A1" }] }), true);
  assert.equal(state.applySnapshot({ day: "2026-12-06", reps: [] }), false);
  assert.equal(state.reps.size, 0);
  assert.equal(state.applySnapshot({ day: "2026-12-07" }), true);
});

test("a delta merges nested objects key by key and leaves the rest as it was", () => {
  const state = snapshot();
  const changed = state.applyDelta({ day: "2026-12-06", reps: [{ code: "A1", totals: { dials: 11 } }] });
  const rep = state.reps.get("A1");
  assert.deepEqual(rep.totals, { dials: 11, orders: 1 });
  assert.equal(rep.name, "张三");
  assert.deepEqual([...changed.reps], ["A1"]);
  assert.equal(changed.floor, false);
});

test("a delta's hours are merged by hour and kept in hour order", () => {
  const state = snapshot();
  state.applyDelta({
    reps: [{ code: "A1", hours: [{ hour: 11, dials: 1 }, { hour: 8, dials: 2 }, { hour: 9, dials: 5 }] }],
  });
  assert.deepEqual(state.reps.get("A1").hours, [
    { hour: 8, dials: 2 },
    { hour: 9, dials: 5 },
    { hour: 10, dials: 6 },
    { hour: 11, dials: 1 },
  ]);
});

test("a row new to the page comes whole and the floor and teams merge too", () => {
  const state = snapshot();
  const changed = state.applyDelta({
    at: "2026-12-06T02:00:05Z",
    floor: { totals: { orders: 2 } },
    teams: [{ name: "一组", totals: { dials: 12 } }],
    reps: [{ code: "B2", name: "李四", team: "一组", totals: { dials: 1 } }],
  });
  assert.deepEqual(state.floor.totals, { dials: 10, orders: 2 });
  assert.deepEqual(state.teams.get("一组").totals, { dials: 12 });
  assert.equal(state.reps.get("B2").name, "李四");
  assert.equal(state.at, "2026-12-06T02:00:05Z");
  assert.equal(changed.floor, true);
  assert.deepEqual([...changed.teams], ["一组"]);
});

test("a delta for another day is refused so the page asks for a snapshot", () => {
  const state = snapshot();
  const version = state.version;
  assert.equal(state.applyDelta({ day: "2026-12-07", reps: [{ code: "A1", totals: { dials: 1 } }] }), null);
  assert.equal(state.reps.get("A1").totals.dials, 10);
  assert.equal(state.version, version);
});

test("inactive reps are listed only when they dialled today", () => {
  const state = new FloorState();
  state.applySnapshot({
    day: "2026-12-06",
    reps: [
      { code: "A", team: "一组", active: false, totals: { dials: 0 } },
      { code: "B", team: "一组", active: false, totals: { dials: 2 } },
      { code: "C", team: "二组" },
    ],
  });
  assert.deepEqual(state.repList().map((r) => r.code), ["B", "C"]);
  assert.deepEqual(state.repList("二组").map((r) => r.code), ["C"]);
});
