//! Pure checks the broker makes on browser input: `returnTo`, API paths, the route
//! allowlist, CSRF origin rules, request ids and the client address.

use std::net::IpAddr;

use axum::http::{HeaderMap, Method};

use crate::config::RouteRule;

/// The CSRF header every `/api/…` call and `POST /auth/logout` must carry with value `1`.
pub const CSRF_HEADER: &str = "x-valv-csrf";

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

/// The CSRF rules for `/api/…` and `POST /auth/logout`: `X-Valv-CSRF: 1`, an `Origin`
/// (when sent) that is this origin or an allowlisted one, and no `Sec-Fetch-Site:
/// cross-site` unless the origin is allowlisted.
pub fn check_csrf(headers: &HeaderMap, own_origin: &str, allowed: &[String]) -> Result<(), &'static str> {
    match headers.get(CSRF_HEADER).map(|v| v.as_bytes()) {
        Some(b"1") => {}
        Some(_) => return Err("The X-Valv-CSRF header must be 1."),
        None => return Err("The X-Valv-CSRF: 1 header is required."),
    }
    let origin = match headers.get(axum::http::header::ORIGIN) {
        Some(v) => Some(v.to_str().map_err(|_| "The Origin header is malformed.")?),
        None => None,
    };
    let allowlisted = origin.is_some_and(|o| allowed.iter().any(|a| a == o));
    if let Some(o) = origin {
        if o != own_origin && !allowlisted {
            return Err("Cross-origin requests from this origin are not allowed.");
        }
    }
    if let Some(site) = headers.get("sec-fetch-site") {
        if site.as_bytes() == b"cross-site" && !allowlisted {
            return Err("Cross-site requests are not allowed.");
        }
    }
    Ok(())
}

/// The origin string (`scheme://host[:port]`) of a URL.
pub fn origin_of(url: &url::Url) -> String {
    url.origin().ascii_serialization()
}

/// A browser-sent `X-Request-ID` is kept when it is a UUID; otherwise a new one is made.
pub fn request_id_from(headers: &HeaderMap) -> uuid::Uuid {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|s| uuid::Uuid::parse_str(s.trim()).ok())
        .unwrap_or_else(uuid::Uuid::new_v4)
}

/// The PSU's address: the socket peer, or — only when the peer is a trusted proxy — the
/// right-most `X-Forwarded-For` entry that is not itself a trusted proxy.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[ipnet::IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut hops: Vec<IpAddr> = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        let Ok(s) = value.to_str() else { return peer };
        for part in s.split(',') {
            match part.trim().parse::<IpAddr>() {
                Ok(ip) => hops.push(ip),
                Err(_) => return peer,
            }
        }
    }
    let mut chosen = peer;
    for ip in hops.into_iter().rev() {
        chosen = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    chosen
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

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

    #[test]
    fn csrf_rules() {
        let own = "http://127.0.0.1:8080";
        let allowed = vec!["http://localhost:9000".to_owned()];
        let mut h = HeaderMap::new();
        assert!(check_csrf(&h, own, &allowed).is_err());
        h.insert(CSRF_HEADER, HeaderValue::from_static("0"));
        assert!(check_csrf(&h, own, &allowed).is_err());
        h.insert(CSRF_HEADER, HeaderValue::from_static("1"));
        assert!(check_csrf(&h, own, &allowed).is_ok());
        h.insert("origin", HeaderValue::from_static("http://127.0.0.1:8080"));
        assert!(check_csrf(&h, own, &allowed).is_ok());
        h.insert("origin", HeaderValue::from_static("https://evil.example"));
        assert!(check_csrf(&h, own, &allowed).is_err());
        h.insert("origin", HeaderValue::from_static("http://localhost:9000"));
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(check_csrf(&h, own, &allowed).is_ok());
        h.remove("origin");
        assert!(check_csrf(&h, own, &allowed).is_err());
    }

    #[test]
    fn client_ip_believes_forwarded_for_only_from_trusted_proxies() {
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_static("198.51.100.7, 10.1.2.3"));
        let peer_proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let peer_other: IpAddr = "203.0.113.9".parse().unwrap();
        assert_eq!(client_ip(peer_proxy, &h, &trusted), "198.51.100.7".parse::<IpAddr>().unwrap());
        assert_eq!(client_ip(peer_other, &h, &trusted), peer_other);
        h.insert("x-forwarded-for", HeaderValue::from_static("garbage"));
        assert_eq!(client_ip(peer_proxy, &h, &trusted), peer_proxy);
    }

    #[test]
    fn request_ids() {
        let mut h = HeaderMap::new();
        let id = uuid::Uuid::new_v4();
        h.insert("x-request-id", HeaderValue::from_str(&id.to_string()).unwrap());
        assert_eq!(request_id_from(&h), id);
        h.insert("x-request-id", HeaderValue::from_static("not-a-uuid"));
        assert_ne!(request_id_from(&h), id);
    }
}
