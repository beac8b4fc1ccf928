//! Funds confirmation (`/cof/v7/identified2`).

use js_sys::Promise;
use tsify::Ts;
use wasm_bindgen::prelude::*;

use super::args::{object, opts, stringify};
use super::op::Task;
use super::valv::Valv;
use crate::options::{CallOptions, Reader};
use crate::paths::{self, COF};
use crate::validate;

#[wasm_bindgen]
impl Valv {
    /// Asks whether funds are available (`POST /funds-confirmations` under `/cof/v7/identified2`).
    #[wasm_bindgen(
        js_name = fundsConfirmation,
        unchecked_return_type = "Promise<FundsConfirmationResponse>"
    )]
    pub fn funds_confirmation(
        &self,
        #[wasm_bindgen(unchecked_param_type = "FundsConfirmationRequest")] request: JsValue,
        options: Option<Ts<CallOptions>>,
    ) -> Promise {
        self.start(object(&request, "request").and_then(|_| {
            validate::funds_confirmation(&Reader::new(&request))?;
            let json = stringify(&request, "request")?;
            let o = opts(options)?;
            Ok(Task::send("POST", paths::join(COF, &["funds-confirmations"]), Some(json), o.signal))
        }))
    }
}
