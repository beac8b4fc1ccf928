//! A "browser" made of reqwest: redirects off, cookies kept per host in testkit's
//! `CookieJar` (as browsers do: ports do not isolate cookies), `Secure` cookies sent over
//! plain http to loopback hosts (Chromium treats `127.0.0.1` and `localhost` as secure
//! contexts; reqwest's cookie store would drop them), and every response recorded for secret
//! scanning.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _, Result};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::Method;
use serde_json::Value;
use url::Url;
use valv_testkit::CookieJar;

/// One response as the client saw it.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The request URL.
    pub url: Url,
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// Body (lossy UTF-8).
    pub body: String,
}

impl Reply {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `Location` header resolved against the request URL.
    pub fn location(&self) -> Result<Url> {
        let loc = self.header("location").ok_or_else(|| anyhow!("{} {}: no Location header", self.status, self.url))?;
        self.url.join(loc).with_context(|| format!("bad Location {loc:?}"))
    }

    /// Everything in this reply as one text (for scanning).
    pub fn transcript(&self) -> String {
        let mut s = format!("{} {}\n", self.status, self.url);
        for (name, value) in &self.headers {
            s.push_str(&format!("{name}: {}\n", String::from_utf8_lossy(value.as_bytes())));
        }
        s.push('\n');
        s.push_str(&self.body);
        s
    }

    /// The JSON error code of a broker error (`{"error": …}`).
    pub fn error_code(&self) -> Option<String> {
        self.json().get("error").and_then(Value::as_str).map(str::to_owned)
    }
}

/// What a login went through (for scanning logs for the code and state).
#[derive(Debug, Clone)]
pub struct LoginTrace {
    /// The authorization code the bank issued.
    pub code: String,
    /// The `state` the broker sent.
    pub state: String,
    /// Where the broker sent the browser at the end.
    pub landed: Url,
    /// The final `Set-Cookie` of the session cookie.
    pub set_cookie: String,
}

/// The cookie-keeping HTTP client.
#[derive(Debug, Clone)]
pub struct Agent {
    http: reqwest::Client,
    jar: Arc<Mutex<BTreeMap<String, CookieJar>>>,
    set_cookies: Arc<Mutex<Vec<String>>>,
    seen: Arc<Mutex<Vec<Reply>>>,
}

impl Agent {
    /// A new client; `seen` collects every reply (share one between agents of a test).
    pub fn new(seen: Arc<Mutex<Vec<Reply>>>) -> Result<Agent> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .user_agent("valv-e2e-agent")
            // A fresh connection per request: tests stop and restart servers, and a pooled
            // keep-alive connection to a stopped process would fail the next request.
            .pool_max_idle_per_host(0)
            .build()?;
        Ok(Agent { http, jar: Arc::default(), set_cookies: Arc::default(), seen })
    }

    /// A client with the same cookies but its own jar from now on (a second tab would
    /// share; this is "a copy of the cookie", as an attacker replaying it).
    pub fn fork(&self) -> Agent {
        let jar = lock(&self.jar).clone();
        Agent { http: self.http.clone(), jar: Arc::new(Mutex::new(jar)), set_cookies: Arc::default(), seen: self.seen.clone() }
    }

    /// A cookie's value for `host`.
    pub fn cookie(&self, host: &str, name: &str) -> Option<String> {
        lock(&self.jar).get(host).and_then(|c| c.get(name)).cloned()
    }

    /// Sets a cookie by hand.
    pub fn set_cookie(&self, host: &str, name: &str, value: &str) {
        lock(&self.jar).entry(host.to_owned()).or_default().insert(name.to_owned(), value.to_owned());
    }

    /// Every `Set-Cookie` header received, in order.
    pub fn set_cookie_headers(&self) -> Vec<String> {
        lock(&self.set_cookies).clone()
    }

    /// Sends a request with this client's cookies for the URL's host; stores the cookies the
    /// answer sets; records the reply.
    pub async fn send(&self, method: Method, url: &str, headers: &[(&str, &str)], body: Option<Body>) -> Result<Reply> {
        let url = Url::parse(url).with_context(|| format!("bad URL {url}"))?;
        let host = url.host_str().unwrap_or_default().to_owned();
        let mut req = self.http.request(method.clone(), url.clone());
        if let Some(header) = lock(&self.jar).get(&host).and_then(CookieJar::header) {
            req = req.header("cookie", header);
        }
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(HeaderName::from_bytes(name.as_bytes())?, HeaderValue::from_str(value)?);
        }
        req = req.headers(map);
        req = match body {
            Some(Body::Json(v)) => req.json(&v),
            Some(Body::Form(pairs)) => req.form(&pairs),
            None => req,
        };
        let resp = req.send().await.map_err(|e| anyhow::Error::from(e.without_url()).context(format!("{method} {url}")))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes =
            resp.bytes().await.map_err(|e| anyhow::Error::from(e.without_url()).context(format!("{method} {url}: reading the body")))?;
        let reply = Reply { url, status, headers, body: String::from_utf8_lossy(&bytes).into_owned() };
        self.store_cookies(&host, &reply)?;
        lock(&self.seen).push(reply.clone());
        Ok(reply)
    }

    fn store_cookies(&self, host: &str, reply: &Reply) -> Result<()> {
        // A browser ignores Secure cookies from an insecure origin (loopback counts as secure).
        let secure_origin = is_loopback_host(host) || reply.url.scheme() == "https";
        for value in reply.headers.get_all("set-cookie") {
            let text = value.to_str().context("non-ASCII Set-Cookie")?.to_owned();
            lock(&self.set_cookies).push(text.clone());
            lock(&self.jar).entry(host.to_owned()).or_default().take_from(&text, secure_origin).map_err(anyhow::Error::msg)?;
        }
        Ok(())
    }

    /// `GET url`.
    pub async fn get(&self, url: &str) -> Result<Reply> {
        self.send(Method::GET, url, &[], None).await
    }

    /// A call through the broker to the bank: `{broker}/api/seb{bank_path}` with
    /// `X-Valv-CSRF: 1` (`bank_path` as at the bank, e.g. `/ais/v7/identified2/accounts`).
    pub async fn api(&self, broker: &str, method: Method, bank_path: &str, body: Option<Value>) -> Result<Reply> {
        self.send(method, &format!("{broker}/api/seb{bank_path}"), &[("x-valv-csrf", "1")], body.map(Body::Json)).await
    }

    /// `GET {broker}/auth/session` as JSON.
    pub async fn session(&self, broker: &str) -> Result<Value> {
        let r = self.get(&format!("{broker}/auth/session")).await?;
        if r.status != 200 {
            bail!("/auth/session answered {}: {}", r.status, r.body);
        }
        Ok(r.json())
    }

    /// `POST {broker}/auth/logout` with the CSRF header.
    pub async fn logout(&self, broker: &str) -> Result<Reply> {
        self.send(Method::POST, &format!("{broker}/auth/logout"), &[("x-valv-csrf", "1")], None).await
    }

    /// Logs in at `broker` as test person `person` through the bank's `login_hint` shortcut
    /// (the sandbox approves at once when its controls are on).
    pub async fn login_with_hint(&self, broker: &str, person: &str) -> Result<LoginTrace> {
        let start = format!("{broker}/auth/login?provider=seb&returnTo=/&login_hint={person}");
        let authorize = self.expect_redirect(self.get(&start).await?, "broker /auth/login")?;
        let approved = self.get(authorize.as_str()).await?;
        let callback = self.expect_redirect(approved, "bank authorize with login_hint")?;
        self.finish_login(callback).await
    }

    /// Logs in at `broker` as `person` through the bank's HTML login form.
    pub async fn login_with_form(&self, broker: &str, person: &str) -> Result<LoginTrace> {
        let form = self.open_bank_form(broker).await?;
        let reply = self.submit_bank_form(&form, person, "login").await?;
        let callback = self.expect_redirect(reply, "bank login form")?;
        self.finish_login(callback).await
    }

    /// Starts a login and returns the bank's login page (URL and HTML).
    pub async fn open_bank_form(&self, broker: &str) -> Result<Reply> {
        let start = format!("{broker}/auth/login?provider=seb&returnTo=/");
        let authorize = self.expect_redirect(self.get(&start).await?, "broker /auth/login")?;
        let page = self.get(authorize.as_str()).await?;
        if page.status != 200 || !page.body.contains("<form") {
            bail!("the bank's authorize page is not a login form ({}): {}", page.status, page.body);
        }
        Ok(page)
    }

    /// Posts the bank's login form (`action` = `login` or `cancel`).
    pub async fn submit_bank_form(&self, page: &Reply, person: &str, action: &str) -> Result<Reply> {
        let request_id = hidden_input(&page.body, "request_id").ok_or_else(|| anyhow!("no request_id in the login form"))?;
        let action_url = page.url.join(&form_action(&page.body).unwrap_or_default())?;
        let fields = vec![
            ("request_id".to_owned(), request_id),
            ("personal_identity_number".to_owned(), person.to_owned()),
            ("action".to_owned(), action.to_owned()),
        ];
        self.send(Method::POST, action_url.as_str(), &[], Some(Body::Form(fields))).await
    }

    /// Follows the bank's redirect to the broker's callback and checks the broker answers
    /// with a redirect to the app and a session cookie.
    pub async fn finish_login(&self, callback: Url) -> Result<LoginTrace> {
        let query: BTreeMap<String, String> = callback.query_pairs().into_owned().collect();
        let code = query.get("code").cloned().ok_or_else(|| anyhow!("the bank sent no code: {callback}"))?;
        let state = query.get("state").cloned().ok_or_else(|| anyhow!("the bank sent no state: {callback}"))?;
        let before = self.set_cookie_headers().len();
        let done = self.get(callback.as_str()).await?;
        if done.status != 303 && done.status != 302 {
            bail!("the broker's callback answered {} (expected a redirect): {}", done.status, done.body);
        }
        let landed = done.location()?;
        if landed.query_pairs().any(|(k, _)| k == "valvError") {
            bail!("the broker reported a login error: {landed}");
        }
        let set_cookie = self.set_cookie_headers()[before..]
            .iter()
            .rev()
            .find(|c| c.starts_with("__Host-valv="))
            .cloned()
            .ok_or_else(|| anyhow!("the callback set no __Host-valv cookie"))?;
        Ok(LoginTrace { code, state, landed, set_cookie })
    }

    fn expect_redirect(&self, reply: Reply, what: &str) -> Result<Url> {
        if !(300..400).contains(&reply.status) {
            bail!("{what}: expected a redirect, got {}: {}", reply.status, reply.body);
        }
        reply.location()
    }
}

/// A request body.
#[derive(Debug, Clone)]
pub enum Body {
    /// JSON.
    Json(Value),
    /// `application/x-www-form-urlencoded`.
    Form(Vec<(String, String)>),
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn is_loopback_host(host: &str) -> bool {
    host == "localhost" || host == "127.0.0.1" || host == "[::1]" || host.ends_with(".localhost")
}

/// The `value` of `<input … name="NAME" … value="…">`.
fn hidden_input(html: &str, name: &str) -> Option<String> {
    let needle = format!("name=\"{name}\"");
    let at = html.find(&needle)?;
    let tag_start = html[..at].rfind('<')?;
    let tag_end = at + html[at..].find('>')?;
    let tag = &html[tag_start..tag_end];
    let v = tag.find("value=\"")? + "value=\"".len();
    let end = tag[v..].find('"')?;
    Some(html_unescape(&tag[v..v + end]))
}

/// The `action` of the first `<form>`.
fn form_action(html: &str) -> Option<String> {
    let form = html.find("<form")?;
    let tag = &html[form..form + html[form..].find('>')?];
    let a = tag.find("action=\"")? + "action=\"".len();
    let end = tag[a..].find('"')?;
    Some(html_unescape(&tag[a..a + end]))
}

fn html_unescape(s: &str) -> String {
    s.replace("&quot;", "\"").replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}
