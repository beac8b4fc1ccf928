//! Session changes: when the client tells its listeners (in this tab and, through
//! `js/valv.js`'s `SessionEvents` and its `BroadcastChannel`, the others) of a login, a logout
//! or an expiry, and the mark that makes the return from the bank's login page a `login`.

use super::transport::Inner;
use crate::error::ErrorCode;

/// Name of the `BroadcastChannel` that carries session changes between tabs.
pub(super) const CHANNEL: &str = "valv-session";

/// `sessionStorage` key set by `login()` so the return from the bank reports `login`.
pub(super) const LOGIN_MARK: &str = "valv:login-pending";

impl Inner {
    pub(super) fn change(&self, kind: &str, authenticated: bool, code: Option<ErrorCode>) {
        self.events.change(kind, authenticated, code.map(ErrorCode::as_str));
    }

    pub(super) fn session_ended(&self, code: ErrorCode) {
        if self.events.authenticated() != Some(false) {
            self.change("expired", false, Some(code));
        }
    }

    pub(super) fn observe_session(&self, authenticated: bool) {
        let pending = take_login_mark();
        let previous = self.events.authenticated();
        if authenticated && (pending || previous == Some(false)) {
            self.change("login", true, None);
        } else if !authenticated && previous == Some(true) {
            self.change("expired", false, Some(ErrorCode::Unauthenticated));
        } else {
            self.events.set_authenticated(authenticated);
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
