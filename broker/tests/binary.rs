//! The `valv-broker` binary as `cargo xtask` runs it: `--config PATH` with a TOML file and
//! `VALV_…`/`env:` secrets, first stdout line `listening on http://ADDR`, `--check`, and a
//! clear configuration error with exit status 2.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_valv-broker");

fn write_config(dir: &std::path::Path, bank: &str) -> std::path::PathBuf {
    let file = common::ConfigFile {
        listen: "127.0.0.1:0",
        public_origin: "http://127.0.0.1:8080",
        store: "memory",
        bank,
        client_id: "valv-demo",
        rate_limits: "",
    };
    common::write_config_file(dir, &file)
}

fn temp_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("valv-bin-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Starts the binary on `config` with its stderr going to `stderr`.
fn spawn(config: &std::path::Path, stderr: Stdio) -> std::process::Child {
    Command::new(BIN)
        .arg("--config")
        .arg(config)
        .env("VALV_TEST_CLIENT_SECRET", "s3cret-from-env")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap()
}

#[tokio::test]
async fn binary_prints_its_address_first_and_serves() {
    let dir = temp_dir();
    let config = write_config(&dir, "http://127.0.0.1:9");
    let mut child = spawn(&config, Stdio::null());
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("first line: {line:?}")).to_owned();
    assert!(url.starts_with("http://127.0.0.1:") && !url.ends_with(":0"), "{url}");
    let res = reqwest::get(format!("{url}/healthz")).await.unwrap();
    assert_eq!(res.status(), 200);
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let res = client.get(format!("{url}/auth/login?provider=seb")).send().await.unwrap();
    assert_eq!(res.status(), 302);
    let location = res.headers()["location"].to_str().unwrap();
    assert!(location.starts_with("http://127.0.0.1:9/mga/sps/oauth/oauth20/authorize?"), "{location}");
    child.kill().unwrap();
    child.wait().unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn check_validates_and_config_errors_name_the_key() {
    let dir = temp_dir();
    let config = write_config(&dir, "http://127.0.0.1:9");
    let ok = Command::new(BIN).arg("--config").arg(&config).arg("--check").env("VALV_TEST_CLIENT_SECRET", "x").output().unwrap();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));

    // The secret's environment variable is missing: exit 2, the key is named, no value shown.
    let bad = Command::new(BIN).arg("--config").arg(&config).arg("--check").env_remove("VALV_TEST_CLIENT_SECRET").output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("client_secret") || err.contains("VALV_TEST_CLIENT_SECRET"), "{err}");
    assert!(bad.stdout.is_empty(), "nothing on stdout when it does not start");
    let _ = std::fs::remove_dir_all(dir);
}

/// Access-log lines are batched: each one reaches standard error within a fraction of a
/// second, and every one is written by the time the broker exits on SIGTERM.
#[tokio::test]
async fn access_log_lines_arrive_soon_and_all_by_shutdown() {
    let dir = temp_dir();
    let config = write_config(&dir, "http://127.0.0.1:9");
    let mut child = spawn(&config, Stdio::piped());
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim().strip_prefix("listening on ").unwrap().to_owned();
    let (tx, rx) = std::sync::mpsc::channel::<(std::time::Instant, String)>();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        for l in BufReader::new(stderr).lines() {
            let Ok(l) = l else { break };
            let _ = tx.send((std::time::Instant::now(), l));
        }
    });
    let client = reqwest::Client::new();
    let sent = std::time::Instant::now();
    assert_eq!(client.get(format!("{url}/healthz")).send().await.unwrap().status(), 200);
    let first = loop {
        let (at, l) = rx.recv_timeout(std::time::Duration::from_secs(5)).expect("the access-log line arrives");
        if l.contains("route=/healthz") {
            break at;
        }
    };
    assert!(first.duration_since(sent) < std::time::Duration::from_secs(1), "the line waited {:?}", first.duration_since(sent));
    for _ in 0..200 {
        assert_eq!(client.get(format!("{url}/healthz")).send().await.unwrap().status(), 200);
    }
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    assert!(child.wait().unwrap().success(), "the broker exits cleanly on SIGTERM");
    reader.join().unwrap();
    let lines: Vec<String> = rx.try_iter().map(|(_, l)| l).collect();
    let access = lines.iter().filter(|l| l.contains("route=/healthz") && l.contains("status=200")).count();
    assert_eq!(access, 200, "every request's line was written before exit");
    assert!(lines.last().is_some_and(|l| l.contains("broker stopped")), "{:?}", lines.last());
    let _ = std::fs::remove_dir_all(dir);
}
