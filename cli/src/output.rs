//! Printing per-reference results: tab-separated lines for people and `cut`, or one JSON
//! object per line with `--json`.

use std::io::Write;

use serde_json::{Value, json};

use crate::serve::kinds::ErrorReport;

/// The JSON error object shared by every command.
fn error_json(error: &ErrorReport) -> Value {
    let mut object = json!({"kind": error.kind.name(), "message": error.message});
    if let Some(cause) = &error.cause {
        object["cause"] = json!(cause);
    }
    if error.kind == imagecheck::ErrorKind::VerificationFailed {
        object["failures"] = json!(error.failures);
    }
    object
}

/// Print the line for a reference that failed; returns the exit code it contributes.
pub(crate) fn error(reference: &str, error: &ErrorReport, json: bool) -> u8 {
    if json {
        line(&json!({"reference": reference, "error": error_json(error)}).to_string());
    } else {
        line(&format!(
            "{reference}\terror: {}: {}",
            error.kind, error.message
        ));
    }
    crate::exit::for_kind(error.kind)
}

/// Write one line to stdout; a closed pipe (`| head`) ends output quietly.
pub(crate) fn line(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
}
