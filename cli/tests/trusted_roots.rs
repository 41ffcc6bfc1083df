//! `imagecheck verify` with named trusted roots (`--named-trusted-root NAME=FILE`) and a
//! TUF-refreshed default root (`--tuf-url`), against the harness registry, keyless-style
//! signatures by real cosign with the harness's test CA, and a local TUF repository made by
//! python-tuf (tests/harness/tuf_repo.py) on 127.0.0.1.

#![allow(
    clippy::unwrap_used,
    reason = "a test should stop at the first surprise"
)]

mod support;
#[path = "../../core/tests/support/tuf_repo.rs"]
mod tuf_repo;

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;
use support::state;
use tuf_repo::TufRepo;

fn signed() -> Value {
    let dir = std::env::var("IMAGECHECK_HARNESS").unwrap();
    serde_json::from_str(&std::fs::read_to_string(PathBuf::from(dir).join("signed.json")).unwrap())
        .unwrap()
}

fn imagecheck(args: &[&str]) -> Output {
    let s = state();
    Command::new(env!("CARGO_BIN_EXE_imagecheck"))
        .args(args)
        .env(
            "IMAGECHECK_INSECURE_REGISTRIES",
            s["registries"]["plain"]["host"].as_str().unwrap(),
        )
        .env_remove("IMAGECHECK_SOCKET")
        .output()
        .unwrap()
}

fn said(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The harness's keyless-email policy with its rule naming the trusted root `name`.
fn policy_naming(dir: &std::path::Path, name: &str) -> PathBuf {
    let signed = signed();
    let text =
        std::fs::read_to_string(signed["policies"]["keyless-email"].as_str().unwrap()).unwrap();
    let named = text.replacen(
        "keyless:\n",
        &format!("keyless:\n      trustedRoot: {name}\n"),
        1,
    );
    assert_ne!(
        named, text,
        "the harness policy has a keyless rule:\n{text}"
    );
    let path = dir.join("policy.yaml");
    std::fs::write(&path, named).unwrap();
    path
}

#[test]
fn a_rule_naming_a_trusted_root_verifies_with_it_and_an_unknown_name_is_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let signed = signed();
    let policy = policy_naming(dir.path(), "test-ca");
    let policy = policy.to_str().unwrap();
    let root = signed["trust_roots"]["test-ca"].as_str().unwrap();
    let reference = signed["images"]["keyless-email"]["reference"]
        .as_str()
        .unwrap();
    let named = format!("test-ca={root}");
    let ok = imagecheck(&[
        "verify",
        "--policy",
        policy,
        "--named-trusted-root",
        &named,
        reference,
    ]);
    assert_eq!(ok.status.code(), Some(0), "{}", said(&ok));
    assert!(
        said(&ok).contains("(trusted root \"test-ca\")"),
        "{}",
        said(&ok)
    );
    let unknown = imagecheck(&["verify", "--policy", policy, reference]);
    assert_eq!(unknown.status.code(), Some(3), "{}", said(&unknown));
    assert!(
        said(&unknown).contains("unknown trusted root \"test-ca\""),
        "{}",
        said(&unknown)
    );
}

#[test]
fn verify_with_a_tuf_repository_fetches_once_then_runs_from_the_cache() {
    let signed = signed();
    let mut repo = TufRepo::start();
    repo.change(
        "add-ca",
        &["--from", signed["trust_roots"]["test-ca"].as_str().unwrap()],
    );
    let cache = tempfile::tempdir().unwrap();
    let (url, root) = (repo.url(), repo.initial_root());
    let args = [
        "verify",
        "--policy",
        signed["policies"]["keyless-email"].as_str().unwrap(),
        "--tuf-url",
        &url,
        "--tuf-root",
        root.to_str().unwrap(),
        "--tuf-cache-dir",
        cache.path().to_str().unwrap(),
        signed["images"]["keyless-email"]["reference"]
            .as_str()
            .unwrap(),
    ];
    // No copy yet and no embedded one for this repository: the first run waits for it.
    let first = imagecheck(&args);
    assert_eq!(first.status.code(), Some(0), "{}", said(&first));
    // The repository gone: the next run verifies from the copy on disk.
    repo.stop();
    let second = imagecheck(&args);
    assert_eq!(second.status.code(), Some(0), "{}", said(&second));
    // A TUF option without --tuf-url is a usage error (exit 3).
    let usage = imagecheck(&["verify", "--policy", "x", "--tuf-root", "y", "nginx"]);
    assert_eq!(usage.status.code(), Some(3), "{}", said(&usage));
}
