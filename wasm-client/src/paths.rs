//! URL building: API paths under SEB's base paths, the broker's URLs, query strings and
//! `_links.next` resolution (pure logic, no JS).

/// SEB Account Information v7 base path.
pub const AIS: &str = "/ais/v7/identified2";
/// SEB Payment Initiation v7 base path.
pub const PIS: &str = "/pis/v7/identified2";
/// SEB funds confirmation v7 base path.
pub const COF: &str = "/cof/v7/identified2";

/// Appends `s` percent-encoded so it is one path segment or one query value (RFC 3986
/// unreserved characters stay; valv-wire's encoder, which BankID's autostart link uses too).
pub use valv_wire::push_percent_encoded as push_encoded;

/// `s` percent-encoded (see [`push_encoded`]).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_encoded(&mut out, s);
    out
}

/// Joins a base path and segments, encoding each segment: `join(AIS, &["accounts", id])`.
pub fn join(base: &str, segments: &[&str]) -> String {
    let mut out = String::from(base);
    for s in segments {
        out.push('/');
        push_encoded(&mut out, s);
    }
    out
}

/// A query string builder: `?a=1&b=2`, values encoded, `None` values skipped.
#[derive(Debug, Default)]
pub struct Query(String);

impl Query {
    /// An empty query.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `name=value` (encoded) when `value` is `Some`.
    pub fn opt(mut self, name: &str, value: Option<&str>) -> Self {
        if let Some(v) = value {
            self.0.push(if self.0.is_empty() { '?' } else { '&' });
            push_encoded(&mut self.0, name);
            self.0.push('=');
            push_encoded(&mut self.0, v);
        }
        self
    }

    /// Adds `name=value` (encoded).
    pub fn add(self, name: &str, value: &str) -> Self {
        self.opt(name, Some(value))
    }

    /// Appends the query (possibly empty) to `path`.
    pub fn finish(self, mut path: String) -> String {
        path.push_str(&self.0);
        path
    }
}

/// The broker URL for an API path: `{baseUrl}/api/{provider}{path}`.
/// `base_url` has no trailing slash (see [`normalize_base_url`]).
pub fn api_url(base_url: &str, provider: &str, path: &str) -> String {
    let mut out = String::with_capacity(base_url.len() + provider.len() + path.len() + 6);
    out.push_str(base_url);
    out.push_str("/api/");
    push_encoded(&mut out, provider);
    out.push_str(path);
    out
}

/// A broker URL outside the API: `{baseUrl}{path}` (e.g. `/auth/session`).
pub fn broker_url(base_url: &str, path: &str) -> String {
    let mut out = String::from(base_url);
    out.push_str(path);
    out
}

/// Trims trailing slashes: `"https://app.example/"` → `"https://app.example"`, `""` stays
/// `""` (same origin).
pub fn normalize_base_url(base_url: &str) -> &str {
    base_url.trim_end_matches('/')
}

/// `true` for a local path usable as `returnTo`: starts with one `/`, no `//` or `\`
/// prefix that a browser would read as another host, no control characters.
pub fn is_local_path(p: &str) -> bool {
    p.starts_with('/') && !p.starts_with("//") && !p.starts_with("/\\") && !p.chars().any(|c| c.is_control() || c == '\\')
}

/// The broker's login URL:
/// `{baseUrl}/auth/login?provider=…&returnTo=…&scope=a%20b&login_hint=…`.
pub fn login_url(base_url: &str, provider: &str, return_to: Option<&str>, scopes: &[String], login_hint: Option<&str>) -> String {
    let scope = if scopes.is_empty() { None } else { Some(scopes.join(" ")) };
    Query::new()
        .add("provider", provider)
        .opt("returnTo", return_to)
        .opt("scope", scope.as_deref())
        .opt("login_hint", login_hint)
        .finish(broker_url(base_url, "/auth/login"))
}

/// Why a `_links.next` href was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadLink;

/// Where `needle` (not empty) first occurs in `hay`. A byte search: a string pattern of
/// `str::find` brings a two-way searcher of over 2 KB into the wasm. A match of valid
/// UTF-8 in valid UTF-8 always starts at a character boundary.
fn position(hay: &str, needle: &str) -> Option<usize> {
    hay.as_bytes().windows(needle.len()).position(|w| w == needle.as_bytes())
}

/// Resolves a `_links.next` href from the bank into an API path for the broker.
///
/// SEB's hrefs are relative to the API base path (`/accounts/…?…` means
/// `/ais/v7/identified2/accounts/…?…`); hrefs that already carry the base path (also
/// behind a prefix such as production's `/tpp`) or are absolute URLs are reduced to the
/// path from the base path on. Dot segments, backslashes and encoded slashes are refused:
/// the link is data from the network and must stay inside the API.
pub fn resolve_next(base: &str, href: &str) -> Result<String, BadLink> {
    if href.chars().any(char::is_control) {
        return Err(BadLink);
    }
    let href = href.trim();
    let path = match position(href, "://") {
        Some(i) if href[..i].bytes().all(|b| b.is_ascii_alphabetic()) && i > 0 => {
            let rest = &href[i + 3..];
            match rest.find('/') {
                Some(j) => &rest[j..],
                None => return Err(BadLink),
            }
        }
        _ => href,
    };
    if path.is_empty() || path.starts_with("//") {
        return Err(BadLink);
    }
    let (p, query) = match path.find(['?', '#']) {
        Some(i) => path.split_at(i),
        None => (path, ""),
    };
    let query = query.split('#').next().unwrap_or("");
    let lower = p.to_ascii_lowercase();
    if p.contains('\\')
        || position(&lower, "%2f").is_some()
        || position(&lower, "%5c").is_some()
        || position(&lower, "%2e").is_some()
        || p.split('/').any(|seg| seg == "." || seg == "..")
        || p.chars().any(char::is_control)
        || query.chars().any(char::is_control)
    {
        return Err(BadLink);
    }
    let mut out = String::with_capacity(base.len() + path.len() + 1);
    let mut with_base = String::from(base);
    with_base.push('/');
    if let Some(i) = position(p, &with_base) {
        out.push_str(&p[i..]);
    } else {
        out.push_str(base);
        if !p.starts_with('/') {
            out.push('/');
        }
        out.push_str(p);
    }
    out.push_str(query);
    Ok(out)
}

/// Formats 16 random bytes as a UUID version 4 (RFC 9562), lower case.
pub fn uuid_v4(mut bytes: [u8; 16]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let mut out = String::with_capacity(36);
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_and_query_values_are_encoded() {
        assert_eq!(encode("a b/c?d#e%"), "a%20b%2Fc%3Fd%23e%25");
        assert_eq!(encode("Löne-konto_1.~"), "L%C3%B6ne-konto_1.~");
        assert_eq!(join(AIS, &["accounts", "id/../x", "transactions"]), "/ais/v7/identified2/accounts/id%2F..%2Fx/transactions");
        let q = Query::new().add("bookingStatus", "booked").opt("dateFrom", None).opt("dateTo", Some("2024-01-31")).finish("/p".into());
        assert_eq!(q, "/p?bookingStatus=booked&dateTo=2024-01-31");
        assert_eq!(Query::new().finish("/p".into()), "/p");
    }

    #[test]
    fn broker_urls() {
        assert_eq!(normalize_base_url("https://app.example//"), "https://app.example");
        assert_eq!(normalize_base_url(""), "");
        assert_eq!(api_url("", "seb", "/ais/v7/identified2/accounts"), "/api/seb/ais/v7/identified2/accounts");
        assert_eq!(api_url("http://127.0.0.1:8080", "s b", "/x"), "http://127.0.0.1:8080/api/s%20b/x");
        assert_eq!(
            login_url("", "seb", Some("/app?tab=1"), &["psd2_accounts".into(), "psd2_payments".into()], Some("9311219639"),),
            "/auth/login?provider=seb&returnTo=%2Fapp%3Ftab%3D1&scope=psd2_accounts%20psd2_payments&login_hint=9311219639"
        );
        assert_eq!(login_url("http://b", "seb", None, &[], None), "http://b/auth/login?provider=seb");
    }

    #[test]
    fn return_to_must_be_local() {
        assert!(is_local_path("/"));
        assert!(is_local_path("/app/x?y=1#z"));
        assert!(!is_local_path(""));
        assert!(!is_local_path("app"));
        assert!(!is_local_path("//evil.example/"));
        assert!(!is_local_path("/\\evil.example"));
        assert!(!is_local_path("https://evil.example/"));
        assert!(!is_local_path("/a\nb"));
    }

    #[test]
    fn next_links_resolve_under_the_base_path() {
        let r = |h| resolve_next(AIS, h);
        assert_eq!(
            r("/accounts/a1/transactions?bookingStatus=booked&transactionSequenceNumber=199"),
            Ok("/ais/v7/identified2/accounts/a1/transactions?bookingStatus=booked&transactionSequenceNumber=199".into())
        );
        assert_eq!(r("/ais/v7/identified2/accounts/a1/transactions?x=1"), Ok("/ais/v7/identified2/accounts/a1/transactions?x=1".into()));
        assert_eq!(
            r("/tpp/ais/v7/identified2/accounts/a1/transactions?x=1"),
            Ok("/ais/v7/identified2/accounts/a1/transactions?x=1".into())
        );
        assert_eq!(
            r("https://api-sandbox.sebgroup.com/ais/v7/identified2/accounts/a1/transactions?x=1#f"),
            Ok("/ais/v7/identified2/accounts/a1/transactions?x=1".into())
        );
        assert_eq!(r("accounts/a1"), Ok("/ais/v7/identified2/accounts/a1".into()));
        // a dot in a query value is fine
        assert_eq!(r("/accounts/a1?x=../y"), Ok("/ais/v7/identified2/accounts/a1?x=../y".into()));
    }

    #[test]
    fn hostile_next_links_are_refused() {
        for h in [
            "",
            "   ",
            "//evil.example/accounts",
            "https://evil.example",
            "/accounts/../../auth/logout",
            "/accounts/./a",
            "/accounts/a%2F..%2Fb",
            "/accounts/%2e%2e/x",
            "/accounts\\a",
            "/accounts/a\n",
        ] {
            assert_eq!(resolve_next(AIS, h), Err(BadLink), "{h:?}");
        }
    }

    #[test]
    fn uuids_are_version_4() {
        let u = uuid_v4([0xff; 16]);
        assert_eq!(u, "ffffffff-ffff-4fff-bfff-ffffffffffff");
        let u = uuid_v4([0; 16]);
        assert_eq!(u, "00000000-0000-4000-8000-000000000000");
        assert_eq!(u.len(), 36);
    }
}
