//! Test harness: the sandbox bank and the broker in-process on 127.0.0.1 port 0, and a
//! "browser" that keeps the session cookie itself (the `__Host-` cookie is `Secure`, which a
//! cookie store would not send over http://127.0.0.1 — real browsers treat loopback as a
//! secure context), follows nothing automatically, and records every response it receives
//! so a test can scan them for tokens and secrets.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use base64::Engine;
use serde_json::{json, Value};
use valv_broker::config::{ClientAuth, Config, Limits, ProviderConfig, RouteRule, SessionConfig, StoreConfig};
use valv_broker::secret::Secret;
use valv_sandbox::{Client, SandboxConfig, SandboxState, Settings};

pub const CLIENT_ID: &str = "broker-test";
pub const CLIENT_SECRET: &str = "broker-test-secret-3f9a1c";
pub const PERSON: &str = "9311219639";
pub const CORS_ORIGIN: &str = "http://localhost:9999";

/// What to start.
pub struct Options {
    pub store: StoreConfig,
    pub settings: Settings,
    pub upstream_timeout: Duration,
    pub refresh_skew: Duration,
    pub client_auth: ClientAuth,
    pub max_request_body: usize,
    pub max_response_body: usize,
    /// Extra providers: name → API base URL, empty = the sandbox (allowlist `GET|POST /**`).
    pub extra_providers: Vec<(String, String)>,
    pub static_dir: Option<std::path::PathBuf>,
    pub absolute_timeout: Duration,
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Token endpoint replacements: provider name → token URL.
    pub token_urls: Vec<(String, String)>,
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
    pub max_connections: usize,
    /// Serve `/metrics` on a listener of its own (`Stack::metrics_url`).
    pub metrics_listener: bool,
    /// The `issuer` (RFC 9207) of provider `seb`.
    pub seb_issuer: Option<String>,
    /// Rate limits (default: off, so tests can hammer).
    pub rate_limits: valv_broker::config::RateLimits,
    /// More clients of the sandbox (for brokers the test starts itself).
    pub extra_clients: Vec<Client>,
}

/// Lets a test hold a request inside the bank: `entered` fires when `/test-api/gate` is
/// reached, the handler answers after `release` is notified.
#[derive(Default)]
pub struct Gate {
    pub entered: tokio::sync::Notify,
    pub release: tokio::sync::Notify,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            store: StoreConfig::Memory,
            settings: Settings::default(),
            upstream_timeout: Duration::from_secs(3),
            refresh_skew: Duration::from_secs(5),
            client_auth: ClientAuth::ClientSecretPost,
            max_request_body: 64 * 1024,
            max_response_body: 256 * 1024,
            extra_providers: Vec::new(),
            static_dir: None,
            absolute_timeout: Duration::from_secs(12 * 3600),
            trusted_proxies: Vec::new(),
            token_urls: Vec::new(),
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(10),
            max_connections: 4096,
            metrics_listener: false,
            seb_issuer: None,
            rate_limits: valv_broker::config::RateLimits {
                logins_per_ip: valv_broker::config::Rate::Off,
                api_per_ip: valv_broker::config::Rate::Off,
                api_per_session: valv_broker::config::Rate::Off,
            },
            extra_clients: Vec::new(),
        }
    }
}

/// Routes added to the sandbox for tests (the bank's own checks via its `Psu` extractor).
fn test_routes(state: SandboxState, gate: Arc<Gate>) -> Router {
    use valv_sandbox::auth::Psu;
    async fn echo(psu: Psu, req: Request) -> impl IntoResponse {
        let (parts, body) = req.into_parts();
        let h = &parts.headers;
        let get = |n: &str| h.get(n).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let method = parts.method.to_string();
        let query = parts.uri.query().map(str::to_owned);
        let body = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
        let names: Vec<String> = h.keys().map(|k| k.as_str().to_owned()).collect();
        (
            [("set-cookie", "bank-session=abc; Path=/"), ("x-bank", "1")],
            axum::Json(json!({
                "person": psu.person_id,
                "method": method,
                "path": parts.uri.path(),
                "query": query,
                "headerNames": names,
                "psuIpAddress": get("psu-ip-address"),
                "psuUserAgent": get("psu-user-agent"),
                "requestId": get("x-request-id"),
                "contentType": get("content-type"),
                "body": String::from_utf8_lossy(&body),
            })),
        )
    }
    async fn redirect(_psu: Psu) -> impl IntoResponse {
        (StatusCode::FOUND, [("location", "https://evil.example/steal")], "")
    }
    async fn problem(_psu: Psu) -> impl IntoResponse {
        (
            StatusCode::BAD_REQUEST,
            [("content-type", "application/problem+json")],
            r#"{"type":"https://bank/x","title":"FORMAT_ERROR","status":400,"tppMessages":[{"category":"ERROR","code":"FORMAT_ERROR","text":"bad"}]}"#,
        )
    }
    async fn big(_psu: Psu) -> impl IntoResponse {
        "x".repeat(300 * 1024)
    }
    async fn gated(_psu: Psu, axum::Extension(gate): axum::Extension<Arc<Gate>>) -> impl IntoResponse {
        let released = gate.release.notified();
        gate.entered.notify_one();
        released.await;
        "released"
    }
    async fn hang() -> impl IntoResponse {
        std::future::pending::<()>().await;
        ""
    }
    Router::new()
        .route("/test-api/echo", get(echo).post(echo).put(echo).delete(echo))
        .route("/test-api/echo/{*rest}", get(echo))
        .route("/test-api/redirect", get(redirect))
        .route("/test-api/problem", get(problem))
        .route("/test-api/big", get(big))
        .route("/test-api/hang", get(hang))
        .route("/test-api/gate", get(gated))
        .layer(axum::Extension(gate))
        .with_state(state)
}

pub fn allow(methods: &[&str], path: &str) -> RouteRule {
    RouteRule { methods: methods.iter().map(|m| m.parse().unwrap()).collect(), path: path.into() }
}

/// A fixed test key: 32 bytes, base64.
pub fn test_key() -> Secret {
    Secret::new(base64::engine::general_purpose::STANDARD.encode([7u8; 32]))
}

pub fn provider(name: &str, bank: &str, api_base: &str, redirect: &str, client_auth: ClientAuth) -> ProviderConfig {
    ProviderConfig {
        name: name.into(),
        authorize_url: format!("{bank}/mga/sps/oauth/oauth20/authorize").parse().unwrap(),
        token_url: format!("{bank}/mga/sps/oauth/oauth20/token").parse().unwrap(),
        revocation_url: Some(format!("{bank}/mga/sps/oauth/oauth20/revoke").parse().unwrap()),
        api_base_url: api_base.parse().unwrap(),
        redirect_uri: redirect.parse().unwrap(),
        issuer: None,
        client_id: CLIENT_ID.into(),
        client_secret: Secret::new(CLIENT_SECRET),
        client_auth,
        scopes: vec!["psd2_accounts".into(), "psd2_payments".into()],
        default_scopes: vec!["psd2_accounts".into(), "psd2_payments".into()],
        pkce: true,
        allow: vec![
            allow(&["GET"], "/ais/v7/identified2/**"),
            allow(&["GET", "POST", "PUT", "DELETE"], "/pis/v7/identified2/**"),
            allow(&["GET", "POST", "PUT", "DELETE"], "/test-api/echo"),
            allow(&["GET"], "/test-api/echo/**"),
            allow(&["GET"], "/test-api/redirect"),
            allow(&["GET"], "/test-api/problem"),
            allow(&["GET"], "/test-api/big"),
            allow(&["GET"], "/test-api/hang"),
            allow(&["GET"], "/test-api/gate"),
        ],
        psd2_headers: true,
        forward_headers: valv_broker::policy::headers::DEFAULT_FORWARD.iter().map(|n| http::HeaderName::from_static(n)).collect(),
        mtls: None,
        decoupled: Some(valv_broker::config::DecoupledConfig {
            base: format!("{bank}/auth/v4/").parse().unwrap(),
            version: valv_broker::config::DecoupledVersion::V4,
            start_mode: valv_broker::config::StartMode::Qr,
        }),
    }
}

/// A running sandbox + broker.
pub struct Stack {
    pub broker_url: String,
    pub bank_url: String,
    pub bank: SandboxState,
    pub config: Config,
    /// Every response any `Browser` of this stack received: `status headers body`.
    pub seen: Arc<Mutex<Vec<String>>>,
    pub plain: reqwest::Client,
    pub gate: Arc<Gate>,
    /// The first broker's state (its store, for what a test observes there).
    pub broker: valv_broker::state::AppState,
    /// `/metrics` on a listener of its own (with `Options::metrics_listener`).
    pub metrics_url: Option<String>,
    bank_stop: Option<tokio::sync::oneshot::Sender<()>>,
    broker_stop: Option<tokio::sync::oneshot::Sender<()>>,
    broker_task: Option<tokio::task::JoinHandle<()>>,
    replica_stops: Vec<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Stack {
    fn drop(&mut self) {
        if let Some(tx) = self.bank_stop.take() {
            let _ = tx.send(());
        }
        if let Some(tx) = self.broker_stop.take() {
            let _ = tx.send(());
        }
        for tx in self.replica_stops.drain(..) {
            let _ = tx.send(());
        }
    }
}

pub fn plain_client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

pub async fn start(opts: Options) -> Stack {
    let broker_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let broker_addr = broker_listener.local_addr().unwrap();
    let metrics_listener = if opts.metrics_listener { Some(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()) } else { None };
    let metrics_url = metrics_listener.as_ref().map(|l| format!("http://{}", l.local_addr().unwrap()));
    let broker_url = format!("http://{broker_addr}");
    let redirect = format!("{broker_url}/auth/callback");

    let mut sc = SandboxConfig { controls: true, settings: opts.settings.clone(), ..SandboxConfig::default() };
    sc.add_client(Client { id: CLIENT_ID.into(), secret: CLIENT_SECRET.into(), redirect_uri: redirect.clone() });
    // Each further provider is a client of its own at the sandbox, with its own callback.
    for (name, _) in &opts.extra_providers {
        sc.add_client(Client {
            id: format!("{CLIENT_ID}-{name}"),
            secret: CLIENT_SECRET.into(),
            redirect_uri: format!("{broker_url}/auth/callback/{name}"),
        });
    }
    for c in &opts.extra_clients {
        sc.add_client(c.clone());
    }
    let bank = SandboxState::with_config(sc);
    let bank_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let bank_url = format!("http://{}", bank_listener.local_addr().unwrap());
    let (bank_tx, bank_rx) = tokio::sync::oneshot::channel::<()>();
    let gate = Arc::new(Gate::default());
    let router = valv_sandbox::app(bank.clone()).merge(test_routes(bank.clone(), gate.clone()));
    tokio::spawn(async move {
        let _ = axum::serve(bank_listener, router)
            .with_graceful_shutdown(async {
                let _ = bank_rx.await;
            })
            .await;
    });

    let mut providers = BTreeMap::new();
    let mut seb = provider("seb", &bank_url, &bank_url, &redirect, opts.client_auth);
    seb.issuer = opts.seb_issuer.clone();
    providers.insert("seb".to_owned(), seb);
    for (name, api) in &opts.extra_providers {
        let api = if api.is_empty() { &bank_url } else { api };
        let mut p = provider(name, &bank_url, api, &format!("{broker_url}/auth/callback/{name}"), opts.client_auth);
        p.client_id = format!("{CLIENT_ID}-{name}");
        p.allow = vec![allow(&["GET", "POST"], "/**")];
        providers.insert(name.clone(), p);
    }
    for (name, token_url) in &opts.token_urls {
        providers.get_mut(name).expect("provider of token_urls").token_url = token_url.parse().unwrap();
    }
    let mut keys = BTreeMap::new();
    keys.insert("k1".to_owned(), test_key());
    let config = Config {
        listen: broker_addr,
        metrics_listen: metrics_listener.as_ref().map(|l| l.local_addr().unwrap()),
        public_origin: broker_url.parse().unwrap(),
        static_dir: opts.static_dir.clone(),
        session: SessionConfig {
            cookie_name: "__Host-valv".into(),
            idle_timeout: Duration::from_secs(1800),
            absolute_timeout: opts.absolute_timeout,
            refresh_skew: opts.refresh_skew,
            keys,
            active_key: "k1".into(),
        },
        store: opts.store.clone(),
        providers,
        cors_allowed_origins: vec![CORS_ORIGIN.into()],
        trusted_proxies: opts.trusted_proxies.clone(),
        limits: Limits {
            max_request_body: opts.max_request_body,
            max_response_body: opts.max_response_body,
            upstream_timeout: opts.upstream_timeout,
            connect_timeout: Duration::from_secs(2),
            header_read_timeout: opts.header_read_timeout,
            body_read_timeout: opts.body_read_timeout,
            request_timeout: opts.upstream_timeout + Duration::from_secs(30),
            max_connections: opts.max_connections,
        },
        rate_limits: opts.rate_limits.clone(),
    };
    let (router, broker_state) = valv_broker::startup::build(config.clone()).await.expect("broker builds");
    if let Some(l) = metrics_listener {
        tokio::spawn(valv_broker::startup::serve_metrics(l, broker_state.clone(), std::future::pending()));
    }
    let (broker_tx, broker_rx) = tokio::sync::oneshot::channel::<()>();
    let broker_task = tokio::spawn(async move {
        valv_broker::startup::serve_router(broker_listener, router, async {
            let _ = broker_rx.await;
        })
        .await
        .expect("broker serve");
    });
    Stack {
        broker_url,
        bank_url,
        bank,
        config,
        seen: Arc::new(Mutex::new(Vec::new())),
        plain: plain_client(),
        gate,
        broker: broker_state,
        metrics_url,
        bank_stop: Some(bank_tx),
        broker_stop: Some(broker_tx),
        broker_task: Some(broker_task),
        replica_stops: Vec::new(),
    }
}

impl Stack {
    pub fn browser(&self) -> Browser {
        Browser {
            base: self.broker_url.clone(),
            http: plain_client(),
            cookies: valv_testkit::CookieJar::default(),
            seen: self.seen.clone(),
        }
    }

    /// Stops the broker (draining it) and starts a new one with the same configuration on a
    /// new port (a restart); `broker_url` changes.
    pub async fn restart_broker(&mut self) {
        self.stop_broker().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        self.broker_url = format!("http://{}", listener.local_addr().unwrap());
        let (router, _state) = valv_broker::startup::build(self.config.clone()).await.expect("broker builds again");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        self.broker_task = Some(tokio::spawn(async move {
            valv_broker::startup::serve_router(listener, router, async {
                let _ = rx.await;
            })
            .await
            .expect("broker serve");
        }));
        self.broker_stop = Some(tx);
    }

    /// Starts another broker (a replica) with the same configuration — so the same store —
    /// on a new port; returns its URL. It stops with the stack.
    pub async fn replica(&mut self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (router, _state) = valv_broker::startup::build(self.config.clone()).await.expect("replica builds");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = valv_broker::startup::serve_router(listener, router, async {
                let _ = rx.await;
            })
            .await;
        });
        self.replica_stops.push(tx);
        url
    }

    /// Stops the broker and waits until it has drained.
    pub async fn stop_broker(&mut self) {
        if let Some(tx) = self.broker_stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.broker_task.take() {
            t.await.unwrap();
        }
    }

    /// The refresh token the bank issued to `PERSON` first.
    pub async fn first_refresh_token(&self) -> String {
        let v = self.control_get(&format!("/__sandbox/tokens?personalIdentityNumber={PERSON}")).await;
        v[0]["refreshToken"].as_str().expect("the bank issued tokens").to_owned()
    }

    /// Presents `refresh_token` at the bank's token endpoint, as the broker would.
    pub async fn refresh_at_bank(&self, refresh_token: &str) -> reqwest::Response {
        self.plain
            .post(format!("{}/mga/sps/oauth/oauth20/token", self.bank_url))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
                ("client_id", CLIENT_ID),
                ("client_secret", CLIENT_SECRET),
            ])
            .send()
            .await
            .unwrap()
    }

    /// Waits (up to 20 s) until the bank refuses `refresh_token` (its grant was revoked).
    pub async fn await_revoked(&self, refresh_token: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let status = self.refresh_at_bank(refresh_token).await.status();
            if status == 400 {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "the grant was not revoked: the bank still answers {status}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub async fn control_get(&self, path: &str) -> Value {
        self.plain.get(format!("{}{path}", self.bank_url)).send().await.unwrap().json().await.unwrap()
    }

    pub async fn control_post(&self, path: &str, body: Value) -> StatusCode {
        let s = self.plain.post(format!("{}{path}", self.bank_url)).json(&body).send().await.unwrap().status();
        StatusCode::from_u16(s.as_u16()).unwrap()
    }

    pub async fn control_put(&self, path: &str, body: Value) -> StatusCode {
        let s = self.plain.put(format!("{}{path}", self.bank_url)).json(&body).send().await.unwrap().status();
        StatusCode::from_u16(s.as_u16()).unwrap()
    }

    /// `tokenCalls.refresh_token` of the sandbox's counters.
    pub async fn refresh_calls(&self) -> u64 {
        self.control_get("/__sandbox/counters").await["tokenCalls"]["refresh_token"].as_u64().unwrap_or(0)
    }

    /// Every access and refresh token the sandbox issued to `PERSON`.
    pub async fn issued_tokens(&self) -> Vec<String> {
        let v = self.control_get(&format!("/__sandbox/tokens?personalIdentityNumber={PERSON}")).await;
        let mut out = Vec::new();
        for t in v.as_array().cloned().unwrap_or_default() {
            for k in ["accessToken", "refreshToken"] {
                if let Some(s) = t[k].as_str() {
                    out.push(s.to_owned());
                }
            }
        }
        out
    }

    /// Asserts no token the bank issued, nor the client secret, appears in anything the
    /// browser side received.
    pub async fn assert_no_secrets_seen(&self) {
        let tokens = self.issued_tokens().await;
        assert!(!tokens.is_empty(), "the sandbox issued tokens in this test");
        let seen = self.seen.lock().unwrap();
        assert!(!seen.is_empty());
        for r in seen.iter() {
            assert!(!r.contains(CLIENT_SECRET), "client secret reached the browser: {r}");
            for t in &tokens {
                assert!(!r.contains(t.as_str()), "a token reached the browser: {r}");
            }
        }
    }
}

/// One response as the browser saw it.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn location(&self) -> &str {
        self.header("location").expect("location")
    }

    /// Asserts the broker's error shape with this status and code, and never a 500.
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        let v = self.json();
        assert_eq!(v["error"], code, "{}", self.body);
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()));
        let id = v["requestId"].as_str().expect("requestId");
        uuid::Uuid::parse_str(id).expect("requestId is a UUID");
        assert_eq!(self.header("x-request-id"), Some(id));
    }
}

/// A browser: keeps cookies by hand, never follows redirects, records every response.
pub struct Browser {
    pub base: String,
    pub http: reqwest::Client,
    pub cookies: valv_testkit::CookieJar,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Browser {
    pub fn cookie_header(&self) -> Option<String> {
        self.cookies.header()
    }

    /// The raw Set-Cookie lines of the last response are applied here.
    fn take_cookies(&mut self, headers: &HeaderMap) {
        for v in headers.get_all("set-cookie") {
            self.cookies.take(v.to_str().unwrap()).unwrap();
        }
    }

    fn record(&self, status: u16, headers: &HeaderMap, body: &str) {
        let mut s = format!("{status}\n");
        for (k, v) in headers {
            s.push_str(&format!("{}: {}\n", k, String::from_utf8_lossy(v.as_bytes())));
        }
        s.push_str(body);
        self.seen.lock().unwrap().push(s);
    }

    /// Any request to an absolute URL or a broker path; `headers` are added as given.
    pub async fn send(&mut self, method: &str, url: &str, headers: &[(&str, &str)], body: Option<Vec<u8>>) -> Resp {
        let url = if url.starts_with("http") { url.to_owned() } else { format!("{}{url}", self.base) };
        let mut req = self.http.request(method.parse().unwrap(), &url);
        if url.starts_with(&self.base) {
            if let Some(c) = self.cookie_header() {
                req = req.header("cookie", c);
            }
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.body(b);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let headers = HeaderMap::from_iter(res.headers().iter().map(|(k, v)| (k.clone(), v.clone())));
        let body = res.text().await.unwrap_or_default();
        if url.starts_with(&self.base) {
            self.record(status, &headers, &body);
            self.take_cookies(&headers);
        }
        Resp { status, headers, body }
    }

    pub async fn get(&mut self, path: &str) -> Resp {
        self.send("GET", path, &[], None).await
    }

    /// An API call as the wasm client makes it.
    pub async fn api(&mut self, method: &str, path: &str, body: Option<Value>) -> Resp {
        let mut h = vec![("x-valv-csrf", "1"), ("accept", "application/json")];
        if body.is_some() {
            h.push(("content-type", "application/json"));
        }
        self.send(method, &format!("/api/seb{path}"), &h, body.map(|b| b.to_string().into_bytes())).await
    }

    /// Starts a login; returns the bank authorize URL.
    pub async fn start_login(&mut self, query: &str) -> String {
        let r = self.get(&format!("/auth/login?{query}")).await;
        assert_eq!(r.status, 302, "{}", r.body);
        r.location().to_owned()
    }

    /// At the bank (a separate site: no broker cookies): opens the login page and posts the
    /// form with `person`; returns the callback URL the bank redirects to.
    pub async fn bank_login(&mut self, authorize_url: &str, person: &str) -> String {
        let page = self.send("GET", authorize_url, &[], None).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let marker = "name=\"request_id\" value=\"";
        let at = page.body.find(marker).expect("login form") + marker.len();
        let request_id = &page.body[at..at + page.body[at..].find('"').unwrap()];
        let action = url::Url::parse(authorize_url).unwrap();
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("request_id", request_id)
            .append_pair("personal_identity_number", person)
            .append_pair("action", "login")
            .finish();
        let posted = self
            .send(
                "POST",
                &format!("{}://{}{}", action.scheme(), action.authority(), action.path()),
                &[("content-type", "application/x-www-form-urlencoded")],
                Some(form.into_bytes()),
            )
            .await;
        assert_eq!(posted.status, 302, "{}", posted.body);
        posted.location().to_owned()
    }

    /// The whole login through the bank's HTML form; returns the final redirect target.
    pub async fn login(&mut self) -> String {
        self.login_to("seb").await
    }

    /// [`Browser::login`] at another provider.
    pub async fn login_to(&mut self, provider: &str) -> String {
        let authorize = self.start_login(&format!("provider={provider}&returnTo=%2Fapp%3Ftab%3D1")).await;
        let callback = self.bank_login(&authorize, PERSON).await;
        let done = self.send("GET", &callback, &[], None).await;
        assert_eq!(done.status, 303, "{}", done.body);
        done.location().to_owned()
    }
}

/// A raw HTTP/1.1 request (paths that a URL library would normalise): status and body.
pub async fn raw_request(base: &str, method: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

/// A TCP server that accepts and answers `reply` (then closes), or never answers if `None`.
pub async fn fake_tcp_bank(reply: Option<&'static [u8]>) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = l.accept().await else { return };
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                match reply {
                    Some(r) => {
                        let _ = s.write_all(r).await;
                        let _ = s.shutdown().await;
                    }
                    None => {
                        let _ = s.read(&mut buf).await;
                        std::future::pending::<()>().await;
                    }
                }
            });
        }
    });
    url
}

/// A `redis-server` of this test only (killed on drop), RDB without compression in a temp
/// dir so a test can scan the raw contents.
pub struct TestRedis {
    pub url: String,
    pub port: u16,
    pub dir: std::path::PathBuf,
    child: std::process::Child,
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl TestRedis {
    /// Starts one. Without `redis-server` the test fails, unless `VALV_SKIP_REDIS=1` says to
    /// skip the Redis tests (then `None`).
    pub async fn start() -> Option<TestRedis> {
        let bin = valv_testkit::redis::server();
        let port = valv_testkit::process::free_port().unwrap();
        let dir = std::env::temp_dir().join(format!("valv-redis-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let child =
            valv_testkit::redis::command(&bin, port, &dir).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn();
        let child = match child {
            Ok(c) => c,
            Err(e) => {
                assert!(
                    std::env::var_os("VALV_SKIP_REDIS").is_some_and(|v| v == "1"),
                    "redis-server ({}) could not be started: {e}: {}, or set VALV_SKIP_REDIS=1 to skip the Redis tests",
                    bin.to_string_lossy(),
                    valv_testkit::redis::MISSING
                );
                eprintln!("SKIPPED (VALV_SKIP_REDIS=1): redis-server could not be started ({e})");
                return None;
            }
        };
        let redis = TestRedis { url: format!("redis://127.0.0.1:{port}"), port, dir, child };
        // Readiness: wait (bounded) until it answers PING.
        for _ in 0..200 {
            if redis.command(&["PING"]).await.is_some_and(|r| r.starts_with(b"+PONG")) {
                return Some(redis);
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("redis-server did not start");
    }

    /// Freezes the server (SIGSTOP): connections stay open, nothing is answered.
    pub fn pause(&self) {
        let ok = std::process::Command::new("kill").args(["-STOP", &self.child.id().to_string()]).status().unwrap().success();
        assert!(ok, "SIGSTOP redis-server");
    }

    /// Lets a paused server run again (SIGCONT).
    pub fn resume(&self) {
        let ok = std::process::Command::new("kill").args(["-CONT", &self.child.id().to_string()]).status().unwrap().success();
        assert!(ok, "SIGCONT redis-server");
    }

    /// One RESP command; the raw reply.
    pub async fn command(&self, args: &[&str]) -> Option<Vec<u8>> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.ok()?;
        let mut req = format!("*{}\r\n", args.len());
        for a in args {
            req.push_str(&format!("${}\r\n{}\r\n", a.len(), a));
        }
        s.write_all(req.as_bytes()).await.ok()?;
        let mut buf = vec![0u8; 4096];
        let n = s.read(&mut buf).await.ok()?;
        buf.truncate(n);
        Some(buf)
    }

    /// Everything in the database, as bytes (an uncompressed RDB snapshot).
    pub async fn raw_contents(&self) -> Vec<u8> {
        let reply = self.command(&["SAVE"]).await.expect("SAVE");
        assert!(reply.starts_with(b"+OK"), "{}", String::from_utf8_lossy(&reply));
        std::fs::read(self.dir.join("dump.rdb")).expect("dump.rdb")
    }
}

/// Every file under `dir`, concatenated (a SQLite database and its WAL).
pub fn raw_dir_contents(dir: &std::path::Path) -> Vec<u8> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            out.extend(std::fs::read(p).unwrap());
        }
    }
    out
}

/// Does `hay` contain `needle`.
pub fn contains_bytes(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// What a [`FlakyEndpoint`] does with the requests it gets.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Flake {
    /// Forwards the request to the real endpoint and its answer back.
    Pass,
    /// Answers 200 with a body that is not JSON.
    Garbage,
    /// Answers 200 with a `Content-Length` longer than the JSON it sends, then closes.
    Truncated,
    /// Reads the request and closes the connection without a word.
    Reset,
    /// Reads the request and never answers.
    Hang,
    /// Not listening: connections are refused.
    Down,
}

/// A bank endpoint between the broker and the sandbox that can break on demand (one HTTP/1.1
/// request per connection, so no pooled connection outlives a change of mode).
pub struct FlakyEndpoint {
    pub url: String,
    addr: std::net::SocketAddr,
    target: Arc<Mutex<String>>,
    mode: Arc<Mutex<Flake>>,
    acceptor: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl FlakyEndpoint {
    /// Starts in [`Flake::Pass`]; [`FlakyEndpoint::forward_to`] names the real endpoint.
    pub async fn start() -> Arc<FlakyEndpoint> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let e = Arc::new(FlakyEndpoint {
            url: format!("http://{addr}/token"),
            addr,
            target: Arc::default(),
            mode: Arc::new(Mutex::new(Flake::Pass)),
            acceptor: Mutex::new(None),
        });
        e.accept_on(listener);
        e
    }

    /// The real endpoint's URL, that [`Flake::Pass`] forwards to.
    pub fn forward_to(&self, url: &str) {
        *self.target.lock().unwrap() = url.to_owned();
    }

    fn accept_on(&self, listener: tokio::net::TcpListener) {
        let (mode, target) = (self.mode.clone(), self.target.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((s, _)) = listener.accept().await else { return };
                let flake = *mode.lock().unwrap();
                let to = target.lock().unwrap().clone();
                tokio::spawn(flaky_answer(s, flake, to));
            }
        });
        *self.acceptor.lock().unwrap() = Some(task);
    }

    /// Switches mode; `Down` closes the port, leaving `Down` opens it again.
    pub async fn set(&self, flake: Flake) {
        let was = std::mem::replace(&mut *self.mode.lock().unwrap(), flake);
        if flake == Flake::Down && was != Flake::Down {
            if let Some(t) = self.acceptor.lock().unwrap().take() {
                t.abort();
            }
            // The listener is dropped with the aborted task.
            for _ in 0..100 {
                if tokio::net::TcpStream::connect(self.addr).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            panic!("{} still accepts connections", self.addr);
        }
        if was == Flake::Down && flake != Flake::Down {
            let listener = tokio::net::TcpListener::bind(self.addr).await.unwrap();
            self.accept_on(listener);
        }
    }
}

async fn flaky_answer(mut s: tokio::net::TcpStream, flake: Flake, target: String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let header = |name: &str| {
        head.lines().find_map(|l| l.split_once(':').filter(|(k, _)| k.trim().eq_ignore_ascii_case(name)).map(|(_, v)| v.trim().to_owned()))
    };
    let length: usize = header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    while buf.len() < head_end + length {
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let body = buf[head_end..head_end + length].to_vec();
    let reply: Vec<u8> = match flake {
        Flake::Pass => {
            let mut req = plain_client().post(&target).body(body);
            for name in ["content-type", "authorization", "accept"] {
                if let Some(v) = header(name) {
                    req = req.header(name, v);
                }
            }
            let Ok(res) = req.send().await else { return };
            let status = res.status().as_u16();
            let ct = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("application/json").to_owned();
            let answer = res.bytes().await.unwrap_or_default();
            let mut out =
                format!("HTTP/1.1 {status} X\r\ncontent-type: {ct}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", answer.len())
                    .into_bytes();
            out.extend_from_slice(&answer);
            out
        }
        Flake::Garbage => {
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 9\r\nconnection: close\r\n\r\nnot json!".to_vec()
        }
        Flake::Truncated => {
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 400\r\nconnection: close\r\n\r\n{\"access_token\":\"abc"
                .to_vec()
        }
        Flake::Reset | Flake::Down => Vec::new(),
        Flake::Hang => {
            std::future::pending::<()>().await;
            return;
        }
    };
    let _ = s.write_all(&reply).await;
    let _ = s.shutdown().await;
}

/// What differs between the configuration files of the broker binaries tests start.
pub struct ConfigFile<'a> {
    pub listen: &'a str,
    pub public_origin: &'a str,
    pub store: &'a str,
    pub bank: &'a str,
    pub client_id: &'a str,
    /// The lines of `[rate_limits]` (empty: the broker's defaults).
    pub rate_limits: &'a str,
}

/// Writes a session key and `broker.toml` for the `valv-broker` binary into `dir` (one
/// provider `seb` at `bank`, its secret from `VALV_TEST_CLIENT_SECRET`; valv-testkit's
/// template, as xtask and the process tests use); returns its path.
pub fn write_config_file(dir: &std::path::Path, c: &ConfigFile<'_>) -> std::path::PathBuf {
    let key = dir.join("session-key");
    std::fs::write(&key, base64::engine::general_purpose::STANDARD.encode([9u8; 32])).unwrap();
    let path = dir.join("broker.toml");
    let mut toml = valv_testkit::BrokerToml::new(c.listen, c.public_origin, c.store, c.bank, c.client_id, "VALV_TEST_CLIENT_SECRET", &key);
    toml.rate_limits = c.rate_limits;
    std::fs::write(&path, toml.render()).unwrap();
    path
}
