/* The client's own TypeScript types; the models come from valv-psd2 and valv-wire. */
/** The `code` of a {@link ValvError}: the broker's codes, then the client's own. */
export type ValvErrorCode =
  | "unauthenticated" | "session_expired" | "csrf" | "route_not_allowed" | "bad_request"
  | "payload_too_large" | "rate_limited" | "upstream_unavailable" | "upstream_timeout"
  | "internal" | "store_unavailable" | "network" | "timeout" | "aborted" | "bank_error" | "invalid_argument" | "login_failed"
  | "sca_failed";

/**
 * Every rejection of valv-client. `instanceof ValvError` works; `stack` is the usual one.
 */
export class ValvError extends Error {
  constructor(message: string, code: ValvErrorCode, status: number, requestId?: string, body?: unknown);
  readonly name: "ValvError";
  /** What went wrong, as a stable code. */
  readonly code: ValvErrorCode;
  /** HTTP status of the failed response; 0 when there was no HTTP answer. */
  readonly status: number;
  /** The request's `X-Request-ID` (quote it to support). */
  readonly requestId?: string;
  /** The parsed error body: for `bank_error` the bank's RFC 7807 / tppMessages body. */
  readonly body?: ProblemDetails | BrokerErrorBody | unknown;
}

/** A broker error body. */
export interface BrokerErrorBody { error: ValvErrorCode; message: string; requestId: string; }

/** `GET /auth/session` (the wire contract's `SessionInfo`). Never contains a token. */
export type Session = SessionInfo;

/** One step of `bankIdLogin` or `signPayment`, as `onUpdate` receives it. */
export interface BankIdUpdate {
  /** `pending` until the person has signed (`complete`) or it ended unsigned (`failed`). */
  status: "pending" | "complete" | "failed";
  /** BankID's hint code (`outstandingTransaction`, `userSign`, `userCancel`, … or one BankID added later); logins only. */
  hintCode?: string;
  /** BankID's recommended text for this step, in Swedish when the page is (`<html lang="sv">`), else English. */
  message: string;
  /** The QR code to show (an SVG document; a new one about every second), when BankID is scanned from another device. */
  qrSvg?: string;
  /** Opens BankID on this device: `bankid:///?autostarttoken=…&redirect=null`. */
  autoStartUrl?: string;
}

/** What `onSessionChange` listeners receive. */
export interface SessionChange {
  /** `login`: the session became authenticated; `logout`: logged out; `expired`: the broker answered 401. */
  type: "login" | "logout" | "expired";
  authenticated: boolean;
  /** For `expired`: `session_expired` or `unauthenticated`. */
  code?: "session_expired" | "unauthenticated";
}

// The models are valv-psd2's types, declared from the Rust types (tsify) above or below
// this section; these are the names the methods use for them.

/** An account (`accounts()`, `account()`). */
export type Account = AccountDetails;

/** One page of `transactions()`. */
export type TransactionsPage = TransactionsResponse;

/** An RFC 7807 bank error body with Berlin Group members (the `body` of a `bank_error`). */
export type ProblemDetails = Problem;
