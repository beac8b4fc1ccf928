//! The harness itself, against the sandbox bank alone (no broker): processes, the
//! cookie-keeping agent, the bank's controls, Chromium on the bank's login form, Redis.

use anyhow::{ensure, Context as _, Result};
use reqwest::Method;
use serde_json::json;
use url::Url;
use valv_tests::stack::{CLIENT_ID, PERSON};
use valv_tests::{Body, Browser, RedisServer, Stack};

fn authorize_url(stack: &Stack, state: &str, extra: &[(&str, &str)]) -> Result<Url> {
    let mut url = Url::parse(&format!("{}/mga/sps/oauth/oauth20/authorize", stack.bank_url))?;
    url.query_pairs_mut()
        .append_pair("client_id", CLIENT_ID)
        .append_pair("redirect_uri", &stack.callback_url)
        .append_pair("response_type", "code")
        .append_pair("scope", "psd2_accounts psd2_payments")
        .append_pair("state", state)
        .extend_pairs(extra);
    Ok(url)
}

fn query(url: &Url, key: &str) -> Option<String> {
    url.query_pairs().find(|(k, _)| k == key).map(|(_, v)| v.into_owned())
}

#[tokio::test]
async fn sandbox_process_agent_and_controls() -> Result<()> {
    let stack = Stack::builder().replicas(0).start()?;
    let agent = stack.agent()?;

    // login_hint approves at once; the code comes back to the registered callback.
    let r = agent.get(authorize_url(&stack, "s1", &[("login_hint", PERSON)])?.as_str()).await?;
    ensure!(r.status == 302, "authorize with login_hint: {} {}", r.status, r.body);
    let cb = r.location()?;
    ensure!(cb.as_str().starts_with(&stack.callback_url), "redirected to {cb}");
    ensure!(query(&cb, "state").as_deref() == Some("s1"));
    let code = query(&cb, "code").context("no code")?;

    // The code exchange with the stack's random client secret works.
    let fields = vec![
        ("grant_type".to_owned(), "authorization_code".to_owned()),
        ("code".to_owned(), code),
        ("redirect_uri".to_owned(), stack.callback_url.clone()),
        ("client_id".to_owned(), CLIENT_ID.to_owned()),
        ("client_secret".to_owned(), stack.client_secret.clone()),
    ];
    let token_url = format!("{}/mga/sps/oauth/oauth20/token", stack.bank_url);
    let r = agent.send(Method::POST, &token_url, &[], Some(Body::Form(fields))).await?;
    ensure!(r.status == 200, "token: {} {}", r.status, r.body);
    let access = r.json()["access_token"].as_str().context("no access_token")?.to_owned();

    // The controls see it.
    let issued = stack.issued_tokens(PERSON).await?;
    ensure!(issued.contains(&access), "the tokens control does not list the issued access token");
    let counters = stack.control_get("/__sandbox/counters").await?;
    ensure!(counters["tokenCalls"]["authorization_code"] == 1, "{counters}");
    ensure!(stack.expire_tokens().await? >= 1);
    let cfg = stack.control(Method::PUT, "/__sandbox/config", json!({"refreshRotation": true})).await?;
    ensure!(cfg["refreshRotation"] == true, "{cfg}");

    // The bank's HTML form through the agent.
    let url = authorize_url(&stack, "s2", &[])?;
    let page = agent.get(url.as_str()).await?;
    ensure!(page.status == 200 && page.body.contains("personal_identity_number"), "{}", page.body);
    let r = agent.submit_bank_form(&page, PERSON, "login").await?;
    let cb = r.location()?;
    ensure!(query(&cb, "code").is_some() && query(&cb, "state").as_deref() == Some("s2"), "{cb}");

    // Stopping with SIGINT is a clean exit.
    let mut stack = stack;
    let status = stack.sandbox.stop()?;
    ensure!(status.success(), "sandbox exit status {status}");
    Ok(())
}

#[tokio::test]
async fn chromium_fills_the_bank_form_and_cancels() -> Result<()> {
    let stack = Stack::builder().replicas(0).start()?;
    let browser = Browser::start().await?;
    let result = async {
        // Log in through the form: the browser is sent to the callback with a code.
        browser.goto(authorize_url(&stack, "b1", &[])?.as_str()).await?;
        browser.find("#pin").await?.send_keys(PERSON).await?;
        browser.find("button[value=login]").await?.click().await?;
        let cb = browser.wait_for_url(std::time::Duration::from_secs(10), |u| u.as_str().starts_with(&stack.callback_url)).await?;
        ensure!(query(&cb, "code").is_some() && query(&cb, "state").as_deref() == Some("b1"), "{cb}");

        // Cancel: back to the callback with access_denied.
        browser.goto(authorize_url(&stack, "b2", &[])?.as_str()).await?;
        browser.find("button[value=cancel]").await?.click().await?;
        let cb = browser.wait_for_url(std::time::Duration::from_secs(10), |u| u.as_str().starts_with(&stack.callback_url)).await?;
        ensure!(query(&cb, "error").as_deref() == Some("access_denied"), "{cb}");
        ensure!(query(&cb, "state").as_deref() == Some("b2"), "{cb}");
        Ok(())
    }
    .await;
    browser.close().await?;
    result
}

#[test]
fn redis_server_and_dump() -> Result<()> {
    let redis = RedisServer::start()?;
    let mut c = redis.connect()?;
    c.command(&[b"SET", b"k1", b"needle-string"])?.ok()?;
    c.command(&[b"HSET", b"k2", b"f", b"needle-hash"])?.ok()?;
    c.command(&[b"SELECT", b"3"])?.ok()?;
    c.command(&[b"RPUSH", b"k3", b"needle-list"])?.ok()?;
    let dump = redis.dump_all()?;
    let all: Vec<u8> = dump.iter().flat_map(|e| e.values.concat()).collect();
    for needle in ["needle-string", "needle-hash", "needle-list"] {
        ensure!(all.windows(needle.len()).any(|w| w == needle.as_bytes()), "{needle} not in the dump");
    }
    ensure!(dump.iter().any(|e| e.db == 3 && e.key == b"k3"));
    Ok(())
}

#[test]
fn missing_binary_says_how_to_build_it() {
    let err = valv_tests::process::workspace_bin("valv-no-such-binary").err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("cargo build -p valv-no-such-binary"), "{err}");
}
