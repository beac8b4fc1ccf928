//! Redirect OAuth flow over HTTP: login form, token endpoint, errors.
#![allow(clippy::unwrap_used)]
mod common;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use common::TestSandbox;
use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};

const AUTHZ: &str = "/mga/sps/oauth/oauth20/authorize";
const TOKEN: &str = "/mga/sps/oauth/oauth20/token";

fn authorize_url(sb: &TestSandbox, extra: &[(&str, &str)]) -> String {
    let mut u = url::Url::parse(&sb.url(AUTHZ)).unwrap();
    {
        let mut q = u.query_pairs_mut();
        q.append_pair("client_id", &sb.client_id)
            .append_pair("redirect_uri", &sb.redirect_uri)
            .append_pair("response_type", "code")
            .append_pair("scope", "psd2_accounts psd2_payments")
            .append_pair("state", "xyz 1");
        for (k, v) in extra {
            q.append_pair(k, v);
        }
    }
    u.to_string()
}

fn replace_param(url: &str, key: &str, value: &str) -> String {
    let mut u = url::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == key { value.to_owned() } else { v.into_owned() };
            (k.into_owned(), v)
        })
        .collect();
    u.query_pairs_mut().clear().extend_pairs(pairs);
    u.to_string()
}

/// Extracts `name="X" value="Y"` of a hidden input and the form action.
fn form_fields(html: &str) -> (String, String) {
    let action = html.split("action=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let rid = html.split("name=\"request_id\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    (action, rid)
}

fn location_params(res: &reqwest::Response) -> (String, Vec<(String, String)>) {
    let loc = res.headers().get("location").expect("location").to_str().unwrap();
    let u = url::Url::parse(loc).unwrap();
    let base = format!("{}://{}{}", u.scheme(), u.host_str().unwrap(), u.path());
    let base = match u.port() {
        Some(p) => base.replacen(u.host_str().unwrap(), &format!("{}:{p}", u.host_str().unwrap()), 1),
        None => base,
    };
    (base, u.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
}

fn param<'a>(p: &'a [(String, String)], k: &str) -> Option<&'a str> {
    p.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

/// Drives the HTML form: GET authorize, POST the form with `person`; returns the redirect.
async fn login(sb: &TestSandbox, url: &str, person: &str, action: &str) -> reqwest::Response {
    let page = sb.http.get(url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("9311219639") && html.contains("8311211356"), "lists test persons");
    let (action_url, rid) = form_fields(&html);
    sb.http
        .post(sb.url(&action_url))
        .form(&[("request_id", rid.as_str()), ("personal_identity_number", person), ("action", action)])
        .send()
        .await
        .unwrap()
}

async fn code_via_form(sb: &TestSandbox, extra: &[(&str, &str)]) -> String {
    let res = login(sb, &authorize_url(sb, extra), "199311219639", "login").await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let (base, p) = location_params(&res);
    assert_eq!(base, sb.redirect_uri);
    assert_eq!(param(&p, "state"), Some("xyz 1"));
    param(&p, "code").expect("code").to_owned()
}

async fn exchange(sb: &TestSandbox, form: &[(&str, &str)]) -> (StatusCode, Value, reqwest::header::HeaderMap) {
    let res = sb.http.post(sb.url(TOKEN)).form(form).send().await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    (status, res.json().await.unwrap(), headers)
}

async fn exchange_code(sb: &TestSandbox, code: &str, verifier: Option<&str>) -> (StatusCode, Value) {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", sb.redirect_uri.as_str()),
        ("client_id", sb.client_id.as_str()),
        ("client_secret", sb.client_secret.as_str()),
    ];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    let (s, v, _) = exchange(sb, &form).await;
    (s, v)
}

/// Whether an access token is accepted: probes it through `/__sandbox`-independent means —
/// a refresh with its sibling refresh token, or the Psu extractor via the API (see auth_psu.rs).
fn valid_access(sb: &TestSandbox, token: &str) -> bool {
    sb.state.tokens().check_access(token).is_ok()
}

#[tokio::test]
async fn full_redirect_flow_through_form_with_post_auth() {
    let sb = common::spawn_default().await;
    let code = code_via_form(&sb, &[]).await;
    let (status, body, headers) = exchange(
        &sb,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &sb.redirect_uri),
            ("client_id", &sb.client_id),
            ("client_secret", &sb.client_secret),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers.get("cache-control").unwrap(), "no-store");
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 5, "{body}");
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 3599);
    assert_eq!(body["scope"], "psd2_accounts psd2_payments");
    assert!(valid_access(&sb, body["access_token"].as_str().unwrap()));
    assert_eq!(sb.state.counters().token_calls.get("authorization_code"), Some(&1));
}

#[tokio::test]
async fn client_secret_basic_is_form_urlencoded() {
    let extra = valv_sandbox::Client { id: "odd id:x".into(), secret: "s3cr&t+=".into(), redirect_uri: "http://localhost:1/cb?x=1".into() };
    let sb = common::spawn(common::Options { clients: vec![extra], ..Default::default() }).await;
    let url = {
        let mut u = url::Url::parse(&sb.url(AUTHZ)).unwrap();
        u.query_pairs_mut()
            .append_pair("client_id", "odd id:x")
            .append_pair("redirect_uri", "http://localhost:1/cb?x=1")
            .append_pair("response_type", "code")
            .append_pair("scope", "psd2_accounts");
        u.to_string()
    };
    let res = login(&sb, &url, "8811215477", "login").await;
    let (base, p) = location_params(&res);
    assert_eq!(base, "http://localhost:1/cb");
    assert_eq!(param(&p, "x"), Some("1"));
    assert_eq!(param(&p, "state"), None);
    let code = param(&p, "code").unwrap();
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let basic = STANDARD.encode(format!("{}:{}", enc("odd id:x"), enc("s3cr&t+=")));
    let res = sb
        .http
        .post(sb.url(TOKEN))
        .header("authorization", format!("Basic {basic}"))
        .form(&[("grant_type", "authorization_code"), ("code", code), ("redirect_uri", "http://localhost:1/cb?x=1")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["scope"], "psd2_accounts");
    // wrong Basic secret
    let basic = STANDARD.encode(format!("{}:{}", enc("odd id:x"), "nope"));
    let res = sb
        .http
        .post(sb.url(TOKEN))
        .header("authorization", format!("Basic {basic}"))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", body["refresh_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.headers().contains_key("www-authenticate"));
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_client");
}

#[tokio::test]
async fn bad_client_and_bad_redirect_never_redirect() {
    let sb = common::spawn_default().await;
    let good = authorize_url(&sb, &[]);
    for url in [
        replace_param(&good, "client_id", "nobody"),
        replace_param(&good, "redirect_uri", "http://127.0.0.1:9/callback/evil"),
        replace_param(&good, "redirect_uri", "http://evil.example/cb"),
    ] {
        let res = sb.http.get(&url).send().await.unwrap();
        assert_eq!(res.status(), 400, "{url}");
        assert!(res.headers().get("location").is_none());
        assert!(!res.text().await.unwrap().contains("request_id"));
    }
    // token endpoint: wrong secret / unknown client
    let (s, v, _) =
        exchange(&sb, &[("grant_type", "authorization_code"), ("code", "x"), ("client_id", "test-client"), ("client_secret", "wrong")])
            .await;
    assert_eq!((s, v["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
    let (s, v, _) = exchange(&sb, &[("grant_type", "authorization_code"), ("code", "x")]).await;
    assert_eq!((s, v["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
}

#[tokio::test]
async fn parameter_errors_redirect_back_with_state() {
    let sb = common::spawn_default().await;
    let good = authorize_url(&sb, &[]);
    for (url, err) in [
        (replace_param(&good, "response_type", "token"), "unsupported_response_type"),
        (replace_param(&good, "scope", "psd2_accounts openid"), "invalid_scope"),
        (replace_param(&good, "scope", ""), "invalid_scope"),
        (authorize_url(&sb, &[("code_challenge", &"a".repeat(43)), ("code_challenge_method", "plain")]), "invalid_request"),
        (authorize_url(&sb, &[("code_challenge", &"a".repeat(43))]), "invalid_request"),
    ] {
        let res = sb.http.get(&url).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FOUND, "{url}");
        let (base, p) = location_params(&res);
        assert_eq!(base, sb.redirect_uri);
        assert_eq!(param(&p, "error"), Some(err), "{url}");
        assert_eq!(param(&p, "state"), Some("xyz 1"));
    }
}

#[tokio::test]
async fn unknown_person_shows_error_and_cancel_denies() {
    let sb = common::spawn_default().await;
    let url = authorize_url(&sb, &[]);
    let res = login(&sb, &url, "1234567890", "login").await;
    assert_eq!(res.status(), 400);
    let html = res.text().await.unwrap();
    assert!(html.contains("Unknown sandbox identity number"));
    // the same request id still works after the error
    let (_, rid) = form_fields(&html);
    let res = sb
        .http
        .post(sb.url(AUTHZ))
        .form(&[("request_id", rid.as_str()), ("personal_identity_number", "8311211356"), ("action", "login")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    assert!(param(&location_params(&res).1, "code").is_some());
    // cancel
    let res = login(&sb, &url, "", "cancel").await;
    let (_, p) = location_params(&res);
    assert_eq!(param(&p, "error"), Some("access_denied"));
    assert_eq!(param(&p, "state"), Some("xyz 1"));
    // a forged request id
    let res =
        sb.http.post(sb.url(AUTHZ)).form(&[("request_id", "forged"), ("personal_identity_number", "9311219639")]).send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.headers().get("location").is_none());
}

#[tokio::test]
async fn reused_code_fails_and_revokes_its_tokens() {
    let sb = common::spawn_default().await;
    let code = code_via_form(&sb, &[]).await;
    let (s, first) = exchange_code(&sb, &code, None).await;
    assert_eq!(s, 200);
    let access = first["access_token"].as_str().unwrap();
    assert!(valid_access(&sb, access));
    let (s, v) = exchange_code(&sb, &code, None).await;
    assert_eq!((s, v["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    assert!(!valid_access(&sb, access), "tokens from a replayed code are revoked");
    let (s, v, _) = exchange(
        &sb,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", first["refresh_token"].as_str().unwrap()),
            ("client_id", "test-client"),
            ("client_secret", "test-secret"),
        ],
    )
    .await;
    assert_eq!((s, v["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
}

#[tokio::test]
async fn pkce_verifier_checked() {
    let sb = common::spawn_default().await;
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let extra = [("code_challenge", challenge.as_str()), ("code_challenge_method", "S256")];
    let code = code_via_form(&sb, &extra).await;
    let (s, v) = exchange_code(&sb, &code, None).await;
    assert_eq!((s, v["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "missing verifier");
    let (s, v) = exchange_code(&sb, &code, Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXX")).await;
    assert_eq!((s, v["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "wrong verifier");
    let (s, _) = exchange_code(&sb, &code, Some(verifier)).await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn expired_code_and_wrong_redirect_or_client() {
    let sb = common::spawn_default().await;
    let code = code_via_form(&sb, &[]).await;
    // bound to the redirect URI
    let (s, v, _) = exchange(
        &sb,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:9/other"),
            ("client_id", "test-client"),
            ("client_secret", "test-secret"),
        ],
    )
    .await;
    assert_eq!((s, v["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    // bound to the client
    let (s, v, _) = exchange(
        &sb,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:8080/auth/callback"),
            ("client_id", "valv-demo"),
            ("client_secret", "valv-demo-secret"),
        ],
    )
    .await;
    assert_eq!((s, v["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    // expired: code lifetime 0 via controls
    let res = sb.http.put(sb.url("/__sandbox/config")).json(&serde_json::json!({"codeLifetime": 0})).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let code = code_via_form(&sb, &[]).await;
    let (s, v) = exchange_code(&sb, &code, None).await;
    assert_eq!((s, v["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    assert!(v["error_description"].as_str().unwrap().contains("expired"));
}

#[tokio::test]
async fn grant_type_errors() {
    let sb = common::spawn_default().await;
    let (s, v, _) = exchange(&sb, &[("grant_type", "password"), ("client_id", "test-client"), ("client_secret", "test-secret")]).await;
    assert_eq!((s, v["error"].as_str()), (StatusCode::BAD_REQUEST, Some("unsupported_grant_type")));
    let (s, v, _) = exchange(&sb, &[("client_id", "test-client"), ("client_secret", "test-secret")]).await;
    assert_eq!((s, v["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));
}

#[tokio::test]
async fn login_hint_only_with_controls() {
    let sb = common::spawn_default().await;
    let res = sb.http.get(authorize_url(&sb, &[("login_hint", "9311219639")])).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    assert!(param(&location_params(&res).1, "code").is_some());
    let off = common::spawn(common::Options { controls: false, ..Default::default() }).await;
    let res = off.http.get(authorize_url(&off, &[("login_hint", "9311219639")])).send().await.unwrap();
    assert_eq!(res.status(), 200, "form shown without controls");
}
