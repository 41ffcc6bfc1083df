//! The certificate identity: subject alternative names and the OIDC issuer extension, matched
//! against a keyless rule.
//!
//! Fulcio writes the issuer twice: the v1 extension `1.3.6.1.4.1.57264.1.1` holds the raw
//! string as the extension value (deprecated), the v2 extension `1.3.6.1.4.1.57264.1.8` a DER
//! UTF8String. Newer certificates may carry only v2 (sigstore-rs 0.15 reads only v1). v2 is
//! preferred; if both are present they must agree, or the certificate is refused.

use super::certificate::{Cert, OID_ISSUER_V1, OID_ISSUER_V2};
use super::tlv;
use crate::verify::policy::{IdentityMismatch, KeylessIdentity};

/// The OIDC issuer named by the certificate, if any; `Err` when the extensions are malformed
/// or disagree.
pub fn oidc_issuer(cert: &Cert) -> Result<Option<String>, String> {
    let v2 = match cert.extension(OID_ISSUER_V2) {
        Some(value) => {
            let (s, rest) = tlv::read(value).map_err(|e| format!("issuer (v2) extension: {e}"))?;
            if s.tag != 0x0c || !rest.is_empty() {
                return Err("issuer (v2) extension is not a UTF8String".into());
            }
            Some(
                String::from_utf8(s.value.to_vec())
                    .map_err(|_| "issuer (v2) extension is not UTF-8".to_owned())?,
            )
        }
        None => None,
    };
    let v1 = match cert.extension(OID_ISSUER_V1) {
        Some(value) => Some(
            String::from_utf8(value.to_vec())
                .map_err(|_| "issuer (v1) extension is not UTF-8".to_owned())?,
        ),
        None => None,
    };
    match (v2, v1) {
        (Some(a), Some(b)) if a != b => Err(format!(
            "the certificate's issuer extensions disagree ({a:?} and {b:?})"
        )),
        (Some(a), _) => Ok(Some(a)),
        (None, b) => Ok(b),
    }
}

/// Match the certificate's identity against `identity`.
pub fn check(cert: &Cert, identity: &KeylessIdentity) -> Result<(), IdentityCheckError> {
    let issuer = oidc_issuer(cert).map_err(IdentityCheckError::Malformed)?;
    let sans = cert.subject_alt_names();
    let subjects: Vec<&str> = sans.iter().map(String::as_str).collect();
    identity
        .matches_certificate(issuer.as_deref(), &subjects)
        .map_err(IdentityCheckError::Mismatch)
}

/// Why the identity check failed.
#[derive(Debug)]
pub enum IdentityCheckError {
    Malformed(String),
    Mismatch(IdentityMismatch),
}

#[cfg(test)]
mod tests {
    use super::*;

    const REALWORLD: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/fixtures/realworld"
    );

    /// A real 2026 Fulcio certificate (it carries both issuer extensions).
    fn fulcio_cert() -> Cert {
        let manifest: serde_json::Value = serde_json::from_slice(
            &std::fs::read(format!(
                "{REALWORLD}/legacy-sig/salrashid123-server_image-email/sig-manifest.json"
            ))
            .unwrap(),
        )
        .unwrap();
        let pem_text = manifest["layers"][0]["annotations"]["dev.sigstore.cosign/certificate"]
            .as_str()
            .unwrap();
        Cert::parse(pem::parse(pem_text).unwrap().contents()).unwrap()
    }

    #[test]
    fn issuer_from_v2_or_v1_extension() {
        let cert = fulcio_cert();
        assert!(cert.extension(OID_ISSUER_V1).is_some() && cert.extension(OID_ISSUER_V2).is_some());
        assert_eq!(
            oidc_issuer(&cert).unwrap().as_deref(),
            Some("https://github.com/login/oauth")
        );
        // v2 only (what sigstore-rs 0.15 cannot read).
        let mut v2_only = cert.clone();
        v2_only.extensions.retain(|e| e.oid != OID_ISSUER_V1);
        assert_eq!(
            oidc_issuer(&v2_only).unwrap().as_deref(),
            Some("https://github.com/login/oauth")
        );
        // v1 only (older certificates).
        let mut v1_only = cert.clone();
        v1_only.extensions.retain(|e| e.oid != OID_ISSUER_V2);
        assert_eq!(
            oidc_issuer(&v1_only).unwrap().as_deref(),
            Some("https://github.com/login/oauth")
        );
        // Neither.
        let mut none = v1_only.clone();
        none.extensions.retain(|e| e.oid != OID_ISSUER_V1);
        assert_eq!(oidc_issuer(&none).unwrap(), None);
        // Disagreeing extensions are refused rather than one picked.
        let mut split = cert.clone();
        for e in &mut split.extensions {
            if e.oid == OID_ISSUER_V1 {
                e.value = b"https://evil.example".to_vec();
            }
        }
        assert!(oidc_issuer(&split).is_err());
        // v2 must be a DER UTF8String.
        let mut raw_v2 = v2_only.clone();
        for e in &mut raw_v2.extensions {
            if e.oid == OID_ISSUER_V2 {
                e.value = b"https://github.com/login/oauth".to_vec();
            }
        }
        assert!(oidc_issuer(&raw_v2).is_err());
        assert_eq!(cert.subject_alt_names(), ["salrashid123@gmail.com"]);
    }
}
