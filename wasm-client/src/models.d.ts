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

/** `GET /auth/session`. Never contains a token. */
export interface Session {
  authenticated: boolean;
  provider?: string;
  scopes?: string[];
  /** RFC 3339 time the access token expires (the broker refreshes it). */
  accessExpiresAt?: string;
  /** RFC 3339 time the session ends. */
  sessionExpiresAt?: string;
}

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

/** Hypermedia links: `{ next: { href: "/accounts/…" } }` (hrefs relative to the API base path). */
export type Links = Record<string, { href: string }>;

/** An exact money amount. `amount` is decimal text such as `"40055.940"`, never a float. */
export interface Amount { amount: string; currency: string; }

/** Identifies an account; which member is needed depends on the payment product. */
export interface AccountReference {
  iban?: string; bban?: string; bgnr?: string; pgnr?: string; pan?: string;
  maskedPan?: string; msisdn?: string; bic?: string; currency?: string;
}

export type BalanceType =
  | "closingBooked" | "expected" | "openingBooked" | "interimAvailable" | "interimBooked"
  | "forwardAvailable" | "nonInvoiced" | (string & {});

export interface Balance {
  balanceAmount: Amount;
  balanceType: BalanceType;
  creditLimitIncluded?: boolean;
  lastChangeDateTime?: string;
  referenceDate?: string;
  lastCommittedTransaction?: string;
}

/** An account (`GET /accounts`, `GET /accounts/{id}`). */
export interface Account {
  resourceId?: string; iban?: string; bban?: string; bic?: string; msisdn?: string;
  currency?: string; name?: string; displayName?: string; product?: string;
  cashAccountType?: string; status?: "enabled" | "deleted" | "blocked" | (string & {});
  usage?: string; details?: string; ownerName?: string;
  /** Decimal text, e.g. `"20000.000"`. */
  creditLine?: string;
  balances?: Balance[];
  _links?: Links;
  [member: string]: unknown;
}

export type BookingStatus = "booked" | "pending" | "both";

/** A booked or pending transaction (also the body of `transaction()`). */
export interface Transaction {
  transactionId?: string; entryReference?: string; endToEndId?: string;
  bookingDate?: string; valueDate?: string; transactionDate?: string;
  transactionAmount: Amount; originalAmount?: Amount; currencyExchange?: unknown;
  creditorName?: string; creditorAccount?: AccountReference;
  debtorName?: string; debtorAccount?: AccountReference;
  remittanceInformationUnstructured?: string;
  remittanceInformationUnstructuredArray?: string[];
  remittanceInformationStructured?: unknown;
  descriptiveText?: string;
  proprietaryBankTransactionCode?: string; proprietaryBankTransactionCodeText?: string;
  bankTransactionCode?: string;
  balanceAfterTransaction?: Balance | Amount;
  pendingType?: "upcoming" | "reserved" | (string & {});
  additionalInformation?: string;
  _links?: Links;
  [member: string]: unknown;
}

/** One page of `transactions()`. */
export interface TransactionsPage {
  account?: AccountReference;
  transactions: { booked?: Transaction[]; pending?: Transaction[]; information?: Transaction[]; _links?: Links };
  balances?: Balance[];
  _links?: Links;
}

export type TransactionStatus =
  | "ACCC" | "ACCP" | "ACSC" | "ACSP" | "ACTC" | "ACWC" | "ACWP" | "RCVD" | "PDNG"
  | "RJCT" | "CANC" | "ACFC" | "PATC" | "PART" | (string & {});

export type ScaStatus =
  | "received" | "psuIdentified" | "psuAuthenticated" | "scaMethodSelected" | "started"
  | "unconfirmed" | "finalised" | "failed" | "exempted" | (string & {});

export type PaymentProduct =
  | "swedish-domestic-private-credit-transfers" | "swedish-domestic-private-bankgiros"
  | "swedish-domestic-private-plusgiros" | "swedish-domestic-private-own-accounts-transfers"
  | "sepa-credit-transfers" | "cross-border-credit-transfers" | "high-value-credit-transfers"
  | (string & {});

/** A Berlin Group message; SEB also sends plain strings. */
export type TppMessage =
  | string
  | { category?: "ERROR" | "WARNING" | (string & {}); code?: string; path?: string; text?: string };

/** An SCA method, e.g. `{ authenticationMethodId: "mobiltbankid" }`. */
export interface AuthenticationObject {
  authenticationMethodId?: string; authenticationType?: string; authenticationVersion?: string;
  name?: string; explanation?: string;
}

/** A payment to initiate (`POST /payments/{product}`), and the body of `payment()`. */
export interface PaymentInitiation {
  templateId?: PaymentProduct;
  instructedAmount: Amount;
  debtorAccount: AccountReference;
  creditorAccount: AccountReference;
  creditorName?: string;
  creditorAddress?: { street?: string; buildingNumber?: string; city?: string; postalCode?: string; country?: string };
  creditorAgentBic?: string;
  creditorAgentOther?: { clearingSystemId?: string; memberId?: string };
  creditorDetails?: unknown;
  /** Message to the payee (≤ 12 characters for Swedish domestic transfers). */
  creditorAccountMessage?: string;
  debtorAccountMessage?: string;
  debtorAgentBic?: string;
  debtorReceipt?: boolean;
  intermediaryAgentBic?: string;
  endToEndIdentification?: string;
  instructionId?: string;
  bankCharges?: string;
  categoryPurpose?: string;
  chargeBearer?: string;
  regulatoryReporting?: { debitCreditReportingIndicator?: string; reportingCode?: string; reportingInformation?: string }[];
  remittanceInformationStructured?: { reference?: string; referenceType?: string; referenceIssuer?: string };
  remittanceInformationUnstructured?: string;
  /** `YYYY-MM-DD`. */
  requestedExecutionDate?: string;
  startDate?: string; endDate?: string; frequency?: string; executionRule?: string; dayOfExecution?: string;
  /** In `payment()` responses. */
  transactionStatus?: TransactionStatus;
  [member: string]: unknown;
}

/** 201 response of `initiatePayment()`. */
export interface PaymentInitiationResponse {
  paymentId: string;
  transactionStatus?: TransactionStatus;
  templateId?: PaymentProduct;
  instructedAmount?: Amount;
  debtorAccount?: AccountReference;
  creditorAccount?: AccountReference;
  creditorName?: string;
  creditorAccountMessage?: string;
  debtorAccountMessage?: string;
  remittanceInformationStructured?: { reference?: string; referenceType?: string; referenceIssuer?: string };
  remittanceInformationUnstructured?: string;
  requestedExecutionDate?: string;
  startDate?: string;
  endDate?: string;
  frequency?: string;
  scaMethods?: AuthenticationObject[];
  chosenScaMethod?: AuthenticationObject;
  scaStatus?: ScaStatus;
  psuMessage?: string;
  tppMessages?: TppMessage[];
  _links?: Links;
  [member: string]: unknown;
}

/** `paymentStatus()` / `waitForPayment()`. */
export interface PaymentStatusResponse {
  transactionStatus: TransactionStatus;
  fundsAvailable?: boolean;
  scaMethods?: AuthenticationObject[];
  chosenScaMethod?: AuthenticationObject;
  scaStatus?: ScaStatus;
  psuMessage?: string;
  tppMessages?: TppMessage[];
  _links?: Links;
}

/** `cancelPayment()`: `null` for SEB's 204, else the 202 body. */
export interface PaymentCancellationResponse {
  transactionStatus: TransactionStatus;
  scaMethods?: AuthenticationObject[];
  chosenScaMethod?: AuthenticationObject;
  _links?: Links;
}

/** An SCA authorisation (`startAuthorisation()`, `authorisationStatus()`). */
export interface Authorisation {
  authorisationId?: string;
  scaStatus: ScaStatus;
  /** For signing baskets. */
  basketId?: string;
  paymentIds?: string[];
  scaMethods?: AuthenticationObject[];
  chosenScaMethod?: AuthenticationObject;
  challengeData?: unknown;
  /** E.g. "Signera med mobilt BankID". */
  psuMessage?: string;
  /** BankID's animated QR data, new every second (SEB, method `bankIdQr`). */
  qrData?: string;
  /** Starts BankID on this device (SEB, `bankIdSameDevice`). */
  autoStartToken?: string;
  tppMessages?: TppMessage[];
  _links?: Links;
}

/** An entry of `templates()`. */
export interface TemplateSummary { templateId: PaymentProduct; description?: string; scope?: string[]; }

/** `fundsConfirmation()` request. */
export interface FundsConfirmationRequest {
  account: AccountReference;
  instructedAmount: Amount;
  cardNumber?: string;
  payee?: string;
}

export interface FundsConfirmationResponse { fundsAvailable: boolean; }

/** An RFC 7807 bank error body with Berlin Group members. */
export interface ProblemDetails {
  type?: string; title?: string; status?: number; detail?: string; code?: string; instance?: string;
  additionalErrors?: { title?: string; detail?: string; code?: string }[];
  tppMessages?: TppMessage[];
  _links?: Links;
}
