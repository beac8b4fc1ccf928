//! The HTTP client of the proxy path: a pool of HTTP/1.1 keep-alive connections to one
//! provider's API origin, over hyper's connection API and hyper-rustls (the provider's mTLS
//! identity, webpki roots), `TCP_NODELAY`.
//!
//! A provider has one API origin, so the pool is a stack of idle connections — no per-call
//! hashing of a pool key, no checkout racing a connect, no wrapper per response (what a
//! general client such as hyper-util's pays on every call). A connection goes back on the
//! stack when the caller drops its [`Pooled`] handle after [`Pooled::read_to_end`] (an
//! answer not read to its end leaves the connection unusable, so it is closed); it is reused
//! if it is still open, ready and has not idled longer than [`IDLE_TIMEOUT`]. Requests are sent in origin form with a `Host` header: every
//! connection goes to the configured origin whatever the path says. Timeouts are the
//! caller's (the whole exchange, body included).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderValue, Request, Response, Uri};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use tower::Service as _;

use crate::config::{Config, ProviderConfig};

/// How long an idle connection is kept.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// Idle connections kept at most.
pub const MAX_IDLE: usize = 256;

/// An error of the exchange (connecting, TLS, HTTP).
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// A provider's API client: cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct ApiClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiClient").field("origin", &self.inner.origin).finish_non_exhaustive()
    }
}

struct Inner {
    /// `scheme://host:port` of the API, what the connector dials.
    origin: Uri,
    /// The `Host` header of every request.
    host: HeaderValue,
    connector: HttpsConnector<HttpConnector>,
    idle: Mutex<Vec<Idle>>,
}

struct Idle {
    sender: SendRequest<Full<Bytes>>,
    since: Instant,
}

/// A connection lent to one exchange; dropping it after [`Pooled::read_to_end`] returns the
/// connection to the pool, dropping it before closes the connection.
pub struct Pooled {
    sender: Option<SendRequest<Full<Bytes>>>,
    inner: Arc<Inner>,
    reusable: bool,
}

impl Pooled {
    /// The answer's body was read to its end: the connection may serve another request.
    pub fn read_to_end(&mut self) {
        self.reusable = true;
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        let Some(sender) = self.sender.take() else { return };
        if !self.reusable || sender.is_closed() {
            return;
        }
        let mut idle = self.inner.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < MAX_IDLE {
            idle.push(Idle { sender, since: Instant::now() });
        }
    }
}

impl ApiClient {
    /// Sends `req` (origin-form URI; `Host` is set here) on a pooled or new connection. The
    /// returned [`Pooled`] lends the connection until it is dropped (see [`Pooled`]).
    pub async fn request(&self, mut req: Request<Full<Bytes>>) -> Result<(Response<Incoming>, Pooled), Error> {
        req.headers_mut().insert(http::header::HOST, self.inner.host.clone());
        if let Some(mut sender) = self.checkout().await {
            match sender.try_send_request(req).await {
                Ok(res) => return Ok((res, self.lend(sender))),
                // The bank closed the idle connection before the request went out on it
                // (keep-alive races): the request was not sent, so it goes on a new one.
                Err(mut e) => match e.take_message() {
                    Some(unsent) => req = unsent,
                    None => return Err(e.into_error().into()),
                },
            }
        }
        let mut sender = self.connect().await?;
        let res = sender.send_request(req).await?;
        Ok((res, self.lend(sender)))
    }

    fn lend(&self, sender: SendRequest<Full<Bytes>>) -> Pooled {
        Pooled { sender: Some(sender), inner: self.inner.clone(), reusable: false }
    }

    /// The most recently used idle connection that is open and ready.
    async fn checkout(&self) -> Option<SendRequest<Full<Bytes>>> {
        loop {
            let idle = self.inner.idle.lock().unwrap_or_else(PoisonError::into_inner).pop()?;
            if idle.sender.is_closed() || idle.since.elapsed() > IDLE_TIMEOUT {
                continue;
            }
            let mut sender = idle.sender;
            // Ready at once, or as soon as the connection has seen the end of its last
            // answer (which was read to its end before the connection came back).
            if sender.ready().await.is_ok() {
                return Some(sender);
            }
        }
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, Error> {
        let io = self.inner.connector.clone().call(self.inner.origin.clone()).await?;
        let (sender, conn) = http1::Builder::new().handshake(io).await?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "bank API connection ended with an error");
            }
        });
        Ok(sender)
    }
}

/// TLS without a client identity: webpki roots, ring.
fn plain_tls() -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS versions: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tls)
}

/// Builds the API client of `provider` (for the origin of its `api_base_url`).
pub fn api_client(config: &Config, provider: &ProviderConfig) -> anyhow::Result<ApiClient> {
    let tls = match &provider.mtls {
        Some(m) => crate::mtls::client_config(m),
        None => plain_tls(),
    }
    .map_err(|e| anyhow::anyhow!("providers.{}: TLS: {e}", provider.name))?;
    let mut tls = tls;
    // The connector sets ALPN itself (HTTP/1.1 only).
    tls.alpn_protocols.clear();
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    http.set_connect_timeout(Some(config.limits.connect_timeout));
    http.enforce_http(false);
    let connector = hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls).https_or_http().enable_http1().wrap_connector(http);
    with_connector(&provider.api_base_url, connector).map_err(|e| anyhow::anyhow!("providers.{}: {e}", provider.name))
}

/// The client of `base`'s origin over `connector`.
fn with_connector(base: &url::Url, connector: HttpsConnector<HttpConnector>) -> Result<ApiClient, String> {
    let host = base.host_str().unwrap_or_default();
    let authority = match base.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_owned(),
    };
    let origin: Uri = format!("{}://{authority}", base.scheme()).parse().map_err(|e| format!("api_base_url has no usable origin: {e}"))?;
    let host = HeaderValue::from_str(&authority).map_err(|e| format!("api_base_url's host is not a header value: {e}"))?;
    Ok(ApiClient { inner: Arc::new(Inner { origin, host, connector, idle: Mutex::new(Vec::new()) }) })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use http_body_util::BodyExt as _;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;

    /// A bank that answers every request on a connection with `body`, keep-alive, and counts
    /// the connections it accepted.
    async fn bank(body: &'static [u8]) -> (url::Url, Arc<AtomicUsize>) {
        bank_closing(body, false).await
    }

    /// [`bank`], closing each connection after one answer when `close` (without saying so,
    /// as a bank's idle timeout would).
    async fn bank_closing(body: &'static [u8], close: bool) -> (url::Url, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("bind: {e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("addr: {e}"));
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    loop {
                        while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            buf.drain(..end + 4);
                            let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", body.len());
                            if stream.write_all(head.as_bytes()).await.is_err() || stream.write_all(body).await.is_err() || close {
                                return;
                            }
                        }
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                });
            }
        });
        (url::Url::parse(&format!("http://{addr}/base/")).unwrap_or_else(|e| panic!("url: {e}")), accepted)
    }

    fn client(base: &url::Url) -> ApiClient {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        let tls = plain_tls().unwrap_or_else(|e| panic!("tls: {e}"));
        let connector = hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls).https_or_http().enable_http1().wrap_connector(http);
        with_connector(base, connector).unwrap_or_else(|e| panic!("client: {e}"))
    }

    async fn get(client: &ApiClient, read: bool) -> Vec<u8> {
        let mut req = Request::new(Full::new(Bytes::new()));
        *req.uri_mut() = Uri::from_static("/base/accounts");
        let (res, mut conn) = client.request(req).await.unwrap_or_else(|e| panic!("request: {e}"));
        assert_eq!(res.status(), 200);
        if !read {
            return Vec::new();
        }
        let body = res.into_body().collect().await.unwrap_or_else(|e| panic!("body: {e}")).to_bytes().to_vec();
        conn.read_to_end();
        body
    }

    #[tokio::test]
    async fn sequential_calls_share_one_kept_alive_connection() {
        let (base, accepted) = bank(b"{\"accounts\":[]}").await;
        let c = client(&base);
        for _ in 0..20 {
            assert_eq!(get(&c, true).await, b"{\"accounts\":[]}");
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn an_answer_not_read_to_its_end_closes_its_connection_instead_of_poisoning_the_pool() {
        static BIG: [u8; 200_000] = [b'x'; 200_000];
        let (base, accepted) = bank(&BIG).await;
        let c = client(&base);
        get(&c, false).await; // head only: 200,000 bytes left unread on that connection
        let body = get(&c, true).await;
        assert_eq!(body.len(), BIG.len(), "the next call reads its own answer, not the rest of the last one");
        assert_eq!(accepted.load(Ordering::SeqCst), 2, "the unread connection was not reused");
        get(&c, true).await;
        assert_eq!(accepted.load(Ordering::SeqCst), 2, "the read one was");
    }

    #[tokio::test]
    async fn a_bank_that_drops_idle_connections_costs_new_connections_not_failed_calls() {
        let (base, accepted) = bank_closing(b"ok", true).await;
        let c = client(&base);
        for _ in 0..20 {
            assert_eq!(get(&c, true).await, b"ok");
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 20);
    }

    #[tokio::test]
    async fn concurrent_calls_open_what_they_need_and_the_pool_keeps_them() {
        let (base, accepted) = bank(b"ok").await;
        let c = client(&base);
        let calls: Vec<_> = (0..8)
            .map(|_| {
                let c = c.clone();
                tokio::spawn(async move { get(&c, true).await })
            })
            .collect();
        for call in calls {
            assert_eq!(call.await.unwrap_or_else(|e| panic!("join: {e}")), b"ok");
        }
        let opened = accepted.load(Ordering::SeqCst);
        assert!((1..=8).contains(&opened), "{opened}");
        for _ in 0..8 {
            get(&c, true).await;
        }
        assert_eq!(accepted.load(Ordering::SeqCst), opened, "later calls reuse the pooled connections");
    }
}
