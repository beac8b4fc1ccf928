//! `/auth/login`, `/auth/callback`, `/auth/logout`, `/auth/session`.
//!
//! Login state: `/auth/login` adds a pending login (random `state`, PKCE verifier,
//! provider, `returnTo`, scopes) to the browser's sealed login cookie
//! ([`crate::session::login`]) — nothing goes to the store — so the `state` is bound to this
//! browser. `/auth/callback` takes the pending login it matches out of the cookie, claims the
//! `state` in the store (usable once, also across replicas and against a double-submitted
//! callback), exchanges the code server-side, seals the tokens into a vault record, creates
//! the session record under a new id (ending any earlier session of the browser) and sends
//! the browser (303) to `returnTo`. If the store fails after the bank issued tokens, they
//! are revoked.
//!
//! A callback with a missing, forged, reused or expired `state` is answered `400
//! bad_request` (JSON): there is no trustworthy `returnTo` to send the browser to. A
//! callback with the bank's `error=` (or a failed code exchange) for a valid `state` is a
//! 303 to `returnTo` with `valvError=<code>` appended for the SPA to show.

use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::error::{ApiError, ErrorCode};
use crate::oauth::{self, TokenError};
use crate::policy::csrf::check_csrf;
use crate::policy::return_to::{add_query_param, validate_return_to};
use crate::session::establish::establish;
use crate::session::login::{self, PendingLogin, MAX_RETURN_TO, PENDING_LIFETIME_SECS};
use crate::session::resolve::{self, Resolution};
use crate::session::retire::Retire;
use crate::session::{now, store_failure};
use crate::state::AppState;
use valv_wire::{Code, SessionInfo};

/// The query parameter added to `returnTo` when a login failed.
pub const ERROR_PARAM: &str = "valvError";

/// A random value of `bytes` bytes, base64url.
pub(crate) fn random_b64(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// PKCE S256 challenge of a verifier (RFC 7636).
pub fn pkce_challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Parses a query string, refusing repeated parameters (parameter pollution).
fn parse_query(raw: Option<&str>) -> Result<Vec<(String, String)>, ApiError> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (k, v) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        if out.iter().any(|(n, _)| *n == k) {
            return Err(ApiError::bad_request(format!("The parameter {} is repeated.", sanitize_name(&k))));
        }
        out.push((k.into_owned(), v.into_owned()));
    }
    Ok(out)
}

/// A parameter name safe to echo back.
fn sanitize_name(name: &str) -> String {
    name.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(32).collect()
}

fn param<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// `GET /auth/login?provider=&returnTo=&scope=&login_hint=` → 302 to the bank.
pub async fn login(State(state): State<AppState>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    let q = parse_query(raw.as_deref())?;
    let provider_name = match param(&q, "provider").filter(|p| !p.is_empty()) {
        Some(p) => p.to_owned(),
        None if state.providers.len() == 1 => state.providers.keys().next().cloned().unwrap_or_default(),
        None => return Err(ApiError::bad_request("The provider parameter is required.")),
    };
    let Some(provider) = state.provider(&provider_name) else {
        return Err(ApiError::bad_request("Unknown provider."));
    };
    let cfg = &provider.config;
    let return_to = validate_return_to(param(&q, "returnTo").unwrap_or("/")).map_err(ApiError::bad_request)?.to_owned();
    if return_to.len() > MAX_RETURN_TO {
        return Err(ApiError::bad_request(format!("returnTo is longer than {MAX_RETURN_TO} bytes.")));
    }
    let scopes = choose_scopes(cfg, param(&q, "scope"))?;
    let login_hint = match param(&q, "login_hint").filter(|h| !h.is_empty()) {
        Some(h) if h.len() <= 256 && !h.chars().any(char::is_control) => Some(h.to_owned()),
        Some(_) => return Err(ApiError::bad_request("login_hint is malformed.")),
        None => None,
    };

    let st = random_b64(32);
    let verifier = cfg.pkce.then(|| random_b64(32));
    let mut authorize = cfg.authorize_url.clone();
    {
        let mut pairs = authorize.query_pairs_mut();
        pairs
            .append_pair("response_type", "code")
            .append_pair("client_id", &cfg.client_id)
            .append_pair("redirect_uri", cfg.redirect_uri.as_str())
            .append_pair("scope", &scopes.join(" "))
            .append_pair("state", &st);
        if let Some(v) = &verifier {
            pairs.append_pair("code_challenge", &pkce_challenge(v)).append_pair("code_challenge_method", "S256");
        }
        if let Some(h) = &login_hint {
            pairs.append_pair("login_hint", h);
        }
    }

    let mut pending = login::read(&state, &headers);
    pending.push(PendingLogin {
        state: st,
        verifier,
        provider: provider_name.clone(),
        return_to,
        scopes,
        created_at: now(),
        decoupled: None,
    });
    let mut res = (StatusCode::FOUND, [(header::LOCATION, authorize.to_string())]).into_response();
    if let Some(c) = login::cookie(&state, &mut pending) {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    tracing::info!(provider = %provider_name, "login started");
    Ok(res)
}

/// The scopes of a login asking for `requested` (space-separated; none: the provider's
/// defaults): each one configured, duplicates dropped, at least one.
pub(crate) fn choose_scopes(cfg: &crate::config::ProviderConfig, requested: Option<&str>) -> Result<Vec<String>, ApiError> {
    let scopes: Vec<String> = match requested.map(str::trim).filter(|s| !s.is_empty()) {
        None => cfg.default_scopes.clone(),
        Some(s) => {
            let mut out: Vec<String> = Vec::new();
            for scope in s.split_whitespace() {
                if !cfg.scopes.iter().any(|c| c == scope) {
                    return Err(ApiError::bad_request("A requested scope is not configured for this provider."));
                }
                if !out.iter().any(|o| o == scope) {
                    out.push(scope.to_owned());
                }
            }
            out
        }
    };
    if scopes.is_empty() {
        return Err(ApiError::bad_request("No scope requested and none configured."));
    }
    Ok(scopes)
}

fn see_other(location: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, location.to_owned())]).into_response()
}

/// An OAuth error code safe to put in the `valvError` parameter.
fn safe_error_code(code: &str) -> &str {
    if !code.is_empty() && code.len() <= 64 && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
        code
    } else {
        "login_failed"
    }
}

/// `response` with `cookies` appended.
fn with_cookies(mut response: Response, cookies: impl IntoIterator<Item = Option<HeaderValue>>) -> Response {
    for c in cookies.into_iter().flatten() {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    response
}

/// `GET /auth/callback?code=&state=` (or `error=`).
pub async fn callback(State(state): State<AppState>, uri: Uri, headers: HeaderMap, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    // Whose callback this is: the provider whose redirect URI has this path.
    let Some(at) = state.providers.values().find(|p| p.config.redirect_uri.path() == uri.path()) else {
        return Err(ApiError::new(ErrorCode::NotFound, "No provider has this callback."));
    };
    let q = parse_query(raw.as_deref())?;
    let Some(st) = param(&q, "state").filter(|s| !s.is_empty()) else {
        return Err(ApiError::bad_request("The login answer has no state."));
    };
    let mut pending = login::read(&state, &headers);
    let wanted = Sha256::digest(st.as_bytes());
    let found = login::find(&pending, &wanted, false);
    let Some(index) = found else {
        tracing::warn!("callback with an unknown or already used state");
        return Err(ApiError::bad_request(
            "The login answer does not match a login started in this browser (unknown or already used state). Start the login again.",
        ));
    };
    // One-time: out of the cookie, and claimed in the store, before anything goes to the bank.
    let p = pending.remove(index);
    let login_cookie = login::cookie(&state, &mut pending);
    let Some(provider) = state.provider(&p.provider) else {
        return Err(ApiError::bad_request("Unknown provider."));
    };
    // Mix-up (RFC 9700 §4.4): the answer must come back where this login's bank sends it,
    // and name that bank when it says who it is (RFC 9207).
    if provider.config.name != at.config.name {
        tracing::warn!(provider = %p.provider, callback = %at.config.name, "login answer at another provider's callback");
        return Err(ApiError::bad_request("This login answer came back at another bank's callback. Start the login again."));
    }
    if let Some(expected) = &provider.config.issuer {
        if param(&q, "iss") != Some(expected.as_str()) {
            tracing::warn!(provider = %p.provider, "login answer without this bank's issuer (iss)");
            return Err(ApiError::bad_request("The login answer does not name this bank as its issuer. Start the login again."));
        }
    }
    let claim = login::claim_key(&wanted);
    let lifetime = Duration::from_secs(PENDING_LIFETIME_SECS.unsigned_abs());
    // From here on the browser goes back to the app with `valvError` (a top-level navigation
    // must not end on a JSON page), also when the store cannot be written.
    let back_with = |code: &str, login_cookie: Option<HeaderValue>| {
        with_cookies(see_other(&add_query_param(&p.return_to, ERROR_PARAM, code)), [login_cookie])
    };
    let claimed = match state.store.claim(&claim, lifetime).await {
        Ok(c) => c,
        Err(e) => return Ok(back_with(store_failure(e).code.as_str(), login_cookie)),
    };
    if !claimed {
        tracing::warn!(provider = %p.provider, "callback for a state that was already used");
        return Err(ApiError::bad_request("This login answer was already used. Start the login again."));
    }
    if let Some(err) = param(&q, "error") {
        let code = safe_error_code(err);
        tracing::info!(provider = %p.provider, error = code, "the bank answered the login with an error");
        return Ok(back_with(code, login_cookie));
    }
    let Some(code) = param(&q, "code").filter(|c| !c.is_empty()) else {
        return Err(ApiError::bad_request("The login answer has neither code nor error."));
    };
    let tokens = match oauth::exchange_code(&state, provider, code, p.verifier.as_deref(), &p.scopes).await {
        Ok(t) => t,
        Err(e) => {
            let code = match &e {
                TokenError::InvalidGrant => "invalid_grant",
                TokenError::OAuth(c) => safe_error_code(c),
                TokenError::Timeout => Code::UpstreamTimeout.as_str(),
                TokenError::Unavailable => Code::UpstreamUnavailable.as_str(),
            };
            tracing::warn!(provider = %p.provider, error = code, "code exchange failed");
            return Ok(back_with(code, login_cookie));
        }
    };

    let session_id = match establish(&state, &headers, &p.provider, tokens).await {
        Ok(id) => id,
        Err(e) => return Ok(back_with(e.code.as_str(), login_cookie)),
    };
    tracing::info!(provider = %p.provider, "login complete");
    Ok(with_cookies(see_other(&p.return_to), [resolve::cookie(&state, Some(&session_id), false), login_cookie]))
}

/// `POST /auth/logout` (CSRF header required): revoke at the bank, delete the session and
/// its vault record, clear the cookie, 204. Fails closed: this replica stops serving the
/// session at once, the cookie is cleared whatever happens, and what the bank or the store
/// could not do now is retried in the background.
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    check_csrf(&headers, &state.origin, &state.config.cors_allowed_origins).map_err(ApiError::csrf)?;
    let cleared = resolve::cookie(&state, None, true);
    let Some(browser) = resolve::session_cookie(&headers, &state.config.session.cookie_name) else {
        return Ok(with_cookies(StatusCode::NO_CONTENT.into_response(), [cleared]));
    };
    let id = browser.store_key();
    // The session record is read (and its tokens found) by the first attempt; when the store
    // cannot be read now, by a later one.
    Retire { lookup: true, session_id: Some(id), ..Retire::default() }.run(&state).await;
    tracing::info!("logout");
    Ok(with_cookies(StatusCode::NO_CONTENT.into_response(), [cleared]))
}

fn rfc3339(unix: i64) -> Option<String> {
    OffsetDateTime::from_unix_timestamp(unix).ok().and_then(|t| t.format(&Rfc3339).ok())
}

/// `GET /auth/session` — never a token. A session past its absolute lifetime, or whose
/// tokens are gone, is ended and reported as not authenticated (its cookie cleared).
pub async fn session_info(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let unauthenticated = SessionInfo::default;
    let Some(browser) = resolve::session_cookie(&headers, &state.config.session.cookie_name) else {
        return Ok(axum::Json(unauthenticated()).into_response());
    };
    let id = browser.store_key();
    let absolute = i64::try_from(state.config.session.absolute_timeout.as_secs()).unwrap_or(i64::MAX);
    let ended = |vault_id: String| Retire { vault_id: Some(vault_id), session_id: Some(id), ..Retire::default() };
    let r = match resolve::resolve(&state, &browser).await? {
        Resolution::Anonymous => return Ok(axum::Json(unauthenticated()).into_response()),
        Resolution::Ended { vault_id, .. } => {
            ended(vault_id).run(&state).await;
            return Ok(with_cookies(axum::Json(unauthenticated()).into_response(), [resolve::cookie(&state, None, true)]));
        }
        Resolution::Active(r) if now() >= r.login_at.saturating_add(absolute) => {
            tracing::info!(provider = %r.provider, "session reached its absolute lifetime");
            ended(r.vault_id.clone()).run(&state).await;
            return Ok(with_cookies(axum::Json(unauthenticated()).into_response(), [resolve::cookie(&state, None, true)]));
        }
        Resolution::Active(r) => r,
    };
    let idle = i64::try_from(state.config.session.idle_timeout.as_secs()).unwrap_or(i64::MAX);
    let session_end = now().saturating_add(idle).min(r.login_at.saturating_add(absolute));
    let info = SessionInfo {
        authenticated: true,
        provider: Some(r.provider.to_string()),
        scopes: Some(r.scopes.clone()),
        access_expires_at: rfc3339(r.access_expires_at),
        session_expires_at: rfc3339(session_end),
    };
    let fresh = resolve::touch_if_due(&state, &r, &browser);
    Ok(with_cookies(axum::Json(info).into_response(), [fresh]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_is_base64url_sha256() {
        // Expected value computed independently (Python hashlib + base64.urlsafe_b64encode).
        assert_eq!(pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW-gWFgFXjEk"), "OOKXIMKHqf0MI4bPmC90qKeRGNlmOwq8zAzfVEL97L8");
    }

    #[test]
    fn repeated_parameters_are_refused() {
        assert!(parse_query(Some("state=a&state=b")).is_err());
        assert_eq!(parse_query(Some("a=1&b=2")).map(|v| v.len()).ok(), Some(2));
    }

    #[test]
    fn error_codes_are_sanitised() {
        assert_eq!(safe_error_code("access_denied"), "access_denied");
        assert_eq!(safe_error_code("<script>"), "login_failed");
        assert_eq!(safe_error_code(""), "login_failed");
    }
}
