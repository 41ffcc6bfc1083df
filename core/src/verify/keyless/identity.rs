//! The certificate identity: subject alternative names and the OIDC issuer extension, matched
//! against a keyless rule's [`KeylessIdentity`] (issuer, then subject, as cosign does).
//!
//! Fulcio writes the issuer twice: the v1 extension `1.3.6.1.4.1.57264.1.1` holds the raw
//! string as the extension value (deprecated), the v2 extension `1.3.6.1.4.1.57264.1.8` a DER
//! UTF8String. Newer certificates may carry only v2 (sigstore-rs 0.15 reads only v1). v2 is
//! preferred; if both are present they must agree, or the certificate is refused.

use super::certificate::{Cert, OID_ISSUER_V1, OID_ISSUER_V2};
use super::tlv;
use crate::verify::policy::KeylessIdentity;

/// Why the certificate's issuer extensions cannot be read as one issuer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum IssuerError {
    /// The v2 extension is not one DER element.
    #[error("issuer (v2) extension: {0}")]
    V2Der(tlv::DerError),
    /// The v2 extension is DER, but not a UTF8String.
    #[error("issuer (v2) extension is not a UTF8String")]
    V2NotUtf8String,
    /// The v2 UTF8String is not UTF-8.
    #[error("issuer (v2) extension is not UTF-8")]
    V2NotUtf8,
    /// The v1 extension's raw value is not UTF-8.
    #[error("issuer (v1) extension is not UTF-8")]
    V1NotUtf8,
    /// Both extensions are present and name different issuers.
    #[error("the certificate's issuer extensions disagree ({v2:?} and {v1:?})")]
    Disagree {
        /// The issuer of the v2 extension.
        v2: String,
        /// The issuer of the v1 extension.
        v1: String,
    },
}

/// The OIDC issuer named by the certificate, if any; `Err` when the extensions are malformed
/// or disagree.
pub(crate) fn oidc_issuer(cert: &Cert) -> Result<Option<String>, IssuerError> {
    let v2 = match cert.extension(OID_ISSUER_V2) {
        Some(value) => {
            let (s, rest) = tlv::read(value).map_err(IssuerError::V2Der)?;
            if s.tag != 0x0c || !rest.is_empty() {
                return Err(IssuerError::V2NotUtf8String);
            }
            Some(String::from_utf8(s.value.to_vec()).map_err(|_| IssuerError::V2NotUtf8)?)
        }
        None => None,
    };
    let v1 = match cert.extension(OID_ISSUER_V1) {
        Some(value) => Some(String::from_utf8(value.to_vec()).map_err(|_| IssuerError::V1NotUtf8)?),
        None => None,
    };
    match (v2, v1) {
        (Some(a), Some(b)) if a != b => Err(IssuerError::Disagree { v2: a, v1: b }),
        (Some(a), _) => Ok(Some(a)),
        (None, b) => Ok(b),
    }
}

/// Which identity field did not match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityField {
    /// The OIDC issuer certificate extension.
    Issuer,
    /// The subject alternative name (e-mail, URI, …).
    Subject,
    /// A Fulcio certificate extension the rule requires (`keyless.certificateExtensions`).
    Extension(crate::verify::policy::CertificateExtension),
}

/// A certificate identity that does not satisfy a [`KeylessIdentity`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct IdentityMismatch {
    /// Which field failed.
    pub field: IdentityField,
    /// What the rule requires, as written (`issuer "…"`, `subjectRegex "…"`).
    pub expected: String,
    /// What the certificate has (empty when it has none).
    pub found: Vec<String>,
}

impl KeylessIdentity {
    /// Whether a certificate with this OIDC `issuer` and this `subject` satisfies the rule.
    pub fn matches(&self, issuer: &str, subject: &str) -> Result<(), IdentityMismatch> {
        self.matches_certificate(Some(issuer), &[subject])
    }

    /// Like [`Self::matches`], for a certificate that may lack the issuer extension (2021
    /// Fulcio certificates) or carry several subject alternative names: the issuer must be
    /// present and match, and at least one subject must match (as cosign does).
    pub fn matches_certificate(
        &self,
        issuer: Option<&str>,
        subjects: &[&str],
    ) -> Result<(), IdentityMismatch> {
        match issuer {
            Some(issuer) if self.issuer().matches(issuer) => {}
            _ => {
                return Err(IdentityMismatch {
                    field: IdentityField::Issuer,
                    expected: self.issuer().describe("issuer"),
                    found: issuer.map(str::to_owned).into_iter().collect(),
                });
            }
        }
        if subjects.iter().any(|s| self.subject().matches(s)) {
            Ok(())
        } else {
            Err(IdentityMismatch {
                field: IdentityField::Subject,
                expected: self.subject().describe("subject"),
                found: subjects.iter().map(|s| (*s).to_owned()).collect(),
            })
        }
    }
}

impl IdentityMismatch {
    fn describe(&self) -> String {
        let extension;
        let what = match self.field {
            IdentityField::Issuer => "OIDC issuer",
            IdentityField::Subject => "subject",
            IdentityField::Extension(name) => {
                extension = format!("{name} extension");
                &extension
            }
        };
        match self.found.as_slice() {
            [] => format!(
                "the certificate has no {what}; the rule requires {}",
                self.expected
            ),
            [one] => format!(
                "certificate {what} {one:?} does not match {}",
                self.expected
            ),
            many => format!(
                "no certificate {what} of {many:?} matches {}",
                self.expected
            ),
        }
    }
}

/// Match the certificate's identity against `identity`.
pub(crate) fn check(cert: &Cert, identity: &KeylessIdentity) -> Result<(), IdentityCheckError> {
    let issuer = oidc_issuer(cert).map_err(IdentityCheckError::Malformed)?;
    let sans = cert.subject_alt_names();
    let subjects: Vec<&str> = sans.iter().map(String::as_str).collect();
    identity
        .matches_certificate(issuer.as_deref(), &subjects)
        .map_err(IdentityCheckError::Mismatch)
}

/// Why the identity check failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum IdentityCheckError {
    /// The issuer extensions cannot be read.
    #[error(transparent)]
    Malformed(IssuerError),
    /// The certificate names another identity than the rule.
    #[error(transparent)]
    Mismatch(IdentityMismatch),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::policy::{Policy, RuleAction};

    /// A real 2026 Fulcio certificate (it carries both issuer extensions).
    fn fulcio_cert() -> Cert {
        super::super::test_certificates::fulcio_email_leaf()
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

    #[test]
    fn keyless_identity_matching_is_unanchored_like_cosign() {
        let policy = Policy::parse(
            r#"
- image: "a/*"
  keyless: {issuer: "https://accounts.google.com", subjectRegex: "@example\\.com$"}
- image: "b/*"
  keyless: {issuerRegex: "^https://token\\.actions\\.githubusercontent\\.com$", subject: "https://github.com/org/repo/.github/workflows/release.yml@refs/tags/v1"}
"#,
        )
        .unwrap();
        let identity = |i: usize| match policy.rules()[i].action() {
            RuleAction::Keyless(identity) => identity.clone(),
            other => panic!("rule {i} is {other:?}"),
        };
        let a = identity(0);
        a.matches("https://accounts.google.com", "me@example.com")
            .unwrap();
        // Unanchored at the start, as cosign's regexp.MatchString.
        a.matches("https://accounts.google.com", "evil+me@example.com")
            .unwrap();
        let err = a
            .matches("https://accounts.google.com", "me@example.com.evil.org")
            .unwrap_err();
        assert_eq!(err.field, IdentityField::Subject);
        assert_eq!(
            err.to_string(),
            r#"certificate subject "me@example.com.evil.org" does not match subjectRegex "@example\\.com$""#
        );
        let err = a
            .matches("https://accounts.google.com.evil", "me@example.com")
            .unwrap_err();
        assert_eq!(err.field, IdentityField::Issuer);
        // A certificate without the issuer extension never satisfies a keyless rule.
        let err = a
            .matches_certificate(None, &["me@example.com"])
            .unwrap_err();
        assert!(err.to_string().contains("has no OIDC issuer"), "{err}");
        // Several SANs: one matching is enough.
        a.matches_certificate(
            Some("https://accounts.google.com"),
            &["other@else.org", "me@example.com"],
        )
        .unwrap();

        let b = identity(1);
        b.matches(
            "https://token.actions.githubusercontent.com",
            "https://github.com/org/repo/.github/workflows/release.yml@refs/tags/v1",
        )
        .unwrap();
        // Exact subject: no prefix or suffix match.
        assert!(
            b.matches(
                "https://token.actions.githubusercontent.com",
                "https://github.com/org/repo/.github/workflows/release.yml@refs/tags/v10",
            )
            .is_err()
        );
    }
}
