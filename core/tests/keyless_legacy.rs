//! Keyless legacy `.sig` signatures: every real-world case of PROVENANCE.md concludes as
//! stated, and each check fails alone when its one input is broken.

#![allow(
    clippy::unwrap_used,
    reason = "a test should stop at the first surprise"
)]

use crate::fixtures;

use fixtures::*;
use imagecheck::Digest;
use imagecheck::verify::internals::discovery::{Candidate, LegacySignature};
use imagecheck::verify::internals::{Accepted, check};
use imagecheck::verify::{CandidateFailure, IdentityField, KeylessIdentity, TrustedRoot};
use serde_json::Value;

const EMAIL: &str = "salrashid123-server_image-email";
const GHA_14: &str = "salrashid123-server_image-gha-v0.0.14";
const GHA_30: &str = "salrashid123-server_image-gha-v0.0.30-index";
const GHA_14_SUBJECT: &str = "https://github.com/salrashid123/go-bazel-github-workflow/.github/workflows/release.yaml@refs/tags/v0.0.14";

fn run(
    legacy: &LegacySignature,
    digest: &Digest,
    identity: &KeylessIdentity,
    root: &TrustedRoot,
) -> Result<Accepted, CandidateFailure> {
    check::keyless(&Candidate::Legacy(legacy.clone()), digest, identity, root)
}

fn email_case() -> (LegacySignature, Digest, KeylessIdentity) {
    let (legacy, digest) = legacy_case(EMAIL);
    (
        legacy,
        digest,
        identity(GITHUB_LOGIN, "salrashid123@gmail.com"),
    )
}

// ---------------------------------------------------------------------------------------------
// Real-world cases (EXPECTATIONS.json)
// ---------------------------------------------------------------------------------------------

#[test]
fn salrashid_email_is_valid() {
    let (legacy, digest, id) = email_case();
    let accepted = run(&legacy, &digest, &id, &public_good()).unwrap();
    assert_eq!(
        accepted.note, None,
        "SCT checked against the public-good CT logs"
    );
}

#[test]
fn salrashid_github_actions_is_valid() {
    let (legacy, digest) = legacy_case(GHA_14);
    run(
        &legacy,
        &digest,
        &identity(GITHUB_ACTIONS, GHA_14_SUBJECT),
        &public_good(),
    )
    .unwrap();
    // A regex identity, as users write them.
    let regex = identity_with(
        "issuer",
        GITHUB_ACTIONS,
        "subjectRegex",
        r"^https://github\.com/salrashid123/go-bazel-github-workflow/\.github/workflows/release\.yaml@refs/tags/v",
    );
    run(&legacy, &digest, &regex, &public_good()).unwrap();
}

#[test]
fn salrashid_index_is_valid_for_the_index_only() {
    let (legacy, digest) = legacy_case(GHA_30);
    let id = identity(
        GITHUB_ACTIONS,
        "https://github.com/salrashid123/go-bazel-github-workflow/.github/workflows/release.yaml@refs/tags/v0.0.30",
    );
    run(&legacy, &digest, &id, &public_good()).unwrap();
    for child in [
        "sha256:81f575aadc0246c94c8580b55550eda76d518c6a932a43e72d9cb4d9734d0b75",
        "sha256:8055db12c63d96753dc89695a8e902a1d6d169caa3880177c2d8e277c8d10f1e",
    ] {
        let err = run(&legacy, &Digest::parse(child).unwrap(), &id, &public_good()).unwrap_err();
        assert!(
            matches!(err, CandidateFailure::DigestMismatch { .. }),
            "{err}"
        );
    }
}

#[test]
fn containers_image_fulcio_rekor_is_valid() {
    let (legacy, digest) = legacy_case("containers-image-fulcio-rekor-valid");
    let id = identity(GITHUB_LOGIN, "mitr@redhat.com");
    run(&legacy, &digest, &id, &public_good()).unwrap();
    // Upstream's negative variants.
    let wrong = identity(GITHUB_LOGIN, "this-does-not-match@example.com");
    assert!(matches!(
        run(&legacy, &digest, &wrong, &public_good()).unwrap_err(),
        CandidateFailure::IdentityMismatch(_)
    ));
    let mut no_bundle = legacy.clone();
    no_bundle.rekor_bundle = None;
    assert!(matches!(
        run(&no_bundle, &digest, &id, &public_good()).unwrap_err(),
        CandidateFailure::MissingTransparencyProof(_)
    ));
    let mut no_cert = legacy.clone();
    no_cert.certificate = None;
    assert!(matches!(
        run(&no_cert, &digest, &id, &public_good()).unwrap_err(),
        CandidateFailure::UntrustedCertificate(_)
    ));
    // The shipped chain is never needed (nor trusted): the trust root has the intermediate.
    let mut no_chain = legacy.clone();
    no_chain.chain = None;
    run(&no_chain, &digest, &id, &public_good()).unwrap();
    // A non-Rekor key as the Rekor key: the SET does not verify.
    let cosign_pub = read_text("legacy-sig/containers-image-key-valid/cosign.pub");
    let der = pem::parse(cosign_pub).unwrap().into_contents();
    let fake_rekor = edited_root(|root| {
        use base64::Engine as _;
        root["tlogs"][0]["publicKey"]["rawBytes"] =
            base64::engine::general_purpose::STANDARD.encode(der).into();
    });
    assert!(matches!(
        run(&legacy, &digest, &id, &fake_rekor).unwrap_err(),
        CandidateFailure::BadTransparencyProof(_)
    ));
}

#[test]
fn containers_image_2022_components_are_valid() {
    let (legacy, digest) = legacy_case("containers-image-fulcio-rekor-2022-components");
    assert_eq!(
        digest.as_str(),
        "sha256:fa93b01658e3a5a1686dc3ae55f170d8de487006fb53a28efcd12ab0710a2e5f"
    );
    run(
        &legacy,
        &digest,
        &identity(GITHUB_LOGIN, "mitr@redhat.com"),
        &public_good(),
    )
    .unwrap();
}

#[test]
fn sigstore_rs_2021_rekord_verifies_but_has_no_issuer() {
    // A 2021 certificate straight from the 2021 root, a `rekord` entry, no issuer extension,
    // and (2021 Fulcio) no embedded SCT. With the public-good root (which lists CT logs) the
    // missing SCT is reported; with CT logs removed, everything verifies up to the identity,
    // which requires an issuer.
    let (legacy, digest) = legacy_case("sigstore-rs-2021-keyless-rekord");
    let id = identity(GITHUB_LOGIN, "flavio@castelli.me");
    assert!(matches!(
        run(&legacy, &digest, &id, &public_good()).unwrap_err(),
        CandidateFailure::BadSct(_)
    ));
    let no_ct = edited_root(|root| root["ctlogs"] = serde_json::json!([]));
    match run(&legacy, &digest, &id, &no_ct).unwrap_err() {
        CandidateFailure::IdentityMismatch(m) => {
            assert_eq!(m.field, IdentityField::Issuer);
            assert!(m.found.is_empty());
        }
        other => panic!("{other}"),
    }
}

#[test]
fn private_pki_signature_is_not_keyless_valid() {
    let (legacy, digest) = legacy_case("containers-image-pki-valid");
    let id = identity(GITHUB_LOGIN, "qiwan@redhat.com");
    assert!(run(&legacy, &digest, &id, &public_good()).is_err());
}

#[test]
fn staging_root_rejects_every_public_good_signature() {
    let staging =
        TrustedRoot::from_json(read("trust/staging-trusted_root.json").as_slice()).unwrap();
    let (legacy, digest, id) = email_case();
    let err = run(&legacy, &digest, &id, &staging).unwrap_err();
    assert!(
        matches!(err, CandidateFailure::BadTransparencyProof(_)),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// One check fails, alone
// ---------------------------------------------------------------------------------------------

#[test]
fn wrong_subject_fails_identity_only() {
    let (legacy, digest, _) = email_case();
    let id = identity(GITHUB_LOGIN, "someone-else@gmail.com");
    match run(&legacy, &digest, &id, &public_good()).unwrap_err() {
        CandidateFailure::IdentityMismatch(m) => assert_eq!(m.field, IdentityField::Subject),
        other => panic!("{other}"),
    }
}

#[test]
fn wrong_issuer_fails_identity_only() {
    let (legacy, digest, _) = email_case();
    let id = identity("https://accounts.google.com", "salrashid123@gmail.com");
    match run(&legacy, &digest, &id, &public_good()).unwrap_err() {
        CandidateFailure::IdentityMismatch(m) => {
            assert_eq!(m.field, IdentityField::Issuer);
            assert_eq!(m.found, [GITHUB_LOGIN]);
        }
        other => panic!("{other}"),
    }
}

#[test]
fn another_digest_fails_the_payload_check_only() {
    let (legacy, _, id) = email_case();
    let other = Digest::sha256_of(b"another image");
    assert!(matches!(
        run(&legacy, &other, &id, &public_good()).unwrap_err(),
        CandidateFailure::DigestMismatch { .. }
    ));
}

#[test]
fn tampered_payload_fails_the_signature_check() {
    let (mut legacy, digest, id) = email_case();
    let text = String::from_utf8(legacy.payload.to_vec()).unwrap();
    legacy.payload = text
        .replace("\"optional\":null", "\"optional\":{}")
        .into_bytes()
        .into();
    assert_ne!(legacy.payload.len(), 257);
    assert_eq!(
        run(&legacy, &digest, &id, &public_good()).unwrap_err(),
        CandidateFailure::BadSignature
    );
}

#[test]
fn swapped_certificate_fails_the_signature_check() {
    let (mut legacy, digest, id) = email_case();
    let (other, _) = legacy_case(GHA_14);
    legacy.certificate = other.certificate;
    assert_eq!(
        run(&legacy, &digest, &id, &public_good()).unwrap_err(),
        CandidateFailure::BadSignature
    );
}

#[test]
fn rekor_entry_of_another_signature_fails_the_body_check_only() {
    // A genuine SET from another entry of the same log: the SET verifies, the body does not
    // describe this signature.
    let (mut legacy, digest, id) = email_case();
    let (other, _) = legacy_case(GHA_14);
    legacy.rekor_bundle = other.rekor_bundle;
    assert!(matches!(
        run(&legacy, &digest, &id, &public_good()).unwrap_err(),
        CandidateFailure::TransparencyEntryMismatch(_)
    ));
}

#[test]
fn set_signature_from_another_entry_fails_the_set_check_only() {
    let (mut legacy, digest, id) = email_case();
    let (other, _) = legacy_case(GHA_14);
    let mut mine: Value = serde_json::from_str(legacy.rekor_bundle.as_deref().unwrap()).unwrap();
    let theirs: Value = serde_json::from_str(other.rekor_bundle.as_deref().unwrap()).unwrap();
    mine["SignedEntryTimestamp"] = theirs["SignedEntryTimestamp"].clone();
    legacy.rekor_bundle = Some(mine.to_string());
    assert!(matches!(
        run(&legacy, &digest, &id, &public_good()).unwrap_err(),
        CandidateFailure::BadTransparencyProof(_)
    ));
    // So does a changed integrated time (the SET covers it).
    let (mut legacy, _, _) = email_case();
    let mut mine: Value = serde_json::from_str(legacy.rekor_bundle.as_deref().unwrap()).unwrap();
    mine["Payload"]["integratedTime"] =
        (mine["Payload"]["integratedTime"].as_i64().unwrap() + 1).into();
    legacy.rekor_bundle = Some(mine.to_string());
    assert!(matches!(
        run(&legacy, &digest, &id, &public_good()).unwrap_err(),
        CandidateFailure::BadTransparencyProof(_)
    ));
}

#[test]
fn missing_rekor_bundle_fails_the_log_check_only() {
    let (mut legacy, digest, id) = email_case();
    legacy.rekor_bundle = None;
    assert!(matches!(
        run(&legacy, &digest, &id, &public_good()).unwrap_err(),
        CandidateFailure::MissingTransparencyProof(_)
    ));
}

#[test]
fn unknown_ca_fails_the_chain_check_only() {
    // The public-good root with the staging Fulcio CAs in place of the real ones.
    let staging = staging_json();
    let root = edited_root(|root| {
        root["certificateAuthorities"] = staging["certificateAuthorities"].clone();
    });
    let (legacy, digest, id) = email_case();
    assert!(matches!(
        run(&legacy, &digest, &id, &root).unwrap_err(),
        CandidateFailure::UntrustedCertificate(_)
    ));
}

#[test]
fn signed_after_the_ca_window_fails_the_validity_check_only() {
    // The CA's validFor ends before the signing time (2026-02-05): expired at signing time.
    let root = edited_root(|root| {
        root["certificateAuthorities"][1]["validFor"]["end"] = "2025-12-31T23:59:59Z".into();
    });
    let (legacy, digest, id) = email_case();
    assert!(matches!(
        run(&legacy, &digest, &id, &root).unwrap_err(),
        CandidateFailure::SignedOutsideValidity(_)
    ));
}

#[test]
fn wrong_ct_log_key_fails_the_sct_check_only() {
    let staging = staging_json();
    let root = edited_root(|root| root["ctlogs"] = staging["ctlogs"].clone());
    let (legacy, digest, id) = email_case();
    assert!(matches!(
        run(&legacy, &digest, &id, &root).unwrap_err(),
        CandidateFailure::BadSct(_)
    ));
}

#[test]
fn no_ct_logs_skips_the_sct_check_and_says_so() {
    let root = edited_root(|root| root["ctlogs"] = serde_json::json!([]));
    let (legacy, digest, id) = email_case();
    let accepted = run(&legacy, &digest, &id, &root).unwrap();
    assert!(accepted.note.unwrap().contains("SCT not checked"));
}

#[test]
fn corrupted_signature_fails_the_signature_check() {
    let (mut legacy, digest, id) = email_case();
    let (other, _) = legacy_case(GHA_14);
    legacy.signature = other.signature;
    assert_eq!(
        run(&legacy, &digest, &id, &public_good()).unwrap_err(),
        CandidateFailure::BadSignature
    );
}

#[test]
fn trust_root_chain_that_does_not_verify_is_not_trusted() {
    // The current CA's chain with its intermediate replaced by the 2021 root: the intermediate
    // no longer verifies under the root, so the CA is unusable.
    let root = edited_root(|root| {
        let old = root["certificateAuthorities"][0]["certChain"]["certificates"][0].clone();
        root["certificateAuthorities"][1]["certChain"]["certificates"][1] = old;
    });
    let (legacy, digest, id) = email_case();
    assert!(matches!(
        run(&legacy, &digest, &id, &root).unwrap_err(),
        CandidateFailure::UntrustedCertificate(_)
    ));
}

// ---------------------------------------------------------------------------------------------
// A trust root without any transparency log (private deployments without Rekor)
// ---------------------------------------------------------------------------------------------

#[test]
fn a_trust_root_that_lists_tlogs_still_requires_the_rekor_bundle() {
    // The public-good root lists Rekor logs: no bundle is MissingTransparencyProof, also when
    // its CT logs are removed (only the tlog list decides).
    let (mut legacy, digest, id) = email_case();
    legacy.rekor_bundle = None;
    for root in [
        public_good(),
        edited_root(|root| root["ctlogs"] = serde_json::json!([])),
    ] {
        assert!(matches!(
            run(&legacy, &digest, &id, &root).unwrap_err(),
            CandidateFailure::MissingTransparencyProof(_)
        ));
    }
}

#[test]
fn a_trust_root_without_tlogs_skips_the_log_and_checks_the_certificate_now() {
    // No tlogs: the log proof is not required, so the certificate is checked at the current
    // time; the real Fulcio certificate lived 10 minutes in February 2026, so it is refused
    // as outside its validity (never silently accepted).
    let root = edited_root(|root| root["tlogs"] = serde_json::json!([]));
    let (mut legacy, digest, id) = email_case();
    legacy.rekor_bundle = None;
    assert!(matches!(
        run(&legacy, &digest, &id, &root).unwrap_err(),
        CandidateFailure::SignedOutsideValidity(_)
    ));
    // The other checks still run first: a signature of another payload is refused.
    let (other, _) = legacy_case(GHA_14);
    let mut forged = legacy.clone();
    forged.signature = other.signature;
    assert_eq!(
        run(&forged, &digest, &id, &root).unwrap_err(),
        CandidateFailure::BadSignature
    );
}

#[test]
fn a_trust_root_without_tlogs_still_checks_a_present_rekor_bundle() {
    // A Rekor bundle that is present must verify: with no log key in the root it cannot.
    let root = edited_root(|root| root["tlogs"] = serde_json::json!([]));
    let (legacy, digest, id) = email_case();
    assert!(matches!(
        run(&legacy, &digest, &id, &root).unwrap_err(),
        CandidateFailure::BadTransparencyProof(_)
    ));
}
