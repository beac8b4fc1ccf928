//! Faults from outside: a token endpoint that breaks (garbage, a truncated answer, a reset,
//! no answer, not listening) during the code exchange and during a refresh, and a SQLite
//! file that fills up or cannot be written. Expected everywhere: a clear error code, no
//! panic, no session lost that could have been kept, no token anywhere in clear.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{start, Browser, Flake, FlakyEndpoint, Options, CLIENT_ID, CLIENT_SECRET};
use serde_json::json;

const ACCOUNTS: &str = "/api/flaky/ais/v7/identified2/accounts";

/// A stack whose provider `flaky` reaches the sandbox's token endpoint through `flaky`.
async fn flaky_stack(flaky: &FlakyEndpoint) -> common::Stack {
    let stack = start(Options {
        upstream_timeout: Duration::from_secs(1),
        extra_providers: vec![("flaky".into(), String::new())],
        token_urls: vec![("flaky".into(), flaky.url.clone())],
        ..Options::default()
    })
    .await;
    flaky.forward_to(&format!("{}/mga/sps/oauth/oauth20/token", stack.bank_url));
    stack
}

#[tokio::test]
async fn a_token_endpoint_that_breaks_during_a_refresh_keeps_the_session_and_its_refresh_token() {
    let flaky = FlakyEndpoint::start().await;
    let stack = flaky_stack(&flaky).await;
    let mut b = stack.browser();
    b.login_to("flaky").await;
    assert_eq!(b.send("GET", ACCOUNTS, &[("x-valv-csrf", "1")], None).await.status, 200);

    for (flake, status, code) in [
        (Flake::Garbage, 502, "upstream_unavailable"),
        (Flake::Truncated, 502, "upstream_unavailable"),
        (Flake::Reset, 502, "upstream_unavailable"),
        (Flake::Down, 502, "upstream_unavailable"),
        (Flake::Hang, 504, "upstream_timeout"),
    ] {
        // The bank stops taking the access token: the next call needs a refresh.
        assert!(stack.control_post("/__sandbox/tokens/expire", json!({})).await.is_success());
        flaky.set(flake).await;
        b.send("GET", ACCOUNTS, &[("x-valv-csrf", "1")], None).await.assert_error(status, code);
        assert_eq!(b.get("/auth/session").await.json()["authenticated"], true, "{flake:?}: the session stays");

        // Once the bank answers again, the refresh token the broker kept still works.
        flaky.set(Flake::Pass).await;
        let refreshes = stack.refresh_calls().await;
        let again = b.send("GET", ACCOUNTS, &[("x-valv-csrf", "1")], None).await;
        assert_eq!(again.status, 200, "{flake:?}: after the bank is back: {}", again.body);
        assert_eq!(stack.refresh_calls().await, refreshes + 1, "{flake:?}: one refresh, with the kept refresh token");
    }
    stack.assert_no_secrets_seen().await;
}

#[tokio::test]
async fn a_token_endpoint_that_breaks_during_the_code_exchange_sends_the_login_back() {
    let flaky = FlakyEndpoint::start().await;
    let stack = flaky_stack(&flaky).await;
    for (flake, code) in [
        (Flake::Down, "upstream_unavailable"),
        (Flake::Reset, "upstream_unavailable"),
        (Flake::Truncated, "upstream_unavailable"),
        (Flake::Garbage, "upstream_unavailable"),
        (Flake::Hang, "upstream_timeout"),
    ] {
        flaky.set(flake).await;
        let mut b = stack.browser();
        let authorize = b.start_login("provider=flaky&returnTo=%2Fapp").await;
        let callback = b.bank_login(&authorize, common::PERSON).await;
        let back = b.send("GET", &callback, &[], None).await;
        assert_eq!(back.status, 303, "{flake:?}: {}", back.body);
        assert_eq!(back.location(), format!("/app?valvError={code}"), "{flake:?}");
        assert_eq!(b.get("/auth/session").await.json()["authenticated"], false, "{flake:?}");
        flaky.set(Flake::Pass).await;
        // The same browser signs in once the bank is back.
        assert_eq!(b.login_to("flaky").await, "/app?tab=1", "{flake:?}");
        assert_eq!(b.send("GET", ACCOUNTS, &[("x-valv-csrf", "1")], None).await.status, 200, "{flake:?}");
    }
    stack.assert_no_secrets_seen().await;
}

/// The broker binary on a SQLite file, with the sandbox bank in this process.
struct BinaryBroker {
    child: Child,
    url: String,
    dir: std::path::PathBuf,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
    bank: common::Stack,
}

impl BinaryBroker {
    /// Starts the broker binary under `sh` with `SIGXFSZ` ignored (so a file-size limit makes
    /// writes fail instead of killing it), storing sessions in `dir/sessions.db`.
    async fn start(dir: std::path::PathBuf) -> BinaryBroker {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let url = format!("http://127.0.0.1:{port}");
        // The bank of an in-process stack, with a client of its own for this broker.
        let client = valv_sandbox::Client {
            id: format!("{CLIENT_ID}-bin"),
            secret: CLIENT_SECRET.into(),
            redirect_uri: format!("{url}/auth/callback"),
        };
        let bank = start(Options { extra_clients: vec![client], ..Options::default() }).await;
        let config = write_config(&dir, port, &bank.bank_url);
        let mut child = Command::new("sh")
            .arg("-c")
            .arg("trap '' XFSZ; exec \"$0\" --config \"$1\"")
            .arg(env!("CARGO_BIN_EXE_valv-broker"))
            .arg(&config)
            .env("VALV_TEST_CLIENT_SECRET", CLIENT_SECRET)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let mut err = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
        assert!(first.starts_with("listening on"), "{first:?}: {}", stderr.lock().unwrap());
        BinaryBroker { child, url, dir, stderr, bank }
    }

    fn browser(&self) -> Browser {
        let mut b = self.bank.browser();
        b.base = self.url.clone();
        b
    }

    /// Sets the broker's soft file-size limit (bytes; `None`: unlimited).
    fn limit_file_size(&self, bytes: Option<u64>) {
        let value = bytes.map_or("unlimited".to_owned(), |b| b.to_string());
        let ok = Command::new("prlimit").arg("--pid").arg(self.child.id().to_string()).arg(format!("--fsize={value}:")).status().unwrap();
        assert!(ok.success(), "prlimit failed");
    }

    /// The bytes of the database and its WAL.
    fn files(&self) -> Vec<u8> {
        let mut all = Vec::new();
        for name in ["sessions.db", "sessions.db-wal"] {
            all.extend(std::fs::read(self.dir.join(name)).unwrap_or_default());
        }
        all
    }

    fn size_of(&self, name: &str) -> u64 {
        std::fs::metadata(self.dir.join(name)).map(|m| m.len()).unwrap_or(0)
    }
}

impl Drop for BinaryBroker {
    /// Stops it as a service manager would: SIGTERM, then SIGKILL after 10 s.
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        for _ in 0..100 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn write_config(dir: &std::path::Path, port: u16, bank: &str) -> std::path::PathBuf {
    let (listen, origin, store) =
        (format!("127.0.0.1:{port}"), format!("http://127.0.0.1:{port}"), format!("sqlite://{}", dir.join("sessions.db").display()));
    let file = common::ConfigFile {
        listen: &listen,
        public_origin: &origin,
        store: &store,
        bank,
        client_id: &format!("{CLIENT_ID}-bin"),
        rate_limits: valv_testkit::RATE_LIMITS_OFF,
    };
    common::write_config_file(dir, &file)
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("valv-{name}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[tokio::test]
async fn a_full_sqlite_file_fails_logins_clearly_keeps_sessions_and_recovers() {
    let broker = BinaryBroker::start(temp_dir("full")).await;
    let mut kept = broker.browser();
    assert_eq!(kept.login().await, "/app?tab=1");
    assert_eq!(kept.api("GET", "/ais/v7/identified2/accounts", None).await.status, 200);
    let mut leaving = broker.browser();
    assert_eq!(leaving.login().await, "/app?tab=1");
    let leaving_cookie = leaving.cookie_header().unwrap();

    // The disk is full: files may not grow past a little more than they are now.
    let now = broker.size_of("sessions.db").max(broker.size_of("sessions.db-wal"));
    broker.limit_file_size(Some(now + 32 * 1024));
    let mut refused = None;
    for i in 0..200 {
        let mut b = broker.browser();
        let done = b.login().await;
        if done != "/app?tab=1" {
            refused = Some((i, done));
            break;
        }
    }
    let (after, location) = refused.expect("200 logins fitted in 32 KB");
    assert_eq!(location, "/app?tab=1&valvError=store_unavailable", "after {after} logins");

    // Sessions already made go on working, from the cache and from the file.
    assert_eq!(kept.api("GET", "/ais/v7/identified2/accounts", None).await.status, 200);
    assert_eq!(kept.get("/auth/session").await.json()["authenticated"], true);
    // Signing out while the store cannot be written still ends the session (fails closed).
    let out = leaving.send("POST", "/auth/logout", &[("x-valv-csrf", "1")], None).await;
    assert!(out.status < 300, "logout: {} {}", out.status, out.body);
    let mut replay = broker.browser();
    let (_, value) = leaving_cookie.split_once('=').unwrap();
    replay.cookies.insert("__Host-valv".into(), value.split(';').next().unwrap().to_owned());
    replay.api("GET", "/ais/v7/identified2/accounts", None).await.assert_error(401, "unauthenticated");

    // Space again: the broker recovers by itself.
    broker.limit_file_size(None);
    let mut fresh = broker.browser();
    let back = fresh.login().await;
    assert_eq!(back, "/app?tab=1", "after space is back: {}", broker.stderr.lock().unwrap());
    assert_eq!(fresh.api("GET", "/ais/v7/identified2/accounts", None).await.status, 200);
    assert_eq!(kept.api("GET", "/ais/v7/identified2/accounts", None).await.status, 200);
    replay.api("GET", "/ais/v7/identified2/accounts", None).await.assert_error(401, "unauthenticated");

    let files = broker.files();
    for token in broker.bank.issued_tokens().await {
        assert!(!files.windows(token.len()).any(|w| w == token.as_bytes()), "a token in clear in the SQLite files");
    }
    let log = broker.stderr.lock().unwrap().clone();
    assert!(!log.contains("panicked"), "{log}");
    assert!(log.contains("SQLite"), "the store failure is logged: {log}");
    for token in broker.bank.issued_tokens().await {
        assert!(!log.contains(&token), "a token in the log");
    }
    broker.bank.assert_no_secrets_seen().await;
}

#[tokio::test]
async fn a_sqlite_file_that_cannot_be_written_is_refused_at_start() {
    let dir = temp_dir("readonly");
    // A first run makes the database; then the file and its directory become read-only.
    drop(BinaryBroker::start(dir.clone()).await);
    let config = dir.join("broker.toml");
    let root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
    use std::os::unix::fs::PermissionsExt;
    for f in ["sessions.db", "sessions.db-wal", "sessions.db-shm", "session-key", "broker.toml"] {
        let p = dir.join(f);
        if p.exists() {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o444)).unwrap();
        }
    }
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
    // Permissions do not stop root: then run the broker as nobody.
    let mut cmd = if root {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"]).arg(env!("CARGO_BIN_EXE_valv-broker"));
        c
    } else {
        Command::new(env!("CARGO_BIN_EXE_valv-broker"))
    };
    let mut child = cmd
        .arg("--config")
        .arg(&config)
        .env("VALV_TEST_CLIENT_SECRET", CLIENT_SECRET)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // It must give up by itself; one still running after 20 s is serving.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(status.is_some_and(|s| !s.success()), "started (and served) on a read-only database: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("sessions.db"), "the error names the file: {stderr}");
    assert!(stderr.contains("read-only") || stderr.contains("readonly"), "the error says why: {stderr}");
}
