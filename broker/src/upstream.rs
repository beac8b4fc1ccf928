//! The HTTP client of the proxy path: hyper-util's pooled client straight over hyper-rustls
//! (the provider's mTLS identity, webpki roots), keep-alive, `TCP_NODELAY`, HTTP/1.1. It
//! takes an `http::Uri` and a ready `HeaderMap`: no URL re-parsing or header merging per
//! call. Timeouts are the caller's (the whole exchange, body included).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::config::{Config, ProviderConfig};

/// A provider's API client.
pub type ApiClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

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

/// Builds the API client of `provider`.
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
    let https = hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls).https_or_http().enable_http1().wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(90)).pool_max_idle_per_host(256).build(https))
}
