// JavaScript side of valv-client: the error class, the loop that drives an operation, the
// broker request (fetch with the broker's headers, a timeout and an AbortSignal), an
// abortable sleep, JSON parsing that keeps amounts as strings, the page's address, language
// and navigation to a login, the session-change listeners with their cross-tab channel and
// login mark, and the async-iterator adapter.

/** Every rejection of valv-client: a real `Error` with the broker's or the client's code. */
export class ValvError extends Error {
  constructor(message, code, status, requestId, body) {
    super(message);
    this.name = "ValvError";
    /** Broker code (`session_expired`, …) or client code (`network`, `timeout`, …). */
    this.code = code;
    /** HTTP status, 0 when there was no HTTP answer. */
    this.status = status;
    /** The `X-Request-ID` of the failed request, for support and logs. */
    this.requestId = requestId;
    /** The parsed error body (the bank's RFC 7807 / tppMessages body for `bank_error`). */
    this.body = body;
  }
}

// fetch(url) from the page's origin with the session cookie, the broker's headers (their names
// come from Rust: the wire contract), a per-call timeout and the caller's AbortSignal.
// Resolves with [status, bodyText, Retry-After, the answer's request id]; rejects with
// "timeout", "aborted" or "network".
export async function send(url, method, body, csrfHeader, csrfValue, idHeader, id, timeoutMs, signal) {
  if (signal && signal.aborted) throw "aborted";
  const headers = { Accept: "application/json", [csrfHeader]: csrfValue, [idHeader]: id };
  if (body != null) headers["Content-Type"] = "application/json";
  const ctrl = new AbortController();
  let why = "network";
  const onAbort = () => { why = "aborted"; ctrl.abort(); };
  const timer = timeoutMs > 0 ? setTimeout(() => { why = "timeout"; ctrl.abort(); }, timeoutMs) : 0;
  if (signal) signal.addEventListener("abort", onAbort, { once: true });
  try {
    const response = await fetch(url, { method, headers, body: body ?? undefined, credentials: "include", signal: ctrl.signal });
    const text = await response.text();
    return [response.status, text, response.headers.get("Retry-After"), response.headers.get(idHeader)];
  } catch (_) {
    throw ctrl.signal.aborted ? why : "network";
  } finally {
    clearTimeout(timer);
    if (signal) signal.removeEventListener("abort", onAbort);
  }
}

// Runs one of the client's operations (a Rust `Run`): `run.step` is told how the promise it
// returned last settled and returns the next promise to wait for, or the operation's result
// (it throws the operation's ValvError). The first step waits for the caller's synchronous
// code to finish, so a signal aborted right after the call stops the request before it is
// sent. The operation's memory is freed when it ends.
export async function drive(run) {
  try {
    await null;
    let ok, value;
    for (;;) {
      const next = run.step(ok, value);
      if (!(next instanceof Promise)) return next;
      try {
        value = await next;
        ok = true;
      } catch (e) {
        value = e;
        ok = false;
      }
    }
  } finally {
    // After a trap in the wasm the Run is still borrowed and cannot be freed: keep the
    // trap's error, not the free's.
    try {
      run.free();
    } catch (_) { /* the wasm trapped; its memory is lost with it */ }
  }
}

// The page's address without its origin (path, query and fragment): where a login returns
// to by default; `undefined` outside a browser window.
export function here() {
  const l = globalThis.window?.location;
  return l ? l.pathname + l.search + l.hash : undefined;
}

// Navigates the page to a login at `url`, first leaving `mark` in sessionStorage so that the
// return from the bank reports `login`; false outside a browser window.
export function navigate(url, mark) {
  const w = globalThis.window;
  if (!w) return false;
  try {
    w.sessionStorage.setItem(mark, "1");
  } catch (_) { /* no storage here: the return is still seen by session() */ }
  w.location.assign(url);
  return true;
}

// Whether `mark` was in sessionStorage; removes it.
export function takeMark(mark) {
  try {
    const s = globalThis.window?.sessionStorage;
    if (s == null || s.getItem(mark) == null) return false;
    s.removeItem(mark);
    return true;
  } catch (_) {
    return false;
  }
}

// The page's language: `<html lang>`, else the browser's.
export function language() {
  const lang = globalThis.document?.documentElement?.lang;
  return lang || globalThis.navigator?.language || "";
}

// Resolves after `ms`, rejects with "aborted" when `signal` aborts first.
export function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal && signal.aborted) return reject("aborted");
    const onAbort = () => { clearTimeout(timer); reject("aborted"); };
    const timer = setTimeout(() => {
      if (signal) signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    if (signal) signal.addEventListener("abort", onAbort, { once: true });
  });
}

// An `amount` sent as a JSON number keeps its exact source text (where the engine
// supports JSON.parse source access) and becomes a string: amounts are never floats.
function keepAmounts(key, value, context) {
  if (key === "amount" && typeof value === "number") {
    return context && typeof context.source === "string" ? context.source : String(value);
  }
  return value;
}

// Parses JSON text; `null` for an empty body, `undefined` when it is not JSON.
export function parseJson(text) {
  if (!text) return null;
  try {
    return JSON.parse(text, keepAmounts);
  } catch (_) {
    return undefined;
  }
}

// A client's session changes: its listeners in this tab and the BroadcastChannel to the other
// tabs, with what the client last knew of the session (`authenticated`: true, false or
// undefined). A change from another tab reaches this tab's listeners.
export class SessionEvents {
  constructor(channelName) {
    this.listeners = new Set();
    this.authenticated = undefined;
    try {
      this.channel = new BroadcastChannel(channelName);
    } catch (_) {
      this.channel = null;
    }
    if (this.channel) {
      this.channel.onmessage = (e) => {
        const d = e.data;
        if (d && typeof d.authenticated === "boolean") {
          this.authenticated = d.authenticated;
          this.emit(d);
        }
      };
    }
  }

  // Adds a listener (the same function twice is two listeners); returns the function that
  // removes this one.
  on(callback) {
    const entry = (change) => callback(change);
    this.listeners.add(entry);
    return () => { this.listeners.delete(entry); };
  }

  // A throwing listener does not stop the others or the caller.
  emit(change) {
    for (const f of [...this.listeners]) {
      try { f(change); } catch (_) { /* the listener's own failure */ }
    }
  }

  // This tab's change: to the other tabs, then to the listeners here.
  change(type, authenticated, code) {
    this.authenticated = authenticated;
    const change = code ? { type, authenticated, code } : { type, authenticated };
    if (this.channel) this.channel.postMessage(change);
    this.emit(change);
  }

  close() {
    if (this.channel) {
      this.channel.onmessage = null;
      this.channel.close();
    }
  }
}

// Wraps a Rust pages object (with `next()` and `finish()`) as an async iterable iterator.
export function iterable(pages) {
  return {
    next: () => pages.next(),
    return: (value) => { pages.finish(); return Promise.resolve({ done: true, value }); },
    [Symbol.asyncIterator]() { return this; },
  };
}
