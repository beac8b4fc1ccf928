//! The sandbox bank plus N broker replicas sharing one session store, as real processes.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use anyhow::{bail, Context as _, Result};
use base64::Engine as _;
use rand::RngCore as _;
use serde_json::Value;

use crate::agent::{Agent, Reply};
use crate::process::{free_port, workspace_bin, Process};
use crate::redis::RedisServer;

/// The OAuth client id the brokers use at the sandbox.
pub const CLIENT_ID: &str = "valv-demo";
/// The default test person.
pub const PERSON: &str = "9311219639";
/// The environment variable that carries the client secret to the broker.
pub const SECRET_ENV: &str = "VALV_DEMO_CLIENT_SECRET";

/// Which session store the brokers share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    /// `memory` (one process only).
    Memory,
    /// `sqlite://<tmp>/sessions.db`.
    Sqlite,
    /// `redis://127.0.0.1:<port>` of a `redis-server` this stack starts.
    Redis,
}

/// Builds a [`Stack`].
#[derive(Debug, Clone)]
pub struct StackBuilder {
    replicas: usize,
    store: Store,
    broker_log: String,
}

impl Default for StackBuilder {
    fn default() -> Self {
        StackBuilder { replicas: 1, store: Store::Sqlite, broker_log: "info,valv_broker=debug".into() }
    }
}

impl StackBuilder {
    /// Number of broker processes (default 1; 0 starts the bank alone, its client still
    /// registered with the callback URL the first broker would have).
    pub fn replicas(mut self, n: usize) -> Self {
        self.replicas = n;
        self
    }

    /// The shared store (default SQLite).
    pub fn store(mut self, store: Store) -> Self {
        self.store = store;
        self
    }

    /// The brokers' `RUST_LOG` (default `info,valv_broker=debug`).
    pub fn broker_log(mut self, filter: &str) -> Self {
        self.broker_log = filter.into();
        self
    }

    /// Starts the sandbox (controls on, client `valv-demo` registered with the first broker's
    /// callback URL and a fresh random secret), the Redis server if asked, and the brokers.
    pub fn start(self) -> Result<Stack> {
        let sandbox_bin = workspace_bin("valv-sandbox")?;
        let broker_bin = if self.replicas > 0 { workspace_bin("valv-broker")? } else { PathBuf::new() };
        let dir = tempfile::Builder::new().prefix("valv-e2e-").tempdir()?;
        let client_secret = format!("e2e-secret-{}", random_hex(16));

        // The brokers' ports come first: the bank must know the callback URL.
        let mut ports = Vec::new();
        for _ in 0..self.replicas.max(1) {
            ports.push(free_port()?);
        }
        let broker_origin = format!("http://127.0.0.1:{}", ports[0]);
        let callback_url = format!("{broker_origin}/auth/callback");
        let sandbox_config = dir.path().join("sandbox.toml");
        std::fs::write(&sandbox_config, valv_testkit::sandbox_toml(CLIENT_ID, &client_secret, &callback_url))?;
        let mut cmd = Command::new(&sandbox_bin);
        cmd.args(["--addr", "127.0.0.1:0", "--controls", "--config"]).arg(&sandbox_config);
        cmd.env("RUST_LOG", "info");
        let (sandbox, sandbox_addr) = crate::process::start_listening("sandbox", cmd)?;

        let redis = match self.store {
            Store::Redis => Some(RedisServer::start()?),
            _ => None,
        };
        let sqlite_path = dir.path().join("sessions.db");
        let store_url = match self.store {
            Store::Memory => "memory".to_owned(),
            Store::Sqlite => format!("sqlite://{}", sqlite_path.display()),
            Store::Redis => redis.as_ref().map(RedisServer::url).unwrap_or_default(),
        };

        let key_path = dir.path().join("session-key");
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        std::fs::write(&key_path, base64::engine::general_purpose::STANDARD.encode(key))?;

        let static_dir = dir.path().join("www");
        std::fs::create_dir_all(&static_dir)?;
        std::fs::write(static_dir.join("index.html"), APP_PAGE)?;
        std::fs::write(static_dir.join("app.js"), APP_SCRIPT)?;

        let bank_url = format!("http://localhost:{}", sandbox_addr.port());
        let mut stack = Stack {
            brokers: Vec::new(),
            callback_url,
            sandbox,
            sandbox_addr,
            bank_url,
            redis,
            store: self.store,
            store_url,
            sqlite_path,
            key_path,
            static_dir,
            client_secret,
            broker_bin,
            broker_log: self.broker_log,
            http: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?,
            seen: Arc::default(),
            dir,
        };
        for (i, port) in ports.into_iter().take(self.replicas).enumerate() {
            let broker = stack.spawn_broker(i, port)?;
            stack.brokers.push(broker);
        }
        Ok(stack)
    }
}

/// A broker process of a [`Stack`].
#[derive(Debug)]
pub struct Broker {
    /// The process.
    pub process: Process,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Its port.
    pub port: u16,
    /// Its configuration file.
    pub config: PathBuf,
}

/// A running sandbox and brokers; everything stops when dropped (brokers first).
#[derive(Debug)]
pub struct Stack {
    /// The brokers (replicas of one another).
    pub brokers: Vec<Broker>,
    /// The sandbox bank.
    pub sandbox: Process,
    /// The redirect URI registered at the bank (the first broker's `/auth/callback`).
    pub callback_url: String,
    /// The sandbox's socket address (127.0.0.1).
    pub sandbox_addr: SocketAddr,
    /// The bank as the browser and the brokers address it: `http://localhost:PORT`.
    pub bank_url: String,
    /// The Redis server, for [`Store::Redis`].
    pub redis: Option<RedisServer>,
    /// The store kind.
    pub store: Store,
    /// The brokers' `store` setting.
    pub store_url: String,
    /// The SQLite file (for [`Store::Sqlite`]).
    pub sqlite_path: PathBuf,
    /// The session key file.
    pub key_path: PathBuf,
    /// The static files the brokers serve (a one-page stand-in app).
    pub static_dir: PathBuf,
    /// The OAuth client secret (random per stack; only the sandbox config and the brokers'
    /// environment hold it).
    pub client_secret: String,
    broker_bin: PathBuf,
    broker_log: String,
    http: reqwest::Client,
    /// Every reply every [`Agent`] of this stack received.
    pub seen: Arc<Mutex<Vec<Reply>>>,
    dir: tempfile::TempDir,
}

impl Drop for Stack {
    fn drop(&mut self) {
        for broker in &mut self.brokers {
            let _ = broker.process.stop();
        }
    }
}

/// The stand-in app page the brokers serve at `/` (with [`APP_SCRIPT`], external so a strict
/// CSP allows it): shows `valvError` the way an SPA would.
pub const APP_PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Valv e2e app</title></head>
<body><h1>Valv e2e app</h1><p id="status">loading</p>
<script src="/app.js"></script></body></html>
"#;

/// The stand-in app's script.
pub const APP_SCRIPT: &str = r#"const error = new URLSearchParams(location.search).get("valvError");
document.getElementById("status").textContent = error ? "login failed: " + error : "ready";
"#;

impl Stack {
    /// A builder.
    pub fn builder() -> StackBuilder {
        StackBuilder::default()
    }

    /// The first broker's URL.
    pub fn broker_url(&self) -> &str {
        &self.brokers[0].url
    }

    /// The scratch directory of this stack.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A new cookie-keeping client that records into [`Stack::seen`].
    pub fn agent(&self) -> Result<Agent> {
        Agent::new(self.seen.clone())
    }

    fn spawn_broker(&self, index: usize, port: u16) -> Result<Broker> {
        let origin = format!("http://127.0.0.1:{port}");
        let config = self.dir.path().join(format!("broker-{index}.toml"));
        std::fs::write(&config, self.broker_config(port))?;
        let mut cmd = Command::new(&self.broker_bin);
        cmd.arg("--config")
            .arg(&config)
            .current_dir(self.dir.path())
            .env("RUST_LOG", &self.broker_log)
            .env(SECRET_ENV, &self.client_secret);
        let (process, addr) = crate::process::start_listening(&format!("broker{index}"), cmd)?;
        if addr.port() != port {
            bail!("broker {index} listens on {addr}, configured for port {port}");
        }
        Ok(Broker { process, url: origin, port, config })
    }

    /// The broker configuration for `port`: valv-testkit's template, as `cargo xtask` uses
    /// it, with every rate limit off (the suites send hundreds of calls at once from one
    /// address and one session).
    pub fn broker_config(&self, port: u16) -> String {
        let (listen, origin) = (format!("127.0.0.1:{port}"), format!("http://127.0.0.1:{port}"));
        let mut toml =
            valv_testkit::BrokerToml::new(&listen, &origin, &self.store_url, &self.bank_url, CLIENT_ID, SECRET_ENV, &self.key_path);
        toml.www = Some(&self.static_dir);
        toml.rate_limits = valv_testkit::RATE_LIMITS_OFF;
        toml.render()
    }

    /// Stops broker `index` with SIGINT (it must exit cleanly) and starts a new process
    /// with the same configuration, port, store and key.
    pub fn restart_broker(&mut self, index: usize) -> Result<()> {
        let status = self.brokers[index].process.stop()?;
        if !status.success() {
            bail!("broker {index} exited with {status} after SIGINT; log:\n{}", self.brokers[index].process.log_tail());
        }
        let port = self.brokers[index].port;
        self.brokers[index] = self.spawn_broker(index, port)?;
        Ok(())
    }

    /// `GET` a sandbox control (`/__sandbox/…`) as JSON.
    pub async fn control_get(&self, path: &str) -> Result<Value> {
        let url = format!("http://{}{path}", self.sandbox_addr);
        let r = self.http.get(&url).send().await.with_context(|| format!("GET {path}"))?;
        let status = r.status();
        let text = r.text().await?;
        if !status.is_success() {
            bail!("GET {path}: {status}: {text}");
        }
        serde_json::from_str(&text).with_context(|| format!("GET {path}: not JSON: {text}"))
    }

    /// `method` a sandbox control with a JSON body; the answer as JSON (`Null` for 204).
    pub async fn control(&self, method: reqwest::Method, path: &str, body: Value) -> Result<Value> {
        let url = format!("http://{}{path}", self.sandbox_addr);
        let r = self.http.request(method.clone(), &url).json(&body).send().await.with_context(|| format!("{method} {path}"))?;
        let status = r.status();
        let text = r.text().await?;
        if !status.is_success() {
            bail!("{method} {path}: {status}: {text}");
        }
        if text.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).with_context(|| format!("{method} {path}: not JSON: {text}"))
    }

    /// The sandbox's `tokenCalls.refresh_token` counter.
    pub async fn refresh_calls(&self) -> Result<u64> {
        let c = self.control_get("/__sandbox/counters").await?;
        Ok(c["tokenCalls"]["refresh_token"].as_u64().unwrap_or(0))
    }

    /// Every access and refresh token the bank issued to `person`.
    pub async fn issued_tokens(&self, person: &str) -> Result<Vec<String>> {
        let list = self.control_get(&format!("/__sandbox/tokens?personalIdentityNumber={person}")).await?;
        let mut out = Vec::new();
        for item in list.as_array().into_iter().flatten() {
            for key in ["accessToken", "refreshToken"] {
                if let Some(t) = item.get(key).and_then(Value::as_str) {
                    if !t.is_empty() && !out.iter().any(|o| o == t) {
                        out.push(t.to_owned());
                    }
                }
            }
        }
        Ok(out)
    }

    /// Expires every access token at the bank now; the number expired.
    pub async fn expire_tokens(&self) -> Result<u64> {
        let v = self.control(reqwest::Method::POST, "/__sandbox/tokens/expire", Value::Null).await?;
        Ok(v["expired"].as_u64().unwrap_or(0))
    }
}

/// `n` random bytes as hex.
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Finds any of `needles` in `haystack`; returns the (redacted) ones found.
pub fn find_secrets<'a>(haystack: &[u8], needles: &'a [(&'a str, String)]) -> Vec<&'a str> {
    needles.iter().filter(|(_, n)| !n.is_empty() && haystack.windows(n.len()).any(|w| w == n.as_bytes())).map(|(label, _)| *label).collect()
}

/// Sends `n` concurrent `GET {path}` API calls with `agent`, spread round-robin over
/// `brokers`; every reply, in order.
pub async fn concurrent_gets(agent: &Agent, brokers: &[&str], n: usize, path: &str) -> Result<Vec<Reply>> {
    let calls = (0..n).map(|i| {
        let broker = brokers[i % brokers.len()];
        agent.api(broker, reqwest::Method::GET, path, None)
    });
    futures::future::join_all(calls).await.into_iter().collect()
}

/// Fails unless every reply has `status`, naming the first that does not.
pub fn ensure_all_status(replies: &[Reply], status: u16) -> Result<()> {
    if let Some((i, r)) = replies.iter().enumerate().find(|(_, r)| r.status != status) {
        let others = replies.iter().filter(|r| r.status != status).count();
        bail!("{others} of {} replies were not {status}; #{i}: {} {} {}", replies.len(), r.status, r.url, r.body);
    }
    Ok(())
}
