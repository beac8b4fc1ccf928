//! Payment initiation: templates, payments, their status and cancellation, SCA
//! authorisations, and waiting for a final status.

use js_sys::{Object, Promise};
use tsify::Ts;
use wasm_bindgen::prelude::*;

use super::args::{object, opts, stringify};
use super::failure::{Failure, Res};
use super::ffi::{get_str, now_ms, set};
use super::op::{Came, Op, Pick, Step, Task};
use super::transport::Target;
use super::valv::Valv;
use crate::error::ErrorCode;
use crate::options::{AuthorisationOptions, CallOptions, Reader, WaitOptions};
use crate::paths::{self, PIS};
use crate::{poll, validate};

#[wasm_bindgen]
impl Valv {
    /// Payment templates (`GET /templates` of Payment Initiation).
    #[wasm_bindgen(unchecked_return_type = "Promise<TemplateSummary[]>")]
    pub fn templates(&self, options: Option<Ts<CallOptions>>) -> Promise {
        self.start(opts(options).map(|o| Task::get(paths::join(PIS, &["templates"]), o.signal, Pick::Whole)))
    }

    /// Initiates a payment (`POST /payments/{product}`); checked against the product's
    /// rules first. Never retried.
    #[wasm_bindgen(
        js_name = initiatePayment,
        unchecked_return_type = "Promise<PaymentInitiationResponse>"
    )]
    pub fn initiate_payment(
        &self,
        #[wasm_bindgen(unchecked_param_type = "PaymentProduct")] product: &str,
        #[wasm_bindgen(unchecked_param_type = "PaymentInitiation")] payment: JsValue,
        options: Option<Ts<CallOptions>>,
    ) -> Promise {
        self.start(validate::product(product).map_err(Failure::from).and_then(|p| {
            object(&payment, "payment")?;
            validate::payment(&p, &Reader::new(&payment))?;
            let json = stringify(&payment, "payment")?;
            let o = opts(options)?;
            Ok(Task::send("POST", paths::join(PIS, &["payments", product]), Some(json), o.signal))
        }))
    }

    /// A payment as the bank has it (`GET /payments/{product}/{id}`).
    #[wasm_bindgen(unchecked_return_type = "Promise<PaymentInitiation>")]
    pub fn payment(
        &self,
        #[wasm_bindgen(unchecked_param_type = "PaymentProduct")] product: &str,
        payment_id: &str,
        options: Option<Ts<CallOptions>>,
    ) -> Promise {
        self.start(payment_op("GET", product, payment_id, &[], options))
    }

    /// A payment's status (`GET /payments/{product}/{id}/status`).
    #[wasm_bindgen(js_name = paymentStatus, unchecked_return_type = "Promise<PaymentStatusResponse>")]
    pub fn payment_status(
        &self,
        #[wasm_bindgen(unchecked_param_type = "PaymentProduct")] product: &str,
        payment_id: &str,
        options: Option<Ts<CallOptions>>,
    ) -> Promise {
        self.start(payment_op("GET", product, payment_id, &["status"], options))
    }

    /// Cancels a payment (`DELETE /payments/{product}/{id}`): `null` on 204, else the 202 body.
    #[wasm_bindgen(
        js_name = cancelPayment,
        unchecked_return_type = "Promise<PaymentCancellationResponse | null>"
    )]
    pub fn cancel_payment(
        &self,
        #[wasm_bindgen(unchecked_param_type = "PaymentProduct")] product: &str,
        payment_id: &str,
        options: Option<Ts<CallOptions>>,
    ) -> Promise {
        self.start(payment_op("DELETE", product, payment_id, &[], options))
    }

    /// Starts SCA for a payment (`POST /payments/{product}/{id}/authorisations`,
    /// method `mobiltbankid` unless given).
    #[wasm_bindgen(js_name = startAuthorisation, unchecked_return_type = "Promise<Authorisation>")]
    pub fn start_authorisation(
        &self,
        #[wasm_bindgen(unchecked_param_type = "PaymentProduct")] product: &str,
        payment_id: &str,
        options: Option<Ts<AuthorisationOptions>>,
    ) -> Promise {
        self.start(payment_path(product, payment_id, &["authorisations"]).and_then(|path| {
            let o = opts(options)?;
            let method = o.authentication_method_id.unwrap_or_else(|| "mobiltbankid".to_owned());
            let body = Object::new();
            set(&body, "authenticationMethodId", &JsValue::from_str(&method));
            let json = stringify(&body, "body")?;
            Ok(Task::send("POST", path, Some(json), o.signal))
        }))
    }

    /// An authorisation's state (`GET /payments/{product}/{id}/authorisations/{authId}`).
    #[wasm_bindgen(js_name = authorisationStatus, unchecked_return_type = "Promise<Authorisation>")]
    pub fn authorisation_status(
        &self,
        #[wasm_bindgen(unchecked_param_type = "PaymentProduct")] product: &str,
        payment_id: &str,
        authorisation_id: &str,
        options: Option<Ts<CallOptions>>,
    ) -> Promise {
        self.start(
            validate::id(authorisation_id, "authorisationId")
                .map_err(Failure::from)
                .and_then(|_| payment_op("GET", product, payment_id, &["authorisations", authorisation_id], options)),
        )
    }

    /// Polls the payment's status until it is final (`ACSC`, `ACCC`, `RJCT`, `CANC`),
    /// with a growing interval; rejects `timeout` after `timeoutMs`, `aborted` on `signal`.
    #[wasm_bindgen(js_name = waitForPayment, unchecked_return_type = "Promise<PaymentStatusResponse>")]
    pub fn wait_for_payment(
        &self,
        #[wasm_bindgen(unchecked_param_type = "PaymentProduct")] product: &str,
        payment_id: &str,
        options: Option<Ts<WaitOptions>>,
    ) -> Promise {
        self.start(payment_path(product, payment_id, &["status"]).and_then(|path| {
            let o = opts(options)?;
            let interval = o.interval_ms.unwrap_or(1000.0);
            let max = o.max_interval_ms.unwrap_or(10_000.0).max(interval);
            let timeout = o.timeout_ms.unwrap_or(300_000.0);
            validate::wait_options(interval, max, timeout)?;
            Ok(Task::new(Op::Wait(Wait { path, interval, max, timeout, deadline: 0.0 }), o.signal))
        }))
    }
}

pub(super) fn payment_path(product: &str, payment_id: &str, rest: &[&str]) -> Res<String> {
    validate::product(product)?;
    validate::id(payment_id, "paymentId")?;
    let mut segments = vec!["payments", product, payment_id];
    segments.extend_from_slice(rest);
    Ok(paths::join(PIS, &segments))
}

pub(super) fn payment_op(
    method: &'static str,
    product: &str,
    payment_id: &str,
    rest: &[&str],
    options: Option<Ts<CallOptions>>,
) -> Res<Task> {
    let path = payment_path(product, payment_id, rest)?;
    let o = opts(options)?;
    Ok(Task::send(method, path, None, o.signal))
}

/// `waitForPayment`: polls a payment's status until it is final, the interval growing to
/// `max`.
pub(super) struct Wait {
    path: String,
    interval: f64,
    max: f64,
    timeout: f64,
    deadline: f64,
}

impl Wait {
    pub(super) fn step(&mut self, came: Came) -> Step {
        match came {
            Came::Start => self.deadline = now_ms() + self.timeout,
            Came::Answer(Err(f)) => return Step::Done(Err(f)),
            Came::Answer(Ok(status)) => {
                if get_str(&status, "transactionStatus").is_some_and(|s| poll::is_final_payment_status(&s)) {
                    return Step::Done(Ok(status));
                }
                let left = self.deadline - now_ms();
                if left <= 0.0 {
                    return Step::Done(Err(Failure::new(ErrorCode::Timeout, "the payment did not reach a final status in time")));
                }
                return Step::Sleep(self.interval.min(left));
            }
            Came::Slept(false) => return Step::Done(Err(Failure::new(ErrorCode::Aborted, "waiting for the payment was aborted"))),
            Came::Slept(true) => self.interval = poll::next_interval(self.interval, self.max),
        }
        Step::call("GET", Target::api(self.path.clone()), None)
    }
}
