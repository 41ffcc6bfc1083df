//! `signers` with `threshold` (k of n) end to end: images signed by real cosign with several
//! keys and test-CA identities on the harness registry. Signers are counted, not signatures.

#![allow(
    clippy::unwrap_used,
    reason = "a test should stop at the first surprise"
)]

use crate::support;

use imagecheck::{Error, ErrorKind, Policy, Verification, Verifier};
use serde_json::{Value, json};
use support::{
    cosign_offline_command, harness, run_ok, signed, signed_image, signed_policy, test_ca_root,
    unique,
};

fn verifier(policy: Policy) -> Verifier {
    Verifier::builder(policy)
        .resolver(harness().resolver_builder().build())
        .trusted_root(test_ca_root())
        .build()
}

async fn verify(policy: Policy, image: &str) -> Result<Verification, Error> {
    let (reference, _) = signed_image(image);
    verifier(policy).verify(&reference, None).await
}

fn two_of_three() -> Policy {
    Policy::from_file(&signed_policy("two-of-three")).unwrap()
}

fn key(name: &str) -> Value {
    let pem = std::fs::read_to_string(signed()["keys"][name]["public"].as_str().unwrap()).unwrap();
    json!({"publicKey": {"certificate": pem}})
}

fn policy(signers: Value, threshold: Option<u64>) -> Policy {
    let mut rule = json!({"image": "*", "signers": signers});
    if let Some(threshold) = threshold {
        rule["threshold"] = json!(threshold);
    }
    Policy::parse(&json!({ "rules": [rule] }).to_string()).unwrap()
}

fn checks(err: &Error) -> Vec<(&'static str, &'static str)> {
    err.failures()
        .iter()
        .map(|f| (f.source.name(), f.failure.check()))
        .collect()
}

#[tokio::test]
async fn two_of_three_with_one_two_and_three_valid_signers() {
    let err = verify(two_of_three(), "multi-one").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::VerificationFailed);
    assert!(checks(&err).is_empty(), "{err}");
    assert!(
        err.to_string()
            .ends_with("1 of the 2 required signers verified (signers[0])"),
        "{err}"
    );

    let v = verify(two_of_three(), "multi-two").await.unwrap();
    assert!(v.verified, "{v:?}");
    assert!(
        v.message.contains("with 2 of 3 signers")
            && v.message
                .contains("signers[0]: legacy .sig signature from the sha256-<hex>.sig tag")
            && v.message
                .contains("signers[1]: sigstore bundle from the sha256-<hex> referrers tag"),
        "{}",
        v.message
    );

    // Three valid: the first two found satisfy the rule.
    let v = verify(two_of_three(), "multi-three").await.unwrap();
    assert!(v.verified, "{v:?}");
    assert!(!v.message.contains("signers[2]"), "{}", v.message);
}

#[tokio::test]
async fn one_key_signing_three_times_counts_once() {
    let err = verify(two_of_three(), "multi-twice").await.unwrap_err();
    assert!(checks(&err).is_empty(), "{err}");
    assert!(
        err.to_string()
            .ends_with("1 of the 2 required signers verified (signers[0])"),
        "{err}"
    );
    // The same three signatures satisfy a 1-of-3 rule.
    let signers = json!([key("a"), key("b"), key("c")]);
    let v = verify(policy(signers, Some(1)), "multi-twice")
        .await
        .unwrap();
    assert!(v.verified, "{v:?}");
}

#[tokio::test]
async fn a_key_not_listed_does_not_count() {
    let err = verify(two_of_three(), "multi-stranger").await.unwrap_err();
    assert_eq!(checks(&err), [("legacy_tag", "wrong_key")], "{err}");
    // Listing it makes two.
    let signers = json!([key("a"), key("d")]);
    let v = verify(policy(signers, Some(2)), "multi-stranger")
        .await
        .unwrap();
    assert!(v.verified, "{v:?}");
}

#[tokio::test]
async fn the_threshold_defaults_to_one() {
    let signers = json!([key("b"), key("a")]);
    let v = verify(policy(signers, None), "multi-one").await.unwrap();
    assert!(v.verified, "{v:?}");
    assert!(
        v.message.contains("with 1 of 2 signers") && v.message.contains("signers[1]: "),
        "{}",
        v.message
    );
}

/// Two certificates of one identity (two keys) are one signer, even for two entries that both
/// describe it.
#[tokio::test]
async fn one_identity_counts_once() {
    let policy = Policy::from_file(&signed_policy("keyless-identity-twice")).unwrap();
    let err = verify(policy.clone(), "keyless-twice").await.unwrap_err();
    assert!(checks(&err).is_empty(), "{err}");
    assert!(
        err.to_string()
            .ends_with("1 of the 2 required signers verified (signers[0])"),
        "{err}"
    );
    // Two identities: verified.
    let both = Policy::from_file(&signed_policy("keyless-email-and-uri")).unwrap();
    let v = verify(both, "keyless-two").await.unwrap();
    assert!(v.verified, "{v:?}");
}

/// Signers are matched to entries as well as they can be: the e-mail identity matches both
/// entries, the URI identity only the first; taking the first entry for the e-mail signature
/// (found first) would leave the URI signature nothing, and count 1.
#[tokio::test]
async fn signers_are_matched_to_entries_as_well_as_possible() {
    let issuers = "^https://issuer\\.imagecheck\\.test/";
    let signers = json!([
        {"keyless": {"issuerRegex": issuers, "subjectRegex": "imagecheck\\.test"}},
        {"keyless": {"issuer": "https://issuer.imagecheck.test/email", "subject": "signer@imagecheck.test"}},
    ]);
    let v = verify(policy(signers, Some(2)), "keyless-two")
        .await
        .unwrap();
    assert!(v.verified, "{v:?}");
    assert!(
        v.message.contains("signers[0]: ") && v.message.contains("signers[1]: "),
        "{}",
        v.message
    );
}

/// A key and a keyless identity in one list.
#[tokio::test]
async fn keys_and_identities_together() {
    let leaf = |field: &str| {
        signed()["test_ca_leaves"]["email"][field]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let host = harness().host("plain");
    let tag = unique("mixed");
    let digest = harness().push_new(&tag, "plain", &format!("multi/mixed:{tag}"));
    let pinned = format!("{host}/multi/mixed@{digest}");
    let cosign = |args: &[String]| {
        let mut c = cosign_offline_command(&["sign"]);
        c.args(args).arg(&pinned);
        run_ok(&mut c);
    };
    let a = signed()["keys"]["a"]["private"]
        .as_str()
        .unwrap()
        .to_owned();
    cosign(&["--key".into(), a]);
    let email = json!({"keyless": {"issuer": "https://issuer.imagecheck.test/email", "subject": "signer@imagecheck.test"}});
    let signers = json!([key("b"), email, key("a")]);
    let reference = format!("{host}/multi/mixed:{tag}");
    let err = verifier(policy(signers.clone(), Some(2)))
        .verify(&reference, None)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .ends_with("1 of the 2 required signers verified (signers[2])"),
        "{err}"
    );
    cosign(&[
        "--key".into(),
        leaf("cosign_key"),
        "--certificate".into(),
        leaf("certificate"),
        "--certificate-chain".into(),
        leaf("chain"),
        "-a".into(),
        "note=keyless".into(),
    ]);
    let v = verifier(policy(signers, Some(2)))
        .verify(&reference, None)
        .await
        .unwrap();
    assert!(
        v.verified && v.message.contains("signers[1]: ") && v.message.contains("signers[2]: "),
        "{v:?}"
    );
}

#[test]
fn a_threshold_larger_than_the_list_or_zero_is_a_policy_error() {
    for (threshold, says) in [
        (4, "threshold 4 is larger than the 3 signers listed"),
        (0, "threshold 0 would verify any image"),
    ] {
        let rule = json!({"rules": [{"image": "*", "signers": [key("a"), key("b"), key("c")], "threshold": threshold}]});
        let err = Policy::parse(&rule.to_string()).unwrap_err();
        assert_eq!(err.field(), Some("threshold"), "{err}");
        assert!(err.to_string().contains(says), "{err}");
        let err: Error = err.into();
        assert_eq!(err.kind(), ErrorKind::InvalidPolicy);
    }
}
