//! The `Psu` extractor: who is calling AIS/PIS, from a valid Bearer token.

/// The user behind a valid access token.
#[derive(Debug, Clone)]
pub struct Psu {
    /// The test person's 10-digit identity number, e.g. `9311219639`.
    pub person_id: String,
    /// Scopes granted to the token, e.g. `psd2_accounts`, `psd2_payments`.
    pub scopes: Vec<String>,
}

impl Psu {
    /// `Ok` when the token carries `scope`, else 401 `TOKEN_INVALID`.
    pub fn require(&self, scope: &str) -> Result<(), crate::error::Problem> {
        if self.scopes.iter().any(|s| s == scope) {
            Ok(())
        } else {
            Err(crate::error::Problem::new(
                axum::http::StatusCode::UNAUTHORIZED,
                "TOKEN_INVALID",
                format!("The access token lacks the scope {scope}"),
            ))
        }
    }
}

// TODO(auth side): `impl FromRequestParts<SandboxState> for Psu` validating the Bearer token
// (401 TOKEN_INVALID / TOKEN_EXPIRED problems), and counting the API call.
