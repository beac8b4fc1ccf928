//! mTLS client identities: PKCS#12 (including SEB's legacy RC2-40 `open-banking.pfx`) or PEM.

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

/// Why an identity could not be loaded; names the file, never the password.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TlsError(pub String);

/// Loads the identity; a wrong password is a clear error. FOUNDATION implements; it also
/// logs a `warn!` when the certificate has expired or expires within 30 days.
pub fn load_identity(config: &TlsIdentityConfig) -> Result<LoadedIdentity, TlsError> {
    let _ = config;
    unimplemented!("foundation")
}
