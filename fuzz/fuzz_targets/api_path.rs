//! API paths after `/api/{provider}`: whatever the bytes, an accepted path has no segment a
//! URL parser or a gateway would read as something else, decodes to what the allowlist saw,
//! and resolves under the bank's base unchanged.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use valv_broker::policy::allowlist::Allowlist;
use valv_broker::policy::path::{normalize_api_path, validate_query};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (path, query) = text.split_once('?').unwrap_or((text, ""));
    let _ = validate_query(query);
    let Ok(p) = normalize_api_path(path) else { return };
    assert_eq!(p.raw, path);
    for seg in &p.segments {
        assert!(!seg.is_empty(), "{path:?}: an empty segment");
        assert!(!seg.bytes().all(|b| b == b'.'), "{path:?}: a dot segment {seg:?}");
        // Encoded `?` and `#` are data; encoded separators are refused.
        assert!(!seg.contains(['/', '\\', ';']), "{path:?}: a separator inside {seg:?}");
        assert!(!seg.chars().any(char::is_control), "{path:?}: a control character in {seg:?}");
    }
    // Resolved the way the upstream URL is built, the path is neither shortened nor moved.
    let base = url::Url::parse("https://bank.invalid/psd2").expect("base");
    let joined = format!("{}{}", base.as_str(), p.raw);
    let url = url::Url::parse(&joined).expect("an accepted path makes a URL");
    assert_eq!(url.host_str(), Some("bank.invalid"), "{path:?}");
    assert_eq!(url.path(), format!("/psd2{}", p.raw), "{path:?}: the URL parser rewrote the path");
    // The allowlist decides on the segments without panicking, for every method.
    static ALLOW: OnceLock<Allowlist> = OnceLock::new();
    let allow = ALLOW.get_or_init(|| Allowlist::new(&valv_broker::config::seb_psd2_preset()));
    for m in [http::Method::GET, http::Method::POST, http::Method::PUT, http::Method::DELETE, http::Method::PATCH] {
        let _ = allow.allows(&m, &p);
    }
});
