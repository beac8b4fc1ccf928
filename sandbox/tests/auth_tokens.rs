//! Psu extractor, token expiry, refresh rotation and reuse detection, decoupled errors.
#![allow(clippy::unwrap_used)]
mod common;

use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use valv_sandbox::auth::Psu;
use valv_sandbox::error::Problem;

/// A tiny API route guarded by `Psu` + `require("psd2_accounts")`, served on the same state.
async fn probe(sb: &common::TestSandbox) -> String {
    let app: Router = Router::new()
        .route(
            "/probe",
            get(|psu: Psu| async move {
                psu.require("psd2_accounts")?;
                Ok::<_, Problem>(psu.person_id)
            }),
        )
        .with_state(sb.state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/probe", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

async fn call(sb: &common::TestSandbox, url: &str, auth: Option<&str>) -> (u16, Value) {
    let mut req = sb.http.get(url);
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn refresh(sb: &common::TestSandbox, rt: &str) -> (u16, Value) {
    let res = sb
        .http
        .post(sb.url("/mga/sps/oauth/oauth20/token"))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", rt), ("client_id", "test-client"), ("client_secret", "test-secret")])
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

#[tokio::test]
async fn psu_extractor_errors_and_scope() {
    let sb = common::spawn_default().await;
    let url = probe(&sb).await;
    let token = sb.token_for("9311219639", "psd2_accounts").await;
    let (s, v) = call(&sb, &url, Some(&format!("Bearer {token}"))).await;
    assert_eq!(s, 200);
    assert_eq!(v.to_string().trim_matches('"'), "9311219639");
    for bad in [None, Some("Bearer"), Some("Basic abc"), Some("Bearer nope")] {
        let (s, v) = call(&sb, &url, bad).await;
        assert_eq!(s, 401, "{bad:?}");
        assert_eq!(v["code"], "TOKEN_INVALID");
    }
    let payments_only = sb.token_for("8811215477", "psd2_payments").await;
    let (s, v) = call(&sb, &url, Some(&format!("Bearer {payments_only}"))).await;
    assert_eq!((s, v["code"].as_str()), (401, Some("TOKEN_INVALID")), "missing scope");
    // expired via controls
    sb.expire_tokens().await;
    let (s, v) = call(&sb, &url, Some(&format!("Bearer {token}"))).await;
    assert_eq!((s, v["code"].as_str()), (401, Some("TOKEN_EXPIRED")));
    assert_eq!(sb.state.counters().api_calls.get("GET /probe"), Some(&7));
}

#[tokio::test]
async fn short_lifetime_from_config_and_refresh_keeps_token_by_default() {
    let sb = common::spawn_default().await;
    let res = sb.http.put(sb.url("/__sandbox/config")).json(&json!({"accessTokenLifetime": 0})).send().await.unwrap();
    let cfg: Value = res.json().await.unwrap();
    assert_eq!(cfg, json!({"accessTokenLifetime": 0, "codeLifetime": 60, "refreshRotation": false, "reuseDetection": true}));
    let t = sb.tokens_for("9311219639", "psd2_accounts psd2_payments").await;
    assert_eq!(t["expires_in"], 0);
    let url = probe(&sb).await;
    let (s, v) = call(&sb, &url, Some(&format!("Bearer {}", t["access_token"].as_str().unwrap()))).await;
    assert_eq!((s, v["code"].as_str()), (401, Some("TOKEN_EXPIRED")));
    let rt = t["refresh_token"].as_str().unwrap();
    let (s, v) = refresh(&sb, rt).await;
    assert_eq!(s, 200);
    assert_eq!(v["refresh_token"], rt, "no rotation by default");
    let (s, _) = refresh(&sb, rt).await;
    assert_eq!(s, 200, "the same refresh token works again without rotation");
    assert_eq!(sb.state.counters().token_calls.get("refresh_token"), Some(&2));
}

#[tokio::test]
async fn rotation_reuse_revokes_whole_grant() {
    let sb = common::spawn_default().await;
    let res = sb.http.put(sb.url("/__sandbox/config")).json(&json!({"refreshRotation": true})).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let url = probe(&sb).await;
    let t = sb.tokens_for("9311219639", "psd2_accounts").await;
    let rt1 = t["refresh_token"].as_str().unwrap().to_owned();
    let (s, t2) = refresh(&sb, &rt1).await;
    assert_eq!(s, 200);
    let rt2 = t2["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(rt1, rt2);
    let a2 = format!("Bearer {}", t2["access_token"].as_str().unwrap());
    assert_eq!(call(&sb, &url, Some(&a2)).await.0, 200);
    // reuse of the rotated token
    let (s, v) = refresh(&sb, &rt1).await;
    assert_eq!((s, v["error"].as_str()), (400, Some("invalid_grant")));
    assert_eq!(call(&sb, &url, Some(&a2)).await.0, 401, "access token of the grant revoked");
    let (s, _) = refresh(&sb, &rt2).await;
    assert_eq!(s, 400, "newest refresh token revoked too");
    let counters: Value = sb.http.get(sb.url("/__sandbox/counters")).send().await.unwrap().json().await.unwrap();
    assert_eq!(counters["refreshRejections"], 2);
}

#[tokio::test]
async fn decoupled_errors() {
    let sb = common::spawn_default().await;
    let post = |path: &str, body: Value| sb.http.post(sb.url(path)).json(&body).send();
    // unknown id
    let res = sb.http.get(sb.url("/auth/v3/authorizations/nope")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    // unknown client
    let res = post("/auth/v3/authorizations", json!({"client_id": "x", "scope": "psd2_accounts", "lang": "en", "start_mode": "ast"}))
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let res = post("/auth/v3/authorizations", json!({"client_id": "test-client", "scope": "psd2_accounts"})).await.unwrap();
    let id = res.json::<Value>().await.unwrap()["auth_req_id"].as_str().unwrap().to_owned();
    let tokens_body =
        json!({"client_id": "test-client", "client_secret": "test-secret", "auth_req_id": id, "redirect_uri": common::REDIRECT_URI});
    // not complete yet
    let res = post("/auth/v3/tokens", tokens_body.clone()).await.unwrap();
    assert_eq!(res.status(), 409);
    let v: Value = sb.http.get(sb.url(&format!("/auth/v3/authorizations/{id}"))).send().await.unwrap().json().await.unwrap();
    assert_eq!(v["hint_code"], "OUTSTANDING_TRANSACTION");
    assert_eq!(v["poll_delay"], 500);
    let start = v["autostart_token"].as_str().unwrap();
    let res = post("/open/sb/auth/mock/v1/login", json!({"personal_identity_number": "191234567890", "start_token": start})).await.unwrap();
    assert_eq!(res.status(), 422);
    let res = post("/open/sb/auth/mock/v1/login", json!({"personal_identity_number": "198811212862", "start_token": start})).await.unwrap();
    assert_eq!(res.status(), 204);
    // bad client secret
    let mut bad = tokens_body.clone();
    bad["client_secret"] = json!("wrong");
    let res = post("/auth/v3/tokens", bad).await.unwrap();
    assert_eq!(res.status(), 422);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["type"], "Invalid parameter value");
    assert!(v["detail"].is_null());
    let res = post("/auth/v3/tokens", tokens_body.clone()).await.unwrap();
    assert_eq!(res.status(), 201);
    let t: Value = res.json().await.unwrap();
    // reused id
    assert_eq!(post("/auth/v3/tokens", tokens_body).await.unwrap().status(), 422);
    // refresh through v3
    let rb = json!({"client_id": "test-client", "client_secret": "test-secret", "refresh_token": t["refresh_token"]});
    assert_eq!(post("/auth/v3/tokens", rb).await.unwrap().status(), 201);
    let rb = json!({"client_id": "test-client", "client_secret": "test-secret", "refresh_token": "bogus"});
    assert_eq!(post("/auth/v3/tokens", rb).await.unwrap().status(), 422);
    // malformed JSON
    let res = sb.http.post(sb.url("/auth/v3/tokens")).body("{").send().await.unwrap();
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn revocation_endpoint_revokes_grant() {
    let sb = common::spawn_default().await;
    let url = probe(&sb).await;
    let t = sb.tokens_for("9311219639", "psd2_accounts").await;
    let a = format!("Bearer {}", t["access_token"].as_str().unwrap());
    let res = sb
        .http
        .post(sb.url("/mga/sps/oauth/oauth20/revoke"))
        .form(&[("token", t["refresh_token"].as_str().unwrap()), ("client_id", "test-client"), ("client_secret", "test-secret")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(call(&sb, &url, Some(&a)).await.0, 401);
    let res = sb
        .http
        .post(sb.url("/mga/sps/oauth/oauth20/revoke"))
        .form(&[("token", "x"), ("client_id", "test-client"), ("client_secret", "no")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}
