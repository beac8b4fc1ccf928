//! Test controls under `/__sandbox/` (only mounted with `--controls`): settings, injected
//! faults (a middleware), counters, reset, grant revocation, token expiry.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::auth::test_person;
use crate::error::{OAuthError, Problem};
use crate::signing::{self, Found};
use crate::state::SandboxState;

/// Call counters, as served by `GET /__sandbox/counters`.
#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counters {
    /// Token-endpoint calls by grant type (`authorization_code`, `refresh_token`,
    /// `decoupled_auth_req_id`, `decoupled_refresh_token`, or `none`).
    pub token_calls: BTreeMap<String, u64>,
    /// Authenticated API calls by `METHOD /route/{param}`.
    pub api_calls: BTreeMap<String, u64>,
    /// Refresh attempts refused (invalid, revoked or reused refresh token).
    pub refresh_rejections: u64,
    /// API calls refused for their access token (unknown, expired or revoked).
    pub token_rejections: u64,
}

impl Counters {
    /// Counts a token-endpoint call.
    pub fn token_call(&mut self, grant_type: &str) {
        let key = if grant_type.len() > 64 { "other" } else { grant_type };
        *self.token_calls.entry(key.to_owned()).or_default() += 1;
    }

    /// Counts an API call.
    pub fn api_call(&mut self, method: &str, route: &str) {
        *self.api_calls.entry(format!("{method} {route}")).or_default() += 1;
    }

    /// Counts an API call refused for its access token.
    pub fn token_rejected(&mut self) {
        self.token_rejections += 1;
    }

    /// Counts a refused refresh.
    pub fn refresh_rejected(&mut self) {
        self.refresh_rejections += 1;
    }
}

/// One fault rule. `endpoint` is a group (`token`, `authorize`, `auth`, `ais`, `pis`) or a
/// path prefix starting with `/`; `path` is an exact path. With both absent the rule
/// matches every non-control path.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultRule {
    /// Group or path prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Exact path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Only this HTTP method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Delay before answering, in milliseconds.
    #[serde(default)]
    pub latency_ms: u64,
    /// Apply the latency only to the next N matching calls (absent: every call).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_next: Option<u64>,
    /// Delay the answer *after* the call was carried out (a slow way back): the call's
    /// effects stand even when the caller gives up waiting.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub latency_after: bool,
    /// Probability (0..=1) that a matching call fails with `status`.
    #[serde(default)]
    pub failure_rate: f64,
    /// Fail exactly the next N matching calls (deterministic).
    #[serde(default)]
    pub fail_next: u64,
    /// Status of an injected failure (default 503).
    #[serde(default = "default_status")]
    pub status: u16,
    /// `Retry-After` seconds on injected failures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// Berlin Group code of an injected API failure (e.g. `CONSENT_INVALID`; default by
    /// status: `TOKEN_INVALID` for 401, `ACCESS_EXCEEDED` for 429, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

fn default_status() -> u16 {
    503
}

/// The Berlin Group codes an injected failure may carry.
const KNOWN_CODES: &[&str] = &[
    "CONSENT_INVALID",
    "CONSENT_EXPIRED",
    "CONSENT_UNKNOWN",
    "TOKEN_INVALID",
    "TOKEN_EXPIRED",
    "TOKEN_UNKNOWN",
    "ACCESS_EXCEEDED",
    "SERVICE_UNAVAILABLE",
    "INTERNAL_SERVER_ERROR",
    "RESOURCE_UNKNOWN",
    "FORMAT_ERROR",
];

/// `code` as one of [`KNOWN_CODES`].
fn known_code(code: &str) -> Option<&'static str> {
    KNOWN_CODES.iter().copied().find(|k| *k == code)
}

/// The active fault rules.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// Rules, first match wins for failures; latencies add up.
    pub rules: Vec<FaultRule>,
}

fn group_matches(endpoint: &str, path: &str) -> bool {
    match endpoint {
        "token" => path == "/mga/sps/oauth/oauth20/token" || path == "/auth/v3/tokens",
        "authorize" => path == "/mga/sps/oauth/oauth20/authorize",
        "auth" => path.starts_with("/auth/") || path.starts_with("/mga/") || path.starts_with("/open/sb/auth/"),
        "ais" => path.starts_with("/ais/"),
        "pis" => path.starts_with("/pis/") || path.starts_with("/cof/"),
        p if p.starts_with('/') => path.starts_with(p),
        _ => false,
    }
}

impl FaultRule {
    fn matches(&self, method: &Method, path: &str) -> bool {
        self.method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(method.as_str()))
            && self.path.as_deref().is_none_or(|p| p == path)
            && self.endpoint.as_deref().is_none_or(|e| group_matches(e, path))
    }

    fn validate(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.failure_rate) {
            return Err("failureRate must be within 0..1".into());
        }
        if !(400..=599).contains(&self.status) {
            return Err("status must be 400..599".into());
        }
        if let Some(e) = &self.endpoint {
            if !e.starts_with('/') && !["token", "authorize", "auth", "ais", "pis"].contains(&e.as_str()) {
                return Err(format!("unknown endpoint group {e}"));
            }
        }
        if let Some(m) = &self.method {
            if Method::from_bytes(m.as_bytes()).is_err() {
                return Err("method is not an HTTP method".into());
            }
        }
        if self.latency_ms > 60_000 {
            return Err("latencyMs must be at most 60000".into());
        }
        Ok(())
    }
}

/// Applies injected latency and failures to every non-control request.
pub async fn fault_middleware(State(st): State<SandboxState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    if path.starts_with("/__sandbox") {
        return next.run(req).await;
    }
    let method = req.method().clone();
    let (delay, delay_after, failure) = {
        let mut faults = st.faults();
        let mut delay = 0u64;
        let mut delay_after = 0u64;
        let mut failure = None;
        for rule in faults.rules.iter_mut().filter(|r| r.matches(&method, &path)) {
            if rule.latency_ms > 0 {
                let slot = if rule.latency_after { &mut delay_after } else { &mut delay };
                match rule.latency_next.as_mut() {
                    None => *slot += rule.latency_ms,
                    Some(n) if *n > 0 => {
                        *n -= 1;
                        *slot += rule.latency_ms;
                    }
                    Some(_) => {}
                }
            }
            if failure.is_none() {
                if rule.fail_next > 0 {
                    rule.fail_next -= 1;
                    failure = Some((rule.status, rule.retry_after, rule.code.clone()));
                } else if rule.failure_rate > 0.0 && rand::random::<f64>() < rule.failure_rate {
                    failure = Some((rule.status, rule.retry_after, rule.code.clone()));
                }
            }
        }
        faults.rules.retain(|r| r.fail_next > 0 || r.failure_rate > 0.0 || (r.latency_ms > 0 && r.latency_next != Some(0)));
        (delay, delay_after, failure)
    };
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let Some((status, retry_after, injected_code)) = failure else {
        let res = next.run(req).await;
        if delay_after > 0 {
            tokio::time::sleep(Duration::from_millis(delay_after)).await;
        }
        return res;
    };
    tracing::info!(%method, %path, status, "injected failure");
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let mut res = if path == "/mga/sps/oauth/oauth20/token" {
        let mut e = OAuthError::new("temporarily_unavailable", "Injected failure (sandbox test controls)");
        e.status = status;
        e.into_response()
    } else {
        let code = match status.as_u16() {
            429 => "ACCESS_EXCEEDED",
            500 => "INTERNAL_SERVER_ERROR",
            503 => "SERVICE_UNAVAILABLE",
            401 => "TOKEN_INVALID",
            404 => "RESOURCE_UNKNOWN",
            _ => "FORMAT_ERROR",
        };
        let code = injected_code.as_deref().and_then(known_code).unwrap_or(code);
        Problem::new(status, code, "Injected failure (sandbox test controls)").into_response()
    };
    if let Some(s) = retry_after {
        if let Ok(v) = HeaderValue::from_str(&s.to_string()) {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    res
}

/// The control routes (CORS is opened on them by [`crate::app`]).
pub fn router() -> Router<SandboxState> {
    Router::new()
        .route("/__sandbox/config", get(get_config).put(put_config))
        .route("/__sandbox/faults", get(get_faults).put(put_faults))
        .route("/__sandbox/failures", post(add_failure))
        .route("/__sandbox/latency", post(add_latency))
        .route("/__sandbox/counters", get(counters))
        .route("/__sandbox/reset", post(reset))
        .route("/__sandbox/grants/revoke", post(revoke_grants))
        .route("/__sandbox/revoke", post(revoke_person))
        .route("/__sandbox/tokens/expire", post(expire_tokens))
        .route("/__sandbox/tokens", get(issued_tokens))
        .route("/__sandbox/decoupled/fail", post(fail_decoupled))
        .route("/__sandbox/decoupled/sign", post(sign_decoupled))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SignBody {
    /// Who signs (a sandbox test person).
    personal_identity_number: String,
    /// The order's autostart token (what BankID on the phone would open); absent: the
    /// newest order still pending.
    autostart_token: Option<String>,
}

/// The person opens BankID and signs a pending decoupled authorization (what the mock login
/// does with the autostart token, here with CORS so a page or a browser test can be "the
/// phone"): its next polls are `userSign`, then `COMPLETE`. With the autostart token of a
/// payment's BankID signing, its owner signs that: its next poll is `finalised`.
async fn sign_decoupled(State(st): State<SandboxState>, body: Bytes) -> Response {
    let b: SignBody = match parse(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(person) = crate::auth::test_person(&b.personal_identity_number) else {
        return bad_request("personalIdentityNumber is not a sandbox test person");
    };
    let mut map = st.decoupled();
    let order = match &b.autostart_token {
        Some(t) => map.values_mut().find(|a| a.is_waiting() && a.autostart_token == *t),
        None => map.values_mut().filter(|a| a.is_waiting()).max_by_key(|a| a.created),
    };
    if let Some(a) = order {
        a.person = Some(person.to_owned());
        return StatusCode::NO_CONTENT.into_response();
    }
    drop(map);
    match b.autostart_token.map(|t| signing::sign(&mut st.bank().state(), &t, person)) {
        Some(Found::Done) => StatusCode::NO_CONTENT.into_response(),
        Some(Found::NotYours) => bad_request("the payment belongs to another person"),
        _ => bad_request("no such pending decoupled authorization or payment signing"),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FailBody {
    /// The hint code the order fails with (`userCancel`, `expiredTransaction`,
    /// `startFailed`, `sebTimeout`, or anything: clients must pass unknown codes on).
    hint_code: String,
    /// The order (`auth_req_id`); absent: the newest one still pending.
    auth_req_id: Option<String>,
    /// Instead of an order: the autostart token of a payment's BankID signing, which then
    /// fails (its next poll is `failed`; the hint code is not part of SEB's answer there).
    autostart_token: Option<String>,
}

/// Makes a pending decoupled authorization fail as if the person cancelled, the order timed
/// out or BankID could not start: its next status poll is `FAILED` with `hintCode`.
async fn fail_decoupled(State(st): State<SandboxState>, body: Bytes) -> Response {
    let b: FailBody = match parse(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    if b.hint_code.is_empty() || !b.hint_code.chars().all(|c| c.is_ascii_alphanumeric()) {
        return bad_request("hintCode must be a non-empty alphanumeric code");
    }
    if let Some(t) = b.autostart_token {
        return match signing::fail(&mut st.bank().state(), &t) {
            Found::Done => StatusCode::NO_CONTENT.into_response(),
            _ => bad_request("no such pending payment signing"),
        };
    }
    let mut map = st.decoupled();
    let id = match b.auth_req_id {
        Some(id) => id,
        None => match map.iter().filter(|(_, a)| a.is_waiting()).max_by_key(|(_, a)| a.created) {
            Some((id, _)) => id.clone(),
            None => return bad_request("no pending decoupled authorization"),
        },
    };
    match map.get_mut(&id).filter(|a| a.is_waiting()) {
        Some(a) => {
            a.failed = Some(b.hint_code);
            Json(json!({ "authReqId": id })).into_response()
        }
        None => bad_request("no such pending decoupled authorization"),
    }
}

fn bad_request(msg: impl Into<String>) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": msg.into() }))).into_response()
}

#[allow(clippy::result_large_err)]
fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, Response> {
    serde_json::from_slice(body).map_err(|e| bad_request(format!("invalid JSON body: {e}")))
}

async fn get_config(State(st): State<SandboxState>) -> Response {
    Json(st.settings()).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SettingsPatch {
    access_token_lifetime: Option<u64>,
    code_lifetime: Option<u64>,
    refresh_rotation: Option<bool>,
    reuse_detection: Option<bool>,
}

async fn put_config(State(st): State<SandboxState>, body: Bytes) -> Response {
    let p: SettingsPatch = match parse(&body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let mut s = st.settings();
    if let Some(v) = p.access_token_lifetime {
        s.access_token_lifetime = v;
    }
    if let Some(v) = p.code_lifetime {
        s.code_lifetime = v;
    }
    if let Some(v) = p.refresh_rotation {
        s.refresh_rotation = v;
    }
    if let Some(v) = p.reuse_detection {
        s.reuse_detection = v;
    }
    if s.access_token_lifetime > 86_400 * 365 || s.code_lifetime > 86_400 {
        return bad_request("lifetime too large");
    }
    st.set_settings(s.clone());
    Json(s).into_response()
}

async fn get_faults(State(st): State<SandboxState>) -> Response {
    Json(st.faults().clone()).into_response()
}

async fn put_faults(State(st): State<SandboxState>, body: Bytes) -> Response {
    let f: Faults = match parse::<Faults>(&body) {
        Ok(f) if f.rules.iter().any(|r| r.code.as_deref().is_some_and(|c| known_code(c).is_none())) => {
            return bad_request(format!("unknown code; known: {}", KNOWN_CODES.join(", ")));
        }
        Ok(f) => f,
        Err(r) => return r,
    };
    if let Some(e) = f.rules.iter().find_map(|r| r.validate().err()) {
        return bad_request(e);
    }
    *st.faults() = f.clone();
    Json(f).into_response()
}

fn add_rule(st: &SandboxState, rule: FaultRule) -> Response {
    if let Err(e) = rule.validate() {
        return bad_request(e);
    }
    st.faults().rules.push(rule);
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FailureBody {
    method: Option<String>,
    path: String,
    status: u16,
    count: u64,
    retry_after: Option<u64>,
}

async fn add_failure(State(st): State<SandboxState>, body: Bytes) -> Response {
    let b: FailureBody = match parse(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    add_rule(
        &st,
        FaultRule {
            path: Some(b.path),
            method: b.method,
            status: b.status,
            fail_next: b.count,
            retry_after: b.retry_after,
            ..FaultRule::default()
        },
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct LatencyBody {
    method: Option<String>,
    path: String,
    ms: u64,
    count: u64,
    #[serde(default)]
    after: bool,
}

async fn add_latency(State(st): State<SandboxState>, body: Bytes) -> Response {
    let b: LatencyBody = match parse(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    add_rule(
        &st,
        FaultRule {
            path: Some(b.path),
            method: b.method,
            latency_ms: b.ms,
            latency_next: Some(b.count),
            latency_after: b.after,
            status: 503,
            ..FaultRule::default()
        },
    )
}

async fn counters(State(st): State<SandboxState>) -> Response {
    Json(st.counters().clone()).into_response()
}

async fn reset(State(st): State<SandboxState>) -> Response {
    st.reset();
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RevokeBody {
    person: Option<String>,
    #[serde(alias = "personalIdentityNumber")]
    personal_identity_number: Option<String>,
    refresh_token: Option<String>,
    client_id: Option<String>,
}

async fn revoke_grants(State(st): State<SandboxState>, body: Bytes) -> Response {
    let b: RevokeBody = match parse(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let person = b.person.or(b.personal_identity_number);
    let revoked = match (person, b.refresh_token, b.client_id) {
        (Some(p), None, None) => match test_person(&p) {
            Some(p) => st.tokens().revoke_person(p),
            None => return bad_request("not a test person"),
        },
        (None, Some(rt), None) => usize::from(st.tokens().revoke_token(&rt, None)),
        (None, None, Some(c)) => st.tokens().revoke_client(&c),
        _ => return bad_request("give exactly one of person, refreshToken, clientId"),
    };
    Json(json!({ "revoked": revoked })).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PersonBody {
    personal_identity_number: String,
}

async fn revoke_person(State(st): State<SandboxState>, body: Bytes) -> Response {
    let b: PersonBody = match parse(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(p) = test_person(&b.personal_identity_number) else {
        return bad_request("not a test person");
    };
    let revoked = st.tokens().revoke_person(p);
    Json(json!({ "revoked": revoked })).into_response()
}

async fn expire_tokens(State(st): State<SandboxState>) -> Response {
    let expired = st.tokens().expire_all();
    Json(json!({ "expired": expired })).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokensQuery {
    personal_identity_number: String,
}

async fn issued_tokens(
    State(st): State<SandboxState>,
    q: Result<Query<TokensQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(q)) = q else {
        return bad_request("personalIdentityNumber is required");
    };
    let Some(p) = test_person(&q.personal_identity_number) else {
        return bad_request("not a test person");
    };
    Json(st.tokens().issued_to(p)).into_response()
}
