//! Rule validation: each raw rule to a [`Rule`], strictly (unknown fields, wrong types, rules
//! that do nothing or too much, bad regexes and keys), every problem recorded with the rule's
//! index, pattern and field.
//!
//! Why one file of ~800 lines: every field of a rule is read by one set of readers that report
//! through one [`RuleContext`], and the entries of `signers` are read by the very `keyless` /
//! `publicKey` readers of a plain rule; split by field, the files would import each other. The
//! field lists, the regex compiler and the extension parsers are the seams if it grows again.

use regex::{Regex, RegexBuilder};
use serde_json::{Map, Value};

use super::document::{compact, value_type};
use super::extensions;
use super::fields::{suggest, unknown_field_message};
use super::problem::PolicyProblem;
use super::rule::{AttestationRequirement, Condition, ExtensionMatch, Signer, SignerSet};
use super::rule::{KeylessIdentity, Rule, RuleAction, StringMatch};
use crate::verify::pattern::ImagePattern;
use crate::verify::public_key::PublicKey;

/// Compiled-size limit for each `issuerRegex` / `subjectRegex`.
const REGEX_SIZE_LIMIT: usize = 1024 * 1024;

const RULE_FIELDS: &[&str] = &[
    "image",
    "keyless",
    "publicKey",
    "skip",
    "deny",
    "signers",
    "threshold",
    "attestations",
];
const KEYLESS_FIELDS: &[&str] = &[
    "issuer",
    "issuerRegex",
    "subject",
    "subjectRegex",
    "certificateExtensions",
    "trustedRoot",
];
const SIGNER_FIELDS: &[&str] = &["keyless", "publicKey"];
const ATTESTATION_FIELDS: &[&str] = &["predicateType", "conditions"];
const CONDITION_FIELDS: &[&str] = &["path", "equals", "regex"];
const PUBLIC_KEY_FIELDS: &[&str] = &["certificate"];

/// Every raw rule validated, in order; every problem of every rule when one is invalid.
pub(super) fn rules(raw_rules: &[Value]) -> Result<Vec<Rule>, Vec<PolicyProblem>> {
    let mut problems = Vec::new();
    let mut rules = Vec::new();
    for (index, raw) in raw_rules.iter().enumerate() {
        let mut ctx = RuleContext {
            index,
            image: None,
            prefix: String::new(),
            problems: &mut problems,
        };
        if let Some(rule) = parse_rule(&mut ctx, raw) {
            rules.push(rule);
        }
    }
    if problems.is_empty() {
        Ok(rules)
    } else {
        Err(problems)
    }
}

struct RuleContext<'a> {
    index: usize,
    image: Option<String>,
    /// Put before every field named in a problem: `signers[1].` while one entry of a list is
    /// read with the functions that read a rule's own fields.
    prefix: String,
    problems: &'a mut Vec<PolicyProblem>,
}

impl RuleContext<'_> {
    fn problem(&mut self, field: Option<&str>, message: impl Into<String>) {
        let field = match field {
            Some(field) => Some(format!("{}{field}", self.prefix)),
            None if !self.prefix.is_empty() => Some(self.prefix.trim_end_matches('.').to_owned()),
            None => None,
        };
        self.problems.push(PolicyProblem::rule(
            self.index,
            self.image.clone(),
            field.as_deref(),
            message.into(),
        ));
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
    /// `item`, one entry of a list, as a mapping; else a problem saying it should be one
    /// `expected` (`with predicateType`).
    fn entry<'v>(&mut self, item: &'v Value, expected: &str) -> Option<&'v Map<String, Value>> {
        match item {
            Value::Object(map) => Some(map),
            other => {
                self.problem(
                    None,
                    format!("expected a mapping {expected}, found {}", value_type(other)),
                );
                None
            }
        }
    }

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
    let signers = parse_signers(ctx, object);
    let attestations = parse_attestations(ctx, object);

    let has_keyless = object.get("keyless").is_some_and(|v| !v.is_null());
    let has_public_key = object.get("publicKey").is_some_and(|v| !v.is_null());
    let has_signers = object.get("signers").is_some_and(|v| !v.is_null());
    let has_attestations = object.get("attestations").is_some_and(|v| !v.is_null());
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
        if has_signers {
            ctx.problem(
                Some("signers"),
                format!("a verifier cannot be combined with {which}"),
            );
        }
        if has_attestations {
            ctx.problem(
                Some("attestations"),
                format!("attestations are checked with the rule's verifier; they cannot be combined with {which}"),
            );
        }
    } else if !has_keyless && !has_public_key && !has_signers {
        ctx.problem(
            None,
            "the rule does nothing: set exactly one of keyless, publicKey, signers, skip: true or deny: true",
        );
    }
    if has_signers && (has_keyless || has_public_key) {
        ctx.problem(
            Some("signers"),
            "signers replaces keyless and publicKey: list every signer under signers",
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
    let action = match (skip, deny, keyless, public_key, signers) {
        (true, ..) => RuleAction::Skip,
        (_, true, ..) => RuleAction::Deny,
        (_, _, Some(Some(identity)), _, _) => RuleAction::Keyless(identity),
        (_, _, _, Some(Some(key)), _) => RuleAction::PublicKey(key),
        (_, _, _, _, Some(set)) => RuleAction::Signers(set),
        // Unreachable: each other combination recorded a problem above.
        _ => return None,
    };
    let pattern = ImagePattern::new(&image?);
    Some(Rule::new(ctx.index, pattern, action).with_attestations(attestations))
}

fn parse_keyless(ctx: &mut RuleContext<'_>, map: &Map<String, Value>) -> Option<KeylessIdentity> {
    let before = ctx.problem_count();
    ctx.unknown_fields(
        map,
        KEYLESS_FIELDS,
        "keyless.",
        &[
            (
                "rekorURL",
                "not supported: transparency-log proofs are checked offline against the trust root and no Rekor server is contacted; remove it",
            ),
            (
                "trustRoot",
                "use `trustedRoot` (the name of one of the verifier's trusted roots)",
            ),
        ],
    );
    let issuer = ctx.string(map, "issuer", "keyless.issuer");
    let issuer_regex = ctx.string(map, "issuerRegex", "keyless.issuerRegex");
    let subject = ctx.string(map, "subject", "keyless.subject");
    let subject_regex = ctx.string(map, "subjectRegex", "keyless.subjectRegex");
    let trusted_root = ctx.string(map, "trustedRoot", "keyless.trustedRoot");
    let issuer = one_of(
        ctx,
        issuer,
        issuer_regex,
        "issuer",
        "the OIDC issuer, e.g. https://token.actions.githubusercontent.com",
        Both::Refused,
    );
    let subject = one_of(
        ctx,
        subject,
        subject_regex,
        "subject",
        "the signer identity: an e-mail or a workflow URI",
        Both::BothMustMatch,
    );
    let extensions = parse_certificate_extensions(ctx, map);
    match (issuer, subject) {
        (Some(issuer), Some(subject)) if ctx.problem_count() == before => Some(
            KeylessIdentity::new(issuer, subject)
                .with_extensions(extensions)
                .with_trusted_root(trusted_root),
        ),
        _ => None,
    }
}

/// What `field` and `fieldRegex` both set mean.
#[derive(Clone, Copy)]
enum Both {
    /// An error: `issuer` with `issuerRegex` (issuerRegex is ours, and cosign's legacy path
    /// would let the regex win over the exact value).
    Refused,
    /// Valid, both must match: `subject` with `subjectRegex`, as Talos documents may write it
    /// (see [`KeylessIdentity`] for why both, for every signature format).
    BothMustMatch,
}

/// `field`, `fieldRegex` (compiled), or both when `both` allows it.
fn one_of(
    ctx: &mut RuleContext<'_>,
    exact: Option<String>,
    regex: Option<String>,
    field: &str,
    what: &str,
    both: Both,
) -> Option<StringMatch> {
    let regex_path = format!("keyless.{field}Regex");
    match (exact, regex, both) {
        (Some(_), Some(_), Both::Refused) => {
            ctx.problem(
                Some(&regex_path),
                format!(
                    "set {field} or {field}Regex, not both (cosign lets the regex win and ignores {field}; say which one you mean)"
                ),
            );
            None
        }
        (Some(exact), Some(source), Both::BothMustMatch) => compile(ctx, &regex_path, &source)
            .map(|regex| StringMatch::ExactAndRegex { exact, regex }),
        (Some(exact), None, _) => Some(StringMatch::Exact(exact)),
        (None, Some(source), _) => compile(ctx, &regex_path, &source).map(StringMatch::Regex),
        (None, None, _) => {
            ctx.problem(
                Some(&format!("keyless.{field}")),
                format!("missing; keyless needs {field} or {field}Regex ({what})"),
            );
            None
        }
    }
}

/// `source` compiled within the size limit; a problem at `path` when it does not compile.
fn compile(ctx: &mut RuleContext<'_>, path: &str, source: &str) -> Option<Regex> {
    match RegexBuilder::new(source)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
    {
        Ok(regex) => Some(regex),
        Err(e) => {
            ctx.problem(
                Some(path),
                format!("invalid regex {source:?}: {}", regex_error(&e)),
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

/// A regex of the policy, compiled within [`REGEX_SIZE_LIMIT`]; a problem at `field` when it
/// does not compile.
fn compile_regex(ctx: &mut RuleContext<'_>, field: &str, source: &str) -> Option<regex::Regex> {
    match RegexBuilder::new(source)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
    {
        Ok(regex) => Some(regex),
        Err(e) => {
            ctx.problem(
                Some(field),
                format!("invalid regex {source:?}: {}", regex_error(&e)),
            );
            None
        }
    }
}

/// `keyless.certificateExtensions`: sigstore-go's extension names, each `NAME: value` (exact)
/// or `NAMERegex: pattern`; both forms of one name may be given, and both must match.
fn parse_certificate_extensions(
    ctx: &mut RuleContext<'_>,
    keyless: &Map<String, Value>,
) -> Vec<ExtensionMatch> {
    const FIELD: &str = "keyless.certificateExtensions";
    let map = match keyless.get("certificateExtensions") {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::Object(map)) => map,
        Some(other) => {
            ctx.problem(
                Some(FIELD),
                format!(
                    "expected a mapping of extension names to values (sourceRepositoryRef: refs/tags/v1), found {}",
                    value_type(other)
                ),
            );
            return Vec::new();
        }
    };
    let mut required = Vec::new();
    for key in map.keys() {
        let path = format!("{FIELD}.{key}");
        let Some((extension, is_regex)) = extensions::parse_key(key) else {
            let known = extensions::known_keys();
            let known: Vec<&str> = known.iter().map(String::as_str).collect();
            let names: Vec<&str> = known[..known.len() / 2].to_vec();
            let mut message = format!(
                "unknown certificate extension (expected one of sigstore-go's Extensions names: {}; each also as NAMERegex)",
                names.join(", ")
            );
            if let Some(suggestion) = suggest(key, &known) {
                message.push_str(&format!("; did you mean `{suggestion}`?"));
            }
            ctx.problem(Some(&path), message);
            continue;
        };
        let Some(value) = ctx.string(map, key, &path) else {
            continue;
        };
        let matcher = if is_regex {
            match compile_regex(ctx, &path, &value) {
                Some(regex) => StringMatch::Regex(regex),
                None => continue,
            }
        } else {
            StringMatch::Exact(value)
        };
        required.push(ExtensionMatch::new(extension, matcher));
    }
    required
}

/// Rule-level `signers` and `threshold`: None when there is no `signers` (or it is invalid,
/// with the problems recorded).
fn parse_signers(ctx: &mut RuleContext<'_>, object: &Map<String, Value>) -> Option<SignerSet> {
    let threshold = object.get("threshold").filter(|v| !v.is_null());
    let list = match object.get("signers") {
        None | Some(Value::Null) => {
            if threshold.is_some() {
                ctx.problem(
                    Some("threshold"),
                    "threshold counts the signers of a signers list; add signers, or remove threshold",
                );
            }
            return None;
        }
        Some(Value::Array(list)) => list,
        Some(other) => {
            ctx.problem(
                Some("signers"),
                format!(
                    "expected a list of {{publicKey: …}} or {{keyless: …}}, found {}",
                    value_type(other)
                ),
            );
            return None;
        }
    };
    let before = ctx.problem_count();
    if list.is_empty() {
        ctx.problem(
            Some("signers"),
            "the list is empty; list each signer as {publicKey: …} or {keyless: …}",
        );
    }
    let mut signers: Vec<Signer> = Vec::new();
    for (i, item) in list.iter().enumerate() {
        ctx.prefix = format!("signers[{i}].");
        if let Some(signer) = parse_signer(ctx, item) {
            let fingerprint = signer.fingerprint();
            if let Some(first) = signers.iter().position(|s| s.fingerprint() == fingerprint) {
                ctx.problem(
                    None,
                    format!(
                        "the same signer as signers[{first}]; a signer counts once toward the threshold, so list it once"
                    ),
                );
            }
            signers.push(signer);
        }
    }
    ctx.prefix.clear();
    let threshold = match threshold {
        None => 1,
        Some(Value::Number(n)) => match n.as_u64() {
            Some(0) => {
                ctx.problem(
                    Some("threshold"),
                    "threshold 0 would verify any image, signed or not; it must be at least 1",
                );
                0
            }
            Some(n) if n > list.len() as u64 => {
                ctx.problem(
                    Some("threshold"),
                    format!(
                        "threshold {n} is larger than the {} signers listed, so no image could ever verify",
                        list.len()
                    ),
                );
                0
            }
            Some(n) => n as usize,
            None => {
                ctx.problem(
                    Some("threshold"),
                    format!(
                        "expected a whole number of signers, found {}",
                        compact(&Value::Number(n.clone()))
                    ),
                );
                0
            }
        },
        Some(other) => {
            ctx.problem(
                Some("threshold"),
                format!(
                    "expected a whole number of signers, found {}",
                    describe_value(other)
                ),
            );
            0
        }
    };
    (ctx.problem_count() == before).then(|| SignerSet::new(signers, threshold))
}

/// One entry of `signers`: exactly one of keyless or publicKey, read as the rule's own.
fn parse_signer(ctx: &mut RuleContext<'_>, item: &Value) -> Option<Signer> {
    let object = ctx.entry(item, "with publicKey or keyless")?;
    let before = ctx.problem_count();
    ctx.unknown_fields(object, SIGNER_FIELDS, "", &[]);
    // A misspelt field is the one problem to report (with its suggestion).
    let misspelt = ctx.problem_count() != before;
    let keyless = ctx
        .mapping(object, "keyless", "with issuer and subject")
        .map(|map| parse_keyless(ctx, map));
    let public_key = ctx
        .mapping(object, "publicKey", "with certificate: PEM")
        .map(|map| parse_public_key(ctx, map));
    match (keyless, public_key) {
        (Some(_), Some(_)) => {
            ctx.problem(
                None,
                "a signer is one of keyless or publicKey; list two signers for two",
            );
            None
        }
        (Some(identity), None) => identity.map(Signer::Keyless),
        (None, Some(key)) => key.map(Signer::PublicKey),
        (None, None) => {
            if !misspelt {
                ctx.problem(None, "the signer has neither publicKey nor keyless");
            }
            None
        }
    }
}

/// Rule-level `attestations`: `[{predicateType, conditions: [{path, equals | regex}]}]`.
fn parse_attestations(
    ctx: &mut RuleContext<'_>,
    object: &Map<String, Value>,
) -> Vec<AttestationRequirement> {
    let list = match object.get("attestations") {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::Array(list)) => list,
        Some(other) => {
            ctx.problem(
                Some("attestations"),
                format!(
                    "expected a list of {{predicateType: …, conditions: […]}}, found {}",
                    value_type(other)
                ),
            );
            return Vec::new();
        }
    };
    let mut required = Vec::new();
    for (i, item) in list.iter().enumerate() {
        ctx.prefix = format!("attestations[{i}].");
        if let Some(attestation) = parse_attestation(ctx, item) {
            required.push(attestation);
        }
    }
    ctx.prefix.clear();
    required
}

fn parse_attestation(ctx: &mut RuleContext<'_>, item: &Value) -> Option<AttestationRequirement> {
    let object = ctx.entry(item, "with predicateType")?;
    let before = ctx.problem_count();
    ctx.unknown_fields(object, ATTESTATION_FIELDS, "", &[]);
    let misspelt = ctx.problem_count() != before;
    let predicate_type = ctx.string(object, "predicateType", "predicateType");
    if predicate_type.is_none()
        && !misspelt
        && !matches!(object.get("predicateType"), Some(v) if !v.is_null() && !v.is_string())
    {
        ctx.problem(
            Some("predicateType"),
            "missing; the in-toto predicate type required, e.g. https://slsa.dev/provenance/v1",
        );
    }
    let conditions = match object.get("conditions") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => {
            let prefix = ctx.prefix.clone();
            let mut conditions = Vec::new();
            for (j, item) in list.iter().enumerate() {
                ctx.prefix = format!("{prefix}conditions[{j}].");
                conditions.extend(parse_condition(ctx, item));
            }
            ctx.prefix = prefix;
            conditions
        }
        Some(other) => {
            ctx.problem(
                Some("conditions"),
                format!(
                    "expected a list of {{path: …, equals: …}} or {{path: …, regex: …}}, found {}",
                    value_type(other)
                ),
            );
            Vec::new()
        }
    };
    match predicate_type {
        Some(predicate_type) if ctx.problem_count() == before => {
            Some(AttestationRequirement::new(predicate_type, conditions))
        }
        _ => None,
    }
}

fn parse_condition(ctx: &mut RuleContext<'_>, item: &Value) -> Option<Condition> {
    let object = ctx.entry(item, "with path and equals or regex")?;
    let before = ctx.problem_count();
    ctx.unknown_fields(object, CONDITION_FIELDS, "", &[]);
    let misspelt = ctx.problem_count() != before;
    let path = ctx.string(object, "path", "path");
    // `equals: true`, `equals: 3`: predicates hold booleans and numbers too, compared as
    // their JSON text.
    let equals = match object.get("equals") {
        Some(value @ (Value::Bool(_) | Value::Number(_))) => Some(value.to_string()),
        _ => ctx.string(object, "equals", "equals"),
    };
    let regex = ctx.string(object, "regex", "regex");
    let path = match path {
        None => {
            ctx.problem(
                Some("path"),
                "missing; a dotted path into the predicate, e.g. buildDefinition.buildType",
            );
            None
        }
        Some(path) if path.split('.').any(str::is_empty) => {
            ctx.problem(
                Some("path"),
                format!("{path:?} has an empty segment; write segments separated by single dots"),
            );
            None
        }
        Some(path) => Some(path),
    };
    let matcher = match (equals, regex) {
        (Some(_), Some(_)) => {
            ctx.problem(Some("regex"), "set equals or regex, not both");
            None
        }
        (Some(value), None) => Some(StringMatch::Exact(value)),
        (None, Some(source)) => compile_regex(ctx, "regex", &source).map(StringMatch::Regex),
        (None, None) => {
            if !misspelt {
                ctx.problem(None, "a condition needs equals (the exact value) or regex");
            }
            None
        }
    };
    Some(Condition::new(path?, matcher?))
}
