//! SEB's decoupled authorization v4 (`/auth/v4/…`), as its migration notes describe it:
//! `psu-ip-address` required on start and status, BankID's camelCase hint codes
//! (`outstandingTransaction`, `userSign`, SEB's `sebTimeout`, …), RFC 9457 problem bodies
//! with problem-type URIs, and 400 (not v3's 422) for a bad client, a bad redirect URI or a
//! reused refresh token.
//!
//! `start_mode` is required (`ast` or `qr`). With `qr` every status poll carries a fresh
//! `qr_data` in BankID's animated-QR form, `bankid.<qrStartToken>.<seconds>.<HMAC-SHA256 of the
//! seconds under qrStartSecret, hex>`, seconds counted from the start of the order. (SEB
//! documents only that it "returns a qr code string"; BankID requires animated QR codes, so
//! the sandbox assumes SEB passes BankID's on — the member name `qr_data` is its assumption
//! too.) Both modes carry `autostart_token` for BankID on the same device.
//!
//! A pending order goes `outstandingTransaction` → (the mock login: the person opened BankID
//! and signed) one poll of `userSign` → `COMPLETE`. It fails with `expiredTransaction` when
//! nobody signs within [`ORDER_TIMEOUT`], or with whatever hint code the test controls set
//! (`POST /__sandbox/decoupled/fail`: `userCancel`, `startFailed`, `sebTimeout`, or any code
//! at all, since a client must pass unknown codes on).

use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use valv_psd2::{
    DecoupledAuthorizationCreated, DecoupledAuthorizationRequest, DecoupledAuthorizationStatus, DecoupledStatus, DecoupledTokenRequest,
};

use crate::decoupled::{DecoupledAuth, AUTH_LIFETIME};
use crate::oauth::{parse_scopes, secrets_match, token_response};
use crate::state::SandboxState;

/// How long BankID waits for the person to sign before the order expires.
pub const ORDER_TIMEOUT: Duration = Duration::from_secs(180);

/// The v4 routes.
pub fn router() -> Router<SandboxState> {
    Router::new()
        .route("/auth/v4/authorizations", post(start))
        .route("/auth/v4/authorizations/{id}", get(status))
        .route("/auth/v4/tokens", post(tokens))
}

/// An RFC 9457 problem as v4 answers it.
fn problem(status: StatusCode, kind: &str, detail: &str, instance: &str) -> Response {
    let body = json!({
        "type": if kind == "about:blank" { kind.to_owned() } else { format!("https://authorize.sebgroup.com/problems/{kind}") },
        "title": if status == StatusCode::NOT_FOUND { "Not Found" } else { "Invalid parameter value" },
        "status": status.as_u16(),
        "detail": detail,
        "instance": instance,
    });
    (status, [(header::CONTENT_TYPE, "application/problem+json")], body.to_string()).into_response()
}

#[allow(clippy::result_large_err)]
fn psu_ip(headers: &HeaderMap, instance: &str) -> Result<(), Response> {
    let ok = headers.get("psu-ip-address").and_then(|v| v.to_str().ok()).is_some_and(|v| v.trim().parse::<std::net::IpAddr>().is_ok());
    if ok {
        Ok(())
    } else {
        Err(problem(
            StatusCode::BAD_REQUEST,
            "missing-psu-ip-address",
            "The header psu-ip-address is required (the PSU's IP address)",
            instance,
        ))
    }
}

async fn start(State(st): State<SandboxState>, headers: HeaderMap, body: Bytes) -> Response {
    const AT: &str = "/auth/v4/authorizations";
    if let Err(r) = psu_ip(&headers, AT) {
        return r;
    }
    let Ok(b) = serde_json::from_slice::<DecoupledAuthorizationRequest>(&body) else {
        return problem(StatusCode::BAD_REQUEST, "invalid-request", "The request body is not valid JSON for this operation", AT);
    };
    let Some(client) = Some(b.client_id).filter(|c| st.config().client(c).is_some()) else {
        return problem(StatusCode::BAD_REQUEST, "invalid-client", "client_id is missing or unknown", AT);
    };
    let mode = match b.start_mode.as_deref() {
        Some(m @ ("ast" | "qr")) => m.to_owned(),
        _ => return problem(StatusCode::BAD_REQUEST, "invalid-start-mode", "start_mode is required: ast or qr", AT),
    };
    let Ok(scopes) = parse_scopes(&b.scope) else {
        return problem(StatusCode::BAD_REQUEST, "invalid-scope", "scope is missing or unknown", AT);
    };
    let id = uuid::Uuid::new_v4().to_string();
    let qr = (mode == "qr").then(|| (uuid::Uuid::new_v4().to_string(), uuid::Uuid::new_v4().to_string()));
    let mut map = st.decoupled();
    map.retain(|_, a| a.created.elapsed() < AUTH_LIFETIME);
    map.insert(
        id.clone(),
        DecoupledAuth {
            client,
            scopes,
            autostart_token: uuid::Uuid::new_v4().to_string(),
            person: None,
            consumed: false,
            created: Instant::now(),
            qr,
            polls_after_login: 0,
            failed: None,
            v4: true,
        },
    );
    drop(map);
    (StatusCode::CREATED, Json(DecoupledAuthorizationCreated::new(id))).into_response()
}

/// A v4 status with `status` and v4's poll delay.
fn status_of(status: DecoupledStatus) -> DecoupledAuthorizationStatus {
    DecoupledAuthorizationStatus { poll_delay: Some(1000), ..DecoupledAuthorizationStatus::new(status) }
}

/// BankID's animated QR data for an order `elapsed` into its life.
pub fn qr_data(start_token: &str, start_secret: &str, elapsed: Duration) -> String {
    let seconds = elapsed.as_secs().to_string();
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(start_secret.as_bytes()).unwrap_or_else(|_| unreachable!("HMAC takes any key"));
    mac.update(seconds.as_bytes());
    let code: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("bankid.{start_token}.{seconds}.{code}")
}

async fn status(State(st): State<SandboxState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let at = format!("/auth/v4/authorizations/{id}");
    if let Err(r) = psu_ip(&headers, &at) {
        return r;
    }
    let mut map = st.decoupled();
    let Some(a) = map.get_mut(&id).filter(|a| a.v4) else {
        return problem(StatusCode::NOT_FOUND, "about:blank", "Unknown authorization id", &at);
    };
    if a.is_waiting() && a.created.elapsed() > ORDER_TIMEOUT {
        a.failed = Some("expiredTransaction".to_owned());
    }
    let with_hint = |status, hint: &str| DecoupledAuthorizationStatus { hint_code: Some(hint.to_owned()), ..status_of(status) };
    let body = if let Some(code) = &a.failed {
        with_hint(DecoupledStatus::Failed, code)
    } else if a.person.is_some() {
        a.polls_after_login += 1;
        if a.polls_after_login == 1 {
            with_hint(DecoupledStatus::Pending, "userSign")
        } else {
            status_of(DecoupledStatus::Complete)
        }
    } else {
        DecoupledAuthorizationStatus {
            autostart_token: Some(a.autostart_token.clone()),
            qr_data: a.qr.as_ref().map(|(token, secret)| qr_data(token, secret, a.created.elapsed())),
            ..with_hint(DecoupledStatus::Pending, "outstandingTransaction")
        }
    };
    drop(map);
    (StatusCode::OK, Json(body)).into_response()
}

async fn tokens(State(st): State<SandboxState>, body: Bytes) -> Response {
    const AT: &str = "/auth/v4/tokens";
    let Ok(b) = serde_json::from_slice::<DecoupledTokenRequest>(&body) else {
        return problem(StatusCode::BAD_REQUEST, "invalid-request", "The request body is not valid JSON for this operation", AT);
    };
    let kind = if b.refresh_token.is_some() { "decoupled_refresh_token" } else { "decoupled_auth_req_id" };
    st.counters().token_call(kind);
    let client = match st.config().client(&b.client_id) {
        Some(c) if secrets_match(&c.secret, &b.client_secret) => c.clone(),
        _ => return problem(StatusCode::BAD_REQUEST, "invalid-client", "Invalid client credentials", AT),
    };
    if b.redirect_uri.as_deref() != Some(client.redirect_uri.as_str()) {
        return problem(StatusCode::BAD_REQUEST, "invalid-redirect-uri", "redirect_uri is required and must match the registered one", AT);
    }
    let settings = st.settings();
    match (b.auth_req_id, b.refresh_token) {
        (Some(id), None) => {
            let mut map = st.decoupled();
            let Some(a) = map.get_mut(&id).filter(|a| a.v4 && a.client == client.id) else {
                return problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid-auth-req-id", "Unknown auth_req_id", AT);
            };
            if a.consumed {
                return problem(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid-auth-req-id",
                    "The provided id has already been used to retrieve an access token",
                    AT,
                );
            }
            let Some(person) = a.person.clone().filter(|_| a.failed.is_none()) else {
                return problem(StatusCode::CONFLICT, "authorization-not-complete", "The authorization is not complete", AT);
            };
            a.consumed = true;
            let scopes = a.scopes.clone();
            drop(map);
            let set = st.tokens().grant(&person, &client.id, scopes, &settings);
            token_response(StatusCode::CREATED, &set)
        }
        (None, Some(rt)) => match st.tokens().refresh(&rt, &client.id, None, &settings) {
            Ok(set) => token_response(StatusCode::CREATED, &set),
            Err(_) => {
                st.counters().refresh_rejected();
                problem(StatusCode::BAD_REQUEST, "invalid-refresh-token", "The provided refresh token is invalid", AT)
            }
        },
        _ => problem(StatusCode::BAD_REQUEST, "invalid-request", "Exactly one of auth_req_id and refresh_token is required", AT),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qr_data_is_bankids_animated_form() {
        // HMAC-SHA256 under the secret of "0" (the first second), hex — as computed by Python's hmac.
        let d = qr_data("67df3917-fa0d-44e5-b327-edcc928297f8", "d28db9a7-4cde-429e-a983-359be676944c", Duration::from_secs(0));
        assert_eq!(d, "bankid.67df3917-fa0d-44e5-b327-edcc928297f8.0.dc69358e712458a66a7525beef148ae8526b1c71610eff2c16cdffb4cdac9bf8");
        let later = qr_data("t", "s", Duration::from_millis(2500));
        assert!(later.starts_with("bankid.t.2."), "{later}");
        assert_ne!(qr_data("t", "s", Duration::from_secs(1)), qr_data("t", "s", Duration::from_secs(2)));
    }
}
