//! `ANY /api/{provider}/{path…}`: the token-injecting reverse proxy.
//!
//! Order of checks, all before anything goes out: CSRF header and origin rules (403
//! `csrf`), a known provider (403 `route_not_allowed`), the normalised raw path (400
//! `bad_request`), method + path on the allowlist (403 `route_not_allowed`), declared body size (413), session (401; 503
//! `store_unavailable` when the store cannot be read on a cache miss). The request
//! body is buffered up to `limits.max_request_body` (PSD2 bodies are small JSON), which
//! makes every request replayable once after an upstream 401. Response bodies are streamed
//! with `limits.max_response_body`.
//!
//! Upstream redirects are not followed; a 3xx other than 304 becomes `502
//! upstream_unavailable` (a browser `fetch` would otherwise follow the bank's `Location`).
//! `Location` is also dropped from other answers.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use futures::future::BoxFuture;
use futures::StreamExt;

use crate::error::{ApiError, ErrorCode};
use crate::policy::csrf::check_csrf;
use crate::policy::headers::{client_ip, forward_request_headers, forward_response_headers, REQUEST_ID};
use crate::policy::path::{normalize_api_path, validate_query, ApiPath};
use crate::session::cache::access_token_of;
use crate::session::now;
use crate::session::refresh::{self, needs_refresh, Reason, RefreshFailure};
use crate::session::resolve::{self, Resolution};
use crate::state::{AppState, Provider};

/// Splits `/api/{provider}{rest}` (raw).
fn split_api_path(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix("/api/")?;
    let slash = rest.find('/')?;
    Some((&rest[..slash], &rest[slash..]))
}

/// The proxy as the service of one connection: it knows the connection's peer, and the
/// `PSU-IP-Address` value made from it when no trusted proxy is in between.
#[derive(Clone)]
pub(crate) struct ProxyService {
    state: AppState,
    peer: Option<IpAddr>,
    peer_header: Option<HeaderValue>,
}

impl ProxyService {
    pub(crate) fn new(state: AppState, peer: Option<SocketAddr>) -> Self {
        let peer = peer.map(|p| p.ip());
        let direct = peer.filter(|ip| !state.config.trusted_proxies.iter().any(|net| net.contains(ip)));
        let peer_header = direct.and_then(|ip| HeaderValue::from_str(&ip.to_string()).ok());
        Self { state, peer, peer_header }
    }

    /// The browser's address (the peer, or behind a trusted proxy its `X-Forwarded-For`).
    fn client(&self, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = self.peer?;
        if self.peer_header.is_some() {
            return Some(peer);
        }
        Some(client_ip(peer, headers, &self.state.config.trusted_proxies))
    }

    /// `PSU-IP-Address` for a request with `headers`.
    fn psu_ip(&self, headers: &HeaderMap) -> Option<HeaderValue> {
        if let Some(v) = &self.peer_header {
            return Some(v.clone());
        }
        let ip = client_ip(self.peer?, headers, &self.state.config.trusted_proxies);
        HeaderValue::from_str(&ip.to_string()).ok()
    }
}

impl tower::Service<Request> for ProxyService {
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            let mut res = match this.client(req.headers()).map(|ip| this.state.rate.api_from(ip)) {
                Some(Err(wait)) => crate::policy::rate::too_many(wait),
                _ => proxy(&this, req).await.unwrap_or_else(IntoResponse::into_response),
            };
            res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            Ok(res)
        })
    }
}

/// One API call. No session layer here: the cookie is read from the headers and the
/// session resolved through the cache (see [`crate::session::resolve`]).
async fn proxy(conn: &ProxyService, req: Request) -> Result<Response, ApiError> {
    let state = &conn.state;
    let (parts, body) = req.into_parts();
    let raw_path = parts.uri.path();
    let Some((provider_name, rest)) = split_api_path(raw_path) else {
        return Err(ApiError::bad_request("The path must be /api/{provider}/{path}."));
    };
    check_csrf(&parts.headers, &state.origin, &state.config.cors_allowed_origins).map_err(ApiError::csrf)?;
    let Some(provider) = state.provider(provider_name) else {
        return Err(ApiError::new(ErrorCode::RouteNotAllowed, "Unknown provider."));
    };
    let path = normalize_api_path(rest).map_err(ApiError::bad_request)?;
    let query = parts.uri.query();
    if let Some(q) = query {
        validate_query(q).map_err(ApiError::bad_request)?;
    }
    if !provider.allow.allows(&parts.method, &path) {
        tracing::info!(provider = %provider.config.name, method = %parts.method, "route not on the allowlist");
        return Err(ApiError::new(ErrorCode::RouteNotAllowed, "This method and path are not allowed for this provider."));
    }
    let max = state.config.limits.max_request_body;
    let declared = parts.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    // Checked before the session: a bad header is refused whoever sends it.
    let mut headers = Some(upstream_headers(conn, provider, &parts.headers)?);
    let Some(browser) = resolve::session_cookie(&parts.headers, &state.config.session.cookie_name) else {
        return Err(ApiError::unauthenticated());
    };
    if let Err(wait) = state.rate.api_of(browser.rate_key()) {
        return Ok(crate::policy::rate::too_many(wait));
    }
    let session = match resolve::resolve(state, &browser).await? {
        Resolution::Active(r) => r,
        Resolution::Anonymous => return Err(ApiError::unauthenticated()),
        Resolution::Ended { session_id, vault_id } => return Ok(ended(state, &session_id, &vault_id).await),
    };
    if *session.provider != *provider.config.name {
        return Err(ApiError::new(ErrorCode::Unauthenticated, "Not logged in at this provider."));
    }
    let absolute = i64::try_from(state.config.session.absolute_timeout.as_secs()).unwrap_or(i64::MAX);
    if now() >= session.login_at.saturating_add(absolute) {
        tracing::info!(provider = %provider.config.name, "session reached its absolute lifetime");
        return Ok(ended(state, &session.session_id, &session.vault_id).await);
    }
    // A request without a body (a GET) has nothing to wait for: no timer, no read.
    let read = if axum::body::HttpBody::is_end_stream(&body) {
        Ok(Ok(Bytes::new()))
    } else {
        tokio::time::timeout(state.config.limits.body_read_timeout, axum::body::to_bytes(body, max)).await
    };
    let Ok(read) = read else {
        tracing::info!(provider = %provider.config.name, "the request body did not arrive in time");
        return Err(ApiError::new(ErrorCode::RequestTimeout, "The request body did not arrive in time."));
    };
    let body = match read {
        Ok(b) => b,
        Err(err) => {
            let too_big = std::error::Error::source(&err).is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            return Err(if too_big { too_large() } else { ApiError::bad_request("The request body could not be read.") });
        }
    };

    let skew = state.config.session.refresh_skew;
    let mut bearer = if needs_refresh(session.access_expires_at, skew) {
        match refresh::refresh(state, provider, session.session_id, &session.vault_id, session.access_token(), Reason::Skew).await {
            Ok(fresh) => fresh.bearer,
            Err(RefreshFailure::SessionEnded) => return Ok(ended(state, &session.session_id, &session.vault_id).await),
            Err(RefreshFailure::Error(e)) => return Err(e),
        }
    } else {
        session.bearer.clone()
    };
    let uri = upstream_uri(provider, &path, query)?;
    let mut retried = false;
    loop {
        let sent_headers = match headers.take() {
            Some(h) => h,
            None => upstream_headers(conn, provider, &parts.headers)?,
        };
        let res = send(state, provider, &parts.method, uri.clone(), sent_headers, body.clone(), bearer).await?;
        if res.status() != StatusCode::UNAUTHORIZED {
            // (One atomic load unless some token is waiting to be accepted.)
            state.refresher.accepted_after_rejection(&session.vault_id);
        }
        if res.status() == StatusCode::UNAUTHORIZED && !retried {
            // A refresh fixes an expired or revoked token, not a consent the bank no longer
            // honours, nor a bank that refused the token a refresh just made: those answers
            // go to the browser as they are.
            let stale = res.request_bearer.clone();
            let (head, answer) = collect(state, res).await?;
            let futile = state.refresher.refreshing_did_not_help(&session.vault_id, &stale);
            if futile || consent_problem(&answer) {
                tracing::info!(provider = %provider.config.name, "the bank refused the token for a reason a refresh does not fix");
                let mut out = finish(head, Body::from(answer));
                if let Some(cookie) = resolve::touch_if_due(state, &session, &browser) {
                    out.headers_mut().append(header::SET_COOKIE, cookie);
                }
                return Ok(out);
            }
            retried = true;
            tracing::info!(provider = %provider.config.name, "the bank answered 401: refreshing once and retrying");
            match refresh::refresh(state, provider, session.session_id, &session.vault_id, access_token_of(&stale), Reason::Rejected).await
            {
                Ok(fresh) => {
                    state.refresher.refreshed_after_rejection(&session.vault_id, &fresh.bearer);
                    bearer = fresh.bearer;
                    continue;
                }
                Err(RefreshFailure::SessionEnded) => return Ok(ended(state, &session.session_id, &session.vault_id).await),
                Err(RefreshFailure::Error(e)) => return Err(e),
            }
        }
        let mut out = respond(state, res).await?;
        if let Some(cookie) = resolve::touch_if_due(state, &session, &browser) {
            out.headers_mut().append(header::SET_COOKIE, cookie);
        }
        return Ok(out);
    }
}

fn too_large() -> ApiError {
    ApiError::new(ErrorCode::PayloadTooLarge, "The request body is too large.")
}

/// Ends a session whose grant died; the answer is `session_expired` and clears the cookie.
async fn ended(state: &AppState, session_id: &tower_sessions::session::Id, vault_id: &str) -> Response {
    let mut res = match resolve::end(state, session_id, vault_id).await {
        Ok(()) => ApiError::session_expired().into_response(),
        Err(e) => return e.into_response(),
    };
    if let Some(c) = resolve::cookie(state, None, true) {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

/// The origin-form target of the call: `api_base_url`'s path + raw path + raw query. (The
/// connection always goes to `api_base_url`'s origin; see [`crate::upstream`].)
fn upstream_uri(provider: &Provider, path: &ApiPath<'_>, query: Option<&str>) -> Result<Uri, ApiError> {
    let prefix = &provider.api_path;
    let mut s = String::with_capacity(prefix.len() + path.raw.len() + query.map_or(0, |q| q.len() + 1));
    s.push_str(prefix);
    s.push_str(path.raw);
    if let Some(q) = query {
        s.push('?');
        s.push_str(q);
    }
    let uri = Uri::try_from(s).map_err(|_| ApiError::bad_request("The path cannot be forwarded."))?;
    if uri.authority().is_some() || !uri.path().starts_with('/') {
        return Err(ApiError::bad_request("The path cannot be forwarded."));
    }
    Ok(uri)
}

/// The headers that go to the bank with this call, but for `Authorization` and
/// `User-Agent` (see [`send`]).
fn upstream_headers(conn: &ProxyService, provider: &Provider, incoming: &HeaderMap) -> Result<HeaderMap, ApiError> {
    let mut headers = forward_request_headers(incoming, &provider.forward, &conn.state.origin, 6).map_err(ApiError::bad_request)?;
    if let Some(id) = incoming.get(REQUEST_ID) {
        headers.insert(REQUEST_ID, id.clone());
    }
    if provider.config.psd2_headers {
        if let Some(ip) = conn.psu_ip(incoming) {
            headers.insert(HeaderName::from_static("psu-ip-address"), ip);
        }
        if let Some(ua) = incoming.get(header::USER_AGENT) {
            headers.insert(HeaderName::from_static("psu-user-agent"), ua.clone());
        }
    }
    Ok(headers)
}

struct Sent {
    inner: http::Response<hyper::body::Incoming>,
    /// The connection, lent until the answer is read.
    conn: crate::upstream::Pooled,
    /// The `Authorization` value the bank saw.
    request_bearer: HeaderValue,
    /// When the whole exchange (the answer's body included) must be over.
    deadline: tokio::time::Instant,
}

impl Sent {
    fn status(&self) -> StatusCode {
        self.inner.status()
    }
}

const USER_AGENT: &str = concat!("valv-broker/", env!("CARGO_PKG_VERSION"));

#[allow(clippy::too_many_arguments)]
async fn send(
    state: &AppState,
    provider: &Provider,
    method: &Method,
    uri: Uri,
    mut headers: HeaderMap,
    body: Bytes,
    bearer: HeaderValue,
) -> Result<Sent, ApiError> {
    headers.insert(header::AUTHORIZATION, bearer.clone());
    headers.insert(header::USER_AGENT, HeaderValue::from_static(USER_AGENT));
    let mut req = http::Request::new(http_body_util::Full::new(body));
    *req.method_mut() = method.clone();
    *req.uri_mut() = uri;
    *req.headers_mut() = headers;
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + state.config.limits.upstream_timeout;
    let res = tokio::time::timeout_at(deadline, provider.api.request(req)).await;
    provider.api_latency.observe(started.elapsed().as_secs_f64());
    let (inner, conn) = match res {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            tracing::warn!(provider = %provider.config.name, error = %e, "bank API unreachable or answered garbage");
            return Err(ApiError::upstream_unavailable("The bank could not be reached or gave an invalid answer."));
        }
        Err(_) => {
            tracing::warn!(provider = %provider.config.name, "bank API timed out");
            return Err(ApiError::upstream_timeout());
        }
    };
    Ok(Sent { inner, conn, request_bearer: bearer, deadline })
}

/// Answers up to this size, with a declared length, are read whole and sent in one write.
const BUFFERED_ANSWER: u64 = 256 * 1024;

async fn respond(state: &AppState, res: Sent) -> Result<Response, ApiError> {
    let deadline = res.deadline;
    let mut conn = res.conn;
    let (parts, body) = res.inner.into_parts();
    let status = parts.status;
    if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
        tracing::warn!(status = status.as_u16(), "the bank answered with a redirect; not followed");
        return Err(ApiError::upstream_unavailable("The bank answered with a redirect, which the broker does not follow."));
    }
    let limit = state.config.limits.max_response_body;
    let declared = parts.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        tracing::warn!("the bank's answer is over the response size limit");
        return Err(ApiError::upstream_unavailable("The bank's answer is too large."));
    }
    let body = if declared.is_some_and(|n| n <= BUFFERED_ANSWER) {
        // PSD2 answers are small: one write instead of one per chunk read from the bank.
        let collected = tokio::time::timeout_at(deadline, http_body_util::BodyExt::collect(body)).await;
        match collected {
            Ok(Ok(c)) => {
                conn.read_to_end();
                Body::from(c.to_bytes())
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "the bank's answer broke off");
                return Err(ApiError::upstream_unavailable("The bank's answer broke off."));
            }
            Err(_) => {
                tracing::warn!("the bank's answer did not arrive in time");
                return Err(ApiError::upstream_timeout());
            }
        }
    } else {
        Body::from_stream(limited_stream(body, conn, limit, deadline))
    };
    Ok(finish(parts, body))
}

/// The browser's answer: the bank's status, its headers as they may pass, `body`.
fn finish(parts: http::response::Parts, body: Body) -> Response {
    let mut out = Response::new(body);
    *out.status_mut() = parts.status;
    *out.headers_mut() = forward_response_headers(parts.headers);
    out
}

/// The bank's whole answer (a refusal: small), within the exchange's deadline.
async fn collect(state: &AppState, res: Sent) -> Result<(http::response::Parts, Bytes), ApiError> {
    let deadline = res.deadline;
    let mut conn = res.conn;
    let (parts, body) = res.inner.into_parts();
    let limit = state.config.limits.max_response_body.min(BUFFERED_ANSWER as usize);
    let limited = http_body_util::Limited::new(body, limit);
    match tokio::time::timeout_at(deadline, http_body_util::BodyExt::collect(limited)).await {
        Ok(Ok(c)) => {
            conn.read_to_end();
            Ok((parts, c.to_bytes()))
        }
        Ok(Err(_)) => {
            tracing::warn!("the bank's refusal broke off or was too large");
            Err(ApiError::upstream_unavailable("The bank's answer broke off."))
        }
        Err(_) => Err(ApiError::upstream_timeout()),
    }
}

/// Berlin Group codes of a 401 that are about the consent, not the access token.
const CONSENT_CODES: &[&str] = &["CONSENT_INVALID", "CONSENT_EXPIRED", "CONSENT_UNKNOWN"];

/// Does a bank's 401 body (RFC 7807 with `tppMessages`, or `additionalErrors`) say the
/// consent is the problem.
fn consent_problem(body: &[u8]) -> bool {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else { return false };
    let codes = ["tppMessages", "additionalErrors"]
        .iter()
        .filter_map(|k| v.get(*k).and_then(|m| m.as_array()))
        .flatten()
        .filter_map(|m| m.get("code").and_then(|c| c.as_str()))
        .chain(v.get("code").and_then(|c| c.as_str()));
    codes.into_iter().any(|c| CONSENT_CODES.contains(&c))
}

/// The bank's answer as a stream that fails (cutting the answer off) when it grows past
/// `limit` bytes or is still running at `deadline`. The connection goes back to the pool
/// when the answer has been read to its end.
fn limited_stream(
    body: hyper::body::Incoming,
    conn: crate::upstream::Pooled,
    limit: usize,
    deadline: tokio::time::Instant,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    let data = http_body_util::BodyExt::into_data_stream(body);
    futures::stream::unfold((data, conn, 0usize, false), move |(mut data, mut conn, seen, done)| async move {
        if done {
            return None;
        }
        match tokio::time::timeout_at(deadline, data.next()).await {
            Ok(None) => {
                conn.read_to_end();
                None
            }
            Ok(Some(Ok(bytes))) => {
                let seen = seen.saturating_add(bytes.len());
                if seen > limit {
                    tracing::warn!("the bank's answer went over the response size limit; aborted");
                    Some((Err(std::io::Error::other("upstream response over the size limit")), (data, conn, seen, true)))
                } else {
                    Some((Ok(bytes), (data, conn, seen, false)))
                }
            }
            Ok(Some(Err(e))) => {
                tracing::warn!(error = %e, "the bank's answer broke off");
                Some((Err(std::io::Error::other("upstream body error")), (data, conn, seen, true)))
            }
            Err(_) => {
                tracing::warn!("the bank's answer did not finish in time; aborted");
                Some((Err(std::io::Error::other("upstream body timed out")), (data, conn, seen, true)))
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_path_split() {
        assert_eq!(split_api_path("/api/seb/ais/x"), Some(("seb", "/ais/x")));
        assert_eq!(split_api_path("/api/seb"), None);
        assert_eq!(split_api_path("/apix/seb/a"), None);
    }
}
