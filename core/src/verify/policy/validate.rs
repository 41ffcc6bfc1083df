//! Rule validation: each raw rule to a [`Rule`], strictly (unknown fields, wrong types, rules
//! that do nothing or too much, bad regexes and keys), every problem recorded with the rule's
//! index, pattern and field.

use regex::RegexBuilder;
use serde_json::{Map, Value};

use super::document::{compact, value_type};
use super::fields::unknown_field_message;
use super::problem::PolicyProblem;
use super::rule::{KeylessIdentity, Rule, RuleAction, StringMatch};
use crate::verify::pattern::ImagePattern;
use crate::verify::public_key::PublicKey;

/// Compiled-size limit for each `issuerRegex` / `subjectRegex`.
const REGEX_SIZE_LIMIT: usize = 1024 * 1024;

const RULE_FIELDS: &[&str] = &["image", "keyless", "publicKey", "skip", "deny"];
const KEYLESS_FIELDS: &[&str] = &[
    "issuer",
    "issuerRegex",
    "subject",
    "subjectRegex",
    "trustedRoot",
];
const PUBLIC_KEY_FIELDS: &[&str] = &["certificate"];

/// Every raw rule validated, in order; every problem of every rule when one is invalid.
pub(super) fn rules(raw_rules: &[Value]) -> Result<Vec<Rule>, Vec<PolicyProblem>> {
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
    if problems.is_empty() {
        Ok(rules)
    } else {
        Err(problems)
    }
}

struct RuleContext<'a> {
    index: usize,
    image: Option<String>,
    problems: &'a mut Vec<PolicyProblem>,
}

impl RuleContext<'_> {
    fn problem(&mut self, field: Option<&str>, message: impl Into<String>) {
        self.problems.push(PolicyProblem::rule(
            self.index,
            self.image.clone(),
            field,
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
            Some(KeylessIdentity::new(issuer, subject).with_trusted_root(trusted_root))
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
