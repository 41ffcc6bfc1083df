//! What Talos itself would do differently with a document imagecheck loads, for `imagecheck
//! policy check --talos`, so that one file can be linted for both. Read against Talos's
//! `internal/pkg/containers/image/verify` (its cosign `CheckOpts`, rule matching and key
//! loading) and its machine-config decoder, which refuses unknown keys.
//!
//! These are not problems of the document for imagecheck (it loads, and means what the policy
//! reference says); they are where a node running Talos's own verifier would decide otherwise.

use std::fmt;

use serde_json::Value;

use super::rule::{Rule, RuleAction, StringMatch};
use crate::verify::public_key::KeySource;

/// The fields a Talos `ImageVerificationConfig` rule has, by level (Talos v1alpha1).
const TALOS_RULE_FIELDS: &[&str] = &["image", "skip", "deny", "keyless", "publicKey"];
const TALOS_KEYLESS_FIELDS: &[&str] = &["issuer", "subject", "subjectRegex"];
const TALOS_PUBLIC_KEY_FIELDS: &[&str] = &["certificate"];

/// Docker Hub as go-containerregistry names it, and so Talos's rule matching sees it.
const TALOS_DOCKER_HUB: &str = "index.docker.io/";

/// One thing Talos would do differently with this document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TalosDifference {
    /// The rule concerned (index and pattern as written), or `None` for the whole document.
    rule: Option<(usize, String)>,
    kind: TalosDifferenceKind,
}

/// The kinds of [`TalosDifference`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TalosDifferenceKind {
    /// A plain `rules:` document or a bare list: Talos reads rules only from an
    /// `ImageVerificationConfig` document.
    NotATalosDocument,
    /// A field Talos does not have (`keyless.issuerRegex`, `keyless.certificateExtensions`,
    /// `attestations`, `signers`, `threshold`, …): Talos's config decoder refuses unknown
    /// keys, so it rejects the whole machine configuration.
    NotATalosField {
        /// The field as spelled in the rule (`keyless.issuerRegex`).
        field: String,
    },
    /// The pattern names Docker Hub otherwise than `index.docker.io/`: Talos matches rules
    /// against go-containerregistry's name (`index.docker.io/library/nginx`), so there the
    /// pattern never matches.
    DockerHubName {
        /// The same pattern written so that both match it.
        suggestion: String,
    },
    /// `publicKey.certificate` holds a `CERTIFICATE` block: Talos reads only `PUBLIC KEY` and
    /// `RSA PUBLIC KEY` there, so every image the rule matches fails to verify on Talos.
    CertificatePem,
    /// `subject` with `subjectRegex`: Talos's legacy `.sig` path (cosign's identity check)
    /// lets the regex alone decide, where imagecheck requires both for every format.
    SubjectRegexAloneOnLegacy,
    /// Talos's legacy `.sig` check sets no claim verifier, so a signature whose payload names
    /// another image digest passes there; imagecheck refuses it.
    LegacyPayloadDigestUnchecked,
}

impl TalosDifference {
    /// The index of the rule concerned, or `None` for the whole document.
    pub fn rule_index(&self) -> Option<usize> {
        self.rule.as_ref().map(|(index, _)| *index)
    }

    /// What differs.
    pub fn kind(&self) -> &TalosDifferenceKind {
        &self.kind
    }

    /// The explanation, without the rule prefix.
    pub fn message(&self) -> String {
        match &self.kind {
            TalosDifferenceKind::NotATalosDocument => {
                "Talos reads rules only from an `apiVersion: v1alpha1` / `kind: ImageVerificationConfig` document; this one has none".into()
            }
            TalosDifferenceKind::NotATalosField { field } => format!(
                "{field} is an imagecheck extension, not a Talos field: Talos's config decoder refuses unknown keys, so Talos rejects this machine configuration"
            ),
            TalosDifferenceKind::DockerHubName { suggestion } => format!(
                "Talos matches rules against go-containerregistry's repository name, which spells Docker Hub `index.docker.io` (`index.docker.io/library/nginx`), so there this pattern never matches; write {suggestion:?}, which imagecheck reads as the same registry (its warning that the host is respelled is then expected)"
            ),
            TalosDifferenceKind::CertificatePem => {
                "Talos reads publicKey.certificate as a PUBLIC KEY or RSA PUBLIC KEY PEM and refuses a CERTIFICATE, so on Talos every image this rule matches fails to verify; paste the certificate's public key instead (openssl x509 -pubkey -noout -in cert.pem)".into()
            }
            TalosDifferenceKind::SubjectRegexAloneOnLegacy => {
                "with subject and subjectRegex both set, Talos's legacy .sig check (cosign's) accepts a certificate name that matches subjectRegex alone (bundles need both there too); imagecheck requires both for every signature format".into()
            }
            TalosDifferenceKind::LegacyPayloadDigestUnchecked => {
                "Talos does not check that a legacy .sig signature's payload names the image's digest (its cosign options set no claim verifier), so there a signature made for another image passes; imagecheck refuses it".into()
            }
        }
    }
}

impl fmt::Display for TalosDifference {
    /// `rule 0 (image "docker.io/library/*"): …`, or the message alone for the document.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some((index, pattern)) = &self.rule {
            write!(f, "rule {index} (image {pattern:?}): ")?;
        }
        f.write_str(&self.message())
    }
}

/// Every difference for a loaded document: `raw_rules` as written (for fields, found by key)
/// and `rules` as validated, in the same order; `talos_document` when the rules came from an
/// `ImageVerificationConfig` document. Document-level differences come last.
pub(super) fn collect(
    raw_rules: &[Value],
    rules: &[Rule],
    talos_document: bool,
) -> Vec<TalosDifference> {
    let mut differences = Vec::new();
    if !talos_document {
        differences.push(TalosDifference {
            rule: None,
            kind: TalosDifferenceKind::NotATalosDocument,
        });
    }
    for (raw, rule) in raw_rules.iter().zip(rules) {
        let mut differ = |kind: TalosDifferenceKind| {
            differences.push(TalosDifference {
                rule: Some((rule.index(), rule.pattern().as_str().to_owned())),
                kind,
            })
        };
        for field in non_talos_fields(raw) {
            differ(TalosDifferenceKind::NotATalosField { field });
        }
        if let Some(suggestion) = docker_hub_suggestion(rule) {
            differ(TalosDifferenceKind::DockerHubName { suggestion });
        }
        match rule.action() {
            RuleAction::PublicKey(key) if key.source() == KeySource::Certificate => {
                differ(TalosDifferenceKind::CertificatePem);
            }
            RuleAction::Keyless(identity)
                if matches!(identity.subject(), StringMatch::ExactAndRegex { .. }) =>
            {
                differ(TalosDifferenceKind::SubjectRegexAloneOnLegacy);
            }
            _ => {}
        }
    }
    let verifies = rules
        .iter()
        .any(|rule| !matches!(rule.action(), RuleAction::Skip | RuleAction::Deny));
    if verifies {
        differences.push(TalosDifference {
            rule: None,
            kind: TalosDifferenceKind::LegacyPayloadDigestUnchecked,
        });
    }
    differences
}

/// The fields of a raw rule that Talos does not have, as `field` or `keyless.field`, in key
/// order. Found by key, so that every extension is named, whichever imagecheck
/// version added it.
pub(super) fn non_talos_fields(raw: &Value) -> Vec<String> {
    let Value::Object(rule) = raw else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for (key, value) in rule {
        if !TALOS_RULE_FIELDS.contains(&key.as_str()) {
            found.push(key.clone());
            continue;
        }
        let nested = match key.as_str() {
            "keyless" => TALOS_KEYLESS_FIELDS,
            "publicKey" => TALOS_PUBLIC_KEY_FIELDS,
            _ => continue,
        };
        if let Value::Object(fields) = value {
            found.extend(
                fields
                    .keys()
                    .filter(|k| !nested.contains(&k.as_str()))
                    .map(|k| format!("{key}.{k}")),
            );
        }
    }
    found
}

/// The pattern as Talos would match it, when it names Docker Hub otherwise than
/// `index.docker.io/` (imagecheck folds every Docker Hub spelling into `docker.io`; Talos
/// compares its pattern, as written, to `index.docker.io/…`).
fn docker_hub_suggestion(rule: &Rule) -> Option<String> {
    let pattern = rule.pattern();
    let rest = pattern.normalized().strip_prefix("docker.io/")?;
    if pattern.as_str().starts_with(TALOS_DOCKER_HUB) {
        return None;
    }
    Some(format!("{TALOS_DOCKER_HUB}{rest}"))
}
