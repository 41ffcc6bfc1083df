//! Shared by the CLI's integration tests: the harness state (real registries started by
//! tests/harness/harness.py).

use std::path::PathBuf;

use serde_json::Value;

pub fn state() -> Value {
    let dir = std::env::var("IMAGECHECK_HARNESS")
        .expect("IMAGECHECK_HARNESS is not set: start tests/harness/harness.py (tests/run does)");
    let text =
        std::fs::read_to_string(PathBuf::from(dir).join("state.json")).expect("harness state.json");
    serde_json::from_str(&text).expect("harness state.json is JSON")
}
