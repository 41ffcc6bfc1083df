//! Why signature candidates failed, and how to say it in one line.
//!
//! Signature discovery tries every candidate (referrer bundles, the `sha256-<hex>` tag, legacy
//! `.sig` layers) and the first valid one wins. When none is valid, the caller lists why each
//! failed; [`summarize`] turns that list into one short message for a
//! `VerificationFailed` error, grouping equal reasons:
//! `3 signatures checked: bad signature (1), digest mismatch for sha256:ab12cd34ef56… (2)`.

use std::fmt;

use crate::digest::Digest;
use crate::verify::payload::PayloadError;
use crate::verify::policy::IdentityMismatch;
use crate::verify::public_key::SignatureError;

/// Why one signature candidate was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CandidateFailure {
    /// No signature was found at all (discovery found no candidate).
    NoSignatures,
    /// The signature is for another image: its payload names `found`, the image is `expected`.
    DigestMismatch {
        /// The digest being verified.
        expected: Digest,
        /// The digest the signed payload names.
        found: Digest,
    },
    /// The signature does not verify with the key that claims to have made it (the signing
    /// certificate's key): the signature, or the bytes it covers, were altered.
    BadSignature,
    /// The signature does not verify with the rule's public key: another key made it (or it was
    /// altered; the two cannot be told apart).
    WrongKey,
    /// The candidate could not be read: bad JSON, bad base64, missing annotation, oversized, …
    Malformed(String),
    /// The payload is not a cosign image signature (`critical.type` differs).
    WrongPayloadType,
    /// Keyless: the signing certificate does not chain to a Fulcio CA of the trust root (or is
    /// missing, or is not a code-signing leaf).
    UntrustedCertificate(String),
    /// Keyless: the certificate's SAN or OIDC issuer does not match the rule.
    IdentityMismatch(IdentityMismatch),
    /// No transparency-log proof (no Rekor bundle / tlog entry, or no verified signing time).
    MissingTransparencyProof(String),
    /// The transparency-log proof does not verify (SET, inclusion proof, checkpoint, unknown
    /// log).
    BadTransparencyProof(String),
    /// The log entry is valid but records another signature, payload or certificate.
    TransparencyEntryMismatch(String),
    /// The signing time is outside the certificate's (or its CA's) validity.
    SignedOutsideValidity(String),
    /// The certificate's SCT does not verify with a CT log of the trust root.
    BadSct(String),
    /// An RFC 3161 timestamp does not verify.
    BadTimestamp(String),
}

impl CandidateFailure {
    /// The failure for a payload that did not parse or check.
    pub fn from_payload_error(error: &PayloadError) -> Self {
        match error {
            PayloadError::TooLarge { .. } | PayloadError::Malformed(_) => {
                CandidateFailure::Malformed(error.to_string())
            }
            PayloadError::WrongType { .. } => CandidateFailure::WrongPayloadType,
            PayloadError::DigestMismatch { expected, found } => CandidateFailure::DigestMismatch {
                expected: expected.clone(),
                found: found.clone(),
            },
        }
    }

    /// The failure for a signature that did not verify with a rule's public key.
    pub fn from_key_signature_error(error: &SignatureError) -> Self {
        match error {
            SignatureError::Mismatch { .. } => CandidateFailure::WrongKey,
            SignatureError::Empty | SignatureError::Malformed { .. } => {
                CandidateFailure::Malformed(error.to_string())
            }
        }
    }

    /// A short lowercase label; equal labels are grouped by [`summarize`].
    pub fn label(&self) -> String {
        match self {
            CandidateFailure::NoSignatures => "no signatures found".into(),
            CandidateFailure::DigestMismatch { found, .. } => {
                format!("digest mismatch for {}", short_digest(found))
            }
            CandidateFailure::BadSignature => "bad signature".into(),
            CandidateFailure::WrongKey => "signed by another key".into(),
            CandidateFailure::Malformed(detail) => format!("malformed ({detail})"),
            CandidateFailure::WrongPayloadType => "not a cosign image signature".into(),
            CandidateFailure::UntrustedCertificate(why) => format!("untrusted certificate ({why})"),
            CandidateFailure::IdentityMismatch(m) => format!("identity mismatch ({m})"),
            CandidateFailure::MissingTransparencyProof(why) => {
                format!("missing transparency-log proof ({why})")
            }
            CandidateFailure::BadTransparencyProof(why) => {
                format!("bad transparency-log proof ({why})")
            }
            CandidateFailure::TransparencyEntryMismatch(why) => {
                format!("transparency-log entry is for another signature ({why})")
            }
            CandidateFailure::SignedOutsideValidity(why) => {
                format!("signed outside certificate validity ({why})")
            }
            CandidateFailure::BadSct(why) => format!("bad SCT ({why})"),
            CandidateFailure::BadTimestamp(why) => format!("bad timestamp ({why})"),
        }
    }
}

impl fmt::Display for CandidateFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CandidateFailure::DigestMismatch { expected, found } => {
                write!(f, "signature is for {found}, not for {expected}")
            }
            other => f.write_str(&other.label()),
        }
    }
}

/// `sha256:` plus the first 12 hex characters and an ellipsis.
fn short_digest(digest: &Digest) -> String {
    let hex = digest.hex();
    format!("{}:{}…", digest.algorithm(), &hex[..hex.len().min(12)])
}

/// One line for a list of failures, grouping equal labels in order of first appearance.
///
/// * empty list, or only [`CandidateFailure::NoSignatures`]: `no signatures found`;
/// * otherwise: `N signature(s) checked: label (count), label (count)`, where
///   `NoSignatures` entries are not counted as signatures.
pub fn summarize(failures: &[CandidateFailure]) -> String {
    let checked: Vec<&CandidateFailure> = failures
        .iter()
        .filter(|f| !matches!(f, CandidateFailure::NoSignatures))
        .collect();
    if checked.is_empty() {
        return CandidateFailure::NoSignatures.label();
    }
    let mut groups: Vec<(String, usize)> = Vec::new();
    for failure in &checked {
        let label = failure.label();
        match groups.iter_mut().find(|(l, _)| *l == label) {
            Some((_, count)) => *count += 1,
            None => groups.push((label, 1)),
        }
    }
    let noun = if checked.len() == 1 {
        "signature"
    } else {
        "signatures"
    };
    let parts: Vec<String> = groups
        .into_iter()
        .map(|(label, count)| format!("{label} ({count})"))
        .collect();
    format!("{} {noun} checked: {}", checked.len(), parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::public_key::KeyAlgorithm;

    fn digest(c: char) -> Digest {
        Digest::parse(&format!("sha256:{}", c.to_string().repeat(64))).unwrap()
    }

    #[test]
    fn summary_groups_in_order() {
        let mismatch = CandidateFailure::DigestMismatch {
            expected: digest('a'),
            found: digest('b'),
        };
        let failures = [
            CandidateFailure::BadSignature,
            mismatch.clone(),
            mismatch.clone(),
        ];
        assert_eq!(
            summarize(&failures),
            "3 signatures checked: bad signature (1), digest mismatch for sha256:bbbbbbbbbbbb… (2)"
        );
        assert_eq!(
            summarize(&[CandidateFailure::WrongKey]),
            "1 signature checked: signed by another key (1)"
        );
        assert_eq!(summarize(&[]), "no signatures found");
        assert_eq!(
            summarize(&[CandidateFailure::NoSignatures]),
            "no signatures found"
        );
        assert_eq!(
            summarize(&[
                CandidateFailure::Malformed("bad base64".into()),
                CandidateFailure::WrongPayloadType,
                CandidateFailure::Malformed("bad base64".into()),
            ]),
            "3 signatures checked: malformed (bad base64) (2), not a cosign image signature (1)"
        );
        assert_eq!(
            mismatch.to_string(),
            format!("signature is for {}, not for {}", digest('b'), digest('a'))
        );
    }

    #[test]
    fn conversions() {
        let err = PayloadError::DigestMismatch {
            expected: digest('a'),
            found: digest('c'),
        };
        assert_eq!(
            CandidateFailure::from_payload_error(&err),
            CandidateFailure::DigestMismatch {
                expected: digest('a'),
                found: digest('c')
            }
        );
        assert_eq!(
            CandidateFailure::from_payload_error(&PayloadError::WrongType { found: "x".into() }),
            CandidateFailure::WrongPayloadType
        );
        assert!(matches!(
            CandidateFailure::from_payload_error(&PayloadError::Malformed("x".into())),
            CandidateFailure::Malformed(_)
        ));
        assert_eq!(
            CandidateFailure::from_key_signature_error(&SignatureError::Mismatch {
                algorithm: KeyAlgorithm::Ed25519
            }),
            CandidateFailure::WrongKey
        );
        assert!(matches!(
            CandidateFailure::from_key_signature_error(&SignatureError::Empty),
            CandidateFailure::Malformed(_)
        ));
    }
}
