//! One session test suite run against every store (memory, SQLite, Redis), as tower-sessions
//! does with its `route_tests!`: login, session info, proxied call, single-flight refresh
//! (also across two replicas sharing the store), logout kills the session; restart keeps sessions (SQLite, Redis); the store's raw
//! contents never hold a token or the client secret.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::{contains_bytes, raw_dir_contents, start, Options, TestRedis, CLIENT_SECRET};
use serde_json::json;
use valv_broker::config::StoreConfig;

/// A store for one test, cleaned up on drop.
enum Backend {
    Memory,
    Sqlite(std::path::PathBuf),
    Redis(TestRedis),
}

impl Backend {
    async fn new(kind: &str) -> Option<Backend> {
        match kind {
            "memory" => Some(Backend::Memory),
            "sqlite" => {
                let dir = std::env::temp_dir().join(format!("valv-sqlite-{}", uuid::Uuid::new_v4()));
                std::fs::create_dir_all(&dir).unwrap();
                Some(Backend::Sqlite(dir))
            }
            "redis" => TestRedis::start().await.map(Backend::Redis),
            _ => unreachable!(),
        }
    }

    fn config(&self) -> StoreConfig {
        match self {
            Backend::Memory => StoreConfig::Memory,
            Backend::Sqlite(dir) => StoreConfig::Sqlite(dir.join("sessions.db")),
            Backend::Redis(r) => StoreConfig::Redis(r.url.clone()),
        }
    }

    fn persistent(&self) -> bool {
        !matches!(self, Backend::Memory)
    }

    async fn raw(&self) -> Option<Vec<u8>> {
        match self {
            Backend::Memory => None,
            Backend::Sqlite(dir) => Some(raw_dir_contents(dir)),
            Backend::Redis(r) => Some(r.raw_contents().await),
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        if let Backend::Sqlite(dir) = self {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

async fn session_suite(kind: &str) {
    let Some(backend) = Backend::new(kind).await else { return };
    let mut stack = start(Options { store: backend.config(), ..Options::default() }).await;
    let mut b = stack.browser();
    b.login().await;
    assert_eq!(b.get("/auth/session").await.json()["authenticated"], true);
    assert_eq!(b.api("GET", "/test-api/echo", None).await.status, 200);

    // Single-flight refresh through this store's lock.
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
    assert_eq!(stack.refresh_calls().await, 1, "{kind}: one refresh");

    // Two replicas sharing the store: one refresh for a burst spread over both.
    if backend.persistent() {
        let replica = stack.replica().await;
        assert!(stack.control_post("/__sandbox/tokens/expire", json!({})).await.is_success());
        let calls = (0..50).map(|i| {
            let base = if i % 2 == 0 { stack.broker_url.clone() } else { replica.clone() };
            let (client, cookie) = (client.clone(), cookie.clone());
            tokio::spawn(async move {
                client
                    .get(format!("{base}/api/seb/test-api/echo"))
                    .header("cookie", cookie)
                    .header("x-valv-csrf", "1")
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        });
        for c in futures::future::join_all(calls).await {
            assert_eq!(c.unwrap(), 200);
        }
        assert_eq!(stack.refresh_calls().await, 2, "{kind}: one refresh across two replicas");
    }

    // The raw store never holds a token or the client secret.
    if let Some(raw) = backend.raw().await {
        assert!(!raw.is_empty());
        assert!(!contains_bytes(&raw, CLIENT_SECRET.as_bytes()), "{kind}: client secret in the store");
        for t in stack.issued_tokens().await {
            assert!(!contains_bytes(&raw, t.as_bytes()), "{kind}: a token in the store");
        }
    }

    // Restart: persistent stores keep the session.
    stack.restart_broker().await;
    let mut again = stack.browser();
    again.cookies = b.cookies.clone();
    let r = again.api("GET", "/test-api/echo", None).await;
    if backend.persistent() {
        assert_eq!(r.status, 200, "{kind}: session survives a restart: {}", r.body);
    } else {
        r.assert_error(401, "unauthenticated");
        return;
    }

    // Logout kills it server-side.
    let old = again.cookie_header().unwrap();
    assert_eq!(again.send("POST", "/auth/logout", &[("x-valv-csrf", "1")], None).await.status, 204);
    let mut thief = stack.browser();
    thief.send("GET", "/api/seb/test-api/echo", &[("x-valv-csrf", "1"), ("cookie", &old)], None).await.assert_error(401, "unauthenticated");
    stack.assert_no_secrets_seen().await;
}

macro_rules! store_tests {
    ($($name:ident => $kind:literal),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                session_suite($kind).await;
            }
        )*
    };
}

store_tests! {
    memory_store => "memory",
    sqlite_store => "sqlite",
    redis_store => "redis",
}

/// Session keys rotate without logging anyone out: a new active key opens nothing old, the
/// old key stays configured to open existing sessions, and a refresh re-seals with the new one.
#[tokio::test]
async fn session_key_rotation_keeps_sessions() {
    use base64::Engine;
    use valv_broker::secret::Secret;
    let Some(backend) = Backend::new("sqlite").await else { return };
    let mut stack = start(Options { store: backend.config(), ..Options::default() }).await;
    // Two sessions, both sealed with k1 (logins go through the first broker's callback).
    let mut b = stack.browser();
    b.login().await;
    let cookie = b.cookie_header().unwrap();
    let mut idle = stack.browser();
    idle.login().await;
    let idle_cookie = idle.cookie_header().unwrap();
    let call = |url: String, cookie: String| async move {
        common::plain_client()
            .get(format!("{url}/api/seb/test-api/echo"))
            .header("cookie", cookie)
            .header("x-valv-csrf", "1")
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };

    // k2 becomes active, k1 stays to open existing data.
    let k2 = Secret::new(base64::engine::general_purpose::STANDARD.encode([42u8; 32]));
    stack.config.session.keys.insert("k2".into(), k2);
    stack.config.session.active_key = "k2".into();
    stack.restart_broker().await;
    assert_eq!(call(stack.broker_url.clone(), cookie.clone()).await, 200, "old session opens with k1");

    // A refresh re-seals the first session's tokens with k2; then k1 is removed.
    assert!(stack.control_post("/__sandbox/tokens/expire", json!({})).await.is_success());
    assert_eq!(call(stack.broker_url.clone(), cookie.clone()).await, 200);
    assert_eq!(stack.refresh_calls().await, 1);
    stack.config.session.keys.remove("k1");
    stack.restart_broker().await;
    assert_eq!(call(stack.broker_url.clone(), cookie.clone()).await, 200, "re-sealed with k2");

    // The idle session's tokens were sealed with the removed key: it ends cleanly.
    let mut late = stack.browser();
    late.send("GET", "/api/seb/test-api/echo", &[("x-valv-csrf", "1"), ("cookie", &idle_cookie)], None)
        .await
        .assert_error(401, "session_expired");
    assert_eq!(late.send("GET", "/auth/session", &[("cookie", &idle_cookie)], None).await.json()["authenticated"], false);
}
