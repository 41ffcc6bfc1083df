//! The language-neutral cases in tests/conformance/cases.json, run from Rust. Every binding
//! runs the same file.

#![allow(
    clippy::unwrap_used,
    reason = "a test should stop at the first surprise"
)]

use crate::support;

use std::time::Duration;

use imagecheck::{Credentials, Engine, Reference};
use serde_json::Value;
use support::harness;

fn cases() -> Value {
    let path = support::repo_root().join("tests/conformance/cases.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Replace `{plain}`, `{digest:NAME}`, `{signed:NAME}`, `{policy:NAME}` … (see README.md).
fn substitute(text: &str) -> String {
    let h = harness();
    let mut out = text.to_owned();
    for r in ["plain", "basic", "token"] {
        out = out.replace(&format!("{{{r}}}"), &h.host(r));
    }
    for image in h.images() {
        out = out.replace(&format!("{{digest:{}}}", image.name), &image.digest);
    }
    if out.contains("{signed") || out.contains("{policy:") || out.contains("{trust-root:") {
        let signed: Value =
            serde_json::from_str(&std::fs::read_to_string(h.dir.join("signed.json")).expect(
                "signed.json: run tests/harness/sign.py after the harness (tests/run does)",
            ))
            .unwrap();
        for (name, image) in signed["images"].as_object().unwrap() {
            out = out.replace(
                &format!("{{signed:{name}}}"),
                image["reference"].as_str().unwrap(),
            );
            out = out.replace(
                &format!("{{signed-digest:{name}}}"),
                image["digest"].as_str().unwrap(),
            );
        }
        for (name, path) in signed["policies"].as_object().unwrap() {
            out = out.replace(&format!("{{policy:{name}}}"), path.as_str().unwrap());
        }
        for (name, path) in signed["trust_roots"].as_object().into_iter().flatten() {
            out = out.replace(&format!("{{trust-root:{name}}}"), path.as_str().unwrap());
        }
    }
    assert!(!out.contains('{'), "unknown placeholder left in {out:?}");
    out
}

fn credentials(case: &Value, reference: &str) -> Option<Credentials> {
    let name = case["credentials"].as_str()?;
    let (registry, wrong) = match name.strip_suffix("-wrong") {
        Some(r) => (r, true),
        None => (name, false),
    };
    let (user, password) = harness().user(registry);
    let host = Reference::parse(reference).unwrap().registry().to_owned();
    Some(Credentials::new(
        host,
        user,
        if wrong {
            "wrong-password".to_owned()
        } else {
            password
        },
    ))
}

#[test]
fn references() {
    let cases = cases();
    let list = cases["references"].as_array().unwrap();
    assert!(list.len() >= 25);
    for case in list {
        let input = case["input"].as_str().unwrap();
        match Reference::parse(input) {
            Ok(r) => {
                assert!(
                    case.get("error").is_none(),
                    "{input:?} should be invalid, parsed as {r}"
                );
                assert_eq!(
                    r.to_string(),
                    case["canonical"].as_str().unwrap(),
                    "{input:?}"
                );
                assert_eq!(
                    r.registry(),
                    case["registry"].as_str().unwrap(),
                    "{input:?}"
                );
                assert_eq!(
                    r.repository(),
                    case["repository"].as_str().unwrap(),
                    "{input:?}"
                );
                assert_eq!(r.tag(), case["tag"].as_str(), "{input:?}");
                assert_eq!(
                    r.digest().map(|d| d.as_str()),
                    case["digest"].as_str(),
                    "{input:?}"
                );
            }
            Err(e) => assert_eq!(case["error"], "InvalidReference", "{input:?}: {e}"),
        }
    }
}

#[tokio::test]
async fn resolve() {
    let resolver = harness().resolver_builder().build();
    let cases = cases();
    for case in cases["resolve"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let reference = substitute(case["reference"].as_str().unwrap());
        let engine = Engine::parse(case["engine"].as_str().unwrap_or("registry")).unwrap();
        let creds = credentials(case, &reference);
        let answer = resolver
            .resolve_with(&engine, &reference, Duration::ZERO, creds.as_ref())
            .await;
        let expect = &case["expect"];
        match (answer, expect["digest"].as_str()) {
            (Ok(digest), Some(want)) => assert_eq!(digest.as_str(), substitute(want), "{name}"),
            (Ok(digest), None) => panic!("{name}: expected {expect}, got {digest}"),
            (Err(e), Some(_)) => panic!("{name}: expected a digest, got {e}"),
            (Err(e), None) => {
                assert_eq!(
                    e.kind().name(),
                    expect["error"].as_str().unwrap(),
                    "{name}: {e}"
                );
                if let Some(cause) = expect["cause"].as_str() {
                    assert_eq!(e.digest_cause().unwrap().kind.name(), cause, "{name}: {e}");
                }
            }
        }
    }
}

#[tokio::test]
async fn verify() {
    let cases = cases();
    for case in cases["verify"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let policy = imagecheck::Policy::from_file(std::path::Path::new(&substitute(
            case["policy"].as_str().unwrap(),
        )))
        .unwrap();
        let mut builder =
            imagecheck::Verifier::builder(policy).resolver(harness().resolver_builder().build());
        if let Some(root) = case["trusted_root"].as_str() {
            builder = builder.trusted_root(
                imagecheck::verify::TrustedRoot::from_file(std::path::Path::new(&substitute(root)))
                    .unwrap(),
            );
        }
        let verifier = builder.build();
        let reference = substitute(case["reference"].as_str().unwrap());
        let creds = credentials(case, &reference);
        let answer = verifier.verify(&reference, creds.as_ref()).await;
        let expect = &case["expect"];
        match answer {
            Ok(v) => {
                assert!(
                    expect.get("error").is_none(),
                    "{name}: expected {expect}, got {v:?}"
                );
                assert_eq!(
                    Some(v.verified),
                    expect["verified"].as_bool(),
                    "{name}: {v:?}"
                );
                if let Some(want) = expect["digested_ref"].as_str() {
                    assert_eq!(
                        v.digested_ref.as_deref(),
                        Some(substitute(want).as_str()),
                        "{name}"
                    );
                }
                if let Some(part) = expect["message_contains"].as_str() {
                    assert!(
                        v.message.contains(part),
                        "{name}: {:?} lacks {part:?}",
                        v.message
                    );
                }
            }
            Err(e) => {
                assert_eq!(
                    Some(e.kind().name()),
                    expect["error"].as_str(),
                    "{name}: {e}"
                );
                if let Some(want) = expect["failures"].as_array() {
                    let want: Vec<(&str, &str)> = want
                        .iter()
                        .map(|f| (f["source"].as_str().unwrap(), f["check"].as_str().unwrap()))
                        .collect();
                    let got: Vec<(&str, &str)> = e
                        .failures()
                        .iter()
                        .map(|c| (c.source.name(), c.failure.check()))
                        .collect();
                    assert_eq!(got, want, "{name}: {e}");
                }
            }
        }
    }
}
