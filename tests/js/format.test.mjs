// The number, money, time and label formats the pages show (i18n.js).
import { test } from "node:test";
import assert from "node:assert/strict";

import { floorNow, makeI18n } from "../../app/static/i18n.js";

const en = makeI18n("en");
const zh = makeI18n("zh");

test("a label is the language's text with its placeholders filled", () => {
  assert.equal(en.t("dials"), "Dials");
  assert.equal(zh.t("dials"), "通次");
  assert.equal(en.t("more", { n: 3 }), "3 more");
});

test("an unknown language is Chinese and an unknown key reads as itself", () => {
  assert.equal(makeI18n("fr").lang, "zh");
  assert.equal(en.t("no_such_label"), "no_such_label");
});

test("counts are whole and grouped, and a missing figure is a dash", () => {
  assert.equal(en.int(1234.4), "1,234");
  assert.equal(en.int(null), "—");
  assert.equal(en.int(Number.NaN), "—");
  assert.equal(en.dec(2.25), "2.3");
});

test("money is minor units shown as yuan with two decimals", () => {
  assert.equal(en.money(123456), "¥1,234.56");
  assert.equal(en.money(1234, 0), "¥1,234.00");
  assert.equal(en.money(undefined), "—");
});

test("a percentage is rounded down so 100% is never shown short of the target", () => {
  assert.equal(en.pct(0.995), "99%");
  assert.equal(en.pct(0.29), "29%");
  assert.equal(en.pct(1), "100%");
  assert.equal(en.pct(null), "—");
});

test("talk time reads in seconds, minutes or hours by its size", () => {
  assert.equal(en.duration(42), "42 s");
  assert.equal(en.duration(3480), "58 min");
  assert.equal(en.duration(60120), "16.7 h");
  assert.equal(zh.duration(90), "2 分钟");
  assert.equal(en.duration(null), "—");
});

test("a metric's figure is formatted by the kind catalog.json gives it", () => {
  assert.equal(en.metric("revenue", 250000), "¥2,500.00");
  assert.equal(en.metric("avg_order_value", 12345), "¥123.45");
  assert.equal(en.metric("talk_seconds", 120), "2 min");
  assert.equal(en.metric("contact_rate", 0.4567), "45.7%");
  assert.equal(en.metric("success_rate", 0.25), "25%");
  assert.equal(en.metric("avg_talk_per_dial", 12.34), "12.3 s");
  assert.equal(en.metric("turnover", 2.46), "2.5");
  assert.equal(en.metric("dials", 1200), "1,200");
  assert.equal(en.metric("not_a_metric", 7), "7");
});

test("the floor's hour and day are the floor's timezone's, not the machine's", () => {
  const at = new Date("2026-12-06T17:30:00Z");
  assert.deepEqual(floorNow("Asia/Shanghai", at), { day: "2026-12-07", hour: 1 });
  assert.deepEqual(floorNow("UTC", at), { day: "2026-12-06", hour: 17 });
});

test("a clock time is the instant in the floor's timezone, and no instant is a dash", () => {
  assert.equal(en.time("2026-12-06T01:05:09Z", "Asia/Shanghai"), "09:05");
  assert.equal(en.time("2026-12-06T01:05:09Z", "Asia/Shanghai", true), "09:05:09");
  assert.equal(en.time(null, "UTC"), "—");
  assert.equal(en.time("not a time", "UTC"), "—");
});

test("a text the server gives in both languages is shown in the page's, else the other", () => {
  assert.equal(en.pick({ zh: "午休", en: "Lunch" }), "Lunch");
  assert.equal(zh.pick({ zh: "午休", en: "Lunch" }), "午休");
  assert.equal(en.pick({ zh: "午休" }), "午休");
  assert.equal(zh.pick({ en: "Lunch" }), "Lunch");
  assert.equal(en.pick(undefined, "lunch"), "lunch");
});
