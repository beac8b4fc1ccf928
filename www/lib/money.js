// Amounts as banks send them ("-1234.50" in a string) — exact: parsed to integer minor
// units (BigInt), formatted by Intl from the decimal string, never through a float.

const AMOUNT = /^(-)?(\d+)(?:\.(\d+))?$/;

/** `"-12.5"` → `{ units: -125n, scale: 1 }`; throws on anything that is not a decimal. */
export function parseAmount(text) {
  const m = AMOUNT.exec(String(text).trim());
  if (!m) throw new RangeError(`not a decimal amount: ${JSON.stringify(text)}`);
  const [, minus, whole, fraction = ""] = m;
  const units = BigInt(whole + fraction) * (minus ? -1n : 1n);
  return { units, scale: fraction.length };
}

/** `amount` in units of 10^-`scale` (more decimals than `scale` are refused, not rounded). */
export function toUnits(text, scale) {
  const a = parseAmount(text);
  if (a.scale > scale) {
    const drop = 10n ** BigInt(a.scale - scale);
    if (a.units % drop !== 0n) throw new RangeError(`${text} has more than ${scale} decimals`);
    return a.units / drop;
  }
  return a.units * 10n ** BigInt(scale - a.scale);
}

/** Units of 10^-`scale` back to a decimal string (`-125n, 2` → `"-1.25"`). */
export function fromUnits(units, scale) {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(scale + 1, "0");
  const whole = digits.slice(0, digits.length - scale);
  const fraction = scale > 0 ? "." + digits.slice(digits.length - scale) : "";
  return (negative ? "-" : "") + whole + fraction;
}

/** `{ amount, currency }` for people: `"1 234,50 kr"` in sv-SE. Exact for any size. */
export function formatMoney(money, locale = "sv-SE") {
  if (!money || money.amount === undefined) return "–";
  parseAmount(money.amount); // refuse what is not a decimal before Intl reads it
  const format = new Intl.NumberFormat(locale, { style: "currency", currency: money.currency || "SEK" });
  // Intl.NumberFormat reads a string as an exact decimal (ECMA-402 NumberFormat v3).
  return format.format(money.amount);
}
