//! Session changes: the listeners in this tab, the `BroadcastChannel` to the others, and the
//! mark that makes the return from the bank's login page a `login`.

use std::rc::{Rc, Weak};

use js_sys::{Function, Object};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::MessageEvent;

use super::ffi::{get, set};
use super::transport::Inner;
use crate::error::ErrorCode;

/// Name of the `BroadcastChannel` that carries session changes between tabs.
pub(super) const CHANNEL: &str = "valv-session";

/// `sessionStorage` key set by `login()` so the return from the bank reports `login`.
pub(super) const LOGIN_MARK: &str = "valv:login-pending";

impl Inner {
    pub(super) fn emit(&self, event: &JsValue) {
        let listeners: Vec<Function> = self.listeners.borrow().iter().map(|(_, f)| f.clone()).collect();
        for f in listeners {
            // A throwing listener must not stop the others or the caller.
            let _ = f.call1(&JsValue::UNDEFINED, event);
        }
    }

    pub(super) fn change(&self, kind: &str, authenticated: bool, code: Option<ErrorCode>) {
        self.authenticated.set(Some(authenticated));
        let event = Object::new();
        set(&event, "type", &JsValue::from_str(kind));
        set(&event, "authenticated", &JsValue::from_bool(authenticated));
        if let Some(c) = code {
            set(&event, "code", &JsValue::from_str(c.as_str()));
        }
        if let Some(ch) = &self.channel {
            let _ = ch.post_message(&event);
        }
        self.emit(&event);
    }

    pub(super) fn session_ended(&self, code: ErrorCode) {
        if self.authenticated.get() != Some(false) {
            self.change("expired", false, Some(code));
        }
    }

    pub(super) fn observe_session(&self, authenticated: bool) {
        let pending = take_login_mark();
        let previous = self.authenticated.get();
        if authenticated && (pending || previous == Some(false)) {
            self.change("login", true, None);
        } else if !authenticated && previous == Some(true) {
            self.change("expired", false, Some(ErrorCode::Unauthenticated));
        } else {
            self.authenticated.set(Some(authenticated));
        }
    }
}

pub(super) fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

pub(super) fn take_login_mark() -> bool {
    match session_storage() {
        Some(s) => {
            let present = s.get_item(LOGIN_MARK).ok().flatten().is_some();
            if present {
                let _ = s.remove_item(LOGIN_MARK);
            }
            present
        }
        None => false,
    }
}

/// Listens on the channel: a change another tab made reaches this tab's listeners.
pub(super) fn connect(inner: &Rc<Inner>) {
    if let Some(ch) = &inner.channel {
        let weak: Weak<Inner> = Rc::downgrade(inner);
        let handler = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            if let Some(inner) = weak.upgrade() {
                let data = e.data();
                if let Some(a) = get(&data, "authenticated").as_bool() {
                    inner.authenticated.set(Some(a));
                    inner.emit(&data);
                }
            }
        });
        ch.set_onmessage(Some(handler.as_ref().unchecked_ref()));
        *inner.on_message.borrow_mut() = Some(handler);
    }
}
