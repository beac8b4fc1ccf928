//! Tests that try to break each rule of the broker: each gets its clear error, never a 500.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::{fake_tcp_bank, raw_request, start, Options, TestRedis, CORS_ORIGIN, PERSON};

#[tokio::test]
async fn csrf_header_and_cross_site_origins_are_refused() {
    let stack = start(Options::default()).await;
    let mut b = stack.browser();
    b.login().await;
    let path = "/api/seb/test-api/echo";
    b.send("GET", path, &[], None).await.assert_error(403, "csrf");
    b.send("GET", path, &[("x-valv-csrf", "0")], None).await.assert_error(403, "csrf");
    b.send("GET", path, &[("x-valv-csrf", "true")], None).await.assert_error(403, "csrf");
    b.send("GET", path, &[("x-valv-csrf", "1"), ("origin", "https://evil.example")], None).await.assert_error(403, "csrf");
    b.send("GET", path, &[("x-valv-csrf", "1"), ("origin", "null")], None).await.assert_error(403, "csrf");
    b.send("GET", path, &[("x-valv-csrf", "1"), ("sec-fetch-site", "cross-site")], None).await.assert_error(403, "csrf");
    b.send("POST", "/auth/logout", &[("x-valv-csrf", "1"), ("origin", "https://evil.example")], None).await.assert_error(403, "csrf");
    // Same origin, and the allowlisted origin (with CORS headers for it) pass.
    let own = stack.broker_url.clone();
    assert_eq!(b.send("GET", path, &[("x-valv-csrf", "1"), ("origin", &own), ("sec-fetch-site", "same-origin")], None).await.status, 200);
    let r = b.send("GET", path, &[("x-valv-csrf", "1"), ("origin", CORS_ORIGIN), ("sec-fetch-site", "cross-site")], None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), Some(CORS_ORIGIN));
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    let expose = r.header("access-control-expose-headers").unwrap().to_ascii_lowercase();
    assert!(expose.contains("x-request-id") && expose.contains("retry-after"), "{expose}");
    assert_eq!(b.get("/auth/session").await.json()["authenticated"], true, "still logged in");
}

#[tokio::test]
async fn cors_preflight_only_for_allowlisted_origins() {
    let stack = start(Options::default()).await;
    let mut b = stack.browser();
    let pre = |origin: &'static str| {
        vec![
            ("origin", origin),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", "x-valv-csrf,content-type,x-request-id"),
        ]
    };
    let ok = b.send("OPTIONS", "/api/seb/pis/v7/identified2/payments/sepa-credit-transfers", &pre(CORS_ORIGIN), None).await;
    assert!(ok.status == 200 || ok.status == 204, "{}", ok.status);
    assert_eq!(ok.header("access-control-allow-origin"), Some(CORS_ORIGIN));
    assert_eq!(ok.header("access-control-allow-credentials"), Some("true"));
    assert!(ok.header("access-control-allow-headers").unwrap().to_ascii_lowercase().contains("x-valv-csrf"));
    let evil = b.send("OPTIONS", "/api/seb/pis/v7/identified2/payments/sepa-credit-transfers", &pre("https://evil.example"), None).await;
    assert!(evil.header("access-control-allow-origin").is_none());
    assert_ne!(evil.status, 500);
}

#[tokio::test]
async fn return_to_must_be_local_and_scopes_configured() {
    let stack = start(Options::default()).await;
    let mut b = stack.browser();
    for bad in [
        "returnTo=%2F%2Fevil.example",
        "returnTo=https%3A%2F%2Fevil.example",
        "returnTo=%2F%5Cevil.example",
        "returnTo=evil.example",
        "returnTo=%2Fa%0D%0ASet-Cookie%3Ax",
        "returnTo=javascript%3Aalert(1)",
        "scope=psd2_accounts%20admin",
        "provider=nobank",
        "returnTo=%2F&returnTo=%2F%2Fevil",
    ] {
        let r = b.get(&format!("/auth/login?provider=seb&{bad}")).await;
        r.assert_error(400, "bad_request");
        assert!(r.header("location").is_none(), "{bad}");
    }
}

#[tokio::test]
async fn forged_reused_missing_and_foreign_state_are_refused() {
    let stack = start(Options::default()).await;
    let mut alice = stack.browser();
    let authorize = alice.start_login("provider=seb&returnTo=%2F").await;
    let callback = alice.bank_login(&authorize, common::PERSON).await;

    // Another browser (an attacker's login CSRF, or a stolen callback URL) cannot use it.
    let mut mallory = stack.browser();
    mallory.send("GET", &callback, &[], None).await.assert_error(400, "bad_request");
    assert_eq!(mallory.get("/auth/session").await.json()["authenticated"], false);

    // Forged and missing state.
    alice.get("/auth/callback?code=abc&state=forged").await.assert_error(400, "bad_request");
    alice.get("/auth/callback?code=abc").await.assert_error(400, "bad_request");
    alice.get("/auth/callback").await.assert_error(400, "bad_request");

    // The real one works once; a replay is refused.
    let done = alice.send("GET", &callback, &[], None).await;
    assert_eq!(done.status, 303, "{}", done.body);
    alice.send("GET", &callback, &[], None).await.assert_error(400, "bad_request");
    assert_eq!(alice.get("/auth/session").await.json()["authenticated"], true, "the replay did not hurt the session");
}

#[tokio::test]
async fn path_traversal_and_encoded_separators_are_refused() {
    let stack = start(Options::default()).await;
    let mut b = stack.browser();
    b.login().await;
    let cookie = b.cookie_header().unwrap();
    let h = [("x-valv-csrf", "1"), ("cookie", cookie.as_str())];
    for path in [
        "/api/seb/../x",
        "/api/seb/ais/v7/identified2/../../test-api/echo",
        "/api/seb/%2e%2e/x",
        "/api/seb/ais/%2E%2E/test-api/echo",
        "/api/seb/ais%2Fv7/identified2/accounts",
        "/api/seb/ais%2fv7",
        "/api/seb/ais/v7/identified2/accounts%5C..%5Cx",
        "/api/seb/ais\\v7",
        "/api/seb//ais/v7/identified2/accounts",
        "/api/seb/ais/v7/./identified2/accounts",
        "/api/seb/ais/v7/identified2/accounts/%252e%252e",
        "/api/seb/ais/v7/identified2/accounts/%00",
    ] {
        let (status, body) = raw_request(&stack.broker_url, "GET", path, &h).await;
        assert_eq!(status, 400, "{path}: {body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("{path}: {body}"));
        assert_eq!(v["error"], "bad_request", "{path}");
    }
}

/// Servlet-style gateways read `..;` as `..` and drop `;params`: a script on the app's origin
/// must not reach other paths of the bank host through them. Every path here is on the
/// test allowlist (`/test-api/echo/**`, `/ais/v7/identified2/**`) as the allowlist reads it.
#[tokio::test]
async fn path_parameters_and_dot_only_segments_are_refused() {
    let stack = start(Options::default()).await;
    let mut b = stack.browser();
    b.login().await;
    let cookie = b.cookie_header().unwrap();
    let h = [("x-valv-csrf", "1"), ("cookie", cookie.as_str())];
    for path in [
        "/api/seb/test-api/echo/a/..;/..;/x",
        "/api/seb/test-api/echo/.;/x",
        "/api/seb/test-api/echo/a;x=1/..;/b",
        "/api/seb/test-api/echo/x;jsessionid=1",
        "/api/seb/test-api/echo/%3B/x",
        "/api/seb/test-api/echo/...",
        "/api/seb/test-api/echo/..../x",
        "/api/seb/ais/v7/identified2/accounts/..;/..;/..;/test-api/echo",
        // Raw characters a URL parser would encode and others pass on (found by fuzzing).
        "/api/seb/test-api/echo/a\"b",
        "/api/seb/test-api/echo/{x}",
        "/api/seb/test-api/echo/a|b",
        "/api/seb/test-api/echo/a^b",
        // An encoded C1 control (NEL, a line break to some log readers; found by fuzzing).
        "/api/seb/test-api/echo/a%C2%85b",
    ] {
        let (status, body) = raw_request(&stack.broker_url, "GET", path, &h).await;
        assert_eq!(status, 400, "{path} was forwarded: {body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("{path}: {body}"));
        assert_eq!(v["error"], "bad_request", "{path}");
    }
    // What stays legal still works.
    let (status, body) = raw_request(&stack.broker_url, "GET", "/api/seb/test-api/echo/a.b/c..d", &h).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&body).unwrap()["path"], "/test-api/echo/a.b/c..d");
}

/// Headers a browser script can set that a gateway in front of the bank would act on
/// (method overrides, rewritten URLs, forwarded addresses, client certificates) never reach
/// the bank; `TPP-…-URI` values must point at the app.
#[tokio::test]
async fn browser_chosen_routing_headers_never_reach_the_bank() {
    let stack = start(Options::default()).await;
    let mut b = stack.browser();
    b.login().await;
    let dangerous = [
        ("x-http-method-override", "DELETE"),
        ("x-http-method", "DELETE"),
        ("x-method-override", "DELETE"),
        ("x-original-url", "/admin"),
        ("x-rewrite-url", "/admin"),
        ("x-forwarded-prefix", "/admin"),
        ("x-forwarded-port", "8443"),
        ("x-forwarded-host", "evil.example"),
        ("x-forwarded-for", "203.0.113.66"),
        ("x-forwarded-proto", "http"),
        ("forwarded", "for=203.0.113.66"),
        ("true-client-ip", "203.0.113.66"),
        ("x-client-ip", "203.0.113.66"),
        ("x-real-ip", "203.0.113.66"),
        ("client-cert", ":MIIB:"),
        ("x-custom-from-script", "1"),
        ("psu-ip-address", "203.0.113.66"),
    ];
    let mut headers: Vec<(&str, &str)> = vec![("x-valv-csrf", "1"), ("accept", "application/json"), ("psu-geo-location", "GEO:59.3;18.0")];
    headers.extend(dangerous);
    let r = b.send("GET", "/api/seb/test-api/echo", &headers, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    let names: Vec<&str> = v["headerNames"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    for (name, _) in dangerous {
        if name == "psu-ip-address" {
            continue;
        }
        assert!(!names.contains(&name), "{name} reached the bank: {names:?}");
    }
    assert_eq!(v["psuIpAddress"], "127.0.0.1", "the broker's PSU-IP-Address, not the script's");
    assert!(names.contains(&"accept") && names.contains(&"psu-geo-location"), "{names:?}");

    for evil in ["https://evil.example/done", "https://evil.example/http://127.0.0.1", "//evil.example"] {
        for name in ["tpp-redirect-uri", "tpp-nok-redirect-uri"] {
            let r = b.send("GET", "/api/seb/test-api/echo", &[("x-valv-csrf", "1"), (name, evil)], None).await;
            r.assert_error(400, "bad_request");
        }
    }
    let own = format!("{}/after-sca", stack.broker_url);
    let r = b.send("GET", "/api/seb/test-api/echo", &[("x-valv-csrf", "1"), ("tpp-redirect-uri", &own)], None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.json()["headerNames"].as_array().unwrap().iter().any(|n| n == "tpp-redirect-uri"));
}

#[tokio::test]
async fn method_or_path_off_the_allowlist_is_refused() {
    let stack = start(Options::default()).await;
    let mut b = stack.browser();
    b.login().await;
    b.api("DELETE", "/ais/v7/identified2/accounts", None).await.assert_error(403, "route_not_allowed");
    b.api("GET", "/cof/v7/identified2/funds-confirmations", None).await.assert_error(403, "route_not_allowed");
    b.api("GET", "/mga/sps/oauth/oauth20/token", None).await.assert_error(403, "route_not_allowed");
    b.api("GET", "/__sandbox/tokens", None).await.assert_error(403, "route_not_allowed");
    b.send("GET", "/api/other/ais/v7/identified2/accounts", &[("x-valv-csrf", "1")], None).await.assert_error(403, "route_not_allowed");
    // Unauthenticated on an allowed route: 401.
    let mut anon = stack.browser();
    anon.api("GET", "/test-api/echo", None).await.assert_error(401, "unauthenticated");
}

#[tokio::test]
async fn oversize_bodies_are_refused() {
    let stack = start(Options { max_request_body: 1024, ..Options::default() }).await;
    let mut b = stack.browser();
    b.login().await;
    let big = vec![b'a'; 4096];
    b.send("POST", "/api/seb/test-api/echo", &[("x-valv-csrf", "1"), ("content-type", "application/json")], Some(big.clone()))
        .await
        .assert_error(413, "payload_too_large");
    // Streamed without a length: refused while reading.
    let cookie = b.cookie_header().unwrap();
    let stream = futures::stream::iter((0..8).map(|_| Ok::<_, std::io::Error>(vec![b'a'; 512])));
    let res = common::plain_client()
        .post(format!("{}/api/seb/test-api/echo", stack.broker_url))
        .header("cookie", cookie)
        .header("x-valv-csrf", "1")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["error"], "payload_too_large");
    // A bank answer over the response limit is not passed on as if complete.
    let r = b.api("GET", "/test-api/big", None).await;
    assert_eq!(r.status, 502, "{}", &r.body[..r.body.len().min(200)]);
}

#[tokio::test]
async fn hanging_garbage_and_redirecting_banks() {
    // Providers whose API base is a TCP server that never answers, or answers garbage; their
    // OAuth endpoints are the sandbox's (same client, same broker callback).
    let hang = fake_tcp_bank(None).await;
    let garbage = fake_tcp_bank(Some(b"this is not HTTP at all\r\n\r\n")).await;
    let bad_length = fake_tcp_bank(Some(b"HTTP/1.1 200 OK\r\nContent-Length: nonsense\r\n\r\n{{{")).await;
    let stack = start(Options {
        upstream_timeout: std::time::Duration::from_secs(1),
        extra_providers: vec![("hang".into(), hang), ("garbage".into(), garbage), ("badlength".into(), bad_length)],
        ..Options::default()
    })
    .await;
    let mut b = stack.browser();
    b.login().await;
    b.api("GET", "/test-api/hang", None).await.assert_error(504, "upstream_timeout");
    b.api("GET", "/test-api/redirect", None).await.assert_error(502, "upstream_unavailable");
    // A session of provider seb is not one of provider garbage.
    b.send("GET", "/api/garbage/x", &[("x-valv-csrf", "1")], None).await.assert_error(401, "unauthenticated");
    assert_eq!(b.get("/auth/session").await.json()["authenticated"], true);

    for (provider, status, code) in
        [("hang", 504, "upstream_timeout"), ("garbage", 502, "upstream_unavailable"), ("badlength", 502, "upstream_unavailable")]
    {
        let mut other = stack.browser();
        other.login_to(provider).await;
        other.send("GET", &format!("/api/{provider}/accounts"), &[("x-valv-csrf", "1")], None).await.assert_error(status, code);
        other
            .send("POST", &format!("/api/{provider}/payments"), &[("x-valv-csrf", "1")], Some(b"{}".to_vec()))
            .await
            .assert_error(status, code);
        assert_eq!(other.get("/auth/session").await.json()["authenticated"], true, "{provider}: the session stays");
    }
    stack.assert_no_secrets_seen().await;
}

#[tokio::test]
async fn a_broken_token_endpoint_sends_the_login_back_with_an_error() {
    let hang = fake_tcp_bank(None).await;
    let garbage = fake_tcp_bank(Some(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\nnot json!")).await;
    let huge: &'static [u8] = Box::leak(
        format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 200000\r\n\r\n{}", "x".repeat(200_000))
            .into_bytes()
            .into_boxed_slice(),
    );
    let huge = fake_tcp_bank(Some(huge)).await;
    let stack = start(Options {
        upstream_timeout: std::time::Duration::from_secs(1),
        extra_providers: vec![("hang".into(), String::new()), ("garbage".into(), String::new()), ("huge".into(), String::new())],
        token_urls: vec![("hang".into(), hang), ("garbage".into(), garbage), ("huge".into(), huge)],
        ..Options::default()
    })
    .await;
    for (provider, code) in [("hang", "upstream_timeout"), ("garbage", "upstream_unavailable"), ("huge", "upstream_unavailable")] {
        let mut b = stack.browser();
        let authorize = b.start_login(&format!("provider={provider}&returnTo=%2Fapp")).await;
        let callback = b.bank_login(&authorize, common::PERSON).await;
        let back = b.send("GET", &callback, &[], None).await;
        assert_eq!(back.status, 303, "{provider}: {}", back.body);
        assert_eq!(back.location(), format!("/app?valvError={code}"), "{provider}");
        assert_eq!(b.get("/auth/session").await.json()["authenticated"], false, "{provider}");
    }
}

#[tokio::test]
async fn unknown_endpoints_and_bad_methods_keep_the_error_shape() {
    let stack = start(Options::default()).await;
    let mut b = stack.browser();
    let r = b.get("/auth/nope").await;
    assert_ne!(r.status, 500);
    let r = b.send("DELETE", "/auth/session", &[], None).await;
    r.assert_error(405, "bad_request");
    let r = b.get("/api/seb").await;
    assert_eq!(r.json()["error"], "bad_request");
    let r = b.get("/auth/login?provider=seb&returnTo=%ZZ").await;
    assert_ne!(r.status, 500);
}

/// An `<img src="/auth/login?…">` on any page makes every visitor's browser start a login:
/// that must cost the broker nothing. Logins in progress live in the browser's sealed cookie,
/// so no store record exists before the bank answers; an oversized `returnTo` is refused.
#[tokio::test]
async fn logins_that_are_never_finished_leave_nothing_in_the_store() {
    let stack = start(Options::default()).await;
    let before = stack.broker.store.record_count().await.expect("memory store");
    let long = format!("%2F{}", "a".repeat(1500));
    let r = stack.plain.get(format!("{}/auth/login?provider=seb&returnTo={long}", stack.broker_url)).send().await.unwrap();
    assert_eq!(r.status(), 400, "a 1.5 KB returnTo is refused");
    let return_to = format!("%2F{}", "b".repeat(400));
    for batch in 0..30 {
        let calls = (0..50).map(|i| {
            let url = format!("{}/auth/login?provider=seb&returnTo={return_to}{batch}x{i}", stack.broker_url);
            let client = stack.plain.clone();
            async move { client.get(url).send().await.unwrap() }
        });
        for r in futures::future::join_all(calls).await {
            assert_eq!(r.status(), 302);
            let set = r.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect::<Vec<_>>();
            assert!(set.iter().all(|c| c.starts_with("__Host-valv-login=")), "only the login cookie: {set:?}");
        }
    }
    let after = stack.broker.store.record_count().await.expect("memory store");
    assert_eq!(after, before, "1500 cookie-less logins made {} store records", after - before);
}

/// A callback submitted twice at once (a double click, two tabs restoring) goes to the bank
/// once: a second code exchange would be a code replay, and a bank that detects replays
/// revokes the grant the first exchange made.
#[tokio::test]
async fn a_double_submitted_callback_makes_one_working_session() {
    let stack = start(Options::default()).await;
    let mut first = stack.browser();
    let authorize = first.start_login("provider=seb&returnTo=%2Fdone").await;
    let callback = first.bank_login(&authorize, PERSON).await;
    let mut second = stack.browser();
    second.cookies = first.cookies.clone();
    let (a, b) = tokio::join!(first.send("GET", &callback, &[], None), second.send("GET", &callback, &[], None));
    let codes = [a.status, b.status];
    assert!(codes.contains(&303) && codes.contains(&400), "one login, one refusal: {codes:?} {} {}", a.body, b.body);
    let counters = stack.control_get("/__sandbox/counters").await;
    assert_eq!(counters["tokenCalls"]["authorization_code"], 1, "the code went to the bank once: {counters}");
    let winner = if a.status == 303 { &mut first } else { &mut second };
    assert_eq!(winner.get("/auth/session").await.json()["authenticated"], true);
    assert_eq!(winner.api("GET", "/test-api/echo", None).await.status, 200, "the session works");
}

/// Logout while the store does not answer still logs the browser out (cookie cleared, 204),
/// and the session is ended server-side — revoked at the bank, records deleted — as soon as
/// the store is back, without the browser doing anything more.
#[tokio::test]
async fn logout_fails_closed_while_the_store_is_down() {
    let Some(redis) = TestRedis::start().await else { return };
    let stack = start(Options { store: valv_broker::config::StoreConfig::Redis(redis.url.clone()), ..Options::default() }).await;
    let mut b = stack.browser();
    b.login().await;
    let old_cookie = b.cookie_header().unwrap();
    assert_eq!(b.api("GET", "/test-api/echo", None).await.status, 200);

    redis.pause();
    let r = tokio::time::timeout(std::time::Duration::from_secs(10), b.send("POST", "/auth/logout", &[("x-valv-csrf", "1")], None))
        .await
        .expect("logout answers while the store is down");
    assert_eq!(r.status, 204, "{}", r.body);
    assert!(r.header("set-cookie").is_some_and(|c| c.starts_with("__Host-valv=") && c.to_ascii_lowercase().contains("max-age=0")));
    redis.resume();

    let mut thief = stack.browser();
    thief.cookies.clear();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let replay = thief.send("GET", "/api/seb/test-api/echo", &[("x-valv-csrf", "1"), ("cookie", &old_cookie)], None).await;
        if replay.status == 401 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the logged-out session still works: {} {}", replay.status, replay.body);
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // Revoked at the bank too: the grant's refresh token no longer works there.
    let rt = stack.first_refresh_token().await;
    stack.await_revoked(&rt).await;
}

/// Mix-up (RFC 9700 §4.4, RFC 9207): a login answer is taken only at the callback of the
/// bank the login went to, and — when that bank is configured with its issuer — only when it
/// names that issuer. A refused answer does not use up the login.
#[tokio::test]
async fn login_answers_for_another_bank_or_issuer_are_refused() {
    let issuer = "https://bank.example/issuer".to_owned();
    let stack =
        start(Options { extra_providers: vec![("other".into(), String::new())], seb_issuer: Some(issuer.clone()), ..Options::default() })
            .await;
    let mut b = stack.browser();
    let authorize = b.start_login("provider=seb&returnTo=%2Fdone").await;
    let callback = b.bank_login(&authorize, PERSON).await;
    let query = callback.split_once('?').unwrap().1.to_owned();

    b.send("GET", &format!("/auth/callback/other?{query}&iss={issuer}"), &[], None).await.assert_error(400, "bad_request");
    b.send("GET", &format!("/auth/callback?{query}"), &[], None).await.assert_error(400, "bad_request");
    b.send("GET", &format!("/auth/callback?{query}&iss=https%3A%2F%2Fevil.example%2F"), &[], None).await.assert_error(400, "bad_request");
    assert_eq!(
        stack.control_get("/__sandbox/counters").await["tokenCalls"]["authorization_code"],
        serde_json::Value::Null,
        "no code went to a bank"
    );

    let done = b
        .send(
            "GET",
            &format!("/auth/callback?{query}&iss={}", url::form_urlencoded::byte_serialize(issuer.as_bytes()).collect::<String>()),
            &[],
            None,
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location(), "/done");
    assert_eq!(b.get("/auth/session").await.json()["authenticated"], true);
}

/// One browser cannot burn the bank's budget: login steps per client address and API calls
/// per session are limited — 429 `rate_limited` with `Retry-After`, nothing sent on — and
/// every address and session has a budget of its own.
#[tokio::test]
async fn one_browser_cannot_burn_the_banks_budget() {
    use valv_broker::config::{Rate, RateLimits};
    let per = |count, secs| Rate::Per { count, period: std::time::Duration::from_secs(secs) };
    let stack = start(Options {
        rate_limits: RateLimits { logins_per_ip: per(5, 60), api_per_ip: per(1000, 1), api_per_session: per(10, 60) },
        trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()],
        ..Options::default()
    })
    .await;
    let mut b = stack.browser();
    b.login().await; // two login steps: /auth/login and /auth/callback
    for _ in 0..10 {
        assert_eq!(b.api("GET", "/ais/v7/identified2/accounts", None).await.status, 200);
    }
    let over = b.api("GET", "/ais/v7/identified2/accounts", None).await;
    over.assert_error(429, "rate_limited");
    let wait: u64 = over.header("retry-after").expect("Retry-After").parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let counters = stack.control_get("/__sandbox/counters").await;
    let at_bank: u64 = counters["apiCalls"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(at_bank, 10, "the refused call did not reach the bank: {counters}");

    let mut other = stack.browser();
    other.login().await; // login steps 3 and 4 of this address
    assert_eq!(other.api("GET", "/ais/v7/identified2/accounts", None).await.status, 200, "another session has its own budget");

    let login = |forwarded: Option<&'static str>| {
        let mut req = stack.plain.get(format!("{}/auth/login?provider=seb", stack.broker_url));
        if let Some(f) = forwarded {
            req = req.header("x-forwarded-for", f);
        }
        req.send()
    };
    assert_eq!(login(None).await.unwrap().status(), 302, "the fifth login step of the minute");
    let refused = login(None).await.unwrap();
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(refused.json::<serde_json::Value>().await.unwrap()["error"], "rate_limited");
    assert_eq!(login(Some("198.51.100.9")).await.unwrap().status(), 302, "another address has its own budget");
}

/// The store fails after the bank issued tokens at a login: the browser goes back to the app
/// with `valvError=store_unavailable` and no session cookie, and the tokens nobody will use
/// are revoked at the bank rather than left behind.
#[tokio::test]
async fn tokens_of_a_login_the_store_could_not_keep_are_revoked() {
    let Some(redis) = TestRedis::start().await else { return };
    let stack = start(Options { store: valv_broker::config::StoreConfig::Redis(redis.url.clone()), ..Options::default() }).await;
    let mut b = stack.browser();
    let authorize = b.start_login("provider=seb&returnTo=%2F").await;
    let callback = b.bank_login(&authorize, PERSON).await;
    // The code exchange takes a second; the store stops answering while it runs.
    let slow = serde_json::json!({"rules": [{"endpoint": "token", "latencyMs": 1000, "latencyNext": 1}]});
    assert!(stack.control_put("/__sandbox/faults", slow).await.is_success());
    let pending = tokio::spawn({
        let mut b2 = stack.browser();
        b2.cookies = b.cookies.clone();
        async move { b2.send("GET", &callback, &[], None).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    redis.pause();
    let answer = tokio::time::timeout(std::time::Duration::from_secs(15), pending).await.expect("the callback answers").unwrap();
    redis.resume();
    assert_eq!(answer.status, 303, "{}", answer.body);
    assert_eq!(answer.location(), "/?valvError=store_unavailable");
    assert!(
        answer.header("set-cookie").is_none_or(|c| !c.starts_with("__Host-valv=")),
        "no session cookie for a session that does not exist"
    );

    let rt = stack.first_refresh_token().await;
    stack.await_revoked(&rt).await;
}

/// A broker restarted (or another replica answering) between the bank's login page and the
/// callback still completes the login: what the login needs is in the browser's sealed
/// cookie, not in the memory of the process that started it. Here with the memory store,
/// where nothing else survives a restart.
#[tokio::test]
async fn a_login_survives_a_broker_restart_midway() {
    let mut stack = start(Options::default()).await;
    let mut b = stack.browser();
    let authorize = b.start_login("provider=seb&returnTo=%2Fafter").await;
    let callback = b.bank_login(&authorize, PERSON).await;
    let old = stack.broker_url.clone();
    stack.restart_broker().await;
    b.base = stack.broker_url.clone();
    let done = b.send("GET", &callback.replace(&old, &stack.broker_url), &[], None).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location(), "/after");
    assert_eq!(b.get("/auth/session").await.json()["authenticated"], true);
    assert_eq!(b.api("GET", "/ais/v7/identified2/accounts", None).await.status, 200);
}
