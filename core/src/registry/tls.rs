//! TLS for registry connections: the platform's trust store, loaded on the first TLS handshake
//! rather than when the HTTP client is built.
//!
//! reqwest's own rustls set-up builds `rustls_platform_verifier::Verifier` in
//! `ClientBuilder::build`, which on Linux reads and parses every certificate under
//! `/etc/ssl/certs` (about 300 here: 3–4 ms of a 12 ms CLI resolve). A process that only
//! talks plain HTTP to a local registry, or only to a daemon socket, never needs them; Go's
//! `crypto/x509` loads system roots lazily for the same reason. Verification is unchanged: the
//! same platform verifier decides, it is only built later.

use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// The rustls configuration registry connections use: platform roots (loaded lazily), TLS 1.2
/// and 1.3, ALPN offering HTTP/2 then HTTP/1.1 (as reqwest would set it).
pub(crate) fn client_config() -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = Arc::new(LazyPlatformVerifier {
        provider: Arc::clone(&provider),
        inner: OnceLock::new(),
    });
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap_or_else(|e| panic!("imagecheck: the TLS provider rejects its own defaults: {e}"))
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    config
}

/// `rustls_platform_verifier::Verifier`, built on first use. A failure to build it (no system
/// certificates at all) is kept and returned by every handshake, as building it eagerly would
/// have failed client construction.
#[derive(Debug)]
struct LazyPlatformVerifier {
    provider: Arc<CryptoProvider>,
    inner: OnceLock<Result<rustls_platform_verifier::Verifier, rustls::Error>>,
}

impl LazyPlatformVerifier {
    fn platform(&self) -> Result<&rustls_platform_verifier::Verifier, rustls::Error> {
        self.inner
            .get_or_init(|| {
                tracing::debug!("loading the platform's TLS trust store");
                rustls_platform_verifier::Verifier::new(Arc::clone(&self.provider))
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

impl ServerCertVerifier for LazyPlatformVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.platform()?.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.platform()?.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.platform()?.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        // What the platform verifier answers, without loading any certificate.
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
