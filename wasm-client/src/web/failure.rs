//! A failure on its way to becoming a JavaScript `ValvError`, and the one made from an
//! error answer (the broker's own, or the bank's passed through).

use std::borrow::Cow;

use js_sys::Array;
use wasm_bindgen::prelude::*;

use super::ffi::{get, get_str, parse_json, JsValvError};
use crate::error::{bank_message, classify, status_message, BankErrorFields, BodyFields, ErrorCode};
use crate::validate;

/// A failure on its way to becoming a JS `ValvError`. Boxed: every `Result` the client
/// passes around stays two words, which keeps each `?` (and the wasm) small.
pub(super) struct Failure(Box<Details>);

/// What a `ValvError` says.
pub(super) struct Details {
    pub(super) code: ErrorCode,
    pub(super) message: Cow<'static, str>,
    pub(super) status: u16,
    pub(super) request_id: Option<String>,
    pub(super) body: JsValue,
}

impl std::ops::Deref for Failure {
    type Target = Details;

    fn deref(&self) -> &Details {
        &self.0
    }
}

impl Failure {
    pub(super) fn new(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self(Box::new(Details { code, message: message.into(), status: 0, request_id: None, body: JsValue::UNDEFINED }))
    }

    /// The same failure with `body` as the error's `body`.
    pub(super) fn with_body(mut self, body: JsValue) -> Self {
        self.0.body = body;
        self
    }

    /// The same failure for the request with this `X-Request-ID`.
    pub(super) fn with_request_id(mut self, id: String) -> Self {
        self.0.request_id = Some(id);
        self
    }

    pub(super) fn invalid(e: validate::Invalid) -> Self {
        Self::new(ErrorCode::InvalidArgument, e.0)
    }

    pub(super) fn into_js(self) -> JsValue {
        let d = *self.0;
        JsValvError::new(&d.message, d.code.as_str(), d.status, d.request_id, &d.body).into()
    }
}

impl From<validate::Invalid> for Failure {
    fn from(e: validate::Invalid) -> Self {
        Self::invalid(e)
    }
}

pub(super) type Res<T = JsValue> = Result<T, Failure>;

/// Builds the `ValvError` for a non-2xx response.
/// `header_id`: the answer's `X-Request-ID`; `sent_id`: the request's.
pub(super) fn response_failure(status: u16, text: &str, header_id: Option<String>, sent_id: String) -> Failure {
    let parsed = parse_json(text);
    let error = get_str(&parsed, "error");
    let message = get_str(&parsed, "message");
    let body_id = get_str(&parsed, "requestId");
    let code = classify(&BodyFields { error: error.as_deref(), message: message.as_deref(), request_id: body_id.as_deref() });
    let request_id = body_id.or(header_id).or(Some(sent_id));
    let body = if parsed.is_undefined() { JsValue::from_str(text) } else { parsed };
    let message: Cow<'static, str> = if code == ErrorCode::BankError {
        let detail = get_str(&body, "detail");
        let title = get_str(&body, "title");
        let first_tpp = get(&body, "tppMessages");
        let first_tpp = if Array::is_array(&first_tpp) { Array::from(&first_tpp).get(0) } else { JsValue::UNDEFINED };
        let tpp = first_tpp.as_string().or_else(|| get_str(&first_tpp, "text"));
        let fields = BankErrorFields { detail: detail.as_deref(), title: title.as_deref(), tpp_text: tpp.as_deref() };
        if fields == BankErrorFields::default() {
            Cow::Borrowed(status_message(status))
        } else {
            Cow::Owned(bank_message(&fields).to_owned())
        }
    } else {
        Cow::Owned(message.unwrap_or_default())
    };
    Failure(Box::new(Details { code, message, status, request_id, body }))
}
