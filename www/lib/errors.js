// What a person can do about a failed call: a ValvError (its stable `code`) turned into a
// title, a sentence and the action that helps.

/**
 * `{ title, detail, action, requestId }` for `err`. `action` is `"retry"` (try again now or
 * soon), `"signin"` (the session is over), `"fix"` (the input was refused) or `null`.
 */
export function explain(err) {
  const code = err && typeof err === "object" ? err.code : undefined;
  const requestId = err && err.requestId ? err.requestId : undefined;
  const known = MESSAGES[code];
  if (code === "bank_error") return { ...bankError(err), requestId };
  if (known) return { ...known, requestId };
  return { title: "Something went wrong", detail: String(err && err.message ? err.message : err), action: "retry", requestId };
}

const MESSAGES = {
  unauthenticated: { title: "You are signed out", detail: "Sign in with your bank to go on.", action: "signin" },
  session_expired: { title: "Your session has ended", detail: "For your security you were signed out. Sign in again to go on.", action: "signin" },
  rate_limited: { title: "Too many requests", detail: "You are going faster than the bank allows. Wait a few seconds and try again.", action: "retry" },
  upstream_unavailable: { title: "The bank is not answering", detail: "SEB could not be reached just now. Your data is safe; try again in a moment.", action: "retry" },
  upstream_timeout: { title: "The bank is slow to answer", detail: "SEB took too long to answer. Try again in a moment.", action: "retry" },
  network: { title: "You seem to be offline", detail: "The app could not reach its server. Check your connection and try again.", action: "retry" },
  timeout: { title: "That took too long", detail: "No answer came in time. Try again.", action: "retry" },
  store_unavailable: { title: "Sign-in is unavailable", detail: "The app's server cannot keep sessions just now. Try again in a minute.", action: "retry" },
  internal: { title: "Something went wrong on our side", detail: "Try again; if it keeps happening, contact support with the reference below.", action: "retry" },
  csrf: { title: "The request was refused", detail: "Reload the page and try again.", action: "retry" },
  route_not_allowed: { title: "Not available in this app", detail: "This app may not make that call to the bank.", action: null },
  bad_request: { title: "The request was refused", detail: "Check what you entered and try again.", action: "fix" },
  payload_too_large: { title: "Too much data", detail: "Shorten what you entered and try again.", action: "fix" },
  invalid_argument: { title: "Check the details", detail: "Some of what you entered is not valid.", action: "fix" },
  aborted: { title: "Stopped", detail: "The request was stopped.", action: null },
  login_failed: { title: "You are not signed in", detail: "The Mobile BankID sign-in did not finish. Try again.", action: "retry" },
  sca_failed: { title: "The payment is not signed", detail: "The Mobile BankID signing did not finish. Try again.", action: "retry" },
};

/** A refusal from the bank itself: its own words when it gave some. */
function bankError(err) {
  const status = err.status;
  const said = err.message && err.message !== "the bank refused the request" ? err.message : null;
  if (status === 429) return { title: "The bank is limiting requests", detail: said || "Wait a moment and try again.", action: "retry" };
  if (status >= 500) return { title: "The bank is having problems", detail: "SEB answered with an error. Try again in a moment.", action: "retry" };
  return { title: "The bank refused this", detail: said || "SEB did not accept the request.", action: "fix" };
}

/**
 * `invalid_argument` messages from valv-client's payment check (`"payment is invalid:
 * creditorAccount.bgnr: …; creditorAccountMessage: …"`) as `[{ path, message }]`.
 */
export function fieldErrors(message) {
  const prefix = "payment is invalid: ";
  if (typeof message !== "string" || !message.startsWith(prefix)) return [];
  return message.slice(prefix.length).split("; ").map((part) => {
    const at = part.indexOf(": ");
    return at < 0 ? { path: "", message: part } : { path: part.slice(0, at), message: part.slice(at + 2) };
  });
}

/** A login that came back as `?valvError=<code>`, as a notice. */
export function loginError(code) {
  const said = LOGIN_ERRORS[code];
  return said
    ? { title: "The sign-in did not finish", detail: said, action: null }
    : { title: "The sign-in did not finish", detail: `The bank or the app refused it (${code}). Please try again.`, action: null };
}

const LOGIN_ERRORS = {
  access_denied: "You cancelled the login at the bank.",
  invalid_grant: "The bank did not accept the login (the code expired or was already used). Please sign in again.",
  upstream_unavailable: "The bank could not be reached to finish the login. Please try again.",
  upstream_timeout: "The bank took too long to finish the login. Please try again.",
  store_unavailable: "The app could not save your session just now. Please try again in a minute.",
  rate_limited: "Too many sign-ins from here in a short time. Wait a minute and try again.",
};
