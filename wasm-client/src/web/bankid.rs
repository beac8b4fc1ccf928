//! Mobile BankID in the page: the login through the broker and a payment's signing, each
//! followed until it ends, with BankID's QR code and words at every step.

use js_sys::{Array, Function, Object, Promise};
use tsify::Ts;
use valv_wire::BankIdStatus;
use wasm_bindgen::prelude::*;

use super::args::{login_args, opts, stringify};
use super::failure::Failure;
use super::ffi::{get, get_str, language, now_ms, set};
use super::op::{Came, Op, Step, Task};
use super::pis::payment_path;
use super::transport::{Inner, Target};
use super::valv::Valv;
use crate::error::ErrorCode;
use crate::options::{BankIdOptions, SignOptions};
use crate::paths::{self};
use crate::{bankid as texts, validate};

#[wasm_bindgen]
impl Valv {
    /// Signs in with Mobile BankID through the broker (the bank's decoupled authorization):
    /// `onUpdate` gets every step — `{ status, hintCode, message, qrSvg, autoStartUrl }`,
    /// with a new QR code about every second — until the person has signed; then the
    /// promise resolves with the new session and `onSessionChange` hears `login`. Rejects
    /// `login_failed` (BankID's message; `err.body.hintCode`), `aborted` on `signal` (the
    /// broker forgets the login), or the broker's errors.
    #[wasm_bindgen(js_name = bankIdLogin, unchecked_return_type = "Promise<Session>")]
    pub fn bank_id_login(&self, options: Option<Ts<BankIdOptions>>) -> Promise {
        self.start(opts(options).and_then(|o| {
            let scopes = o.scopes.unwrap_or_default();
            login_args(o.return_to.as_deref(), &scopes)?;
            let body = Object::new();
            set(&body, "provider", &JsValue::from_str(&self.inner.provider));
            if !scopes.is_empty() {
                set(&body, "scopes", &scopes.iter().map(|s| JsValue::from_str(s)).collect::<Array>());
            }
            if let Some(r) = &o.return_to {
                set(&body, "returnTo", &JsValue::from_str(r));
            }
            let body = stringify(&body, "options")?;
            Ok(Task::new(
                Op::BankId(BankIdLogin {
                    body: Some(body),
                    on_update: o.on_update,
                    swedish: false,
                    path: String::new(),
                    phase: Phase::Starting,
                }),
                o.signal,
            ))
        }))
    }

    /// Signs a payment with Mobile BankID: starts an authorisation (method `bankIdQr` unless
    /// given) and follows it about every second, `onUpdate` getting every step — `{ status,
    /// message, qrSvg, autoStartUrl }` with the bank's new QR code each second — until the
    /// person has signed; resolves with the finalised `Authorisation` (then follow the
    /// payment with `waitForPayment`). Rejects `sca_failed` (cancelled or timed out at the
    /// bank; `err.body` is the authorisation), `timeout` after `timeoutMs`, `aborted` on
    /// `signal`, or the errors of any call.
    #[wasm_bindgen(js_name = signPayment, unchecked_return_type = "Promise<Authorisation>")]
    pub fn sign_payment(
        &self,
        #[wasm_bindgen(unchecked_param_type = "PaymentProduct")] product: &str,
        payment_id: &str,
        options: Option<Ts<SignOptions>>,
    ) -> Promise {
        self.start(payment_path(product, payment_id, &["authorisations"]).and_then(|path| {
            let o = opts(options)?;
            let timeout = o.timeout_ms.unwrap_or(300_000.0);
            validate::wait_options(1000.0, 1000.0, timeout)?;
            let method = o.authentication_method_id.unwrap_or_else(|| "bankIdQr".to_owned());
            let body = Object::new();
            set(&body, "authenticationMethodId", &JsValue::from_str(&method));
            let body = stringify(&body, "body")?;
            Ok(Task::new(
                Op::Sign(Signing {
                    path,
                    body: Some(body),
                    on_update: o.on_update,
                    timeout,
                    swedish: false,
                    deadline: 0.0,
                    auth_path: None,
                }),
                o.signal,
            ))
        }))
    }
}

/// Is the page in Swedish (`<html lang>`, else the browser's language).
pub(super) fn swedish() -> bool {
    language().get(..2).is_some_and(|p| p.eq_ignore_ascii_case("sv"))
}

/// What `onUpdate` gets for one step of a BankID login or signing.
pub(super) fn bank_id_update(status: BankIdStatus, hint: &str, message: &str, qr: Option<&str>, auto_start_url: Option<&str>) -> Object {
    let u = Object::new();
    set(&u, "status", &JsValue::from_str(status.as_str()));
    if !hint.is_empty() {
        set(&u, "hintCode", &JsValue::from_str(hint));
    }
    set(&u, "message", &JsValue::from_str(message));
    if let Some(svg) = qr.and_then(texts::qr_svg) {
        set(&u, "qrSvg", &JsValue::from_str(&svg));
    }
    if let Some(a) = auto_start_url {
        set(&u, "autoStartUrl", &JsValue::from_str(a));
    }
    u
}

/// Tells the page (a throwing callback must not end the login or signing).
pub(super) fn notify(on_update: Option<&Function>, update: &Object) {
    if let Some(f) = on_update {
        let _ = f.call1(&JsValue::UNDEFINED, update);
    }
}

/// Where a BankID login is.
enum Phase {
    /// `POST /auth/bankid` sent.
    Starting,
    /// Following the login (`GET /auth/bankid/{id}`).
    Polling,
    /// Signed: reading the new session.
    Session,
    /// Stopped by the page: telling the broker to forget the login (best effort), then
    /// failing with this.
    Forgetting(Failure),
}

/// `bankIdLogin()`: starts the login at the broker and follows it until it ends.
pub(super) struct BankIdLogin {
    body: Option<String>,
    on_update: Option<Function>,
    swedish: bool,
    /// `/auth/bankid/{id}`, empty until the broker gave a usable id.
    path: String,
    phase: Phase,
}

impl BankIdLogin {
    pub(super) fn step(&mut self, inner: &Inner, came: Came) -> Step {
        let answer = match came {
            Came::Start => {
                self.swedish = swedish();
                return Step::call("POST", Target::broker("/auth/bankid"), self.body.take());
            }
            Came::Slept(true) => return Step::call("GET", Target::broker(self.path.clone()), None),
            Came::Slept(false) => return self.forget(Failure::new(ErrorCode::Aborted, "the BankID login was aborted")),
            Came::Answer(a) => a,
        };
        let step = match (std::mem::replace(&mut self.phase, Phase::Polling), answer) {
            (Phase::Session, session) => return Step::Done(session),
            (Phase::Forgetting(f), _) => return Step::Done(Err(f)),
            (Phase::Polling, Err(f)) if f.code == ErrorCode::Aborted => return self.forget(f),
            (_, Err(f)) => return Step::Done(Err(f)),
            (Phase::Starting, Ok(step)) => {
                let id = get_str(&step, "id").filter(|i| i.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
                if let Some(id) = id.filter(|i| !i.is_empty()) {
                    self.path = ["/auth/bankid/", &id].concat();
                }
                step
            }
            (Phase::Polling, Ok(step)) => step,
        };
        // Anything but the contract's states ends the login.
        let status = get_str(&step, "status").and_then(|s| BankIdStatus::parse(&s)).unwrap_or(BankIdStatus::Failed);
        let hint = get_str(&step, "hintCode").unwrap_or_default();
        let qr = get_str(&step, "qrData");
        let message = texts::message(status, &hint, qr.is_some(), self.swedish);
        notify(self.on_update.as_ref(), &bank_id_update(status, &hint, message, qr.as_deref(), get_str(&step, "autoStartUrl").as_deref()));
        match status {
            BankIdStatus::Complete => {
                inner.change("login", true, None);
                self.phase = Phase::Session;
                Step::call("GET", Target::broker("/auth/session"), None)
            }
            BankIdStatus::Pending if !self.path.is_empty() => {
                Step::Sleep(get(&step, "pollDelayMs").as_f64().unwrap_or(1000.0).clamp(500.0, 10_000.0))
            }
            _ => Step::Done(Err(Failure::new(ErrorCode::LoginFailed, message).with_body(step))),
        }
    }

    fn forget(&mut self, f: Failure) -> Step {
        let path = self.path.clone();
        self.phase = Phase::Forgetting(f);
        Step::Call { method: "DELETE", to: Target::broker(path), body: None, abortable: false }
    }
}

/// `signPayment()`: starts an authorisation and follows it until it ends.
pub(super) struct Signing {
    path: String,
    body: Option<String>,
    on_update: Option<Function>,
    timeout: f64,
    swedish: bool,
    deadline: f64,
    /// The authorisation's path, once it exists.
    auth_path: Option<String>,
}

impl Signing {
    pub(super) fn step(&mut self, came: Came) -> Step {
        let auth = match came {
            Came::Start => {
                self.swedish = swedish();
                self.deadline = now_ms() + self.timeout;
                return Step::call("POST", Target::api(self.path.clone()), self.body.take());
            }
            Came::Slept(true) => return Step::call("GET", Target::api(self.auth_path.clone().unwrap_or_default()), None),
            Came::Slept(false) => return Step::Done(Err(Failure::new(ErrorCode::Aborted, "signing the payment was aborted"))),
            Came::Answer(Err(f)) => return Step::Done(Err(f)),
            Came::Answer(Ok(auth)) => auth,
        };
        if self.auth_path.is_none() {
            let id = get_str(&auth, "authorisationId").unwrap_or_default();
            if validate::id(&id, "authorisationId").is_err() {
                return Step::Done(Err(Failure::new(ErrorCode::BankError, "the bank's answer has no usable authorisationId")));
            }
            self.auth_path = Some(paths::join(&self.path, &[&id]));
        }
        let status = texts::sign_status(&get_str(&auth, "scaStatus").unwrap_or_default());
        // SEB's members for BankID (its Payment Initiation collection): `qrData`, `autoStartToken`.
        let qr = get_str(&auth, "qrData");
        let auto_start = get_str(&auth, "autoStartToken").filter(|t| !t.is_empty()).map(|t| valv_wire::bankid_autostart_url(&t));
        let message = texts::sign_message(status, qr.is_some(), auto_start.is_some(), self.swedish);
        notify(self.on_update.as_ref(), &bank_id_update(status, "", message, qr.as_deref(), auto_start.as_deref()));
        match status {
            BankIdStatus::Complete => Step::Done(Ok(auth)),
            BankIdStatus::Failed => Step::Done(Err(Failure::new(ErrorCode::ScaFailed, message).with_body(auth))),
            BankIdStatus::Pending => {
                let left = self.deadline - now_ms();
                if left <= 0.0 {
                    return Step::Done(Err(Failure::new(ErrorCode::Timeout, "the payment was not signed in time")));
                }
                // BankID's QR code changes every second: SEB asks to poll every second.
                Step::Sleep(left.min(1000.0))
            }
        }
    }
}
