//! Account information: accounts, balances, transactions (as pages) and a transaction's
//! details.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::Promise;
use tsify::Ts;
use wasm_bindgen::prelude::*;

use super::args::opts;
use super::failure::Failure;
use super::ffi::js_iterable;
use super::op::{Pick, Task};
use super::pages::{PagesState, TransactionPages};
use super::valv::Valv;
use crate::options::{AccountsOptions, CallOptions, TransactionsOptions};
use crate::paths::{self, Query, AIS};
use crate::validate;

#[wasm_bindgen]
impl Valv {
    /// All accounts (`GET /accounts`), optionally with balances.
    #[wasm_bindgen(unchecked_return_type = "Promise<Account[]>")]
    pub fn accounts(&self, options: Option<Ts<AccountsOptions>>) -> Promise {
        self.start(opts(options).map(|o| {
            let path =
                Query::new().opt("withBalance", o.with_balance.filter(|b| *b).map(|_| "true")).finish(paths::join(AIS, &["accounts"]));
            Task::get(path, o.signal, Pick::Array("accounts"))
        }))
    }

    /// One account's details (`GET /accounts/{id}`).
    #[wasm_bindgen(unchecked_return_type = "Promise<Account>")]
    pub fn account(&self, account_id: &str, options: Option<Ts<AccountsOptions>>) -> Promise {
        self.start(validate::id(account_id, "accountId").map_err(Failure::from).and_then(|_| {
            let o = opts(options)?;
            let path = Query::new()
                .opt("withBalance", o.with_balance.filter(|b| *b).map(|_| "true"))
                .finish(paths::join(AIS, &["accounts", account_id]));
            Ok(Task::get(path, o.signal, Pick::AccountDetails))
        }))
    }

    /// An account's balances (`GET /accounts/{id}/balances`).
    #[wasm_bindgen(unchecked_return_type = "Promise<Balance[]>")]
    pub fn balances(&self, account_id: &str, options: Option<Ts<CallOptions>>) -> Promise {
        self.start(validate::id(account_id, "accountId").map_err(Failure::from).and_then(|_| {
            let o = opts(options)?;
            let path = paths::join(AIS, &["accounts", account_id, "balances"]);
            Ok(Task::get(path, o.signal, Pick::Array("balances")))
        }))
    }

    /// Pages of an account's transactions, as an async iterator following `_links.next`
    /// (a date-filtered call is one page). Throws `invalid_argument` at once for bad options.
    #[wasm_bindgen(unchecked_return_type = "AsyncIterableIterator<TransactionsPage>")]
    pub fn transactions(&self, account_id: &str, options: Option<Ts<TransactionsOptions>>) -> Result<JsValue, JsValue> {
        validate::id(account_id, "accountId").map_err(|e| Failure::from(e).into_js())?;
        let o = opts(options).map_err(Failure::into_js)?;
        let args = validate::transactions(o.booking_status.as_deref(), o.date_from.as_deref(), o.date_to.as_deref())
            .map_err(|e| Failure::from(e).into_js())?;
        let first = Query::new()
            .add("bookingStatus", args.booking_status.as_str())
            .opt("dateFrom", args.date_from.as_deref())
            .opt("dateTo", args.date_to.as_deref())
            .finish(paths::join(AIS, &["accounts", account_id, "transactions"]));
        let pages = TransactionPages {
            inner: self.inner.clone(),
            state: Rc::new(RefCell::new(PagesState { next: Some(first), dated: args.is_dated(), busy: false, seen: Vec::new() })),
            signal: o.signal,
        };
        Ok(js_iterable(pages.into()))
    }

    /// One transaction's details (`GET /accounts/{id}/transactions/{transactionId}`).
    #[wasm_bindgen(unchecked_return_type = "Promise<Transaction>")]
    pub fn transaction(&self, account_id: &str, transaction_id: &str, options: Option<Ts<CallOptions>>) -> Promise {
        self.start(
            validate::id(account_id, "accountId")
                .and_then(|_| validate::id(transaction_id, "transactionId"))
                .map_err(Failure::from)
                .and_then(|_| {
                    let o = opts(options)?;
                    let path = paths::join(AIS, &["accounts", account_id, "transactions", transaction_id]);
                    Ok(Task::get(path, o.signal, Pick::Whole))
                }),
        )
    }
}
