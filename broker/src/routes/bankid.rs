//! `POST /auth/bankid`, `GET /auth/bankid/{id}`, `DELETE /auth/bankid/{id}`: sign in with
//! Mobile BankID through the bank's decoupled authorization ([`crate::decoupled`]).
//!
//! The browser starts a login and polls it; the broker starts the bank's order, asks the bank
//! at each poll (a fresh animated QR code every second), and when the person has signed it
//! fetches the tokens with the client secret and makes the session exactly as the redirect
//! login does ([`crate::session::establish`]). The browser sees an opaque id, hint codes, the
//! QR data and BankID's autostart link — never the bank's order id or a token.
//!
//! A login is bound to the browser that started it: it lives in the sealed login cookie
//! ([`crate::session::login`]) like a redirect login's `state`, so another browser asking for
//! the id gets 404. It completes once: the id is claimed in the store before the tokens are
//! fetched (also across replicas, also against a copied cookie). All three calls need
//! `X-Valv-CSRF: 1` (a poll can set the session cookie). `PSU-IP-Address` is the browser's
//! address, as on the proxy path.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::auth::{choose_scopes, random_b64};
use crate::decoupled::{self, Order};
use crate::error::{ApiError, ErrorCode};
use crate::oauth::TokenError;
use crate::policy::csrf::check_csrf;
use crate::policy::headers::ClientAddr;
use crate::policy::return_to::validate_return_to;
use crate::session::establish::establish;
use crate::session::login::{self, PendingLogin, MAX_RETURN_TO, PENDING_LIFETIME_SECS};
use crate::session::{now, resolve, store_failure};
use crate::state::{AppState, Provider};
use valv_wire::BankIdStatus;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct StartBody {
    provider: Option<String>,
    scopes: Option<Vec<String>>,
    return_to: Option<String>,
}

/// What the browser is told at each step.
#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct Progress {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    hint_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    qr_data: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auto_start_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    poll_delay_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    return_to: Option<String>,
}

fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "No Mobile BankID login with this id was started in this browser (or it is over).")
}

fn bank_error(e: &TokenError) -> ApiError {
    match e {
        TokenError::Timeout => ApiError::upstream_timeout(),
        TokenError::OAuth(_) => ApiError::upstream_unavailable("The bank refused to start a Mobile BankID login."),
        _ => ApiError::upstream_unavailable("The bank's Mobile BankID service could not be reached or gave an invalid answer."),
    }
}

fn with_cookie(mut res: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(c) = cookie {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

/// The browser's address as the bank wants it (`PSU-IP-Address`).
fn psu_ip(addr: &Option<Extension<ClientAddr>>) -> Option<String> {
    addr.as_ref().map(|Extension(ClientAddr(ip))| ip.to_string())
}

/// The provider of a BankID login and its decoupled API.
fn provider_of<'s>(state: &'s AppState, name: &str) -> Result<(&'s Provider, &'s crate::config::DecoupledConfig), ApiError> {
    let provider = state.provider(name).ok_or_else(|| ApiError::bad_request("Unknown provider."))?;
    let cfg = provider
        .config
        .decoupled
        .as_ref()
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "This provider offers no Mobile BankID login (no decoupled_url)."))?;
    Ok((provider, cfg))
}

/// The answer for a pending order.
fn pending(id: String, order: Order) -> Progress {
    match order {
        Order::Pending { hint_code, qr_data, autostart_token, poll_delay_ms } => Progress {
            id: Some(id),
            status: BankIdStatus::Pending.as_str(),
            hint_code: Some(hint_code.unwrap_or_else(|| "outstandingTransaction".to_owned())),
            qr_data,
            auto_start_url: autostart_token.as_deref().map(valv_wire::bankid_autostart_url),
            poll_delay_ms: Some(poll_delay_ms),
            return_to: None,
        },
        Order::Failed { hint_code } => {
            Progress { status: BankIdStatus::Failed.as_str(), hint_code: Some(hint_code), ..Progress::default() }
        }
        Order::Complete => {
            Progress { id: Some(id), status: BankIdStatus::Pending.as_str(), hint_code: Some("userSign".to_owned()), ..Progress::default() }
        }
    }
}

/// `POST /auth/bankid` `{"provider"?, "scopes"?, "returnTo"?}` → 201 with the first step.
pub(crate) async fn start(
    State(state): State<AppState>,
    addr: Option<Extension<ClientAddr>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    check_csrf(&headers, &state.origin, &state.config.cors_allowed_origins).map_err(ApiError::csrf)?;
    let b: StartBody = serde_json::from_slice(if body.is_empty() { b"{}" } else { &body })
        .map_err(|_| ApiError::bad_request("The body must be JSON: {\"provider\", \"scopes\", \"returnTo\"}, each optional."))?;
    let name = match b.provider.filter(|p| !p.is_empty()) {
        Some(p) => p,
        None if state.providers.len() == 1 => state.providers.keys().next().cloned().unwrap_or_default(),
        None => return Err(ApiError::bad_request("The provider is required.")),
    };
    let (provider, cfg) = provider_of(&state, &name)?;
    let return_to = validate_return_to(b.return_to.as_deref().unwrap_or("/")).map_err(ApiError::bad_request)?.to_owned();
    if return_to.len() > MAX_RETURN_TO {
        return Err(ApiError::bad_request(format!("returnTo is longer than {MAX_RETURN_TO} bytes.")));
    }
    let scopes = choose_scopes(&provider.config, b.scopes.map(|s| s.join(" ")).as_deref())?;
    let ip = psu_ip(&addr);
    let order = decoupled::start(&state, provider, cfg, &scopes, ip.as_deref()).await.map_err(|e| bank_error(&e))?;
    let first = decoupled::status(&state, provider, cfg, &order, ip.as_deref()).await.map_err(|e| bank_error(&e))?;
    let id = random_b64(32);
    let mut logins = login::read(&state, &headers);
    logins.push(PendingLogin {
        state: id.clone(),
        verifier: None,
        provider: name.clone(),
        return_to,
        scopes,
        created_at: now(),
        decoupled: Some(order),
    });
    let cookie = login::cookie(&state, &mut logins);
    tracing::info!(provider = %name, "Mobile BankID login started");
    let progress = pending(id, first);
    Ok(with_cookie((StatusCode::CREATED, Json(progress)).into_response(), cookie))
}

/// `GET /auth/bankid/{id}`: the next step; on `complete` the session cookie is set.
pub(crate) async fn poll(
    State(state): State<AppState>,
    addr: Option<Extension<ClientAddr>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    check_csrf(&headers, &state.origin, &state.config.cors_allowed_origins).map_err(ApiError::csrf)?;
    let wanted = Sha256::digest(id.as_bytes());
    let mut logins = login::read(&state, &headers);
    let index = login::find(&logins, &wanted, true).ok_or_else(not_found)?;
    let name = logins[index].provider.clone();
    let (provider, cfg) = provider_of(&state, &name)?;
    let order = logins[index].decoupled.clone().unwrap_or_default();
    let ip = psu_ip(&addr);
    let step = decoupled::status(&state, provider, cfg, &order, ip.as_deref()).await.map_err(|e| bank_error(&e))?;
    match step {
        Order::Pending { .. } => Ok(Json(pending(id, step)).into_response()),
        Order::Failed { hint_code } => {
            logins.remove(index);
            let cookie = login::cookie(&state, &mut logins);
            tracing::info!(provider = %name, hint_code = %hint_code, "Mobile BankID login failed");
            let body = Progress { status: BankIdStatus::Failed.as_str(), hint_code: Some(hint_code), ..Progress::default() };
            Ok(with_cookie(Json(body).into_response(), cookie))
        }
        Order::Complete => {
            let p = logins.remove(index);
            let cookie = login::cookie(&state, &mut logins);
            // Once: claimed before the bank is asked for tokens.
            let claim = login::claim_key(&wanted);
            let lifetime = std::time::Duration::from_secs(PENDING_LIFETIME_SECS.unsigned_abs());
            let claimed = state.store.claim(&claim, lifetime).await.map_err(store_failure)?;
            if !claimed {
                tracing::warn!(provider = %name, "a Mobile BankID login that was already completed");
                return Ok(with_cookie(not_found().into_response(), cookie));
            }
            let tokens = match decoupled::tokens(&state, provider, cfg, &order, &p.scopes).await {
                Ok(t) => t,
                Err(e) => return Ok(with_cookie(bank_error(&e).into_response(), cookie)),
            };
            let session_id = match establish(&state, &headers, &name, tokens).await {
                Ok(s) => s,
                Err(e) => return Ok(with_cookie(e.into_response(), cookie)),
            };
            tracing::info!(provider = %name, "Mobile BankID login complete");
            let body = Progress { status: BankIdStatus::Complete.as_str(), return_to: Some(p.return_to), ..Progress::default() };
            let res = with_cookie(Json(body).into_response(), resolve::cookie(&state, Some(&session_id), false));
            Ok(with_cookie(res, cookie))
        }
    }
}

/// `DELETE /auth/bankid/{id}`: the login is forgotten (204); polling it then gives 404.
pub(crate) async fn cancel(State(state): State<AppState>, Path(id): Path<String>, headers: HeaderMap) -> Result<Response, ApiError> {
    check_csrf(&headers, &state.origin, &state.config.cors_allowed_origins).map_err(ApiError::csrf)?;
    let mut logins = login::read(&state, &headers);
    let index = login::find(&logins, &Sha256::digest(id.as_bytes()), true).ok_or_else(not_found)?;
    let p = logins.remove(index);
    tracing::info!(provider = %p.provider, "Mobile BankID login cancelled");
    Ok(with_cookie(StatusCode::NO_CONTENT.into_response(), login::cookie(&state, &mut logins)))
}
