//! Rule-level `attestations` end to end: attestations made by real cosign (`cosign attest`, in
//! the legacy `.att` format and as sigstore bundles) on the harness registry, each way one can
//! be wrong failing alone; and attestation discovery spending from the verify's request budget
//! (a loopback fake registry).

#![allow(
    clippy::unwrap_used,
    reason = "a test should stop at the first surprise"
)]

use crate::support;

use imagecheck::verify::internals::discovery::MAX_REQUESTS;
use imagecheck::{Digest, Error, ErrorKind, Policy, Resolver, Verifier};
use serde_json::{Value, json};
use support::fake_registry::{self, Answer};
use support::{
    cosign_offline_command, count_requests, harness, log_offset, run_ok, settle, signed,
    signed_image, signed_policy, test_ca_root, unique,
};

fn verifier(policy: Policy) -> Verifier {
    Verifier::builder(policy)
        .resolver(harness().resolver_builder().build())
        .trusted_root(test_ca_root())
        .build()
}

async fn verify(policy: &str, image: &str) -> Result<imagecheck::Verification, Error> {
    let (reference, _) = signed_image(image);
    verifier(Policy::from_file(&signed_policy(policy)).unwrap())
        .verify(&reference, None)
        .await
}

/// The error's candidates as `(source, check)`.
fn checks(err: &Error) -> Vec<(&'static str, &'static str)> {
    err.failures()
        .iter()
        .map(|f| (f.source.name(), f.failure.check()))
        .collect()
}

async fn refused(policy: &str, image: &str) -> Error {
    let err = verify(policy, image).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::VerificationFailed, "{err}");
    err
}

fn slsa() -> &'static str {
    signed()["attestations"]["slsa"].as_str().unwrap()
}

#[tokio::test]
async fn the_success_message_names_the_attestation() {
    let v = verify("attest-slsa", "attested-legacy").await.unwrap();
    assert!(v.verified, "{v:?}");
    let said = format!(
        "legacy .sig signature from the sha256-<hex>.sig tag; attestation {:?}: legacy .att attestation from the sha256-<hex>.att tag (sha256:",
        slsa()
    );
    assert!(v.message.contains(&said), "{}", v.message);
    let v = verify("attest-slsa", "attested-bundle").await.unwrap();
    assert!(
        v.message.contains(&format!(
            "attestation {:?}: sigstore bundle from the sha256-<hex> referrers tag (sha256:",
            slsa()
        )),
        "{}",
        v.message
    );
}

#[tokio::test]
async fn each_wrong_attestation_fails_alone_and_says_why() {
    let (_, legacy_digest) = signed_image("attested-legacy");
    for (policy, image, check, says) in [
        (
            "attest-slsa",
            "attested-copied",
            ("attestation_tag", "digest_mismatch"),
            format!(
                "digest mismatch for {}",
                &legacy_digest[..legacy_digest.len().min(19)]
            ),
        ),
        (
            "attest-slsa",
            "attested-custom",
            ("attestation_tag", "predicate_type_mismatch"),
            format!(
                "attestation of predicate type {:?}, not {:?}",
                signed()["attestations"]["custom"].as_str().unwrap(),
                slsa()
            ),
        ),
        (
            "attest-slsa",
            "attested-unsigned",
            ("attestation_tag", "malformed"),
            "the DSSE envelope is unsigned".to_owned(),
        ),
        (
            "attest-slsa-wrong-condition",
            "attested-legacy",
            ("attestation_tag", "condition_failed"),
            "buildDefinition.buildType is \"https://imagecheck.test/build/v1\", the rule requires \"https://imagecheck.test/build/other\"".to_owned(),
        ),
        (
            "attest-slsa-wrong-condition",
            "attested-bundle",
            ("referrers_tag", "condition_failed"),
            "the rule requires \"https://imagecheck.test/build/other\"".to_owned(),
        ),
    ] {
        let err = refused(policy, image).await;
        assert_eq!(checks(&err), [check], "{policy} {image}: {err}");
        let message = err.to_string();
        assert!(message.contains(&says), "{policy} {image}: {message}");
        assert!(
            message.contains(&format!(
                "no valid attestation of predicate type {:?} meeting its conditions",
                slsa()
            )),
            "{message}"
        );
        // The signature was valid: only the attestation is missing.
        assert!(!message.contains("no valid signature"), "{message}");
    }
}

fn predicate_file() -> std::path::PathBuf {
    let path = harness().dir.join(format!("{}.json", unique("predicate-")));
    std::fs::write(&path, signed()["attestations"]["provenance"].to_string()).unwrap();
    path
}

/// A fresh image in `attested/`, as `(repository@digest, tag reference)`.
fn fresh_image(name: &str) -> (String, String) {
    let host = harness().host("plain");
    let tag = unique(name);
    let digest = harness().push_new(&tag, "plain", &format!("attested/{name}:{tag}"));
    (
        format!("{host}/attested/{name}@{digest}"),
        format!("{host}/attested/{name}:{tag}"),
    )
}

/// The rule's signer must have made the attestation, and the image signature is still needed.
#[tokio::test]
async fn the_signature_and_the_rule_signer_are_both_required() {
    let key = |k: &str| signed()["keys"][k]["private"].as_str().unwrap().to_owned();
    let predicate = predicate_file();
    let predicate = predicate.to_str().unwrap();
    // Attested by key a, never signed.
    let (pinned, reference) = fresh_image("unsigned-image");
    run_ok(
        cosign_offline_command(&[
            "attest",
            "--key",
            &key("a"),
            "--type",
            "slsaprovenance1",
            "--predicate",
            predicate,
        ])
        .arg(&pinned),
    );
    let policy = Policy::from_file(&signed_policy("attest-slsa")).unwrap();
    let err = verifier(policy.clone())
        .verify(&reference, None)
        .await
        .unwrap_err();
    assert!(checks(&err).is_empty(), "{err}");
    assert!(
        err.to_string()
            .contains("no valid signature by the rule's public key (ECDSA P-256)"),
        "{err}"
    );
    assert!(!err.to_string().contains("no valid attestation"), "{err}");
    // Signed by key a, attested by key b.
    let (pinned, reference) = fresh_image("other-attester");
    run_ok(cosign_offline_command(&["sign", "--key", &key("a")]).arg(&pinned));
    run_ok(
        cosign_offline_command(&[
            "attest",
            "--key",
            &key("b"),
            "--type",
            "slsaprovenance1",
            "--predicate",
            predicate,
        ])
        .arg(&pinned),
    );
    let err = verifier(policy).verify(&reference, None).await.unwrap_err();
    assert_eq!(checks(&err), [("attestation_tag", "wrong_key")], "{err}");
}

/// Keyless: the attestation is checked with the rule's identity, extensions included.
#[tokio::test]
async fn a_keyless_attestation_by_another_identity_fails_alone() {
    let leaf = |label: &str, field: &str| {
        signed()["test_ca_leaves"][label][field]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let predicate = predicate_file();
    let (pinned, reference) = fresh_image("keyless-other-attester");
    // Signed by the workflow leaf, attested by the e-mail leaf.
    let with_leaf = |command: &str, label: &str| {
        let mut c = cosign_offline_command(&[
            command,
            "--key",
            &leaf(label, "cosign_key"),
            "--certificate",
            &leaf(label, "certificate"),
            "--certificate-chain",
            &leaf(label, "chain"),
        ]);
        if command == "attest" {
            c.args([
                "--type",
                "slsaprovenance1",
                "--predicate",
                predicate.to_str().unwrap(),
            ]);
        }
        c.arg(&pinned);
        c
    };
    run_ok(&mut with_leaf("sign", "workflow"));
    run_ok(&mut with_leaf("attest", "email"));
    let mut rule: Value = serde_json::from_str(
        &std::fs::read_to_string(signed_policy("keyless-workflow-attested")).unwrap(),
    )
    .unwrap();
    rule["rules"][0]["image"] = json!("*");
    let policy = Policy::parse(&rule.to_string()).unwrap();
    let err = verifier(policy.clone())
        .verify(&reference, None)
        .await
        .unwrap_err();
    assert_eq!(
        checks(&err),
        [("attestation_tag", "identity_mismatch")],
        "{err}"
    );
    // The same with the workflow leaf verifies: the identity was the only difference.
    run_ok(&mut with_leaf("attest", "workflow"));
    let v = verifier(policy).verify(&reference, None).await.unwrap();
    assert!(v.verified, "{v:?}");
}

/// A rule without attestations never reads the `.att` tag.
#[tokio::test]
async fn a_rule_without_attestations_never_reads_the_att_tag() {
    let (reference, digest) = signed_image("attested-legacy");
    let key = std::fs::read_to_string(signed()["keys"]["a"]["public"].as_str().unwrap()).unwrap();
    let policy = Policy::parse(
        &json!({"rules": [{"image": "*", "publicKey": {"certificate": key}}]}).to_string(),
    )
    .unwrap();
    let log = harness().log("plain");
    let offset = log_offset(&log);
    let v = verifier(policy).verify(&reference, None).await.unwrap();
    assert!(v.verified, "{v:?}");
    settle();
    let att = format!(
        "GET /v2/attested/legacy/manifests/{}.att",
        digest.replace(':', "-")
    );
    assert_eq!(count_requests(&log, offset, &att), 0);
    // With attestations, it does.
    let offset = log_offset(&log);
    let v = verify("attest-slsa", "attested-legacy").await.unwrap();
    assert!(v.verified, "{v:?}");
    settle();
    assert_eq!(count_requests(&log, offset, &att), 1);
}

const INDEX: &str = "application/vnd.oci.image.index.v1+json";
const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const BUNDLE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

/// Attestation discovery spends from the verify's one request budget: a referrers index naming
/// 150 manifests that are not there, then an `.att` tag of 100 envelopes, stop at
/// [`MAX_REQUESTS`] in all, part way through the envelopes.
#[tokio::test]
async fn attestation_reads_come_out_of_the_request_budget() {
    let hex = "e".repeat(64);
    let digest = format!("sha256:{hex}");
    let missing: Vec<String> = (0..150)
        .map(|i| {
            let d = Digest::sha256_of(format!("missing {i}").as_bytes());
            format!(
                r#"{{"mediaType":"{MANIFEST}","digest":"{d}","size":10,"artifactType":"{BUNDLE}"}}"#
            )
        })
        .collect();
    let referrers = format!(
        r#"{{"schemaVersion":2,"mediaType":"{INDEX}","manifests":[{}]}}"#,
        missing.join(",")
    );
    let envelopes: Vec<Vec<u8>> = (0..100)
        .map(|i| {
            json!({"payloadType": "application/vnd.in-toto+json", "payload": "e30=", "signatures": [], "n": i})
                .to_string()
                .into_bytes()
        })
        .collect();
    let layers: Vec<Value> = envelopes
        .iter()
        .map(|e| {
            json!({"mediaType": "application/vnd.dsse.envelope.v1+json",
                   "digest": Digest::sha256_of(e).to_string(), "size": e.len()})
        })
        .collect();
    let att = json!({"schemaVersion": 2, "mediaType": MANIFEST, "layers": layers}).to_string();
    let att_tag = format!("/manifests/sha256-{hex}.att");
    let fake = fake_registry::start(move |method, path| {
        if method == "HEAD" && path.ends_with("/manifests/v1") {
            return Answer::new(
                200,
                &[
                    ("docker-content-digest", &digest),
                    ("content-type", MANIFEST),
                ],
                b"",
            );
        }
        if path.contains("/referrers/") {
            return Answer::new(200, &[("content-type", INDEX)], referrers.as_bytes());
        }
        if path.ends_with(&att_tag) {
            return Answer::new(200, &[("content-type", MANIFEST)], att.as_bytes());
        }
        if let Some(envelope) = envelopes
            .iter()
            .find(|e| path.ends_with(&format!("/blobs/{}", Digest::sha256_of(e))))
        {
            return Answer::new(
                200,
                &[("content-type", "application/octet-stream")],
                envelope,
            );
        }
        Answer::new(404, &[], b"")
    })
    .await;
    let key = std::fs::read_to_string(signed()["keys"]["a"]["public"].as_str().unwrap()).unwrap();
    let policy = Policy::parse(
        &json!({"rules": [{"image": "*", "publicKey": {"certificate": key},
                 "attestations": [{"predicateType": "https://slsa.dev/provenance/v1"}]}]})
        .to_string(),
    )
    .unwrap();
    let verifier = Verifier::builder(policy)
        .resolver(Resolver::builder().insecure_registry(&fake.host).build())
        .build();
    let err = verifier
        .verify(&format!("{}/fault/app:v1", fake.host), None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::VerificationFailed, "{err}");
    let message = err.to_string();
    assert!(
        message.contains(&format!("stopped after {MAX_REQUESTS} registry requests")),
        "{message}"
    );
    // Four listings and 150 missing manifests leave the envelopes the rest of the budget.
    let envelopes_read = checks(&err).len();
    assert_eq!(envelopes_read, MAX_REQUESTS - 4 - 150, "{message}");
    assert!(
        checks(&err)
            .iter()
            .all(|c| *c == ("attestation_tag", "malformed"))
    );
    let requests = fake.requests.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(requests, 1 + MAX_REQUESTS, "{message}");
}
