// Labels and number formats for the wallboard and the lead console.
//
// The labels live in catalog.json with the metric definitions: the server reads the same file to
// render the page's first paint in the right language and to head the report exports
// (app/labels.py). Chinese is the default; every key exists in both languages.

import catalog from "./catalog.json" with { type: "json" };
import { metricKind } from "./metrics.js";

const CATALOG = catalog.labels;

/** The floor's own labels (PACEBOARD_LABELS), which base.html puts in a JSON element. */
function floorLabels() {
  const node = typeof document === "undefined" ? null : document.getElementById("floor-labels");
  try {
    return (node && JSON.parse(node.textContent)) || {};
  } catch {
    return {};
  }
}

/** Labels, number and time formats for one language ("zh" or "en"). */
export function makeI18n(lang) {
  const code = lang === "en" ? "en" : "zh";
  const labels = { ...CATALOG[code], ...floorLabels()[code] };
  const locale = code === "zh" ? "zh-CN" : "en";
  const ints = new Intl.NumberFormat(locale, { maximumFractionDigits: 0 });
  const one = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 });
  const money = new Intl.NumberFormat(locale, {
    minimumFractionDigits: 2,
    maximumFractionDigits: 2,
  });
  const pct = new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 0 });
  const pct1 = new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 1 });
  const num = (v) => typeof v === "number" && Number.isFinite(v);
  const dash = "—";

  const t = (key, vars) => {
    let s = labels[key] ?? CATALOG.zh[key] ?? key;
    if (vars) for (const [k, v] of Object.entries(vars)) s = s.replace(`{${k}}`, String(v));
    return s;
  };

  const duration = (s) => {
    if (!num(s)) return dash;
    if (s >= 3600) return one.format(s / 3600) + " " + t("hours_unit");
    if (s >= 60) return ints.format(Math.round(s / 60)) + " " + t("minutes_unit");
    return ints.format(Math.round(s)) + " " + t("seconds_unit");
  };
  const asMoney = (minor, digits = 2) =>
    num(minor) ? "¥" + money.format(minor / 10 ** digits) : dash;
  const int = (v) => (num(v) ? ints.format(Math.round(v)) : dash);

  return {
    lang: code,
    locale,
    t,
    int,
    dec: (v) => (num(v) ? one.format(v) : dash),
    /** Minor units (fen, cents) as ¥ with 2 decimals. */
    money: asMoney,
    /** A ratio (0.61) as a whole percentage, rounded down: 0.995 is 99%, so "100%" never
     * stands for a figure short of its target (toPrecision drops 0.29 * 100's 28.999…). */
    pct: (ratio) => (num(ratio) ? pct.format(Math.floor(Number((ratio * 100).toPrecision(12))) / 100) : dash),
    /** Talk seconds for reading at a glance: 16.7 h, 58 min, 42 s. */
    duration,
    /** One metric's figure, formatted for its kind (revenue in minor units). */
    metric(name, v, digits = 2) {
      switch (metricKind(name)) {
        case "money":
          return asMoney(v, digits);
        case "seconds":
          return duration(v);
        case "rate":
          return num(v) ? pct1.format(v) : dash;
        case "mean_seconds":
          return num(v) ? one.format(v) + " " + t("seconds_unit") : dash;
        case "ratio":
          return num(v) ? one.format(v) : dash;
        default:
          return int(v);
      }
    },
    /** Clock time of an ISO instant in the floor's timezone. */
    time(iso, tz, seconds = false) {
      if (!iso) return dash;
      const d = new Date(iso);
      if (Number.isNaN(d.getTime())) return dash;
      return timeFormat(locale, tz, seconds).format(d);
    },
    /** A text the server gives in both languages ({zh, en}: a pause reason, a diagnosis) in
     * this one, else the other; `fallback` when there is none. */
    pick(texts, fallback = "") {
      return (texts && (texts[code] || texts.zh || texts.en)) || fallback;
    },
    /** Put the catalog's text into every [data-i18n] element under root. */
    apply(root = document) {
      for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
    },
  };
}

const timeFormats = new Map();
export function timeFormat(locale, tz, seconds) {
  const key = `${locale}|${tz}|${seconds}`;
  let f = timeFormats.get(key);
  if (!f) {
    const opts = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
    if (seconds) opts.second = "2-digit";
    try {
      f = new Intl.DateTimeFormat(locale, { ...opts, timeZone: tz });
    } catch {
      f = new Intl.DateTimeFormat(locale, opts); // unknown zone: the screen's own clock
    }
    timeFormats.set(key, f);
  }
  return f;
}

/** The hour (0–23) and the date (YYYY-MM-DD) of an instant in the floor's timezone. */
export function floorNow(tz, at = new Date()) {
  let parts;
  try {
    parts = new Intl.DateTimeFormat("en-CA", {
      timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", hourCycle: "h23",
    }).formatToParts(at);
  } catch {
    parts = new Intl.DateTimeFormat("en-CA", {
      year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", hourCycle: "h23",
    }).formatToParts(at);
  }
  const get = (type) => parts.find((p) => p.type === type)?.value;
  return { day: `${get("year")}-${get("month")}-${get("day")}`, hour: Number(get("hour")) % 24 };
}
