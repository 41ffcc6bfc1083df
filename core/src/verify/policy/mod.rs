//! The machine-wide rules: which images must be signed, and how.
//!
//! # Accepted documents
//!
//! * The Talos `ImageVerificationConfig` document, as-is:
//!
//!   ```yaml
//!   apiVersion: v1alpha1
//!   kind: ImageVerificationConfig
//!   rules:
//!     - image: "docker.io/library/*"
//!       keyless: {issuer: "https://token.actions.githubusercontent.com", subjectRegex: "…"}
//!     - image: "registry.example.com/*"
//!       publicKey: {certificate: "-----BEGIN PUBLIC KEY-----…"}
//!     - image: "docker.io/internal/*"
//!       skip: true
//!     - image: "*"
//!       deny: true
//!   ```
//!
//! * A multi-document YAML stream (a Talos machine configuration) in which exactly one
//!   document has `kind: ImageVerificationConfig`; the other documents are ignored.
//! * The same rules as plain YAML or JSON: a document with only `rules:`, or a bare list of
//!   rules. JSON is detected by a leading `{` or `[`.
//!
//! A document with another `kind`, or an `ImageVerificationConfig` whose `apiVersion` is not
//! `v1alpha1`, is refused.
//!
//! # Rules
//!
//! Rules are tried top-down and the first whose `image` pattern matches wins (see
//! [`crate::verify::pattern`] for the pattern language). A rule is exactly one of:
//!
//! * `keyless: {issuer | issuerRegex, subject and/or subjectRegex}`: a Fulcio certificate whose
//!   OIDC issuer and subject (SAN) match (with both subject forms, one name must match both);
//!   see [`KeylessIdentity`];
//! * `publicKey: {certificate: PEM}`: a signature by that key (`PUBLIC KEY`, `RSA PUBLIC KEY`
//!   or `CERTIFICATE`); see [`crate::verify::public_key`];
//! * `skip: true`: not verified (the answer is "not verified", without an error);
//! * `deny: true`: refused;
//! * `signers: [{keyless: …} | {publicKey: …}, …]` with `threshold: N` (default 1): signatures
//!   by at least N distinct listed signers; see [`SignerSet`].
//!
//! Beside a verifier, `attestations: [{predicateType, conditions}]` requires signed in-toto
//! attestations (see [`AttestationRequirement`]), and a keyless identity may require Fulcio
//! certificate extensions (`certificateExtensions`, see [`CertificateExtension`]).
//!
//! `issuerRegex`, `certificateExtensions`, `signers`/`threshold` and `attestations` are
//! imagecheck additions (Talos has none of them). Every field, its meaning and whether Talos
//! has it: README.md, "Policy reference". What Talos itself would do differently with a
//! document: [`Policy::talos_differences`].
//!
//! # Strictness
//!
//! Loading is strict, because a policy that silently means something else than its author
//! thought is a security hole: unknown fields are errors (with a suggestion when the field
//! looks like a typo or belongs to an older Talos schema), duplicate keys are errors, field
//! types are checked (`skip: "yes"` is an error; unquoted `yes`/`on` are booleans, as Go's
//! yaml.v3 reads them into Talos's bool fields), `null` and `""` count as absent. Every
//! problem found is reported at once, each naming the rule index (0-based, as Talos counts),
//! its pattern and the field: `rule 2 (image "ghcr.io/*"): keyless.subjectRegex: invalid regex:
//! …`. Things that are legal but probably wrong are [`PolicyWarning`]s: returned by
//! [`Policy::warnings`] and logged with `tracing::warn!`.
//!
//! # Where things are
//!
//! [`Policy`] and its loading are here; the rule types in `rule`, the document reader in
//! `document`, rule validation in `validate` (with `fields` for unknown-field messages), the
//! problems in `problem`, the warnings in `warnings`, and what Talos would do differently with
//! the same document in `talos`. Each of those files imports only its siblings, never this one. Matching a keyless identity against a certificate is in
//! `verify::keyless::identity`, next to the certificate reading.

use std::path::Path;

use sha2::{Digest as _, Sha256};

use crate::reference::Reference;

mod document;
mod extensions;
mod fields;
mod problem;
mod rule;
mod talos;
mod trusted_root_names;
mod validate;
mod warnings;

pub use document::{TALOS_API_VERSION, TALOS_KIND};
pub use extensions::{CertificateExtension, ExtensionEncoding};
pub use problem::{PolicyError, PolicyProblem};
pub use rule::{AttestationRequirement, Condition, ExtensionMatch, Signer, SignerSet};
pub use rule::{KeylessIdentity, Rule, RuleAction, StringMatch};
pub use talos::{TalosDifference, TalosDifferenceKind};
pub(crate) use trusted_root_names::unknown_trusted_root;
pub use warnings::{PolicyWarning, WarningKind};

use rule::put;

/// Largest policy file read (Talos machine configurations with inline manifests can be large).
pub const MAX_POLICY_BYTES: u64 = 16 * 1024 * 1024;

/// A loaded, validated rule list.
#[derive(Debug, Clone)]
pub struct Policy {
    rules: Vec<Rule>,
    warnings: Vec<PolicyWarning>,
    talos_differences: Vec<TalosDifference>,
    fingerprint: [u8; 32],
}

impl Policy {
    /// A policy with no rules: every reference is "no rule matched".
    pub fn empty() -> Policy {
        Policy::from_rules(Vec::new(), Vec::new(), Vec::new())
    }

    /// Load a policy from YAML or JSON text (see the module documentation for the forms).
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        load(text).map_err(|problems| PolicyError::new(None, problems))
    }

    /// Read and load a policy file (at most [`MAX_POLICY_BYTES`]). Errors name the file.
    pub fn from_file(path: &Path) -> Result<Policy, PolicyError> {
        let origin = path.display().to_string();
        let fail = |message: String| {
            PolicyError::new(
                Some(origin.clone()),
                vec![PolicyProblem::document(None, message)],
            )
        };
        let size = std::fs::metadata(path)
            .map_err(|e| fail(format!("cannot read: {e}")))?
            .len();
        if size > MAX_POLICY_BYTES {
            return Err(fail(format!(
                "file is {size} bytes, over the {MAX_POLICY_BYTES}-byte limit"
            )));
        }
        let bytes = std::fs::read(path).map_err(|e| fail(format!("cannot read: {e}")))?;
        let text = String::from_utf8(bytes).map_err(|_| fail("not UTF-8 text".into()))?;
        load(&text).map_err(|problems| PolicyError::new(Some(origin.clone()), problems))
    }

    fn from_rules(
        rules: Vec<Rule>,
        warnings: Vec<PolicyWarning>,
        talos_differences: Vec<TalosDifference>,
    ) -> Policy {
        let mut hasher = Sha256::new();
        put(&mut hasher, b"imagecheck.policy.v1");
        put(&mut hasher, &(rules.len() as u64).to_be_bytes());
        for rule in &rules {
            put(&mut hasher, &rule.fingerprint());
        }
        Policy {
            rules,
            warnings,
            talos_differences,
            fingerprint: hasher.finalize().into(),
        }
    }

    /// The rules, in order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Legal but probably unintended things found while loading.
    pub fn warnings(&self) -> &[PolicyWarning] {
        &self.warnings
    }

    /// What Talos's own verifier would do differently with the same document (`imagecheck
    /// policy check --talos`): not warnings about this policy, which means what it says here,
    /// and not logged.
    pub fn talos_differences(&self) -> &[TalosDifference] {
        &self.talos_differences
    }

    /// The first rule whose pattern matches `reference`'s normalised `registry/repository`.
    pub fn first_match(&self, reference: &Reference) -> Option<&Rule> {
        let name = reference.name();
        self.rules.iter().find(|rule| rule.pattern().matches(&name))
    }

    /// Every keyless rule whose `trustedRoot` is not one of `known` (a verifier's named
    /// trusted roots), as one error naming the known ones. Verifiers check this when rules and
    /// roots meet; a policy alone cannot know the names.
    pub fn check_trusted_root_names(&self, known: &[&str]) -> Result<(), PolicyError> {
        trusted_root_names::check(&self.rules, known)
    }

    /// SHA-256 over every rule's [`Rule::fingerprint`], in order: changes when any rule
    /// changes, is added, removed or moved. Warnings do not count.
    pub fn fingerprint(&self) -> [u8; 32] {
        self.fingerprint
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy::empty()
    }
}

/// Read the document, validate its rules, and look for warnings (logged here, once per load).
fn load(text: &str) -> Result<Policy, Vec<PolicyProblem>> {
    let raw = document::read_rules(text)?;
    let rules = validate::rules(&raw.rules)?;
    let warnings = warnings::collect(&rules);
    let talos_differences = talos::collect(&raw.rules, &rules, raw.talos_document);
    for warning in &warnings {
        tracing::warn!(
            rule = warning.rule_index(),
            "image verification policy: {warning}"
        );
    }
    Ok(Policy::from_rules(rules, warnings, talos_differences))
}

#[cfg(test)]
mod tests;
