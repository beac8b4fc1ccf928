//! The per-provider allowlist of method + path patterns.

use axum::http::Method;

use super::path::ApiPath;
use crate::config::RouteRule;

/// Does a pattern (`/a/*/b/**`) match decoded segments.
pub fn pattern_matches(pattern: &str, segments: &[String]) -> bool {
    let parts: Vec<&str> = pattern.trim_start_matches('/').split('/').filter(|p| !p.is_empty()).collect();
    let mut i = 0;
    for (n, part) in parts.iter().enumerate() {
        if *part == "**" && n + 1 == parts.len() {
            return segments.len() > i;
        }
        let Some(seg) = segments.get(i) else { return false };
        if *part != "*" && part != seg {
            return false;
        }
        i += 1;
    }
    i == segments.len()
}

/// Is `method` + path on the allowlist.
pub fn route_allowed(rules: &[RouteRule], method: &Method, path: &ApiPath) -> bool {
    rules.iter().any(|r| r.methods.iter().any(|m| m == method) && pattern_matches(&r.path, &path.segments))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::policy::path::normalize_api_path;

    #[test]
    fn patterns() {
        let s = |p: &str| normalize_api_path(p).unwrap().segments;
        assert!(pattern_matches("/ais/v7/identified2/accounts", &s("/ais/v7/identified2/accounts")));
        assert!(!pattern_matches("/ais/v7/identified2/accounts", &s("/ais/v7/identified2/accounts/x")));
        assert!(pattern_matches("/ais/v7/identified2/accounts/*/balances", &s("/ais/v7/identified2/accounts/a1/balances")));
        assert!(!pattern_matches("/ais/v7/identified2/accounts/*/balances", &s("/ais/v7/identified2/accounts/balances")));
        assert!(pattern_matches("/pis/**", &s("/pis/a/b/c")));
        assert!(!pattern_matches("/pis/**", &s("/pis")));
        assert!(!pattern_matches("/pis/**", &s("/cof/a")));
    }
}
