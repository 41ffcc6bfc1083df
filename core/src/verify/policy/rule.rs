//! The rules a policy is made of: an image pattern and what matching images need (a keyless
//! identity, a public key, k of n signers, skip or deny; attestations beside), each with a
//! fingerprint for result caches.
//!
//! Matching a keyless identity against a certificate is in `crate::verify::keyless::identity`,
//! next to the certificate reading.

use std::fmt;

use regex::Regex;
use sha2::{Digest as _, Sha256};

use super::extensions::CertificateExtension;
use crate::verify::pattern::ImagePattern;
use crate::verify::public_key::PublicKey;

/// One rule: an image pattern and what to do with matching images.
#[derive(Debug, Clone)]
pub struct Rule {
    index: usize,
    pattern: ImagePattern,
    action: RuleAction,
    /// Signed attestations required beside the signature (rule-level `attestations`).
    attestations: Vec<AttestationRequirement>,
    fingerprint: [u8; 32],
}

/// What a rule requires of matching images.
#[derive(Debug, Clone)]
pub enum RuleAction {
    /// A keyless (Fulcio certificate) signature by this identity.
    Keyless(KeylessIdentity),
    /// A signature by this key.
    PublicKey(PublicKey),
    /// No verification: the answer is "not verified", without an error.
    Skip,
    /// Refused: the answer is a `Denied` error.
    Deny,
    /// Signatures by at least `threshold` distinct signers of a list (`signers`, `threshold`):
    /// an imagecheck extension.
    Signers(SignerSet),
}

/// An exact string, a regular expression, or (for the subject) both, as `issuer`/`issuerRegex`
/// and `subject`/`subjectRegex` give them.
///
/// Regular expressions follow cosign exactly: they are **unanchored**, like Go's
/// `regexp.MatchString` that cosign's `--certificate-identity-regexp` and
/// `--certificate-oidc-issuer-regexp` use, so `@example\.com` also matches
/// `x@example.com.evil.org`. Write `^…$` to match the whole value. Following cosign matters
/// because users copy their regexes from cosign's documentation and commands; silently
/// anchoring would make those mean something else here. The syntax is the `regex` crate's,
/// which for these uses is the same as Go's RE2 syntax.
#[derive(Debug, Clone)]
pub enum StringMatch {
    /// Equal, byte for byte.
    Exact(String),
    /// `Regex::is_match` (unanchored).
    Regex(Regex),
    /// Equal to `exact` **and** matched by `regex`: `subject` and `subjectRegex` both set.
    /// Only the subject takes both forms at once.
    ExactAndRegex {
        /// The value required, byte for byte.
        exact: String,
        /// A regex that value must also match.
        regex: Regex,
    },
}

/// The certificate identity a keyless rule requires.
///
/// Exactly one of `issuer` / `issuerRegex` is set: the loader refuses both (issuerRegex is an
/// imagecheck addition, and cosign's legacy path would let the regex win). The subject takes
/// `subject`, `subjectRegex`, or both, as Talos documents may: with both, one subject
/// alternative name must equal `subject` and match `subjectRegex`. That is sigstore-go's rule,
/// which Talos applies to bundles; Talos's legacy `.sig` path (cosign's `CheckOpts.Identities`)
/// lets the regex alone decide. imagecheck applies the stricter reading to both formats, so a
/// rule means one thing whatever format the signer chose.
#[derive(Debug, Clone)]
pub struct KeylessIdentity {
    issuer: StringMatch,
    subject: StringMatch,
    /// `certificateExtensions`: every one must match (an imagecheck extension).
    extensions: Vec<ExtensionMatch>,
    /// The verifier's named trusted root to check the certificate against (`trustedRoot`, our
    /// extension); None: the verifier's default root.
    trusted_root: Option<String>,
}

impl Rule {
    /// The rule's position in the rule list (0-based, as Talos counts).
    pub fn index(&self) -> usize {
        self.index
    }

    /// The image pattern.
    pub fn pattern(&self) -> &ImagePattern {
        &self.pattern
    }

    /// What the rule requires.
    pub fn action(&self) -> &RuleAction {
        &self.action
    }

    /// How the rule verifies, for messages: `keyless`, `public key (ECDSA P-256)`, `skip`,
    /// `deny`.
    pub fn describe_method(&self) -> String {
        match &self.action {
            RuleAction::Keyless(_) => "keyless".into(),
            RuleAction::PublicKey(key) => format!("public key ({})", key.algorithm()),
            RuleAction::Skip => "skip".into(),
            RuleAction::Deny => "deny".into(),
            RuleAction::Signers(set) => set.describe(),
        }
    }

    /// The attestations the rule requires beside the signature (none for most rules).
    pub fn attestations(&self) -> &[AttestationRequirement] {
        &self.attestations
    }

    /// SHA-256 over the rule's index, pattern (as written), action (issuer/subject and their
    /// forms and the certificate extensions, or the key's SPKI fingerprint, or each signer and
    /// the threshold) and attestations: a cache key for results obtained with this rule.
    pub fn fingerprint(&self) -> [u8; 32] {
        self.fingerprint
    }

    pub(super) fn new(index: usize, pattern: ImagePattern, action: RuleAction) -> Rule {
        let mut rule = Rule {
            index,
            pattern,
            action,
            attestations: Vec::new(),
            fingerprint: [0; 32],
        };
        rule.fingerprint = rule.compute_fingerprint();
        rule
    }

    /// This rule, also requiring `attestations`.
    pub(super) fn with_attestations(mut self, attestations: Vec<AttestationRequirement>) -> Rule {
        self.attestations = attestations;
        self.fingerprint = self.compute_fingerprint();
        self
    }

    fn compute_fingerprint(&self) -> [u8; 32] {
        let mut hasher = Sha256::new();
        put(&mut hasher, b"imagecheck.rule.v1");
        put(&mut hasher, &(self.index as u64).to_be_bytes());
        put(&mut hasher, self.pattern.as_str().as_bytes());
        match &self.action {
            RuleAction::Keyless(identity) => {
                put(&mut hasher, b"keyless");
                identity.hash_into(&mut hasher);
            }
            RuleAction::PublicKey(key) => {
                put(&mut hasher, b"publicKey");
                put(&mut hasher, &key.fingerprint());
            }
            RuleAction::Skip => put(&mut hasher, b"skip"),
            RuleAction::Deny => put(&mut hasher, b"deny"),
            RuleAction::Signers(set) => {
                put(&mut hasher, b"signers");
                put(&mut hasher, &set.fingerprint());
            }
        }
        // Nothing for a rule without attestations: its fingerprint is what it always was.
        for attestation in &self.attestations {
            put(&mut hasher, b"attestation");
            put(&mut hasher, &attestation.fingerprint());
        }
        hasher.finalize().into()
    }
}

impl fmt::Display for Rule {
    /// `rule 0 (docker.io/library/*)`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rule {} ({})", self.index, self.pattern)
    }
}

/// Length-prefixed hashing, so that field boundaries are unambiguous.
pub(super) fn put(hasher: &mut Sha256, bytes: &[u8]) {
    hasher.update((bytes.len() as u64).to_be_bytes());
    hasher.update(bytes);
}

impl StringMatch {
    /// Whether `value` matches (equality, an unanchored regex match, or both).
    pub fn matches(&self, value: &str) -> bool {
        match self {
            StringMatch::Exact(expected) => expected == value,
            StringMatch::Regex(regex) => regex.is_match(value),
            StringMatch::ExactAndRegex { exact, regex } => exact == value && regex.is_match(value),
        }
    }

    /// The form and the text, length-prefixed, into `hasher`.
    pub(super) fn hash_into(&self, hasher: &mut Sha256) {
        match self {
            StringMatch::Exact(s) => {
                put(hasher, b"exact");
                put(hasher, s.as_bytes());
            }
            StringMatch::Regex(r) => {
                put(hasher, b"regex");
                put(hasher, r.as_str().as_bytes());
            }
            StringMatch::ExactAndRegex { exact, regex } => {
                put(hasher, b"exact+regex");
                put(hasher, exact.as_bytes());
                put(hasher, regex.as_str().as_bytes());
            }
        }
    }

    /// `issuer "…"`, `issuerRegex "…"` or `subject "…" and subjectRegex "…"` for `field`
    /// `issuer` / `subject`: the rule as written, for messages.
    pub(crate) fn describe(&self, field: &str) -> String {
        match self {
            StringMatch::Exact(s) => format!("{field} {s:?}"),
            StringMatch::Regex(r) => format!("{field}Regex {:?}", r.as_str()),
            StringMatch::ExactAndRegex { exact, regex } => {
                format!("{field} {exact:?} and {field}Regex {:?}", regex.as_str())
            }
        }
    }
}

impl KeylessIdentity {
    /// The required OIDC issuer (`issuer` or `issuerRegex`).
    pub fn issuer(&self) -> &StringMatch {
        &self.issuer
    }

    /// The required subject (`subject`, `subjectRegex`, or both).
    pub fn subject(&self) -> &StringMatch {
        &self.subject
    }

    /// The name of the verifier's trusted root this rule's certificates must chain to
    /// (`trustedRoot`); None: the verifier's default root.
    pub fn trusted_root(&self) -> Option<&str> {
        self.trusted_root.as_deref()
    }

    /// Both fields, checked by the loader to be exactly one form each.
    pub(super) fn new(issuer: StringMatch, subject: StringMatch) -> Self {
        KeylessIdentity {
            issuer,
            subject,
            extensions: Vec::new(),
            trusted_root: None,
        }
    }

    /// The certificate extensions required (`certificateExtensions`), as written; all must
    /// match. [`Self::matches`] and [`Self::matches_certificate`] check the issuer and subject
    /// only; the keyless verification checks these too.
    pub fn extensions(&self) -> &[ExtensionMatch] {
        &self.extensions
    }

    /// This identity, also requiring `extensions`.
    pub(super) fn with_extensions(mut self, extensions: Vec<ExtensionMatch>) -> Self {
        self.extensions = extensions;
        self
    }

    /// The same identity, checked against the verifier's trusted root `name`.
    pub(super) fn with_trusted_root(mut self, name: Option<String>) -> Self {
        self.trusted_root = name;
        self
    }

    /// SHA-256 over the identity (issuer, subject, extensions, trusted root name; each field's
    /// form too): equal
    /// for identities written alike.
    pub fn fingerprint(&self) -> [u8; 32] {
        let mut hasher = Sha256::new();
        self.hash_into(&mut hasher);
        hasher.finalize().into()
    }

    /// The fields, length-prefixed, into `hasher`; nothing for the extensions of an identity
    /// without any, so that such a rule's fingerprint is what it always was.
    pub(super) fn hash_into(&self, hasher: &mut Sha256) {
        for field in [&self.issuer, &self.subject] {
            field.hash_into(hasher);
        }
        for extension in &self.extensions {
            put(hasher, b"extension");
            put(hasher, extension.extension().name().as_bytes());
            extension.matcher().hash_into(hasher);
        }
        if let Some(name) = &self.trusted_root {
            put(hasher, b"trustedRoot");
            put(hasher, name.as_bytes());
        }
    }
}

impl fmt::Display for KeylessIdentity {
    /// `issuer "https://…", subjectRegex "^…$"`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}, {}",
            self.issuer.describe("issuer"),
            self.subject.describe("subject")
        )?;
        for extension in &self.extensions {
            write!(f, ", {}", extension.describe())?;
        }
        Ok(())
    }
}

/// One required extension value: `sourceRepositoryRef: refs/tags/v1` (exact) or
/// `sourceRepositoryRefRegex: …` (an unanchored regex, as every regex of a policy).
#[derive(Debug, Clone)]
pub struct ExtensionMatch {
    extension: CertificateExtension,
    matcher: StringMatch,
}

impl ExtensionMatch {
    pub(super) fn new(extension: CertificateExtension, matcher: StringMatch) -> Self {
        ExtensionMatch { extension, matcher }
    }

    /// The extension required.
    pub fn extension(&self) -> CertificateExtension {
        self.extension
    }

    /// The value it must have.
    pub fn matcher(&self) -> &StringMatch {
        &self.matcher
    }

    /// `sourceRepositoryRef "refs/tags/v1"` or `sourceRepositoryRefRegex "…"`, as written.
    pub fn describe(&self) -> String {
        self.matcher.describe(self.extension.name())
    }
}

/// `signers` with its `threshold`: valid signatures by at least `threshold` distinct listed
/// signers are required. The loader checks `1 <= threshold <= signers.len()` and that no signer
/// is listed twice.
///
/// Distinct means distinct signers, not distinct signatures: two signatures by one key, or by
/// one certificate identity (OIDC issuer and subject alternative names), count once, even when
/// two list entries (an exact subject and a regex) both describe that identity.
#[derive(Debug, Clone)]
pub struct SignerSet {
    signers: Vec<Signer>,
    threshold: usize,
}

/// One signer of a `signers` list.
#[derive(Debug, Clone)]
pub enum Signer {
    /// `{keyless: {…}}`: a Fulcio certificate with this identity.
    Keyless(KeylessIdentity),
    /// `{publicKey: {certificate: PEM}}`: this key.
    PublicKey(PublicKey),
}

impl Signer {
    /// `keyless` or `public key (ECDSA P-256)`.
    pub fn describe(&self) -> String {
        match self {
            Signer::Keyless(_) => "keyless".into(),
            Signer::PublicKey(key) => format!("public key ({})", key.algorithm()),
        }
    }

    /// SHA-256 over the kind and the identity's fingerprint or the key's SPKI fingerprint.
    pub fn fingerprint(&self) -> [u8; 32] {
        let mut hasher = Sha256::new();
        match self {
            Signer::Keyless(identity) => {
                put(&mut hasher, b"keyless");
                put(&mut hasher, &identity.fingerprint());
            }
            Signer::PublicKey(key) => {
                put(&mut hasher, b"publicKey");
                put(&mut hasher, &key.fingerprint());
            }
        }
        hasher.finalize().into()
    }
}

impl SignerSet {
    pub(super) fn new(signers: Vec<Signer>, threshold: usize) -> Self {
        SignerSet { signers, threshold }
    }

    /// The signers, in the order listed.
    pub fn signers(&self) -> &[Signer] {
        &self.signers
    }

    /// How many distinct signers must have signed (at least 1, at most the list's length).
    pub fn threshold(&self) -> usize {
        self.threshold
    }

    /// `2 of 3 signers (public key (ECDSA P-256), public key (Ed25519), keyless)`.
    pub fn describe(&self) -> String {
        let kinds: Vec<String> = self.signers.iter().map(Signer::describe).collect();
        format!(
            "{} of {} signers ({})",
            self.threshold,
            self.signers.len(),
            kinds.join(", ")
        )
    }

    /// SHA-256 over the threshold and each signer's fingerprint, in order.
    pub fn fingerprint(&self) -> [u8; 32] {
        let mut hasher = Sha256::new();
        put(&mut hasher, &(self.threshold as u64).to_be_bytes());
        for signer in &self.signers {
            put(&mut hasher, &signer.fingerprint());
        }
        hasher.finalize().into()
    }
}

/// A signed in-toto attestation a rule requires (rule-level `attestations`, an imagecheck
/// extension): a DSSE statement naming the image's digest among its subjects, of this
/// predicate type, signed by the rule's signer (its key or keyless identity, extensions
/// included; for `signers`, any one of them), whose predicate meets every condition.
#[derive(Debug, Clone)]
pub struct AttestationRequirement {
    predicate_type: String,
    conditions: Vec<Condition>,
}

/// `{path: "buildDefinition.buildType", equals: "…"}` or `{path: …, regex: "…"}`: the value at
/// a dotted path into the predicate. A path that is not there fails; so does a value that is
/// not a string, number or boolean (numbers and booleans are compared as their JSON text). A
/// segment of digits indexes a list. Regexes are unanchored, as every regex of a policy.
#[derive(Debug, Clone)]
pub struct Condition {
    path: String,
    matcher: StringMatch,
}

impl AttestationRequirement {
    pub(super) fn new(predicate_type: String, conditions: Vec<Condition>) -> Self {
        AttestationRequirement {
            predicate_type,
            conditions,
        }
    }

    /// The in-toto `predicateType` required, compared exactly.
    pub fn predicate_type(&self) -> &str {
        &self.predicate_type
    }

    /// The conditions on the predicate, all required.
    pub fn conditions(&self) -> &[Condition] {
        &self.conditions
    }

    /// SHA-256 over the predicate type and each condition, in order.
    pub fn fingerprint(&self) -> [u8; 32] {
        let mut hasher = Sha256::new();
        put(&mut hasher, self.predicate_type.as_bytes());
        for condition in &self.conditions {
            put(&mut hasher, condition.path.as_bytes());
            condition.matcher.hash_into(&mut hasher);
        }
        hasher.finalize().into()
    }
}

impl Condition {
    /// Checked by the loader: not empty, no empty segment.
    pub(super) fn new(path: String, matcher: StringMatch) -> Self {
        Condition { path, matcher }
    }

    /// The dotted path, as written.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The path's segments.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.path.split('.')
    }

    /// What the value must be.
    pub fn matcher(&self) -> &StringMatch {
        &self.matcher
    }

    /// `buildDefinition.buildType equals "…"` or `… regex "…"`, for messages.
    pub fn describe(&self) -> String {
        match &self.matcher {
            StringMatch::Exact(s) => format!("{} equals {s:?}", self.path),
            StringMatch::Regex(r) => format!("{} regex {:?}", self.path, r.as_str()),
            StringMatch::ExactAndRegex { exact, regex } => format!(
                "{} equals {exact:?} and regex {:?}",
                self.path,
                regex.as_str()
            ),
        }
    }
}
