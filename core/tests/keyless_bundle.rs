//! Keyless sigstore bundles: the real cosign v3 image bundles, and the sigstore-conformance
//! blob cases run through the same bundle verification with an artifact instead of an image.

#![allow(
    clippy::unwrap_used,
    reason = "a test should stop at the first surprise"
)]

use crate::fixtures;

use bytes::Bytes;
use fixtures::*;
use imagecheck::Digest;
use imagecheck::verify::internals::bundle::Bundle;
use imagecheck::verify::internals::discovery::{BundleSignature, Candidate};
use imagecheck::verify::internals::keyless::{self, Signer, Subject};
use imagecheck::verify::internals::{Accepted, check};
use imagecheck::verify::{CandidateFailure, KeylessIdentity, PublicKey, TrustedRoot};
use serde_json::Value;

const KUBEWARDEN: &str = "bundle-v03-image/kubewarden-controller-v1.34.0";
const KUBEWARDEN_SUBJECT: &str = "https://github.com/kubewarden/kubewarden-controller/.github/workflows/release.yml@refs/tags/v1.34.0";

fn image_bundle(case: &str) -> (Vec<u8>, Digest) {
    (
        read(&format!("{case}/bundle.sigstore.json")),
        digest_file(&format!("{case}/image-digest.txt")),
    )
}

fn check_image(
    json: &[u8],
    digest: &Digest,
    id: &KeylessIdentity,
    root: &TrustedRoot,
) -> Result<Accepted, CandidateFailure> {
    let candidate = Candidate::Bundle(BundleSignature {
        json: Bytes::copy_from_slice(json),
        manifest_digest: Digest::sha256_of(json),
    });
    check::keyless(&candidate, digest, id, root)
}

fn kubewarden() -> (Vec<u8>, Digest, KeylessIdentity) {
    let (json, digest) = image_bundle(KUBEWARDEN);
    (json, digest, identity(GITHUB_ACTIONS, KUBEWARDEN_SUBJECT))
}

/// Edit the bundle JSON.
fn edit(json: &[u8], f: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(json).unwrap();
    f(&mut v);
    serde_json::to_vec(&v).unwrap()
}

#[test]
fn kubewarden_image_bundle_is_valid_for_its_digest_only() {
    let (json, digest, id) = kubewarden();
    let accepted = check_image(&json, &digest, &id, &public_good()).unwrap();
    assert_eq!(accepted.note, None);
    assert!(matches!(
        check_image(&json, &Digest::sha256_of(b"x"), &id, &public_good()).unwrap_err(),
        CandidateFailure::DigestMismatch { .. }
    ));
}

#[test]
fn kubewarden_negative_variants() {
    let (json, digest, id) = kubewarden();
    let root = public_good();
    // Wrong identity / issuer.
    let other = identity(
        GITHUB_ACTIONS,
        "https://github.com/evil/repo/.github/workflows/x.yml@refs/heads/main",
    );
    assert!(matches!(
        check_image(&json, &digest, &other, &root).unwrap_err(),
        CandidateFailure::IdentityMismatch(_)
    ));
    let other = identity(GITHUB_LOGIN, KUBEWARDEN_SUBJECT);
    assert!(matches!(
        check_image(&json, &digest, &other, &root).unwrap_err(),
        CandidateFailure::IdentityMismatch(_)
    ));
    // Changed payloadType.
    let changed = edit(&json, |b| {
        b["dsseEnvelope"]["payloadType"] = "text/plain".into()
    });
    assert_eq!(
        check_image(&changed, &digest, &id, &root).unwrap_err(),
        CandidateFailure::WrongPayloadType
    );
    // 0 or 2 DSSE signatures.
    let none = edit(&json, |b| {
        b["dsseEnvelope"]["signatures"] = serde_json::json!([])
    });
    assert!(matches!(
        check_image(&none, &digest, &id, &root).unwrap_err(),
        CandidateFailure::Malformed(_)
    ));
    let two = edit(&json, |b| {
        let sig = b["dsseEnvelope"]["signatures"][0].clone();
        b["dsseEnvelope"]["signatures"] = serde_json::json!([sig.clone(), sig]);
    });
    assert!(matches!(
        check_image(&two, &digest, &id, &root).unwrap_err(),
        CandidateFailure::Malformed(_)
    ));
    // A wrong Rekor key: the SET does not verify.
    let (legacy, _) = legacy_case("salrashid123-server_image-email");
    let _ = legacy;
    let fake = edited_root(|r| {
        r["tlogs"][0]["publicKey"]["rawBytes"] = r["ctlogs"][1]["publicKey"]["rawBytes"].clone();
    });
    assert!(matches!(
        check_image(&json, &digest, &id, &fake).unwrap_err(),
        CandidateFailure::BadTransparencyProof(_)
    ));
    // No tlog entry at all.
    let no_log = edit(&json, |b| {
        b["verificationMaterial"]["tlogEntries"] = serde_json::json!([]);
    });
    assert!(matches!(
        check_image(&no_log, &digest, &id, &root).unwrap_err(),
        CandidateFailure::MissingTransparencyProof(_)
    ));
    // A corrupted RFC 3161 timestamp.
    let bad_tsa = edit(&json, |b| {
        let t = &mut b["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][0]
            ["signedTimestamp"];
        let mut text = t.as_str().unwrap().to_owned();
        let mid = text.len() / 2;
        let c = if &text[mid..=mid] == "A" { "B" } else { "A" };
        text.replace_range(mid..=mid, c);
        *t = text.into();
    });
    assert!(matches!(
        check_image(&bad_tsa, &digest, &id, &root).unwrap_err(),
        CandidateFailure::BadTimestamp(_)
    ));
    // More tlog entries or timestamps than any bundle needs: refused before checking them
    // (each is a signature check), while the same valid one repeated up to the cap verifies.
    let repeated = |pointer: &str, n: usize| {
        edit(&json, |b| {
            let list = b.pointer_mut(pointer).unwrap();
            let one = list[0].clone();
            *list = Value::Array(vec![one; n]);
        })
    };
    let entries = "/verificationMaterial/tlogEntries";
    let stamps = "/verificationMaterial/timestampVerificationData/rfc3161Timestamps";
    for pointer in [entries, stamps] {
        check_image(&repeated(pointer, 32), &digest, &id, &root).unwrap();
    }
    let failure = check_image(&repeated(entries, 33), &digest, &id, &root).unwrap_err();
    assert!(
        matches!(&failure, CandidateFailure::BadTransparencyProof(why) if why.contains("33 tlog entries")),
        "{failure:?}"
    );
    let failure = check_image(&repeated(stamps, 33), &digest, &id, &root).unwrap_err();
    assert!(
        matches!(&failure, CandidateFailure::BadTimestamp(why) if why.contains("33 RFC 3161")),
        "{failure:?}"
    );
}

#[test]
fn kubewarden_checks_each_fail_alone() {
    let (json, digest, id) = kubewarden();
    // The TSA's window ends before the timestamp: the timestamp check fails.
    let root = edited_root(|r| {
        r["timestampAuthorities"][0]["validFor"]["end"] = "2025-12-31T00:00:00Z".into();
    });
    assert!(matches!(
        check_image(&json, &digest, &id, &root).unwrap_err(),
        CandidateFailure::BadTimestamp(_)
    ));
    // Unknown Fulcio CA.
    let staging = staging_json();
    let root =
        edited_root(|r| r["certificateAuthorities"] = staging["certificateAuthorities"].clone());
    assert!(matches!(
        check_image(&json, &digest, &id, &root).unwrap_err(),
        CandidateFailure::UntrustedCertificate(_)
    ));
    // CA window closed before the signing time.
    let root = edited_root(|r| {
        r["certificateAuthorities"][1]["validFor"]["end"] = "2025-12-31T00:00:00Z".into();
    });
    assert!(matches!(
        check_image(&json, &digest, &id, &root).unwrap_err(),
        CandidateFailure::SignedOutsideValidity(_)
    ));
    // Staging CT keys.
    let root = edited_root(|r| r["ctlogs"] = staging["ctlogs"].clone());
    assert!(matches!(
        check_image(&json, &digest, &id, &root).unwrap_err(),
        CandidateFailure::BadSct(_)
    ));
    // Another certificate in the bundle: the signature no longer verifies with its key.
    let cosign = read("bundle-v03-image/cosign-oci-attestation-empty-image/bundle.sigstore.json");
    let cosign: Value = serde_json::from_slice(&cosign).unwrap();
    let swapped = edit(&json, |b| {
        b["verificationMaterial"]["certificate"] =
            cosign["verificationMaterial"]["certificate"].clone();
    });
    assert_eq!(
        check_image(&swapped, &digest, &id, &public_good()).unwrap_err(),
        CandidateFailure::BadSignature
    );
    // The tlog entry of another bundle (its SET and proof are genuine).
    let other_entry = edit(&json, |b| {
        b["verificationMaterial"]["tlogEntries"] =
            cosign["verificationMaterial"]["tlogEntries"].clone();
    });
    assert!(matches!(
        check_image(&other_entry, &digest, &id, &public_good()).unwrap_err(),
        CandidateFailure::TransparencyEntryMismatch(_)
    ));
}

#[test]
fn attestation_bundle_is_not_an_image_signature() {
    let (json, digest) = image_bundle("bundle-v03-image/cosign-oci-attestation-empty-image");
    let id = identity(GITHUB_LOGIN, "cody@soyland.com");
    assert_eq!(
        check_image(&json, &digest, &id, &public_good()).unwrap_err(),
        CandidateFailure::WrongPayloadType
    );
}

// ---------------------------------------------------------------------------------------------
// sigstore-conformance (blob artifacts)
// ---------------------------------------------------------------------------------------------

/// Run one conformance case from EXPECTATIONS.json; `Ok` when it verifies.
fn conformance_case(case: &Value) -> Result<Accepted, CandidateFailure> {
    let root_path = case["trust"]["trusted_root"].as_str().unwrap();
    let root = if root_path == "trust/public-good-trusted_root.json" {
        public_good()
    } else {
        TrustedRoot::from_json(&read(root_path)).unwrap()
    };
    conformance_case_under(case, &root)
}

/// One conformance case verified under `root` instead of its own trust root.
fn conformance_case_under(case: &Value, root: &TrustedRoot) -> Result<Accepted, CandidateFailure> {
    let root = root.clone();
    let id = case["id"].as_str().unwrap();
    let bundle = read(&format!("{id}/bundle.sigstore.json"));
    let artifact = read(case["artifact"].as_str().unwrap());
    let bundle = Bundle::parse(&bundle)?;
    if let Some(key) = case["trust"]["public_key"].as_str() {
        // managed-key-wrong-key_fail's key.pub does not even parse: that is a failure too.
        let key = PublicKey::from_pem(&read_text(key))
            .map_err(|e| CandidateFailure::Malformed(e.to_string()))?;
        return keyless::verify_bundle(
            &bundle,
            Subject::Artifact(&artifact),
            Signer::Key(&key),
            &root,
        );
    }
    let ident = &case["identity"];
    let id = identity(
        ident["issuer"].as_str().unwrap(),
        ident["san"].as_str().unwrap(),
    );
    keyless::verify_bundle(
        &bundle,
        Subject::Artifact(&artifact),
        Signer::Identity(&id),
        &root,
    )
}

#[test]
fn sigstore_conformance_cases() {
    let expectations: Value = serde_json::from_slice(&read("EXPECTATIONS.json")).unwrap();
    let mut wrong = Vec::new();
    let mut count = 0;
    for case in expectations["cases"].as_array().unwrap() {
        let id = case["id"].as_str().unwrap();
        if !id.starts_with("conformance/") {
            continue;
        }
        count += 1;
        let expected_valid = case["expected"] == "valid";
        assert_eq!(expected_valid, !id.ends_with("_fail"), "{id}");
        let outcome = conformance_case(case);
        let verdict = match &outcome {
            Ok(_) => "valid".to_owned(),
            Err(e) => format!("invalid: {e}"),
        };
        println!(
            "{id:60} expected {:7} got {verdict}",
            case["expected"].as_str().unwrap()
        );
        if outcome.is_ok() != expected_valid {
            wrong.push(format!("{id}: {verdict}"));
        }
    }
    assert_eq!(count, 24);
    assert!(
        wrong.is_empty(),
        "{} cases wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// The failing cases fail for the reason their README gives.
#[test]
fn sigstore_conformance_failure_reasons() {
    let expectations: Value = serde_json::from_slice(&read("EXPECTATIONS.json")).unwrap();
    let find = |name: &str| {
        expectations["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == format!("conformance/{name}"))
            .cloned()
            .unwrap()
    };
    use CandidateFailure as F;
    let reason = |name: &str| conformance_case(&find(name)).unwrap_err();
    assert!(matches!(
        reason("bundle-from-wrong-instance_fail"),
        F::BadTransparencyProof(_)
    ));
    assert!(matches!(
        reason("bundle-with-root-cert_fail"),
        F::UntrustedCertificate(_)
    ));
    assert!(matches!(
        reason("checkpoint-wrong-roothash_fail"),
        F::BadTransparencyProof(_)
    ));
    assert!(matches!(
        reason("dsse-mismatch-sig_fail"),
        F::BadSignature | F::TransparencyEntryMismatch(_)
    ));
    assert!(matches!(
        reason("inclusion-proof-corrupted-hash_fail"),
        F::BadTransparencyProof(_)
    ));
    assert!(matches!(
        reason("incorrect-public-key_fail"),
        F::TransparencyEntryMismatch(_) | F::BadTransparencyProof(_)
    ));
    assert!(matches!(
        reason("integrated-time-in-future_fail"),
        F::SignedOutsideValidity(_)
    ));
    assert!(matches!(
        reason("intoto-expired-certificate_fail"),
        F::SignedOutsideValidity(_)
    ));
    assert!(matches!(
        reason("intoto-set-outside-signing-cert-validity_fail"),
        F::SignedOutsideValidity(_)
    ));
    assert!(matches!(reason("invalid-ct-key_fail"), F::BadSct(_)));
    assert!(matches!(
        reason("invalid-inclusion-proof_fail"),
        F::BadTransparencyProof(_)
    ));
    assert!(matches!(
        reason("managed-key-wrong-key_fail"),
        F::WrongKey | F::Malformed(_)
    ));
    assert!(matches!(
        reason("message-digest-mismatch_fail"),
        F::DigestMismatch { .. }
    ));
    assert!(matches!(
        reason("rekor2-no-timestamp_fail"),
        F::MissingTransparencyProof(_)
    ));
    assert!(matches!(
        reason("set-invalid-signature_fail"),
        F::BadTransparencyProof(_)
    ));
    assert!(matches!(reason("signature-mismatch_fail"), F::BadSignature));
    assert!(matches!(
        reason("wrong-material_fail"),
        F::DigestMismatch { .. }
    ));
}

#[test]
fn attestation_bundle_verifies_as_an_attestation_of_its_image() {
    let (json, digest) = image_bundle("bundle-v03-image/cosign-oci-attestation-empty-image");
    let bundle = Bundle::parse(&json).unwrap();
    let id = identity(GITHUB_LOGIN, "cody@soyland.com");
    let root = public_good();
    keyless::verify_bundle(
        &bundle,
        Subject::Attestation(&digest),
        Signer::Identity(&id),
        &root,
    )
    .unwrap();
    let other = Digest::sha256_of(b"another image");
    assert!(matches!(
        keyless::verify_bundle(
            &bundle,
            Subject::Attestation(&other),
            Signer::Identity(&id),
            &root
        )
        .unwrap_err(),
        CandidateFailure::DigestMismatch { .. }
    ));
    let someone = identity(GITHUB_LOGIN, "someone@example.com");
    assert!(matches!(
        keyless::verify_bundle(
            &bundle,
            Subject::Attestation(&digest),
            Signer::Identity(&someone),
            &root
        )
        .unwrap_err(),
        CandidateFailure::IdentityMismatch(_)
    ));
}

#[test]
fn kubewarden_tampered_statement_fails_the_signature_check() {
    use base64::Engine as _;
    let (json, digest, id) = kubewarden();
    let engine = base64::engine::general_purpose::STANDARD;
    let tampered = edit(&json, |b| {
        let payload = engine
            .decode(b["dsseEnvelope"]["payload"].as_str().unwrap())
            .unwrap();
        let mut statement: Value = serde_json::from_slice(&payload).unwrap();
        statement["predicate"] = serde_json::json!({"tampered": true});
        b["dsseEnvelope"]["payload"] = engine
            .encode(serde_json::to_vec(&statement).unwrap())
            .into();
    });
    assert_eq!(
        check_image(&tampered, &digest, &id, &public_good()).unwrap_err(),
        CandidateFailure::BadSignature
    );
}

// ---------------------------------------------------------------------------------------------
// Inclusion proofs: the log key's validity, the checkpoint's origin
// ---------------------------------------------------------------------------------------------

fn expectation(id: &str) -> Value {
    let expectations: Value = serde_json::from_slice(&read("EXPECTATIONS.json")).unwrap();
    expectations["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .cloned()
        .unwrap()
}

const REKOR2: &str = "conformance/rekor2-happy-path";

/// The Rekor v2 case's own trust root with `edit` applied to its log2025-alpha1 entry.
fn rekor2_root(edit: impl FnOnce(&mut Value)) -> TrustedRoot {
    let mut root: Value =
        serde_json::from_slice(&read(&format!("{REKOR2}/trusted_root.json"))).unwrap();
    let log = root["tlogs"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|l| l["baseUrl"] == "https://log2025-alpha1.rekor.sigstage.dev")
        .unwrap();
    edit(log);
    TrustedRoot::from_json(root.to_string().as_bytes()).unwrap()
}

/// A Rekor v2 entry is proven by its inclusion proof alone (no SET, so no signed integrated
/// time): the log's key must still have been valid when the entry was signed, here at its RFC
/// 3161 time (2025-06-12T12:02:20Z). A key retired before that cannot vouch for the entry.
#[test]
fn an_inclusion_proof_from_a_log_key_retired_before_the_signing_time_is_refused() {
    let case = expectation(REKOR2);
    conformance_case_under(&case, &rekor2_root(|_| {})).unwrap();
    let retired = rekor2_root(|log| {
        log["publicKey"]["validFor"]["end"] = "2025-06-01T00:00:00Z".into();
    });
    let err = conformance_case_under(&case, &retired).unwrap_err();
    assert!(
        matches!(&err, CandidateFailure::BadTransparencyProof(why) if why.contains("not valid")),
        "{err}"
    );
    let not_yet = rekor2_root(|log| {
        log["publicKey"]["validFor"]["start"] = "2025-07-01T00:00:00Z".into();
    });
    let err = conformance_case_under(&case, &not_yet).unwrap_err();
    assert!(
        matches!(&err, CandidateFailure::BadTransparencyProof(why) if why.contains("not valid")),
        "{err}"
    );
}

/// The checkpoint names its log on its first line (the origin); a checkpoint whose origin is
/// another log's is not this log's, even when this log's key signed it.
#[test]
fn a_rekor_v2_checkpoint_whose_origin_is_not_the_log_is_refused() {
    let case = expectation(REKOR2);
    let renamed = rekor2_root(|log| {
        log["baseUrl"] = "https://log2025-alpha9.rekor.sigstage.dev".into();
    });
    let err = conformance_case_under(&case, &renamed).unwrap_err();
    assert!(
        matches!(&err, CandidateFailure::BadTransparencyProof(why) if why.contains("origin")),
        "{err}"
    );
}

/// Rekor v1 writes `<host> - <tree id>` as the origin (`rekor.sigstore.dev - 1193050959916656506`
/// for the log at https://rekor.sigstore.dev): the host must be the log's.
#[test]
fn a_rekor_v1_checkpoint_whose_origin_is_not_the_log_is_refused() {
    let (json, digest, id) = kubewarden();
    let renamed = edited_root(|r| {
        r["tlogs"][0]["baseUrl"] = "https://rekor.example.dev".into();
    });
    let err = check_image(&json, &digest, &id, &renamed).unwrap_err();
    assert!(
        matches!(&err, CandidateFailure::BadTransparencyProof(why) if why.contains("origin")),
        "{err}"
    );
}
