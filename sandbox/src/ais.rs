//! Account Information v7 under `/ais/v7/identified2`.
//!
//! Every call needs a token with `psd2_accounts` and an `X-Request-ID` (a UUID, echoed back).
//! Without `PSU-IP-Address` (the user is not present) a person gets [`DAILY_LIMIT`] calls a day
//! per account and operation, then 429 `ACCESS_EXCEEDED`, as SEB documents.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use time::macros::format_description;
use time::Date;

use crate::auth::Psu;
use crate::bank::{BankState, DAILY_LIMIT, PAGE_SIZE};
use crate::error::Problem;
use crate::state::SandboxState;

/// Base path of AIS v7.
pub const BASE: &str = "/ais/v7/identified2";

/// The AIS routes.
pub fn router() -> Router<SandboxState> {
    Router::new()
        .route(&format!("{BASE}/accounts"), get(accounts))
        .route(&format!("{BASE}/accounts/{{id}}"), get(account))
        .route(&format!("{BASE}/accounts/{{id}}/balances"), get(balances))
        .route(&format!("{BASE}/accounts/{{id}}/transactions"), get(transactions))
        .route(&format!("{BASE}/accounts/{{id}}/transactions/{{tx}}"), get(transaction))
}

/// The `X-Request-ID` of a request: required, a UUID.
pub fn request_id(headers: &HeaderMap) -> Result<String, Problem> {
    let v = headers
        .get("x-request-id")
        .ok_or_else(|| Problem::format("The header X-Request-ID is missing"))?
        .to_str()
        .map_err(|_| Problem::format("The header X-Request-ID must be a UUID"))?
        .trim();
    uuid::Uuid::parse_str(v).map_err(|_| Problem::format("The header X-Request-ID must be a UUID"))?;
    Ok(v.to_owned())
}

/// A JSON answer with the request id echoed.
pub fn reply(status: StatusCode, request_id: &str, body: Value) -> Response {
    let mut res = (status, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(request_id) {
        res.headers_mut().insert("x-request-id", v);
    }
    res
}

fn present(headers: &HeaderMap) -> bool {
    headers.get("psu-ip-address").is_some_and(|v| !v.as_bytes().is_empty())
}

/// Auth, scope, request id and the unattended-access limit, in SEB's order.
fn admit(st: &SandboxState, psu: &Psu, headers: &HeaderMap, account: &str, operation: &'static str) -> Result<String, Problem> {
    psu.require("psd2_accounts")?;
    let rid = request_id(headers)?;
    if !present(headers) && !st.bank().state().count_unattended(&psu.person_id, account, operation) {
        return Err(Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "ACCESS_EXCEEDED",
            format!("Without PSU-IP-Address the PSU may access an account {DAILY_LIMIT} times a day per operation"),
        ));
    }
    Ok(rid)
}

fn flag(q: &HashMap<String, String>, name: &str) -> Result<bool, Problem> {
    match q.get(name).map(String::as_str) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(Problem::format(format!("The query parameter {name} must be true or false, not {other:?}"))),
    }
}

fn unknown_account() -> Problem {
    Problem::unknown("The account is unknown or does not belong to the PSU")
}

async fn accounts(
    State(st): State<SandboxState>,
    psu: Psu,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, Problem> {
    let rid = admit(&st, &psu, &headers, "*", "accounts")?;
    let with_balance = flag(&q, "withBalance")?;
    let bank = st.bank().state();
    let list: Vec<Value> =
        bank.accounts.get(psu.person_id.as_str()).map(|a| a.iter().map(|a| a.to_json(with_balance, false)).collect()).unwrap_or_default();
    Ok(reply(StatusCode::OK, &rid, json!({ "accounts": list })))
}

async fn account(
    State(st): State<SandboxState>,
    psu: Psu,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, Problem> {
    let rid = admit(&st, &psu, &headers, &id, "account")?;
    let with_balance = flag(&q, "withBalance")?;
    let bank = st.bank().state();
    let a = bank.account(&psu.person_id, &id).ok_or_else(unknown_account)?;
    // SEB answers with the account object itself (its collection reads `_links` at the top).
    Ok(reply(StatusCode::OK, &rid, a.to_json(with_balance, true)))
}

async fn balances(State(st): State<SandboxState>, psu: Psu, headers: HeaderMap, Path(id): Path<String>) -> Result<Response, Problem> {
    let rid = admit(&st, &psu, &headers, &id, "balances")?;
    let bank = st.bank().state();
    let a = bank.account(&psu.person_id, &id).ok_or_else(unknown_account)?;
    Ok(reply(StatusCode::OK, &rid, json!({ "account": {"iban": a.iban}, "balances": a.balances_json() })))
}

fn date(q: &HashMap<String, String>, name: &str) -> Result<Option<Date>, Problem> {
    q.get(name)
        .map(|v| {
            Date::parse(v, format_description!("[year]-[month]-[day]"))
                .map_err(|_| Problem::format(format!("The query parameter {name} must be an ISO date (YYYY-MM-DD), not {v:?}")))
        })
        .transpose()
}

fn transactions_page(bank: &BankState, person: &str, id: &str, q: &HashMap<String, String>) -> Result<Value, Problem> {
    let status =
        q.get("bookingStatus").ok_or_else(|| Problem::format("The query parameter bookingStatus is required (booked, pending or both)"))?;
    let (booked, pending) = match status.as_str() {
        "booked" => (true, false),
        "pending" => (false, true),
        "both" => (true, true),
        other => return Err(Problem::format(format!("bookingStatus must be booked, pending or both, not {other:?}"))),
    };
    let from = date(q, "dateFrom")?;
    let to = date(q, "dateTo")?;
    if let (Some(f), Some(t)) = (from, to) {
        if f > t {
            return Err(Problem::new(StatusCode::BAD_REQUEST, "PERIOD_INVALID", "dateFrom is after dateTo"));
        }
    }
    let after = q
        .get("transactionSequenceNumber")
        .map(|v| v.parse::<usize>().map_err(|_| Problem::format("transactionSequenceNumber must be a number")))
        .transpose()?;
    let a = bank.account(person, id).ok_or_else(unknown_account)?;
    let dated = from.is_some() || to.is_some();
    let in_range = |d: Date| from.is_none_or(|f| d >= f) && to.is_none_or(|t| d <= t);

    let mut report = serde_json::Map::new();
    let mut links = json!({ "account": {"href": format!("/accounts/{id}")} });
    if booked {
        let list: Vec<&crate::bank::Tx> = if dated {
            a.booked.iter().filter(|t| in_range(t.date)).collect()
        } else {
            let rest: Vec<&crate::bank::Tx> = a.booked.iter().filter(|t| after.is_none_or(|n| t.seq < n)).collect();
            if rest.len() > PAGE_SIZE {
                let last = rest[PAGE_SIZE - 1].seq;
                links["next"] = json!({
                    "href": format!("/accounts/{id}/transactions?bookingStatus={status}&transactionSequenceNumber={last}")
                });
            }
            rest.into_iter().take(PAGE_SIZE).collect()
        };
        report.insert("booked".into(), Value::Array(list.iter().map(|t| a.tx_json(t, false)).collect()));
    }
    if pending && after.is_none() {
        let list: Vec<Value> = a.pending.iter().filter(|t| !dated || in_range(t.date)).map(|t| a.tx_json(t, false)).collect();
        report.insert("pending".into(), Value::Array(list));
    }
    Ok(json!({
        "account": {"iban": a.iban},
        "transactions": Value::Object(report),
        "_links": links,
    }))
}

async fn transactions(
    State(st): State<SandboxState>,
    psu: Psu,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, Problem> {
    let rid = admit(&st, &psu, &headers, &id, "transactions")?;
    let bank = st.bank().state();
    let body = transactions_page(&bank, &psu.person_id, &id, &q)?;
    Ok(reply(StatusCode::OK, &rid, body))
}

async fn transaction(
    State(st): State<SandboxState>,
    psu: Psu,
    headers: HeaderMap,
    Path((id, tx)): Path<(String, String)>,
) -> Result<Response, Problem> {
    let rid = admit(&st, &psu, &headers, &id, "transaction")?;
    let bank = st.bank().state();
    let a = bank.account(&psu.person_id, &id).ok_or_else(unknown_account)?;
    let t = a.booked.iter().chain(a.pending.iter()).find(|t| t.id == tx).ok_or_else(|| Problem::unknown("The transaction is unknown"))?;
    // SEB v7 answers with the transaction object itself (valv-psd2 `TransactionDetails`).
    Ok(reply(StatusCode::OK, &rid, a.tx_json(t, true)))
}
