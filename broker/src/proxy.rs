//! `ANY /api/{provider}/{path…}`: the token-injecting reverse proxy.
//!
//! Order of checks, all before anything goes out: CSRF header and origin rules (403
//! `csrf`), known provider and normalised raw path (400 `bad_request`), method + path on the
//! allowlist (403 `route_not_allowed`), declared body size (413), session (401). The request
//! body is buffered up to `limits.max_request_body` (PSD2 bodies are small JSON), which
//! makes every request replayable once after an upstream 401. Response bodies are streamed
//! with `limits.max_response_body`.
//!
//! Upstream redirects are not followed; a 3xx other than 304 becomes `502
//! upstream_unavailable` (a browser `fetch` would otherwise follow the bank's `Location`).
//! `Location` is also dropped from other answers.

use std::net::SocketAddr;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::Response;
use futures::StreamExt;
use tower_sessions::Session;

use crate::app::{AppState, Provider};
use crate::auth::require_auth;
use crate::context::{Passthrough, RequestId};
use crate::error::{ApiError, ErrorCode};
use crate::refresh::{self, RefreshFailure};
use crate::security::{check_csrf, client_ip, normalize_api_path, route_allowed, validate_query, ApiPath};
use crate::session::{end_session, AuthData};
use crate::vault::TokenSet;

/// Request headers never forwarded to the bank.
const DROP_REQUEST: &[&str] = &[
    "cookie",
    "authorization",
    "proxy-authorization",
    "host",
    "origin",
    "referer",
    "x-valv-csrf",
    "x-request-id",
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "expect",
    "content-length",
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-real-ip",
    "psu-ip-address",
    "psu-user-agent",
];

/// Response headers never passed to the browser.
const DROP_RESPONSE: &[&str] = &[
    "set-cookie",
    "set-cookie2",
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "location",
    "www-authenticate",
    "strict-transport-security",
    "alt-svc",
    "x-request-id",
];

/// Headers named in `Connection` are hop-by-hop too (RFC 9110 §7.6.1).
fn connection_listed(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

fn forward_request_headers(incoming: &HeaderMap) -> HeaderMap {
    let listed = connection_listed(incoming);
    let mut out = HeaderMap::new();
    for (name, value) in incoming {
        let n = name.as_str();
        if DROP_REQUEST.contains(&n) || n.starts_with("sec-") || n.starts_with("access-control-") || listed.iter().any(|l| l == n) {
            continue;
        }
        out.append(name.clone(), value.clone());
    }
    out
}

fn forward_response_headers(incoming: &HeaderMap) -> HeaderMap {
    let listed = connection_listed(incoming);
    let mut out = HeaderMap::new();
    for (name, value) in incoming {
        let n = name.as_str();
        if DROP_RESPONSE.contains(&n) || n.starts_with("access-control-") || listed.iter().any(|l| l == n) {
            continue;
        }
        out.append(name.clone(), value.clone());
    }
    out
}

/// Splits `/api/{provider}{rest}` (raw).
fn split_api_path(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix("/api/")?;
    let slash = rest.find('/')?;
    Some((&rest[..slash], &rest[slash..]))
}

/// The handler.
pub async fn proxy(State(state): State<AppState>, session: Session, req: Request) -> Result<Response, ApiError> {
    let (parts, body) = req.into_parts();
    check_csrf(&parts.headers, &state.origin, &state.config.cors_allowed_origins).map_err(ApiError::csrf)?;
    let raw_path = parts.uri.path();
    let Some((provider_name, rest)) = split_api_path(raw_path) else {
        return Err(ApiError::bad_request("The path must be /api/{provider}/{path}."));
    };
    let Some(provider) = state.provider(provider_name) else {
        return Err(ApiError::new(ErrorCode::RouteNotAllowed, "Unknown provider."));
    };
    let path = normalize_api_path(rest).map_err(ApiError::bad_request)?;
    let query = parts.uri.query();
    if let Some(q) = query {
        validate_query(q).map_err(ApiError::bad_request)?;
    }
    if !route_allowed(&provider.config.allow, &parts.method, &path) {
        tracing::info!(provider = %provider.config.name, method = %parts.method, "route not on the allowlist");
        return Err(ApiError::new(ErrorCode::RouteNotAllowed, "This method and path are not allowed for this provider."));
    }
    let max = state.config.limits.max_request_body;
    let declared = parts.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    let Some(auth) = require_auth(&state, &session).await? else { return Err(ApiError::unauthenticated()) };
    if auth.provider != provider.config.name {
        return Err(ApiError::new(ErrorCode::Unauthenticated, "Not logged in at this provider."));
    }
    let body = match axum::body::to_bytes(body, max).await {
        Ok(b) => b,
        Err(err) => {
            let too_big = std::error::Error::source(&err).is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            return Err(if too_big { too_large() } else { ApiError::bad_request("The request body could not be read.") });
        }
    };
    let request_id = parts.extensions.get::<RequestId>().map(|r| r.0).unwrap_or_else(uuid::Uuid::new_v4);
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());

    let mut tokens = match refresh::current_tokens(&state, provider, &auth.vault_id).await {
        Ok(Some(t)) => t,
        Ok(None) => return Err(ended(&state, &session, &auth).await),
        Err(RefreshFailure::SessionEnded) => return Err(ended(&state, &session, &auth).await),
        Err(RefreshFailure::Error(e)) => return Err(e),
    };
    let outgoing = Outgoing {
        method: parts.method.clone(),
        url: upstream_url(provider, &path, query)?,
        headers: upstream_headers(&state, provider, &parts.headers, request_id, peer),
        body,
    };
    let mut retried = false;
    loop {
        let res = send(&state, provider, &outgoing, &tokens).await?;
        if res.status() == StatusCode::UNAUTHORIZED && !retried {
            retried = true;
            tracing::info!(provider = %provider.config.name, "the bank answered 401: refreshing once and retrying");
            match refresh::refresh(&state, provider, &auth.vault_id, &tokens.access_token, refresh::Reason::Rejected).await {
                Ok(Some(t)) => {
                    tokens = t;
                    continue;
                }
                Ok(None) | Err(RefreshFailure::SessionEnded) => return Err(ended(&state, &session, &auth).await),
                Err(RefreshFailure::Error(e)) => return Err(e),
            }
        }
        return respond(&state, res);
    }
}

fn too_large() -> ApiError {
    ApiError::new(ErrorCode::PayloadTooLarge, "The request body is too large.")
}

/// Ends the session after its grant died; the answer is `session_expired`.
async fn ended(state: &AppState, session: &Session, auth: &AuthData) -> ApiError {
    match end_session(state, session, Some(auth)).await {
        Ok(()) => ApiError::session_expired(),
        Err(e) => e,
    }
}

struct Outgoing {
    method: Method,
    url: url::Url,
    headers: HeaderMap,
    body: Bytes,
}

/// `api_base_url` + raw path + raw query; the result must stay on the base URL's origin
/// and under its path.
fn upstream_url(provider: &Provider, path: &ApiPath, query: Option<&str>) -> Result<url::Url, ApiError> {
    let base = &provider.config.api_base_url;
    let mut s = base.as_str().trim_end_matches('/').to_owned();
    s.push_str(&path.raw);
    if let Some(q) = query {
        s.push('?');
        s.push_str(q);
    }
    let url = url::Url::parse(&s).map_err(|_| ApiError::bad_request("The path cannot be forwarded."))?;
    if url.origin() != base.origin() || !url.path().starts_with(base.path().trim_end_matches('/')) {
        return Err(ApiError::bad_request("The path cannot be forwarded."));
    }
    Ok(url)
}

fn upstream_headers(
    state: &AppState,
    provider: &Provider,
    incoming: &HeaderMap,
    request_id: uuid::Uuid,
    peer: Option<std::net::IpAddr>,
) -> HeaderMap {
    let mut headers = forward_request_headers(incoming);
    if let Ok(v) = HeaderValue::from_str(&request_id.to_string()) {
        headers.insert(HeaderName::from_static("x-request-id"), v);
    }
    headers.remove(header::USER_AGENT);
    if provider.config.psd2_headers {
        if let Some(peer) = peer {
            let ip = client_ip(peer, incoming, &state.config.trusted_proxies);
            if let Ok(v) = HeaderValue::from_str(&ip.to_string()) {
                headers.insert(HeaderName::from_static("psu-ip-address"), v);
            }
        }
        if let Some(ua) = incoming.get(header::USER_AGENT) {
            headers.insert(HeaderName::from_static("psu-user-agent"), ua.clone());
        }
    }
    headers
}

async fn send(state: &AppState, provider: &Provider, out: &Outgoing, tokens: &TokenSet) -> Result<reqwest::Response, ApiError> {
    let mut bearer = HeaderValue::from_str(&format!("Bearer {}", tokens.access_token)).map_err(|_| {
        tracing::error!(provider = %provider.config.name, "stored access token is not a valid header value");
        ApiError::internal()
    })?;
    bearer.set_sensitive(true);
    let mut req =
        provider.http.request(out.method.clone(), out.url.clone()).headers(out.headers.clone()).header(header::AUTHORIZATION, bearer);
    if !out.body.is_empty() || !matches!(out.method, Method::GET | Method::HEAD | Method::DELETE | Method::OPTIONS) {
        req = req.body(out.body.clone());
    }
    let started = Instant::now();
    let res = req.send().await;
    state.metrics.upstream(&provider.config.name, "api", started.elapsed().as_secs_f64());
    res.map_err(|e| {
        let e = e.without_url();
        if e.is_timeout() {
            tracing::warn!(provider = %provider.config.name, "bank API timed out");
            ApiError::upstream_timeout()
        } else {
            tracing::warn!(provider = %provider.config.name, error = %e, "bank API unreachable or answered garbage");
            ApiError::upstream_unavailable("The bank could not be reached or gave an invalid answer.")
        }
    })
}

fn respond(state: &AppState, res: reqwest::Response) -> Result<Response, ApiError> {
    let status = res.status();
    if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
        tracing::warn!(status = status.as_u16(), "the bank answered with a redirect; not followed");
        return Err(ApiError::upstream_unavailable("The bank answered with a redirect, which the broker does not follow."));
    }
    let limit = state.config.limits.max_response_body;
    if res.content_length().is_some_and(|n| n > limit as u64) {
        tracing::warn!("the bank's answer is over the response size limit");
        return Err(ApiError::upstream_unavailable("The bank's answer is too large."));
    }
    let headers = forward_response_headers(res.headers());
    let mut seen = 0usize;
    let stream = res.bytes_stream().map(move |chunk| match chunk {
        Ok(bytes) => {
            seen = seen.saturating_add(bytes.len());
            if seen > limit {
                tracing::warn!("the bank's answer went over the response size limit; aborted");
                Err(std::io::Error::other("upstream response over the size limit"))
            } else {
                Ok(bytes)
            }
        }
        Err(e) => {
            tracing::warn!(error = %e.without_url(), "the bank's answer broke off");
            Err(std::io::Error::other("upstream body error"))
        }
    });
    let mut out = Response::new(Body::from_stream(stream));
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    out.extensions_mut().insert(Passthrough);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_headers_are_filtered() {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("cookie", "__Host-valv=x"),
            ("authorization", "Bearer browser"),
            ("origin", "http://a"),
            ("x-valv-csrf", "1"),
            ("connection", "x-secret-hop"),
            ("x-secret-hop", "1"),
            ("sec-fetch-site", "same-origin"),
            ("accept", "application/json"),
            ("content-type", "application/json"),
            ("x-forwarded-for", "1.2.3.4"),
        ] {
            h.append(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        let out = forward_request_headers(&h);
        let names: Vec<&str> = out.keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["accept", "content-type"]);
    }

    #[test]
    fn response_headers_are_filtered() {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("set-cookie", "bank=1"),
            ("location", "https://bank/x"),
            ("content-type", "application/json"),
            ("retry-after", "3"),
            ("transfer-encoding", "chunked"),
        ] {
            h.append(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        let out = forward_response_headers(&h);
        let names: Vec<&str> = out.keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["content-type", "retry-after"]);
    }

    #[test]
    fn api_path_split() {
        assert_eq!(split_api_path("/api/seb/ais/x"), Some(("seb", "/ais/x")));
        assert_eq!(split_api_path("/api/seb"), None);
        assert_eq!(split_api_path("/apix/seb/a"), None);
    }
}
