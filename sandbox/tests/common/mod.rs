//! Shared test helper: a sandbox in-process on 127.0.0.1 port 0.
//!
//! ```ignore
//! mod common;
//! let sb = common::spawn(common::Options::default()).await;
//! let token = sb.token_for("9311219639", "psd2_accounts").await;
//! let res = sb.http.get(sb.url("/ais/v7/identified2/accounts")).bearer_auth(&token).send().await?;
//! ```
#![allow(dead_code, clippy::unwrap_used)]

use serde_json::{json, Value};
use valv_sandbox::{Client, SandboxConfig, SandboxState, Settings};

/// Test client registered in every spawned sandbox.
pub const CLIENT_ID: &str = "test-client";
/// Its secret.
pub const CLIENT_SECRET: &str = "test-secret";
/// Its registered redirect URI (nothing listens there; tests read the `Location` header).
pub const REDIRECT_URI: &str = "http://127.0.0.1:9/callback";

/// How to start a sandbox.
#[derive(Debug, Clone)]
pub struct Options {
    /// Serve `/__sandbox/` (default true).
    pub controls: bool,
    /// Initial settings.
    pub settings: Settings,
    /// Extra clients (besides the test client and the demo client).
    pub clients: Vec<Client>,
}

impl Default for Options {
    fn default() -> Self {
        Self { controls: true, settings: Settings::default(), clients: Vec::new() }
    }
}

/// A running sandbox; stops when dropped.
pub struct TestSandbox {
    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub base_url: String,
    /// The test client's id.
    pub client_id: String,
    /// The test client's secret.
    pub client_secret: String,
    /// The test client's redirect URI.
    pub redirect_uri: String,
    /// Direct handle to the sandbox's state (bank, tokens, counters).
    pub state: SandboxState,
    /// HTTP client: redirects OFF, cookie store on.
    pub http: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestSandbox {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// An HTTP client with redirects off and a cookie store.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).cookie_store(true).build().expect("reqwest client")
}

/// Starts a sandbox on 127.0.0.1:0.
pub async fn spawn(opts: Options) -> TestSandbox {
    let mut config = SandboxConfig { controls: opts.controls, settings: opts.settings, ..SandboxConfig::default() };
    config.add_client(Client { id: CLIENT_ID.into(), secret: CLIENT_SECRET.into(), redirect_uri: REDIRECT_URI.into() });
    for c in opts.clients {
        config.add_client(c);
    }
    let state = SandboxState::with_config(config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let served = state.clone();
    tokio::spawn(async move {
        valv_sandbox::serve(listener, served, async {
            let _ = rx.await;
        })
        .await
        .expect("sandbox serve");
    });
    TestSandbox {
        base_url: format!("http://{addr}"),
        client_id: CLIENT_ID.into(),
        client_secret: CLIENT_SECRET.into(),
        redirect_uri: REDIRECT_URI.into(),
        state,
        http: http_client(),
        shutdown: Some(tx),
    }
}

/// Starts a sandbox with controls on and default settings.
pub async fn spawn_default() -> TestSandbox {
    spawn(Options::default()).await
}

/// An access token for `person` with `scopes` (space separated), obtained like a user
/// would: through the decoupled flow over HTTP.
pub async fn token_for(sb: &TestSandbox, person: &str, scopes: &str) -> String {
    sb.token_for(person, scopes).await
}

impl TestSandbox {
    /// `base_url` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// An access token through the decoupled flow (see [`TestSandbox::tokens_for`]).
    pub async fn token_for(&self, person: &str, scopes: &str) -> String {
        self.tokens_for(person, scopes).await["access_token"].as_str().expect("access_token").to_owned()
    }

    /// The full token JSON (`access_token`, `refresh_token`, `scope`, `token_type`,
    /// `expires_in`) through the decoupled flow: start, poll, mock login, poll, tokens.
    pub async fn tokens_for(&self, person: &str, scopes: &str) -> Value {
        let res = self
            .http
            .post(self.url("/auth/v3/authorizations"))
            .json(&json!({"client_id": self.client_id, "lang": "en", "scope": scopes, "start_mode": "ast"}))
            .send()
            .await
            .expect("start");
        assert_eq!(res.status(), 201, "start decoupled authorization");
        let id = res.json::<Value>().await.expect("json")["auth_req_id"].as_str().expect("auth_req_id").to_owned();
        let status: Value =
            self.http.get(self.url(&format!("/auth/v3/authorizations/{id}"))).send().await.expect("poll").json().await.expect("json");
        assert_eq!(status["status"], "PENDING");
        let start_token = status["autostart_token"].as_str().expect("autostart_token").to_owned();
        let res = self
            .http
            .post(self.url("/open/sb/auth/mock/v1/login"))
            .json(&json!({"personal_identity_number": person, "start_token": start_token}))
            .send()
            .await
            .expect("mock login");
        assert_eq!(res.status(), 204, "mock login");
        let status: Value =
            self.http.get(self.url(&format!("/auth/v3/authorizations/{id}"))).send().await.expect("poll").json().await.expect("json");
        assert_eq!(status["status"], "COMPLETE");
        let res = self
            .http
            .post(self.url("/auth/v3/tokens"))
            .json(&json!({"client_id": self.client_id, "client_secret": self.client_secret, "auth_req_id": id, "redirect_uri": self.redirect_uri}))
            .send()
            .await
            .expect("tokens");
        assert_eq!(res.status(), 201, "decoupled tokens");
        res.json().await.expect("token json")
    }

    /// POSTs JSON to a control endpoint and returns the status.
    pub async fn control(&self, path: &str, body: Value) -> reqwest::StatusCode {
        self.http.post(self.url(path)).json(&body).send().await.expect("control").status()
    }

    /// Makes every access token expired now (`POST /__sandbox/tokens/expire`).
    pub async fn expire_tokens(&self) {
        assert!(self.control("/__sandbox/tokens/expire", json!({})).await.is_success());
    }
}
