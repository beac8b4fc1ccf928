//! The bank's decoupled authorization API — SEB's `/auth/v4` (or `/auth/v3`), Mobile BankID:
//! an order is started for the client and scopes, polled while the person opens BankID and
//! signs, and exchanged for tokens with the client secret once it is complete.
//!
//! Everything the bank says that reaches the browser is checked here first: hint codes are
//! short identifiers (v3's `UPPER_SNAKE` ones become v4's camelCase; a code the broker does
//! not know passes as it is, as SEB requires), the QR data is printable and short, the
//! autostart token is percent-encoded into BankID's autostart link.

use std::time::Instant;

use valv_psd2::{
    DecoupledAuthorizationCreated, DecoupledAuthorizationRequest, DecoupledAuthorizationStatus, DecoupledStatus, DecoupledTokenRequest,
};

use crate::config::{DecoupledConfig, DecoupledVersion};
use crate::oauth::{decode_token_answer, read_limited, TokenError, Undecodable, MAX_TOKEN_RESPONSE};
use crate::session::now;
use crate::state::{AppState, Provider};
use crate::vault::TokenSet;

/// Where an order stands.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Order {
    /// Waiting for the person (`outstandingTransaction`, `userSign`, …).
    Pending {
        /// The bank's hint code, when it gave one.
        hint_code: Option<String>,
        /// BankID's animated QR data of this second (start mode `qr`).
        qr_data: Option<String>,
        /// BankID's autostart token (BankID on this device).
        autostart_token: Option<String>,
        /// How long to wait before asking again.
        poll_delay_ms: u64,
    },
    /// Signed: the tokens may be fetched.
    Complete,
    /// Over without a login (`userCancel`, `expiredTransaction`, `startFailed`, …). An order
    /// the bank no longer knows is `expiredTransaction`.
    Failed {
        /// The bank's hint code.
        hint_code: String,
    },
}

/// The shortest and longest wait between polls the broker passes on.
const POLL_DELAY_MS: (u64, u64) = (500, 10_000);

/// A hint code as the browser gets it: an identifier of at most 64 characters (v3's
/// `UPPER_SNAKE` in v4's camelCase), anything else `unknown`.
pub(crate) fn hint_code(raw: &str, version: DecoupledVersion) -> String {
    if raw.is_empty() || raw.len() > 64 || !raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return "unknown".to_owned();
    }
    if version == DecoupledVersion::V4 || !raw.contains('_') && raw.bytes().any(|b| b.is_ascii_lowercase()) {
        return raw.to_owned();
    }
    let mut out = String::with_capacity(raw.len());
    for (i, word) in raw.split('_').filter(|w| !w.is_empty()).enumerate() {
        let lower = word.to_ascii_lowercase();
        if i == 0 {
            out.push_str(&lower);
        } else {
            let mut chars = lower.chars();
            out.extend(chars.next().map(|c| c.to_ascii_uppercase()));
            out.push_str(chars.as_str());
        }
    }
    out
}

fn printable(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

fn unavailable(provider: &Provider, what: &str, e: &reqwest::Error) -> TokenError {
    if e.is_timeout() {
        tracing::warn!(provider = %provider.config.name, what, "the bank's decoupled authorization timed out");
        TokenError::Timeout
    } else {
        tracing::warn!(provider = %provider.config.name, what, "the bank's decoupled authorization is unreachable");
        TokenError::Unavailable
    }
}

/// One call to the decoupled API: `body` posted as JSON, or a GET; the answer's status
/// and body.
async fn call(
    state: &AppState,
    provider: &Provider,
    what: &'static str,
    url: url::Url,
    body: Option<&impl serde::Serialize>,
    psu_ip: Option<&str>,
) -> Result<(u16, Vec<u8>), TokenError> {
    let mut req = match body {
        Some(b) => provider.http.post(url).json(b),
        None => provider.http.get(url),
    }
    .header(reqwest::header::ACCEPT, "application/json");
    if let Some(ip) = psu_ip {
        req = req.header("psu-ip-address", ip);
    }
    let started = Instant::now();
    let res = req.send().await;
    state.metrics.upstream(&provider.label, "decoupled", started.elapsed().as_secs_f64());
    let res = res.map_err(|e| unavailable(provider, what, &e.without_url()))?;
    let status = res.status().as_u16();
    Ok((status, read_limited(res, MAX_TOKEN_RESPONSE).await?))
}

/// Starts an order for `scopes`; returns the bank's order id.
pub(crate) async fn start(
    state: &AppState,
    provider: &Provider,
    cfg: &DecoupledConfig,
    scopes: &[String],
    psu_ip: Option<&str>,
) -> Result<String, TokenError> {
    let url = cfg.base.join("authorizations").map_err(|_| TokenError::Unavailable)?;
    let body = DecoupledAuthorizationRequest {
        client_id: provider.config.client_id.clone(),
        scope: scopes.join(" "),
        start_mode: Some(cfg.start_mode.as_str().to_owned()),
        ..DecoupledAuthorizationRequest::default()
    };
    let (status, bytes) = call(state, provider, "start", url, Some(&body), psu_ip).await?;
    if !(200..300).contains(&status) {
        tracing::warn!(provider = %provider.config.name, status, "the bank refused to start a BankID order");
        return Err(TokenError::OAuth("bankid_refused".to_owned()));
    }
    match serde_json::from_slice::<DecoupledAuthorizationCreated>(&bytes) {
        Ok(s) if printable(&s.auth_req_id, 256) => Ok(s.auth_req_id),
        _ => {
            tracing::warn!(provider = %provider.config.name, "the bank's answer to a BankID start has no usable id");
            Err(TokenError::Unavailable)
        }
    }
}

/// Where order `id` stands.
pub(crate) async fn status(
    state: &AppState,
    provider: &Provider,
    cfg: &DecoupledConfig,
    id: &str,
    psu_ip: Option<&str>,
) -> Result<Order, TokenError> {
    let segment: String = url::form_urlencoded::byte_serialize(id.as_bytes()).collect();
    let url = cfg.base.join(&format!("authorizations/{segment}")).map_err(|_| TokenError::Unavailable)?;
    let (code, bytes) = call(state, provider, "status", url, None::<&()>, psu_ip).await?;
    if code == 404 {
        return Ok(Order::Failed { hint_code: "expiredTransaction".to_owned() });
    }
    if !(200..300).contains(&code) {
        tracing::warn!(provider = %provider.config.name, status = code, "the bank refused a BankID status call");
        return Err(TokenError::Unavailable);
    }
    let Ok(s) = serde_json::from_slice::<DecoupledAuthorizationStatus>(&bytes) else {
        tracing::warn!(provider = %provider.config.name, "the bank's BankID status is not a status");
        return Err(TokenError::Unavailable);
    };
    let hint = s.hint_code.as_deref().map(|h| hint_code(h, cfg.version));
    Ok(match s.status {
        DecoupledStatus::Complete => Order::Complete,
        DecoupledStatus::Failed => Order::Failed { hint_code: hint.unwrap_or_else(|| "unknown".to_owned()) },
        _ => Order::Pending {
            hint_code: hint,
            qr_data: s.qr_data.filter(|q| printable(q, 512)),
            autostart_token: s.autostart_token.filter(|t| printable(t, 256)),
            poll_delay_ms: s.poll_delay.unwrap_or(1000).clamp(POLL_DELAY_MS.0, POLL_DELAY_MS.1),
        },
    })
}

/// The tokens of completed order `id`, with the client secret.
pub(crate) async fn tokens(
    state: &AppState,
    provider: &Provider,
    cfg: &DecoupledConfig,
    id: &str,
    scopes: &[String],
) -> Result<TokenSet, TokenError> {
    let url = cfg.base.join("tokens").map_err(|_| TokenError::Unavailable)?;
    let c = &provider.config;
    let body = DecoupledTokenRequest {
        client_id: c.client_id.clone(),
        client_secret: c.client_secret.expose().to_owned(),
        auth_req_id: Some(id.to_owned()),
        redirect_uri: Some(c.redirect_uri.as_str().to_owned()),
        ..DecoupledTokenRequest::default()
    };
    let (status, bytes) = call(state, provider, "tokens", url, Some(&body), None).await?;
    decode_token_answer(status, &bytes, scopes, None, now()).map_err(|why| {
        match &why {
            Undecodable::Refused { status, .. } => {
                tracing::warn!(provider = %c.name, status, "the bank refused the tokens of a BankID order");
            }
            _ => tracing::warn!(provider = %c.name, "the bank's answer for a BankID order's tokens is not a token response"),
        }
        why.token_error()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hint_codes() {
        assert_eq!(hint_code("OUTSTANDING_TRANSACTION", DecoupledVersion::V3), "outstandingTransaction");
        assert_eq!(hint_code("USER_CANCEL", DecoupledVersion::V3), "userCancel");
        assert_eq!(hint_code("userSign", DecoupledVersion::V4), "userSign");
        assert_eq!(hint_code("someNewCode", DecoupledVersion::V4), "someNewCode");
        assert_eq!(hint_code("someNewCode", DecoupledVersion::V3), "someNewCode");
        assert_eq!(hint_code("<script>", DecoupledVersion::V4), "unknown");
        assert_eq!(hint_code(&"a".repeat(65), DecoupledVersion::V4), "unknown");
    }
}
