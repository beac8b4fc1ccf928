//! Log redaction: the whole flow at trace level, then the log is scanned for every token,
//! the code, the state, the client secret and the session cookie. Alone in its test binary
//! because it installs the global tracing subscriber.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::{start, Options, CLIENT_SECRET};

/// A `MakeWriter` into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn logs_never_contain_tokens_codes_state_secrets_or_cookies() {
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_env_filter("valv_broker=trace,tower_http=trace,reqwest=trace,hyper=debug")
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let stack = start(Options::default()).await;
    let mut b = stack.browser();
    let authorize = b.start_login("provider=seb&returnTo=%2F").await;
    let state = url::Url::parse(&authorize).unwrap().query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned();
    let callback = b.bank_login(&authorize, common::PERSON).await;
    let code = url::Url::parse(&callback).unwrap().query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();
    assert_eq!(b.send("GET", &callback, &[], None).await.status, 303);
    let session_cookie = b.cookies.get("__Host-valv").cloned().unwrap();
    assert_eq!(b.api("GET", "/test-api/echo", None).await.status, 200);
    assert!(stack.control_post("/__sandbox/tokens/expire", serde_json::json!({})).await.is_success());
    assert_eq!(b.api("GET", "/test-api/echo", None).await.status, 200);
    b.send("GET", "/auth/callback?code=c0de-guess&state=st4te-guess", &[], None).await.assert_error(400, "bad_request");
    assert_eq!(b.send("POST", "/auth/logout", &[("x-valv-csrf", "1")], None).await.status, 204);

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("login complete"), "broker logs were captured: {text}");
    let mut secrets = stack.issued_tokens().await;
    secrets.extend([state, code, CLIENT_SECRET.to_owned(), "c0de-guess".into(), "st4te-guess".into()]);
    secrets.push(session_cookie);
    for s in secrets.iter().filter(|s| s.len() >= 8) {
        assert!(!text.contains(s.as_str()), "a secret value was logged");
    }
}
