//! The login in a real headless Chromium: the app on `http://127.0.0.1:{broker}`, the bank on
//! `http://localhost:{sandbox}` — two sites, as in production — and the bank's HTML form
//! filled in by the "user". Then what the page can and cannot see.

use std::time::Duration;

use anyhow::{ensure, Context as _, Result};
use cookie::SameSite;
use serde_json::{json, Value};
use valv_tests::{Browser, Stack, PERSON};

const ACCOUNTS: &str = "/ais/v7/identified2/accounts";

/// Runs `f` with a fresh browser and closes the browser whatever happens.
async fn with_browser<F, Fut>(f: F) -> Result<()>
where
    F: FnOnce(Browser) -> Fut,
    Fut: std::future::Future<Output = (Browser, Result<()>)>,
{
    let browser = Browser::start().await?;
    let (browser, result) = f(browser).await;
    let closed = browser.close().await;
    result.and(closed)
}

/// Waits until the browser is back on the app past the broker's callback; on failure says
/// where it is stuck and what that page shows.
async fn back_on_app(stack: &Stack, browser: &Browser) -> Result<url::Url> {
    let app = format!("{}/", stack.broker_url());
    let waited = browser.wait_for_url(Duration::from_secs(15), |u| u.as_str().starts_with(&app) && u.path() != "/auth/callback").await;
    match waited {
        Ok(url) => Ok(url),
        Err(e) => {
            let text = browser.js("return document.body ? document.body.innerText : ''").await.unwrap_or_default();
            Err(e.context(format!("the browser did not get back to the app; the page shows: {text}")))
        }
    }
}

/// Opens the app, starts the login and waits for the bank's form.
async fn to_bank_form(stack: &Stack, browser: &Browser) -> Result<()> {
    let app = stack.broker_url();
    browser.goto(&format!("{app}/")).await?;
    let title = browser.js("return document.title").await?;
    ensure!(title == "Valv e2e app", "the app page did not load: {title}");
    let before = browser.fetch("/auth/session", json!({"credentials": "include"})).await?;
    let body: Value = serde_json::from_str(before["body"].as_str().unwrap_or_default()).unwrap_or_default();
    ensure!(body["authenticated"] == false, "authenticated before login: {before}");

    browser.goto(&format!("{app}/auth/login?provider=seb&returnTo=/")).await?;
    let bank = format!("{}/", stack.bank_url);
    browser.wait_for_url(Duration::from_secs(10), |u| u.as_str().starts_with(&bank)).await?;
    browser.find("#pin").await?;
    Ok(())
}

#[tokio::test]
async fn login_through_the_bank_form_in_chromium() -> Result<()> {
    let stack = Stack::builder().start()?;
    with_browser(|browser| async {
        let r = login_and_inspect(&stack, &browser).await;
        (browser, r)
    })
    .await
}

async fn login_and_inspect(stack: &Stack, browser: &Browser) -> Result<()> {
    to_bank_form(stack, browser).await?;
    browser.find("#pin").await?.send_keys(PERSON).await?;
    browser.find("button[value=login]").await?.click().await?;

    // Back on the app, at returnTo, without an error.
    let landed = back_on_app(stack, browser).await?;
    ensure!(landed.path() == "/", "landed on {landed}");
    ensure!(!landed.query_pairs().any(|(k, _)| k == "valvError"), "login failed: {landed}");
    let status = browser.find("#status").await?.text().await?;
    ensure!(status == "ready", "the app shows {status:?}");

    // The session cookie as the browser stored it.
    let cookies = browser.cookies().await?;
    let session = cookies
        .iter()
        .find(|c| c.name() == "__Host-valv")
        .with_context(|| format!("no __Host-valv cookie; cookies: {:?}", cookies.iter().map(|c| c.name()).collect::<Vec<_>>()))?;
    ensure!(session.http_only() == Some(true), "cookie not HttpOnly");
    ensure!(session.secure() == Some(true), "cookie not Secure");
    ensure!(session.path() == Some("/"), "cookie path {:?}", session.path());
    // `__Host-` forbids a Domain attribute: the browser keeps a host-only cookie for 127.0.0.1.
    ensure!(matches!(session.domain(), None | Some("127.0.0.1")), "cookie domain {:?} (a Domain attribute was set)", session.domain());
    ensure!(session.same_site() == Some(SameSite::Lax), "SameSite is {:?}, expected Lax", session.same_site());
    ensure!(!session.value().is_empty());

    // JavaScript cannot read it.
    let doc_cookie = browser.js("return document.cookie").await?;
    ensure!(!doc_cookie.as_str().unwrap_or_default().contains("__Host-valv"), "document.cookie shows the session: {doc_cookie}");

    // The page's own fetches are authenticated by the cookie.
    let s = browser.fetch("/auth/session", json!({"credentials": "include"})).await?;
    let session_json: Value = serde_json::from_str(s["body"].as_str().unwrap_or_default()).unwrap_or_default();
    ensure!(s["status"] == 200 && session_json["authenticated"] == true, "/auth/session from the page: {s}");

    let ok = browser.fetch(&format!("/api/seb{ACCOUNTS}"), json!({"headers": {"X-Valv-CSRF": "1"}})).await?;
    ensure!(ok["status"] == 200, "accounts with the CSRF header: {ok}");
    let accounts: Value = serde_json::from_str(ok["body"].as_str().unwrap_or_default()).unwrap_or_default();
    ensure!(accounts["accounts"].as_array().is_some_and(|a| !a.is_empty()), "no accounts: {ok}");

    let refused = browser.fetch(&format!("/api/seb{ACCOUNTS}"), json!({})).await?;
    let refused_json: Value = serde_json::from_str(refused["body"].as_str().unwrap_or_default()).unwrap_or_default();
    ensure!(refused["status"] == 403 && refused_json["error"] == "csrf", "accounts without the CSRF header: {refused}");

    // No token anywhere the page can look: storage, cookies, the DOM, what the fetches returned.
    let tokens = stack.issued_tokens(PERSON).await?;
    ensure!(!tokens.is_empty(), "the bank issued no token to {PERSON}: the scan below would prove nothing");
    let storage = browser
        .js("return JSON.stringify({local: Object.entries(localStorage), session: Object.entries(sessionStorage), \
             cookie: document.cookie, html: document.documentElement.outerHTML})")
        .await?;
    let visible = format!(
        "{storage}\n{s}\n{ok}\n{refused}\n{}",
        cookies.iter().map(|c| format!("{}={}", c.name(), c.value())).collect::<Vec<_>>().join("\n")
    );
    for token in &tokens {
        ensure!(!visible.contains(token.as_str()), "a bank token is visible to the page");
    }
    ensure!(!visible.contains(&stack.client_secret), "the client secret is visible to the page");
    Ok(())
}

#[tokio::test]
async fn cancel_at_the_bank_comes_back_with_an_error_the_app_shows() -> Result<()> {
    let stack = Stack::builder().start()?;
    with_browser(|browser| async {
        let r = async {
            to_bank_form(&stack, &browser).await?;
            browser.find("button[value=cancel]").await?.click().await?;
            let landed = back_on_app(&stack, &browser).await?;
            let error = landed.query_pairs().find(|(k, _)| k == "valvError").map(|(_, v)| v.into_owned());
            ensure!(error.as_deref() == Some("access_denied"), "landed on {landed}");
            ensure!(landed.path() == "/", "landed on {landed}");
            let status = browser.find("#status").await?.text().await?;
            ensure!(status == "login failed: access_denied", "the app shows {status:?}");
            let s = browser.fetch("/auth/session", json!({"credentials": "include"})).await?;
            let body: Value = serde_json::from_str(s["body"].as_str().unwrap_or_default()).unwrap_or_default();
            ensure!(body["authenticated"] == false, "authenticated after cancelling: {s}");
            let counters = stack.control_get("/__sandbox/counters").await?;
            ensure!(counters["tokenCalls"]["authorization_code"].as_u64().unwrap_or(0) == 0, "a code was exchanged: {counters}");
            Ok(())
        }
        .await;
        (browser, r)
    })
    .await
}
