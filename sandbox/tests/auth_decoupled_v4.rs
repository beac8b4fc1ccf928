//! Decoupled authorization v4 over HTTP: `psu-ip-address`, camelCase hint codes, animated QR
//! data, `userSign` then `COMPLETE`, failures set by the test controls, RFC 9457 problems and
//! v4's 400s.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
mod common;

use reqwest::StatusCode;
use serde_json::{json, Value};

const CLIENT: &str = "valv-demo";
const SECRET: &str = "valv-demo-secret";
const REDIRECT: &str = "http://127.0.0.1:8080/auth/callback";

struct V4 {
    sb: common::TestSandbox,
}

impl V4 {
    async fn new() -> Self {
        Self { sb: common::spawn_default().await }
    }
    async fn post(&self, path: &str, body: Value, ip: bool) -> (StatusCode, Value) {
        let mut req = self.sb.http.post(self.sb.url(path)).json(&body);
        if ip {
            req = req.header("psu-ip-address", "192.0.2.7");
        }
        let res = req.send().await.unwrap();
        let s = res.status();
        (s, res.json().await.unwrap_or(Value::Null))
    }
    async fn status(&self, id: &str) -> Value {
        let res = self
            .sb
            .http
            .get(self.sb.url(&format!("/auth/v4/authorizations/{id}")))
            .header("psu-ip-address", "192.0.2.7")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        res.json().await.unwrap()
    }
    async fn start(&self, mode: &str) -> String {
        let (s, v) =
            self.post("/auth/v4/authorizations", json!({"client_id": CLIENT, "scope": "psd2_accounts", "start_mode": mode}), true).await;
        assert_eq!(s, 201, "{v}");
        v["auth_req_id"].as_str().unwrap().to_owned()
    }
    async fn phone(&self, autostart: &str) -> StatusCode {
        let body = json!({"personal_identity_number": "198811215477", "start_token": autostart});
        self.sb.http.post(self.sb.url("/open/sb/auth/mock/v1/login")).json(&body).send().await.unwrap().status()
    }
    async fn tokens(&self, body: Value) -> (StatusCode, Value) {
        self.post("/auth/v4/tokens", body, false).await
    }
}

#[tokio::test]
async fn a_qr_login_animates_its_code_then_signs_and_issues_tokens_once() {
    let v4 = V4::new().await;
    let id = v4.start("qr").await;
    let first = v4.status(&id).await;
    assert_eq!((first["status"].as_str(), first["hint_code"].as_str()), (Some("PENDING"), Some("outstandingTransaction")));
    let qr = first["qr_data"].as_str().unwrap().to_owned();
    let parts: Vec<&str> = qr.split('.').collect();
    assert_eq!(parts.len(), 4, "{qr}");
    assert_eq!(parts[0], "bankid");
    assert_eq!(parts[3].len(), 64, "an HMAC-SHA256 in hex: {qr}");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let second = v4.status(&id).await;
    let next = second["qr_data"].as_str().unwrap();
    assert_ne!(next, qr, "a new QR code every second");
    assert_eq!(next.split('.').nth(1), Some(parts[1]), "the same qrStartToken");
    assert!(next.split('.').nth(2).unwrap().parse::<u64>().unwrap() >= 1);

    assert_eq!(v4.phone(first["autostart_token"].as_str().unwrap()).await, 204);
    let signing = v4.status(&id).await;
    assert_eq!((signing["status"].as_str(), signing["hint_code"].as_str()), (Some("PENDING"), Some("userSign")));
    assert_eq!(v4.status(&id).await["status"], "COMPLETE");

    let body = json!({"client_id": CLIENT, "client_secret": SECRET, "auth_req_id": id, "redirect_uri": REDIRECT});
    let (s, t) = v4.tokens(body.clone()).await;
    assert_eq!(s, 201, "{t}");
    assert_eq!(t["scope"], "psd2_accounts");
    let (s, p) = v4.tokens(body).await;
    assert_eq!(s, 422, "{p}");
    assert_eq!(p["type"], "https://authorize.sebgroup.com/problems/invalid-auth-req-id");

    // v4's 400s: a reused or unknown refresh token, a bad client, a wrong redirect URI.
    let refresh = |rt: &str| json!({"client_id": CLIENT, "client_secret": SECRET, "refresh_token": rt, "redirect_uri": REDIRECT});
    let (s, fresh) = v4.tokens(refresh(t["refresh_token"].as_str().unwrap())).await;
    assert_eq!(s, 201, "{fresh}");
    let (s, p) = v4.tokens(refresh("not-a-refresh-token")).await;
    assert_eq!((s, p["type"].as_str()), (StatusCode::BAD_REQUEST, Some("https://authorize.sebgroup.com/problems/invalid-refresh-token")));
    assert_eq!(p["status"], 400);
    assert_eq!(p["instance"], "/auth/v4/tokens");
    let (s, p) = v4.tokens(json!({"client_id": CLIENT, "client_secret": "wrong", "refresh_token": "x", "redirect_uri": REDIRECT})).await;
    assert_eq!((s, p["type"].as_str()), (StatusCode::BAD_REQUEST, Some("https://authorize.sebgroup.com/problems/invalid-client")));
    let (s, p) = v4.tokens(json!({"client_id": CLIENT, "client_secret": SECRET, "refresh_token": "x"})).await;
    assert_eq!((s, p["type"].as_str()), (StatusCode::BAD_REQUEST, Some("https://authorize.sebgroup.com/problems/invalid-redirect-uri")));
}

#[tokio::test]
async fn v4_needs_the_psu_address_a_start_mode_and_a_known_client() {
    let v4 = V4::new().await;
    let ok = json!({"client_id": CLIENT, "scope": "psd2_accounts", "start_mode": "ast"});
    let (s, p) = v4.post("/auth/v4/authorizations", ok.clone(), false).await;
    assert_eq!((s, p["type"].as_str()), (StatusCode::BAD_REQUEST, Some("https://authorize.sebgroup.com/problems/missing-psu-ip-address")));
    let (s, _) = v4.post("/auth/v4/authorizations", json!({"client_id": CLIENT, "scope": "psd2_accounts"}), true).await;
    assert_eq!(s, 400, "start_mode is mandatory in v4");
    let (s, _) =
        v4.post("/auth/v4/authorizations", json!({"client_id": "nobody", "scope": "psd2_accounts", "start_mode": "ast"}), true).await;
    assert_eq!(s, 400);
    // A missing or null client or scope is named as such, not as a malformed body.
    let problems = "https://authorize.sebgroup.com/problems/";
    for (body, kind) in [
        (json!({"scope": "psd2_accounts", "start_mode": "ast"}), "invalid-client"),
        (json!({"client_id": null, "scope": "psd2_accounts", "start_mode": "ast"}), "invalid-client"),
        (json!({"client_id": CLIENT, "scope": null, "start_mode": "ast"}), "invalid-scope"),
        (json!({"client_id": CLIENT, "start_mode": "ast"}), "invalid-scope"),
    ] {
        let (s, p) = v4.post("/auth/v4/authorizations", body.clone(), true).await;
        assert_eq!((s, p["type"].as_str()), (StatusCode::BAD_REQUEST, Some(format!("{problems}{kind}").as_str())), "{body}");
    }
    let id = v4.start("ast").await;
    let res = v4.sb.http.get(v4.sb.url(&format!("/auth/v4/authorizations/{id}"))).send().await.unwrap();
    assert_eq!(res.status(), 400, "status polls need psu-ip-address too");
    let pending = v4.status(&id).await;
    assert!(pending.get("qr_data").is_none(), "no QR in ast mode");
    assert!(pending["autostart_token"].as_str().is_some());
    let res = v4.sb.http.get(v4.sb.url("/auth/v4/authorizations/unknown")).header("psu-ip-address", "192.0.2.7").send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
}

#[tokio::test]
async fn the_controls_make_an_order_fail_with_any_hint_code_and_it_stays_failed() {
    let v4 = V4::new().await;
    for code in ["userCancel", "expiredTransaction", "startFailed", "sebTimeout", "somethingNewFromBankId"] {
        let id = v4.start("qr").await;
        let autostart = v4.status(&id).await["autostart_token"].as_str().unwrap().to_owned();
        let res = v4.sb.http.post(v4.sb.url("/__sandbox/decoupled/fail")).json(&json!({"hintCode": code})).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.json::<Value>().await.unwrap()["authReqId"], id.as_str(), "the newest pending order");
        let failed = v4.status(&id).await;
        assert_eq!((failed["status"].as_str(), failed["hint_code"].as_str()), (Some("FAILED"), Some(code)));
        assert_eq!(v4.phone(&autostart).await, 409, "a failed order cannot be signed");
        let (s, _) = v4.tokens(json!({"client_id": CLIENT, "client_secret": SECRET, "auth_req_id": id, "redirect_uri": REDIRECT})).await;
        assert_eq!(s, 409);
    }
    let res = v4.sb.http.post(v4.sb.url("/__sandbox/decoupled/fail")).json(&json!({"hintCode": "userCancel"})).send().await.unwrap();
    assert_eq!(res.status(), 400, "nothing pending is left");
}

#[tokio::test]
async fn the_sign_control_plays_the_phone_for_the_newest_or_a_named_order() {
    let v4 = V4::new().await;
    let first = v4.start("qr").await;
    let first_token = v4.status(&first).await["autostart_token"].as_str().unwrap().to_owned();
    let second = v4.start("qr").await;
    let sign =
        |body: Value| v4.sb.http.post(v4.sb.url("/__sandbox/decoupled/sign")).header("origin", "http://127.0.0.1:9").json(&body).send();
    let res = sign(json!({"personalIdentityNumber": "9311219639", "autostartToken": first_token})).await.unwrap();
    assert_eq!(res.status(), 204);
    assert!(res.headers().contains_key("access-control-allow-origin"), "a page may call it (CORS)");
    assert_eq!(v4.status(&first).await["hint_code"], "userSign");
    assert_eq!(v4.status(&first).await["status"], "COMPLETE");
    assert_eq!(v4.status(&second).await["status"], "PENDING", "only the named order was signed");
    assert_eq!(sign(json!({"personalIdentityNumber": "9311219639"})).await.unwrap().status(), 204, "the newest pending one");
    assert_eq!(v4.status(&second).await["hint_code"], "userSign");
    assert_eq!(sign(json!({"personalIdentityNumber": "9311219639"})).await.unwrap().status(), 400, "nothing pending is left");
    let _ = v4.start("qr").await;
    assert_eq!(sign(json!({"personalIdentityNumber": "0000"})).await.unwrap().status(), 400, "not a test person");
}
