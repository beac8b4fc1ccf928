//! Static files and headers, graceful shutdown, lifetimes, trusted proxies.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::{start, Options};

#[tokio::test]
async fn static_files_with_security_headers_and_wasm_type() {
    let dir = std::env::temp_dir().join(format!("valv-www-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(dir.join("pkg")).unwrap();
    std::fs::write(dir.join("index.html"), "<!doctype html><title>x</title>").unwrap();
    std::fs::write(dir.join("pkg/app_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
    let stack = start(Options { static_dir: Some(dir.clone()), ..Options::default() }).await;
    let mut b = stack.browser();

    let index = b.get("/").await;
    assert_eq!(index.status, 200);
    assert!(index.body.contains("<title>x</title>"));
    let csp = index.header("content-security-policy").unwrap();
    assert!(csp.contains("script-src 'self' 'wasm-unsafe-eval'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(index.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(index.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(index.header("x-frame-options"), Some("DENY"), "the app cannot be framed (clickjacking)");
    assert!(index.header("set-cookie").is_none(), "static files do not create sessions");
    // The same on broker answers, and no caching of anything under /auth or /api.
    for path in ["/auth/session", "/api/seb/ais/v7/identified2/accounts"] {
        let r = b.get(path).await;
        assert_eq!(r.header("x-frame-options"), Some("DENY"), "{path}");
        assert!(r.header("content-security-policy").is_some_and(|c| c.contains("frame-ancestors 'none'")), "{path}");
        assert_eq!(r.header("cache-control"), Some("no-store"), "{path}");
    }

    let wasm = b.get("/pkg/app_bg.wasm").await;
    assert_eq!(wasm.status, 200);
    assert_eq!(wasm.header("content-type"), Some("application/wasm"));

    let missing = b.get("/nope.js").await;
    assert_eq!(missing.status, 404);
    let traversal = common::raw_request(&stack.broker_url, "GET", "/../Cargo.toml", &[]).await;
    assert_ne!(traversal.0, 200);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn shutdown_drains_in_flight_requests() {
    let mut stack = start(Options::default()).await;
    let mut b = stack.browser();
    b.login().await;
    let cookie = b.cookie_header().unwrap();
    let url = format!("{}/api/seb/test-api/gate", stack.broker_url);
    let entered = stack.gate.entered.notified();
    let call = tokio::spawn(async move {
        let res = common::plain_client().get(url).header("cookie", cookie).header("x-valv-csrf", "1").send().await.unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    });
    entered.await; // the request is now inside the bank
    let gate = stack.gate.clone();
    let stopping = async {
        stack.stop_broker().await;
    };
    let release = async {
        tokio::task::yield_now().await;
        gate.release.notify_one();
    };
    tokio::join!(stopping, release);
    let (status, body) = call.await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, "released");
    // The broker has stopped listening.
    assert!(common::plain_client().get(format!("{}/healthz", stack.broker_url)).send().await.is_err());
}

#[tokio::test]
async fn absolute_lifetime_ends_the_session() {
    let stack = start(Options { absolute_timeout: std::time::Duration::ZERO, ..Options::default() }).await;
    let mut b = stack.browser();
    b.login().await;
    b.api("GET", "/test-api/echo", None).await.assert_error(401, "session_expired");
    assert_eq!(b.get("/auth/session").await.json()["authenticated"], false);
}

#[tokio::test]
async fn forwarded_for_is_believed_only_from_trusted_proxies() {
    let trusted = start(Options { trusted_proxies: vec!["127.0.0.0/8".parse().unwrap()], ..Options::default() }).await;
    let mut b = trusted.browser();
    b.login().await;
    let r = b.send("GET", "/api/seb/test-api/echo", &[("x-valv-csrf", "1"), ("x-forwarded-for", "198.51.100.23, 127.0.0.2")], None).await;
    assert_eq!(r.json()["psuIpAddress"], "198.51.100.23");

    let untrusted = start(Options::default()).await;
    let mut b = untrusted.browser();
    b.login().await;
    let r = b.send("GET", "/api/seb/test-api/echo", &[("x-valv-csrf", "1"), ("x-forwarded-for", "198.51.100.23")], None).await;
    assert_eq!(r.json()["psuIpAddress"], "127.0.0.1");
}

#[tokio::test]
async fn mtls_identity_is_loaded_per_provider_and_a_wrong_password_is_a_clear_error() {
    use valv_broker::config::TlsIdentityConfig;
    use valv_broker::secret::Secret;
    let stack = start(Options::default()).await;
    let pfx = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/open-banking.pfx");

    let mut ok = stack.config.clone();
    ok.providers.get_mut("seb").unwrap().mtls = Some(TlsIdentityConfig::Pkcs12 { path: pfx.clone(), password: Secret::new("qwerty") });
    assert!(valv_broker::startup::build(ok).await.is_ok(), "SEB's sandbox certificate loads");

    let mut bad = stack.config.clone();
    bad.providers.get_mut("seb").unwrap().mtls = Some(TlsIdentityConfig::Pkcs12 { path: pfx, password: Secret::new("wrong-pw-123") });
    let err = format!("{:#}", valv_broker::startup::build(bad).await.expect_err("a wrong password is refused"));
    assert!(err.contains("providers.seb.mtls"), "{err}");
    assert!(!err.contains("wrong-pw-123"), "the password is not shown: {err}");
}

/// A slow API call of a session is inside the bank when the user logs out: when the call
/// finishes, nothing of the session comes back — not the session record (the proxy writes no
/// session), not a usable cookie.
#[tokio::test]
async fn logout_while_a_slow_request_is_in_flight_stays_logged_out() {
    use tower_sessions::SessionStore as _;
    let dir = std::env::temp_dir().join(format!("valv-slow-logout-{}", uuid::Uuid::new_v4()));
    let db = dir.join("sessions.db");
    let stack = start(Options { store: valv_broker::config::StoreConfig::Sqlite(db.clone()), ..Options::default() }).await;
    let mut b = stack.browser();
    b.login().await;
    let cookie = b.cookie_header().unwrap();
    let id: tower_sessions::session::Id =
        cookie.split_once('=').map(|(_, v)| v.split(';').next().unwrap_or(v)).unwrap().parse().expect("a session id in the cookie");
    let url = format!("{}/api/seb/test-api/gate", stack.broker_url);
    let entered = stack.gate.entered.notified();
    let slow_cookie = cookie.clone();
    let call = tokio::spawn(async move {
        let res = common::plain_client().get(url).header("cookie", slow_cookie).header("x-valv-csrf", "1").send().await.unwrap();
        let set_cookie: Vec<String> =
            res.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok().map(str::to_owned)).collect();
        (res.status().as_u16(), set_cookie)
    });
    entered.await; // the request is inside the bank
    assert_eq!(b.send("POST", "/auth/logout", &[("x-valv-csrf", "1")], None).await.status, 204);
    stack.gate.release.notify_one();
    let (status, _set_cookie) = call.await.unwrap();
    assert_eq!(status, 200, "the slow call itself completes");

    let store = valv_broker::store::AnyStore::open(&valv_broker::config::StoreConfig::Sqlite(db)).await.unwrap();
    assert!(store.load(&id).await.unwrap().is_none(), "the logged-out session record is back in the store");
    let again = common::plain_client()
        .get(format!("{}/api/seb/test-api/echo", stack.broker_url))
        .header("cookie", &cookie)
        .header("x-valv-csrf", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 401, "the old cookie still works after logout");
    let _ = std::fs::remove_dir_all(dir);
}

/// How long until the peer closes `stream` (reads return 0 or fail), writing `trickle` one
/// byte at a time every 250 ms meanwhile; `None` if it is still open after `limit`.
async fn closed_within(stream: &mut tokio::net::TcpStream, trickle: &[u8], limit: std::time::Duration) -> Option<std::time::Duration> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let started = std::time::Instant::now();
    let mut bytes = trickle.iter().cycle();
    let mut buf = [0u8; 1024];
    while started.elapsed() < limit {
        if let Ok(read) = tokio::time::timeout(std::time::Duration::from_millis(250), stream.read(&mut buf)).await {
            match read {
                Ok(0) | Err(_) => return Some(started.elapsed()),
                Ok(_) => continue,
            }
        }
        if !trickle.is_empty() && stream.write_all(&[*bytes.next().unwrap()]).await.is_err() {
            return Some(started.elapsed());
        }
    }
    None
}

/// A client that trickles its request headers, or keeps a connection idle, loses it after
/// `limits.header_read_timeout`.
#[tokio::test]
async fn slow_and_idle_connections_are_closed() {
    use tokio::io::AsyncWriteExt;
    let stack = start(Options { header_read_timeout: std::time::Duration::from_secs(1), ..Options::default() }).await;
    let addr = stack.broker_url.trim_start_matches("http://").to_owned();

    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let closed = closed_within(&mut slow, b"X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n", std::time::Duration::from_secs(6)).await;
    assert!(closed.is_some_and(|t| t < std::time::Duration::from_secs(3)), "a trickled header kept the connection: {closed:?}");

    let mut idle = tokio::net::TcpStream::connect(&addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let closed = closed_within(&mut idle, b"", std::time::Duration::from_secs(6)).await;
    assert!(closed.is_some_and(|t| t < std::time::Duration::from_secs(3)), "an idle kept-alive connection stayed: {closed:?}");
}

/// A request body that does not arrive within `limits.body_read_timeout` is answered 408.
#[tokio::test]
async fn a_trickled_request_body_gets_408() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let stack = start(Options { body_read_timeout: std::time::Duration::from_secs(1), ..Options::default() }).await;
    let mut b = stack.browser();
    b.login().await;
    let cookie = b.cookie_header().unwrap();
    let addr = stack.broker_url.trim_start_matches("http://").to_owned();
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /api/seb/test-api/echo HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nX-Valv-CSRF: 1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"a\":"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let started = std::time::Instant::now();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(std::time::Duration::from_secs(6), s.read(&mut buf)).await.expect("an answer, not a hang").unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#""error":"bad_request""#), "{answer}");
    assert!(started.elapsed() < std::time::Duration::from_secs(3), "{:?}", started.elapsed());
}

/// Connections past `limits.max_connections` wait to be accepted until one closes.
#[tokio::test]
async fn connections_past_the_cap_wait() {
    let stack = start(Options { max_connections: 2, ..Options::default() }).await;
    let addr = stack.broker_url.trim_start_matches("http://").to_owned();
    let first = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let _second = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let client = reqwest::Client::builder().timeout(std::time::Duration::from_millis(800)).build().unwrap();
    assert!(client.get(format!("{}/healthz", stack.broker_url)).send().await.is_err(), "a third connection was served while two were open");
    drop(first);
    let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(5)).build().unwrap();
    assert_eq!(client.get(format!("{}/healthz", stack.broker_url)).send().await.unwrap().status(), 200);
}

/// With `metrics_listen`, `/metrics` is served there only.
#[tokio::test]
async fn metrics_can_have_a_listener_of_their_own() {
    let stack = start(Options { metrics_listener: true, ..Options::default() }).await;
    let mut b = stack.browser();
    assert_eq!(b.get("/healthz").await.status, 200);
    assert_eq!(b.get("/metrics").await.status, 404, "not on the public listener");
    let metrics_url = stack.metrics_url.clone().unwrap();
    let m = stack.plain.get(format!("{metrics_url}/metrics")).send().await.unwrap();
    assert_eq!(m.status(), 200);
    let text = m.text().await.unwrap();
    assert!(text.contains(r#"valv_http_requests_total{route="/healthz",method="GET",status="200"}"#), "{text}");
}
