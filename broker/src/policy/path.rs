//! API paths as the broker forwards them: normalised, and refused when ambiguous.

/// A normalised API path: the raw (still percent-encoded) path to send upstream and its
/// decoded segments for the allowlist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiPath {
    /// Raw path starting with `/`, exactly as it goes to the bank.
    pub raw: String,
    /// Decoded segments.
    pub segments: Vec<String>,
}

/// Normalises the raw path after `/api/{provider}`. Refuses (rather than resolves) anything
/// ambiguous: empty segments (`//`), `.`/`..` (also `%2e`-encoded), encoded `/` or `\`
/// (`%2F`, `%5C`), a literal `\`, double encoding (`%25`), malformed escapes, control
/// characters and non-ASCII bytes.
pub fn normalize_api_path(raw: &str) -> Result<ApiPath, &'static str> {
    let Some(rest) = raw.strip_prefix('/') else {
        return Err("the API path must start with /");
    };
    if rest.is_empty() {
        return Err("the API path is empty");
    }
    if raw.len() > 2048 {
        return Err("the API path is too long");
    }
    let mut segments = Vec::new();
    for seg in rest.split('/') {
        if seg.is_empty() {
            return Err("empty path segments (//) are not allowed");
        }
        let bytes = seg.as_bytes();
        let mut decoded = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if b == b'%' {
                let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
                let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) else {
                    return Err("malformed percent-encoding in the path");
                };
                match v {
                    b'.' => return Err("encoded dots (%2e) are not allowed in the path"),
                    b'/' | b'\\' => return Err("encoded slashes (%2F, %5C) are not allowed in the path"),
                    b'%' => return Err("double encoding (%25) is not allowed in the path"),
                    0..=0x1f | 0x7f => return Err("control characters are not allowed in the path"),
                    _ => decoded.push(v),
                }
                i += 3;
                continue;
            }
            if b == b'\\' {
                return Err("backslashes are not allowed in the path");
            }
            if !(0x21..0x7f).contains(&b) {
                return Err("control characters, spaces and raw non-ASCII bytes are not allowed in the path");
            }
            decoded.push(b);
            i += 1;
        }
        if decoded == b"." || decoded == b".." {
            return Err("dot segments (. and ..) are not allowed in the path");
        }
        let Ok(text) = String::from_utf8(decoded) else {
            return Err("the path is not valid UTF-8");
        };
        segments.push(text);
    }
    Ok(ApiPath { raw: raw.to_owned(), segments })
}

/// Checks a raw query string: printable ASCII only (hyper already refuses most else).
pub fn validate_query(query: &str) -> Result<(), &'static str> {
    if query.len() > 4096 {
        return Err("the query string is too long");
    }
    if query.bytes().any(|b| !(0x21..0x7f).contains(&b) || b == b'#') {
        return Err("control characters are not allowed in the query string");
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn api_paths_are_refused_when_ambiguous() {
        let p = normalize_api_path("/ais/v7/identified2/accounts/abc%20d").unwrap();
        assert_eq!(p.segments, ["ais", "v7", "identified2", "accounts", "abc d"]);
        for bad in [
            "/../x",
            "/ais/..",
            "/ais/./x",
            "/%2e%2e/x",
            "/%2E/x",
            "/.%2e/x",
            "/ais%2Fv7",
            "/ais%2fv7",
            "/ais%5Cv7",
            "/ais\\v7",
            "//ais",
            "/ais//v7",
            "/ais/",
            "/ais/%252e%252e",
            "/ais/%zz",
            "/ais/%4",
            "/ais/%00",
            "/ais/a\u{1}",
            "",
            "/",
            "ais",
        ] {
            assert!(normalize_api_path(bad).is_err(), "{bad:?}");
        }
    }
}
