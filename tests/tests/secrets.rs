//! After a whole session — login through the bank's form, AIS and PIS calls, refreshes
//! after expiries (with refresh-token rotation), a bank error, logout — no access token,
//! refresh token or client secret is in (a) anything the client received, (b) the store's
//! raw bytes (SQLite file and WAL, or every Redis key and value), and (d) the broker's log,
//! which also holds no authorization code, `state` or session cookie. The store does not
//! hold the session cookie either (its records are keyed by a hash of it), and the session
//! keys a reader of the store finds sign nobody in.

use anyhow::{ensure, Context as _, Result};
use reqwest::Method;
use serde_json::json;
use valv_tests::{find_secrets, Agent, LoginTrace, Stack, Store, PERSON};

const PRODUCT: &str = "swedish-domestic-private-credit-transfers";

/// Drives a full session; returns the login trace.
async fn exercise(stack: &Stack, agent: &Agent) -> Result<LoginTrace> {
    let cfg = stack.control(Method::PUT, "/__sandbox/config", json!({"refreshRotation": true, "reuseDetection": true})).await?;
    ensure!(cfg["refreshRotation"] == true, "{cfg}");
    let url = stack.broker_url();
    let trace = agent.login_with_form(url, PERSON).await?;
    let s = agent.session(url).await?;
    ensure!(s["authenticated"] == true, "{s}");

    // Account information.
    let r = agent.api(url, Method::GET, "/ais/v7/identified2/accounts?withBalance=true", None).await?;
    ensure!(r.status == 200, "accounts: {} {}", r.status, r.body);
    let accounts = r.json();
    let first = &accounts["accounts"][0];
    let id = first["resourceId"].as_str().context("no resourceId")?.to_owned();
    let iban = first["iban"].as_str().context("no iban")?.to_owned();
    let r = agent.api(url, Method::GET, &format!("/ais/v7/identified2/accounts/{id}/balances"), None).await?;
    ensure!(r.status == 200, "balances: {} {}", r.status, r.body);

    // A refresh after an upstream 401, then more calls.
    let before = stack.refresh_calls().await?;
    stack.expire_tokens().await?;
    let path = format!("/ais/v7/identified2/accounts/{id}/transactions?bookingStatus=booked");
    let r = agent.api(url, Method::GET, &path, None).await?;
    ensure!(r.status == 200, "transactions after an expiry: {} {}", r.status, r.body);

    // Payment initiation and its status, across a second expiry.
    let date = (cookie::time::OffsetDateTime::now_utc() + cookie::time::Duration::days(3)).date().to_string();
    let payment = json!({
        "templateId": PRODUCT,
        "instructedAmount": {"currency": "SEK", "amount": "12.34"},
        "debtorAccount": {"iban": iban},
        "creditorAccount": {"iban": "SE2550000000054400047903"},
        "debtorAccountMessage": "valv e2e",
        "creditorAccountMessage": "valv e2e",
        "requestedExecutionDate": date,
    });
    let r = agent.api(url, Method::POST, &format!("/pis/v7/identified2/payments/{PRODUCT}"), Some(payment)).await?;
    ensure!(r.status == 201, "payment initiation: {} {}", r.status, r.body);
    let payment_id = r.json()["paymentId"].as_str().context("no paymentId")?.to_owned();
    stack.expire_tokens().await?;
    let r = agent.api(url, Method::GET, &format!("/pis/v7/identified2/payments/{PRODUCT}/{payment_id}/status"), None).await?;
    ensure!(r.status == 200, "payment status after an expiry: {} {}", r.status, r.body);
    let refreshes = stack.refresh_calls().await? - before;
    ensure!(refreshes == 2, "{refreshes} refreshes for two expiries");

    // A bank error passes through; the broker's own endpoints.
    let r = agent.api(url, Method::GET, "/ais/v7/identified2/accounts/no-such-account/balances", None).await?;
    ensure!((400..500).contains(&r.status), "unknown account: {} {}", r.status, r.body);
    for path in ["/auth/session", "/healthz", "/readyz", "/metrics", "/"] {
        agent.get(&format!("{url}{path}")).await?;
    }
    Ok(trace)
}

/// The values that must never show up, labelled (labels are printed, values never are).
async fn secrets(stack: &Stack) -> Result<Vec<(&'static str, String)>> {
    let tokens = stack.issued_tokens(PERSON).await?;
    ensure!(tokens.len() >= 6, "only {} tokens issued: the session did not refresh as planned", tokens.len());
    let mut out: Vec<(&'static str, String)> = tokens.into_iter().map(|t| ("a bank token", t)).collect();
    out.push(("the client secret", stack.client_secret.clone()));
    Ok(out)
}

/// `needles` and the session cookie, which the store must not hold either.
fn with_cookie(needles: &[(&'static str, String)], cookie: &str) -> Vec<(&'static str, String)> {
    let mut all = needles.to_vec();
    all.push(("the session cookie", cookie.to_owned()));
    all
}

/// (a): every reply the client side received.
fn scan_replies(stack: &Stack, needles: &[(&'static str, String)]) -> Result<()> {
    let seen = stack.seen.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.clone();
    ensure!(seen.len() >= 15, "only {} replies recorded", seen.len());
    for reply in &seen {
        let found = find_secrets(reply.transcript().as_bytes(), needles);
        ensure!(found.is_empty(), "{found:?} in the reply to {} ({})", reply.url, reply.status);
    }
    Ok(())
}

/// (d): the brokers' logs, after they stopped.
fn scan_logs(stack: &mut Stack, trace: &LoginTrace, session_cookie: &str, needles: &[(&'static str, String)]) -> Result<()> {
    let mut all = needles.to_vec();
    all.push(("the authorization code", trace.code.clone()));
    all.push(("the OAuth state", trace.state.clone()));
    all.push(("the session cookie", session_cookie.to_owned()));
    for broker in &mut stack.brokers {
        let status = broker.process.stop()?;
        ensure!(status.success(), "broker exit status {status}");
        let log = broker.process.log_text();
        ensure!(log.lines().count() >= 3, "the broker logged almost nothing ({} lines): the scan would prove little", log.lines().count());
        let found = find_secrets(log.as_bytes(), &all);
        ensure!(found.is_empty(), "{found:?} in the broker log {}", broker.process.log_path().display());
    }
    Ok(())
}

fn sqlite_bytes(stack: &Stack) -> Result<Vec<u8>> {
    let mut bytes = std::fs::read(&stack.sqlite_path).with_context(|| format!("reading {}", stack.sqlite_path.display()))?;
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut p = stack.sqlite_path.clone().into_os_string();
        p.push(suffix);
        if let Ok(more) = std::fs::read(&p) {
            bytes.extend(more);
        }
    }
    Ok(bytes)
}

#[tokio::test]
async fn no_secret_in_replies_sqlite_file_or_logs() -> Result<()> {
    let mut stack = Stack::builder().store(Store::Sqlite).broker_log("debug,valv_broker=trace").start()?;
    let agent = stack.agent()?;
    let trace = exercise(&stack, &agent).await?;
    let cookie = agent.cookie("127.0.0.1", "__Host-valv").context("no session cookie")?;
    let needles = secrets(&stack).await?;

    // (b) while the session is live: the vault record is in the file or its WAL; the
    // session cookie is not (a reader of the file could use it).
    let live = sqlite_bytes(&stack)?;
    ensure!(!live.is_empty(), "the SQLite store {} is empty", stack.sqlite_path.display());
    let in_store = with_cookie(&needles, &cookie);
    let found = find_secrets(&live, &in_store);
    ensure!(found.is_empty(), "{found:?} in the raw SQLite store (live session)");

    let out = agent.logout(stack.broker_url()).await?;
    ensure!(out.status == 204, "logout: {} {}", out.status, out.body);
    scan_replies(&stack, &needles)?;
    scan_logs(&mut stack, &trace, &cookie, &needles)?;

    // (b) after the brokers stopped (WAL checkpointed, deleted rows in free pages).
    let found = find_secrets(&sqlite_bytes(&stack)?, &in_store);
    ensure!(found.is_empty(), "{found:?} in the raw SQLite store after shutdown");
    Ok(())
}

#[tokio::test]
async fn no_secret_in_replies_redis_or_logs() -> Result<()> {
    let mut stack = Stack::builder().store(Store::Redis).broker_log("debug,valv_broker=trace").start()?;
    let agent = stack.agent()?;
    let trace = exercise(&stack, &agent).await?;
    let cookie = agent.cookie("127.0.0.1", "__Host-valv").context("no session cookie")?;
    let needles = secrets(&stack).await?;

    // (c) every key and value while the session is live.
    let redis = stack.redis.as_ref().context("no redis")?;
    let dump = redis.dump_all()?;
    ensure!(dump.len() >= 2, "only {} keys in Redis: expected the session and its vault record", dump.len());
    let in_store = with_cookie(&needles, &cookie);
    for entry in &dump {
        let mut bytes = entry.key.clone();
        for v in &entry.values {
            bytes.extend_from_slice(v);
        }
        let found = find_secrets(&bytes, &in_store);
        ensure!(found.is_empty(), "{found:?} in Redis key {:?} of db {}", String::from_utf8_lossy(&entry.key), entry.db);
    }
    // Someone who read the keys tries each one as a session cookie.
    let keys: Vec<String> =
        dump.iter().filter_map(|e| String::from_utf8_lossy(&e.key).strip_prefix("valv:session:").map(str::to_owned)).collect();
    ensure!(!keys.is_empty(), "no valv:session: keys in Redis");
    for key in &keys {
        let thief = stack.agent()?;
        thief.set_cookie("127.0.0.1", "__Host-valv", key);
        let r = thief.api(stack.broker_url(), Method::GET, "/ais/v7/identified2/accounts", None).await?;
        ensure!(r.status == 401, "a record key of the store used as a cookie was answered {} {}", r.status, r.body);
    }
    let live = agent.api(stack.broker_url(), Method::GET, "/ais/v7/identified2/accounts", None).await?;
    ensure!(live.status == 200, "the session itself stopped working: {} {}", live.status, live.body);

    let out = agent.logout(stack.broker_url()).await?;
    ensure!(out.status == 204, "logout: {} {}", out.status, out.body);
    scan_replies(&stack, &needles)?;
    scan_logs(&mut stack, &trace, &cookie, &needles)?;
    Ok(())
}
