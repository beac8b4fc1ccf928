//! Several broker processes on one Redis, each serving sessions from its own cache: what one
//! replica changes (logout, refresh) the others see at once; a lost change channel or a
//! Redis restart never lets a replica serve stale state; a browser that gives up mid-refresh,
//! even while the store fails, loses no rotated refresh token.

use std::time::Duration;

use anyhow::{ensure, Context as _, Result};
use reqwest::Method;
use serde_json::{json, Value};
use valv_tests::{concurrent_gets, ensure_all_status, Stack, Store, PERSON};

const ACCOUNTS: &str = "/ais/v7/identified2/accounts";
const TOKEN_PATH: &str = "/mga/sps/oauth/oauth20/token";

async fn counters(stack: &Stack) -> Result<Value> {
    stack.control_get("/__sandbox/counters").await
}

fn count(c: &Value, key: &str) -> u64 {
    c[key].as_u64().unwrap_or(0)
}

fn refresh_calls(c: &Value) -> u64 {
    c["tokenCalls"]["refresh_token"].as_u64().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn logout_and_refresh_on_one_replica_are_seen_by_the_others_at_once() -> Result<()> {
    let stack = Stack::builder().replicas(3).store(Store::Redis).start()?;
    let urls: Vec<&str> = stack.brokers.iter().map(|b| b.url.as_str()).collect();
    let (a, b, c) = (urls[0], urls[1], urls[2]);
    let agent = stack.agent()?;
    agent.login_with_hint(a, PERSON).await?;
    // Every replica serves the session, and so caches it.
    for url in &urls {
        for _ in 0..3 {
            let r = agent.api(url, Method::GET, ACCOUNTS, None).await?;
            ensure!(r.status == 200, "{url}: {} {}", r.status, r.body);
        }
    }

    // Refresh on A: B and C use the new token straight away — no call with the old one
    // (which the bank would refuse), no token call of their own.
    ensure!(stack.expire_tokens().await? >= 1, "nothing to expire");
    let r = agent.api(a, Method::GET, ACCOUNTS, None).await?;
    ensure!(r.status == 200, "A after expiry: {} {}", r.status, r.body);
    let before = counters(&stack).await?;
    for url in [b, c] {
        let r = agent.api(url, Method::GET, ACCOUNTS, None).await?;
        ensure!(r.status == 200, "{url} after A refreshed: {} {}", r.status, r.body);
    }
    let after = counters(&stack).await?;
    ensure!(refresh_calls(&after) == refresh_calls(&before), "B or C called the token endpoint: {after}");
    ensure!(
        count(&after, "tokenRejections") == count(&before, "tokenRejections"),
        "B or C sent the bank the access token A had replaced: {after}"
    );

    // Logout on A: the very next call on B and on C is refused.
    let cookie = agent.cookie("127.0.0.1", "__Host-valv").context("no session cookie")?;
    let r = agent.logout(a).await?;
    ensure!(r.status == 204, "logout: {} {}", r.status, r.body);
    let stale = stack.agent()?;
    stale.set_cookie("127.0.0.1", "__Host-valv", &cookie);
    for url in [b, c, a] {
        let r = stale.api(url, Method::GET, ACCOUNTS, None).await?;
        ensure!(r.status == 401, "{url} still served the logged-out session: {} {}", r.status, r.body);
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lost_change_channel_or_a_redis_restart_serves_nothing_stale() -> Result<()> {
    let mut stack = Stack::builder().replicas(2).store(Store::Redis).start()?;
    let (a, b) = (stack.brokers[0].url.clone(), stack.brokers[1].url.clone());
    let agent = stack.agent()?;
    agent.login_with_hint(&a, PERSON).await?;
    ensure!(agent.api(&b, Method::GET, ACCOUNTS, None).await?.status == 200, "B serves the session");

    // Cut every replica's change channel, then log out on A at once: B must not answer from
    // what it cached before the cut.
    let cookie = agent.cookie("127.0.0.1", "__Host-valv").context("no session cookie")?;
    {
        let redis = stack.redis.as_ref().context("no redis")?;
        let mut conn = redis.connect()?;
        conn.command(&[b"CLIENT", b"KILL", b"TYPE", b"pubsub"])?;
    }
    ensure!(agent.logout(&a).await?.status == 204, "logout on A");
    let stale = stack.agent()?;
    stale.set_cookie("127.0.0.1", "__Host-valv", &cookie);
    let r = stale.api(&b, Method::GET, ACCOUNTS, None).await?;
    ensure!(r.status == 401, "B served a logged-out session after losing its change channel: {} {}", r.status, r.body);

    // A new session, then Redis goes away: readiness fails and calls get 503
    // store_unavailable (nothing panics); when Redis is back (with its data), the same
    // session works again without restarting any broker.
    let agent = stack.agent()?;
    agent.login_with_hint(&a, PERSON).await?;
    ensure!(agent.api(&b, Method::GET, ACCOUNTS, None).await?.status == 200, "B serves the new session");
    stack.redis.as_mut().context("no redis")?.shutdown_saving()?;
    for url in [&a, &b] {
        let ready = agent.get(&format!("{url}/readyz")).await?;
        ensure!(ready.status == 503, "{url}/readyz with Redis down: {} {}", ready.status, ready.body);
        let r = agent.api(url, Method::GET, ACCOUNTS, None).await?;
        ensure!(
            r.status == 503 && r.error_code().as_deref() == Some("store_unavailable"),
            "{url} with Redis down: {} {}",
            r.status,
            r.body
        );
    }
    stack.redis.as_mut().context("no redis")?.start_again()?;
    for url in [&a, &b] {
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        loop {
            let r = agent.api(url, Method::GET, ACCOUNTS, None).await?;
            if r.status == 200 {
                break;
            }
            ensure!(std::time::Instant::now() < deadline, "{url} did not recover after Redis came back: {} {}", r.status, r.body);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        ensure!(agent.get(&format!("{url}/readyz")).await?.status == 200, "{url} ready again");
    }
    for broker in &mut stack.brokers {
        ensure!(!broker.process.has_exited(), "a broker died while Redis was down");
    }
    Ok(())
}

/// Rotation and reuse detection on; the bank's answer to the refresh comes back slowly (the
/// bank has already rotated the grant). The browser gives up waiting; with `store_outage`,
/// Redis also stops answering while the rotated tokens are due to be written.
async fn abort_mid_refresh(store_outage: bool) -> Result<()> {
    let stack = Stack::builder().replicas(2).store(Store::Redis).start()?;
    stack.control(Method::PUT, "/__sandbox/config", json!({"refreshRotation": true, "reuseDetection": true})).await?;
    let (a, b) = (stack.brokers[0].url.as_str(), stack.brokers[1].url.as_str());
    let agent = stack.agent()?;
    agent.login_with_hint(a, PERSON).await?;
    ensure!(agent.api(b, Method::GET, ACCOUNTS, None).await?.status == 200, "B serves the session");
    let before = counters(&stack).await?;
    ensure!(stack.expire_tokens().await? >= 1, "nothing to expire");
    stack.control(Method::POST, "/__sandbox/latency", json!({"path": TOKEN_PATH, "ms": 1500, "count": 1, "after": true})).await?;

    // The browser closes its connection while B is refreshing.
    let gave_up = tokio::time::timeout(Duration::from_millis(400), agent.api(b, Method::GET, ACCOUNTS, None)).await;
    ensure!(gave_up.is_err(), "the call answered before the bank did: {gave_up:?}");
    let redis = stack.redis.as_ref().context("no redis")?;
    if store_outage {
        // Frozen past the broker's 2 s command timeout: the first write of the rotated
        // tokens fails.
        redis.process.signal("-STOP");
        tokio::time::sleep(Duration::from_millis(4000)).await;
        redis.process.signal("-CONT");
    }

    // The session lives on, on both replicas, with no refused refresh at the bank.
    for url in [b, a, b] {
        let r = agent.api(url, Method::GET, ACCOUNTS, None).await?;
        ensure!(r.status == 200, "{url} after the aborted refresh: {} {}", r.status, r.body);
    }
    let after = counters(&stack).await?;
    ensure!(refresh_calls(&after) - refresh_calls(&before) == 1, "expected exactly one refresh: {after}");
    ensure!(
        count(&after, "refreshRejections") == count(&before, "refreshRejections"),
        "the bank refused a refresh: a rotated refresh token was lost: {after}"
    );
    if store_outage {
        let log = stack.brokers[1].process.log_text();
        ensure!(log.contains("storing refreshed tokens failed; retrying"), "the store never failed: the test proved nothing");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_browser_that_gives_up_mid_refresh_loses_no_rotated_token() -> Result<()> {
    abort_mid_refresh(false).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_while_the_store_fails_once() -> Result<()> {
    abort_mid_refresh(true).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn six_hundred_calls_over_three_replicas_refresh_once_and_survive_a_crash() -> Result<()> {
    let mut stack = Stack::builder().replicas(3).store(Store::Redis).start()?;
    stack.control(Method::PUT, "/__sandbox/config", json!({"refreshRotation": true, "reuseDetection": true})).await?;
    let urls: Vec<String> = stack.brokers.iter().map(|b| b.url.clone()).collect();
    let all: Vec<&str> = urls.iter().map(String::as_str).collect();
    let agent = stack.agent()?;
    agent.login_with_hint(all[0], PERSON).await?;

    let before = counters(&stack).await?;
    ensure!(stack.expire_tokens().await? >= 1, "nothing to expire");
    stack.control(Method::POST, "/__sandbox/latency", json!({"path": TOKEN_PATH, "ms": 300, "count": 1})).await?;
    let replies = concurrent_gets(&agent, &all, 600, ACCOUNTS).await?;
    ensure_all_status(&replies, 200)?;
    let after = counters(&stack).await?;
    ensure!(
        refresh_calls(&after) - refresh_calls(&before) == 1,
        "{} refreshes for one expiry",
        refresh_calls(&after) - refresh_calls(&before)
    );

    // More sessions, then replica 0 crashes in the middle of a load: the other two serve
    // every session.
    let mut agents = vec![agent];
    for _ in 0..4 {
        let a = stack.agent()?;
        a.login_with_hint(all[0], PERSON).await?;
        agents.push(a);
    }
    let survivors = [all[1], all[2]];
    let load = async {
        let mut statuses = Vec::new();
        for round in 0..10 {
            for a in &agents {
                let replies = concurrent_gets(a, &survivors, 10, ACCOUNTS).await?;
                statuses.extend(replies.into_iter().map(|r| (round, r.status, r.body)));
            }
        }
        anyhow::Ok(statuses)
    };
    let crash = async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        stack.brokers[0].process.kill()
    };
    let (statuses, killed) = tokio::join!(load, crash);
    killed?;
    let statuses = statuses?;
    let failed: Vec<_> = statuses.iter().filter(|(_, s, _)| *s != 200).collect();
    ensure!(failed.is_empty(), "{} of {} calls failed after replica 0 crashed; first: {:?}", failed.len(), statuses.len(), failed.first());
    Ok(())
}
