//! Arguments and options from JavaScript, checked before any request is sent: a bad one
//! is an `invalid_argument`.

use std::borrow::Cow;

use js_sys::{Array, JSON};
use tsify::Ts;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::failure::{Failure, Res};
use crate::error::ErrorCode;
use crate::options::{FromJs, Reader};
use crate::paths::{self};

/// Options are optional; a present but malformed object is an `invalid_argument`.
pub(super) fn opts<T: FromJs + tsify::Tsify>(o: Option<Ts<T>>) -> Res<T>
where
    <T as tsify::Tsify>::JsType: JsCast,
{
    let Some(o) = o else {
        return Ok(T::default());
    };
    let v = o.js_value();
    if v.is_undefined() || v.is_null() {
        return Ok(T::default());
    }
    if !v.is_object() {
        return Err(Failure::new(ErrorCode::InvalidArgument, "options must be an object"));
    }
    Ok(T::read(&Reader::new(&v))?)
}

/// The `returnTo` and `scopes` of a login (either kind): a local path, non-empty words.
pub(super) fn login_args(return_to: Option<&str>, scopes: &[String]) -> Res<()> {
    if return_to.is_some_and(|r| !paths::is_local_path(r)) {
        return Err(Failure::new(ErrorCode::InvalidArgument, "returnTo must be a local path starting with /"));
    }
    if scopes.iter().any(|s| s.is_empty() || s.contains(' ')) {
        return Err(Failure::new(ErrorCode::InvalidArgument, "scopes must be non-empty words"));
    }
    Ok(())
}

pub(super) fn object(value: &JsValue, what: &'static str) -> Res<()> {
    if !value.is_object() || Array::is_array(value) {
        return Err(Failure::new(ErrorCode::InvalidArgument, Cow::Owned([what, " must be an object"].concat())));
    }
    Ok(())
}

pub(super) fn retries_option(r: Option<f64>) -> Res<u32> {
    match r {
        None => Ok(2),
        Some(n) if n.is_finite() && (0.0..=10.0).contains(&n) && n.fract() == 0.0 => Ok(n as u32),
        Some(_) => Err(Failure::new(ErrorCode::InvalidArgument, "retries must be a whole number from 0 to 10")),
    }
}

pub(super) fn stringify(value: &JsValue, what: &'static str) -> Res<String> {
    object(value, what)?;
    JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| Failure::new(ErrorCode::InvalidArgument, Cow::Owned([what, " cannot be sent as JSON"].concat())))
}
