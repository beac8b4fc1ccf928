//! Which headers cross the broker, each way; the request id; the PSU's address.

use std::net::IpAddr;

use axum::http::{header, HeaderMap};

/// Request headers never forwarded to the bank.
const DROP_REQUEST: &[&str] = &[
    "cookie",
    "authorization",
    "proxy-authorization",
    "host",
    "origin",
    "referer",
    "x-valv-csrf",
    "x-request-id",
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "expect",
    "content-length",
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-real-ip",
    "psu-ip-address",
    "psu-user-agent",
];

/// Response headers never passed to the browser.
const DROP_RESPONSE: &[&str] = &[
    "set-cookie",
    "set-cookie2",
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "location",
    "www-authenticate",
    "strict-transport-security",
    "alt-svc",
    "x-request-id",
];

/// Headers named in `Connection` are hop-by-hop too (RFC 9110 §7.6.1).
fn connection_listed(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The browser's request headers that may go to the bank (before the broker adds its own).
pub fn forward_request_headers(incoming: &HeaderMap) -> HeaderMap {
    let listed = connection_listed(incoming);
    let mut out = HeaderMap::new();
    for (name, value) in incoming {
        let n = name.as_str();
        if DROP_REQUEST.contains(&n) || n.starts_with("sec-") || n.starts_with("access-control-") || listed.iter().any(|l| l == n) {
            continue;
        }
        out.append(name.clone(), value.clone());
    }
    out
}

/// The bank's response headers that may go to the browser.
pub fn forward_response_headers(incoming: &HeaderMap) -> HeaderMap {
    let listed = connection_listed(incoming);
    let mut out = HeaderMap::new();
    for (name, value) in incoming {
        let n = name.as_str();
        if DROP_RESPONSE.contains(&n) || n.starts_with("access-control-") || listed.iter().any(|l| l == n) {
            continue;
        }
        out.append(name.clone(), value.clone());
    }
    out
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
    use axum::http::{HeaderName, HeaderValue};

    #[test]
    fn request_headers_are_filtered() {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("cookie", "__Host-valv=x"),
            ("authorization", "Bearer browser"),
            ("origin", "http://a"),
            ("x-valv-csrf", "1"),
            ("connection", "x-secret-hop"),
            ("x-secret-hop", "1"),
            ("sec-fetch-site", "same-origin"),
            ("accept", "application/json"),
            ("content-type", "application/json"),
            ("x-forwarded-for", "1.2.3.4"),
        ] {
            h.append(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        let out = forward_request_headers(&h);
        let names: Vec<&str> = out.keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["accept", "content-type"]);
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
        ] {
            h.append(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        let out = forward_response_headers(&h);
        let names: Vec<&str> = out.keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["content-type", "retry-after"]);
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
