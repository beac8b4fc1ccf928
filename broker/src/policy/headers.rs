//! Which headers cross the broker, each way; the request id; the PSU's address.

use std::collections::HashSet;
use std::net::IpAddr;

use axum::http::{header, HeaderMap, HeaderName};

/// `X-Request-ID` (the wire contract's [`valv_wire::header::REQUEST_ID`]).
pub const REQUEST_ID: HeaderName = HeaderName::from_static(valv_wire::header::REQUEST_ID);

/// The browser's request headers a provider receives unless its configuration names others
/// (`forward_headers`): content negotiation, conditional requests and the Berlin Group
/// (NextGenPSD2) headers the broker does not set itself. `TPP-…-URI` values must point at the
/// broker's own origin ([`pinned_to_origin`]).
pub const DEFAULT_FORWARD: &[&str] = &[
    "accept",
    "accept-language",
    "content-type",
    "if-none-match",
    "consent-id",
    "psu-id",
    "psu-id-type",
    "psu-corporate-id",
    "psu-corporate-id-type",
    "psu-accept",
    "psu-accept-charset",
    "psu-accept-encoding",
    "psu-accept-language",
    "psu-http-method",
    "psu-device-id",
    "psu-geo-location",
    "tpp-redirect-preferred",
    "tpp-redirect-uri",
    "tpp-nok-redirect-uri",
    "tpp-explicit-authorisation-preferred",
    "tpp-decoupled-preferred",
    "tpp-rejection-nofunds-preferred",
    "tpp-notification-uri",
    "tpp-notification-content-preferred",
    "tpp-brand-logging-information",
];

/// Request headers no configuration may forward: credentials, the broker's own headers,
/// hop-by-hop and framing headers, and anything that tells a gateway where a request came
/// from or where it should go.
const NEVER_FORWARD: &[&str] = &[
    "cookie",
    "authorization",
    "proxy-authorization",
    "host",
    "origin",
    "referer",
    valv_wire::header::CSRF,
    valv_wire::header::REQUEST_ID,
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "expect",
    "content-length",
    "forwarded",
    "via",
    "user-agent",
    "psu-ip-address",
    "psu-ip-port",
    "psu-user-agent",
    "x-http-method",
    "x-http-method-override",
    "x-method-override",
    "x-original-url",
    "x-rewrite-url",
    "x-original-uri",
    "x-real-ip",
    "x-client-ip",
    "true-client-ip",
    "client-ip",
    "client-cert",
    "client-cert-chain",
    "ssl-client-cert",
    "x-client-cert",
    "x-ssl-cert",
    "digest",
    "signature",
    "tpp-signature-certificate",
];

/// Why a header name cannot be on a `forward_headers` list, if it cannot.
pub fn unforwardable(name: &str) -> Option<&'static str> {
    let n = name.to_ascii_lowercase();
    if NEVER_FORWARD.contains(&n.as_str()) {
        return Some("the broker never forwards it (a credential, its own header, hop-by-hop, or routing information)");
    }
    for prefix in ["sec-", "proxy-", "x-forwarded-", "access-control-"] {
        if n.starts_with(prefix) {
            return Some("headers starting with sec-, proxy-, x-forwarded- or access-control- are never forwarded");
        }
    }
    None
}

/// Is this forwarded header a URI that must point at the broker's origin (`TPP-Redirect-URI`,
/// `TPP-Nok-Redirect-URI`, `TPP-Notification-URI`, …): the bank would send the person, or
/// its notifications, there.
pub fn pinned_to_origin(name: &HeaderName) -> bool {
    let n = name.as_str();
    n.starts_with("tpp-") && n.ends_with("-uri")
}

/// Response headers never passed to the browser: cookies, hop-by-hop and framing headers,
/// redirects and challenges, the bank's transport policy and request id, and CORS (the
/// broker answers CORS itself).
fn dropped_response_header(name: &str) -> bool {
    matches!(
        name,
        "set-cookie"
            | "set-cookie2"
            | "connection"
            | "keep-alive"
            | "proxy-connection"
            | "proxy-authenticate"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "location"
            | "www-authenticate"
            | "strict-transport-security"
            | "alt-svc"
            | valv_wire::header::REQUEST_ID
    ) || name.starts_with("access-control-")
}

/// Does a `Connection` header name `name` (those are hop-by-hop too, RFC 9110 §7.6.1).
fn connection_lists(headers: &HeaderMap, name: &str) -> bool {
    connection_tokens(headers).any(|token| token.eq_ignore_ascii_case(name.as_bytes()))
}

/// The options of `Connection` headers, trimmed.
fn connection_tokens(headers: &HeaderMap) -> impl Iterator<Item = &[u8]> {
    headers.get_all(header::CONNECTION).iter().flat_map(|v| v.as_bytes().split(|b| *b == b',')).map(<[u8]>::trim_ascii)
}

/// Does `Connection` name a header (anything but `keep-alive` and `close`, whose headers
/// are never forwarded anyway).
fn connection_names_headers(headers: &HeaderMap) -> bool {
    connection_tokens(headers).any(|t| !t.is_empty() && !t.eq_ignore_ascii_case(b"keep-alive") && !t.eq_ignore_ascii_case(b"close"))
}

/// A set of header names, to test each header of a request against (a hash set with a fast
/// keyed hash: one lookup per header instead of a scan of the list).
#[derive(Debug, Clone, Default)]
pub struct HeaderSet(HashSet<HeaderName, foldhash::fast::RandomState>);

impl HeaderSet {
    /// The set of `names`.
    pub fn new(names: &[HeaderName]) -> Self {
        Self(names.iter().cloned().collect())
    }

    /// Is `name` in the set.
    pub fn contains(&self, name: &HeaderName) -> bool {
        self.0.contains(name)
    }
}

/// The browser's request headers that go to the bank: those on `allow` (never one named in
/// `Connection`), with `spare` room for the headers the broker adds. A `TPP-…-URI` that does
/// not point at `origin` is refused.
pub fn forward_request_headers(incoming: &HeaderMap, allow: &HeaderSet, origin: &str, spare: usize) -> Result<HeaderMap, String> {
    let hop = connection_names_headers(incoming);
    let mut out = HeaderMap::with_capacity(incoming.len().min(allow.0.len()) + spare);
    for (name, value) in incoming {
        if !allow.contains(name) || (hop && connection_lists(incoming, name.as_str())) {
            continue;
        }
        if pinned_to_origin(name) && !on_origin(value.as_bytes(), origin) {
            return Err(format!("{name} must point at this app's origin ({origin})."));
        }
        out.append(name.clone(), value.clone());
    }
    Ok(out)
}

/// Is `uri` the origin itself or a path under it.
fn on_origin(uri: &[u8], origin: &str) -> bool {
    uri.strip_prefix(origin.as_bytes()).is_some_and(|rest| rest.is_empty() || rest.starts_with(b"/"))
}

/// The bank's response headers, less those that may not go to the browser (removed in
/// place: an answer usually loses one or two, its `Connection` among them).
pub fn forward_response_headers(mut headers: HeaderMap) -> HeaderMap {
    let hop = connection_names_headers(&headers);
    loop {
        let dropped = headers.keys().find(|n| dropped_response_header(n.as_str()) || (hop && connection_lists(&headers, n.as_str())));
        let Some(name) = dropped.cloned() else { break };
        headers.remove(&name);
    }
    // Room for what the broker adds to every answer (request id, cache and security
    // headers): one allocation now rather than a rehash as they are added.
    headers.reserve(8);
    headers
}

/// A browser-sent `X-Request-ID` is kept when it is a UUID; otherwise a new one is made.
pub fn request_id_from(headers: &HeaderMap) -> uuid::Uuid {
    headers
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| uuid::Uuid::parse_str(s.trim()).ok())
        .unwrap_or_else(uuid::Uuid::new_v4)
}

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// The browser's address (see [`client_ip`]), for handlers that pass it to the bank.
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub IpAddr);

/// The PSU's address: the socket peer, or — only when the peer is a trusted proxy — the
/// right-most `X-Forwarded-For` entry that is not itself a trusted proxy.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[ipnet::IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut hops: Vec<IpAddr> = Vec::new();
    for value in headers.get_all(X_FORWARDED_FOR) {
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
mod tests {
    use super::*;
    use axum::http::{HeaderName, HeaderValue};

    fn defaults() -> HeaderSet {
        HeaderSet::new(&DEFAULT_FORWARD.iter().map(|n| HeaderName::from_static(n)).collect::<Vec<_>>())
    }

    #[test]
    fn only_allowlisted_request_headers_are_forwarded() {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("cookie", "__Host-valv=x"),
            ("authorization", "Bearer browser"),
            ("origin", "http://a"),
            ("x-valv-csrf", "1"),
            ("connection", "x-secret-hop, Accept-Language"),
            ("accept-language", "sv"),
            ("sec-fetch-site", "same-origin"),
            ("accept", "application/json"),
            ("content-type", "application/json"),
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-prefix", "/admin"),
            ("x-http-method-override", "DELETE"),
            ("x-original-url", "/admin"),
            ("psu-geo-location", "GEO:59.3;18.0"),
            ("tpp-redirect-uri", "https://app.example/done"),
        ] {
            h.append(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        let out = forward_request_headers(&h, &defaults(), "https://app.example", 0).unwrap();
        let names: Vec<&str> = out.keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["accept", "content-type", "psu-geo-location", "tpp-redirect-uri"]);
    }

    #[test]
    fn tpp_uris_must_point_at_the_origin() {
        for (value, ok) in [
            ("https://app.example", true),
            ("https://app.example/after-sca?x=1", true),
            ("https://app.example.evil/x", false),
            ("https://app.exampl", false),
            ("https://evil.example/https://app.example/", false),
            ("//evil.example", false),
        ] {
            let mut h = HeaderMap::new();
            h.insert("tpp-nok-redirect-uri", HeaderValue::from_static(value));
            assert_eq!(forward_request_headers(&h, &defaults(), "https://app.example", 0).is_ok(), ok, "{value}");
        }
    }

    #[test]
    fn forward_lists_cannot_name_dangerous_headers() {
        for n in ["Cookie", "authorization", "x-forwarded-port", "X-Forwarded-Prefix", "sec-fetch-mode", "psu-ip-address", "true-client-ip"]
        {
            assert!(unforwardable(n).is_some(), "{n}");
        }
        for n in DEFAULT_FORWARD {
            assert!(unforwardable(n).is_none(), "{n}");
        }
    }

    #[test]
    fn response_headers_are_filtered() {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("set-cookie", "bank=1"),
            ("location", "https://bank/x"),
            ("content-type", "application/json"),
            ("retry-after", "3"),
            ("transfer-encoding", "chunked"),
            ("connection", "keep-alive, x-bank-hop"),
            ("x-bank-hop", "1"),
            ("access-control-allow-origin", "*"),
            ("set-cookie", "bank=2"),
            ("etag", "\"1\""),
        ] {
            h.append(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        let out = forward_response_headers(h);
        let mut names: Vec<&str> = out.keys().map(HeaderName::as_str).collect();
        names.sort_unstable();
        assert_eq!(names, ["content-type", "etag", "retry-after"]);
        let mut h = HeaderMap::new();
        h.insert("content-type", HeaderValue::from_static("application/json"));
        assert_eq!(forward_response_headers(h.clone()), h, "nothing to drop: the same map");
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
