//! HTTPS registries: the server certificate is checked against the platform trust store, which
//! is read on the first TLS handshake only (registry/tls.rs). The harness's TLS registry has a
//! CA of its own that no trust store holds; `SSL_CERT_FILE` / `SSL_CERT_DIR` choose the store.
//! Each case is a CLI process, because the store is read once per process.

#![allow(
    clippy::unwrap_used,
    reason = "a test should stop at the first surprise"
)]

mod support;

use std::process::{Command, Output};

use serde_json::Value;
use support::state;

fn field(v: &Value, path: &[&str]) -> String {
    path.iter()
        .fold(v, |v, key| &v[*key])
        .as_str()
        .unwrap_or_else(|| panic!("state.json has no {}", path.join(".")))
        .to_owned()
}

/// `imagecheck resolve <reference>` with the trust store given by `store` (None: the system's)
/// and the harness's plain registry reached over HTTP.
fn resolve(reference: &str, store: Option<(&str, &str)>) -> Output {
    let s = state();
    let mut command = Command::new(env!("CARGO_BIN_EXE_imagecheck"));
    command
        .args(["resolve", reference])
        .env(
            "IMAGECHECK_INSECURE_REGISTRIES",
            field(&s, &["registries", "plain", "host"]),
        )
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR");
    if let Some((file, dir)) = store {
        command.env("SSL_CERT_FILE", file).env("SSL_CERT_DIR", dir);
    }
    command.output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn tls_image() -> (String, String) {
    let s = state();
    (
        field(&s, &["tls_registry", "image", "reference"]),
        field(&s, &["tls_registry", "image", "digest"]),
    )
}

#[test]
fn an_https_registry_whose_ca_is_in_the_trust_store_resolves() {
    let (reference, digest) = tls_image();
    let ca = field(&state(), &["tls_registry", "ca"]);
    let empty = tempfile::tempdir().unwrap();
    let out = resolve(&reference, Some((&ca, empty.path().to_str().unwrap())));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("{reference}\t{digest}\n")
    );
}

#[test]
fn an_https_registry_with_an_unknown_issuer_is_refused() {
    let (reference, _) = tls_image();
    let out = resolve(&reference, None);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let printed = text(&out);
    assert!(printed.contains("DigestUnavailable"), "{printed}");
    assert!(printed.contains("UnknownIssuer"), "{printed}");
    assert!(!printed.contains("sha256:"), "{printed}");
}

#[test]
fn without_any_system_certificate_plain_http_still_works_and_https_fails_clearly() {
    // Before the store was read lazily, building the HTTP client failed here and the process
    // panicked on its first request, HTTP or not (minimal images ship no CA bundle).
    let s = state();
    let empty = tempfile::tempdir().unwrap();
    let store = Some(("/dev/null", empty.path().to_str().unwrap()));
    let plain = s["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "hello-oci")
        .unwrap();
    let reference = plain["reference"].as_str().unwrap();
    let out = resolve(reference, store);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("{reference}\t{}\n", plain["digest"].as_str().unwrap())
    );

    let (tls_reference, _) = tls_image();
    let out = resolve(&tls_reference, store);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(
        text(&out).contains("No CA certificates were loaded"),
        "{}",
        text(&out)
    );
}
