//! Why signature candidates failed, and how to say it in one line; how the one that passed
//! was accepted.
//!
//! Signature discovery tries every candidate (referrer bundles, the `sha256-<hex>` tag, legacy
//! `.sig` layers) and the first valid one wins. When none is valid, the caller lists why each
//! failed; [`summarize`] turns that list into one short message for a
//! `VerificationFailed` error, grouping equal reasons:
//! `3 signatures checked: bad signature (1), digest mismatch for sha256:ab12cd34ef56… (2)`.
//! When discovery itself stopped early (the bound on registry requests, the verify deadline)
//! or skipped candidates the registry did not have, [`summarize_discovery`] says so first:
//! `stopped after 203 registry requests (the bound per verify); 201 candidates unreadable
//! (not in the registry); no signature could be checked`.

use std::fmt;
use std::time::Duration;

use super::discovery::SignatureSource;
use crate::cause::DigestCause;
use crate::digest::Digest;
use crate::verify::keyless::identity::IdentityMismatch;
use crate::verify::payload::PayloadError;
use crate::verify::public_key::SignatureError;

/// How a candidate was accepted, for the success message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub format: &'static str,
    /// Something the success message must say (e.g. that SCTs were not checked).
    pub note: Option<&'static str>,
    /// Unix seconds after which this acceptance no longer holds: set when a certificate was
    /// checked at the current time (no transparency log), so a cached success cannot outlive
    /// the certificate.
    pub valid_until: Option<i64>,
}

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
    /// A signed attestation of another predicate type than the rule requires.
    PredicateTypeMismatch {
        /// The predicate types the rule still required.
        expected: Vec<String>,
        /// The attestation's predicate type.
        found: String,
    },
    /// A signed attestation of the required predicate type whose predicate does not meet a
    /// condition of the rule (the path is missing, or holds another value).
    ConditionFailed(String),
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

    /// The stable name of the check that failed, as every binding and the CLI's `--json`
    /// report it (`wrong_key`, `identity_mismatch`, …).
    pub const fn check(&self) -> &'static str {
        match self {
            CandidateFailure::NoSignatures => "no_signatures",
            CandidateFailure::DigestMismatch { .. } => "digest_mismatch",
            CandidateFailure::BadSignature => "bad_signature",
            CandidateFailure::WrongKey => "wrong_key",
            CandidateFailure::Malformed(_) => "malformed",
            CandidateFailure::WrongPayloadType => "wrong_payload_type",
            CandidateFailure::UntrustedCertificate(_) => "untrusted_certificate",
            CandidateFailure::IdentityMismatch(_) => "identity_mismatch",
            CandidateFailure::MissingTransparencyProof(_) => "missing_transparency_proof",
            CandidateFailure::BadTransparencyProof(_) => "bad_transparency_proof",
            CandidateFailure::TransparencyEntryMismatch(_) => "transparency_entry_mismatch",
            CandidateFailure::SignedOutsideValidity(_) => "signed_outside_validity",
            CandidateFailure::BadSct(_) => "bad_sct",
            CandidateFailure::BadTimestamp(_) => "bad_timestamp",
            CandidateFailure::PredicateTypeMismatch { .. } => "predicate_type_mismatch",
            CandidateFailure::ConditionFailed(_) => "condition_failed",
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
            CandidateFailure::PredicateTypeMismatch { expected, found } => format!(
                "attestation of predicate type {found:?}, not {}",
                expected
                    .iter()
                    .map(|t| format!("{t:?}"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
            CandidateFailure::ConditionFailed(why) => {
                format!("attestation condition not met ({why})")
            }
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

/// Why signature discovery ended before it had read every source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscoveryStop {
    /// The bound on registry requests per verify was reached after `requests`.
    RequestBudget { requests: usize },
    /// The verify's deadline passed, after `requests` registry requests.
    Deadline { deadline: Duration, requests: usize },
}

impl fmt::Display for DiscoveryStop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiscoveryStop::RequestBudget { requests } => write!(
                f,
                "stopped after {requests} registry requests (the bound per verify)"
            ),
            DiscoveryStop::Deadline { deadline, requests } => write!(
                f,
                "stopped at the verify deadline of {} after {requests} registry requests",
                seconds(*deadline)
            ),
        }
    }
}

/// `60 s`, `1.5 s`, `0.25 s`.
fn seconds(duration: Duration) -> String {
    let text = format!("{:.3}", duration.as_secs_f64());
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text} s")
}

/// What signature discovery tells beside the candidates' failures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiscoveryReport {
    /// Set when discovery stopped before reading every source.
    pub stopped: Option<DiscoveryStop>,
    /// Candidates listed (in a referrers index) that the registry did not have.
    pub unreadable: usize,
}

/// [`summarize`], preceded by how discovery ended when that matters: it stopped early, or it
/// skipped listed candidates the registry did not have. Without either, exactly
/// [`summarize`].
pub fn summarize_discovery(failures: &[CandidateFailure], report: &DiscoveryReport) -> String {
    let mut parts: Vec<String> = report.stopped.iter().map(ToString::to_string).collect();
    match report.unreadable {
        0 => {}
        1 => parts.push("1 candidate unreadable (not in the registry)".into()),
        n => parts.push(format!("{n} candidates unreadable (not in the registry)")),
    }
    let checked = failures
        .iter()
        .any(|f| !matches!(f, CandidateFailure::NoSignatures));
    parts.push(if checked || parts.is_empty() {
        summarize(failures)
    } else {
        "no signature could be checked".into()
    });
    parts.join("; ")
}

/// One signature candidate that was checked and refused: where it was found and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedCandidate {
    pub source: SignatureSource,
    pub failure: CandidateFailure,
}

/// Why a matched rule's signature check failed: the typed detail of
/// [`crate::Error::VerificationFailed`], whose message is this value's `Display`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerificationFailure {
    /// No candidate satisfied the rule: each one checked, and how discovery ended.
    Rejected {
        /// The rule as messages name it: `rule 2 (image "ghcr.io/org/*")`.
        rule: String,
        candidates: Vec<FailedCandidate>,
        discovery: DiscoveryReport,
    },
    /// The registry's signature store could not be read.
    Unreadable(DigestCause),
    /// A rule with several requirements (`signers` with a threshold, or `attestations`) that
    /// the candidates together did not meet. (A rule with one signer and no attestations fails
    /// as [`Self::Rejected`].)
    Unsatisfied(Box<Unsatisfied>),
    /// A keyless rule has no trusted root to check against: the TUF-refreshed root expired
    /// and no refresh succeeded, or was never fetched. Fails closed; public-key rules are
    /// never affected.
    TrustedRootUnavailable {
        /// The rule as messages name it.
        rule: String,
        /// Why, and what was tried, for people.
        reason: String,
    },
}

/// What a rule with several requirements lacked: what is missing, each candidate that failed,
/// and how discovery ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsatisfied {
    /// The rule as messages name it: `rule 2 (image "ghcr.io/org/*")`.
    pub rule: String,
    /// What was not met, for people: `1 of the 2 required signers verified (signers[0])`,
    /// `no valid attestation of predicate type "https://slsa.dev/provenance/v1"`.
    pub missing: String,
    pub candidates: Vec<FailedCandidate>,
    pub discovery: DiscoveryReport,
}

impl VerificationFailure {
    /// The candidates checked, in the order they were tried (none when the store was
    /// unreadable or held no signature).
    pub fn candidates(&self) -> &[FailedCandidate] {
        match self {
            VerificationFailure::Rejected { candidates, .. } => candidates,
            VerificationFailure::Unsatisfied(unsatisfied) => &unsatisfied.candidates,
            VerificationFailure::Unreadable(_)
            | VerificationFailure::TrustedRootUnavailable { .. } => &[],
        }
    }
}

impl fmt::Display for VerificationFailure {
    /// `rule 0 (image "…"): 2 signatures checked: signed by another key (2)`, or
    /// `cannot read signatures: network: …`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerificationFailure::Rejected {
                rule,
                candidates,
                discovery,
            } => {
                let failures: Vec<CandidateFailure> =
                    candidates.iter().map(|c| c.failure.clone()).collect();
                write!(f, "{rule}: {}", summarize_discovery(&failures, discovery))
            }
            VerificationFailure::Unreadable(cause) => write!(f, "cannot read signatures: {cause}"),
            VerificationFailure::Unsatisfied(unsatisfied) => {
                let Unsatisfied {
                    rule,
                    missing,
                    candidates,
                    discovery,
                } = unsatisfied.as_ref();
                write!(f, "{rule}: {missing}")?;
                if !candidates.is_empty() || discovery != &DiscoveryReport::default() {
                    let failures: Vec<CandidateFailure> =
                        candidates.iter().map(|c| c.failure.clone()).collect();
                    write!(f, "; {}", summarize_discovery(&failures, discovery))?;
                }
                Ok(())
            }
            VerificationFailure::TrustedRootUnavailable { rule, reason } => {
                write!(f, "{rule}: no usable trusted root: {reason}")
            }
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
    fn discovery_summary_says_why_discovery_stopped() {
        let budget = DiscoveryReport {
            stopped: Some(DiscoveryStop::RequestBudget { requests: 203 }),
            unreadable: 201,
        };
        assert_eq!(
            summarize_discovery(&[], &budget),
            "stopped after 203 registry requests (the bound per verify); 201 candidates \
             unreadable (not in the registry); no signature could be checked"
        );
        let deadline = DiscoveryReport {
            stopped: Some(DiscoveryStop::Deadline {
                deadline: Duration::from_millis(1500),
                requests: 7,
            }),
            unreadable: 1,
        };
        assert_eq!(
            summarize_discovery(&[CandidateFailure::BadSignature], &deadline),
            "stopped at the verify deadline of 1.5 s after 7 registry requests; 1 candidate \
             unreadable (not in the registry); 1 signature checked: bad signature (1)"
        );
        let full = DiscoveryReport::default();
        assert_eq!(summarize_discovery(&[], &full), "no signatures found");
        assert_eq!(
            summarize_discovery(&[CandidateFailure::WrongKey], &full),
            summarize(&[CandidateFailure::WrongKey])
        );
        assert_eq!(seconds(Duration::from_secs(60)), "60 s");
        assert_eq!(seconds(Duration::from_millis(250)), "0.25 s");
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
