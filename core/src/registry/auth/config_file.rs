//! Reading a docker `config.json` / containers `auth.json` without ever quoting it.
//!
//! serde's own messages quote the input they reject ("invalid type: string \"dXNlcjpwdw==\",
//! expected struct …"), and in these files the input is a password. So the file is read as
//! plain JSON and walked by hand: every message names the file, the entry and what is wrong
//! with it, never a value.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Map, Value};

use super::{AuthEntry, ConfigFile};
use crate::error::{CauseKind, DigestCause};

/// The parts of `text` (the file at `path`) that name credentials. Other keys (docker keeps
/// proxies, formats and more there) are ignored, as docker and podman do.
pub(super) fn parse(text: &[u8], path: &Path) -> Result<ConfigFile, DigestCause> {
    let bad = |what: String| {
        DigestCause::new(
            CauseKind::Unauthorized,
            format!("credentials file {}: {what}", path.display()),
        )
    };
    // The line only: a column would tell how long a secret on that line is.
    let document: Value = serde_json::from_slice(text)
        .map_err(|e| bad(format!("not valid JSON (line {})", e.line())))?;
    let Value::Object(document) = document else {
        return Err(bad(format!("{}, not a JSON object", kind(&document))));
    };
    let mut config = ConfigFile::default();
    for (key, entry) in object(&document, "auths")
        .map_err(&bad)?
        .into_iter()
        .flatten()
    {
        let Value::Object(fields) = entry else {
            return Err(bad(format!(
                "entry {key:?} under \"auths\" is {}, not an object (expected \
                 {{\"auth\": \"<base64 of user:password>\"}})",
                kind(entry)
            )));
        };
        let field = |name: &str| {
            string(fields, name)
                .map_err(|what| bad(format!("entry {key:?} under \"auths\": {what}")))
        };
        let entry = AuthEntry {
            auth: field("auth")?,
            username: field("username")?,
            password: field("password")?,
            identity_token: field("identitytoken")?,
        };
        config.auths.insert(key.clone(), entry);
    }
    config.cred_helpers = object(&document, "credHelpers")
        .map_err(&bad)?
        .into_iter()
        .flatten()
        .map(|(key, helper)| match helper {
            Value::String(name) => Ok((key.clone(), name.clone())),
            other => Err(bad(format!(
                "entry {key:?} under \"credHelpers\" is {}, not a helper name",
                kind(other)
            ))),
        })
        .collect::<Result<HashMap<_, _>, _>>()?;
    config.creds_store = string(&document, "credsStore").map_err(&bad)?;
    Ok(config)
}

/// The object under `name` (None when absent or null).
fn object<'a>(
    parent: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a Map<String, Value>>, String> {
    match parent.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(other) => Err(format!("{name:?} is {}, not an object", kind(other))),
    }
}

/// The string under `name` (None when absent or null).
fn string(parent: &Map<String, Value>, name: &str) -> Result<Option<String>, String> {
    match parent.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(other) => Err(format!("{name:?} is {}, not a string", kind(other))),
    }
}

/// What a JSON value is, for messages (its type, never its content).
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
