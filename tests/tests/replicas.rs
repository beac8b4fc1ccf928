//! Two broker processes sharing one Redis store and one session key: a session made on one
//! works on the other, and an expired access token is refreshed exactly once across both.

use anyhow::{ensure, Result};
use reqwest::Method;
use serde_json::json;
use valv_tests::{concurrent_gets, ensure_all_status, Stack, Store, PERSON};

const ACCOUNTS: &str = "/ais/v7/identified2/accounts";
const TOKEN_PATH: &str = "/mga/sps/oauth/oauth20/token";

/// Makes the bank's next token call slow, so that every one of the concurrent requests — on
/// both replicas — meets the expired token while the first refresh is still in flight: a
/// broker without single-flight across replicas would then refresh more than once.
async fn slow_next_token_call(stack: &Stack) -> Result<()> {
    stack.control(Method::POST, "/__sandbox/latency", json!({"path": TOKEN_PATH, "ms": 400, "count": 1})).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn login_on_a_works_on_b_and_fifty_requests_refresh_once() -> Result<()> {
    share_and_refresh_once(Store::Redis).await
}

/// The same with two processes sharing one SQLite file (its lock table instead of Redis).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_shared_by_two_processes_refreshes_once() -> Result<()> {
    share_and_refresh_once(Store::Sqlite).await
}

async fn share_and_refresh_once(store: Store) -> Result<()> {
    let stack = Stack::builder().replicas(2).store(store).start()?;
    let (a, b) = (stack.brokers[0].url.as_str(), stack.brokers[1].url.as_str());
    let agent = stack.agent()?;
    agent.login_with_hint(a, PERSON).await?;

    // The cookie from A is a session on B (a browser sends it to both: ports do not
    // separate cookies), and B can use the tokens A stored.
    let on_b = agent.session(b).await?;
    ensure!(on_b["authenticated"] == true, "B does not know A's session: {on_b}");
    let r = agent.api(b, Method::GET, ACCOUNTS, None).await?;
    ensure!(r.status == 200, "accounts through B: {} {}", r.status, r.body);

    // Expire the access token at the bank, then 50 concurrent calls over A and B.
    let before = stack.refresh_calls().await?;
    ensure!(stack.expire_tokens().await? >= 1, "the bank had no access token to expire");
    slow_next_token_call(&stack).await?;
    let replies = concurrent_gets(&agent, &[a, b], 50, ACCOUNTS).await?;
    ensure_all_status(&replies, 200)?;
    let refreshes = stack.refresh_calls().await? - before;
    ensure!(refreshes == 1, "{refreshes} refresh_token calls at the bank for one expiry (expected exactly 1)");

    // Both replicas still serve the session.
    for broker in [a, b] {
        ensure!(agent.session(broker).await?["authenticated"] == true, "{broker} lost the session");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refresh_rotation_with_reuse_detection_never_logs_out() -> Result<()> {
    let stack = Stack::builder().replicas(2).store(Store::Redis).start()?;
    let cfg = stack.control(Method::PUT, "/__sandbox/config", json!({"refreshRotation": true, "reuseDetection": true})).await?;
    ensure!(cfg["refreshRotation"] == true && cfg["reuseDetection"] == true, "{cfg}");
    let (a, b) = (stack.brokers[0].url.as_str(), stack.brokers[1].url.as_str());
    let agent = stack.agent()?;
    agent.login_with_hint(a, PERSON).await?;

    for round in 1..=4 {
        let before = stack.control_get("/__sandbox/counters").await?;
        ensure!(stack.expire_tokens().await? >= 1, "round {round}: nothing to expire");
        slow_next_token_call(&stack).await?;
        let replies = concurrent_gets(&agent, &[a, b], 50, ACCOUNTS).await?;
        ensure_all_status(&replies, 200).map_err(|e| e.context(format!("round {round}")))?;
        let after = stack.control_get("/__sandbox/counters").await?;
        let refreshes =
            after["tokenCalls"]["refresh_token"].as_u64().unwrap_or(0) - before["tokenCalls"]["refresh_token"].as_u64().unwrap_or(0);
        ensure!(refreshes == 1, "round {round}: {refreshes} refresh_token calls (expected exactly 1)");
        ensure!(
            after["refreshRejections"] == before["refreshRejections"],
            "round {round}: the bank rejected a refresh (a rotated refresh token was reused): {after}"
        );
        for broker in [a, b] {
            let s = agent.session(broker).await?;
            ensure!(s["authenticated"] == true, "round {round}: logged out on {broker}: {s}");
        }
    }
    // Every rotation happened: the bank issued one refresh token per round plus the first.
    let issued = stack.control_get(&format!("/__sandbox/tokens?personalIdentityNumber={PERSON}")).await?;
    let refresh_tokens: std::collections::BTreeSet<&str> =
        issued.as_array().into_iter().flatten().filter_map(|t| t["refreshToken"].as_str()).collect();
    ensure!(refresh_tokens.len() == 5, "{} distinct refresh tokens issued, expected 5", refresh_tokens.len());
    Ok(())
}
