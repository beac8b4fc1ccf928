import { test } from "node:test";
import assert from "node:assert/strict";
import { parseAmount, toUnits, fromUnits, formatMoney } from "../lib/money.js";

test("amounts parse to exact integer units", () => {
  assert.deepEqual(parseAmount("-12.50"), { units: -1250n, scale: 2 });
  assert.deepEqual(parseAmount("0"), { units: 0n, scale: 0 });
  for (const bad of ["", "1,5", "1e3", "--1", "0x10", "1.", ".5", "NaN", "1 000"]) {
    assert.throws(() => parseAmount(bad), RangeError, bad);
  }
});

test("units convert both ways without losing a digit", () => {
  assert.equal(toUnits("0.1", 2) + toUnits("0.2", 2), toUnits("0.3", 2)); // not 0.30000000000000004
  assert.equal(toUnits("12", 2), 1200n);
  assert.equal(toUnits("1.230", 2), 123n);
  assert.throws(() => toUnits("1.234", 2), RangeError);
  assert.equal(fromUnits(-125n, 2), "-1.25");
  assert.equal(fromUnits(5n, 2), "0.05");
  assert.equal(fromUnits(-5n, 2), "-0.05");
  const huge = "123456789012345678901234.56";
  assert.equal(fromUnits(toUnits(huge, 2), 2), huge);
});

test("money is formatted for the locale, exactly", () => {
  const nbsp = (s) => s.replace(/[\u00a0\u202f]/g, " ");
  assert.equal(nbsp(formatMoney({ amount: "1234.50", currency: "SEK" })), "1 234,50 kr");
  assert.equal(nbsp(formatMoney({ amount: "-0.05", currency: "SEK" })), "−0,05 kr");
  assert.equal(formatMoney({ amount: "1234.5", currency: "EUR" }, "en-GB"), "€1,234.50");
  // Beyond 2^53 a float would round; the decimal string does not.
  assert.equal(nbsp(formatMoney({ amount: "9007199254740993.01", currency: "SEK" })), "9 007 199 254 740 993,01 kr");
  assert.equal(formatMoney(undefined), "–");
  assert.throws(() => formatMoney({ amount: "1e9", currency: "SEK" }), RangeError);
});
