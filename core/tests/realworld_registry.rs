//! Every real-world image-signature case of shared/fixtures/realworld (EXPECTATIONS.json),
//! verified THROUGH a registry: tests/harness/realworld.py wrote each case's `.sig` manifest
//! or bundle referrer into the harness's plain registry and DIR/realworld.json lists the
//! reference (by digest: the images themselves are not in the registry), the policy, the trust
//! root and the expected verdict, then the negative mutations.

#![allow(
    clippy::unwrap_used,
    reason = "a test should stop at the first surprise"
)]

use crate::support;

use imagecheck::verify::TrustedRoot;
use imagecheck::{ErrorKind, Policy, Verifier};
use serde_json::Value;
use support::harness;

fn cases() -> Vec<Value> {
    let path = harness().dir.join("realworld.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {} ({e}): run tests/harness/realworld.py --state-dir {} after the \
             harness (tests/run does)",
            path.display(),
            harness().dir.display()
        )
    });
    let json: Value = serde_json::from_str(&text).unwrap();
    json["cases"].as_array().unwrap().clone()
}

/// The verdict of one case: Ok(message) when verified, Err(error text) when refused.
async fn verify(case: &Value) -> Result<String, String> {
    let policy = Policy::from_file(std::path::Path::new(case["policy"].as_str().unwrap())).unwrap();
    let mut builder = Verifier::builder(policy).resolver(harness().resolver_builder().build());
    if let Some(root) = case["trusted_root"].as_str() {
        builder = builder.trusted_root(TrustedRoot::from_file(std::path::Path::new(root)).unwrap());
    }
    match builder
        .build()
        .verify(case["reference"].as_str().unwrap(), None)
        .await
    {
        Ok(v) if v.verified => Ok(v.message),
        Ok(v) => Err(format!("not verified: {}", v.message)),
        Err(e) => {
            assert_eq!(
                e.kind(),
                ErrorKind::VerificationFailed,
                "{}: refused for the wrong reason: {e}",
                case["name"]
            );
            Err(e.to_string())
        }
    }
}

#[tokio::test]
async fn every_real_world_case_concludes_as_expected_through_the_registry() {
    let cases = cases();
    assert!(cases.len() >= 20, "{} cases", cases.len());
    let mut wrong = Vec::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let got = verify(case).await;
        let expected = case["expected"].as_str().unwrap();
        println!("{name}: expected {expected}: {got:?}");
        if got.is_ok() != (expected == "valid") {
            wrong.push(format!("{name}: expected {expected}, got {got:?}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

fn case(name: &str) -> Value {
    cases()
        .into_iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no case {name} in realworld.json"))
}

async fn refusal(name: &str) -> String {
    verify(&case(name)).await.unwrap_err()
}

#[tokio::test]
async fn each_mutation_is_refused_for_its_own_reason() {
    let err = refusal("mutation-wrong-identity").await;
    assert!(err.contains("identity mismatch"), "{err}");
    let err = refusal("mutation-wrong-issuer").await;
    assert!(err.contains("identity mismatch"), "{err}");
    let err = refusal("mutation-other-digest").await;
    assert!(err.contains("digest"), "{err}");
    let err = refusal("mutation-staging-root").await;
    assert!(!err.contains("identity mismatch"), "{err}");
}

#[tokio::test]
async fn keyless_public_good_cases_check_the_sct_and_the_log() {
    for name in [
        "salrashid123-server_image-email",
        "containers-image-fulcio-rekor-valid",
        "kubewarden-controller-v1.34.0",
    ] {
        let message = verify(&case(name)).await.unwrap();
        assert!(message.contains("keyless"), "{name}: {message}");
        assert!(!message.contains("not checked"), "{name}: {message}");
    }
}
