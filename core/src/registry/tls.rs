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

use super::mirrors::TlsProfile;

/// The rustls configuration registry connections use: platform roots (loaded lazily), TLS 1.2
/// and 1.3, ALPN offering HTTP/2 then HTTP/1.1 (as reqwest would set it).
pub(crate) fn client_config() -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = Arc::new(LazyPlatformVerifier {
        provider: Arc::clone(&provider),
        extra_roots: Arc::new([]),
        inner: OnceLock::new(),
    });
    with_verifier(provider, verifier)
}

fn with_verifier(
    provider: Arc<CryptoProvider>,
    verifier: Arc<dyn ServerCertVerifier>,
) -> rustls::ClientConfig {
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
    /// Roots trusted besides the platform's (containerd's `ca` for one host).
    extra_roots: Arc<[CertificateDer<'static>]>,
    inner: OnceLock<Result<rustls_platform_verifier::Verifier, rustls::Error>>,
}

impl LazyPlatformVerifier {
    fn platform(&self) -> Result<&rustls_platform_verifier::Verifier, rustls::Error> {
        self.inner
            .get_or_init(|| {
                tracing::debug!("loading the platform's TLS trust store");
                if self.extra_roots.is_empty() {
                    rustls_platform_verifier::Verifier::new(Arc::clone(&self.provider))
                } else {
                    rustls_platform_verifier::Verifier::new_with_extra_roots(
                        self.extra_roots.iter().cloned(),
                        Arc::clone(&self.provider),
                    )
                }
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

/// The rustls configuration of an endpoint with TLS settings of its own (containerd's `ca` and
/// `skip_verify`): the platform's roots plus extra ones, or no certificate check at all.
pub(crate) fn client_config_for(profile: &TlsProfile) -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier: Arc<dyn ServerCertVerifier> = match profile {
        TlsProfile::Platform => return client_config(),
        TlsProfile::ExtraRoots(roots) => Arc::new(LazyPlatformVerifier {
            provider: Arc::clone(&provider),
            extra_roots: roots.clone(),
            inner: OnceLock::new(),
        }),
        TlsProfile::SkipVerify => Arc::new(AnyCertificate {
            provider: Arc::clone(&provider),
        }),
    };
    with_verifier(provider, verifier)
}

/// `skip_verify = true`: any certificate is accepted for any name (the user said so for this
/// host); the handshake's signatures are still checked against the certificate presented.
#[derive(Debug)]
struct AnyCertificate {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
