//! Where a login may send the browser back to: local paths only.

/// Checks `returnTo`: a local path only (`/x…`), never `//host`, `/\host`, a scheme, a
/// backslash or a control character. Returns the path to redirect to.
pub fn validate_return_to(value: &str) -> Result<&str, &'static str> {
    if value.is_empty() {
        return Ok("/");
    }
    if value.len() > 2048 {
        return Err("returnTo is too long");
    }
    if !value.starts_with('/') {
        return Err("returnTo must be a local path starting with /");
    }
    if value.starts_with("//") {
        return Err("returnTo must not start with //");
    }
    if value.contains('\\') {
        return Err("returnTo must not contain a backslash");
    }
    if value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("returnTo must not contain control characters or spaces");
    }
    // Defence in depth: resolved against any origin, it must stay on that origin.
    let base = url::Url::parse("http://valv.invalid/").map_err(|_| "returnTo is malformed")?;
    let joined = base.join(value).map_err(|_| "returnTo is malformed")?;
    if joined.origin() != base.origin() {
        return Err("returnTo must stay on this site");
    }
    Ok(value)
}

/// Appends `name=value` to a local path that may already have a query and a fragment.
pub fn add_query_param(local: &str, name: &str, value: &str) -> String {
    let (before_fragment, fragment) = match local.split_once('#') {
        Some((a, f)) => (a, Some(f)),
        None => (local, None),
    };
    let mut out = String::from(before_fragment);
    out.push(if before_fragment.contains('?') { '&' } else { '?' });
    out.push_str(&url::form_urlencoded::Serializer::new(String::new()).append_pair(name, value).finish());
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_to_accepts_local_paths_only() {
        for ok in ["/", "/app", "/app?tab=1", "/a/b#frag", "/%2F"] {
            assert_eq!(validate_return_to(ok), Ok(ok), "{ok}");
        }
        assert_eq!(validate_return_to(""), Ok("/"));
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "\\\\evil",
            "https://evil.example",
            "http:/evil",
            "evil",
            "/a\nb",
            "/a\tb",
            "/a b",
            "javascript:alert(1)",
            "/\u{7f}",
        ] {
            assert!(validate_return_to(bad).is_err(), "{bad:?}");
        }
    }
    #[test]
    fn query_param_goes_before_the_fragment() {
        assert_eq!(add_query_param("/", "valvError", "access_denied"), "/?valvError=access_denied");
        assert_eq!(add_query_param("/a?x=1#f", "valvError", "a b"), "/a?x=1&valvError=a+b#f");
    }
}
