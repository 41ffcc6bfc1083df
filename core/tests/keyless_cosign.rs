//! End to end: keyless-style signatures made by real cosign (`cosign sign --certificate
//! --certificate-chain`, no transparency log) with a test CA standing in for Fulcio
//! (tests/harness/testca.py), verified through the harness registry with a custom trust root
//! that lists that CA and no transparency or CT log.

#![allow(
    clippy::unwrap_used,
    reason = "a test should stop at the first surprise"
)]

use crate::support;

use imagecheck::verify::{CertificateExtension, TrustedRoot};
use imagecheck::{ErrorKind, Policy, Verifier};
use serde_json::{Map, Value, json};
use support::shared_fixtures::realworld;
use support::{harness, signed, signed_image, signed_policy, test_ca_root};

fn verifier(policy: &str, root: Option<TrustedRoot>) -> Verifier {
    let builder = Verifier::builder(Policy::from_file(&signed_policy(policy)).unwrap())
        .resolver(harness().resolver_builder().build());
    match root {
        Some(root) => builder.trusted_root(root),
        None => builder,
    }
    .build()
}

#[tokio::test]
async fn email_leaf_with_v1_issuer_verifies_and_says_the_logs_were_not_checked() {
    let (reference, digest) = signed_image("keyless-email");
    let v = verifier("keyless-email", Some(test_ca_root()))
        .verify(&reference, None)
        .await
        .unwrap();
    assert!(v.verified, "{v:?}");
    assert!(v.digested_ref.as_deref().unwrap().ends_with(&digest));
    assert!(v.message.contains("keyless"), "{}", v.message);
    assert!(
        v.message.contains("transparency log and SCT not checked"),
        "{}",
        v.message
    );
}

#[tokio::test]
async fn uri_leaf_with_v2_issuer_verifies_with_a_subject_regex() {
    let (reference, _) = signed_image("keyless-uri");
    let v = verifier("keyless-uri-regex", Some(test_ca_root()))
        .verify(&reference, None)
        .await
        .unwrap();
    assert!(v.verified, "{v:?}");
    assert!(
        v.message.contains("transparency log and SCT not checked"),
        "{}",
        v.message
    );
}

async fn refused(policy: &str, image: &str, root: Option<TrustedRoot>) -> String {
    let (reference, _) = signed_image(image);
    let err = verifier(policy, root)
        .verify(&reference, None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::VerificationFailed, "{err}");
    err.to_string()
}

#[tokio::test]
async fn wrong_subject_or_issuer_is_an_identity_mismatch() {
    let root = test_ca_root();
    for policy in ["keyless-wrong-subject", "keyless-wrong-issuer"] {
        let err = refused(policy, "keyless-email", Some(root.clone())).await;
        assert!(err.contains("identity mismatch"), "{policy}: {err}");
    }
    // The email leaf does not match the URI rule, nor the URI leaf the email rule.
    let err = refused("keyless-uri-regex", "keyless-email", Some(root.clone())).await;
    assert!(err.contains("identity mismatch"), "{err}");
    let err = refused("keyless-email", "keyless-uri", Some(root)).await;
    assert!(err.contains("identity mismatch"), "{err}");
}

#[tokio::test]
async fn the_public_good_root_does_not_trust_the_test_ca() {
    // The embedded public-good root lists Rekor: the missing log proof, or the unknown CA,
    // refuses the signature; never accepted.
    let err = refused("keyless-email", "keyless-email", None).await;
    assert!(
        err.contains("transparency") || err.contains("certificate"),
        "{err}"
    );
    // The staging root, same.
    let staging =
        TrustedRoot::from_file(&realworld().join("trust/staging-trusted_root.json")).unwrap();
    refused("keyless-email", "keyless-email", Some(staging)).await;
}

#[tokio::test]
async fn the_test_ca_root_with_a_transparency_log_requires_the_proof() {
    // The same CA in a root that also lists the public-good Rekor logs: cosign wrote no
    // Rekor bundle, so the signature is refused as missing its transparency proof.
    let path = signed()["trust_roots"]["test-ca"].as_str().unwrap();
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let public_good: serde_json::Value =
        serde_json::from_slice(imagecheck::verify::trusted_root::PUBLIC_GOOD_JSON).unwrap();
    json["tlogs"] = public_good["tlogs"].clone();
    let root = TrustedRoot::from_json(json.to_string().as_bytes()).unwrap();
    let err = refused("keyless-email", "keyless-email", Some(root)).await;
    assert!(err.contains("transparency"), "{err}");
}

/// The test-CA workflow leaf (tests/harness/testca.py), signed by real cosign: every extension
/// through the Verifier, each changed alone refused as an identity mismatch of the `.sig`.
#[tokio::test]
async fn every_extension_of_a_test_ca_leaf_through_the_verifier() {
    let (reference, _) = signed_image("keyless-workflow");
    let values = signed()["certificate_extensions"]
        .as_object()
        .unwrap()
        .clone();
    assert_eq!(values.len(), CertificateExtension::all().count());
    let who = &signed()["workflow_identity"];
    let root = test_ca_root();
    let verify = |extensions: Map<String, Value>| {
        let doc = json!({"rules": [{"image": "*", "keyless": {
            "issuer": who["issuer"], "subject": who["subject"],
            "certificateExtensions": extensions}}]});
        let verifier = Verifier::builder(Policy::parse(&doc.to_string()).unwrap())
            .resolver(harness().resolver_builder().build())
            .trusted_root(root.clone())
            .build();
        let reference = reference.clone();
        async move { verifier.verify(&reference, None).await }
    };
    let v = verify(values.clone()).await.unwrap();
    assert!(v.verified, "{v:?}");
    for name in values.keys() {
        let mut changed = values.clone();
        changed.insert(name.clone(), "a-value-nobody-has".into());
        let err = verify(changed).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::VerificationFailed, "{name}: {err}");
        let checks: Vec<(&str, &str)> = err
            .failures()
            .iter()
            .map(|f| (f.source.name(), f.failure.check()))
            .collect();
        assert_eq!(
            checks,
            [("legacy_tag", "identity_mismatch")],
            "{name}: {err}"
        );
        assert!(
            err.to_string()
                .contains(&format!("certificate {name} extension")),
            "{name}: {err}"
        );
    }
}
