//! The per-provider allowlist of method + path patterns, compiled once at start.

use axum::http::Method;

use super::path::ApiPath;
use crate::config::RouteRule;

/// One segment of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    /// This segment, exactly.
    Literal(String),
    /// `*`: exactly one segment.
    One,
    /// A final `**`: one or more segments.
    Rest,
}

/// A provider's allowlist, ready to match.
#[derive(Debug, Clone, Default)]
pub struct Allowlist {
    rules: Vec<(Vec<Method>, Vec<Part>)>,
}

impl Allowlist {
    /// Compiles `rules` (their patterns were validated with the configuration).
    pub fn new(rules: &[RouteRule]) -> Self {
        let compile = |pattern: &str| {
            let parts: Vec<&str> = pattern.split('/').filter(|p| !p.is_empty()).collect();
            let last = parts.len().saturating_sub(1);
            parts
                .iter()
                .enumerate()
                .map(|(n, p)| match *p {
                    "**" if n == last => Part::Rest,
                    "*" => Part::One,
                    lit => Part::Literal(lit.to_owned()),
                })
                .collect()
        };
        Self { rules: rules.iter().map(|r| (r.methods.clone(), compile(&r.path))).collect() }
    }

    /// Is `method` + path on the allowlist.
    pub fn allows(&self, method: &Method, path: &ApiPath<'_>) -> bool {
        self.rules.iter().any(|(methods, parts)| methods.contains(method) && matches(parts, &path.segments))
    }
}

/// Do decoded segments match a compiled pattern.
fn matches<S: AsRef<str>>(parts: &[Part], segments: &[S]) -> bool {
    for (i, part) in parts.iter().enumerate() {
        match part {
            Part::Rest => return segments.len() > i,
            Part::One if i < segments.len() => {}
            Part::Literal(lit) if segments.get(i).is_some_and(|s| s.as_ref() == lit) => {}
            _ => return false,
        }
    }
    parts.len() == segments.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::path::normalize_api_path;

    fn allowed(pattern: &str, path: &str) -> bool {
        let list = Allowlist::new(&[RouteRule { methods: vec![Method::GET], path: pattern.to_owned() }]);
        list.allows(&Method::GET, &normalize_api_path(path).unwrap())
    }

    #[test]
    fn patterns() {
        assert!(allowed("/ais/v7/identified2/accounts", "/ais/v7/identified2/accounts"));
        assert!(!allowed("/ais/v7/identified2/accounts", "/ais/v7/identified2/accounts/x"));
        assert!(!allowed("/ais/v7/identified2/accounts", "/ais/v7/identified2"));
        assert!(allowed("/ais/v7/identified2/accounts/*/balances", "/ais/v7/identified2/accounts/a1/balances"));
        assert!(!allowed("/ais/v7/identified2/accounts/*/balances", "/ais/v7/identified2/accounts/balances"));
        assert!(allowed("/pis/**", "/pis/a/b/c"));
        assert!(!allowed("/pis/**", "/pis"));
        assert!(!allowed("/pis/**", "/cof/a"));
    }

    #[test]
    fn methods() {
        let list = Allowlist::new(&[RouteRule { methods: vec![Method::POST], path: "/pis/**".to_owned() }]);
        let path = normalize_api_path("/pis/x").unwrap();
        assert!(list.allows(&Method::POST, &path));
        assert!(!list.allows(&Method::GET, &path));
    }
}
