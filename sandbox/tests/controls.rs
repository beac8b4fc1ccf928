//! Test controls under /__sandbox/.
#![allow(clippy::unwrap_used)]
mod common;

use serde_json::{json, Value};

#[tokio::test]
async fn controls_off_are_404() {
    let sb = common::spawn(common::Options { controls: false, ..Default::default() }).await;
    for path in ["/__sandbox/config", "/__sandbox/counters", "/__sandbox/faults"] {
        assert_eq!(sb.http.get(sb.url(path)).send().await.unwrap().status(), 404, "{path}");
    }
    for path in ["/__sandbox/reset", "/__sandbox/tokens/expire", "/__sandbox/grants/revoke"] {
        assert_eq!(sb.http.post(sb.url(path)).json(&json!({})).send().await.unwrap().status(), 404, "{path}");
    }
}

#[tokio::test]
async fn deterministic_faults_on_token_endpoint_and_counters() {
    let sb = common::spawn_default().await;
    let res = sb
        .http
        .put(sb.url("/__sandbox/faults"))
        .json(&json!({"rules": [{"endpoint": "token", "failNext": 2, "status": 503, "retryAfter": 1}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let form = [("grant_type", "refresh_token"), ("refresh_token", "x"), ("client_id", "test-client"), ("client_secret", "test-secret")];
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let res = sb.http.post(sb.url("/mga/sps/oauth/oauth20/token")).form(&form).send().await.unwrap();
        let status = res.status().as_u16();
        statuses.push(status);
        if status == 503 {
            assert_eq!(res.headers().get("retry-after").unwrap(), "1");
            assert_eq!(res.json::<Value>().await.unwrap()["error"], "temporarily_unavailable");
        }
    }
    assert_eq!(statuses, [503, 503, 400]);
    let faults: Value = sb.http.get(sb.url("/__sandbox/faults")).send().await.unwrap().json().await.unwrap();
    assert_eq!(faults, json!({"rules": []}), "used-up rules are dropped");
    let c: Value = sb.http.get(sb.url("/__sandbox/counters")).send().await.unwrap().json().await.unwrap();
    assert_eq!(c["tokenCalls"]["refresh_token"], 1, "failed calls never reached the endpoint");
    assert_eq!(c["refreshRejections"], 1);
    // bad rules
    for bad in [
        json!({"rules": [{"endpoint": "nope"}]}),
        json!({"rules": [{"failureRate": 2.0}]}),
        json!({"rules": [{"status": 200}]}),
        json!({"x": 1}),
    ] {
        let res = sb.http.put(sb.url("/__sandbox/faults")).json(&bad).send().await.unwrap();
        assert_eq!(res.status(), 400, "{bad}");
    }
}

#[tokio::test]
async fn failure_rate_one_and_path_rules() {
    let sb = common::spawn_default().await;
    let res = sb
        .http
        .put(sb.url("/__sandbox/faults"))
        .json(&json!({"rules": [{"endpoint": "/auth/v3/", "method": "GET", "failureRate": 1.0, "status": 500}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = sb.http.get(sb.url("/auth/v3/authorizations/x")).send().await.unwrap();
    assert_eq!(res.status(), 500);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "INTERNAL_SERVER_ERROR");
    // method filter: POST unaffected
    let res = sb
        .http
        .post(sb.url("/auth/v3/authorizations"))
        .json(&json!({"client_id": "test-client", "scope": "psd2_accounts"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    // the browser-test aliases: exact path, count
    assert_eq!(sb.control("/__sandbox/faults", json!({})).await, 405);
    let res = sb.http.put(sb.url("/__sandbox/faults")).json(&json!({"rules": []})).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        sb.control(
            "/__sandbox/failures",
            json!({"method": "GET", "path": "/auth/v3/authorizations/y", "status": 429, "count": 1, "retryAfter": 2})
        )
        .await,
        204
    );
    assert_eq!(sb.http.get(sb.url("/auth/v3/authorizations/z")).send().await.unwrap().status(), 404);
    let res = sb.http.get(sb.url("/auth/v3/authorizations/y")).send().await.unwrap();
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers().get("retry-after").unwrap(), "2");
    assert_eq!(sb.http.get(sb.url("/auth/v3/authorizations/y")).send().await.unwrap().status(), 404);
    assert_eq!(
        sb.control("/__sandbox/latency", json!({"method": "GET", "path": "/auth/v3/authorizations/y", "ms": 1, "count": 1})).await,
        204
    );
    let faults: Value = sb.http.get(sb.url("/__sandbox/faults")).send().await.unwrap().json().await.unwrap();
    assert_eq!(faults["rules"][0]["latencyNext"], 1);
    sb.http.get(sb.url("/auth/v3/authorizations/y")).send().await.unwrap();
    let faults: Value = sb.http.get(sb.url("/__sandbox/faults")).send().await.unwrap().json().await.unwrap();
    assert_eq!(faults, json!({"rules": []}), "latency rule consumed");
}

#[tokio::test]
async fn revoke_grants_tokens_listing_and_reset() {
    let sb = common::spawn_default().await;
    let a = sb.tokens_for("9311219639", "psd2_accounts").await;
    let b = sb.tokens_for("8811215477", "psd2_accounts").await;
    let listed: Value =
        sb.http.get(sb.url("/__sandbox/tokens?personalIdentityNumber=9311219639")).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed[0]["accessToken"], a["access_token"]);
    assert_eq!(listed[0]["refreshToken"], a["refresh_token"]);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let res = sb.http.post(sb.url("/__sandbox/grants/revoke")).json(&json!({"person": "199311219639"})).send().await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"revoked": 1}));
    assert!(sb.state.tokens().check_access(a["access_token"].as_str().unwrap()).is_err());
    assert!(sb.state.tokens().check_access(b["access_token"].as_str().unwrap()).is_ok());
    assert_eq!(sb.control("/__sandbox/revoke", json!({"personalIdentityNumber": "8811215477"})).await, 200);
    assert!(sb.state.tokens().check_access(b["access_token"].as_str().unwrap()).is_err());
    assert_eq!(sb.control("/__sandbox/grants/revoke", json!({"person": "1", "clientId": "x"})).await, 400);
    let c = sb.tokens_for("8311211356", "psd2_payments").await;
    let res = sb.http.post(sb.url("/__sandbox/grants/revoke")).json(&json!({"refreshToken": c["refresh_token"]})).send().await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"revoked": 1}));
    // reset clears settings, counters and tokens
    sb.http.put(sb.url("/__sandbox/config")).json(&json!({"refreshRotation": true})).send().await.unwrap();
    let d = sb.tokens_for("9311219589", "psd2_accounts").await;
    assert_eq!(sb.control("/__sandbox/reset", json!({})).await, 204);
    assert!(sb.state.tokens().check_access(d["access_token"].as_str().unwrap()).is_err());
    let cfg: Value = sb.http.get(sb.url("/__sandbox/config")).send().await.unwrap().json().await.unwrap();
    assert_eq!(cfg["refreshRotation"], false);
    let counters: Value = sb.http.get(sb.url("/__sandbox/counters")).send().await.unwrap().json().await.unwrap();
    assert_eq!(counters, json!({"tokenCalls": {}, "apiCalls": {}, "refreshRejections": 0, "tokenRejections": 0}));
    assert_eq!(sb.http.put(sb.url("/__sandbox/config")).json(&json!({"bogus": 1})).send().await.unwrap().status(), 400);
}

#[tokio::test]
async fn controls_allow_cross_origin() {
    let sb = common::spawn_default().await;
    let res = sb
        .http
        .request(reqwest::Method::OPTIONS, sb.url("/__sandbox/failures"))
        .header("origin", "http://127.0.0.1:9999")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    assert!(res.headers().contains_key("access-control-allow-origin"));
}
