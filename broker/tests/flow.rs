//! The broker against the sandbox bank: login through the bank's HTML form, session info,
//! proxied calls, refresh (skew, 401, single-flight, rotation), logout.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::{start, Options, PERSON};
use serde_json::{json, Value};
use valv_sandbox::Settings;

#[tokio::test]
async fn login_through_the_bank_form_sets_a_host_cookie_and_session_info() {
    let stack = start(Options::default()).await;
    let mut b = stack.browser();

    let before = b.get("/auth/session").await;
    assert_eq!(before.status, 200);
    assert_eq!(before.json()["authenticated"], false);
    assert_eq!(before.header("cache-control"), Some("no-store"));

    // An attacker planted a session id of their choosing (session fixation).
    let planted = "AAAAAAAAAAAAAAAAAAAAAA".to_owned();
    b.cookies.insert("__Host-valv".into(), planted.clone());

    // The authorize redirect: every parameter the bank needs, PKCE S256, our exact redirect.
    let authorize = b.start_login("provider=seb&returnTo=%2Fapp%3Ftab%3D1&scope=psd2_accounts&login_hint=x").await;
    // The login in progress lives in a sealed cookie of its own; there is no session yet.
    assert_eq!(b.cookies.get("__Host-valv"), Some(&planted), "no session is made before the login completes");
    let login_cookie = b.cookies.get("__Host-valv-login").cloned().expect("the login cookie");
    let url = url::Url::parse(&authorize).unwrap();
    assert!(authorize.starts_with(&format!("{}/mga/sps/oauth/oauth20/authorize?", stack.bank_url)));
    let q: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], common::CLIENT_ID);
    assert_eq!(q["redirect_uri"], format!("{}/auth/callback", stack.broker_url));
    assert_eq!(q["scope"], "psd2_accounts");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["code_challenge"].len(), 43);
    assert_eq!(q["login_hint"], "x");
    assert!(q["state"].len() >= 43, "state has 256 bits");
    assert!(!login_cookie.contains(&q["state"]), "the state is sealed, not readable in the cookie");

    let callback = b.bank_login(&authorize, PERSON).await;
    assert!(callback.starts_with(&format!("{}/auth/callback?", stack.broker_url)));
    let done = b.send("GET", &callback, &[], None).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location(), "/app?tab=1");

    // The session cookie: __Host- rules, HttpOnly, SameSite=Lax, and a new id (rotated).
    let set_cookie = done.header("set-cookie").expect("session cookie set at login").to_owned();
    let lower = set_cookie.to_ascii_lowercase();
    assert!(set_cookie.starts_with("__Host-valv="), "{set_cookie}");
    for attr in ["httponly", "secure", "path=/", "samesite=lax"] {
        assert!(lower.contains(attr), "{attr} missing: {set_cookie}");
    }
    assert!(!lower.contains("domain="), "{set_cookie}");
    let session_cookie = b.cookies.get("__Host-valv").cloned().unwrap();
    assert!(session_cookie.len() < 40, "the cookie carries only an id");
    assert_ne!(session_cookie, planted, "the login made a new session id");
    assert!(!b.cookies.contains_key("__Host-valv-login"), "the finished login's cookie is cleared");

    let info = b.get("/auth/session").await.json();
    assert_eq!(info["authenticated"], true);
    assert_eq!(info["provider"], "seb");
    assert_eq!(info["scopes"], json!(["psd2_accounts"]));
    let access =
        time::OffsetDateTime::parse(info["accessExpiresAt"].as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap();
    let session_end =
        time::OffsetDateTime::parse(info["sessionExpiresAt"].as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap();
    assert!(access > time::OffsetDateTime::now_utc());
    assert!(session_end > time::OffsetDateTime::now_utc());

    // The planted id (the attacker who fixed it) is not logged in.
    let mut fixed = stack.browser();
    fixed.cookies.insert("__Host-valv".into(), planted);
    assert_eq!(fixed.get("/auth/session").await.json()["authenticated"], false);

    stack.assert_no_secrets_seen().await;
}

#[tokio::test]
async fn login_with_client_secret_basic_works_too() {
    let stack = start(Options { client_auth: valv_broker::config::ClientAuth::ClientSecretBasic, ..Options::default() }).await;
    let mut b = stack.browser();
    assert_eq!(b.login().await, "/app?tab=1");
    assert_eq!(b.get("/auth/session").await.json()["authenticated"], true);
}

#[tokio::test]
async fn bank_error_answer_comes_back_to_the_spa() {
    let stack = start(Options::default()).await;
    let mut b = stack.browser();
    let authorize = b.start_login("provider=seb&returnTo=%2Fapp%23top").await;
    let page = b.send("GET", &authorize, &[], None).await;
    let marker = "name=\"request_id\" value=\"";
    let at = page.body.find(marker).unwrap() + marker.len();
    let rid = page.body[at..at + page.body[at..].find('"').unwrap()].to_owned();
    let action = url::Url::parse(&authorize).unwrap();
    let form = format!("request_id={rid}&personal_identity_number=&action=cancel");
    let cancelled = b
        .send(
            "POST",
            &format!("{}://{}{}", action.scheme(), action.authority(), action.path()),
            &[("content-type", "application/x-www-form-urlencoded")],
            Some(form.into_bytes()),
        )
        .await;
    assert_eq!(cancelled.status, 302);
    let back = b.send("GET", cancelled.location(), &[], None).await;
    assert_eq!(back.status, 303);
    assert_eq!(back.location(), "/app?valvError=access_denied#top");
    assert_eq!(b.get("/auth/session").await.json()["authenticated"], false);
}

#[tokio::test]
async fn proxied_calls_carry_the_token_and_psd2_headers_but_no_browser_secrets() {
    let stack = start(Options::default()).await;
    let mut b = stack.browser();
    b.login().await;

    let rid = uuid::Uuid::new_v4().to_string();
    let r = b
        .send(
            "POST",
            "/api/seb/test-api/echo?x=1&y=%20",
            &[
                ("x-valv-csrf", "1"),
                ("x-request-id", &rid),
                ("content-type", "application/json"),
                ("user-agent", "TestBrowser/1.0"),
                ("origin", &stack.broker_url.clone()),
                ("authorization", "Bearer from-the-browser"),
                ("sec-fetch-site", "same-origin"),
            ],
            Some(br#"{"amount":"12.50"}"#.to_vec()),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["person"], PERSON, "the bank saw the session's token");
    assert_eq!(v["method"], "POST");
    assert_eq!(v["query"], "x=1&y=%20");
    assert_eq!(v["body"], r#"{"amount":"12.50"}"#);
    assert_eq!(v["contentType"], "application/json");
    assert_eq!(v["requestId"], rid.as_str());
    assert_eq!(r.header("x-request-id"), Some(rid.as_str()));
    assert_eq!(v["psuIpAddress"], "127.0.0.1");
    assert_eq!(v["psuUserAgent"], "TestBrowser/1.0");
    let names: Vec<&str> = v["headerNames"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    for forbidden in ["cookie", "origin", "x-valv-csrf", "sec-fetch-site"] {
        assert!(!names.contains(&forbidden), "{forbidden} forwarded: {names:?}");
    }
    // The bank's cookie does not reach the browser; its other headers do.
    assert!(r.header("set-cookie").is_none_or(|c| !c.contains("bank-session")));
    assert_eq!(r.header("x-bank"), Some("1"));
    assert_eq!(r.header("cache-control"), Some("no-store"));

    // Without a browser request id, the broker makes one and returns it.
    let r = b.api("GET", "/test-api/echo", None).await;
    let id = r.header("x-request-id").unwrap().to_owned();
    uuid::Uuid::parse_str(&id).unwrap();
    assert_eq!(r.json()["requestId"], id.as_str());

    // Bank errors pass through unchanged with the bank's status.
    let r = b.api("GET", "/test-api/problem", None).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    assert_eq!(r.json()["tppMessages"][0]["code"], "FORMAT_ERROR");

    stack.assert_no_secrets_seen().await;
}

#[tokio::test]
async fn refresh_before_expiry_and_single_flight_under_50_concurrent_requests() {
    // Tokens live 20 s, the skew is 30 s: the login's token is "about to expire" when used.
    let settings = Settings { access_token_lifetime: 20, ..Settings::default() };
    let stack = start(Options { settings, refresh_skew: std::time::Duration::from_secs(30), ..Options::default() }).await;
    let mut b = stack.browser();
    b.login().await;
    assert_eq!(stack.refresh_calls().await, 0);

    let cookie = b.cookie_header().unwrap();
    let url = format!("{}/api/seb/test-api/echo", stack.broker_url);
    let client = common::plain_client();
    let calls = (0..50).map(|_| {
        let (client, url, cookie) = (client.clone(), url.clone(), cookie.clone());
        tokio::spawn(
            async move { client.get(url).header("cookie", cookie).header("x-valv-csrf", "1").send().await.unwrap().status().as_u16() },
        )
    });
    for c in futures::future::join_all(calls).await {
        assert_eq!(c.unwrap(), 200);
    }
    assert_eq!(stack.refresh_calls().await, 1, "50 concurrent requests shared one refresh before expiry");

    // The new token also lives less than the skew; it was just obtained, so it is used as is
    // rather than refreshed on every request.
    assert_eq!(b.api("GET", "/test-api/echo", None).await.status, 200);
    assert_eq!(stack.refresh_calls().await, 1);
    let m = b.get("/metrics").await.body;
    assert!(m.contains(r#"valv_refreshes_total{provider="seb",outcome="ok"} 1"#), "{m}");
}

#[tokio::test]
async fn refresh_after_an_upstream_401_once_for_50_concurrent_requests() {
    let stack = start(Options::default()).await;
    let mut b = stack.browser();
    b.login().await;
    assert_eq!(b.api("GET", "/test-api/echo", None).await.status, 200);
    assert_eq!(stack.refresh_calls().await, 0, "a fresh token is not refreshed");

    // The bank expires every token; the broker still thinks they are valid.
    assert!(stack.control_post("/__sandbox/tokens/expire", json!({})).await.is_success());
    let r = b.api("GET", "/test-api/echo", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(stack.refresh_calls().await, 1);

    assert!(stack.control_post("/__sandbox/tokens/expire", json!({})).await.is_success());
    let cookie = b.cookie_header().unwrap();
    let url = format!("{}/api/seb/test-api/echo", stack.broker_url);
    let client = common::plain_client();
    let calls = (0..50).map(|_| {
        let (client, url, cookie) = (client.clone(), url.clone(), cookie.clone());
        tokio::spawn(
            async move { client.get(url).header("cookie", cookie).header("x-valv-csrf", "1").send().await.unwrap().status().as_u16() },
        )
    });
    for c in futures::future::join_all(calls).await {
        assert_eq!(c.unwrap(), 200);
    }
    assert_eq!(stack.refresh_calls().await, 2, "one refresh for the whole burst");
}

#[tokio::test]
async fn refresh_token_rotation_with_reuse_detection_never_logs_out() {
    let settings = Settings { refresh_rotation: true, reuse_detection: true, ..Settings::default() };
    let stack = start(Options { settings, ..Options::default() }).await;
    let mut b = stack.browser();
    b.login().await;
    let cookie = b.cookie_header().unwrap();
    let url = format!("{}/api/seb/test-api/echo", stack.broker_url);
    let client = common::plain_client();
    for round in 1..=3u64 {
        assert!(stack.control_post("/__sandbox/tokens/expire", json!({})).await.is_success());
        let calls = (0..20).map(|_| {
            let (client, url, cookie) = (client.clone(), url.clone(), cookie.clone());
            tokio::spawn(async move {
                client.get(url).header("cookie", cookie).header("x-valv-csrf", "1").send().await.unwrap().status().as_u16()
            })
        });
        for c in futures::future::join_all(calls).await {
            assert_eq!(c.unwrap(), 200, "round {round}");
        }
        assert_eq!(stack.refresh_calls().await, round);
    }
    let counters = stack.control_get("/__sandbox/counters").await;
    assert_eq!(counters["refreshRejections"], 0, "no rotated token was ever presented again");
    assert_eq!(b.get("/auth/session").await.json()["authenticated"], true);
}

#[tokio::test]
async fn invalid_grant_ends_the_session_and_a_bank_outage_keeps_it() {
    let stack = start(Options::default()).await;
    let mut b = stack.browser();
    b.login().await;

    // Token endpoint down during a refresh: 502, session kept.
    assert!(stack.control_post("/__sandbox/tokens/expire", json!({})).await.is_success());
    assert!(stack
        .control_put("/__sandbox/faults", json!({"rules": [{"endpoint": "token", "failNext": 1, "status": 503}]}))
        .await
        .is_success());
    b.api("GET", "/test-api/echo", None).await.assert_error(502, "upstream_unavailable");
    assert_eq!(b.get("/auth/session").await.json()["authenticated"], true);
    assert_eq!(b.api("GET", "/test-api/echo", None).await.status, 200, "works again once the bank is back");

    // The grant is revoked at the bank: the next refresh is invalid_grant → session_expired.
    let revoked: Value = stack
        .plain
        .post(format!("{}/__sandbox/grants/revoke", stack.bank_url))
        .json(&json!({"person": PERSON}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(revoked["revoked"].as_u64().unwrap() > 0);
    b.api("GET", "/test-api/echo", None).await.assert_error(401, "session_expired");
    b.api("GET", "/test-api/echo", None).await.assert_error(401, "unauthenticated");
    assert_eq!(b.get("/auth/session").await.json()["authenticated"], false);
}

#[tokio::test]
async fn logout_revokes_and_kills_the_session_server_side() {
    let stack = start(Options::default()).await;
    let mut b = stack.browser();
    b.login().await;
    let old_cookie = b.cookie_header().unwrap();
    assert_eq!(b.api("GET", "/test-api/echo", None).await.status, 200);

    // Without the CSRF header, logout is refused.
    b.send("POST", "/auth/logout", &[], None).await.assert_error(403, "csrf");
    let r = b.send("POST", "/auth/logout", &[("x-valv-csrf", "1")], None).await;
    assert_eq!(r.status, 204);
    let cleared = r.header("set-cookie").expect("cookie cleared");
    assert!(cleared.starts_with("__Host-valv=") && cleared.to_ascii_lowercase().contains("max-age=0"), "{cleared}");

    // The old cookie, replayed by someone who kept it, is dead server-side.
    let mut thief = stack.browser();
    thief.cookies.clear();
    let replay = thief.send("GET", "/api/seb/test-api/echo", &[("x-valv-csrf", "1"), ("cookie", &old_cookie)], None).await;
    replay.assert_error(401, "unauthenticated");
    let info = thief.send("GET", "/auth/session", &[("cookie", &old_cookie)], None).await;
    assert_eq!(info.json()["authenticated"], false);

    // The grant was revoked at the bank: its refresh token no longer works there.
    let tokens = stack.issued_tokens().await;
    assert!(!tokens.is_empty());
    let rt = stack.first_refresh_token().await;
    let res = stack.refresh_at_bank(&rt).await;
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_grant");
    stack.assert_no_secrets_seen().await;
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let stack = start(Options::default()).await;
    let mut b = stack.browser();
    assert_eq!(b.get("/healthz").await.status, 200);
    assert_eq!(b.get("/readyz").await.status, 200);
    b.login().await;
    assert_eq!(b.api("GET", "/test-api/echo", None).await.status, 200);
    assert!(stack.control_post("/__sandbox/tokens/expire", json!({})).await.is_success());
    assert_eq!(b.api("GET", "/test-api/echo", None).await.status, 200);
    let m = b.get("/metrics").await;
    assert_eq!(m.status, 200);
    assert!(m.body.contains(r#"valv_http_requests_total{route="/api/{provider}/{*path}",method="GET",status="200"} 2"#), "{}", m.body);
    assert!(m.body.contains(r#"valv_refreshes_total{provider="seb",outcome="ok"} 1"#), "{}", m.body);
    assert!(m.body.contains(r#"valv_upstream_request_duration_seconds_count{provider="seb",kind="api"}"#), "{}", m.body);
    assert!(m.body.contains("valv_active_sessions 1\n"), "{}", m.body);
    assert_eq!(b.send("POST", "/auth/logout", &[("x-valv-csrf", "1")], None).await.status, 204);
    assert!(b.get("/metrics").await.body.contains("valv_active_sessions 0\n"));
}

/// A 401 that a refresh cannot cure is not refreshed again and again: one about the consent
/// (`CONSENT_INVALID`, `CONSENT_EXPIRED`) is passed on at once, and when the token a refresh
/// made is refused as well, its further 401s are passed on without another refresh.
#[tokio::test]
async fn a_401_that_a_refresh_cannot_cure_is_refreshed_at_most_once() {
    let stack = start(Options::default()).await;
    let mut b = stack.browser();
    b.login().await;
    assert_eq!(b.api("GET", "/ais/v7/identified2/accounts", None).await.status, 200);

    let rule = |code: &str| json!({"rules": [{"endpoint": "ais", "failureRate": 1.0, "status": 401, "code": code}]});
    assert!(stack.control_put("/__sandbox/faults", rule("CONSENT_INVALID")).await.is_success());
    for _ in 0..5 {
        let r = b.api("GET", "/ais/v7/identified2/accounts", None).await;
        assert_eq!(r.status, 401);
        assert_eq!(r.json()["code"], "CONSENT_INVALID", "the bank's answer, as it is: {}", r.body);
    }
    assert_eq!(stack.refresh_calls().await, 0, "a consent problem is not a token problem");

    assert!(stack.control_put("/__sandbox/faults", rule("TOKEN_INVALID")).await.is_success());
    for _ in 0..5 {
        let r = b.api("GET", "/ais/v7/identified2/accounts", None).await;
        assert_eq!(r.status, 401);
        assert_eq!(r.json()["code"], "TOKEN_INVALID", "{}", r.body);
    }
    assert_eq!(stack.refresh_calls().await, 1, "one refresh; the token it made was refused too, so no more");

    // Once the bank takes that token again, a later 401 is cured by a refresh as before.
    assert!(stack.control_put("/__sandbox/faults", json!({"rules": []})).await.is_success());
    assert_eq!(b.api("GET", "/ais/v7/identified2/accounts", None).await.status, 200);
    assert!(stack.control_post("/__sandbox/tokens/expire", json!({})).await.is_success());
    assert_eq!(b.api("GET", "/ais/v7/identified2/accounts", None).await.status, 200);
    assert_eq!(stack.refresh_calls().await, 2);
}
