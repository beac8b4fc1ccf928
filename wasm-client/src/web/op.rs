//! One operation of the client — an API call, the session, a logout, a page of
//! transactions, a wait for a payment, a BankID login or signing — and the [`Run`] that
//! makes any of them a Promise.
//!
//! An operation is a plain state machine: told what came of its last step, it says what it
//! needs next — a request to the broker, a pause, or its result ([`Step`]). A [`Run`] starts
//! those requests (through the transport's [`Call`], with its retries) and pauses, and gives
//! `js/valv.js`'s `drive` each promise to wait for; `drive` tells it how the promise settled.
//! So the operations stay ordinary functions, and the wasm holds no futures executor (the
//! JavaScript engine's own `await` is the loop).

use std::mem::take;

use std::rc::Rc;

use js_sys::{Array, Promise};
use wasm_bindgen::prelude::*;
use web_sys::AbortSignal;

use super::bankid::{BankIdLogin, Signing};
use super::failure::{Failure, Res};
use super::ffi::{drive, get, js_sleep};
use super::pages::PageRead;
use super::pis::Wait;
use super::transport::{Call, Inner, Next, Target};
use super::valv::Valv;

/// What an operation needs next.
pub(super) enum Step {
    /// A request to the broker (with the transport's timeout and retries); its answer comes
    /// back as [`Came::Answer`]. `abortable: false` sends it even after the caller's signal
    /// fired (telling the broker to forget a login).
    Call { method: &'static str, to: Target, body: Option<String>, abortable: bool },
    /// A pause of this many ms, ended early by the caller's signal ([`Came::Slept`]).
    Sleep(f64),
    /// The operation's result.
    Done(Res),
}

impl Step {
    pub(super) fn call(method: &'static str, to: Target, body: Option<String>) -> Step {
        Step::Call { method, to, body, abortable: true }
    }
}

/// What came of the last [`Step`].
pub(super) enum Came {
    /// Nothing yet: the operation's first step.
    Start,
    /// The answer to a [`Step::Call`].
    Answer(Res),
    /// The end of a [`Step::Sleep`]: `true` when it ran its time, `false` when aborted.
    Slept(bool),
}

impl Came {
    /// The answer of a one-request operation (which asks for nothing but that request).
    fn answer(self) -> Res {
        match self {
            Came::Answer(r) => r,
            _ => Ok(JsValue::UNDEFINED),
        }
    }
}

/// What to return from a successful API answer.
#[derive(Clone, Copy)]
pub(super) enum Pick {
    /// The parsed body.
    Whole,
    /// The named array member (an empty array when absent).
    Array(&'static str),
    /// The account itself, unwrapping Berlin Group's `{"account": …}`.
    AccountDetails,
}

impl Pick {
    fn apply(self, v: JsValue) -> JsValue {
        match self {
            Pick::Whole => v,
            Pick::Array(key) => {
                let list = get(&v, key);
                if Array::is_array(&list) {
                    list
                } else {
                    Array::new().into()
                }
            }
            Pick::AccountDetails => {
                let wrapped = get(&v, "account");
                if wrapped.is_object() && get(&v, "resourceId").is_undefined() {
                    wrapped
                } else {
                    v
                }
            }
        }
    }
}

/// One operation, prepared (and its arguments checked) synchronously.
pub(super) enum Op {
    /// One API request.
    Api {
        method: &'static str,
        path: String,
        body: Option<String>,
        pick: Pick,
    },
    /// `GET /auth/session`, which also tells the listeners of a login or an expiry.
    Session,
    /// `POST /auth/logout`.
    Logout,
    Page(PageRead),
    Wait(Wait),
    BankId(BankIdLogin),
    Sign(Signing),
}

impl Op {
    fn step(&mut self, inner: &Inner, came: Came) -> Step {
        match self {
            Op::Api { method, path, body, pick } => match came {
                Came::Start => Step::call(method, Target::api(take(path)), body.take()),
                came => Step::Done(came.answer().map(|v| pick.apply(v))),
            },
            Op::Session => match came {
                Came::Start => Step::call("GET", Target::broker("/auth/session"), None),
                came => Step::Done(came.answer().inspect(|s| inner.observe_session(get(s, "authenticated").as_bool().unwrap_or(false)))),
            },
            Op::Logout => match came {
                Came::Start => Step::call("POST", Target::broker("/auth/logout"), None),
                came => Step::Done(came.answer().map(|_| {
                    inner.change("logout", false, None);
                    JsValue::UNDEFINED
                })),
            },
            Op::Page(p) => p.step(came),
            Op::Wait(w) => w.step(came),
            Op::BankId(b) => b.step(inner, came),
            Op::Sign(s) => s.step(came),
        }
    }
}

/// An operation with the caller's `AbortSignal`.
pub(super) struct Task {
    pub(super) op: Op,
    pub(super) signal: Option<AbortSignal>,
}

impl Task {
    pub(super) fn new(op: Op, signal: Option<AbortSignal>) -> Task {
        Task { op, signal }
    }

    pub(super) fn get(path: String, signal: Option<AbortSignal>, pick: Pick) -> Task {
        Task::new(Op::Api { method: "GET", path, body: None, pick }, signal)
    }

    pub(super) fn send(method: &'static str, path: String, body: Option<String>, signal: Option<AbortSignal>) -> Task {
        Task::new(Op::Api { method, path, body, pick: Pick::Whole }, signal)
    }
}

impl Valv {
    /// Runs `task` (or rejects with the argument error) as a Promise.
    pub(super) fn start(&self, task: Res<Task>) -> Promise {
        match task {
            Ok(Task { op, signal }) => drive(Run { inner: self.inner.clone(), op, signal, call: None }),
            Err(f) => Promise::reject(&f.into_js()),
        }
    }
}

/// An operation on its way to its result, driven by `js/valv.js`'s `drive`.
#[wasm_bindgen(skip_typescript)]
pub struct Run {
    inner: Rc<Inner>,
    op: Op,
    signal: Option<AbortSignal>,
    /// The request in flight, with its retries.
    call: Option<Call>,
}

#[wasm_bindgen]
impl Run {
    /// Told how the promise it returned last settled (`ok`: resolved with `value`, else
    /// rejected with it; `undefined` for the first step), returns the next promise to wait
    /// for, or the operation's result; throws the operation's `ValvError`.
    pub fn step(&mut self, ok: Option<bool>, value: JsValue) -> Result<JsValue, JsValue> {
        let came = match (self.call.take(), ok) {
            (_, None) => Came::Start,
            (Some(mut call), Some(ok)) => match call.settled(&self.inner, ok, value) {
                Next::Wait(p) => {
                    self.call = Some(call);
                    return Ok(p.into());
                }
                Next::Done(r) => Came::Answer(r),
            },
            (None, Some(ok)) => Came::Slept(ok),
        };
        match self.op.step(&self.inner, came) {
            Step::Done(result) => result.map_err(Failure::into_js),
            Step::Sleep(ms) => Ok(js_sleep(ms, self.signal.clone()).into()),
            Step::Call { method, to, body, abortable } => {
                let signal = if abortable { self.signal.clone() } else { None };
                let (call, sent) = self.inner.call(method, to, body, signal);
                self.call = Some(call);
                Ok(sent.into())
            }
        }
    }
}
