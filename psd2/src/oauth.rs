//! OAuth 2.0 token bodies (redirect flow, RFC 6749) and SEB's decoupled authorization (v3
//! and v4, Mobile BankID): the bodies the broker sends and reads and the sandbox reads and
//! sends.
//!
//! Types holding secrets or tokens print `[redacted]` for them in `Debug`.
//!
//! Decoupled flow (`/auth/v3/…` or `/auth/v4/…`):
//! 1. `POST /auth/v4/authorizations` [`DecoupledAuthorizationRequest`] → 201
//!    [`DecoupledAuthorizationCreated`]
//! 2. `GET /auth/v4/authorizations/{id}` → [`DecoupledAuthorizationStatus`]
//! 3. (sandbox) `POST /open/sb/auth/mock/v1/login` [`MockLoginRequest`] → 204
//! 4. `POST /auth/v4/tokens` [`DecoupledTokenRequest`] → 201 [`TokenResponse`]

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::macros::open_enum;

const REDACTED: &str = "[redacted]";

/// A string member that may be absent or `null` (read as empty).
fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

fn redact<T>(v: &Option<T>) -> Option<&'static str> {
    v.as_ref().map(|_| REDACTED)
}

/// Keys of `extra`, values hidden (they may hold tokens such as `id_token`).
struct ExtraKeys<'a>(&'a Map<String, Value>);

impl fmt::Debug for ExtraKeys<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// A token endpoint's success body: `{"access_token", "refresh_token", "scope",
/// "token_type": "bearer", "expires_in": 3599}`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The access token (secret).
    pub access_token: String,
    /// `bearer` at SEB (RFC 6749 requires it; read as absent when a bank leaves it out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    /// Lifetime in seconds. Signed: SEB's example even shows a negative value. Read from a
    /// number or a numeric string (some banks send `"3599"`); anything else reads as absent.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient_seconds")]
    pub expires_in: Option<i64>,
    /// The refresh token (secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Granted scopes, space-separated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Members this crate does not model, kept for round-tripping.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl TokenResponse {
    /// A bearer token response (`token_type: "bearer"`, as SEB writes it).
    pub fn bearer(access_token: impl Into<String>, expires_in: i64, refresh_token: Option<String>, scope: Option<String>) -> Self {
        Self {
            access_token: access_token.into(),
            token_type: Some("bearer".to_owned()),
            expires_in: Some(expires_in),
            refresh_token,
            scope,
            extra: Map::new(),
        }
    }

    /// The granted scopes as a list.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.as_deref().unwrap_or("").split_ascii_whitespace()
    }
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &REDACTED)
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("refresh_token", &redact(&self.refresh_token))
            .field("scope", &self.scope)
            .field("extra_keys", &ExtraKeys(&self.extra))
            .finish()
    }
}

/// `expires_in` as a number or a numeric string; any other value (or a fraction) is `None`.
fn lenient_seconds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

/// A form-urlencoded request to `POST /mga/sps/oauth/oauth20/token`.
///
/// Unknown parameters are ignored (not kept: form bodies cannot carry nested data).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRequest {
    /// `authorization_code` or `refresh_token`.
    pub grant_type: String,
    /// The authorization code (secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Must equal the one used at `authorize`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    /// Client id (`client_secret_post`; else from HTTP Basic).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Client secret (secret; `client_secret_post`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// The refresh token (secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Requested scopes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// PKCE verifier (secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_verifier: Option<String>,
}

impl fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenRequest")
            .field("grant_type", &self.grant_type)
            .field("code", &redact(&self.code))
            .field("redirect_uri", &self.redirect_uri)
            .field("client_id", &self.client_id)
            .field("client_secret", &redact(&self.client_secret))
            .field("refresh_token", &redact(&self.refresh_token))
            .field("scope", &self.scope)
            .field("code_verifier", &redact(&self.code_verifier))
            .finish()
    }
}

/// Body of `POST /auth/v3/authorizations` (and v4): `{"client_id", "lang": "en", "scope",
/// "start_mode": "ast"|"qr", "login_hint"?}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DecoupledAuthorizationRequest {
    /// The client (empty when the body has none or `null`: the bank answers that itself).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub client_id: String,
    /// Space-separated scopes (empty when the body has none or `null`).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub scope: String,
    /// Language of user texts, e.g. `en`, `sv`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// `ast` (autostart on the same device) or `qr`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_mode: Option<String>,
    /// The user's personal identity number, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login_hint: Option<String>,
    /// Members this crate does not model, kept for round-tripping.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// 201 response of `POST /auth/v3/authorizations` (and v4): `{"auth_req_id": "…"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecoupledAuthorizationCreated {
    /// Id to poll and to exchange for tokens.
    pub auth_req_id: String,
    /// Members this crate does not model, kept for round-tripping.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

open_enum! {
    /// `status` of a decoupled authorization.
    pub enum DecoupledStatus {
        /// Waiting for the user to start BankID.
        Pending => "PENDING",
        /// The user is signing in BankID.
        UserSign => "USER_SIGN",
        /// Done; exchange `auth_req_id` for tokens.
        Complete => "COMPLETE",
        /// Failed or cancelled.
        Failed => "FAILED",
    }
}

/// `GET /auth/v3/authorizations/{id}` (and v4) → `{"status": "PENDING", "hint_code":
/// "OUTSTANDING_TRANSACTION", "autostart_token": "…", "poll_delay": 500}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecoupledAuthorizationStatus {
    /// Where the authorization stands.
    pub status: DecoupledStatus,
    /// BankID hint, e.g. `OUTSTANDING_TRANSACTION`, `USER_SIGN`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint_code: Option<String>,
    /// Token to start the BankID app with (`bankid:///?autostarttoken=…`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autostart_token: Option<String>,
    /// Data for a BankID QR code (v3, as SEB's collections name it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qr_token: Option<String>,
    /// v4 with start mode `qr`: BankID's animated QR data of this second,
    /// `bankid.<qrStartToken>.<seconds>.<HMAC-SHA256 of the seconds under qrStartSecret, hex>`.
    /// (SEB documents only that v4 "returns a qr code string"; the member name and BankID's
    /// animated form are the assumption the broker and the sandbox share.)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qr_data: Option<String>,
    /// Milliseconds to wait before polling again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub poll_delay: Option<u64>,
    /// Members this crate does not model, kept for round-tripping.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl DecoupledAuthorizationCreated {
    /// `{"auth_req_id": …}`.
    pub fn new(auth_req_id: impl Into<String>) -> Self {
        Self { auth_req_id: auth_req_id.into(), extra: Map::new() }
    }
}

impl DecoupledAuthorizationStatus {
    /// A status with only `status` set.
    pub fn new(status: DecoupledStatus) -> Self {
        Self { status, hint_code: None, autostart_token: None, qr_token: None, qr_data: None, poll_delay: None, extra: Map::new() }
    }
}

/// Body of `POST /auth/v3/tokens` (and v4): `{client_id, client_secret, auth_req_id, redirect_uri}`,
/// or with `refresh_token` instead of `auth_req_id`.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DecoupledTokenRequest {
    /// The client.
    pub client_id: String,
    /// The client secret (secret).
    pub client_secret: String,
    /// The completed authorization.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_req_id: Option<String>,
    /// Redirect URI registered for the client.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    /// A refresh token (secret), to refresh instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Members this crate does not model, kept for round-tripping.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl fmt::Debug for DecoupledTokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecoupledTokenRequest")
            .field("client_id", &self.client_id)
            .field("client_secret", &REDACTED)
            .field("auth_req_id", &self.auth_req_id)
            .field("redirect_uri", &self.redirect_uri)
            .field("refresh_token", &redact(&self.refresh_token))
            .field("extra_keys", &ExtraKeys(&self.extra))
            .finish()
    }
}

/// Body of the sandbox-only `POST /open/sb/auth/mock/v1/login`:
/// `{"personal_identity_number": "199311219639", "start_token": "<autostart_token>"}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MockLoginRequest {
    /// The test person, 12-digit form.
    pub personal_identity_number: String,
    /// The `autostart_token` of the pending authorization.
    pub start_token: String,
    /// Members this crate does not model, kept for round-tripping.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
