// The balance over time, drawn from an account's booked transactions: walking back from
// the current booked balance, each day's closing balance (exact, in minor units), and the
// geometry of an SVG line chart of it.

import { toUnits, fromUnits } from "./money.js";

const SCALE = 2;

/**
 * Closing balance per day, oldest first: `[{ date, amount }]` (`amount` a decimal string).
 * `balance` is the current booked balance `{ amount }`; `transactions` are booked ones with
 * `bookingDate` and `transactionAmount.amount`, in any order.
 */
export function balanceHistory(balance, transactions) {
  let running = toUnits(balance.amount, SCALE);
  const byDate = new Map();
  for (const t of transactions) {
    if (!t.bookingDate || !t.transactionAmount) continue;
    byDate.set(t.bookingDate, (byDate.get(t.bookingDate) ?? 0n) + toUnits(t.transactionAmount.amount, SCALE));
  }
  const days = [...byDate.keys()].sort().reverse();
  const points = [];
  for (const date of days) {
    points.push({ date, amount: fromUnits(running, SCALE) });
    running -= byDate.get(date); // the closing balance of the day before
  }
  return points.reverse();
}

/**
 * Geometry of a line chart of `points` in a `width` × `height` box with `pad` around:
 * `{ line, area, min, max, first, last }` — SVG path data and the extremes (strings) for
 * labels. Pixel positions are the only floats; amounts stay exact.
 */
export function chartGeometry(points, { width = 600, height = 200, pad = 8 } = {}) {
  if (points.length === 0) return null;
  const units = points.map((p) => toUnits(p.amount, SCALE));
  let lo = units[0];
  let hi = units[0];
  for (const u of units) {
    if (u < lo) lo = u;
    if (u > hi) hi = u;
  }
  const span = hi - lo === 0n ? 1n : hi - lo;
  const x = (i) => (points.length === 1 ? width / 2 : pad + (i * (width - 2 * pad)) / (points.length - 1));
  const y = (u) => pad + (Number(hi - u) / Number(span)) * (height - 2 * pad);
  const coords = units.map((u, i) => `${x(i).toFixed(1)},${y(u).toFixed(1)}`);
  const line = "M" + coords.join(" L");
  const area = `${line} L${x(points.length - 1).toFixed(1)},${height - pad} L${x(0).toFixed(1)},${height - pad} Z`;
  return {
    line,
    area,
    min: fromUnits(lo, SCALE),
    max: fromUnits(hi, SCALE),
    first: points[0].date,
    last: points[points.length - 1].date,
  };
}
