//! The token vault: AEAD sealing with key ids, rotation, tamper and context checks.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use base64::Engine as _;
use valv_broker::secret::Secret;
use valv_broker::vault::{TokenSet, Vault, VaultError};

fn key(byte: u8) -> Secret {
    Secret::new(base64::engine::general_purpose::STANDARD.encode([byte; 32]))
}

fn vault(keys: &[(&str, u8)], active: &str) -> Result<Vault, VaultError> {
    let map: BTreeMap<String, Secret> = keys.iter().map(|(k, b)| (k.to_string(), key(*b))).collect();
    Vault::new(&map, active)
}

fn tokens() -> TokenSet {
    TokenSet {
        access_token: "at-5f1c0a9e-very-secret".into(),
        refresh_token: Some("rt-77aa01-very-secret".into()),
        expires_at: 1_800_000_000,
        scopes: vec!["psd2_accounts".into()],
    }
}

#[test]
fn round_trip_hides_the_plaintext_and_names_the_key() {
    let v = vault(&[("k1", 1)], "k1").unwrap();
    let sealed = v.seal_tokens(&tokens(), b"vault-record-1");
    assert!(sealed.starts_with("v1.k1."), "{sealed}");
    assert!(!sealed.contains("very-secret"));
    assert!(!sealed.contains("psd2_accounts"), "scopes are sealed too");
    let opened = v.open_tokens(&sealed, b"vault-record-1").unwrap();
    assert_eq!(opened.access_token, "at-5f1c0a9e-very-secret");
    assert_eq!(opened.refresh_token.as_deref(), Some("rt-77aa01-very-secret"));
    assert_eq!(opened.expires_at, 1_800_000_000);
}

#[test]
fn the_same_plaintext_seals_differently_each_time() {
    let v = vault(&[("k1", 1)], "k1").unwrap();
    assert_ne!(v.seal(b"same", b"ctx"), v.seal(b"same", b"ctx"));
}

#[test]
fn tampering_is_detected_anywhere() {
    let v = vault(&[("k1", 1)], "k1").unwrap();
    let sealed = v.seal(b"secret data", b"ctx");
    let body_start = "v1.k1.".len();
    for i in body_start..sealed.len() {
        let mut bytes = sealed.clone().into_bytes();
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        if tampered == sealed {
            continue;
        }
        assert!(matches!(v.open(&tampered, b"ctx"), Err(VaultError::Corrupt)), "byte {i}");
    }
    assert!(matches!(v.open(&sealed[..sealed.len() - 4], b"ctx"), Err(VaultError::Corrupt)));
    assert!(matches!(v.open("v1.k1.", b"ctx"), Err(VaultError::Corrupt)));
    assert!(matches!(v.open("garbage", b"ctx"), Err(VaultError::Corrupt)));
    assert!(matches!(v.open(&sealed.replacen("v1.", "v2.", 1), b"ctx"), Err(VaultError::Corrupt)));
}

#[test]
fn data_sealed_for_one_record_does_not_open_for_another() {
    let v = vault(&[("k1", 1)], "k1").unwrap();
    let sealed = v.seal_tokens(&tokens(), b"record-a");
    assert!(matches!(v.open_tokens(&sealed, b"record-b"), Err(VaultError::Corrupt)));
}

#[test]
fn rotation_keeps_old_data_readable_and_seals_with_the_new_key() {
    let old = vault(&[("k1", 1)], "k1").unwrap();
    let sealed_old = old.seal(b"before rotation", b"ctx");
    let rotated = vault(&[("k1", 1), ("k2", 2)], "k2").unwrap();
    assert_eq!(rotated.open(&sealed_old, b"ctx").unwrap(), b"before rotation");
    assert!(rotated.needs_reseal(&sealed_old));
    let sealed_new = rotated.seal(b"after", b"ctx");
    assert!(sealed_new.starts_with("v1.k2."));
    assert!(!rotated.needs_reseal(&sealed_new));
    // Once k1 is retired, its data no longer opens, with a clear reason.
    let retired = vault(&[("k2", 2)], "k2").unwrap();
    assert!(matches!(retired.open(&sealed_old, b"ctx"), Err(VaultError::UnknownKey(k)) if k == "k1"));
}

#[test]
fn relabelling_the_key_id_does_not_open() {
    // Same key bytes under two ids: the id is authenticated, so a swapped label fails.
    let v = vault(&[("k1", 7), ("k2", 7)], "k1").unwrap();
    let sealed = v.seal(b"x", b"ctx");
    let relabelled = sealed.replacen("v1.k1.", "v1.k2.", 1);
    assert!(matches!(v.open(&relabelled, b"ctx"), Err(VaultError::Corrupt)));
}

#[test]
fn bad_keys_are_named() {
    let mut map = BTreeMap::new();
    map.insert("short".to_string(), Secret::new(base64::engine::general_purpose::STANDARD.encode([1u8; 16])));
    let err = Vault::new(&map, "short").unwrap_err();
    assert!(matches!(&err, VaultError::BadKey(k, m) if k == "short" && m.contains("16 bytes")), "{err}");

    let mut map = BTreeMap::new();
    map.insert("k1".to_string(), Secret::new("not base64 at all!"));
    let err = Vault::new(&map, "k1").unwrap_err();
    assert!(err.to_string().contains("k1"), "{err}");
    assert!(!err.to_string().contains("not base64 at all"), "the key material is never echoed: {err}");

    let err = vault(&[("k1", 1)], "k9").unwrap_err();
    assert!(matches!(err, VaultError::UnknownKey(k) if k == "k9"));

    let err = vault(&[("bad.id", 1)], "bad.id").unwrap_err();
    assert!(matches!(err, VaultError::BadKey(k, _) if k == "bad.id"));
}

#[test]
fn url_safe_and_unpadded_keys_are_accepted() {
    let raw = [0xfbu8; 32];
    for encoded in [
        base64::engine::general_purpose::URL_SAFE.encode(raw),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw),
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(raw),
        format!("{}\n", base64::engine::general_purpose::STANDARD.encode(raw)),
    ] {
        let mut map = BTreeMap::new();
        map.insert("k".to_string(), Secret::new(encoded.clone()));
        let v = Vault::new(&map, "k").unwrap_or_else(|e| panic!("{encoded}: {e}"));
        assert_eq!(v.open(&v.seal(b"ok", b""), b"").unwrap(), b"ok");
    }
}

#[test]
fn debug_output_redacts_tokens_and_keys() {
    let t = format!("{:?}", tokens());
    assert!(!t.contains("very-secret"), "{t}");
    assert!(t.contains("[redacted]"));
    let v = vault(&[("k1", 1)], "k1").unwrap();
    let d = format!("{v:?}");
    assert!(d.contains("k1") && !d.contains(&base64::engine::general_purpose::STANDARD.encode([1u8; 32])));
}
