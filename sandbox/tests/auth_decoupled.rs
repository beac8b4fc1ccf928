//! Decoupled flow over HTTP.
#![allow(clippy::unwrap_used)]
mod common;

#[tokio::test]
async fn decoupled_flow_issues_tokens() {
    let sb = common::spawn_default().await;
    let t = sb.tokens_for("199311219639", "psd2_accounts psd2_payments").await;
    assert_eq!(t["token_type"], "bearer");
    assert_eq!(t["expires_in"], 3599);
    assert_eq!(t["scope"], "psd2_accounts psd2_payments");
    let access = t["access_token"].as_str().unwrap();
    assert!(access.len() >= 43);
    assert!(!access.contains("9311219639"));
}
