//! Rule validation: each problem names the rule's index, pattern and field, all at once.

use super::*;

/// One invalid rule list each; `(rules YAML, rule index, field, message fragment)`.
/// Rule 0 is always valid so that the index is checked.
fn invalid_rule_cases() -> Vec<(String, Option<usize>, Option<&'static str>, &'static str)> {
    let key = cosign_pub();
    let key_rule = |image: &str, extra: &str| {
        format!(
            "- image: \"{image}\"\n  publicKey:\n    certificate: |\n{}{extra}",
            indented(&key, 6)
        )
    };
    let ok = "- image: \"ghcr.io/ok/*\"\n  deny: true\n";
    vec![
        (
            format!("{ok}- image: \"\"\n  deny: true\n"),
            Some(1),
            Some("image"),
            "empty",
        ),
        (
            format!("{ok}- image: \"  \"\n  deny: true\n"),
            Some(1),
            Some("image"),
            "empty",
        ),
        (
            format!("{ok}- deny: true\n"),
            Some(1),
            Some("image"),
            "missing",
        ),
        (
            format!("{ok}- image: 42\n  deny: true\n"),
            Some(1),
            Some("image"),
            "expected a string, found a number 42",
        ),
        (
            format!("{ok}- image: \" ghcr.io/*\"\n  deny: true\n"),
            Some(1),
            Some("image"),
            "whitespace",
        ),
        (
            format!("{ok}- image: a/*\n  skip: true\n  deny: true\n"),
            Some(1),
            Some("deny"),
            "skip and deny cannot both be true",
        ),
        (
            format!("{ok}- image: a/*\n  skip: true\n  keyless: {{issuer: i, subject: s}}\n"),
            Some(1),
            Some("keyless"),
            "cannot be combined with skip: true",
        ),
        (
            format!("{ok}{}", key_rule("a/*", "  deny: true\n")),
            Some(1),
            Some("publicKey"),
            "cannot be combined with deny: true",
        ),
        (
            format!("{ok}- image: a/*\n"),
            Some(1),
            None,
            "set exactly one of",
        ),
        (
            format!("{ok}- image: a/*\n  skip: false\n"),
            Some(1),
            None,
            "set exactly one of",
        ),
        (
            format!(
                "{ok}{}",
                key_rule("a/*", "  keyless: {issuer: i, subject: s}\n")
            ),
            Some(1),
            Some("publicKey"),
            "only one of keyless or publicKey",
        ),
        (
            format!("{ok}- image: a/*\n  keyless: {{subject: s}}\n"),
            Some(1),
            Some("keyless.issuer"),
            "issuer or issuerRegex",
        ),
        (
            format!("{ok}- image: a/*\n  keyless: {{issuer: \"\", subject: s}}\n"),
            Some(1),
            Some("keyless.issuer"),
            "missing",
        ),
        (
            format!("{ok}- image: a/*\n  keyless: {{issuer: i}}\n"),
            Some(1),
            Some("keyless.subject"),
            "subject or subjectRegex",
        ),
        (
            format!(
                "{ok}- image: a/*\n  keyless: {{issuer: i, subject: s, subjectRegex: \"(s\"}}\n"
            ),
            Some(1),
            Some("keyless.subjectRegex"),
            "invalid regex \"(s\"",
        ),
        (
            format!(
                "{ok}- image: a/*\n  keyless: {{issuer: i, issuerRegex: \"^i$\", subject: s}}\n"
            ),
            Some(1),
            Some("keyless.issuerRegex"),
            "not both",
        ),
        (
            format!(
                "{ok}- image: \"ghcr.io/*\"\n  keyless: {{issuer: i, subjectRegex: \"(unclosed\"}}\n"
            ),
            Some(1),
            Some("keyless.subjectRegex"),
            "invalid regex \"(unclosed\": unclosed group",
        ),
        (
            format!("{ok}- image: a/*\n  keyless: {{issuerRegex: \"[z-a]\", subject: s}}\n"),
            Some(1),
            Some("keyless.issuerRegex"),
            "invalid regex",
        ),
        (
            format!(
                "{ok}- image: a/*\n  keyless: {{issuer: i, subject: s, rekorURL: https://rekor.sigstore.dev}}\n"
            ),
            Some(1),
            Some("keyless.rekorURL"),
            "no Rekor server is contacted",
        ),
        (
            format!("{ok}- image: a/*\n  keyless: {{issuer: i, Subject: s}}\n"),
            Some(1),
            Some("keyless.Subject"),
            "did you mean `subject`?",
        ),
        (
            format!("{ok}- image: a/*\n  keyless: {{issuer: i, subjectRegexp: s}}\n"),
            Some(1),
            Some("keyless.subjectRegexp"),
            "did you mean `subjectRegex`?",
        ),
        (
            format!("{ok}- image: a/*\n  keyless: https://accounts.google.com\n"),
            Some(1),
            Some("keyless"),
            "expected a mapping",
        ),
        (
            format!("{ok}- image: a/*\n  publicKey:\n    certificate: \"not a pem\"\n"),
            Some(1),
            Some("publicKey.certificate"),
            "no PEM block",
        ),
        (
            format!(
                "{ok}- image: a/*\n  publicKey:\n    certificate: |\n      -----BEGIN EC PRIVATE KEY-----\n      AAAA\n      -----END EC PRIVATE KEY-----\n"
            ),
            Some(1),
            Some("publicKey.certificate"),
            "private key",
        ),
        (
            format!("{ok}- image: a/*\n  publicKey: {{}}\n"),
            Some(1),
            Some("publicKey.certificate"),
            "missing",
        ),
        (
            format!(
                "{ok}{}",
                key_rule("a/*", "").replace("certificate:", "certificates:")
            ),
            Some(1),
            Some("publicKey.certificates"),
            "did you mean `certificate`?",
        ),
        (
            format!("{ok}- image: a/*\n  publicKey: \"-----BEGIN PUBLIC KEY-----\"\n"),
            Some(1),
            Some("publicKey"),
            "expected a mapping with certificate",
        ),
        (
            format!("{ok}- image: a/*\n  deny: \"yes\"\n"),
            Some(1),
            Some("deny"),
            "expected true or false, found a string \"yes\"",
        ),
        (
            format!("{ok}- image: a/*\n  skip: 1\n"),
            Some(1),
            Some("skip"),
            "expected true or false",
        ),
        (
            format!("{ok}- image: a/*\n  verify: true\n  deny: true\n"),
            Some(1),
            Some("verify"),
            "older Talos schema",
        ),
        (
            format!("{ok}- image: a/*\n  dney: true\n"),
            Some(1),
            Some("dney"),
            "did you mean `deny`?",
        ),
        (
            format!("{ok}- image: a/*\n  public_key: {{certificate: x}}\n"),
            Some(1),
            Some("public_key"),
            "did you mean `publicKey`?",
        ),
        (
            format!("{ok}- just a string\n"),
            Some(1),
            None,
            "expected a mapping",
        ),
        (
            format!("{ok}- image: a/*\n  image: b/*\n  deny: true\n"),
            None,
            None,
            "duplicate",
        ),
    ]
}

#[test]
fn invalid_rules_name_index_and_field() {
    for (rules, index, field, fragment) in invalid_rule_cases() {
        for text in [
            rules.clone(),
            format!(
                "apiVersion: v1alpha1\nkind: ImageVerificationConfig\nrules:\n{}",
                indented(&rules, 2)
            ),
        ] {
            let err = Policy::parse(&text).expect_err(&text);
            let problem = &err.problems()[0];
            let shown = err.to_string();
            assert_eq!(problem.rule_index(), index, "{shown}\n---\n{text}");
            assert_eq!(problem.field(), field, "{shown}\n---\n{text}");
            assert!(
                shown.contains(fragment),
                "{shown:?} lacks {fragment:?}\n---\n{text}"
            );
            if let Some(index) = index {
                assert!(shown.starts_with(&format!("rule {index}")), "{shown}");
            }
        }
    }
}

/// Talos documents may set `subject` and `subjectRegex` together: valid, and both must match
/// one name (sigstore-go's rule, for every signature format).
#[test]
fn subject_and_subject_regex_together_both_must_match() {
    let policy = Policy::parse(
        r#"apiVersion: v1alpha1
kind: ImageVerificationConfig
rules:
  - image: "ghcr.io/org/*"
    keyless:
      issuer: "https://token.actions.githubusercontent.com"
      subject: "https://github.com/org/app/.github/workflows/release.yml@refs/tags/v1"
      subjectRegex: "^https://github\\.com/org/"
"#,
    )
    .unwrap();
    assert!(policy.warnings().is_empty(), "{:?}", policy.warnings());
    let RuleAction::Keyless(identity) = policy.rules()[0].action() else {
        panic!("rule 0 is keyless");
    };
    assert!(matches!(
        identity.subject(),
        StringMatch::ExactAndRegex { exact, regex }
            if exact.ends_with("@refs/tags/v1") && regex.as_str() == "^https://github\\.com/org/"
    ));
    assert_eq!(
        identity.to_string(),
        r#"issuer "https://token.actions.githubusercontent.com", subject "https://github.com/org/app/.github/workflows/release.yml@refs/tags/v1" and subjectRegex "^https://github\\.com/org/""#
    );
    let issuer = "https://token.actions.githubusercontent.com";
    identity
        .matches(
            issuer,
            "https://github.com/org/app/.github/workflows/release.yml@refs/tags/v1",
        )
        .unwrap();
    // The regex alone (Talos's legacy reading) is not enough: the subject must be equal too.
    identity
        .matches(
            issuer,
            "https://github.com/org/app/.github/workflows/other.yml@refs/tags/v1",
        )
        .unwrap_err();
    // Issuer with issuerRegex stays refused: issuerRegex is ours, and cosign lets it win.
    let err = Policy::parse(
        "- image: a/*\n  keyless: {issuer: i, issuerRegex: \"^i$\", subject: s, subjectRegex: \"^s$\"}\n",
    )
    .unwrap_err();
    assert_eq!(err.field(), Some("keyless.issuerRegex"), "{err}");
}

#[test]
fn error_message_shape() {
    let err =
        Policy::parse("- image: \"ghcr.io/*\"\n  keyless: {issuer: i, subjectRegex: \"(x\"}\n")
            .unwrap_err();
    assert_eq!(
        err.to_string(),
        "rule 0 (image \"ghcr.io/*\"): keyless.subjectRegex: invalid regex \"(x\": unclosed group"
    );
    assert_eq!(err.rule_index(), Some(0));
    assert_eq!(err.field(), Some("keyless.subjectRegex"));
    let error: crate::error::Error = err.into();
    assert_eq!(error.kind(), ErrorKind::InvalidPolicy);
    assert!(error.to_string().starts_with("invalid policy: rule 0"));
}

#[test]
fn every_problem_is_reported() {
    let err = Policy::parse(
        "- image: \"\"\n  deny: true\n- image: ok/*\n  deny: true\n- image: b/*\n  keyless: {}\n",
    )
    .unwrap_err();
    let summary: Vec<(Option<usize>, Option<&str>)> = err
        .problems()
        .iter()
        .map(|p| (p.rule_index(), p.field()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (Some(0), Some("image")),
            (Some(2), Some("keyless.issuer")),
            (Some(2), Some("keyless.subject")),
        ]
    );
    assert_eq!(err.problems()[1].image(), Some("b/*"));
    assert!(
        err.to_string()
            .contains("; rule 2 (image \"b/*\"): keyless.issuer")
    );
}

#[test]
fn public_key_rule_uses_real_key() {
    let policy = Policy::parse(&talos_document()).unwrap();
    let RuleAction::PublicKey(key) = policy.rules()[1].action() else {
        panic!("rule 1 is a public key rule");
    };
    let dir = format!("{}/legacy-sig/containers-image-key-valid", realworld());
    let payload = std::fs::read(format!("{dir}/payload.json")).unwrap();
    let annotations: serde_json::Value =
        serde_json::from_slice(&std::fs::read(format!("{dir}/annotations.json")).unwrap()).unwrap();
    use base64::Engine as _;
    let signature = base64::engine::general_purpose::STANDARD
        .decode(
            annotations["dev.cosignproject.cosign/signature"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    key.verify(&payload, &signature).unwrap();
}
