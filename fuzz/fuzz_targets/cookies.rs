//! `Cookie` headers: any bytes a browser (or an attacker) sends are read without panicking,
//! and a value is found only as a whole `name=value` pair, never inside another cookie.
#![no_main]

use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use valv_broker::session::cookie_value;

const NAME: &str = "__Host-valv";

fuzz_target!(|data: &[u8]| {
    let mut headers = HeaderMap::new();
    for line in data.split(|b| *b == b'\n').take(4) {
        if let Ok(v) = HeaderValue::from_bytes(line) {
            headers.append(http::header::COOKIE, v);
        }
    }
    let Some(found) = cookie_value(&headers, NAME) else { return };
    assert!(!found.contains(';'), "{found:?}");
    // Another cookie's bytes (non-ASCII ones too, as browsers may send) do not hide it.
    let pair = format!("{NAME}={found}");
    let whole = headers
        .get_all(http::header::COOKIE)
        .iter()
        .any(|h| h.as_bytes().split(|b| *b == b';').any(|p| p.trim_ascii() == pair.as_bytes()));
    assert!(whole, "{found:?} is not a whole cookie of {headers:?}");
});
