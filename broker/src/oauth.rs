//! Calls to the bank's OAuth endpoints: code exchange, refresh, revocation. Client
//! authentication is `client_secret_post` or `client_secret_basic` (RFC 6749 §2.3.1).

use std::time::Instant;

use base64::Engine;
use valv_psd2::{OAuthError, TokenResponse};

use crate::config::ClientAuth;
use crate::session::now;
use crate::state::{AppState, Provider};
use crate::vault::TokenSet;

/// Used when the bank's token answer has no `expires_in` (RFC 6749 makes it optional).
pub const DEFAULT_EXPIRES_IN: i64 = 300;

/// Why a token-endpoint call failed.
#[derive(Debug)]
pub enum TokenError {
    /// The bank refused the grant (`invalid_grant`): the code or refresh token is dead.
    InvalidGrant,
    /// Another RFC 6749 error code from the bank (e.g. `invalid_client`).
    OAuth(String),
    /// No answer in time.
    Timeout,
    /// Could not reach the bank, or it answered something that is not a token response.
    Unavailable,
}

/// Largest token-endpoint answer read (a token response is a few hundred bytes).
pub const MAX_TOKEN_RESPONSE: usize = 64 * 1024;

/// Reads a body of at most `limit` bytes (a bigger one is treated as a broken bank).
pub(crate) async fn read_limited(mut res: reqwest::Response, limit: usize) -> Result<Vec<u8>, TokenError> {
    if res.content_length().is_some_and(|n| n > limit as u64) {
        return Err(TokenError::Unavailable);
    }
    let mut out = Vec::new();
    loop {
        match res.chunk().await {
            Ok(Some(chunk)) => {
                if out.len() + chunk.len() > limit {
                    return Err(TokenError::Unavailable);
                }
                out.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(out),
            Err(e) => {
                let e = e.without_url();
                return Err(if e.is_timeout() { TokenError::Timeout } else { TokenError::Unavailable });
            }
        }
    }
}

/// RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding.
fn basic_auth(id: &str, secret: &str) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", enc(id), enc(secret))))
}

/// Sends a form to a provider's OAuth endpoint with client authentication.
async fn post_form(
    state: &AppState,
    provider: &Provider,
    url: &url::Url,
    kind: &'static str,
    mut form: Vec<(&str, String)>,
) -> Result<reqwest::Response, TokenError> {
    let cfg = &provider.config;
    let mut req = provider.http.post(url.clone()).header(reqwest::header::ACCEPT, "application/json");
    match cfg.client_auth {
        ClientAuth::ClientSecretPost => {
            form.push(("client_id", cfg.client_id.clone()));
            form.push(("client_secret", cfg.client_secret.expose().to_owned()));
        }
        ClientAuth::ClientSecretBasic => {
            req = req.header(reqwest::header::AUTHORIZATION, basic_auth(&cfg.client_id, cfg.client_secret.expose()));
        }
    }
    let body = serde_urlencoded::to_string(&form).map_err(|_| TokenError::Unavailable)?;
    let started = Instant::now();
    let res = req.header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded").body(body).send().await;
    state.metrics.upstream(&provider.label, kind, started.elapsed().as_secs_f64());
    res.map_err(|e| {
        let e = e.without_url();
        if e.is_timeout() {
            tracing::warn!(provider = %cfg.name, kind, "bank OAuth endpoint timed out");
            TokenError::Timeout
        } else {
            tracing::warn!(provider = %cfg.name, kind, error = %e, "bank OAuth endpoint unreachable");
            TokenError::Unavailable
        }
    })
}

/// An OAuth error code as it may appear in a log line: RFC 6749 codes are short and made of
/// `[a-z_]`; anything else the bank sent (of any length) is not written out.
pub(crate) fn loggable_code(code: &str) -> &str {
    if !code.is_empty() && code.len() <= 64 && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
        code
    } else {
        "(not an OAuth error code)"
    }
}

/// Why a token endpoint's answer gives no tokens.
#[derive(Debug, PartialEq, Eq)]
pub enum Undecodable {
    /// A non-2xx status, with the RFC 6749 `error` code when the body has one.
    Refused {
        /// The HTTP status.
        status: u16,
        /// The body's `error` member.
        code: Option<String>,
    },
    /// A 2xx answer that is not a token response (or an empty access token).
    NotATokenResponse,
    /// A token of another type than `Bearer`.
    NotBearer,
}

impl Undecodable {
    /// The [`TokenError`] the broker acts on.
    pub fn token_error(&self) -> TokenError {
        match self {
            Undecodable::Refused { code: Some(c), .. } if c == "invalid_grant" => TokenError::InvalidGrant,
            Undecodable::Refused { status, code: Some(c) } if (400..500).contains(status) && loggable_code(c) == c.as_str() => {
                TokenError::OAuth(c.clone())
            }
            _ => TokenError::Unavailable,
        }
    }
}

/// Decodes a token endpoint's answer (`status`, `body`) into a [`TokenSet`] issued at `now`;
/// `previous` supplies what a refresh answer may omit (the refresh token when not rotated,
/// the scopes). Nothing in the body is trusted: any input gives tokens or an [`Undecodable`].
pub fn decode_token_answer(
    status: u16,
    body: &[u8],
    requested_scopes: &[String],
    previous: Option<&TokenSet>,
    now: i64,
) -> Result<TokenSet, Undecodable> {
    if !(200..300).contains(&status) {
        let code = serde_json::from_slice::<OAuthError>(body).ok().map(|b| b.error);
        return Err(Undecodable::Refused { status, code });
    }
    let t = serde_json::from_slice::<TokenResponse>(body).map_err(|_| Undecodable::NotATokenResponse)?;
    if t.token_type.as_deref().is_some_and(|tt| !tt.eq_ignore_ascii_case("bearer")) {
        return Err(Undecodable::NotBearer);
    }
    if t.access_token.is_empty() {
        return Err(Undecodable::NotATokenResponse);
    }
    let expires_in = t.expires_in.filter(|n| *n > 0).unwrap_or(DEFAULT_EXPIRES_IN);
    let scopes = match t.scope.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => s.split_whitespace().map(str::to_owned).collect(),
        None => previous.map(|p| p.scopes.clone()).unwrap_or_else(|| requested_scopes.to_vec()),
    };
    let refresh_token = t.refresh_token.filter(|r| !r.is_empty()).or_else(|| previous.and_then(|p| p.refresh_token.clone()));
    Ok(TokenSet { access_token: t.access_token, refresh_token, expires_at: now.saturating_add(expires_in), scopes })
}

/// Reads a token response into a [`TokenSet`] (see [`decode_token_answer`]), logging why
/// when it holds none.
async fn read_tokens(
    provider: &Provider,
    res: reqwest::Response,
    requested_scopes: &[String],
    previous: Option<&TokenSet>,
) -> Result<TokenSet, TokenError> {
    let status = res.status().as_u16();
    let bytes = read_limited(res, MAX_TOKEN_RESPONSE).await?;
    decode_token_answer(status, &bytes, requested_scopes, previous, now()).map_err(|why| {
        let name = &provider.config.name;
        match &why {
            Undecodable::Refused { status, code } => {
                let logged = code.as_deref().map_or("-", loggable_code);
                tracing::warn!(provider = %name, status, error = logged, "bank refused a token request");
            }
            Undecodable::NotATokenResponse => tracing::warn!(provider = %name, "bank token answer is not a token response"),
            Undecodable::NotBearer => tracing::warn!(provider = %name, "bank issued a non-bearer token"),
        }
        why.token_error()
    })
}

/// Exchanges an authorization code (with the PKCE verifier) for tokens.
pub async fn exchange_code(
    state: &AppState,
    provider: &Provider,
    code: &str,
    verifier: Option<&str>,
    scopes: &[String],
) -> Result<TokenSet, TokenError> {
    let mut form = vec![
        ("grant_type", "authorization_code".to_owned()),
        ("code", code.to_owned()),
        ("redirect_uri", provider.config.redirect_uri.to_string()),
    ];
    if let Some(v) = verifier {
        form.push(("code_verifier", v.to_owned()));
    }
    let res = post_form(state, provider, &provider.config.token_url, "token", form).await?;
    read_tokens(provider, res, scopes, None).await
}

/// Uses the refresh token of `current`.
pub async fn refresh(state: &AppState, provider: &Provider, current: &TokenSet) -> Result<TokenSet, TokenError> {
    let Some(rt) = current.refresh_token.as_deref() else { return Err(TokenError::InvalidGrant) };
    let form = vec![("grant_type", "refresh_token".to_owned()), ("refresh_token", rt.to_owned())];
    let res = post_form(state, provider, &provider.config.token_url, "token", form).await?;
    read_tokens(provider, res, &current.scopes, Some(current)).await
}

/// RFC 7009 revocation (the refresh token revokes the grant; else the access token).
/// Failures are logged; `false` when asking again later could succeed (the bank was
/// unreachable or failed), `true` when it is done or cannot be (no endpoint, a 4xx).
pub async fn revoke(state: &AppState, provider: &Provider, tokens: &TokenSet) -> bool {
    let Some(url) = provider.config.revocation_url.as_ref() else { return true };
    let (token, hint) = match &tokens.refresh_token {
        Some(rt) => (rt.clone(), "refresh_token"),
        None => (tokens.access_token.clone(), "access_token"),
    };
    let form = vec![("token", token), ("token_type_hint", hint.to_owned())];
    match post_form(state, provider, url, "revoke", form).await {
        Ok(res) if res.status().is_success() => true,
        Ok(res) if res.status().is_client_error() => {
            // RFC 7009: the bank does not take this token back (already invalid, or not
            // revocable); asking again would not change that.
            tracing::warn!(provider = %provider.config.name, status = res.status().as_u16(), "bank refused the revocation");
            true
        }
        Ok(res) => {
            tracing::warn!(provider = %provider.config.name, status = res.status().as_u16(), "revocation at the bank failed");
            false
        }
        Err(_) => {
            tracing::warn!(provider = %provider.config.name, "revocation at the bank failed");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bank_error_codes_are_logged_only_when_they_look_like_codes() {
        assert_eq!(loggable_code("invalid_grant"), "invalid_grant");
        let flood = "x".repeat(100_000);
        for bad in [flood.as_str(), "evil\n2026-12-01T00:00:00Z  INFO forged line", "Bearer abc.def", ""] {
            assert_eq!(loggable_code(bad), "(not an OAuth error code)", "{bad:.40}");
        }
    }

    #[test]
    fn basic_auth_encodes_the_parts() {
        // "a:b c" and "s&t" form-encoded: a%3Ab+c : s%26t
        let expected = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("a%3Ab+c:s%26t"));
        assert_eq!(basic_auth("a:b c", "s&t"), expected);
    }
}
