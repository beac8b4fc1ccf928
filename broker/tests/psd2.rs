//! Proxied SEB Account Information and Payment Initiation v7 calls against the sandbox bank.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::{start, Options};
use serde_json::json;

#[tokio::test]
async fn accounts_balances_and_transactions_through_the_broker() {
    let stack = start(Options::default()).await;
    let mut b = stack.browser();
    b.login().await;

    let r = b.api("GET", "/ais/v7/identified2/accounts?withBalance=true", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let accounts = r.json()["accounts"].as_array().cloned().expect("accounts");
    assert!(!accounts.is_empty());
    let id = accounts[0]["resourceId"].as_str().unwrap().to_owned();

    let r = b.api("GET", &format!("/ais/v7/identified2/accounts/{id}/balances"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.json()["balances"].is_array(), "{}", r.body);

    let r = b.api("GET", &format!("/ais/v7/identified2/accounts/{id}/transactions?bookingStatus=booked"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.json()["transactions"]["booked"].is_array(), "{}", r.body);

    // The bank's own error for an unknown account passes through unchanged.
    let r = b.api("GET", "/ais/v7/identified2/accounts/no-such-account/balances", None).await;
    assert!(r.status == 404 || r.status == 403, "{} {}", r.status, r.body);
    assert!(r.body.contains("RESOURCE_UNKNOWN"), "{}", r.body);

    // The sandbox counted the calls the broker made for us.
    let counters = stack.control_get("/__sandbox/counters").await;
    assert_eq!(counters["apiCalls"]["GET /ais/v7/identified2/accounts"], 1, "{counters}");
    stack.assert_no_secrets_seen().await;
}

#[tokio::test]
async fn payment_initiation_and_status_through_the_broker() {
    let stack = start(Options::default()).await;
    let mut b = stack.browser();
    b.login().await;
    let accounts = b.api("GET", "/ais/v7/identified2/accounts", None).await.json();
    let debtor = accounts["accounts"][0]["iban"].as_str().unwrap().to_owned();
    let date = (time::OffsetDateTime::now_utc() + time::Duration::days(3)).date().to_string();
    let product = "swedish-domestic-private-credit-transfers";
    let payment = json!({
        "templateId": product,
        "instructedAmount": {"currency": "SEK", "amount": "99.50"},
        "debtorAccount": {"iban": debtor},
        "creditorAccount": {"iban": "SE2550000000054400047903"},
        "debtorAccountMessage": "valv test",
        "creditorAccountMessage": "valv test",
        "requestedExecutionDate": date,
    });
    let r = b.api("POST", &format!("/pis/v7/identified2/payments/{product}"), Some(payment)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let created = r.json();
    assert_eq!(created["instructedAmount"]["amount"], "99.50", "amounts stay exact strings");
    let payment_id = created["paymentId"].as_str().unwrap().to_owned();

    let r = b.api("GET", &format!("/pis/v7/identified2/payments/{product}/{payment_id}/status"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.json()["transactionStatus"].is_string(), "{}", r.body);
    stack.assert_no_secrets_seen().await;
}

#[tokio::test]
async fn bank_faults_pass_through_and_a_slow_bank_times_out() {
    let stack = start(Options { upstream_timeout: std::time::Duration::from_secs(1), ..Options::default() }).await;
    let mut b = stack.browser();
    b.login().await;
    let accounts = "/ais/v7/identified2/accounts";

    // The bank's own 429 with Retry-After reaches the browser unchanged (not the broker's code).
    let s = stack.control_post("/__sandbox/failures", json!({"path": accounts, "status": 429, "count": 1, "retryAfter": 7})).await;
    assert!(s.is_success());
    let r = b.api("GET", accounts, None).await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(r.header("retry-after"), Some("7"));
    assert!(r.body.contains("ACCESS_EXCEEDED"), "{}", r.body);

    // A bank slower than the upstream timeout: 504, and the next call works.
    let s = stack.control_post("/__sandbox/latency", json!({"path": accounts, "ms": 3000, "count": 1})).await;
    assert!(s.is_success());
    b.api("GET", accounts, None).await.assert_error(504, "upstream_timeout");
    assert_eq!(b.api("GET", accounts, None).await.status, 200);
    stack.assert_no_secrets_seen().await;
}
