//! Real certificates for the keyless unit tests, read from the shared fixtures.

use super::certificate::Cert;

/// The leaf of the salrashid123 e-mail signature: a real 2026 Fulcio certificate, valid for
/// ten minutes, carrying both issuer extensions.
pub(super) fn fulcio_email_leaf() -> Cert {
    let manifest: serde_json::Value =
        serde_json::from_slice(&crate::verify::test_fixtures::realworld_file(
            "legacy-sig/salrashid123-server_image-email/sig-manifest.json",
        ))
        .unwrap();
    let pem_text = manifest["layers"][0]["annotations"]["dev.sigstore.cosign/certificate"]
        .as_str()
        .unwrap();
    Cert::parse(pem::parse(pem_text).unwrap().contents()).unwrap()
}

/// The leaf of the salrashid123 GitHub Actions signature (v0.0.14): a real 2026 Fulcio
/// certificate carrying every extension, `.1`–`.6` and `.8`–`.22`.
pub(super) fn fulcio_github_leaf() -> Cert {
    let manifest: serde_json::Value =
        serde_json::from_slice(&crate::verify::test_fixtures::realworld_file(
            "legacy-sig/salrashid123-server_image-gha-v0.0.14/sig-manifest.json",
        ))
        .unwrap();
    let pem_text = manifest["layers"][0]["annotations"]["dev.sigstore.cosign/certificate"]
        .as_str()
        .unwrap();
    Cert::parse(pem::parse(pem_text).unwrap().contents()).unwrap()
}
