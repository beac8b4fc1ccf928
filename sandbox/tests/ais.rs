//! Account Information v7 over HTTP: every endpoint, paging, dates, the daily limit and its
//! lifting by `PSU-IP-Address`, and every error path (request id, scope, token, account).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::Value;
use valv_psd2::account::{AccountDetails, AccountList, BalancesResponse};
use valv_psd2::transaction::{Transaction, TransactionsResponse};

const AIS: &str = "/ais/v7/identified2";
const PERSON: &str = "9311219639";

struct Call<'a> {
    sb: &'a common::TestSandbox,
    token: String,
    present: bool,
}

impl Call<'_> {
    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let mut req = self
            .sb
            .http
            .get(self.sb.url(&format!("{AIS}{path}")))
            .bearer_auth(&self.token)
            .header("x-request-id", uuid::Uuid::new_v4().to_string());
        if self.present {
            req = req.header("psu-ip-address", "192.0.2.10");
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }
}

async fn setup(scopes: &str) -> (common::TestSandbox, String) {
    let sb = common::spawn_default().await;
    let token = sb.token_for(PERSON, scopes).await;
    (sb, token)
}

#[tokio::test]
async fn accounts_account_balances() {
    let (sb, token) = setup("psd2_accounts").await;
    let c = Call { sb: &sb, token, present: true };
    let (s, v) = c.get("/accounts").await;
    assert_eq!(s, 200);
    let list: AccountList = serde_json::from_value(v.clone()).unwrap();
    assert!(list.accounts.len() >= 2);
    assert!(list.accounts.iter().all(|a| a.balances.is_none()), "no balances without withBalance");
    assert_eq!(list.accounts[0].iban.as_deref(), Some("SE3750000000054400047881"));
    let (_, v) = c.get("/accounts?withBalance=true").await;
    let list: AccountList = serde_json::from_value(v).unwrap();
    let first = &list.accounts[0];
    let balances = first.balances.as_ref().expect("balances");
    assert!(balances.iter().any(|b| b.balance_type.as_str() == "interimAvailable"));
    // Amounts are exact decimal strings with SEB's three decimals.
    let amount = balances[0].balance_amount.amount.as_str().to_owned();
    assert_eq!(amount.split('.').nth(1).map(str::len), Some(3), "{amount}");

    let id = first.resource_id.clone().unwrap();
    let (s, v) = c.get(&format!("/accounts/{id}?withBalance=true")).await;
    assert_eq!(s, 200);
    let details: AccountDetails = serde_json::from_value(v).unwrap();
    assert_eq!(details.resource_id.as_deref(), Some(id.as_str()));
    assert!(details.balances.is_some());
    assert_eq!(details.bic.as_deref(), Some("ESSESESS"));

    let (s, v) = c.get(&format!("/accounts/{id}/balances")).await;
    assert_eq!(s, 200);
    let b: BalancesResponse = serde_json::from_value(v).unwrap();
    assert_eq!(b.balances.len(), 2);

    // another person's account is unknown to this one
    let other = sb.token_for("8811215477", "psd2_accounts").await;
    let c2 = Call { sb: &sb, token: other, present: true };
    let (s, v) = c2.get(&format!("/accounts/{id}")).await;
    assert_eq!(s, 404);
    assert_eq!(v["code"], "RESOURCE_UNKNOWN");
}

#[tokio::test]
async fn transactions_page_through_next_links_without_gaps_or_repeats() {
    let (sb, token) = setup("psd2_accounts").await;
    let c = Call { sb: &sb, token, present: true };
    let (_, v) = c.get("/accounts").await;
    let id = v["accounts"][0]["resourceId"].as_str().unwrap().to_owned();
    let mut path = format!("/accounts/{id}/transactions?bookingStatus=both");
    let mut ids = BTreeSet::new();
    let mut pages = 0;
    let mut pending_seen = 0;
    loop {
        let (s, v) = c.get(&path).await;
        assert_eq!(s, 200, "{v}");
        let page: TransactionsResponse = serde_json::from_value(v).unwrap();
        pages += 1;
        let booked = page.transactions.booked.clone().unwrap_or_default();
        assert!(booked.len() <= 199);
        pending_seen += page.transactions.pending.as_ref().map_or(0, Vec::len);
        for t in &booked {
            assert!(ids.insert(t.transaction_id.clone().unwrap()), "repeated transaction");
        }
        match page.next_link() {
            Some(next) => {
                assert!(next.starts_with("/accounts/"), "relative to the base path: {next}");
                assert!(next.contains("transactionSequenceNumber="));
                path = next.to_owned();
            }
            None => break,
        }
    }
    assert!(pages >= 3, "{pages} pages");
    assert!(ids.len() >= 450, "{} booked", ids.len());
    assert!(pending_seen > 0 && pending_seen < 10, "pending only on the first page");

    // A dated request is one page with only dates in range.
    let (s, v) = c.get(&format!("/accounts/{id}/transactions?bookingStatus=booked&dateFrom=2000-01-01&dateTo=2099-12-31")).await;
    assert_eq!(s, 200);
    let page: TransactionsResponse = serde_json::from_value(v).unwrap();
    assert!(page.next_link().is_none());
    assert_eq!(page.transactions.booked.as_ref().unwrap().len(), ids.len());
    let all = page.transactions.booked.unwrap();
    let mid = all[all.len() / 2].booking_date.clone().unwrap();
    let (_, v) = c.get(&format!("/accounts/{id}/transactions?bookingStatus=booked&dateFrom={mid}&dateTo={mid}")).await;
    let page: TransactionsResponse = serde_json::from_value(v).unwrap();
    let some = page.transactions.booked.unwrap();
    assert!(!some.is_empty() && some.iter().all(|t| t.booking_date.as_deref() == Some(mid.as_str())));

    // details
    let tid = ids.iter().next().unwrap();
    let (s, v) = c.get(&format!("/accounts/{id}/transactions/{tid}")).await;
    assert_eq!(s, 200);
    let t: Transaction = serde_json::from_value(v).unwrap();
    assert!(t.remittance_information_unstructured.is_some());
    let (s, v) = c.get(&format!("/accounts/{id}/transactions/nope")).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::NOT_FOUND, Some("RESOURCE_UNKNOWN")));
}

#[tokio::test]
async fn bad_queries_are_format_errors() {
    let (sb, token) = setup("psd2_accounts").await;
    let c = Call { sb: &sb, token, present: true };
    let (_, v) = c.get("/accounts").await;
    let id = v["accounts"][0]["resourceId"].as_str().unwrap().to_owned();
    for q in [
        "",
        "?bookingStatus=all",
        "?bookingStatus=booked&dateFrom=2024-13-01",
        "?bookingStatus=booked&dateTo=yesterday",
        "?bookingStatus=booked&transactionSequenceNumber=x",
    ] {
        let (s, v) = c.get(&format!("/accounts/{id}/transactions{q}")).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::BAD_REQUEST, Some("FORMAT_ERROR")), "{q}: {v}");
    }
    let (s, v) = c.get(&format!("/accounts/{id}/transactions?bookingStatus=booked&dateFrom=2024-02-01&dateTo=2024-01-01")).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::BAD_REQUEST, Some("PERIOD_INVALID")));
    let (s, _) = c.get("/accounts?withBalance=maybe").await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn four_unattended_calls_a_day_then_429_unless_the_user_is_present() {
    let (sb, token) = setup("psd2_accounts").await;
    let absent = Call { sb: &sb, token: token.clone(), present: false };
    for i in 0..4 {
        let (s, _) = absent.get("/accounts").await;
        assert_eq!(s, 200, "call {i}");
    }
    let (s, v) = absent.get("/accounts").await;
    assert_eq!(s, 429);
    assert_eq!(v["code"], "ACCESS_EXCEEDED");
    // Another operation has its own budget; a present user has none.
    let (_, v) = Call { sb: &sb, token: token.clone(), present: true }.get("/accounts").await;
    let id = v["accounts"][0]["resourceId"].as_str().unwrap().to_owned();
    assert_eq!(absent.get(&format!("/accounts/{id}/balances")).await.0, 200);
    let present = Call { sb: &sb, token, present: true };
    for _ in 0..6 {
        assert_eq!(present.get("/accounts").await.0, 200);
    }
    // reset clears the counters (tokens too: get a new one)
    assert!(sb.control("/__sandbox/reset", serde_json::json!({})).await.is_success());
    let fresh = Call { sb: &sb, token: sb.token_for(PERSON, "psd2_accounts").await, present: false };
    assert_eq!(fresh.get("/accounts").await.0, 200);
}

#[tokio::test]
async fn request_id_scope_and_token_are_checked() {
    let (sb, token) = setup("psd2_payments").await;
    let url = sb.url(&format!("{AIS}/accounts"));
    // missing scope
    let res = sb.http.get(&url).bearer_auth(&token).header("x-request-id", uuid::Uuid::new_v4().to_string()).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "TOKEN_INVALID");

    let token = sb.token_for(PERSON, "psd2_accounts").await;
    // missing and malformed X-Request-ID
    let res = sb.http.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "FORMAT_ERROR");
    let res = sb.http.get(&url).bearer_auth(&token).header("x-request-id", "not-a-uuid").send().await.unwrap();
    assert_eq!(res.status(), 400);
    // the request id is echoed
    let rid = uuid::Uuid::new_v4().to_string();
    let res =
        sb.http.get(&url).bearer_auth(&token).header("x-request-id", &rid).header("psu-ip-address", "192.0.2.1").send().await.unwrap();
    assert_eq!(res.headers()["x-request-id"], rid.as_str());
    // repeated slashes are merged, as SEB's gateway does (its own collection relies on it)
    let doubled = sb.url(&format!("{AIS}//accounts"));
    let res =
        sb.http.get(&doubled).bearer_auth(&token).header("x-request-id", &rid).header("psu-ip-address", "192.0.2.1").send().await.unwrap();
    assert_eq!(res.status(), 200);
    // no token, garbage token, expired token
    let res = sb.http.get(&url).header("x-request-id", &rid).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let res = sb.http.get(&url).bearer_auth("garbage").header("x-request-id", &rid).send().await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "TOKEN_INVALID");
    sb.expire_tokens().await;
    let res = sb.http.get(&url).bearer_auth(&token).header("x-request-id", &rid).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "TOKEN_EXPIRED");
}
