// Dates and times for people, in the user's locale (sv-SE by default).

/** `"2026-12-01"` → `"1 dec. 2026"` (sv-SE); the date as it is, whatever the time zone. */
export function formatDate(iso, locale = "sv-SE") {
  if (!iso) return "–";
  const [y, m, d] = iso.split("-").map(Number);
  return new Intl.DateTimeFormat(locale, { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" })
    .format(new Date(Date.UTC(y, m - 1, d)));
}

/** An RFC 3339 instant → `"1 dec. 2026 20:48"` in the user's time zone. */
export function formatDateTime(rfc3339, locale = "sv-SE", timeZone = undefined) {
  if (!rfc3339) return "–";
  return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short", timeZone }).format(new Date(rfc3339));
}

/** Seconds left until `rfc3339` at `now` (ms) as `"4 min 10 s"`; `"0 s"` once past. */
export function timeLeft(rfc3339, now = Date.now()) {
  let s = Math.max(0, Math.floor((Date.parse(rfc3339) - now) / 1000));
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (h > 0) return `${h} h ${m} min`;
  if (m > 0) return `${m} min ${s} s`;
  return `${s} s`;
}
