//! The state one `Valv` shares with its calls, and the one request pipeline: URL, headers,
//! timeout, cancellation and retries of every call to the broker, as a state machine that
//! `js/valv.js`'s `drive` runs.

use std::borrow::Cow;
use std::mem::take;

use js_sys::{Array, Promise};
use valv_wire::header;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::AbortSignal;

use super::failure::{response_failure, Failure, Res};
use super::ffi::{js_send, js_sleep, new_request_id, parse_json, SessionEvents};
use crate::error::ErrorCode;
use crate::paths::{self};
use crate::retry::{parse_retry_after, Outcome, RetryPolicy};

/// Shared state of one `Valv` instance.
pub(super) struct Inner {
    pub(super) base_url: String,
    pub(super) provider: String,
    pub(super) timeout_ms: f64,
    pub(super) policy: RetryPolicy,
    pub(super) events: SessionEvents,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.events.close();
    }
}

/// Where a request goes: `{baseUrl}/api/{provider}{path}` (`api`) or `{baseUrl}{path}` (the
/// broker's own `/auth/…`).
pub(super) struct Target {
    api: bool,
    path: Cow<'static, str>,
}

impl Target {
    pub(super) fn api(path: impl Into<Cow<'static, str>>) -> Target {
        Target { api: true, path: path.into() }
    }

    pub(super) fn broker(path: impl Into<Cow<'static, str>>) -> Target {
        Target { api: false, path: path.into() }
    }
}

impl Inner {
    pub(super) fn url(&self, target: &Target) -> String {
        if target.api {
            paths::api_url(&self.base_url, &self.provider, &target.path)
        } else {
            paths::broker_url(&self.base_url, &target.path)
        }
    }

    /// Sends a request with the transport's timeout and retries: the [`Call`] that follows
    /// it and the promise of its first answer.
    pub(super) fn call(&self, method: &'static str, to: Target, body: Option<String>, signal: Option<AbortSignal>) -> (Call, Promise) {
        let mut call =
            Call { method, url: self.url(&to), path: to.path, body, signal, retry: 0, request_id: String::new(), pausing: false };
        let sent = call.send(self);
        (call, sent)
    }
}

/// One request to the broker through its retries: told how the promise it gave last settled
/// (the answer, or the pause before a retry), it gives the next one or the request's result.
pub(super) struct Call {
    method: &'static str,
    url: String,
    /// The API or broker path, for the retry policy.
    path: Cow<'static, str>,
    body: Option<String>,
    signal: Option<AbortSignal>,
    retry: u32,
    /// The `X-Request-ID` of the attempt in flight.
    request_id: String,
    /// Waiting out the pause before a retry (else waiting for an answer).
    pausing: bool,
}

/// What a [`Call`] does next.
pub(super) enum Next {
    /// Waits for this promise (the next attempt's answer or a pause).
    Wait(Promise),
    /// The request's result: the parsed JSON body (`null` when empty, the text when not
    /// JSON), or its failure.
    Done(Res),
}

impl Call {
    fn send(&mut self, inner: &Inner) -> Promise {
        self.request_id = new_request_id();
        js_send(
            &self.url,
            self.method,
            self.body.as_deref(),
            header::CSRF,
            header::CSRF_VALUE,
            header::REQUEST_ID,
            &self.request_id,
            inner.timeout_ms,
            self.signal.clone(),
        )
    }

    /// `ok`: the promise resolved with `value` (else it rejected with `value`).
    pub(super) fn settled(&mut self, inner: &Inner, ok: bool, value: JsValue) -> Next {
        if self.pausing {
            if !ok {
                return Next::Done(Err(Failure::new(ErrorCode::Aborted, "the request was aborted")));
            }
            self.pausing = false;
            self.retry += 1;
            return Next::Wait(self.send(inner));
        }
        let request_id = take(&mut self.request_id);
        let (outcome, retry_after, failure) = if ok {
            // `[status, text, Retry-After, X-Request-ID]` (js/valv.js).
            let answer: Array = value.unchecked_into();
            let status = answer.get(0).as_f64().unwrap_or(0.0) as u16;
            let text = answer.get(1).as_string().unwrap_or_default();
            if (200..300).contains(&status) {
                return Next::Done(Ok(match parse_json(&text) {
                    v if v.is_undefined() => JsValue::from_str(&text),
                    v => v,
                }));
            }
            let retry_after = answer.get(2).as_string().and_then(|v| parse_retry_after(&v));
            (Outcome::Status(status), retry_after, response_failure(status, &text, answer.get(3).as_string(), request_id))
        } else {
            let (outcome, f) = match value.as_string().as_deref() {
                Some("timeout") => (Outcome::Timeout, Failure::new(ErrorCode::Timeout, "the request timed out")),
                Some("aborted") => (Outcome::Aborted, Failure::new(ErrorCode::Aborted, "the request was aborted")),
                _ => (Outcome::NetworkError, Failure::new(ErrorCode::Network, "the broker could not be reached")),
            };
            (outcome, None, f.with_request_id(request_id))
        };
        match inner.policy.delay_ms(self.method, &self.path, outcome, self.retry, retry_after, js_sys::Math::random()) {
            Some(ms) => {
                self.pausing = true;
                Next::Wait(js_sleep(f64::from(ms), self.signal.clone()))
            }
            None => {
                if failure.code.ends_session() {
                    inner.session_ended(failure.code);
                }
                Next::Done(Err(failure))
            }
        }
    }
}
