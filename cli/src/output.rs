//! Printing per-reference results: tab-separated lines for people and `cut`, or one JSON
//! object per line with `--json`.

use std::io::Write;

use imagecheck::Error;
use serde_json::{Value, json};

/// The JSON error object shared by every command.
pub(crate) fn error_json(error: &Error) -> Value {
    let mut object = json!({"kind": error.kind().name(), "message": error.to_string()});
    if let Some(cause) = error.digest_cause() {
        object["cause"] = json!(cause.kind.name());
    }
    object
}

/// Write one line to stdout; a closed pipe (`| head`) ends output quietly.
pub(crate) fn line(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
}
