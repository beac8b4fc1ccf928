//! Option objects accepted by the `Valv` methods (TypeScript interfaces come from `tsify`).

use serde::Deserialize;
use tsify::Tsify;
use wasm_bindgen::JsValue;

/// `new Valv(options)`.
#[derive(Debug, Default, Deserialize, Tsify)]
#[serde(rename_all = "camelCase", default)]
pub struct ValvOptions {
    /// Origin (and path prefix) of the broker; `""` (default) is the page's own origin.
    #[tsify(optional)]
    pub base_url: Option<String>,
    /// Provider name configured in the broker (default `"seb"`).
    #[tsify(optional)]
    pub provider: Option<String>,
    /// Timeout of each HTTP attempt in milliseconds (default 30000; 0 = none).
    #[tsify(optional)]
    pub timeout_ms: Option<f64>,
    /// Retries of idempotent requests on network errors, 429, 502, 503 and 504 (default 2).
    #[tsify(optional)]
    pub retries: Option<u32>,
}

/// `login(options)` / `loginUrl(options)`.
#[derive(Debug, Default, Deserialize, Tsify)]
#[serde(rename_all = "camelCase", default)]
pub struct LoginOptions {
    /// Local path to come back to after login (default: the current path).
    #[tsify(optional)]
    pub return_to: Option<String>,
    /// Scopes to ask for (default: the broker's configured scopes).
    #[tsify(optional)]
    pub scopes: Option<Vec<String>>,
    /// The bank's `login_hint` (e.g. a sandbox test person), passed through by the broker.
    #[tsify(optional)]
    pub login_hint: Option<String>,
}

/// Options of every call: a standard `AbortSignal` to cancel it.
#[derive(Debug, Default, Deserialize, Tsify)]
#[serde(rename_all = "camelCase", default)]
pub struct CallOptions {
    /// Cancels the call (rejects with code `aborted`).
    #[serde(with = "serde_wasm_bindgen::preserve")]
    #[tsify(optional, type = "AbortSignal")]
    pub signal: JsValue,
}

/// `accounts(options)` / `account(id, options)`.
#[derive(Debug, Default, Deserialize, Tsify)]
#[serde(rename_all = "camelCase", default)]
pub struct AccountsOptions {
    /// Include balances (`?withBalance=true`).
    #[tsify(optional)]
    pub with_balance: Option<bool>,
    /// Cancels the call.
    #[serde(with = "serde_wasm_bindgen::preserve")]
    #[tsify(optional, type = "AbortSignal")]
    pub signal: JsValue,
}

/// `transactions(accountId, options)`.
#[derive(Debug, Default, Deserialize, Tsify)]
#[serde(rename_all = "camelCase", default)]
pub struct TransactionsOptions {
    /// `booked` (default), `pending` or `both`.
    #[tsify(optional, type = "BookingStatus")]
    pub booking_status: Option<String>,
    /// First day, `YYYY-MM-DD` (dated calls return a single page).
    #[tsify(optional)]
    pub date_from: Option<String>,
    /// Last day, `YYYY-MM-DD`, not before `dateFrom`.
    #[tsify(optional)]
    pub date_to: Option<String>,
    /// Cancels the page being fetched.
    #[serde(with = "serde_wasm_bindgen::preserve")]
    #[tsify(optional, type = "AbortSignal")]
    pub signal: JsValue,
}

/// `startAuthorisation(product, paymentId, options)`.
#[derive(Debug, Default, Deserialize, Tsify)]
#[serde(rename_all = "camelCase", default)]
pub struct AuthorisationOptions {
    /// SCA method (default `"mobiltbankid"`).
    #[tsify(optional)]
    pub authentication_method_id: Option<String>,
    /// Cancels the call.
    #[serde(with = "serde_wasm_bindgen::preserve")]
    #[tsify(optional, type = "AbortSignal")]
    pub signal: JsValue,
}

/// `waitForPayment(product, paymentId, options)`.
#[derive(Debug, Default, Deserialize, Tsify)]
#[serde(rename_all = "camelCase", default)]
pub struct WaitOptions {
    /// First polling interval in ms (default 1000); grows 1.5× per poll.
    #[tsify(optional)]
    pub interval_ms: Option<f64>,
    /// Longest polling interval in ms (default 10000).
    #[tsify(optional)]
    pub max_interval_ms: Option<f64>,
    /// Give up after this many ms with code `timeout` (default 300000).
    #[tsify(optional)]
    pub timeout_ms: Option<f64>,
    /// Stops waiting (rejects with code `aborted`).
    #[serde(with = "serde_wasm_bindgen::preserve")]
    #[tsify(optional, type = "AbortSignal")]
    pub signal: JsValue,
}
