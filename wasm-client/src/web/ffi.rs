//! The JavaScript the client calls — `js/valv.js`'s helpers (the loop that drives an
//! operation, fetch with a timeout, sleep, the page's address, language and navigation, JSON, the session events, the
//! async iterator, the `ValvError` class), `crypto.getRandomValues`, `Date.now` — and
//! accessors of plain JavaScript objects.

use js_sys::{Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use web_sys::AbortSignal;

use crate::paths::{self};

#[wasm_bindgen(module = "/js/valv.js")]
extern "C" {
    #[wasm_bindgen(js_name = ValvError)]
    pub(super) type JsValvError;

    #[wasm_bindgen(constructor, js_class = "ValvError")]
    pub(super) fn new(message: &str, code: &str, status: u16, request_id: Option<String>, body: &JsValue) -> JsValvError;

    #[wasm_bindgen(js_name = send)]
    #[allow(clippy::too_many_arguments)]
    pub(super) fn js_send(
        url: &str,
        method: &str,
        body: Option<&str>,
        csrf_header: &str,
        csrf_value: &str,
        id_header: &str,
        id: &str,
        timeout_ms: f64,
        signal: Option<AbortSignal>,
    ) -> Promise;

    /// The page's path, query and fragment; `None` outside a browser window.
    pub(super) fn here() -> Option<String>;

    /// Leaves the login mark `mark` and navigates the page to `url`; `false` outside a
    /// browser window.
    #[wasm_bindgen(catch)]
    pub(super) fn navigate(url: &str, mark: &str) -> Result<bool, JsValue>;

    /// Whether the login mark `mark` was left (it is removed).
    #[wasm_bindgen(js_name = takeMark)]
    pub(super) fn take_mark(mark: &str) -> bool;

    /// The page's language (`<html lang>`, else the browser's; `""` when neither is known).
    pub(super) fn language() -> String;

    /// Runs an operation to its end: the Promise of its result.
    pub(super) fn drive(run: super::op::Run) -> Promise;

    #[wasm_bindgen(js_name = sleep)]
    pub(super) fn js_sleep(ms: f64, signal: Option<AbortSignal>) -> Promise;

    #[wasm_bindgen(js_name = parseJson)]
    pub(super) fn parse_json(text: &str) -> JsValue;

    /// `js/valv.js`'s `SessionEvents`: listeners, the cross-tab channel, the last known state.
    pub(super) type SessionEvents;

    #[wasm_bindgen(constructor)]
    pub(super) fn new(channel: &str) -> SessionEvents;

    #[wasm_bindgen(method, getter)]
    pub(super) fn authenticated(this: &SessionEvents) -> Option<bool>;

    #[wasm_bindgen(method, setter)]
    pub(super) fn set_authenticated(this: &SessionEvents, authenticated: bool);

    #[wasm_bindgen(method)]
    pub(super) fn on(this: &SessionEvents, callback: &js_sys::Function) -> JsValue;

    #[wasm_bindgen(method)]
    pub(super) fn change(this: &SessionEvents, kind: &str, authenticated: bool, code: Option<&str>);

    #[wasm_bindgen(method)]
    pub(super) fn close(this: &SessionEvents);

    #[wasm_bindgen(js_name = iterable)]
    pub(super) fn js_iterable(pages: JsValue) -> JsValue;
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues)]
    pub(super) fn get_random_values(buf: &mut [u8]);

    #[wasm_bindgen(js_namespace = Date, js_name = now)]
    pub(super) fn now_ms() -> f64;
}

pub(super) fn get(obj: &JsValue, key: &str) -> JsValue {
    if obj.is_object() {
        Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    } else {
        JsValue::UNDEFINED
    }
}

pub(super) fn get_str(obj: &JsValue, key: &str) -> Option<String> {
    get(obj, key).as_string()
}

pub(super) fn set(obj: &Object, key: &str, value: &JsValue) {
    // Setting a plain data property on a fresh object cannot fail.
    let _ = Reflect::set(obj, &JsValue::from_str(key), value);
}

pub(super) fn new_request_id() -> String {
    let mut bytes = [0u8; 16];
    get_random_values(&mut bytes);
    paths::uuid_v4(bytes)
}
