//! Talos parity (issue 16, item 1): valid Talos documents mean here what they mean on Talos,
//! and the signature layouts Talos reads are read here, each against images signed by real
//! cosign in the harness registry (tests/harness/sign.py) and a Talos-shaped policy document
//! (apiVersion v1alpha1, kind ImageVerificationConfig) written by sign.py.

#![allow(
    clippy::unwrap_used,
    reason = "a test should stop at the first surprise"
)]

use crate::support;

use imagecheck::verify::CandidateFailure;
use imagecheck::{Error, ErrorKind, Policy, Verification, Verifier};
use support::{harness, signed_image, signed_policy, test_ca_root};

/// Verify signed image `image` under harness policy `policy` (the test CA's trust root for
/// keyless policies).
async fn verify(policy: &str, image: &str) -> Result<Verification, Error> {
    let text = std::fs::read_to_string(signed_policy(policy)).unwrap();
    assert!(
        text.starts_with("apiVersion: v1alpha1\nkind: ImageVerificationConfig\n"),
        "{policy} is not a Talos document:\n{text}"
    );
    let mut builder = Verifier::builder(Policy::parse(&text).unwrap())
        .resolver(harness().resolver_builder().build());
    if policy.starts_with("keyless-") {
        builder = builder.trusted_root(test_ca_root());
    }
    let (reference, _) = signed_image(image);
    builder.build().verify(&reference, None).await
}

async fn verified(policy: &str, image: &str) -> Verification {
    let v = verify(policy, image)
        .await
        .unwrap_or_else(|e| panic!("{policy} / {image}: {e}"));
    assert!(v.verified, "{policy} / {image}: {v:?}");
    let (_, digest) = signed_image(image);
    assert!(
        v.digested_ref.as_deref().unwrap().ends_with(&digest),
        "{v:?}"
    );
    v
}

/// The one candidate's failure of a refused verification.
async fn refused(policy: &str, image: &str) -> (CandidateFailure, String) {
    let err = verify(policy, image).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::VerificationFailed, "{err}");
    let [only] = err.failures() else {
        panic!("{policy} / {image}: expected one candidate: {err}");
    };
    (only.failure.clone(), err.to_string())
}

/// A refusal whose one candidate failed the identity check; its message.
async fn identity_mismatch(policy: &str, image: &str) -> String {
    let (failure, message) = refused(policy, image).await;
    assert!(
        matches!(failure, CandidateFailure::IdentityMismatch(_)),
        "{policy} / {image}: {message}"
    );
    message
}

#[tokio::test]
async fn subject_and_subject_regex_both_matching_verifies() {
    let v = verified("keyless-uri-subject-and-regex", "keyless-uri").await;
    assert!(v.message.contains("keyless"), "{}", v.message);
}

#[tokio::test]
async fn subject_matching_without_the_regex_is_an_identity_mismatch() {
    let message = identity_mismatch("keyless-uri-subject-not-regex", "keyless-uri").await;
    assert!(message.contains("and subjectRegex"), "{message}");
}

#[tokio::test]
async fn regex_matching_without_the_subject_is_an_identity_mismatch() {
    // Talos's legacy `.sig` path would let the regex alone decide; both must match here.
    identity_mismatch("keyless-uri-regex-not-subject", "keyless-uri").await;
}

#[tokio::test]
async fn fulcio_username_other_name_san_is_matched_by_subject() {
    verified("keyless-username", "keyless-username").await;
    // Another subject does not match the username.
    identity_mismatch("keyless-email", "keyless-username").await;
}

#[tokio::test]
async fn rsa_public_key_pkcs1_pem_verifies_a_cosign_rsa_signature() {
    let v = verified("rsa-pkcs1", "rsa").await;
    assert!(v.message.contains("public key (RSA 3072)"), "{}", v.message);
    // The same RSA key does not verify an image signed by another key.
    let policy = std::fs::read_to_string(signed_policy("rsa-pkcs1")).unwrap();
    let (reference, _) = signed_image("legacy");
    let host_rule = format!("{}/rsa/*", harness().host("plain"));
    let everywhere = policy.replace(&host_rule, &format!("{}/*", harness().host("plain")));
    let err = Verifier::builder(Policy::parse(&everywhere).unwrap())
        .resolver(harness().resolver_builder().build())
        .build()
        .verify(&reference, None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::VerificationFailed, "{err}");
}

/// The `sha256-<hex>` tag holding an image manifest whose layers are bundles (Talos reads this
/// layout), with each spelling of the v0.3 bundle media type; and a referrers index in the
/// `+json;version=0.3` spelling.
#[tokio::test]
async fn bundles_in_every_referrers_tag_layout_and_media_type_spelling_verify() {
    for image in [
        "bundle-layers-v03",
        "bundle-layers-version03",
        "bundle-index-version03",
    ] {
        let v = verified("key-a", image).await;
        assert!(
            v.message
                .contains("sigstore bundle from the sha256-<hex> referrers tag"),
            "{image}: {}",
            v.message
        );
        // Found and checked: another key's rule refuses the same bundle as signed by
        // another key.
        let (failure, message) = refused("key-b", image).await;
        assert_eq!(failure, CandidateFailure::WrongKey, "{image}: {message}");
    }
}
