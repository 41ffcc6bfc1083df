//! The `Verifier`'s keyless branch end to end: a real legacy keyless signature served by a
//! loopback fake registry (the `.sig` manifest and payload of salrashid123/server_image),
//! verified under the embedded public-good root, then warm from the result cache.

#![allow(
    clippy::unwrap_used,
    reason = "a test should stop at the first surprise"
)]

use crate::fixtures;
use crate::support::fake_registry;

use std::sync::atomic::Ordering;

use fake_registry::Answer;
use fixtures::*;
use imagecheck::verify::{Policy, TrustedRoot, Verifier};
use imagecheck::{ErrorKind, Resolver};

const CASE: &str = "legacy-sig/salrashid123-server_image-email";

fn answer(status: u16, content_type: &str, body: Vec<u8>) -> Answer {
    let digest = imagecheck::Digest::sha256_of(&body);
    Answer {
        status,
        headers: vec![
            ("content-type".into(), content_type.into()),
            ("docker-content-digest".into(), digest.to_string()),
        ],
        body,
        ..Answer::default()
    }
}

async fn registry() -> fake_registry::FakeRegistry {
    let manifest = read(&format!("{CASE}/sig-manifest.json"));
    let payload = read(&format!("{CASE}/payload.json"));
    let config = read(&format!("{CASE}/config.json"));
    let digest = digest_file(&format!("{CASE}/image-digest.txt"));
    let sig_tag = format!("/manifests/sha256-{}.sig", digest.hex());
    let payload_path = format!("/blobs/{}", imagecheck::Digest::sha256_of(&payload));
    let config_path = format!("/blobs/{}", imagecheck::Digest::sha256_of(&config));
    fake_registry::start(move |_method, path| {
        if path.ends_with(&sig_tag) {
            answer(
                200,
                "application/vnd.oci.image.manifest.v1+json",
                manifest.clone(),
            )
        } else if path.ends_with(&payload_path) {
            answer(200, "application/octet-stream", payload.clone())
        } else if path.ends_with(&config_path) {
            answer(200, "application/octet-stream", config.clone())
        } else {
            answer(404, "application/json", b"{\"errors\":[]}".to_vec())
        }
    })
    .await
}

fn policy(subject: &str) -> Policy {
    Policy::parse(
        &serde_json::json!({"rules": [{"image": "*", "keyless": {
            "issuer": GITHUB_LOGIN, "subject": subject}}]})
        .to_string(),
    )
    .unwrap()
}

#[tokio::test]
async fn keyless_rule_verifies_a_real_legacy_signature_then_warm() {
    let registry = registry().await;
    let resolver = Resolver::builder()
        .insecure_registry(&registry.host)
        .build();
    let verifier = Verifier::builder(policy("salrashid123@gmail.com"))
        .resolver(resolver.clone())
        .build();
    let digest = digest_file(&format!("{CASE}/image-digest.txt"));
    let reference = format!("{}/salrashid123/server_image@{digest}", registry.host);
    let v = verifier.verify(&reference, None).await.unwrap();
    assert!(v.verified, "{v:?}");
    assert!(v.message.contains("keyless"), "{}", v.message);
    assert!(!v.message.contains("SCT not checked"), "{}", v.message);
    // Warm: no request at all.
    let before = registry.requests.load(Ordering::SeqCst);
    let again = verifier.verify(&reference, None).await.unwrap();
    assert_eq!(again, v);
    assert_eq!(registry.requests.load(Ordering::SeqCst), before);

    // Another identity: VerificationFailed naming the reason.
    let verifier = Verifier::builder(policy("someone@example.com"))
        .resolver(resolver.clone())
        .build();
    let err = verifier.verify(&reference, None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::VerificationFailed);
    assert!(err.to_string().contains("identity mismatch"), "{err}");

    // A private trust root without CT logs: verified, and the message says SCTs were skipped.
    let root = edited_root(|r| r["ctlogs"] = serde_json::json!([]));
    let verifier = Verifier::builder(policy("salrashid123@gmail.com"))
        .resolver(resolver.clone())
        .trusted_root(root)
        .build();
    let v = verifier.verify(&reference, None).await.unwrap();
    assert!(
        v.verified && v.message.contains("SCT not checked"),
        "{}",
        v.message
    );

    // The staging root: the public-good signature is rejected.
    let staging = TrustedRoot::from_json(&read("trust/staging-trusted_root.json")).unwrap();
    let verifier = Verifier::builder(policy("salrashid123@gmail.com"))
        .resolver(resolver)
        .trusted_root(staging)
        .build();
    let err = verifier.verify(&reference, None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::VerificationFailed, "{err}");
}
