import { test } from "node:test";
import assert from "node:assert/strict";
import { formatDate, formatDateTime, timeLeft } from "../lib/dates.js";

test("dates are shown in the locale, on the day they name", () => {
  assert.equal(formatDate("2026-12-01"), "1 dec. 2026");
  assert.equal(formatDate("2026-01-31", "en-GB"), "31 Jan 2026");
  assert.equal(formatDate(undefined), "–");
});

test("instants are shown in the given time zone", () => {
  assert.equal(formatDateTime("2026-12-01T19:48:16Z", "sv-SE", "Europe/Stockholm"), "1 dec. 2026 20:48");
});

test("time left counts down and stops at zero", () => {
  const now = Date.parse("2026-12-01T12:00:00Z");
  assert.equal(timeLeft("2026-12-01T12:04:10Z", now), "4 min 10 s");
  assert.equal(timeLeft("2026-12-01T14:30:00Z", now), "2 h 30 min");
  assert.equal(timeLeft("2026-12-01T12:00:09Z", now), "9 s");
  assert.equal(timeLeft("2026-12-01T11:00:00Z", now), "0 s");
});
