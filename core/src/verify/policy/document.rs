//! The document reader: YAML or JSON text to the raw rule list, from a Talos
//! `ImageVerificationConfig` (alone or in a multi-document machine configuration), a plain
//! `rules:` document or a bare list of rules. Duplicate keys are refused here, in the
//! document the rules come from; each rule is validated by [`super::validate`].

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::fields::unknown_field_message;
use super::problem::PolicyProblem;

/// The `kind` of the Talos document.
pub const TALOS_KIND: &str = "ImageVerificationConfig";
/// The only `apiVersion` of [`TALOS_KIND`] accepted.
pub const TALOS_API_VERSION: &str = "v1alpha1";

const DOCUMENT_FIELDS: &[&str] = &["apiVersion", "kind", "rules"];

/// The rules of a policy document, each still a raw value.
pub(super) struct RuleList {
    pub(super) rules: Vec<Value>,
    /// Whether they came from an `ImageVerificationConfig` document (the only form Talos
    /// reads), not a plain `rules:` document or a bare list.
    pub(super) talos_document: bool,
}

/// The rules of the policy document in `text`; every document-level problem found.
pub(super) fn read_rules(text: &str) -> Result<RuleList, Vec<PolicyProblem>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let docs = read_documents(text).map_err(|p| vec![p])?;
    select_rules(docs)
}

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

/// What kind of value this is, as messages name it (`a mapping`, `a list`, …).
pub(super) fn value_type(value: &Value) -> &'static str {
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
fn select_rules(docs: Vec<RawDoc>) -> Result<RuleList, Vec<PolicyProblem>> {
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
    let talos_document = !talos.is_empty();
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
        RawDoc::List(rules) => Ok(RuleList {
            rules,
            talos_document,
        }),
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
                Ok(RuleList {
                    rules,
                    talos_document,
                })
            } else {
                Err(problems)
            }
        }
    }
}

/// The value as JSON, cut at 60 characters, for messages.
pub(super) fn compact(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 60 {
        format!("{}…", text.chars().take(60).collect::<String>())
    } else {
        text
    }
}
