use super::*;
use crate::error::ErrorKind;

mod depth;
mod document;
mod talos;
mod validate;
mod warnings;

/// The shared `realworld/` fixtures directory, as text for paths in policies.
fn realworld() -> String {
    crate::verify::test_fixtures::realworld()
        .display()
        .to_string()
}

/// A real cosign public key (containers/image fixtures).
fn cosign_pub() -> String {
    let path = format!(
        "{}/legacy-sig/containers-image-key-valid/cosign.pub",
        realworld()
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

/// Indent a PEM for a YAML block scalar.
fn indented(pem: &str, spaces: usize) -> String {
    let pad = " ".repeat(spaces);
    pem.lines()
        .map(|l| format!("{pad}{l}\n"))
        .collect::<String>()
}

/// The brief's / Talos's example document, as-is.
fn talos_document() -> String {
    format!(
        r#"apiVersion: v1alpha1
kind: ImageVerificationConfig
rules:
  - image: "docker.io/library/*"
    keyless:
      issuer: "https://token.actions.githubusercontent.com"
      subjectRegex: "^https://github.com/docker-library/.*$"
  - image: "registry.example.com/*"
    publicKey:
      certificate: |
{}  - image: "docker.io/internal/*"
    skip: true
  - image: "*"
    deny: true
"#,
        indented(&cosign_pub(), 8)
    )
}

fn reference(text: &str) -> Reference {
    Reference::parse(text).expect("test reference parses")
}

#[test]
fn fingerprints_change_with_any_rule_change() {
    let base = "- image: a/*\n  keyless: {issuer: i, subject: s}\n- image: b/*\n  deny: true\n";
    let variants = [
        "- image: a/*\n  keyless: {issuer: i, subject: t}\n- image: b/*\n  deny: true\n",
        "- image: a/*\n  keyless: {issuer: j, subject: s}\n- image: b/*\n  deny: true\n",
        "- image: a/*\n  keyless: {issuer: i, subjectRegex: s}\n- image: b/*\n  deny: true\n",
        "- image: a/*\n  keyless: {issuerRegex: i, subject: s}\n- image: b/*\n  deny: true\n",
        "- image: a/*\n  keyless: {issuer: i, subject: s, subjectRegex: s}\n- image: b/*\n  deny: true\n",
        "- image: a/*\n  keyless: {issuer: i, subject: s, subjectRegex: t}\n- image: b/*\n  deny: true\n",
        "- image: a*\n  keyless: {issuer: i, subject: s}\n- image: b/*\n  deny: true\n",
        "- image: a/*\n  keyless: {issuer: i, subject: s}\n- image: b/*\n  skip: true\n",
        "- image: b/*\n  deny: true\n- image: a/*\n  keyless: {issuer: i, subject: s}\n",
        "- image: a/*\n  keyless: {issuer: i, subject: s}\n",
        "- image: a/*\n  keyless: {issuer: i, subject: s}\n- image: b/*\n  deny: true\n- image: c/*\n  deny: true\n",
    ];
    let policy = Policy::parse(base).unwrap();
    // Formatting does not matter.
    let reformatted = Policy::parse(
        r#"{"rules":[{"image":"a/*","keyless":{"subject":"s","issuer":"i"}},{"deny":true,"image":"b/*"}]}"#,
    )
    .unwrap();
    assert_eq!(policy.fingerprint(), reformatted.fingerprint());
    assert_eq!(
        policy.rules()[0].fingerprint(),
        reformatted.rules()[0].fingerprint()
    );
    let mut seen = vec![policy.fingerprint()];
    for variant in variants {
        let fingerprint = Policy::parse(variant).unwrap().fingerprint();
        assert!(!seen.contains(&fingerprint), "{variant}");
        seen.push(fingerprint);
    }
    // Another key: another fingerprint.
    let with_key = |pem: &str| {
        Policy::parse(&format!(
            "- image: a/*\n  publicKey:\n    certificate: |\n{}",
            indented(pem, 6)
        ))
        .unwrap()
        .fingerprint()
    };
    let other_key = std::fs::read_to_string(format!(
        "{}/legacy-sig/containers-image-key-rekor-valid/cosign2.pub",
        realworld()
    ))
    .unwrap();
    assert_ne!(with_key(&cosign_pub()), with_key(&other_key));
}

#[test]
fn from_file_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("policy.yaml");
    std::fs::write(&good, talos_document()).unwrap();
    assert_eq!(Policy::from_file(&good).unwrap().rules().len(), 4);

    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "- image: a/*\n").unwrap();
    let err = Policy::from_file(&bad).unwrap_err();
    assert_eq!(err.origin(), Some(bad.display().to_string().as_str()));
    assert!(
        err.to_string()
            .starts_with(&format!("{}: rule 0 (image \"a/*\")", bad.display())),
        "{err}"
    );

    let missing = dir.path().join("missing.yaml");
    let err = Policy::from_file(&missing).unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("{}: cannot read", missing.display())),
        "{err}"
    );

    let binary = dir.path().join("binary.yaml");
    std::fs::write(&binary, [0xff, 0xfe, 0x00]).unwrap();
    assert!(
        Policy::from_file(&binary)
            .unwrap_err()
            .to_string()
            .contains("not UTF-8")
    );
}

#[test]
fn policy_is_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<Policy>();
    assert_send_sync::<PolicyError>();
}
