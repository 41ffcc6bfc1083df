//! What Talos would do differently with the same document (`policy check --talos`).

use super::*;
use crate::verify::policy::talos::non_talos_fields;

/// (rule index, kind) of every difference, in order.
fn differences(policy: &Policy) -> Vec<(Option<usize>, TalosDifferenceKind)> {
    policy
        .talos_differences()
        .iter()
        .map(|d| (d.rule_index(), d.kind().clone()))
        .collect()
}

#[test]
fn each_talos_difference_is_listed_with_its_rule() {
    let certificate = std::fs::read_to_string(format!(
        "{}/legacy-sig/sigstore-rs-2021-keyless-rekord/certificate.pem",
        realworld()
    ))
    .unwrap();
    let text = format!(
        r#"apiVersion: v1alpha1
kind: ImageVerificationConfig
rules:
  - image: "docker.io/library/*"
    keyless:
      issuer: "https://token.actions.githubusercontent.com"
      subjectRegex: "^https://github.com/docker-library/"
  - image: "index.docker.io/bitnami/*"
    deny: true
  - image: "registry-1.docker.io/org/*"
    skip: true
  - image: "ghcr.io/org/*"
    keyless:
      issuerRegex: "^https://token\\.actions\\.githubusercontent\\.com$"
      subject: "https://github.com/org/app/.github/workflows/release.yml@refs/tags/v1"
      subjectRegex: "^https://github\\.com/org/"
  - image: "registry.example.com/*"
    publicKey:
      certificate: |
{}  - image: "quay.io/*"
    publicKey:
      certificate: |
{}"#,
        indented(&certificate, 8),
        indented(&cosign_pub(), 8)
    );
    let policy = Policy::parse(&text).unwrap();
    assert_eq!(
        differences(&policy),
        vec![
            (
                Some(0),
                TalosDifferenceKind::DockerHubName {
                    suggestion: "index.docker.io/library/*".into()
                }
            ),
            (
                Some(2),
                TalosDifferenceKind::DockerHubName {
                    suggestion: "index.docker.io/org/*".into()
                }
            ),
            (
                Some(3),
                TalosDifferenceKind::NotATalosField {
                    field: "keyless.issuerRegex".into()
                }
            ),
            (Some(3), TalosDifferenceKind::SubjectRegexAloneOnLegacy),
            (Some(4), TalosDifferenceKind::CertificatePem),
            (None, TalosDifferenceKind::LegacyPayloadDigestUnchecked),
        ]
    );
    let shown: Vec<String> = policy
        .talos_differences()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(
        shown[0].starts_with("rule 0 (image \"docker.io/library/*\"): Talos matches rules against go-containerregistry's repository name")
            && shown[0].contains("write \"index.docker.io/library/*\""),
        "{shown:#?}"
    );
    assert!(
        shown[2].contains("keyless.issuerRegex is an imagecheck extension, not a Talos field"),
        "{shown:#?}"
    );
    assert!(shown[4].contains("refuses a CERTIFICATE"), "{shown:#?}");
    assert!(
        shown[5].starts_with("Talos does not check that a legacy .sig signature's payload"),
        "{shown:#?}"
    );
    // Not warnings: imagecheck means what the document says. (The respelled Docker Hub hosts
    // are warned about as always.)
    let warned: Vec<usize> = policy.warnings().iter().map(|w| w.rule_index()).collect();
    assert_eq!(warned, [1, 2], "{:?}", policy.warnings());
}

#[test]
fn plain_rules_are_not_a_talos_document_and_skip_or_deny_alone_checks_no_payload() {
    let plain = Policy::parse("rules:\n  - image: \"ghcr.io/*\"\n    deny: true\n").unwrap();
    assert_eq!(
        differences(&plain),
        vec![(None, TalosDifferenceKind::NotATalosDocument)]
    );
    let bare = Policy::parse("- image: \"ghcr.io/*\"\n  skip: true\n").unwrap();
    assert_eq!(
        differences(&bare),
        vec![(None, TalosDifferenceKind::NotATalosDocument)]
    );
    // The same rules in a Talos document (alone or in a machine configuration): none.
    let talos = "apiVersion: v1alpha1\nkind: ImageVerificationConfig\nrules:\n  - image: \"ghcr.io/*\"\n    deny: true\n";
    assert_eq!(differences(&Policy::parse(talos).unwrap()), vec![]);
    let machine = format!("version: v1alpha1\nmachine: {{type: worker}}\n---\n{talos}");
    assert_eq!(differences(&Policy::parse(&machine).unwrap()), vec![]);
}

/// Fields are found by key, so every extension is named, including those of rule kinds this
/// file does not know (certificate extensions, attestations, k-of-n signers).
#[test]
fn every_field_talos_lacks_is_named() {
    let raw = serde_json::json!({
        "image": "ghcr.io/*",
        "keyless": {
            "issuer": "i", "subject": "s", "subjectRegex": "r",
            "issuerRegex": "x", "certificateExtensions": {"buildTrigger": "push"}
        },
        "publicKey": {"certificate": "…", "hint": "x"},
        "attestations": [{"predicateType": "https://slsa.dev/provenance/v1"}],
        "signers": [{"publicKey": {"certificate": "…"}}],
        "threshold": 2,
        "skip": false,
        "deny": false
    });
    assert_eq!(
        non_talos_fields(&raw),
        [
            "attestations",
            "keyless.certificateExtensions",
            "keyless.issuerRegex",
            "publicKey.hint",
            "signers",
            "threshold",
        ]
    );
    assert!(non_talos_fields(&serde_json::json!({"image": "a/*", "deny": true})).is_empty());
}
