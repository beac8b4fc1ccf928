//! mTLS identities: SEB's legacy PKCS#12 sandbox certificate, wrong passwords, PEM pairs.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use valv_broker::config::TlsIdentityConfig;
use valv_broker::secret::Secret;
use valv_broker::tls::{expiry, load_identity, Expiry};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn pfx(password: &str) -> TlsIdentityConfig {
    TlsIdentityConfig::Pkcs12 { path: fixture("open-banking.pfx"), password: Secret::new(password) }
}

#[test]
fn seb_legacy_rc2_pfx_loads() {
    let id = load_identity(&pfx("qwerty")).unwrap();
    assert!(id.subject.contains("CN=generic-sandbox"), "{}", id.subject);
    assert!(id.subject.contains("O=SEB AB"), "{}", id.subject);
    // notAfter 2026-08-13 (UTC), per SEB's sandbox-certificate README.
    let not_after = time::OffsetDateTime::from_unix_timestamp(id.not_after).unwrap();
    assert_eq!((not_after.year(), not_after.month() as u8, not_after.day()), (2026, 8, 13));
}

#[test]
fn wrong_password_is_a_clear_error_without_the_password() {
    let err = load_identity(&pfx("hunter2-wrong")).unwrap_err().to_string();
    assert!(err.contains("wrong password"), "{err}");
    assert!(err.contains("open-banking.pfx"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn missing_and_non_pkcs12_files_name_the_path() {
    let cfg = TlsIdentityConfig::Pkcs12 { path: fixture("nope.pfx"), password: Secret::new("x") };
    let err = load_identity(&cfg).unwrap_err().to_string();
    assert!(err.contains("nope.pfx") && err.contains("cannot read"), "{err}");

    let cfg =
        TlsIdentityConfig::Pkcs12 { path: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/tls.rs"), password: Secret::new("x") };
    let err = load_identity(&cfg).unwrap_err().to_string();
    assert!(err.contains("tls.rs") && err.contains("not a PKCS#12"), "{err}");
}

#[test]
fn pem_pair_loads_and_bad_pem_is_named() {
    // Write the pfx's key and chain out as PEM files, as an operator converting it would.
    let dir = std::env::temp_dir().join(format!("valv-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = p12_keystore::KeyStore::from_pkcs12(
        &std::fs::read(fixture("open-banking.pfx")).unwrap(),
        "qwerty",
        p12_keystore::Pkcs12ImportPolicy::Relaxed,
    )
    .unwrap();
    let (_, chain) = store.private_key_chain().unwrap();
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    let certs: Vec<_> = chain.certs().iter().map(|c| pem::Pem::new("CERTIFICATE", c.as_der().to_vec())).collect();
    std::fs::write(&cert, pem::encode_many(&certs)).unwrap();
    std::fs::write(&key, pem::encode(&pem::Pem::new("PRIVATE KEY", chain.key().as_der().to_vec()))).unwrap();

    let id = load_identity(&TlsIdentityConfig::Pem { cert: cert.clone(), key: key.clone() }).unwrap();
    assert!(id.subject.contains("generic-sandbox"));

    // A key file without a key, and a certificate file that is not PEM.
    let err = load_identity(&TlsIdentityConfig::Pem { cert: cert.clone(), key: cert.clone() }).unwrap_err().to_string();
    assert!(err.contains("cert.pem") && err.contains("PRIVATE KEY"), "{err}");
    let junk = dir.join("junk.pem");
    std::fs::write(&junk, "hello").unwrap();
    let err = load_identity(&TlsIdentityConfig::Pem { cert: junk, key }).unwrap_err().to_string();
    assert!(err.contains("junk.pem"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn expiry_classification() {
    let day = 86_400;
    let now = 1_800_000_000;
    assert_eq!(expiry(now + 90 * day, now), Expiry::Valid);
    assert_eq!(expiry(now + 10 * day, now), Expiry::Soon(10));
    assert_eq!(expiry(now - 3 * day, now), Expiry::Expired(3));
    assert_eq!(expiry(now, now), Expiry::Expired(0));
}
