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
