//! The state one `Valv` shares with its calls, and the one request pipeline: URL, headers,
//! timeout, cancellation and retries of every call to the broker.

use std::borrow::Cow;

use js_sys::Array;
use valv_wire::header;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
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

    /// Sends a request with timeout, cancellation and retries; resolves with the parsed
    /// JSON body (`null` when empty, the text when not JSON).
    pub(super) async fn call(&self, method: &str, target: &Target, body: Option<&str>, signal: Option<AbortSignal>) -> Res {
        let url = self.url(target);
        let path = &*target.path;
        let mut retry = 0u32;
        loop {
            let request_id = new_request_id();
            let sent = js_send(
                &url,
                method,
                body,
                header::CSRF,
                header::CSRF_VALUE,
                header::REQUEST_ID,
                &request_id,
                self.timeout_ms,
                signal.clone(),
            );
            let (outcome, retry_after, failure) = match JsFuture::from(sent).await {
                Ok(answer) => {
                    // `[status, text, Retry-After, X-Request-ID]` (js/valv.js).
                    let answer: Array = answer.unchecked_into();
                    let status = answer.get(0).as_f64().unwrap_or(0.0) as u16;
                    let text = answer.get(1).as_string().unwrap_or_default();
                    if (200..300).contains(&status) {
                        return Ok(match parse_json(&text) {
                            v if v.is_undefined() => JsValue::from_str(&text),
                            v => v,
                        });
                    }
                    let retry_after = answer.get(2).as_string().and_then(|v| parse_retry_after(&v));
                    (Outcome::Status(status), retry_after, response_failure(status, &text, answer.get(3).as_string(), request_id))
                }
                Err(tag) => {
                    let (outcome, f) = match tag.as_string().as_deref() {
                        Some("timeout") => (Outcome::Timeout, Failure::new(ErrorCode::Timeout, "the request timed out")),
                        Some("aborted") => (Outcome::Aborted, Failure::new(ErrorCode::Aborted, "the request was aborted")),
                        _ => (Outcome::NetworkError, Failure::new(ErrorCode::Network, "the broker could not be reached")),
                    };
                    (outcome, None, f.with_request_id(request_id))
                }
            };
            let delay = self.policy.delay_ms(method, path, outcome, retry, retry_after, js_sys::Math::random());
            match delay {
                Some(ms) => {
                    if JsFuture::from(js_sleep(f64::from(ms), signal.clone())).await.is_err() {
                        return Err(Failure::new(ErrorCode::Aborted, "the request was aborted"));
                    }
                    retry += 1;
                }
                None => {
                    if failure.code.ends_session() {
                        self.session_ended(failure.code);
                    }
                    return Err(failure);
                }
            }
        }
    }
}
