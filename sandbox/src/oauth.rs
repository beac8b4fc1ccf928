//! Redirect OAuth: `/mga/sps/oauth/oauth20/authorize` (HTML login page), `/token`, and the
//! sandbox extension `/revoke` (RFC 7009).

use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::auth::{test_person, TEST_PERSONS};
use crate::config::Client;
use crate::error::OAuthError;
use crate::state::SandboxState;
use crate::tokens::{random_token, CodeRequest, IssuedTokens};

/// Scopes the sandbox knows.
pub const SCOPES: [&str; 2] = ["psd2_accounts", "psd2_payments"];

/// How long the login page may stay open.
const PENDING_LIFETIME: Duration = Duration::from_secs(600);

/// A validated authorization request waiting for the login form.
#[derive(Debug, Clone)]
pub struct PendingAuthorize {
    client: String,
    redirect_uri: String,
    scopes: Vec<String>,
    state: Option<String>,
    challenge: Option<String>,
    created: Instant,
}

/// The redirect-flow routes.
pub fn router() -> Router<SandboxState> {
    Router::new()
        .route("/mga/sps/oauth/oauth20/authorize", get(authorize).post(login))
        .route("/mga/sps/oauth/oauth20/token", post(token))
        .route("/mga/sps/oauth/oauth20/revoke", post(revoke))
}

/// Parses a space-separated scope list; `Err(bad)` names the first unknown scope.
pub fn parse_scopes(s: &str) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for part in s.split(' ').filter(|p| !p.is_empty()) {
        if !SCOPES.contains(&part) {
            return Err(part.to_owned());
        }
        if !out.iter().any(|o| o == part) {
            out.push(part.to_owned());
        }
    }
    if out.is_empty() {
        return Err(String::new());
    }
    Ok(out)
}

pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f4f6f8;color:#1b1f23;margin:0}\
main{max-width:26rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px #0002}\
h1{font-size:1.3rem;margin-top:0}label{display:block;margin:.8rem 0 .3rem}\
input[type=text]{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}\
button{margin-top:1rem;margin-right:.5rem;padding:.5rem 1rem;font-size:1rem;cursor:pointer}\
.error{background:#fde8e8;color:#8a1c1c;padding:.6rem;border-radius:4px}ul{padding-left:1.2rem}code{font-size:.95rem}";

pub(crate) fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>{t}</title><style>{STYLE}</style></head><body><main><h1>{t}</h1>{body}</main></body></html>",
        t = escape(title)
    )
}

/// An error page: never a redirect (unknown client or redirect URI).
fn error_page(status: StatusCode, msg: &str) -> Response {
    let html = page("Sandbox bank: request rejected", &format!("<p class=\"error\" role=\"alert\">{}</p>", escape(msg)));
    (status, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
}

fn login_page(status: StatusCode, request_id: &str, client: &str, scopes: &[String], error: Option<&str>) -> Response {
    let err = error.map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e))).unwrap_or_default();
    let persons: String = TEST_PERSONS.iter().map(|p| format!("<li><code>{p}</code></li>")).collect();
    let body = format!(
        "<p><strong>{client}</strong> asks for <strong>{scopes}</strong>.</p>{err}\
<form method=\"post\" action=\"/mga/sps/oauth/oauth20/authorize\">\
<input type=\"hidden\" name=\"request_id\" value=\"{rid}\">\
<label for=\"pin\">Sandbox identity number</label>\
<input type=\"text\" id=\"pin\" name=\"personal_identity_number\" inputmode=\"numeric\" autocomplete=\"off\" autofocus>\
<button type=\"submit\" name=\"action\" value=\"login\">Log in</button>\
<button type=\"submit\" name=\"action\" value=\"cancel\">Cancel</button></form>\
<p>Test persons (10 digits, or 12 with <code>19</code>):</p><ul>{persons}</ul>",
        client = escape(client),
        scopes = escape(&scopes.join(" ")),
        rid = escape(request_id),
    );
    let headers = [(header::CACHE_CONTROL, "no-store"), (header::HeaderName::from_static("x-frame-options"), "DENY")];
    (status, headers, Html(page("Sandbox bank: log in", &body))).into_response()
}

fn redirect_with(redirect_uri: &str, params: &[(&str, &str)], state: Option<&str>) -> Response {
    let mut url = match url::Url::parse(redirect_uri) {
        Ok(u) => u,
        Err(_) => return error_page(StatusCode::BAD_REQUEST, "The registered redirect_uri is not a valid URL"),
    };
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
        if let Some(s) = state {
            q.append_pair("state", s);
        }
    }
    (StatusCode::FOUND, [(header::LOCATION, url.as_str().to_owned())]).into_response()
}

fn redirect_error(redirect_uri: &str, error: &str, description: &str, state: Option<&str>) -> Response {
    redirect_with(redirect_uri, &[("error", error), ("error_description", description)], state)
}

/// Query parameters of the authorization request.
#[derive(Debug, serde::Deserialize)]
pub struct AuthorizeQuery {
    client_id: Option<String>,
    redirect_uri: Option<String>,
    response_type: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    login_hint: Option<String>,
}

fn is_challenge(c: &str) -> bool {
    c.len() == 43 && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

async fn authorize(
    State(st): State<SandboxState>,
    query: Result<Query<AuthorizeQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(q)) = query else {
        return error_page(StatusCode::BAD_REQUEST, "The authorization request is malformed (repeated or badly encoded parameters).");
    };
    let Some(client) = q.client_id.as_deref().and_then(|id| st.config().client(id)).cloned() else {
        return error_page(StatusCode::BAD_REQUEST, "Unknown client_id.");
    };
    match q.redirect_uri.as_deref() {
        Some(r) if r == client.redirect_uri => {}
        Some(_) => return error_page(StatusCode::BAD_REQUEST, "redirect_uri does not match the one registered for this client."),
        None => return error_page(StatusCode::BAD_REQUEST, "redirect_uri is required."),
    }
    let ru = client.redirect_uri.as_str();
    let state = q.state.as_deref();
    match q.response_type.as_deref() {
        Some("code") => {}
        Some(_) => return redirect_error(ru, "unsupported_response_type", "Only response_type=code is supported", state),
        None => return redirect_error(ru, "invalid_request", "response_type is required", state),
    }
    let scopes = match parse_scopes(q.scope.as_deref().unwrap_or("")) {
        Ok(s) => s,
        Err(bad) if bad.is_empty() => return redirect_error(ru, "invalid_scope", "scope is required", state),
        Err(_) => return redirect_error(ru, "invalid_scope", "Unknown scope; use psd2_accounts and/or psd2_payments", state),
    };
    let challenge = match (q.code_challenge.as_deref(), q.code_challenge_method.as_deref()) {
        (None, None) => None,
        (Some(c), Some("S256")) if is_challenge(c) => Some(c.to_owned()),
        (Some(_), Some("S256")) => return redirect_error(ru, "invalid_request", "code_challenge must be 43 base64url characters", state),
        (Some(_), _) => return redirect_error(ru, "invalid_request", "Only code_challenge_method=S256 is supported", state),
        (None, Some(_)) => return redirect_error(ru, "invalid_request", "code_challenge_method without code_challenge", state),
    };
    let pending = PendingAuthorize {
        client: client.id.clone(),
        redirect_uri: client.redirect_uri.clone(),
        scopes,
        state: q.state.clone(),
        challenge,
        created: Instant::now(),
    };
    if st.config().controls {
        if let Some(person) = q.login_hint.as_deref().and_then(test_person) {
            tracing::info!(client = %client.id, person, "authorize: approved by login_hint (test controls)");
            return approve(&st, &pending, person);
        }
    }
    let id = random_token();
    let mut map = st.pending();
    map.retain(|_, p| p.created.elapsed() < PENDING_LIFETIME);
    map.insert(id.clone(), pending.clone());
    drop(map);
    login_page(StatusCode::OK, &id, &client.id, &pending.scopes, None)
}

fn approve(st: &SandboxState, p: &PendingAuthorize, person: &str) -> Response {
    let settings = st.settings();
    let code = st.tokens().new_code(
        CodeRequest {
            person: person.to_owned(),
            client: p.client.clone(),
            redirect_uri: p.redirect_uri.clone(),
            scopes: p.scopes.clone(),
            challenge: p.challenge.clone(),
        },
        &settings,
    );
    redirect_with(&p.redirect_uri, &[("code", &code)], p.state.as_deref())
}

#[derive(Debug, serde::Deserialize)]
struct LoginForm {
    request_id: String,
    #[serde(default)]
    personal_identity_number: String,
    #[serde(default)]
    action: String,
}

/// The login form's POST. Unknown number: the page again, HTTP 400 with the error text.
async fn login(State(st): State<SandboxState>, body: Bytes) -> Response {
    let Ok(form) = serde_urlencoded::from_bytes::<LoginForm>(&body) else {
        return error_page(StatusCode::BAD_REQUEST, "The login form is malformed.");
    };
    let pending = st.pending().get(&form.request_id).cloned();
    let Some(p) = pending.filter(|p| p.created.elapsed() < PENDING_LIFETIME) else {
        return error_page(StatusCode::BAD_REQUEST, "This login request is unknown or has expired. Start again from the application.");
    };
    if form.action == "cancel" {
        st.pending().remove(&form.request_id);
        return redirect_error(&p.redirect_uri, "access_denied", "The user cancelled the login", p.state.as_deref());
    }
    let Some(person) = test_person(&form.personal_identity_number) else {
        return login_page(
            StatusCode::BAD_REQUEST,
            &form.request_id,
            &p.client,
            &p.scopes,
            Some("Unknown sandbox identity number. Use one of the test persons below."),
        );
    };
    st.pending().remove(&form.request_id);
    tracing::info!(client = %p.client, person, "authorize: login approved");
    approve(&st, &p, person)
}

/// Token-endpoint response with `Cache-Control: no-store`.
pub fn token_response(status: StatusCode, set: &IssuedTokens) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store"), (header::PRAGMA, "no-cache")], Json(set)).into_response()
}

/// Compares two secrets via their digests (timing does not reveal a common prefix).
pub(crate) fn secrets_match(a: &str, b: &str) -> bool {
    // compare digests so timing does not reveal a common prefix
    Sha256::digest(a.as_bytes()) == Sha256::digest(b.as_bytes())
}

/// Decodes one `application/x-www-form-urlencoded` component (RFC 6749 §2.3.1).
fn form_decode(s: &str) -> Option<String> {
    if s.contains('&') || s.contains('=') {
        return None;
    }
    url::form_urlencoded::parse(s.as_bytes()).next().map(|(k, _)| k.into_owned()).or(Some(String::new()))
}

/// Authenticates the client from `Authorization: Basic` or the body (never both).
fn client_auth(st: &SandboxState, headers: &HeaderMap, form: &[(String, String)]) -> Result<Client, OAuthError> {
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let basic = match headers.get(header::AUTHORIZATION) {
        Some(v) => {
            let v = v.to_str().map_err(|_| OAuthError::new("invalid_client", "Malformed Authorization header"))?;
            let Some((scheme, b64)) = v.split_once(' ') else {
                return Err(OAuthError::new("invalid_client", "Malformed Authorization header"));
            };
            if !scheme.eq_ignore_ascii_case("basic") {
                return Err(OAuthError::new("invalid_client", "Only Basic client authentication is supported in the header"));
            }
            let raw = STANDARD
                .decode(b64.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| OAuthError::new("invalid_client", "Malformed Basic credentials"))?;
            let (id, secret) = raw.split_once(':').ok_or_else(|| OAuthError::new("invalid_client", "Malformed Basic credentials"))?;
            let (id, secret) =
                form_decode(id).zip(form_decode(secret)).ok_or_else(|| OAuthError::new("invalid_client", "Malformed Basic credentials"))?;
            Some((id, secret))
        }
        None => None,
    };
    let (id, secret) = match (basic, field("client_secret")) {
        (Some(_), Some(_)) => return Err(OAuthError::new("invalid_request", "Use one client authentication method, not both")),
        (Some((id, secret)), None) => {
            if field("client_id").is_some_and(|b| b != id) {
                return Err(OAuthError::new("invalid_request", "client_id differs from the authenticated client"));
            }
            (id, secret)
        }
        (None, Some(secret)) => (field("client_id").unwrap_or_default(), secret),
        (None, None) => return Err(OAuthError::new("invalid_client", "Client authentication is required")),
    };
    match st.config().client(&id) {
        Some(c) if secrets_match(&c.secret, &secret) => Ok(c.clone()),
        _ => Err(OAuthError::new("invalid_client", "Client authentication failed")),
    }
}

fn parse_form(body: &[u8]) -> Result<Vec<(String, String)>, OAuthError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|_| OAuthError::new("invalid_request", "The body must be application/x-www-form-urlencoded"))?;
    for (i, (k, _)) in pairs.iter().enumerate() {
        if pairs[..i].iter().any(|(k2, _)| k2 == k) {
            return Err(OAuthError::new("invalid_request", format!("Parameter {k} is repeated")));
        }
    }
    Ok(pairs)
}

async fn token(State(st): State<SandboxState>, headers: HeaderMap, body: Bytes) -> Response {
    match token_inner(&st, &headers, &body) {
        Ok(set) => token_response(StatusCode::OK, &set),
        Err(e) => e.into_response(),
    }
}

fn token_inner(st: &SandboxState, headers: &HeaderMap, body: &[u8]) -> Result<IssuedTokens, OAuthError> {
    let form = parse_form(body)?;
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty());
    let grant_type = field("grant_type").unwrap_or("");
    st.counters().token_call(if grant_type.is_empty() { "none" } else { grant_type });
    let client = client_auth(st, headers, &form)?;
    let settings = st.settings();
    match grant_type {
        "authorization_code" => {
            let code = field("code").ok_or_else(|| OAuthError::new("invalid_request", "code is required"))?;
            let result = st.tokens().redeem_code(code, &client.id, field("redirect_uri"), field("code_verifier"), &settings);
            result.map_err(|e| OAuthError::new("invalid_grant", e.0))
        }
        "refresh_token" => {
            let rt = field("refresh_token").ok_or_else(|| OAuthError::new("invalid_request", "refresh_token is required"))?;
            let scopes = match field("scope") {
                Some(s) => Some(parse_scopes(s).map_err(|_| OAuthError::new("invalid_scope", "Unknown scope"))?),
                None => None,
            };
            let result = st.tokens().refresh(rt, &client.id, scopes.as_deref(), &settings);
            result.map_err(|e| {
                st.counters().refresh_rejected();
                OAuthError::new("invalid_grant", e.0)
            })
        }
        "" => Err(OAuthError::new("invalid_request", "grant_type is required")),
        _ => Err(OAuthError::new("unsupported_grant_type", "Supported: authorization_code, refresh_token")),
    }
}

/// RFC 7009 revocation (sandbox extension): revoking a refresh token revokes its whole
/// grant; revoking an access token revokes that token. Always 200 for an authenticated
/// client, whether or not the token was known.
async fn revoke(State(st): State<SandboxState>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match parse_form(&body) {
        Ok(f) => f,
        Err(e) => return e.into_response(),
    };
    let client = match client_auth(&st, &headers, &form) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let Some(token) = form.iter().find(|(k, _)| k == "token").map(|(_, v)| v.as_str()).filter(|v| !v.is_empty()) else {
        return OAuthError::new("invalid_request", "token is required").into_response();
    };
    let found = st.tokens().revoke_token(token, Some(&client.id));
    tracing::info!(client = %client.id, found, "revoke");
    (StatusCode::OK, [(header::CACHE_CONTROL, "no-store")]).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes() {
        assert_eq!(parse_scopes("psd2_accounts  psd2_payments").unwrap().len(), 2);
        assert!(parse_scopes("").is_err());
        assert_eq!(parse_scopes("psd2_accounts openid").unwrap_err(), "openid");
    }

    #[test]
    fn basic_component_decoding() {
        assert_eq!(form_decode("a%3Ab+c").as_deref(), Some("a:b c"));
        assert_eq!(form_decode("a&b"), None);
    }
}
