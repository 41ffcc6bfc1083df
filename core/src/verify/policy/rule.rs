//! The rules a policy is made of: an image pattern and what matching images need (a keyless
//! identity, a public key, skip or deny), each with a fingerprint for result caches.
//!
//! Matching a keyless identity against a certificate is in `crate::verify::keyless::identity`,
//! next to the certificate reading.

use std::fmt;

use regex::Regex;
use sha2::{Digest as _, Sha256};

use crate::verify::pattern::ImagePattern;
use crate::verify::public_key::PublicKey;

/// One rule: an image pattern and what to do with matching images.
#[derive(Debug, Clone)]
pub struct Rule {
    index: usize,
    pattern: ImagePattern,
    action: RuleAction,
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
}

/// An exact string or a regular expression, as `issuer`/`issuerRegex` and
/// `subject`/`subjectRegex` give them.
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
}

/// The certificate identity a keyless rule requires.
///
/// Exactly one of `issuer` / `issuerRegex` and exactly one of `subject` / `subjectRegex` is
/// set: the loader refuses a rule with both forms of one field. (cosign accepts both at once,
/// but combines them inconsistently: for the issuer the regex wins and the exact value is
/// ignored, for the subject either may match. Rather than pick one reading, imagecheck asks
/// the author to say which they mean.)
#[derive(Debug, Clone)]
pub struct KeylessIdentity {
    issuer: StringMatch,
    subject: StringMatch,
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
        }
    }

    /// SHA-256 over the rule's index, pattern (as written) and action (issuer/subject and
    /// their forms, or the key's SPKI fingerprint): a cache key for results obtained with this
    /// rule.
    pub fn fingerprint(&self) -> [u8; 32] {
        self.fingerprint
    }

    pub(super) fn new(index: usize, pattern: ImagePattern, action: RuleAction) -> Rule {
        let mut hasher = Sha256::new();
        put(&mut hasher, b"imagecheck.rule.v1");
        put(&mut hasher, &(index as u64).to_be_bytes());
        put(&mut hasher, pattern.as_str().as_bytes());
        match &action {
            RuleAction::Keyless(identity) => {
                put(&mut hasher, b"keyless");
                for field in [&identity.issuer, &identity.subject] {
                    match field {
                        StringMatch::Exact(s) => {
                            put(&mut hasher, b"exact");
                            put(&mut hasher, s.as_bytes());
                        }
                        StringMatch::Regex(r) => {
                            put(&mut hasher, b"regex");
                            put(&mut hasher, r.as_str().as_bytes());
                        }
                    }
                }
                if let Some(name) = &identity.trusted_root {
                    put(&mut hasher, b"trustedRoot");
                    put(&mut hasher, name.as_bytes());
                }
            }
            RuleAction::PublicKey(key) => {
                put(&mut hasher, b"publicKey");
                put(&mut hasher, &key.fingerprint());
            }
            RuleAction::Skip => put(&mut hasher, b"skip"),
            RuleAction::Deny => put(&mut hasher, b"deny"),
        }
        Rule {
            index,
            pattern,
            action,
            fingerprint: hasher.finalize().into(),
        }
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
    /// Whether `value` matches (equality, or an unanchored regex match).
    pub fn matches(&self, value: &str) -> bool {
        match self {
            StringMatch::Exact(expected) => expected == value,
            StringMatch::Regex(regex) => regex.is_match(value),
        }
    }

    /// `issuer "…"` or `issuerRegex "…"` for `field` `issuer`: the rule as written, for
    /// messages.
    pub(crate) fn describe(&self, field: &str) -> String {
        match self {
            StringMatch::Exact(s) => format!("{field} {s:?}"),
            StringMatch::Regex(r) => format!("{field}Regex {:?}", r.as_str()),
        }
    }
}

impl KeylessIdentity {
    /// The required OIDC issuer (`issuer` or `issuerRegex`).
    pub fn issuer(&self) -> &StringMatch {
        &self.issuer
    }

    /// The required subject (`subject` or `subjectRegex`).
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
            trusted_root: None,
        }
    }

    /// The same identity, checked against the verifier's trusted root `name`.
    pub(super) fn with_trusted_root(mut self, name: Option<String>) -> Self {
        self.trusted_root = name;
        self
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
        )
    }
}
