//! Sign in with Mobile BankID (`/auth/bankid`) against the sandbox's decoupled authorization
//! v4: the whole login as a browser and a phone would do it, and the ways an attacker would
//! try to take over someone else's BankID login.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::{start, Browser, Options, Stack, PERSON};
use serde_json::{json, Value};

const CSRF: (&str, &str) = ("x-valv-csrf", "1");

async fn begin(b: &mut Browser, body: Value) -> common::Resp {
    b.send("POST", "/auth/bankid", &[CSRF, ("content-type", "application/json")], Some(body.to_string().into_bytes())).await
}

async fn poll(b: &mut Browser, id: &str) -> common::Resp {
    b.send("GET", &format!("/auth/bankid/{id}"), &[CSRF], None).await
}

/// The person opens BankID on their phone with the autostart token and signs.
async fn phone_signs(stack: &Stack, auto_start_url: &str) {
    let url = url::Url::parse(auto_start_url).unwrap();
    let token = url.query_pairs().find(|(k, _)| k == "autostarttoken").map(|(_, v)| v.into_owned()).expect("autostarttoken");
    let s = stack.control_post("/open/sb/auth/mock/v1/login", json!({ "personal_identity_number": PERSON, "start_token": token })).await;
    assert_eq!(s.as_u16(), 204);
}

/// Polls (as the client does, honouring pollDelayMs) until the login is over.
async fn until_over(b: &mut Browser, id: &str) -> Value {
    for _ in 0..20 {
        let r = poll(b, id).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let v = r.json();
        if v["status"] != "pending" {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the BankID login never ended");
}

#[tokio::test]
async fn a_person_signs_in_with_mobile_bankid_and_the_browser_gets_only_the_session_cookie() {
    let stack = start(Options::default()).await;
    let mut b = stack.browser();
    let r = begin(&mut b, json!({ "provider": "seb", "scopes": ["psd2_accounts"], "returnTo": "/#/accounts" })).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let v = r.json();
    let id = v["id"].as_str().unwrap().to_owned();
    assert_eq!(v["status"], "pending");
    assert_eq!(v["hintCode"], "outstandingTransaction");
    assert!(v["pollDelayMs"].as_u64().is_some_and(|d| (500..=10_000).contains(&d)));
    let qr = v["qrData"].as_str().unwrap().to_owned();
    assert!(qr.starts_with("bankid."), "{qr}");
    let auto = v["autoStartUrl"].as_str().unwrap().to_owned();
    assert!(auto.starts_with("bankid:///?autostarttoken=") && auto.ends_with("&redirect=null"), "{auto}");
    assert!(!b.cookies.contains_key("__Host-valv"), "no session before the person signed");

    // The QR code is animated: a poll a second later carries another one.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let later = poll(&mut b, &id).await.json();
    assert_eq!(later["status"], "pending");
    assert_ne!(later["qrData"], qr, "a new QR code every second");

    phone_signs(&stack, &auto).await;
    let done = until_over(&mut b, &id).await;
    assert_eq!(done["status"], "complete", "{done}");
    assert_eq!(done["returnTo"], "/#/accounts");
    assert!(b.cookies.contains_key("__Host-valv"), "the session cookie is set");

    let info = b.get("/auth/session").await.json();
    assert_eq!(info["authenticated"], true);
    assert_eq!(info["scopes"], json!(["psd2_accounts"]));
    let accounts = b.api("GET", "/ais/v7/identified2/accounts", None).await;
    assert_eq!(accounts.status, 200, "{}", accounts.body);
    assert!(accounts.body.contains("resourceId"));
    // The tokens of a BankID login are refreshed like any others.
    assert!(stack.control_post("/__sandbox/tokens/expire", json!({})).await.is_success());
    let again = b.api("GET", "/ais/v7/identified2/accounts", None).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(stack.refresh_calls().await, 1, "one refresh at the token endpoint");

    // Usable once: the id is gone after completing.
    poll(&mut b, &id).await.assert_error(404, "bad_request");
    stack.assert_no_secrets_seen().await;
}

#[tokio::test]
async fn another_browser_cannot_poll_complete_or_cancel_someone_elses_bankid_login() {
    let stack = start(Options::default()).await;
    let mut victim = stack.browser();
    let v = begin(&mut victim, json!({})).await.json();
    let id = v["id"].as_str().unwrap().to_owned();

    // The attacker knows the id (shoulder-surfed, logged) but not the victim's cookie, and
    // has a BankID login of their own.
    let mut attacker = stack.browser();
    assert_eq!(begin(&mut attacker, json!({})).await.status, 201);
    poll(&mut attacker, &id).await.assert_error(404, "bad_request");
    let del = attacker.send("DELETE", &format!("/auth/bankid/{id}"), &[CSRF], None).await;
    del.assert_error(404, "bad_request");
    // A BankID id is no redirect login's `state`, not even in the browser that holds it.
    let cb = victim.get(&format!("/auth/callback?state={id}&code=x")).await;
    cb.assert_error(400, "bad_request");

    phone_signs(&stack, v["autoStartUrl"].as_str().unwrap()).await;
    poll(&mut attacker, &id).await.assert_error(404, "bad_request");
    assert!(!attacker.cookies.contains_key("__Host-valv"), "the attacker got no session");
    assert_eq!(until_over(&mut victim, &id).await["status"], "complete");
}

#[tokio::test]
async fn a_copied_login_cookie_completes_the_login_only_once() {
    let stack = start(Options::default()).await;
    let mut first = stack.browser();
    let v = begin(&mut first, json!({})).await.json();
    let id = v["id"].as_str().unwrap().to_owned();
    // The pending login's cookie, stolen before the person signs.
    let mut copy = stack.browser();
    copy.cookies = first.cookies.clone();
    phone_signs(&stack, v["autoStartUrl"].as_str().unwrap()).await;
    assert_eq!(until_over(&mut first, &id).await["status"], "complete");
    // The bank says COMPLETE for this order still; the broker has claimed the id.
    for _ in 0..3 {
        let r = poll(&mut copy, &id).await;
        r.assert_error(404, "bad_request");
    }
    assert!(!copy.cookies.contains_key("__Host-valv"), "the copy got no session");
}

#[tokio::test]
async fn every_bankid_call_needs_the_csrf_header() {
    let stack = start(Options::default()).await;
    let mut b = stack.browser();
    let r = b.send("POST", "/auth/bankid", &[("content-type", "application/json")], Some(b"{}".to_vec())).await;
    r.assert_error(403, "csrf");
    let id = begin(&mut b, json!({})).await.json()["id"].as_str().unwrap().to_owned();
    b.send("GET", &format!("/auth/bankid/{id}"), &[], None).await.assert_error(403, "csrf");
    b.send("DELETE", &format!("/auth/bankid/{id}"), &[], None).await.assert_error(403, "csrf");
    let evil = [CSRF, ("origin", "https://evil.example")];
    b.send("GET", &format!("/auth/bankid/{id}"), &evil, None).await.assert_error(403, "csrf");
    assert_eq!(poll(&mut b, &id).await.status, 200, "the login itself is untouched");
}

#[tokio::test]
async fn bad_starts_are_refused_with_what_to_fix() {
    let stack = start(Options::default()).await;
    let mut b = stack.browser();
    for body in [
        json!({ "provider": "nope" }),
        json!({ "scopes": ["psd2_everything"] }),
        json!({ "returnTo": "https://evil.example/" }),
        json!({ "returnTo": "//evil.example/" }),
        json!({ "unknown": 1 }),
    ] {
        begin(&mut b, body).await.assert_error(400, "bad_request");
    }
    let r = b.send("POST", "/auth/bankid", &[CSRF], Some(b"not json".to_vec())).await;
    r.assert_error(400, "bad_request");
    assert!(!b.cookies.contains_key("__Host-valv-login"), "nothing was started");
}

#[tokio::test]
async fn a_cancelled_or_failed_login_ends_and_passes_on_the_banks_hint_code() {
    let stack = start(Options::default()).await;
    let mut b = stack.browser();

    // Cancelled in the page.
    let id = begin(&mut b, json!({})).await.json()["id"].as_str().unwrap().to_owned();
    let del = b.send("DELETE", &format!("/auth/bankid/{id}"), &[CSRF], None).await;
    assert_eq!(del.status, 204, "{}", del.body);
    poll(&mut b, &id).await.assert_error(404, "bad_request");

    // Cancelled in BankID, failed to start, timed out at BankID or at SEB, and a code the
    // broker has never heard of.
    for hint in ["userCancel", "startFailed", "expiredTransaction", "sebTimeout", "someFutureCode"] {
        let id = begin(&mut b, json!({})).await.json()["id"].as_str().unwrap().to_owned();
        let failed = stack
            .plain
            .post(format!("{}/__sandbox/decoupled/fail", stack.bank_url))
            .json(&json!({ "hintCode": hint }))
            .send()
            .await
            .unwrap();
        assert!(failed.status().is_success());
        let order = failed.json::<Value>().await.unwrap()["authReqId"].as_str().unwrap().to_owned();
        let v = until_over(&mut b, &id).await;
        assert_eq!(v, json!({ "status": "failed", "hintCode": hint }));
        poll(&mut b, &id).await.assert_error(404, "bad_request");
        // The bank's order id stays in the broker.
        assert!(!stack.seen.lock().unwrap().iter().any(|r| r.contains(&order)), "the bank's order id reached the browser");
    }
    assert!(!b.cookies.contains_key("__Host-valv"));
}

/// Starting a BankID order costs the bank a call: starts count against the address's login
/// budget (429 `rate_limited`, no order at the bank); polls of a started login do not.
#[tokio::test]
async fn bankid_starts_share_the_login_budget_and_polls_do_not() {
    use valv_broker::config::{Rate, RateLimits};
    let per = |count, secs| Rate::Per { count, period: std::time::Duration::from_secs(secs) };
    let stack = start(Options {
        rate_limits: RateLimits { logins_per_ip: per(3, 60), api_per_ip: per(1000, 1), api_per_session: per(100, 1) },
        ..Options::default()
    })
    .await;
    let mut b = stack.browser();
    let mut ids = Vec::new();
    for _ in 0..3 {
        let r = begin(&mut b, json!({})).await;
        assert_eq!(r.status, 201, "{}", r.body);
        ids.push(r.json()["id"].as_str().unwrap().to_owned());
    }
    let over = begin(&mut b, json!({})).await;
    over.assert_error(429, "rate_limited");
    assert!(over.header("retry-after").is_some());
    for _ in 0..5 {
        assert_eq!(poll(&mut b, ids.last().unwrap()).await.status, 200, "polling is not a login step");
    }
    // The refused start did not reach the bank: three orders are pending there, not four.
    for _ in 0..3 {
        assert!(stack.control_post("/__sandbox/decoupled/fail", json!({ "hintCode": "userCancel" })).await.is_success());
    }
    assert_eq!(stack.control_post("/__sandbox/decoupled/fail", json!({ "hintCode": "userCancel" })).await.as_u16(), 400);
}
