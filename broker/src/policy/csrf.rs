//! The CSRF rules of `/api/…`, `POST /auth/logout` and `/auth/bankid*`: the custom header and
//! the origin.

use axum::http::{HeaderMap, HeaderName};

/// The CSRF header every `/api/…` call and `POST /auth/logout` must carry with value `1`
/// (the wire contract's [`valv_wire::header::CSRF`]).
pub const CSRF_HEADER: HeaderName = HeaderName::from_static(valv_wire::header::CSRF);

const SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");

/// The CSRF rules for `/api/…` and `POST /auth/logout`: `X-Valv-CSRF: 1`, an `Origin`
/// (when sent) that is this origin or an allowlisted one, and no `Sec-Fetch-Site:
/// cross-site` unless the origin is allowlisted.
pub fn check_csrf(headers: &HeaderMap, own_origin: &str, allowed: &[String]) -> Result<(), &'static str> {
    match headers.get(CSRF_HEADER).map(|v| v.as_bytes()) {
        Some(v) if v == valv_wire::header::CSRF_VALUE.as_bytes() => {}
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
    if let Some(site) = headers.get(SEC_FETCH_SITE) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

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
}
