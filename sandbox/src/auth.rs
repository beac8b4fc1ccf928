//! The `Psu` extractor: who is calling AIS/PIS, from a valid Bearer token.
//! Also the list of test persons.

use axum::extract::{FromRequestParts, MatchedPath};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};

use crate::error::Problem;
use crate::state::SandboxState;
use crate::tokens::AccessError;

/// The five sandbox test persons (10-digit identity numbers).
pub const TEST_PERSONS: [&str; 5] = ["9311219639", "9311219589", "8811215477", "8811212862", "8311211356"];

/// Normalises a test person's number: accepts the 10-digit form and the 12-digit form with
/// `19` (also with a `-` before the last four digits). `None` if it is not a test person.
pub fn test_person(input: &str) -> Option<&'static str> {
    let digits: String = input.trim().chars().filter(|c| *c != '-').collect();
    let ten = match digits.len() {
        12 if digits.starts_with("19") => &digits[2..],
        10 => &digits[..],
        _ => return None,
    };
    TEST_PERSONS.iter().copied().find(|p| *p == ten)
}

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
    pub fn require(&self, scope: &str) -> Result<(), Problem> {
        if self.scopes.iter().any(|s| s == scope) {
            Ok(())
        } else {
            Err(Problem::new(StatusCode::UNAUTHORIZED, "TOKEN_INVALID", format!("The access token lacks the scope {scope}")))
        }
    }
}

fn invalid(detail: &str) -> Problem {
    Problem::new(StatusCode::UNAUTHORIZED, "TOKEN_INVALID", detail)
}

impl FromRequestParts<SandboxState> for Psu {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &SandboxState) -> Result<Self, Self::Rejection> {
        let route = parts.extensions.get::<MatchedPath>().map_or_else(|| parts.uri.path().to_owned(), |m| m.as_str().to_owned());
        state.counters().api_call(parts.method.as_str(), &route);
        let value = parts.headers.get(header::AUTHORIZATION).ok_or_else(|| invalid("An Authorization: Bearer header is required"))?;
        let value = value.to_str().map_err(|_| invalid("The Authorization header is malformed"))?;
        let token = match value.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => token.trim(),
            _ => return Err(invalid("The Authorization header must be a Bearer token")),
        };
        let result = state.tokens().check_access(token);
        if result.is_err() {
            state.counters().token_rejected();
        }
        match result {
            Ok(info) => Ok(Psu { person_id: info.person, scopes: info.scopes }),
            Err(AccessError::Expired) => Err(Problem::new(StatusCode::UNAUTHORIZED, "TOKEN_EXPIRED", "The access token has expired")),
            Err(AccessError::Invalid) => Err(invalid("The access token is not valid")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn person_forms() {
        assert_eq!(test_person("199311219639"), Some("9311219639"));
        assert_eq!(test_person("9311219639"), Some("9311219639"));
        assert_eq!(test_person("19931121-9639"), Some("9311219639"));
        assert_eq!(test_person("209311219639"), None);
        assert_eq!(test_person("1234567890"), None);
        assert_eq!(test_person(""), None);
    }
}
