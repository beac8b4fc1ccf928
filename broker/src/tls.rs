//! mTLS client identities: PKCS#12 (including SEB's legacy RC2-40 `open-banking.pfx`) or PEM.
//!
//! PKCS#12 files are read with the pure-Rust `p12-keystore` crate (it decrypts the legacy
//! `pbeWithSHAAnd40BitRC2-CBC` bags that OpenSSL 3 refuses without its legacy provider),
//! converted to PEM and handed to reqwest's rustls backend. The certificate's validity is
//! checked at load: an expired certificate, or one expiring within 30 days, is logged as a
//! warning (a broker that refused to start would turn a certificate renewal into an outage;
//! the bank will refuse the handshake anyway).

use std::path::Path;

use x509_parser::prelude::{FromDer, X509Certificate};

use crate::config::TlsIdentityConfig;

/// A loaded identity, ready for reqwest (rustls).
pub struct LoadedIdentity {
    /// For `reqwest::ClientBuilder::identity`.
    pub identity: reqwest::Identity,
    /// Certificate subject, for logs.
    pub subject: String,
    /// Certificate `notAfter` (unix seconds).
    pub not_after: i64,
}

impl std::fmt::Debug for LoadedIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedIdentity").field("subject", &self.subject).field("not_after", &self.not_after).finish_non_exhaustive()
    }
}

/// Why an identity could not be loaded; names the file, never the password.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TlsError(pub String);

/// Days before `notAfter` from which loading warns.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// Loads the identity; a wrong password is a clear error. Logs a `warn!` when the
/// certificate has expired or expires within [`EXPIRY_WARNING_DAYS`] days.
pub fn load_identity(config: &TlsIdentityConfig) -> Result<LoadedIdentity, TlsError> {
    let (pem, leaf_der, source) = match config {
        TlsIdentityConfig::Pkcs12 { path, password } => {
            let (pem, leaf) = pkcs12_to_pem(path, password.expose())?;
            (pem, leaf, path.display().to_string())
        }
        TlsIdentityConfig::Pem { cert, key } => {
            let (pem, leaf) = pem_files(cert, key)?;
            (pem, leaf, cert.display().to_string())
        }
    };
    let (subject, not_after) = describe(&leaf_der, &source)?;
    let identity =
        reqwest::Identity::from_pem(&pem).map_err(|e| TlsError(format!("{source}: the key or certificate is not usable for TLS: {e}")))?;
    warn_if_expiring(&subject, not_after, &source, now());
    Ok(LoadedIdentity { identity, subject, not_after })
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// The expiry state of a certificate at `now` (unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// More than [`EXPIRY_WARNING_DAYS`] days left.
    Valid,
    /// Expires within the warning window; days left.
    Soon(i64),
    /// Already expired; days ago.
    Expired(i64),
}

/// Classifies `not_after` against `now`.
pub fn expiry(not_after: i64, now: i64) -> Expiry {
    const DAY: i64 = 86_400;
    if not_after <= now {
        Expiry::Expired((now - not_after) / DAY)
    } else if not_after - now < EXPIRY_WARNING_DAYS * DAY {
        Expiry::Soon((not_after - now) / DAY)
    } else {
        Expiry::Valid
    }
}

fn warn_if_expiring(subject: &str, not_after: i64, source: &str, now: i64) {
    let date = time::OffsetDateTime::from_unix_timestamp(not_after)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| not_after.to_string());
    match expiry(not_after, now) {
        Expiry::Valid => tracing::info!(%subject, not_after = %date, file = %source, "mTLS identity loaded"),
        Expiry::Soon(days) => tracing::warn!(
            %subject, not_after = %date, file = %source,
            "mTLS certificate expires in {days} days: renew it"
        ),
        Expiry::Expired(days) => tracing::warn!(
            %subject, not_after = %date, file = %source,
            "mTLS certificate EXPIRED {days} days ago: the bank will refuse the TLS handshake"
        ),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| TlsError(format!("{}: cannot read: {e}", path.display())))
}

/// PKCS#12 → (PEM key + chain, leaf DER).
fn pkcs12_to_pem(path: &Path, password: &str) -> Result<(Vec<u8>, Vec<u8>), TlsError> {
    let data = read(path)?;
    let store = p12_keystore::KeyStore::from_pkcs12(&data, password, p12_keystore::Pkcs12ImportPolicy::Relaxed).map_err(|e| {
        TlsError(format!("{}: cannot open the PKCS#12 file: wrong password or not a PKCS#12 file ({})", path.display(), p12_error_kind(&e)))
    })?;
    let (_, chain) = store
        .private_key_chain()
        .ok_or_else(|| TlsError(format!("{}: the PKCS#12 file holds no private key with a certificate", path.display())))?;
    let leaf =
        chain.certs().first().ok_or_else(|| TlsError(format!("{}: the PKCS#12 file holds a key but no certificate", path.display())))?;
    let mut blocks = vec![pem::Pem::new("PRIVATE KEY", chain.key().as_der().to_vec())];
    blocks.extend(chain.certs().iter().map(|c| pem::Pem::new("CERTIFICATE", c.as_der().to_vec())));
    Ok((pem::encode_many(&blocks).into_bytes(), leaf.as_der().to_vec()))
}

/// A short, password-free description of a p12-keystore error.
fn p12_error_kind(e: &p12_keystore::error::Error) -> String {
    // The crate's messages describe structure only ("Invalid MAC", "Unpad error", …).
    e.to_string().chars().take(80).collect()
}

/// PEM certificate chain + key files → (PEM, leaf DER).
fn pem_files(cert: &Path, key: &Path) -> Result<(Vec<u8>, Vec<u8>), TlsError> {
    let cert_text = read(cert)?;
    let key_text = read(key)?;
    let certs = pem::parse_many(&cert_text).map_err(|e| TlsError(format!("{}: not a PEM file: {e}", cert.display())))?;
    let leaf =
        certs.iter().find(|p| p.tag() == "CERTIFICATE").ok_or_else(|| TlsError(format!("{}: no CERTIFICATE block", cert.display())))?;
    let keys = pem::parse_many(&key_text).map_err(|e| TlsError(format!("{}: not a PEM file: {e}", key.display())))?;
    if !keys.iter().any(|p| p.tag().ends_with("PRIVATE KEY")) {
        return Err(TlsError(format!("{}: no PRIVATE KEY block", key.display())));
    }
    let mut pem = key_text.clone();
    pem.push(b'\n');
    pem.extend_from_slice(&cert_text);
    Ok((pem, leaf.contents().to_vec()))
}

fn describe(der: &[u8], source: &str) -> Result<(String, i64), TlsError> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| TlsError(format!("{source}: the certificate cannot be parsed: {e}")))?;
    Ok((cert.subject().to_string(), cert.validity().not_after.timestamp()))
}
