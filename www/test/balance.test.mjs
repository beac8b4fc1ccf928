import { test } from "node:test";
import assert from "node:assert/strict";
import { balanceHistory, chartGeometry } from "../lib/balance.js";

const tx = (bookingDate, amount) => ({ bookingDate, transactionAmount: { currency: "SEK", amount } });

test("the balance is walked back from today, a closing balance per day", () => {
  const history = balanceHistory({ amount: "1000.00" }, [
    tx("2026-11-30", "-100.10"),
    tx("2026-11-28", "500.00"),
    tx("2026-11-30", "-0.20"),
    tx("2026-11-29", "-0.10"),
  ]);
  assert.deepEqual(history, [
    { date: "2026-11-28", amount: "1100.40" },
    { date: "2026-11-29", amount: "1100.30" },
    { date: "2026-11-30", amount: "1000.00" },
  ]);
  assert.deepEqual(balanceHistory({ amount: "5" }, []), []);
});

test("the chart spans the box, highest balance at the top", () => {
  const g = chartGeometry(
    [
      { date: "2026-11-28", amount: "10.00" },
      { date: "2026-11-29", amount: "30.00" },
      { date: "2026-11-30", amount: "20.00" },
    ],
    { width: 100, height: 50, pad: 0 },
  );
  assert.equal(g.line, "M0.0,50.0 L50.0,0.0 L100.0,25.0");
  assert.equal(g.area, "M0.0,50.0 L50.0,0.0 L100.0,25.0 L100.0,50 L0.0,50 Z");
  assert.deepEqual([g.min, g.max, g.first, g.last], ["10.00", "30.00", "2026-11-28", "2026-11-30"]);
  assert.equal(chartGeometry([]), null);
  assert.equal(chartGeometry([{ date: "2026-11-28", amount: "1.00" }], { width: 100, height: 50, pad: 0 }).line, "M50.0,0.0");
});
