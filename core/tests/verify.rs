//! Verification against images signed by real cosign in the harness registries: request
//! counts at the registry, the result cache, and agreement with `cosign verify` itself.
//! The verdict table is tests/conformance/cases.json (run by conformance.rs).

#![allow(
    clippy::unwrap_used,
    reason = "a test should stop at the first surprise"
)]

use crate::support;

use imagecheck::{ErrorKind, Policy, Verifier};
use support::{
    cosign_verify_command, harness, log_offset, requests_for, settle, signed, signed_image,
    signed_policy,
};

fn verifier(policy: &str) -> Verifier {
    Verifier::builder(Policy::from_file(&signed_policy(policy)).unwrap())
        .resolver(harness().resolver_builder().build())
        .build()
}

fn repository(reference: &str) -> String {
    let path = reference.split_once('/').unwrap().1;
    path.rsplit_once(':').map_or(path, |(r, _)| r).to_owned()
}

#[tokio::test]
async fn cold_verify_from_a_tag_is_two_requests_once_the_registry_is_known_and_warm_is_none() {
    let v = verifier("key-a");
    let log = harness().log("plain");
    // First contact with the registry walks DESIGN.md's order (referrers, tag fallback, .sig).
    let (bundle, _) = signed_image("bundle");
    assert!(v.verify(&bundle, None).await.unwrap().verified);
    let (legacy, _) = signed_image("legacy");
    assert!(v.verify(&legacy, None).await.unwrap().verified);

    // Another legacy-signed image (its repository is touched by no other test), cold: HEAD +
    // .sig manifest. The payload blob is not read: it is the one cosign writes for this name
    // and digest, and those bytes hash to the layer digest (discovery.rs, predicted_payload).
    let (counted, digest) = signed_image("counted");
    settle();
    let offset = log_offset(&log);
    let answer = v.verify(&counted, None).await.unwrap();
    assert!(answer.verified, "{answer:?}");
    settle();
    let seen = requests_for(&log, offset, &repository(&counted));
    assert_eq!(seen.len(), 2, "cold verify requests: {seen:#?}");
    assert!(seen[0].contains("\"HEAD /v2/"), "{seen:#?}");
    assert!(seen[1].contains(".sig HTTP/1.1\""), "{seen:#?}");

    // Warm, by digest: no request at all.
    let pinned = answer.digested_ref.unwrap();
    assert!(pinned.ends_with(&digest));
    settle();
    let offset = log_offset(&log);
    assert!(v.verify(&pinned, None).await.unwrap().verified);
    // Warm, by tag with resolve_ttl 0: one HEAD (a moved tag is seen at once).
    assert!(v.verify(&counted, None).await.unwrap().verified);
    settle();
    let seen = requests_for(&log, offset, &repository(&counted));
    assert_eq!(
        seen.len(),
        1,
        "warm: digest form none, tag form one HEAD: {seen:#?}"
    );
    assert!(seen[0].contains("\"HEAD /v2/"));
}

#[tokio::test]
async fn failures_say_why_each_candidate_failed_and_are_not_cached() {
    let v = verifier("key-a");
    for (name, reason) in [
        ("unsigned", "no signatures found"),
        ("wrongkey", "signed by another key"),
        ("copied", "digest mismatch"),
        ("tampered", "signed by another key"),
    ] {
        let (reference, _) = signed_image(name);
        for _ in 0..2 {
            let err = v.verify(&reference, None).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::VerificationFailed, "{name}: {err}");
            assert!(err.to_string().contains(reason), "{name}: {err}");
        }
    }
}

#[tokio::test]
async fn a_policy_swap_takes_effect_at_once() {
    let v = verifier("key-a");
    let (legacy, _) = signed_image("legacy");
    assert!(v.verify(&legacy, None).await.unwrap().verified);
    v.set_policy(Policy::from_file(&signed_policy("key-b")).unwrap());
    let err = v.verify(&legacy, None).await.unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::VerificationFailed,
        "the cached success was dropped: {err}"
    );
}

/// cosign's own verdict, with the key, ignoring the log as our public-key rules do.
fn cosign_verifies(reference: &str, key: &str, registry: &str) -> bool {
    let mut command = cosign_verify_command(key);
    command.args(["--output", "json"]);
    if registry == "token" {
        let (user, password) = harness().user("token");
        command.args([
            "--registry-username",
            &user,
            "--registry-password",
            &password,
        ]);
    }
    let out = command.arg(reference).output().unwrap();
    out.status.success()
}

#[tokio::test]
async fn imagecheck_agrees_with_cosign_verify_on_every_signed_case() {
    let key_a = signed()["keys"]["a"]["public"].as_str().unwrap().to_owned();
    let key_b = signed()["keys"]["b"]["public"].as_str().unwrap().to_owned();
    let (user, password) = harness().user("token");
    for (policy, key) in [("key-a", &key_a), ("key-b", &key_b)] {
        let v = verifier(policy);
        // "private" is left out: cosign's registry client refuses a token realm on a loopback
        // address (an SSRF guard), so it cannot reach the harness's token registry at all.
        for name in [
            "legacy",
            "bundle",
            "unsigned",
            "wrongkey",
            "wrongkey-bundle",
            "copied",
            "tampered",
            "moved",
            "private-source",
        ] {
            let image = &signed()["images"][name];
            let reference = image["reference"].as_str().unwrap();
            let registry = image["registry"].as_str().unwrap();
            let creds = (registry == "token")
                .then(|| imagecheck::Credentials::new(harness().host("token"), &user, &password));
            let ours = v
                .verify(reference, creds.as_ref())
                .await
                .map(|r| r.verified)
                .unwrap_or(false);
            let theirs = cosign_verifies(reference, key, registry);
            assert_eq!(
                ours, theirs,
                "{name} with {policy}: imagecheck says {ours}, cosign says {theirs}"
            );
        }
    }
}

#[test]
fn default_verifier_without_a_policy_matches_nothing() {
    let v = imagecheck::default_verifier();
    let answer = v.call("example.com/app:1", None).wait().unwrap();
    assert!(!answer.verified);
    assert!(answer.message.contains("no rule matched"), "{answer:?}");
}

#[test]
fn invalid_policy_errors_carry_the_typed_reason_as_their_source() {
    let problem = imagecheck::Policy::parse("rules:\n  - image: ''\n    skip: true\n").unwrap_err();
    let error = imagecheck::Error::from(problem.clone());
    // The message is the one people always saw...
    assert_eq!(error.to_string(), format!("invalid policy: {problem}"));
    // ...and the typed reason is there for programs.
    let source = std::error::Error::source(&error).expect("a source");
    assert!(
        matches!(
            source.downcast_ref::<imagecheck::PolicyLoadError>(),
            Some(imagecheck::PolicyLoadError::Policy(p)) if *p == problem
        ),
        "{source:?}"
    );
    let root =
        imagecheck::verify::TrustedRoot::from_file(std::path::Path::new("/nonexistent.json"))
            .unwrap_err();
    let error = imagecheck::Error::from(root.clone());
    assert!(matches!(
        std::error::Error::source(&error).and_then(|s| s.downcast_ref::<imagecheck::PolicyLoadError>()),
        Some(imagecheck::PolicyLoadError::TrustedRoot(r)) if *r == root
    ));
}
