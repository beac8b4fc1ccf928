//! The rustls client configuration of a provider with an mTLS identity.
//!
//! `reqwest::ClientBuilder::identity` hands the certificate to rustls'
//! `with_client_auth_cert`, which parses the leaf with webpki to check that key and
//! certificate match — and webpki refuses X.509 **v1** certificates, which is what SEB's
//! sandbox `open-banking.pfx` holds (`UnsupportedCertVersion`). The client never needs to
//! validate its own certificate (the bank does), so the broker builds the rustls config
//! itself with a resolver that always presents the configured chain, and gives it to reqwest
//! with `use_preconfigured_tls`. Server certificates are still verified against the
//! webpki roots, as reqwest's default does.

use std::sync::Arc;

use rustls::client::ResolvesClientCert;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::sign::CertifiedKey;

use crate::config::TlsIdentityConfig;

#[derive(Debug)]
struct AlwaysPresent(Arc<CertifiedKey>);

impl ResolvesClientCert for AlwaysPresent {
    fn resolve(&self, _hints: &[&[u8]], _schemes: &[rustls::SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// Reads the key and chain (errors name the file, never the password).
fn key_material(config: &TlsIdentityConfig) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
    match config {
        TlsIdentityConfig::Pkcs12 { path, password } => {
            let data = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let store = p12_keystore::KeyStore::from_pkcs12(&data, password.expose(), p12_keystore::Pkcs12ImportPolicy::Relaxed)
                .map_err(|_| format!("{}: cannot open the PKCS#12 file (wrong password?)", path.display()))?;
            let (_, chain) = store.private_key_chain().ok_or_else(|| format!("{}: no private key with a certificate", path.display()))?;
            let certs: Vec<CertificateDer<'static>> = chain.certs().iter().map(|c| CertificateDer::from(c.as_der().to_vec())).collect();
            if certs.is_empty() {
                return Err(format!("{}: no certificate", path.display()));
            }
            Ok((certs, PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(chain.key().as_der().to_vec()))))
        }
        TlsIdentityConfig::Pem { cert, key } => {
            let certs = CertificateDer::pem_file_iter(cert)
                .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                .map_err(|_| format!("{}: not a PEM certificate chain", cert.display()))?;
            if certs.is_empty() {
                return Err(format!("{}: no certificate", cert.display()));
            }
            let key = PrivateKeyDer::from_pem_file(key).map_err(|_| format!("{}: not a PEM private key", key.display()))?;
            Ok((certs, key))
        }
    }
}

/// A rustls client config presenting `config`'s identity, verifying servers against the
/// webpki roots, HTTP/1.1.
pub fn client_config(config: &TlsIdentityConfig) -> Result<rustls::ClientConfig, String> {
    let (certs, key) = key_material(config)?;
    let signing = rustls::crypto::ring::sign::any_supported_type(&key).map_err(|_| "the private key type is not supported".to_owned())?;
    let certified = Arc::new(CertifiedKey::new(certs, signing));
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS versions: {e}"))?
        .with_root_certificates(roots)
        .with_client_cert_resolver(Arc::new(AlwaysPresent(certified)));
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tls)
}

#[cfg(test)]
mod tests {
    //! An in-memory TLS handshake: the broker's client resolver presents SEB's X.509 v1
    //! sandbox certificate and signs with its key; the test server records what it got.
    //! (Test-only verifiers accept any certificate: webpki cannot parse v1 ones.)
    use super::*;
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
    use rustls::server::ResolvesServerCert;
    use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
    use std::sync::Mutex;

    #[derive(Debug)]
    struct AnyServer;
    impl ServerCertVerifier for AnyServer {
        fn verify_server_cert(
            &self,
            _: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &rustls::pki_types::ServerName<'_>,
            _: &[u8],
            _: rustls::pki_types::UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }
        fn verify_tls12_signature(
            &self,
            _: &[u8],
            _: &CertificateDer<'_>,
            _: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            Ok(HandshakeSignatureValid::assertion())
        }
        fn verify_tls13_signature(
            &self,
            _: &[u8],
            _: &CertificateDer<'_>,
            _: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            Ok(HandshakeSignatureValid::assertion())
        }
        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            rustls::crypto::ring::default_provider().signature_verification_algorithms.supported_schemes()
        }
    }

    #[derive(Debug, Default)]
    struct RecordingClientVerifier(Mutex<Vec<Vec<u8>>>);
    impl ClientCertVerifier for RecordingClientVerifier {
        fn root_hint_subjects(&self) -> &[DistinguishedName] {
            &[]
        }
        fn verify_client_cert(
            &self,
            end: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: rustls::pki_types::UnixTime,
        ) -> Result<ClientCertVerified, rustls::Error> {
            self.0.lock().unwrap().push(end.as_ref().to_vec());
            Ok(ClientCertVerified::assertion())
        }
        fn verify_tls12_signature(
            &self,
            _: &[u8],
            _: &CertificateDer<'_>,
            _: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            Ok(HandshakeSignatureValid::assertion())
        }
        fn verify_tls13_signature(
            &self,
            _: &[u8],
            _: &CertificateDer<'_>,
            _: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            Ok(HandshakeSignatureValid::assertion())
        }
        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            rustls::crypto::ring::default_provider().signature_verification_algorithms.supported_schemes()
        }
    }

    #[derive(Debug)]
    struct ServerKey(Arc<CertifiedKey>);
    impl ResolvesServerCert for ServerKey {
        fn resolve(&self, _: rustls::server::ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
            Some(self.0.clone())
        }
    }

    fn seb_pfx() -> TlsIdentityConfig {
        TlsIdentityConfig::Pkcs12 {
            path: std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/open-banking.pfx"),
            password: crate::secret::Secret::new("qwerty"),
        }
    }

    #[test]
    fn the_seb_v1_certificate_is_presented_in_a_handshake() {
        let config = seb_pfx();
        let mut client_cfg = client_config(&config).unwrap();
        client_cfg.dangerous().set_certificate_verifier(Arc::new(AnyServer));
        let (certs, key) = key_material(&config).unwrap();
        let expected_leaf = certs[0].as_ref().to_vec();
        let server_key = Arc::new(CertifiedKey::new(certs, rustls::crypto::ring::sign::any_supported_type(&key).unwrap()));
        let recorder = Arc::new(RecordingClientVerifier::default());
        let server_cfg = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(recorder.clone())
            .with_cert_resolver(Arc::new(ServerKey(server_key)));
        let mut client = rustls::ClientConnection::new(Arc::new(client_cfg), "bank.example".try_into().unwrap()).unwrap();
        let mut server = rustls::ServerConnection::new(Arc::new(server_cfg)).unwrap();
        for _ in 0..20 {
            let mut buf = Vec::new();
            while client.wants_write() {
                client.write_tls(&mut buf).unwrap();
            }
            server.read_tls(&mut buf.as_slice()).unwrap();
            server.process_new_packets().unwrap();
            let mut buf = Vec::new();
            while server.wants_write() {
                server.write_tls(&mut buf).unwrap();
            }
            client.read_tls(&mut buf.as_slice()).unwrap();
            client.process_new_packets().unwrap();
            if !client.is_handshaking() && !server.is_handshaking() {
                break;
            }
        }
        assert!(!client.is_handshaking() && !server.is_handshaking(), "handshake completed");
        assert_eq!(recorder.0.lock().unwrap().as_slice(), [expected_leaf], "the bank got SEB's certificate");
    }

    #[test]
    fn a_wrong_password_names_the_file_only() {
        let TlsIdentityConfig::Pkcs12 { path, .. } = seb_pfx() else { unreachable!() };
        let err = client_config(&TlsIdentityConfig::Pkcs12 { path, password: crate::secret::Secret::new("not-qwerty") }).unwrap_err();
        assert!(err.contains("open-banking.pfx") && !err.contains("not-qwerty"), "{err}");
    }
}
