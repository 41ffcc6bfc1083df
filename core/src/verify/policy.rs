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
//! * `keyless: {issuer | issuerRegex, subject | subjectRegex}`: a Fulcio certificate whose
//!   OIDC issuer and subject (SAN) match; see [`KeylessIdentity`];
//! * `publicKey: {certificate: PEM}`: a signature by that key; see
//!   [`crate::verify::public_key`];
//! * `skip: true`: not verified (the answer is "not verified", without an error);
//! * `deny: true`: refused.
//!
//! `issuerRegex` is an imagecheck addition (Talos has only `issuer`).
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

use std::fmt;
use std::path::Path;

use regex::{Regex, RegexBuilder};
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

use crate::reference::Reference;
use crate::verify::pattern::ImagePattern;
use crate::verify::public_key::PublicKey;

/// The `kind` of the Talos document.
pub const TALOS_KIND: &str = "ImageVerificationConfig";
/// The only `apiVersion` of [`TALOS_KIND`] accepted.
pub const TALOS_API_VERSION: &str = "v1alpha1";
/// Largest policy file read (Talos machine configurations with inline manifests can be large).
pub const MAX_POLICY_BYTES: u64 = 16 * 1024 * 1024;
/// Compiled-size limit for each `issuerRegex` / `subjectRegex`.
const REGEX_SIZE_LIMIT: usize = 1024 * 1024;

const RULE_FIELDS: &[&str] = &["image", "keyless", "publicKey", "skip", "deny"];
const KEYLESS_FIELDS: &[&str] = &["issuer", "issuerRegex", "subject", "subjectRegex"];
const PUBLIC_KEY_FIELDS: &[&str] = &["certificate"];
const DOCUMENT_FIELDS: &[&str] = &["apiVersion", "kind", "rules"];

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

/// A loaded, validated rule list.
#[derive(Debug, Clone)]
pub struct Policy {
    rules: Vec<Rule>,
    warnings: Vec<PolicyWarning>,
    fingerprint: [u8; 32],
}

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
}

/// Which identity field did not match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityField {
    /// The OIDC issuer certificate extension.
    Issuer,
    /// The subject alternative name (e-mail, URI, …).
    Subject,
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

/// A legal but probably unintended rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyWarning {
    rule_index: usize,
    pattern: String,
    /// The pattern as matched (host part in canonical form), for suggestions.
    matched: String,
    kind: WarningKind,
}

/// The kinds of [`PolicyWarning`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WarningKind {
    /// The pattern's registry host is not written in canonical form (`GHCR.io:443/*`,
    /// `registry-1.docker.io/library/*`): it is matched as `matched`, which covers every
    /// spelling of that registry. Not a mistake, but what is matched is not what is written.
    HostRespelled {
        /// The pattern as matched.
        matched: String,
    },
    /// The pattern contains `@`: patterns never see digests.
    PatternHasDigest,
    /// The pattern has a `:` after its last `/`: patterns never see tags.
    PatternHasTag,
    /// The pattern has no `/` and no `*`, so it cannot match a normalised
    /// `registry/repository` name (`nginx` is `docker.io/library/nginx`).
    PatternHasNoSlash,
    /// `docker.io/NAME` without `library/`: Docker Hub official images normalise to
    /// `docker.io/library/NAME`, so this never matches.
    DockerHubWithoutLibrary,
    /// The pattern contains a character that other glob dialects treat specially but that is
    /// literal here and cannot occur in a reference (`?`, `[`, `]`, `{`, `}`).
    LiteralGlobCharacter(char),
    /// An earlier rule matches every image this rule matches, so this rule is never used.
    Unreachable {
        /// The index of the earlier rule.
        shadowed_by: usize,
    },
    /// A regular expression that matches any value (`.*`, `.+`, …): the field constrains
    /// nothing.
    RegexMatchesAnything {
        /// `keyless.issuerRegex` or `keyless.subjectRegex`.
        field: &'static str,
    },
}

/// Why a policy cannot be loaded: every problem found, in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    origin: Option<String>,
    problems: Vec<PolicyProblem>,
}

/// One problem in a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyProblem {
    rule: Option<usize>,
    image: Option<String>,
    field: Option<String>,
    message: String,
}

// ---------------------------------------------------------------------------------------------
// Policy
// ---------------------------------------------------------------------------------------------

impl Policy {
    /// A policy with no rules: every reference is "no rule matched".
    pub fn empty() -> Policy {
        Policy::from_rules(Vec::new(), Vec::new())
    }

    /// Load a policy from YAML or JSON text (see the module documentation for the forms).
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        parse_policy(text).map_err(|problems| PolicyError {
            origin: None,
            problems,
        })
    }

    /// Read and load a policy file (at most [`MAX_POLICY_BYTES`]). Errors name the file.
    pub fn from_file(path: &Path) -> Result<Policy, PolicyError> {
        let origin = path.display().to_string();
        let fail = |message: String| PolicyError {
            origin: Some(origin.clone()),
            problems: vec![PolicyProblem::document(None, message)],
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
        parse_policy(&text).map_err(|problems| PolicyError {
            origin: Some(origin.clone()),
            problems,
        })
    }

    fn from_rules(rules: Vec<Rule>, warnings: Vec<PolicyWarning>) -> Policy {
        let mut hasher = Sha256::new();
        put(&mut hasher, b"imagecheck.policy.v1");
        put(&mut hasher, &(rules.len() as u64).to_be_bytes());
        for rule in &rules {
            put(&mut hasher, &rule.fingerprint);
        }
        Policy {
            rules,
            warnings,
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

    /// The first rule whose pattern matches `reference`'s normalised `registry/repository`.
    pub fn first_match(&self, reference: &Reference) -> Option<&Rule> {
        let name = reference.name();
        self.rules.iter().find(|rule| rule.pattern.matches(&name))
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

// ---------------------------------------------------------------------------------------------
// Rule
// ---------------------------------------------------------------------------------------------

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

    fn new(index: usize, pattern: ImagePattern, action: RuleAction) -> Rule {
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
fn put(hasher: &mut Sha256, bytes: &[u8]) {
    hasher.update((bytes.len() as u64).to_be_bytes());
    hasher.update(bytes);
}

// ---------------------------------------------------------------------------------------------
// Keyless identity
// ---------------------------------------------------------------------------------------------

impl StringMatch {
    /// Whether `value` matches (equality, or an unanchored regex match).
    pub fn matches(&self, value: &str) -> bool {
        match self {
            StringMatch::Exact(expected) => expected == value,
            StringMatch::Regex(regex) => regex.is_match(value),
        }
    }

    fn describe(&self, field: &str) -> String {
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
            Some(issuer) if self.issuer.matches(issuer) => {}
            _ => {
                return Err(IdentityMismatch {
                    field: IdentityField::Issuer,
                    expected: self.issuer.describe("issuer"),
                    found: issuer.map(str::to_owned).into_iter().collect(),
                });
            }
        }
        if subjects.iter().any(|s| self.subject.matches(s)) {
            Ok(())
        } else {
            Err(IdentityMismatch {
                field: IdentityField::Subject,
                expected: self.subject.describe("subject"),
                found: subjects.iter().map(|s| (*s).to_owned()).collect(),
            })
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
        )
    }
}

impl IdentityMismatch {
    fn describe(&self) -> String {
        let what = match self.field {
            IdentityField::Issuer => "OIDC issuer",
            IdentityField::Subject => "subject",
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

// ---------------------------------------------------------------------------------------------
// Warnings
// ---------------------------------------------------------------------------------------------

impl PolicyWarning {
    /// The index of the rule concerned.
    pub fn rule_index(&self) -> usize {
        self.rule_index
    }

    /// The rule's pattern, as written.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// What is suspicious.
    pub fn kind(&self) -> &WarningKind {
        &self.kind
    }

    /// The explanation, without the rule prefix.
    pub fn message(&self) -> String {
        match &self.kind {
            WarningKind::HostRespelled { matched } => format!(
                "the registry host is compared in canonical form (lower case, no ':443', \
                 docker.io for every Docker Hub alias), so this pattern is matched as {matched:?}, \
                 for every spelling of that registry; write it so to silence this warning"
            ),
            WarningKind::PatternHasDigest => {
                "the pattern contains '@', but patterns match only registry/repository, never a digest: it matches nothing".into()
            }
            WarningKind::PatternHasTag => {
                "the pattern contains ':' after its last '/', but patterns match only registry/repository, never a tag".into()
            }
            WarningKind::PatternHasNoSlash => format!(
                "the pattern has no '/' and no '*', so it matches no normalised registry/repository name (for example `nginx` is matched as `docker.io/library/nginx`); did you mean \"docker.io/library/{}\"?",
                self.pattern
            ),
            WarningKind::DockerHubWithoutLibrary => format!(
                "Docker Hub official images normalise to docker.io/library/NAME, so this pattern matches nothing; did you mean {:?}?",
                self.matched.replacen("docker.io/", "docker.io/library/", 1)
            ),
            WarningKind::LiteralGlobCharacter(c) => format!(
                "'{c}' is not special in patterns (only '*' is) and cannot occur in a reference, so this pattern matches nothing"
            ),
            WarningKind::Unreachable { shadowed_by } => format!(
                "rule {shadowed_by} comes first and matches every image this rule matches, so this rule is never used"
            ),
            WarningKind::RegexMatchesAnything { field } => format!(
                "{field} matches any value, so it constrains nothing (regexes are unanchored, as in cosign)"
            ),
        }
    }
}

impl fmt::Display for PolicyWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rule {} (image {:?}): {}",
            self.rule_index,
            self.pattern,
            self.message()
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

impl PolicyError {
    /// The file the policy came from, if it was read from one.
    pub fn origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }

    /// Every problem found (at least one).
    pub fn problems(&self) -> &[PolicyProblem] {
        &self.problems
    }

    /// The rule index of the first problem, if it concerns a rule.
    pub fn rule_index(&self) -> Option<usize> {
        self.problems.first().and_then(|p| p.rule)
    }

    /// The field of the first problem, if it concerns one (`keyless.subjectRegex`).
    pub fn field(&self) -> Option<&str> {
        self.problems.first().and_then(|p| p.field.as_deref())
    }
}

impl fmt::Display for PolicyError {
    /// `FILE: rule 2 (image "ghcr.io/*"): keyless.subjectRegex: invalid regex: …; rule 3 …`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(origin) = &self.origin {
            write!(f, "{origin}: ")?;
        }
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for PolicyError {}

impl From<PolicyError> for crate::Error {
    fn from(error: PolicyError) -> Self {
        crate::Error::InvalidPolicy(error.to_string())
    }
}

impl PolicyProblem {
    fn document(field: Option<&str>, message: String) -> Self {
        PolicyProblem {
            rule: None,
            image: None,
            field: field.map(str::to_owned),
            message,
        }
    }

    /// The rule concerned (0-based), or `None` for a document-level problem.
    pub fn rule_index(&self) -> Option<usize> {
        self.rule
    }

    /// The rule's image pattern, when it has a usable one.
    pub fn image(&self) -> Option<&str> {
        self.image.as_deref()
    }

    /// The field concerned, as spelled in the policy (`image`, `keyless.subjectRegex`,
    /// `publicKey.certificate`, `kind`, …), if any.
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// What is wrong and what to do.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for PolicyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.rule, &self.image) {
            (Some(rule), Some(image)) => write!(f, "rule {rule} (image {image:?}): ")?,
            (Some(rule), None) => write!(f, "rule {rule}: ")?,
            (None, _) => {}
        }
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        f.write_str(&self.message)
    }
}

// ---------------------------------------------------------------------------------------------
// Loading: documents
// ---------------------------------------------------------------------------------------------

/// A YAML/JSON document, read just enough to find the rules.
enum RawDoc {
    /// A bare list of rules.
    List(Vec<Value>),
    /// A mapping: a Talos document, a plain `rules:` document, or some other document.
    Map {
        api_version: Option<Value>,
        kind: Option<Value>,
        rules: Option<Value>,
        other_keys: Vec<String>,
    },
    /// A scalar document (or null).
    Scalar(&'static str),
}

impl<'de> Deserialize<'de> for RawDoc {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawDocVisitor)
    }
}

struct RawDocVisitor;

impl<'de> Visitor<'de> for RawDocVisitor {
    type Value = RawDoc;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping or a list of rules")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawDoc, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(RawDoc::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawDoc, A::Error> {
        let (mut api_version, mut kind, mut rules) = (None, None, None);
        let mut other_keys: Vec<String> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let slot = match key.as_str() {
                "apiVersion" => &mut api_version,
                "kind" => &mut kind,
                "rules" => &mut rules,
                _ => {
                    // Not ours (another document of a machine configuration) or an unknown
                    // field, reported later: duplicates do not matter here.
                    map.next_value::<IgnoredAny>()?;
                    if !other_keys.contains(&key) {
                        other_keys.push(key);
                    }
                    continue;
                }
            };
            if slot.is_some() {
                return Err(de::Error::custom(format!("duplicate key `{key}`")));
            }
            let StrictValue(value) = map.next_value()?;
            *slot = Some(value);
        }
        Ok(RawDoc::Map {
            api_version,
            kind,
            rules,
            other_keys,
        })
    }

    fn visit_unit<E: de::Error>(self) -> Result<RawDoc, E> {
        Ok(RawDoc::Scalar("null"))
    }

    fn visit_none<E: de::Error>(self) -> Result<RawDoc, E> {
        Ok(RawDoc::Scalar("null"))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<RawDoc, E> {
        Ok(RawDoc::Scalar("a boolean"))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<RawDoc, E> {
        Ok(RawDoc::Scalar("a number"))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<RawDoc, E> {
        Ok(RawDoc::Scalar("a number"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<RawDoc, E> {
        Ok(RawDoc::Scalar("a number"))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<RawDoc, E> {
        Ok(RawDoc::Scalar("a string"))
    }
}

/// A JSON value deserialised from YAML or JSON, refusing duplicate mapping keys (which
/// `serde_json::Value` would silently collapse to the last one).
struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(StrictValueVisitor)
            .map(StrictValue)
    }
}

struct StrictValueVisitor;

impl<'de> Visitor<'de> for StrictValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a YAML or JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        i64::try_from(v)
            .map(Value::from)
            .map_err(|_| E::custom("integer out of range"))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        u64::try_from(v)
            .map(Value::from)
            .map_err(|_| E::custom("integer out of range"))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("not a finite number"))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        StrictValue::deserialize(deserializer).map(|v| v.0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(de::Error::custom(format!("duplicate key `{key}`")));
            }
            let StrictValue(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

/// Parse `text` as JSON (when it starts with `{` or `[`) or as a YAML stream.
fn read_documents(text: &str) -> Result<Vec<RawDoc>, PolicyProblem> {
    let trimmed = text.trim_start();
    let yaml = || {
        let mut options = serde_saphyr::Options::default();
        options.with_snippet = false;
        // Duplicate keys reach our visitors, which refuse them in the policy document with a
        // plain message (and leave other documents of a machine configuration alone).
        options.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::PassThrough;
        serde_saphyr::from_multiple_with_options::<RawDoc>(text, options)
    };
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        match serde_json::from_str::<RawDoc>(text) {
            Ok(doc) => Ok(vec![doc]),
            // YAML flow style (`[{image: "*", deny: true}]`) also starts like JSON.
            Err(json_error) => yaml().map_err(|_| {
                PolicyProblem::document(None, format!("not valid JSON: {json_error}"))
            }),
        }
    } else {
        yaml().map_err(|e| {
            PolicyProblem::document(None, format!("not valid YAML: {}", e.without_snippet()))
        })
    }
}

fn value_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// Pick the rules out of the documents.
fn select_rules(docs: Vec<RawDoc>) -> Result<Vec<Value>, Vec<PolicyProblem>> {
    let problem =
        |field: Option<&str>, message: String| vec![PolicyProblem::document(field, message)];
    let docs: Vec<RawDoc> = docs
        .into_iter()
        .filter(|d| !matches!(d, RawDoc::Scalar("null")))
        .collect();
    if docs.is_empty() {
        return Err(problem(
            None,
            "the policy is empty (expected an ImageVerificationConfig document, a `rules:` document or a list of rules)".into(),
        ));
    }

    let is_talos = |d: &RawDoc| matches!(d, RawDoc::Map { kind: Some(Value::String(k)), .. } if k == TALOS_KIND);
    let talos: Vec<usize> = docs
        .iter()
        .enumerate()
        .filter(|(_, d)| is_talos(d))
        .map(|(i, _)| i)
        .collect();
    let single = match talos.as_slice() {
        [] if docs.len() == 1 => docs.into_iter().next(),
        [] => {
            return Err(problem(
                Some("kind"),
                format!(
                    "none of the {} YAML documents has kind: {TALOS_KIND}",
                    docs.len()
                ),
            ));
        }
        [one] => docs.into_iter().nth(*one),
        many => {
            let numbers: Vec<String> = many.iter().map(|i| (i + 1).to_string()).collect();
            return Err(problem(
                Some("kind"),
                format!(
                    "{} documents have kind: {TALOS_KIND} (documents {}); put all rules in one",
                    many.len(),
                    numbers.join(", ")
                ),
            ));
        }
    };
    let Some(doc) = single else {
        return Err(problem(None, "the policy is empty".into()));
    };

    match doc {
        RawDoc::List(rules) => Ok(rules),
        RawDoc::Scalar(what) => Err(problem(
            None,
            format!("expected a mapping with `rules:` or a list of rules, found {what}"),
        )),
        RawDoc::Map {
            api_version,
            kind,
            rules,
            other_keys,
        } => {
            let mut problems = Vec::new();
            match (&kind, &api_version) {
                (Some(Value::String(k)), Some(Value::String(v))) if k == TALOS_KIND => {
                    if v != TALOS_API_VERSION {
                        problems.push(PolicyProblem::document(
                            Some("apiVersion"),
                            format!(
                                "unsupported apiVersion {v:?} for {TALOS_KIND} (supported: {TALOS_API_VERSION})"
                            ),
                        ));
                    }
                }
                (Some(Value::String(k)), other) if k == TALOS_KIND => {
                    problems.push(PolicyProblem::document(
                        Some("apiVersion"),
                        match other {
                            None | Some(Value::Null) => format!(
                                "missing; a {TALOS_KIND} document needs apiVersion: {TALOS_API_VERSION}"
                            ),
                            Some(v) => format!("expected a string, found {}", value_type(v)),
                        },
                    ));
                }
                (Some(Value::String(k)), _) => problems.push(PolicyProblem::document(
                    Some("kind"),
                    format!(
                        "unknown kind {k:?} (expected {TALOS_KIND}, or a document with only `rules:`)"
                    ),
                )),
                (Some(Value::Null) | None, Some(Value::Null) | None) => {}
                (Some(Value::Null) | None, Some(v)) => problems.push(PolicyProblem::document(
                    Some("apiVersion"),
                    format!(
                        "apiVersion {} without kind (a Talos document needs kind: {TALOS_KIND})",
                        compact(v)
                    ),
                )),
                (Some(v), _) => problems.push(PolicyProblem::document(
                    Some("kind"),
                    format!("expected a string, found {}", value_type(v)),
                )),
            }
            for key in &other_keys {
                problems.push(PolicyProblem::document(
                    Some(key),
                    unknown_field_message(key, DOCUMENT_FIELDS, &[]),
                ));
            }
            let rules = match rules {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(rules)) => rules,
                Some(other) => {
                    problems.push(PolicyProblem::document(
                        Some("rules"),
                        format!("expected a list of rules, found {}", value_type(&other)),
                    ));
                    Vec::new()
                }
            };
            if problems.is_empty() {
                Ok(rules)
            } else {
                Err(problems)
            }
        }
    }
}

fn compact(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 60 {
        format!("{}…", text.chars().take(60).collect::<String>())
    } else {
        text
    }
}

// ---------------------------------------------------------------------------------------------
// Loading: rules
// ---------------------------------------------------------------------------------------------

fn parse_policy(text: &str) -> Result<Policy, Vec<PolicyProblem>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let docs = read_documents(text).map_err(|p| vec![p])?;
    let raw_rules = select_rules(docs)?;

    let mut problems = Vec::new();
    let mut rules = Vec::new();
    for (index, raw) in raw_rules.iter().enumerate() {
        let mut ctx = RuleContext {
            index,
            image: None,
            problems: &mut problems,
        };
        if let Some(rule) = parse_rule(&mut ctx, raw) {
            rules.push(rule);
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let warnings = collect_warnings(&rules);
    for warning in &warnings {
        tracing::warn!(
            rule = warning.rule_index(),
            "image verification policy: {warning}"
        );
    }
    Ok(Policy::from_rules(rules, warnings))
}

struct RuleContext<'a> {
    index: usize,
    image: Option<String>,
    problems: &'a mut Vec<PolicyProblem>,
}

impl RuleContext<'_> {
    fn problem(&mut self, field: Option<&str>, message: impl Into<String>) {
        self.problems.push(PolicyProblem {
            rule: Some(self.index),
            image: self.image.clone(),
            field: field.map(str::to_owned),
            message: message.into(),
        });
    }

    fn problem_count(&self) -> usize {
        self.problems.len()
    }

    /// A boolean field: absent or null is `false`.
    fn flag(&mut self, object: &Map<String, Value>, field: &str) -> bool {
        match object.get(field) {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                self.problem(
                    Some(field),
                    format!("expected true or false, found {}", describe_value(other)),
                );
                false
            }
        }
    }

    /// A string field: absent, null and `""` are `None`.
    fn string(&mut self, object: &Map<String, Value>, key: &str, path: &str) -> Option<String> {
        match object.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.is_empty() => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                self.problem(
                    Some(path),
                    format!("expected a string, found {}", describe_value(other)),
                );
                None
            }
        }
    }

    /// A nested mapping field: absent or null is `None`.
    fn mapping<'v>(
        &mut self,
        object: &'v Map<String, Value>,
        field: &str,
        expected: &str,
    ) -> Option<&'v Map<String, Value>> {
        match object.get(field) {
            None | Some(Value::Null) => None,
            Some(Value::Object(map)) => Some(map),
            Some(other) => {
                self.problem(
                    Some(field),
                    format!("expected a mapping {expected}, found {}", value_type(other)),
                );
                None
            }
        }
    }

    fn unknown_fields(
        &mut self,
        object: &Map<String, Value>,
        known: &[&str],
        prefix: &str,
        hints: &[(&str, &str)],
    ) {
        for key in object.keys() {
            if !known.contains(&key.as_str()) {
                let path = format!("{prefix}{key}");
                self.problem(Some(&path), unknown_field_message(key, known, hints));
            }
        }
    }
}

fn describe_value(value: &Value) -> String {
    match value {
        Value::String(_) | Value::Number(_) | Value::Bool(_) => {
            format!("{} {}", value_type(value), compact(value))
        }
        other => value_type(other).to_owned(),
    }
}

fn parse_rule(ctx: &mut RuleContext<'_>, raw: &Value) -> Option<Rule> {
    let Value::Object(object) = raw else {
        ctx.problem(
            None,
            format!(
                "expected a mapping with image and one of keyless, publicKey, skip: true, deny: true; found {}",
                value_type(raw)
            ),
        );
        return None;
    };
    let before = ctx.problem_count();

    // image first, so later problems can name it.
    let image = match object.get("image") {
        None | Some(Value::Null) => {
            ctx.problem(Some("image"), "missing; every rule needs an image pattern");
            None
        }
        Some(Value::String(s)) if s.trim().is_empty() => {
            ctx.problem(Some("image"), "the image pattern is empty");
            None
        }
        Some(Value::String(s)) => {
            ctx.image = Some(s.clone());
            if s.trim() != s {
                ctx.problem(
                    Some("image"),
                    "the image pattern has leading or trailing whitespace",
                );
            }
            Some(s.clone())
        }
        Some(other) => {
            ctx.problem(
                Some("image"),
                format!("expected a string, found {}", describe_value(other)),
            );
            None
        }
    };

    ctx.unknown_fields(
        object,
        RULE_FIELDS,
        "",
        &[(
            "verify",
            "`verify` belongs to an older Talos schema; a rule with keyless or publicKey always verifies: remove it (and use `skip: true` where it said `verify: false`)",
        )],
    );
    let skip = ctx.flag(object, "skip");
    let deny = ctx.flag(object, "deny");
    let keyless = ctx
        .mapping(object, "keyless", "with issuer and subject")
        .map(|map| parse_keyless(ctx, map));
    let public_key = ctx
        .mapping(object, "publicKey", "with certificate: PEM")
        .map(|map| parse_public_key(ctx, map));

    let has_keyless = object.get("keyless").is_some_and(|v| !v.is_null());
    let has_public_key = object.get("publicKey").is_some_and(|v| !v.is_null());
    if skip && deny {
        ctx.problem(Some("deny"), "skip and deny cannot both be true");
    }
    if skip || deny {
        let which = if skip { "skip: true" } else { "deny: true" };
        if has_keyless {
            ctx.problem(
                Some("keyless"),
                format!("a verifier cannot be combined with {which}"),
            );
        }
        if has_public_key {
            ctx.problem(
                Some("publicKey"),
                format!("a verifier cannot be combined with {which}"),
            );
        }
    } else if !has_keyless && !has_public_key {
        ctx.problem(
            None,
            "the rule does nothing: set exactly one of keyless, publicKey, skip: true or deny: true",
        );
    }
    if has_keyless && has_public_key {
        ctx.problem(
            Some("publicKey"),
            "only one of keyless or publicKey may be set (write two rules for two verifiers)",
        );
    }

    if ctx.problem_count() != before {
        return None;
    }
    let action = match (skip, deny, keyless, public_key) {
        (true, _, _, _) => RuleAction::Skip,
        (_, true, _, _) => RuleAction::Deny,
        (_, _, Some(Some(identity)), _) => RuleAction::Keyless(identity),
        (_, _, _, Some(Some(key))) => RuleAction::PublicKey(key),
        // Unreachable: each other combination recorded a problem above.
        _ => return None,
    };
    let pattern = ImagePattern::new(&image?);
    Some(Rule::new(ctx.index, pattern, action))
}

fn parse_keyless(ctx: &mut RuleContext<'_>, map: &Map<String, Value>) -> Option<KeylessIdentity> {
    let before = ctx.problem_count();
    ctx.unknown_fields(
        map,
        KEYLESS_FIELDS,
        "keyless.",
        &[(
            "rekorURL",
            "not supported: transparency-log proofs are checked offline against the trust root and no Rekor server is contacted; remove it",
        )],
    );
    let issuer = ctx.string(map, "issuer", "keyless.issuer");
    let issuer_regex = ctx.string(map, "issuerRegex", "keyless.issuerRegex");
    let subject = ctx.string(map, "subject", "keyless.subject");
    let subject_regex = ctx.string(map, "subjectRegex", "keyless.subjectRegex");
    let issuer = one_of(
        ctx,
        issuer,
        issuer_regex,
        "issuer",
        "the OIDC issuer, e.g. https://token.actions.githubusercontent.com",
    );
    let subject = one_of(
        ctx,
        subject,
        subject_regex,
        "subject",
        "the signer identity: an e-mail or a workflow URI",
    );
    match (issuer, subject) {
        (Some(issuer), Some(subject)) if ctx.problem_count() == before => {
            Some(KeylessIdentity { issuer, subject })
        }
        _ => None,
    }
}

/// Exactly one of `field` / `fieldRegex`, compiled.
fn one_of(
    ctx: &mut RuleContext<'_>,
    exact: Option<String>,
    regex: Option<String>,
    field: &str,
    what: &str,
) -> Option<StringMatch> {
    match (exact, regex) {
        (Some(_), Some(_)) => {
            ctx.problem(
                Some(&format!("keyless.{field}Regex")),
                format!(
                    "set {field} or {field}Regex, not both (cosign combines the two inconsistently; say which one you mean)"
                ),
            );
            None
        }
        (Some(exact), None) => Some(StringMatch::Exact(exact)),
        (None, Some(source)) => {
            match RegexBuilder::new(&source)
                .size_limit(REGEX_SIZE_LIMIT)
                .build()
            {
                Ok(regex) => Some(StringMatch::Regex(regex)),
                Err(e) => {
                    ctx.problem(
                        Some(&format!("keyless.{field}Regex")),
                        format!("invalid regex {source:?}: {}", regex_error(&e)),
                    );
                    None
                }
            }
        }
        (None, None) => {
            ctx.problem(
                Some(&format!("keyless.{field}")),
                format!("missing; keyless needs {field} or {field}Regex ({what})"),
            );
            None
        }
    }
}

/// The regex crate's syntax errors span several lines (with a caret diagram); keep the
/// one-line reason.
fn regex_error(error: &regex::Error) -> String {
    let text = error.to_string();
    text.lines()
        .rev()
        .find_map(|line| line.trim().strip_prefix("error: "))
        .map(str::to_owned)
        .unwrap_or_else(|| text.split_whitespace().collect::<Vec<_>>().join(" "))
}

fn parse_public_key(ctx: &mut RuleContext<'_>, map: &Map<String, Value>) -> Option<PublicKey> {
    ctx.unknown_fields(map, PUBLIC_KEY_FIELDS, "publicKey.", &[]);
    let pem = ctx.string(map, "certificate", "publicKey.certificate");
    let Some(pem) = pem else {
        if !matches!(map.get("certificate"), Some(v) if !v.is_null() && !v.is_string()) {
            ctx.problem(
                Some("publicKey.certificate"),
                "missing; paste the signer's PEM PUBLIC KEY (cosign.pub) or CERTIFICATE",
            );
        }
        return None;
    };
    match PublicKey::from_pem(&pem) {
        Ok(key) => Some(key),
        Err(e) => {
            ctx.problem(Some("publicKey.certificate"), e.to_string());
            None
        }
    }
}

/// "unknown field `x` (expected one of: …); did you mean `y`?"
fn unknown_field_message(key: &str, known: &[&str], hints: &[(&str, &str)]) -> String {
    if let Some((_, hint)) = hints.iter().find(|(k, _)| *k == key) {
        return format!("unknown field: {hint}");
    }
    let mut message = format!("unknown field (expected one of: {})", known.join(", "));
    if let Some(suggestion) = suggest(key, known) {
        message.push_str(&format!("; did you mean `{suggestion}`?"));
    }
    message
}

/// A known field that `key` is probably a misspelling of: equal ignoring case, `_` and `-`,
/// or within two edits.
fn suggest<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    let fold = |s: &str| -> String {
        s.chars()
            .filter(|c| *c != '_' && *c != '-')
            .flat_map(char::to_lowercase)
            .collect()
    };
    let folded = fold(key);
    known
        .iter()
        .map(|k| (*k, edit_distance(&folded, &fold(k))))
        .filter(|(_, d)| *d <= 2)
        .min_by_key(|(_, d)| *d)
        .map(|(k, _)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

// ---------------------------------------------------------------------------------------------
// Warnings
// ---------------------------------------------------------------------------------------------

fn collect_warnings(rules: &[Rule]) -> Vec<PolicyWarning> {
    let mut warnings = Vec::new();
    for (position, rule) in rules.iter().enumerate() {
        let pattern = rule.pattern.normalized();
        let mut warn = |kind: WarningKind| {
            warnings.push(PolicyWarning {
                rule_index: rule.index,
                pattern: rule.pattern.as_str().to_owned(),
                matched: pattern.to_owned(),
                kind,
            })
        };
        if rule.pattern.is_respelled() {
            warn(WarningKind::HostRespelled {
                matched: pattern.to_owned(),
            });
        }
        if pattern.contains('@') {
            warn(WarningKind::PatternHasDigest);
        }
        // The part before any '@': a digest's own ':' is not a tag.
        let name = pattern.split('@').next().unwrap_or(pattern);
        match name.rfind('/') {
            Some(slash) if name[slash..].contains(':') => warn(WarningKind::PatternHasTag),
            Some(_) => {}
            None if !rule.pattern.has_wildcard() => warn(WarningKind::PatternHasNoSlash),
            None => {}
        }
        if let Some(name) = pattern.strip_prefix("docker.io/")
            && !name.is_empty()
            && !name.contains('/')
            && !name.contains('*')
        {
            warn(WarningKind::DockerHubWithoutLibrary);
        }
        if let Some(c) = pattern.chars().find(|c| "?[]{}".contains(*c)) {
            warn(WarningKind::LiteralGlobCharacter(c));
        }
        // An earlier star-glob that matches this pattern's text (its stars read as literal
        // characters) matches every name this pattern matches: each of its literal pieces
        // lies inside one of this pattern's literal pieces, so this pattern's stars fall
        // inside its stars.
        if let Some(earlier) = rules[..position]
            .iter()
            .find(|earlier| earlier.pattern.matches(pattern))
        {
            warn(WarningKind::Unreachable {
                shadowed_by: earlier.index,
            });
        }
        if let RuleAction::Keyless(identity) = &rule.action {
            for (field, matcher) in [
                ("keyless.issuerRegex", &identity.issuer),
                ("keyless.subjectRegex", &identity.subject),
            ] {
                if let StringMatch::Regex(regex) = matcher
                    && regex_matches_anything(regex)
                {
                    warn(WarningKind::RegexMatchesAnything { field });
                }
            }
        }
    }
    warnings
}

/// Heuristic: a regex that matches the empty string or an improbable value matches anything
/// in practice (`.*`, `.+`, `^.*$`, `x?`).
fn regex_matches_anything(regex: &Regex) -> bool {
    regex.is_match("") || regex.is_match("\u{1}imagecheck-improbable-value\u{1}")
}

#[cfg(test)]
mod tests;
