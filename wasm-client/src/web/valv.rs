//! The `Valv` class: construction, the session and login calls, `onSessionChange` and
//! `request()`.

use std::rc::Rc;

use js_sys::{Function, Promise, JSON};
use tsify::Ts;
use wasm_bindgen::prelude::*;

use super::args::{login_args, opts, retries_option};
use super::events::{CHANNEL, LOGIN_MARK};
use super::failure::{Failure, Res};
use super::ffi::{here, navigate, SessionEvents};
use super::op::{Op, Task};
use super::transport::Inner;
use crate::error::ErrorCode;
use crate::options::{CallOptions, LoginOptions, ValvOptions};
use crate::paths::{self};
use crate::retry::RetryPolicy;

/// Client for a Valv broker: typed PSD2 calls with the session cookie, never a token.
///
/// ```js
/// const valv = new Valv({ baseUrl: "", provider: "seb" });
/// ```
#[wasm_bindgen]
pub struct Valv {
    pub(super) inner: Rc<Inner>,
}

#[wasm_bindgen]
impl Valv {
    /// Creates a client. `baseUrl` is the broker's origin (`""` = this page's origin),
    /// `provider` the broker's provider name (`"seb"`), `timeoutMs` the per-attempt
    /// timeout (30000), `retries` the retries of idempotent requests (2).
    #[wasm_bindgen(constructor)]
    pub fn new(options: Option<Ts<ValvOptions>>) -> Result<Valv, JsValue> {
        let o = opts(options).map_err(Failure::into_js)?;
        let provider = o.provider.unwrap_or_else(|| "seb".to_owned());
        if provider.is_empty() {
            return Err(Failure::new(ErrorCode::InvalidArgument, "provider must not be empty").into_js());
        }
        let timeout_ms = o.timeout_ms.unwrap_or(30_000.0);
        if !timeout_ms.is_finite() || timeout_ms < 0.0 {
            return Err(Failure::new(ErrorCode::InvalidArgument, "timeoutMs must be a non-negative number").into_js());
        }
        let policy = RetryPolicy { retries: retries_option(o.retries).map_err(Failure::into_js)?, ..RetryPolicy::default() };
        let inner = Rc::new(Inner {
            base_url: paths::normalize_base_url(o.base_url.as_deref().unwrap_or("")).to_owned(),
            provider,
            timeout_ms,
            policy,
            events: SessionEvents::new(CHANNEL),
        });
        Ok(Valv { inner })
    }

    /// The broker session: `{ authenticated, provider, scopes, accessExpiresAt, sessionExpiresAt }`.
    /// Never contains a token. Fires `login` on listeners when the session became authenticated.
    #[wasm_bindgen(unchecked_return_type = "Promise<Session>")]
    pub fn session(&self, options: Option<Ts<CallOptions>>) -> Promise {
        self.start(opts(options).map(|o| Task::new(Op::Session, o.signal)))
    }

    /// The broker URL that starts a login (what `login()` navigates to).
    #[wasm_bindgen(js_name = loginUrl)]
    pub fn login_url(&self, options: Option<Ts<LoginOptions>>) -> Result<String, JsValue> {
        let o = opts(options).map_err(Failure::into_js)?;
        let return_to = match o.return_to {
            Some(r) => Some(r),
            None => here(),
        };
        let scopes = o.scopes.unwrap_or_default();
        login_args(return_to.as_deref(), &scopes).map_err(Failure::into_js)?;
        Ok(paths::login_url(
            &self.inner.base_url,
            &self.inner.provider,
            return_to.as_deref(),
            &scopes,
            o.login_hint.as_deref().filter(|h| !h.is_empty()),
        ))
    }

    /// Navigates this page to the broker's login (which redirects to the bank).
    pub fn login(&self, options: Option<Ts<LoginOptions>>) -> Result<(), JsValue> {
        let url = self.login_url(options)?;
        if navigate(&url, LOGIN_MARK)? {
            Ok(())
        } else {
            Err(Failure::new(ErrorCode::InvalidArgument, "login() needs a browser window").into_js())
        }
    }

    /// Ends the session at the broker (which revokes at the bank); fires `logout`.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn logout(&self, options: Option<Ts<CallOptions>>) -> Promise {
        self.start(opts(options).map(|o| Task::new(Op::Logout, o.signal)))
    }

    /// Calls `callback(change)` on login, logout and expiry, in this tab and the others.
    /// Returns the function that unsubscribes.
    #[wasm_bindgen(js_name = onSessionChange, unchecked_return_type = "() => void")]
    pub fn on_session_change(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(change: SessionChange) => void")] callback: Function,
    ) -> JsValue {
        self.inner.events.on(&callback)
    }

    /// Escape hatch: any allowed API call, e.g. `request("GET", "/ais/v7/identified2/accounts")`.
    /// `path` is the bank API path (with query); `body` is sent as JSON. Resolves with the
    /// parsed JSON (`null` for an empty body).
    #[wasm_bindgen(unchecked_return_type = "Promise<unknown>")]
    pub fn request(
        &self,
        #[wasm_bindgen(unchecked_param_type = "\"GET\" | \"HEAD\" | \"POST\" | \"PUT\" | \"PATCH\" | \"DELETE\" | \"OPTIONS\"")]
        method: &str,
        path: &str,
        #[wasm_bindgen(unchecked_param_type = "unknown")] body: Option<JsValue>,
        options: Option<Ts<CallOptions>>,
    ) -> Promise {
        self.start(request_op(method, path, body, options))
    }
}

pub(super) fn request_op(method: &str, path: &str, body: Option<JsValue>, options: Option<Ts<CallOptions>>) -> Res<Task> {
    const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
    let m = method.to_ascii_uppercase();
    let method = METHODS
        .iter()
        .copied()
        .find(|x| *x == m)
        .ok_or_else(|| Failure::new(ErrorCode::InvalidArgument, "method must be an HTTP method such as GET or POST"))?;
    if !path.starts_with('/') || path.starts_with("//") || path.chars().any(|c| c.is_control() || c == '\\') {
        return Err(Failure::new(ErrorCode::InvalidArgument, "path must be an API path starting with /"));
    }
    let body = body.unwrap_or(JsValue::UNDEFINED);
    let json = if body.is_undefined() || body.is_null() {
        None
    } else {
        Some(
            JSON::stringify(&body)
                .ok()
                .and_then(|s| s.as_string())
                .ok_or_else(|| Failure::new(ErrorCode::InvalidArgument, "body cannot be sent as JSON"))?,
        )
    };
    let o = opts(options)?;
    Ok(Task::send(method, path.to_owned(), json, o.signal))
}
