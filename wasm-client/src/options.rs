//! Option objects accepted by the `Valv` methods. The TypeScript interfaces come from
//! `tsify`; the values are read member by member (no serde at run time, for size) under the
//! same camelCase names, written once as the fields (the `options!` macro), with
//! a clear `invalid_argument` for a member of the wrong type.

use std::borrow::Cow;
use std::cell::Cell;

use js_sys::{Array, Reflect};
use tsify::Tsify;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::AbortSignal;

use crate::validate::{Invalid, Member, Source};

/// Reads members of a caller-supplied JS object. A member of the wrong type reads as absent
/// and is remembered: [`Reader::check`] then fails naming the first one (so reading a whole
/// options object is one pass with one error check, not a `Result` per member).
pub struct Reader<'a> {
    value: &'a JsValue,
    wrong: Cell<Option<(&'static str, &'static str)>>,
}

impl<'a> Reader<'a> {
    /// A reader of `value`'s members.
    pub fn new(value: &'a JsValue) -> Self {
        Self { value, wrong: Cell::new(None) }
    }

    /// `Err` naming the first member read with the wrong type.
    pub fn check(&self) -> Result<(), Invalid> {
        match self.wrong.get() {
            None => Ok(()),
            Some((key, what)) => Err(Invalid(Cow::Owned(["option ", key, " must be ", what].concat()))),
        }
    }

    fn raw(&self, key: &str) -> Option<JsValue> {
        let v = Reflect::get(self.value, &JsValue::from_str(key)).ok()?;
        (!v.is_undefined() && !v.is_null()).then_some(v)
    }

    /// `Some(v)` for a member `read` accepts, else `None` (remembering a wrong one).
    fn member<T>(&self, key: &'static str, what: &'static str, read: impl FnOnce(JsValue) -> Option<T>) -> Option<T> {
        let v = read(self.raw(key)?);
        if v.is_none() && self.wrong.get().is_none() {
            self.wrong.set(Some((key, what)));
        }
        v
    }

    /// An optional string member.
    pub fn string(&self, key: &'static str) -> Option<String> {
        self.member(key, "a string", |v| v.as_string())
    }

    /// An optional number member.
    pub fn number(&self, key: &'static str) -> Option<f64> {
        self.member(key, "a number", |v| v.as_f64())
    }

    /// An optional boolean member.
    pub fn boolean(&self, key: &'static str) -> Option<bool> {
        self.member(key, "a boolean", |v| v.as_bool())
    }

    /// An optional array-of-strings member.
    pub fn strings(&self, key: &'static str) -> Option<Vec<String>> {
        self.member(key, "an array of strings", |v| {
            if !Array::is_array(&v) {
                return None;
            }
            Array::from(&v).iter().map(|s| s.as_string()).collect()
        })
    }

    /// An optional function member.
    pub fn function(&self, key: &'static str) -> Option<js_sys::Function> {
        self.member(key, "a function", |v| v.dyn_into::<js_sys::Function>().ok())
    }

    /// An optional `AbortSignal` member.
    pub fn signal(&self, key: &'static str) -> Option<AbortSignal> {
        self.member(key, "an AbortSignal", |v| v.dyn_into::<AbortSignal>().ok())
    }
}

impl Source for Reader<'_> {
    fn member(&self, path: &[&str]) -> Member {
        let mut v = self.value.clone();
        for p in path {
            if !v.is_object() {
                return Member::Missing;
            }
            v = Reflect::get(&v, &JsValue::from_str(p)).unwrap_or(JsValue::UNDEFINED);
        }
        if v.is_undefined() || v.is_null() {
            Member::Missing
        } else if let Some(s) = v.as_string() {
            Member::Str(s)
        } else if v.as_f64().is_some() {
            Member::Number
        } else if v.is_object() && !Array::is_array(&v) {
            Member::Object
        } else {
            Member::Other
        }
    }
}

/// An options object read from JS.
pub trait FromJs: Sized + Default {
    /// Reads the members.
    fn read(r: &Reader<'_>) -> Result<Self, Invalid>;
}

/// The length of [`camel_case`]`(s)`.
pub const fn camel_len(s: &str) -> usize {
    let b = s.as_bytes();
    let (mut i, mut n) = (0, 0);
    while i < b.len() {
        if b[i] != b'_' {
            n += 1;
        }
        i += 1;
    }
    n
}

/// `snake_case` as `camelCase` (ASCII), at compile time: the member names serde's
/// `rename_all = "camelCase"` gives the TypeScript interfaces.
pub const fn camel_case<const N: usize>(s: &str) -> [u8; N] {
    let b = s.as_bytes();
    let mut out = [0u8; N];
    let (mut i, mut n, mut upper) = (0, 0, false);
    while i < b.len() {
        if b[i] == b'_' {
            upper = true;
        } else {
            out[n] = if upper { b[i].to_ascii_uppercase() } else { b[i] };
            upper = false;
            n += 1;
        }
        i += 1;
    }
    out
}

/// The JS member name of field `$f`.
macro_rules! member {
    ($f:ident) => {{
        const BYTES: [u8; $crate::options::camel_len(stringify!($f))] = $crate::options::camel_case(stringify!($f));
        const NAME: &str = match core::str::from_utf8(&BYTES) {
            Ok(s) => s,
            Err(_) => panic!("a field name is ASCII"),
        };
        NAME
    }};
}

/// An options struct: its TypeScript interface (tsify, camelCase members) and its
/// [`FromJs`], which reads each member with the named [`Reader`] method under the same
/// camelCase name — the names are written once, as the fields.
macro_rules! options {
    ($(#[$attr:meta])* pub struct $name:ident { $($(#[$fattr:meta])* pub $field:ident: $ty:ty => $read:ident,)* }) => {
        $(#[$attr])*
        #[derive(Debug, Default, Tsify)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            $($(#[$fattr])* pub $field: $ty,)*
        }

        impl FromJs for $name {
            fn read(r: &Reader<'_>) -> Result<Self, Invalid> {
                let v = Self { $($field: r.$read(member!($field)),)* };
                r.check()?;
                Ok(v)
            }
        }
    };
}

options! {
    /// `new Valv(options)`.
    pub struct ValvOptions {
        /// Origin (and path prefix) of the broker; `""` (default) is the page's own origin.
        #[tsify(optional)]
        pub base_url: Option<String> => string,
        /// Provider name configured in the broker (default `"seb"`).
        #[tsify(optional)]
        pub provider: Option<String> => string,
        /// Timeout of each HTTP attempt in milliseconds (default 30000; 0 = none).
        #[tsify(optional)]
        pub timeout_ms: Option<f64> => number,
        /// Retries of idempotent requests on network errors, 429, 502, 503 and 504 (default 2, at most 10).
        #[tsify(optional)]
        pub retries: Option<f64> => number,
    }
}

options! {
    /// `login(options)` / `loginUrl(options)`.
    pub struct LoginOptions {
        /// Local path to come back to after login (default: the current path).
        #[tsify(optional)]
        pub return_to: Option<String> => string,
        /// Scopes to ask for (default: the broker's configured scopes).
        #[tsify(optional)]
        pub scopes: Option<Vec<String>> => strings,
        /// The bank's `login_hint` (e.g. a sandbox test person), passed through by the broker.
        #[tsify(optional)]
        pub login_hint: Option<String> => string,
    }
}

options! {
    /// `bankIdLogin(options)`.
    pub struct BankIdOptions {
        /// Local path for the app to go to afterwards (default `/`): checked by the broker and
        /// given back in the `complete` update.
        #[tsify(optional)]
        pub return_to: Option<String> => string,
        /// Scopes to ask for (default: the broker's configured scopes).
        #[tsify(optional)]
        pub scopes: Option<Vec<String>> => strings,
        /// Called with every step: status, hint code, BankID's message, the QR code as SVG and
        /// the link that opens BankID on this device.
        #[tsify(optional, type = "(update: BankIdUpdate) => void")]
        pub on_update: Option<js_sys::Function> => function,
        /// Stops the login (the broker forgets it) and rejects with code `aborted`.
        #[tsify(optional, type = "AbortSignal")]
        pub signal: Option<AbortSignal> => signal,
    }
}

options! {
    /// `signPayment(product, paymentId, options)`.
    pub struct SignOptions {
        /// SCA method (default `"bankIdQr"`: a QR code, and a link that opens BankID on this
        /// device when the bank gives one; `"bankIdSameDevice"`, or any the bank lists).
        #[tsify(optional)]
        pub authentication_method_id: Option<String> => string,
        /// Called with every step: status, BankID's message, the QR code as SVG and the link
        /// that opens BankID on this device.
        #[tsify(optional, type = "(update: BankIdUpdate) => void")]
        pub on_update: Option<js_sys::Function> => function,
        /// Give up after this many ms with code `timeout` (default 300000).
        #[tsify(optional)]
        pub timeout_ms: Option<f64> => number,
        /// Stops following the signing (rejects with code `aborted`); the bank's order expires.
        #[tsify(optional, type = "AbortSignal")]
        pub signal: Option<AbortSignal> => signal,
    }
}

options! {
    /// Options of every call: a standard `AbortSignal` to cancel it.
    pub struct CallOptions {
        /// Cancels the call (rejects with code `aborted`).
        #[tsify(optional, type = "AbortSignal")]
        pub signal: Option<AbortSignal> => signal,
    }
}

options! {
    /// `accounts(options)` / `account(id, options)`.
    pub struct AccountsOptions {
        /// Include balances (`?withBalance=true`).
        #[tsify(optional)]
        pub with_balance: Option<bool> => boolean,
        /// Cancels the call.
        #[tsify(optional, type = "AbortSignal")]
        pub signal: Option<AbortSignal> => signal,
    }
}

options! {
    /// `transactions(accountId, options)`.
    pub struct TransactionsOptions {
        /// `booked` (default), `pending` or `both`.
        #[tsify(optional, type = "\"booked\" | \"pending\" | \"both\"")]
        pub booking_status: Option<String> => string,
        /// First day, `YYYY-MM-DD` (dated calls return a single page).
        #[tsify(optional)]
        pub date_from: Option<String> => string,
        /// Last day, `YYYY-MM-DD`, not before `dateFrom`.
        #[tsify(optional)]
        pub date_to: Option<String> => string,
        /// Cancels the page being fetched.
        #[tsify(optional, type = "AbortSignal")]
        pub signal: Option<AbortSignal> => signal,
    }
}

options! {
    /// `startAuthorisation(product, paymentId, options)`.
    pub struct AuthorisationOptions {
        /// SCA method (default `"mobiltbankid"`).
        #[tsify(optional)]
        pub authentication_method_id: Option<String> => string,
        /// Cancels the call.
        #[tsify(optional, type = "AbortSignal")]
        pub signal: Option<AbortSignal> => signal,
    }
}

options! {
    /// `waitForPayment(product, paymentId, options)`.
    pub struct WaitOptions {
        /// First polling interval in ms (default 1000); grows 1.5× per poll.
        #[tsify(optional)]
        pub interval_ms: Option<f64> => number,
        /// Longest polling interval in ms (default 10000).
        #[tsify(optional)]
        pub max_interval_ms: Option<f64> => number,
        /// Give up after this many ms with code `timeout` (default 300000).
        #[tsify(optional)]
        pub timeout_ms: Option<f64> => number,
        /// Stops waiting (rejects with code `aborted`).
        #[tsify(optional, type = "AbortSignal")]
        pub signal: Option<AbortSignal> => signal,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn members_are_the_fields_in_camel_case() {
        assert_eq!(member!(authentication_method_id), "authenticationMethodId");
        assert_eq!(member!(max_interval_ms), "maxIntervalMs");
        assert_eq!(member!(signal), "signal");
        assert_eq!(super::camel_len("with_balance"), 11);
    }
}
