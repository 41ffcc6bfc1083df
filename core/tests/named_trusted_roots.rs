//! Several named trusted roots in one verifier (`keyless.trustedRoot: NAME`): the harness's
//! test CA (sign.py, testca.py) as one, Sigstore's public-good Fulcio CAs as the other (without
//! its logs, so that the only difference between the two is who issues certificates), and
//! keyless signatures by real cosign that only the first trusts.

#![allow(
    clippy::unwrap_used,
    reason = "a test should stop at the first surprise"
)]

use crate::support;

use std::time::Duration;

use imagecheck::verify::TrustedRoot;
use imagecheck::{ErrorKind, Policy, Verifier};
use support::{harness, signed, signed_image};

const EMAIL_ISSUER: &str = "https://issuer.imagecheck.test/email";
const EMAIL_SUBJECT: &str = "signer@imagecheck.test";
const URI_ISSUER: &str = "https://issuer.imagecheck.test/ci";

fn test_ca() -> TrustedRoot {
    TrustedRoot::from_file(std::path::Path::new(
        signed()["trust_roots"]["test-ca"].as_str().unwrap(),
    ))
    .unwrap()
}

/// The public-good root's Fulcio CAs, and no transparency or CT log.
fn fulcio() -> TrustedRoot {
    let mut json: serde_json::Value =
        serde_json::from_slice(imagecheck::verify::trusted_root::PUBLIC_GOOD_JSON).unwrap();
    for logs in ["tlogs", "ctlogs", "timestampAuthorities"] {
        json[logs] = serde_json::json!([]);
    }
    TrustedRoot::from_json(json.to_string().as_bytes()).unwrap()
}

/// The email image under a rule naming `email_root`, the URI image under one naming
/// `uri_root` (both signed by the test CA).
fn policy(email_root: &str, uri_root: &str) -> Policy {
    let host = harness().host("plain");
    Policy::parse(&format!(
        r#"rules:
  - image: "{host}/keyless/email"
    keyless: {{issuer: "{EMAIL_ISSUER}", subject: "{EMAIL_SUBJECT}", trustedRoot: {email_root}}}
  - image: "{host}/keyless/uri"
    keyless: {{issuer: "{URI_ISSUER}", subjectRegex: "^https://ci\\.imagecheck\\.test/", trustedRoot: {uri_root}}}
"#
    ))
    .unwrap()
}

fn verifier(policy: Policy) -> Verifier {
    Verifier::builder(policy)
        .resolver(harness().resolver_builder().build())
        .named_trusted_root("test-ca", test_ca())
        .named_trusted_root("fulcio", fulcio())
        .result_ttl(Duration::from_secs(300))
        .build()
}

#[tokio::test]
async fn each_rule_checks_against_the_root_it_names() {
    let v = verifier(policy("test-ca", "fulcio"));
    let email = v
        .verify(&signed_image("keyless-email").0, None)
        .await
        .unwrap();
    assert!(email.verified, "{email:?}");
    assert!(
        email.message.contains("(trusted root \"test-ca\")"),
        "{}",
        email.message
    );
    // Signed by the same test CA, but its rule names the other root.
    let error = v
        .verify(&signed_image("keyless-uri").0, None)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::VerificationFailed, "{error}");
    assert!(
        error.to_string().contains("untrusted certificate"),
        "{error}"
    );
    // The other way round, the other way out.
    let swapped = verifier(policy("fulcio", "test-ca"));
    assert!(
        swapped
            .verify(&signed_image("keyless-uri").0, None)
            .await
            .unwrap()
            .verified
    );
    assert_eq!(
        swapped
            .verify(&signed_image("keyless-email").0, None)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::VerificationFailed
    );
}

#[tokio::test]
async fn results_are_cached_per_root() {
    let (reference, digest) = signed_image("keyless-email");
    let pinned = format!("{}@{digest}", reference.rsplit_once(':').unwrap().0);
    let v = verifier(policy("test-ca", "fulcio"));
    assert!(v.verify(&pinned, None).await.unwrap().verified);
    // Served from the result cache while the root is the same…
    assert!(v.verify(&pinned, None).await.unwrap().verified);
    // …but a success under one root is never an answer under another.
    v.set_named_trusted_root("test-ca", fulcio());
    let error = v.verify(&pinned, None).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::VerificationFailed, "{error}");
    v.set_named_trusted_root("test-ca", test_ca());
    assert!(v.verify(&pinned, None).await.unwrap().verified);
}

#[tokio::test]
async fn a_rule_naming_an_unknown_root_is_an_invalid_policy_naming_the_known_ones() {
    let v = verifier(policy("test-ca", "staging"));
    let error = v
        .verify(&signed_image("keyless-uri").0, None)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidPolicy, "{error}");
    assert!(
        error.to_string().contains(
            "keyless.trustedRoot: unknown trusted root \"staging\"; the verifier's named \
             trusted roots are \"fulcio\", \"test-ca\""
        ),
        "{error}"
    );
    // A policy swapped in later is checked too, before it replaces the rules in force.
    let v = verifier(policy("test-ca", "fulcio"));
    let error = v.check_policy(&policy("test-ca", "staging")).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidPolicy, "{error}");
}
