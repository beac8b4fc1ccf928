//! The pages of `transactions()`: an async iterator that follows the bank's `_links.next`
//! and never reads a page twice.

use std::cell::RefCell;
use std::mem::take;
use std::rc::Rc;

use js_sys::{Object, Promise};
use wasm_bindgen::prelude::*;
use web_sys::AbortSignal;

use super::failure::Failure;
use super::ffi::{get, get_str, set};
use super::op::{Came, Op, Step, Task};
use super::transport::{Inner, Target};
use super::valv::Valv;
use crate::error::ErrorCode;
use crate::paths::{self, AIS};

/// One `next()` of the pages: the next page, or `done` after the last.
pub(super) struct PageRead {
    state: Rc<RefCell<PagesState>>,
    path: String,
}

impl PageRead {
    pub(super) fn step(&mut self, came: Came) -> Step {
        let mut st = self.state.borrow_mut();
        let result = match came {
            Came::Answer(r) => r,
            _ => {
                if st.busy {
                    return Step::Done(Err(Failure::new(ErrorCode::InvalidArgument, "next() was called before the previous page arrived")));
                }
                let Some(path) = st.next.take() else {
                    return Step::Done(Ok(iter_result(&JsValue::UNDEFINED, true)));
                };
                st.busy = true;
                self.path.clone_from(&path);
                return Step::call("GET", Target::api(path), None);
            }
        };
        st.busy = false;
        let path = take(&mut self.path);
        let page = match result {
            Ok(p) => p,
            Err(f) => {
                // The caller may ask for the same page again after a failure.
                st.next = Some(path);
                return Step::Done(Err(f));
            }
        };
        st.seen.push(path);
        if !st.dated {
            let href = get_str(&get(&get(&page, "_links"), "next"), "href").or_else(|| {
                // Berlin Group also puts the links inside `transactions`.
                get_str(&get(&get(&get(&page, "transactions"), "_links"), "next"), "href")
            });
            if let Some(h) = href {
                let Ok(resolved) = paths::resolve_next(AIS, &h) else {
                    return Step::Done(Err(Failure::new(ErrorCode::BankError, "the bank sent an unusable next-page link")));
                };
                // A link back to a page already read would loop forever.
                if !st.seen.contains(&resolved) {
                    st.next = Some(resolved);
                }
            }
        }
        Step::Done(Ok(iter_result(&page, false)))
    }
}

pub(super) struct PagesState {
    pub(super) next: Option<String>,
    pub(super) dated: bool,
    pub(super) busy: bool,
    pub(super) seen: Vec<String>,
}

/// The pages of a `transactions()` call; JS sees it through the async iterator that
/// `transactions()` returns.
#[wasm_bindgen(skip_typescript)]
pub struct TransactionPages {
    pub(super) inner: Rc<Inner>,
    pub(super) state: Rc<RefCell<PagesState>>,
    pub(super) signal: Option<AbortSignal>,
}

pub(super) fn iter_result(value: &JsValue, done: bool) -> JsValue {
    let r = Object::new();
    set(&r, "value", value);
    set(&r, "done", &JsValue::from_bool(done));
    r.into()
}

#[wasm_bindgen]
impl TransactionPages {
    /// The next page: `{ value: TransactionsPage, done: false }`, then `{ done: true }`.
    pub fn next(&self) -> Promise {
        let valv = Valv { inner: self.inner.clone() };
        valv.start(Ok(Task::new(Op::Page(PageRead { state: self.state.clone(), path: String::new() }), self.signal.clone())))
    }

    /// Stops the iteration (called by `break` in `for await`).
    pub fn finish(&self) {
        self.state.borrow_mut().next = None;
    }
}
