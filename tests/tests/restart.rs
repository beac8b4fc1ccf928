//! A broker with the SQLite store keeps its sessions across a restart (same file, same key);
//! a logout ends the session for good, also across a restart.

use anyhow::{ensure, Result};
use reqwest::Method;
use valv_tests::{Stack, Store, PERSON};

const ACCOUNTS: &str = "/ais/v7/identified2/accounts";

#[tokio::test]
async fn sqlite_sessions_survive_a_restart_and_logout_ends_them() -> Result<()> {
    let mut stack = Stack::builder().store(Store::Sqlite).start()?;
    let agent = stack.agent()?;
    agent.login_with_hint(stack.broker_url(), PERSON).await?;
    let r = agent.api(stack.broker_url(), Method::GET, ACCOUNTS, None).await?;
    ensure!(r.status == 200, "accounts before the restart: {} {}", r.status, r.body);
    let pid_before = stack.brokers[0].process.pid();

    // SIGINT, clean exit, new process on the same file and key.
    stack.restart_broker(0)?;
    ensure!(stack.brokers[0].process.pid() != pid_before, "the broker was not restarted");
    let url = stack.broker_url().to_owned();

    let s = agent.session(&url).await?;
    ensure!(s["authenticated"] == true, "the session did not survive the restart: {s}");
    let r = agent.api(&url, Method::GET, ACCOUNTS, None).await?;
    ensure!(r.status == 200, "accounts after the restart (tokens opened with the same key): {} {}", r.status, r.body);

    // Keep a copy of the cookie, as a thief would, then log out.
    let thief = agent.fork();
    let out = agent.logout(&url).await?;
    ensure!(out.status == 204, "logout: {} {}", out.status, out.body);
    ensure!(agent.cookie("127.0.0.1", "__Host-valv").is_none(), "logout did not clear the cookie");

    let r = thief.api(&url, Method::GET, ACCOUNTS, None).await?;
    ensure!(r.status == 401, "the old cookie after logout: {} {}", r.status, r.body);
    ensure!(r.error_code().as_deref() == Some("unauthenticated"), "error {:?}: {}", r.error_code(), r.body);
    let s = thief.session(&url).await?;
    ensure!(s["authenticated"] == false, "the old cookie is still a session: {s}");

    // Still dead after another restart (deleted in the file, not just in memory).
    stack.restart_broker(0)?;
    let url = stack.broker_url().to_owned();
    let r = thief.api(&url, Method::GET, ACCOUNTS, None).await?;
    ensure!(r.status == 401, "the old cookie after logout and a restart: {} {}", r.status, r.body);
    Ok(())
}
