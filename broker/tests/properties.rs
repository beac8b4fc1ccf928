//! Property tests of the rules that stand between a browser and the bank: whatever path,
//! `returnTo` or cookie header is generated — encoded or not — what the broker accepts
//! cannot mean something else to the URL parsers and gateways after it.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use axum::http::{HeaderMap, HeaderValue, Method};
use proptest::prelude::*;
use valv_broker::config::Config;
use valv_broker::config::RouteRule;
use valv_broker::policy::allowlist::Allowlist;
use valv_broker::policy::path::normalize_api_path;
use valv_broker::policy::return_to::validate_return_to;
use valv_broker::session::cookie_value;

/// A configuration that loads, with `section`'s `key` set to `value` (a TOML string).
fn config_with(section: &str, key: &str, value: &str) -> String {
    let quoted = toml::Value::String(value.to_owned()).to_string();
    format!(
        r#"[{section}]
{key} = {quoted}

[session]
active_key = "k1"
[session.keys]
k1 = "env:PROP_KEY"

[providers.seb]
authorize_url = "https://bank.example/authorize"
token_url = "https://bank.example/token"
api_base_url = "https://bank.example"
client_id = "c"
client_secret = "env:PROP_SECRET"
scopes = ["a"]
allow_preset = "seb-psd2"
"#
    )
}

/// Pieces that paths of attacks are made of.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("ais".to_owned()),
        Just("v7".to_owned()),
        Just("accounts".to_owned()),
        Just(".".to_owned()),
        Just("..".to_owned()),
        Just("...".to_owned()),
        Just(";".to_owned()),
        Just("..;".to_owned()),
        Just("%2e".to_owned()),
        Just("%2E".to_owned()),
        Just("%2f".to_owned()),
        Just("%5c".to_owned()),
        Just("%25".to_owned()),
        Just("%3b".to_owned()),
        Just("%00".to_owned()),
        Just("\\".to_owned()),
        Just("/".to_owned()),
        Just("//".to_owned()),
        Just("?".to_owned()),
        Just("#".to_owned()),
        Just("@".to_owned()),
        Just(":".to_owned()),
        Just("%".to_owned()),
        Just("a b".to_owned()),
        Just("é".to_owned()),
        "[a-zA-Z0-9._~-]{1,6}",
        "%[0-9a-fA-F]{2}",
    ]
}

fn path() -> impl Strategy<Value = String> {
    prop::collection::vec(piece(), 1..8).prop_map(|parts| format!("/{}", parts.concat()))
}

/// What a WHATWG URL parser (browsers, most gateways) makes of `path` under a base.
fn resolved(path: &str) -> Option<String> {
    url::Url::parse(&format!("https://bank.example/base{path}")).ok().map(|u| u.path().to_owned())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    /// An accepted path is forwarded byte for byte, and no parser resolves it into another.
    #[test]
    fn accepted_paths_mean_what_they_say(p in path()) {
        if let Ok(api) = normalize_api_path(&p) {
            prop_assert_eq!(api.raw, p.as_str());
            prop_assert_eq!(resolved(&p), Some(format!("/base{p}")), "a URL parser rewrote {}", p);
            for seg in &api.segments {
                prop_assert!(!seg.is_empty() && !seg.chars().all(|c| c == '.'), "dot segment in {}", p);
                prop_assert!(!seg.contains(['/', '\\', ';', '?', '#']), "separator in segment of {}", p);
            }
            // Servlet-style: dropping `;params` from segments changes nothing.
            prop_assert!(!p.contains(';'));
        }
    }

    /// Whatever the allowlist lets through stays under the allowed prefix after any parser
    /// has resolved it.
    #[test]
    fn the_allowlist_cannot_be_escaped(p in path()) {
        let list = Allowlist::new(&[RouteRule { methods: vec![Method::GET], path: "/ais/v7/**".to_owned() }]);
        if let Ok(api) = normalize_api_path(&p) {
            if list.allows(&Method::GET, &api) {
                let r = resolved(&p).unwrap();
                prop_assert!(r.starts_with("/base/ais/v7/"), "{} resolves to {}", p, r);
            }
        }
    }

    /// An accepted `returnTo` keeps the browser on the app's origin.
    #[test]
    fn return_to_stays_on_the_origin(s in prop_oneof![
        "[ -~]{0,40}",
        prop::collection::vec(piece(), 0..6).prop_map(|v| v.concat()),
        prop::collection::vec(piece(), 0..6).prop_map(|v| format!("/{}", v.concat())),
    ]) {
        if let Ok(ok) = validate_return_to(&s) {
            let base = url::Url::parse("https://app.example/app/").unwrap();
            let joined = base.join(ok).unwrap();
            prop_assert_eq!(joined.host_str(), Some("app.example"), "{} leaves the origin", s);
            prop_assert_eq!(joined.scheme(), "https");
        }
    }

    /// Any value of a duration, size, count or rate setting loads or is refused naming its
    /// key: the loader never panics and never blames another key.
    #[test]
    fn every_setting_value_loads_or_names_its_key(
        which in 0usize..7,
        value in prop_oneof!["[ -~]{0,16}", "[0-9]{1,25}", "[0-9]{1,6}/(s|min|h|d|)", "[0-9]{1,4} ?(ms|s|m|h|MiB|KiB|kB|x)"],
    ) {
        let (section, key) = [
            ("limits", "upstream_timeout"),
            ("limits", "max_request_body"),
            ("limits", "max_connections"),
            ("limits", "header_read_timeout"),
            ("rate_limits", "api_per_session"),
            ("rate_limits", "logins_per_ip"),
            ("session", "idle_timeout"),
        ][which];
        let text = config_with(section, key, &value).replace("[session]\nactive_key", if section == "session" { "active_key" } else { "[session]\nactive_key" });
        let env = vec![
            ("PROP_KEY".to_owned(), "AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM=".to_owned()),
            ("PROP_SECRET".to_owned(), "s".to_owned()),
        ];
        if let Err(e) = Config::from_toml_str(&text, &env) {
            prop_assert_eq!(e.key.as_str(), format!("{section}.{key}"), "{}", e);
        }
    }

    /// The session cookie is read from any `Cookie` header without panicking, and exactly.
    #[test]
    fn cookie_headers_are_read_exactly(
        before in prop::collection::vec(("[a-zA-Z_-]{1,8}", "[ -:<-~]{0,12}"), 0..4),
        value in "[A-Za-z0-9_-]{0,30}",
        noise in "[ -~]{0,60}",
    ) {
        let mut h = HeaderMap::new();
        let mut header: String = before.iter().filter(|(k, _)| k != "__Host-valv").map(|(k, v)| format!("{k}={v}; ")).collect();
        header.push_str(&format!("__Host-valv={value}; __Host-valv=second"));
        h.insert("cookie", HeaderValue::from_str(&header).unwrap());
        prop_assert_eq!(cookie_value(&h, "__Host-valv"), Some(value.as_str()));
        if let Ok(v) = HeaderValue::from_str(&noise) {
            let mut h = HeaderMap::new();
            h.insert("cookie", v);
            let _ = cookie_value(&h, "__Host-valv");
        }
    }
}
