//! The README's configuration example is a valid configuration.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use base64::Engine;
use valv_broker::config::{ClientAuth, Config, StoreConfig, TlsIdentityConfig};

/// The first ```toml block after the "## Configuration" heading.
fn readme_example() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = &readme[readme.find("## Configuration").expect("configuration section")..];
    let start = section.find("```toml\n").expect("toml block") + "```toml\n".len();
    section[start..start + section[start..].find("```").unwrap()].to_owned()
}

#[test]
fn the_readme_configuration_example_loads() {
    let key = base64::engine::general_purpose::STANDARD.encode([3u8; 32]);
    let env: Vec<(String, String)> = [
        ("VALV_SESSION_KEY_K1", key.as_str()),
        ("VALV_SESSION_KEY_K2", key.as_str()),
        ("SEB_SANDBOX_CLIENT_ID", "sandbox-client"),
        ("SEB_SANDBOX_CLIENT_SECRET", "sandbox-secret"),
        ("SEB_SANDBOX_PFX_PASSWORD", "qwerty"),
        ("SEB_CLIENT_ID", "prod-client"),
        ("SEB_CLIENT_SECRET", "prod-secret"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    // The example's files live in /run/secrets; here in a temp dir.
    let dir = std::env::temp_dir().join(format!("valv-readme-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("valv-session-k1"), &key).unwrap();
    std::fs::write(dir.join("seb-client-secret"), "prod-secret-from-file").unwrap();
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    std::fs::copy(fixtures.join("open-banking.pfx"), dir.join("open-banking.pfx")).unwrap();
    std::fs::write(dir.join("qwac.pem"), "placeholder").unwrap();
    std::fs::write(dir.join("qwac.key"), "placeholder").unwrap();
    let example = readme_example().replace("/run/secrets/", &format!("{}/", dir.display()));
    let config = Config::from_toml_str(&example, &env).unwrap_or_else(|e| panic!("README example: {e}"));
    assert_eq!(config.store, StoreConfig::Sqlite(".valv/sessions.db".into()));
    assert_eq!(config.providers.len(), 2);
    let sandbox = &config.providers["seb-sandbox"];
    assert_eq!(sandbox.client_auth, ClientAuth::ClientSecretPost);
    assert!(matches!(sandbox.mtls, Some(TlsIdentityConfig::Pkcs12 { .. })));
    assert!(!sandbox.allow.is_empty(), "the seb-psd2 preset");
    let prod = &config.providers["seb"];
    assert_eq!(prod.api_base_url.as_str(), "https://tpp-api.sebgroup.com/tpp");
    assert_eq!(
        prod.redirect_uri.as_str(),
        "https://app.example.com/auth/callback/seb",
        "default with several providers: {{public_origin}}/auth/callback/{{name}}"
    );
    assert_eq!(sandbox.redirect_uri.as_str(), "https://app.example.com/auth/callback/seb-sandbox");
    assert!(prod.allow.iter().any(|r| r.path == "/ais/v7/identified2/**"));
    assert!(matches!(prod.mtls, Some(TlsIdentityConfig::Pem { .. })));
    assert_eq!(config.session.active_key, "k2");
    assert_eq!(prod.client_secret.expose(), "prod-secret-from-file");
    let _ = std::fs::remove_dir_all(dir);
}

/// The README's table of error codes lists exactly the wire contract's broker codes, each
/// with its status (`valv-wire` is where they are defined).
#[test]
fn the_readme_error_table_is_the_wire_contract() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let table = &readme[readme.find("| code | status | when |").expect("the error table")..];
    let rows: Vec<(String, u16)> = table
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (cells[1].trim_matches('`').to_owned(), cells[2].parse().unwrap_or_else(|_| panic!("status of {l}")))
        })
        .collect();
    let mut listed: Vec<&str> = rows.iter().map(|(c, _)| c.as_str()).collect();
    listed.sort_unstable();
    let mut wire: Vec<&str> = valv_wire::Code::BROKER.iter().map(|c| c.as_str()).collect();
    wire.sort_unstable();
    assert_eq!(listed, wire, "the README's codes are the broker's wire codes");
    for (code, status) in &rows {
        let c = valv_wire::Code::from_broker(code).unwrap();
        assert_eq!(c.status(), Some(*status), "{code}'s status in the README");
    }
}
