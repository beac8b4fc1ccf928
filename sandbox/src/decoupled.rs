//! SEB's decoupled authorization v3, the state it shares with v4 ([`crate::decoupled_v4`]),
//! and the sandbox's mock login (the "phone" of a test person).

use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use valv_psd2::{
    DecoupledAuthorizationCreated, DecoupledAuthorizationRequest, DecoupledAuthorizationStatus, DecoupledStatus, DecoupledTokenRequest,
    MockLoginRequest,
};

use crate::auth::test_person;
use crate::error::AuthV3Error;
use crate::oauth::{parse_scopes, secrets_match, token_response};
use crate::state::SandboxState;

/// State of one decoupled authorization.
#[derive(Debug, Clone)]
pub struct DecoupledAuth {
    pub(crate) client: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) autostart_token: String,
    /// `Some(person)` once the mock login completed it.
    pub(crate) person: Option<String>,
    /// Tokens were issued for it already.
    pub(crate) consumed: bool,
    pub(crate) created: Instant,
    /// v4 QR: the order's `qrStartToken` and `qrStartSecret`.
    pub(crate) qr: Option<(String, String)>,
    /// v4: the status polls seen since the mock login (the first says `userSign`).
    pub(crate) polls_after_login: u32,
    /// A failure the test controls chose (`userCancel`, `startFailed`, …).
    pub(crate) failed: Option<String>,
    /// Made through v4.
    pub(crate) v4: bool,
}

impl DecoupledAuth {
    /// Nobody has signed it yet and it has not failed.
    pub(crate) fn is_waiting(&self) -> bool {
        self.person.is_none() && self.failed.is_none()
    }
}

/// How long a decoupled authorization is remembered.
pub(crate) const AUTH_LIFETIME: Duration = Duration::from_secs(600);

/// The decoupled-flow routes.
pub fn router() -> Router<SandboxState> {
    Router::new()
        .route("/auth/v3/authorizations", post(start))
        .route("/auth/v3/authorizations/{id}", get(status))
        .route("/open/sb/auth/mock/v1/login", post(mock_login))
        .route("/auth/v3/tokens", post(tokens))
}

fn bad(status: StatusCode, title: &str) -> Response {
    AuthV3Error::new(status, "Invalid parameter value", title).into_response()
}

#[allow(clippy::result_large_err)]
fn json_body<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, Response> {
    serde_json::from_slice(body).map_err(|_| bad(StatusCode::BAD_REQUEST, "The request body is not valid JSON for this operation"))
}

async fn start(State(st): State<SandboxState>, body: Bytes) -> Response {
    let b: DecoupledAuthorizationRequest = match json_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    if st.config().client(&b.client_id).is_none() {
        return bad(StatusCode::UNPROCESSABLE_ENTITY, "Unknown client_id");
    }
    if let Some(m) = b.start_mode.as_deref() {
        if m != "ast" && m != "qr" {
            return bad(StatusCode::BAD_REQUEST, "start_mode must be ast or qr");
        }
    }
    let Ok(scopes) = parse_scopes(&b.scope) else {
        return bad(StatusCode::BAD_REQUEST, "Unknown or missing scope");
    };
    let id = uuid::Uuid::new_v4().to_string();
    let mut map = st.decoupled();
    map.retain(|_, a| a.created.elapsed() < AUTH_LIFETIME);
    map.insert(
        id.clone(),
        DecoupledAuth {
            client: b.client_id,
            scopes,
            autostart_token: uuid::Uuid::new_v4().to_string(),
            person: None,
            consumed: false,
            created: Instant::now(),
            qr: None,
            polls_after_login: 0,
            failed: None,
            v4: false,
        },
    );
    drop(map);
    (StatusCode::CREATED, Json(DecoupledAuthorizationCreated::new(id))).into_response()
}

async fn status(State(st): State<SandboxState>, Path(id): Path<String>) -> Response {
    let Some(a) = st.decoupled().get(&id).cloned() else {
        return AuthV3Error::new(StatusCode::NOT_FOUND, "Not Found", "Unknown auth_req_id").into_response();
    };
    let body = if let Some(code) = &a.failed {
        DecoupledAuthorizationStatus { hint_code: Some(v3_hint_code(code)), ..status_of(DecoupledStatus::Failed) }
    } else if a.person.is_some() {
        status_of(DecoupledStatus::Complete)
    } else {
        DecoupledAuthorizationStatus {
            hint_code: Some("OUTSTANDING_TRANSACTION".to_owned()),
            autostart_token: Some(a.autostart_token),
            ..status_of(DecoupledStatus::Pending)
        }
    };
    (StatusCode::OK, Json(body)).into_response()
}

/// A v3 status with `status` and v3's poll delay.
fn status_of(status: DecoupledStatus) -> DecoupledAuthorizationStatus {
    DecoupledAuthorizationStatus { poll_delay: Some(500), ..DecoupledAuthorizationStatus::new(status) }
}

/// v3's form of a hint code: `userCancel` → `USER_CANCEL`.
fn v3_hint_code(code: &str) -> String {
    let mut out = String::with_capacity(code.len() + 4);
    for c in code.chars() {
        if c.is_ascii_uppercase() && !out.is_empty() {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

async fn mock_login(State(st): State<SandboxState>, body: Bytes) -> Response {
    let b: MockLoginRequest = match json_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(person) = test_person(&b.personal_identity_number) else {
        return bad(StatusCode::UNPROCESSABLE_ENTITY, "Unknown sandbox identity number");
    };
    let mut map = st.decoupled();
    let Some(a) = map.values_mut().find(|a| a.autostart_token == b.start_token) else {
        return AuthV3Error::new(StatusCode::NOT_FOUND, "Not Found", "Unknown start_token").into_response();
    };
    if !a.is_waiting() {
        return AuthV3Error::new(StatusCode::CONFLICT, "Conflict", "The authorization is already complete").into_response();
    }
    a.person = Some(person.to_owned());
    StatusCode::NO_CONTENT.into_response()
}

async fn tokens(State(st): State<SandboxState>, body: Bytes) -> Response {
    let b: DecoupledTokenRequest = match json_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let kind = if b.refresh_token.is_some() { "decoupled_refresh_token" } else { "decoupled_auth_req_id" };
    st.counters().token_call(kind);
    let client = match st.config().client(&b.client_id) {
        Some(c) if secrets_match(&c.secret, &b.client_secret) => c.clone(),
        _ => return bad(StatusCode::UNPROCESSABLE_ENTITY, "Invalid client credentials"),
    };
    if let Some(r) = b.redirect_uri.as_deref().filter(|r| !r.is_empty()) {
        if r != client.redirect_uri {
            return bad(StatusCode::UNPROCESSABLE_ENTITY, "redirect_uri does not match the registered one");
        }
    }
    let settings = st.settings();
    match (b.auth_req_id, b.refresh_token) {
        (Some(id), None) => {
            let mut map = st.decoupled();
            let Some(a) = map.get_mut(&id) else {
                return bad(StatusCode::UNPROCESSABLE_ENTITY, "Unknown auth_req_id");
            };
            if a.client != client.id {
                return bad(StatusCode::UNPROCESSABLE_ENTITY, "auth_req_id belongs to another client");
            }
            if a.consumed {
                return bad(StatusCode::UNPROCESSABLE_ENTITY, "auth_req_id was already used");
            }
            let Some(person) = a.person.clone() else {
                return AuthV3Error::new(StatusCode::CONFLICT, "Conflict", "The authorization is not complete").into_response();
            };
            a.consumed = true;
            let scopes = a.scopes.clone();
            drop(map);
            let set = st.tokens().grant(&person, &client.id, scopes, &settings);
            token_response(StatusCode::CREATED, &set)
        }
        (None, Some(rt)) => {
            let result = st.tokens().refresh(&rt, &client.id, None, &settings);
            match result {
                Ok(set) => token_response(StatusCode::CREATED, &set),
                Err(_) => {
                    st.counters().refresh_rejected();
                    bad(StatusCode::UNPROCESSABLE_ENTITY, "Invalid refresh_token")
                }
            }
        }
        _ => bad(StatusCode::BAD_REQUEST, "Exactly one of auth_req_id and refresh_token is required"),
    }
}
