//! Session changes: when the client tells its listeners (in this tab and, through
//! `js/valv.js`'s `SessionEvents` and its `BroadcastChannel`, the others) of a login, a logout
//! or an expiry, and the mark that makes the return from the bank's login page a `login`.

use super::ffi::take_mark;
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
        let pending = take_mark(LOGIN_MARK);
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
