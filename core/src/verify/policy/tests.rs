use super::*;
use crate::error::ErrorKind;

const REALWORLD: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/fixtures/realworld"
);

/// A real cosign public key (containers/image fixtures).
fn cosign_pub() -> String {
    let path = format!("{REALWORLD}/legacy-sig/containers-image-key-valid/cosign.pub");
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
fn talos_document_as_is() {
    let policy = Policy::parse(&talos_document()).unwrap();
    assert!(policy.warnings().is_empty(), "{:?}", policy.warnings());
    let rules = policy.rules();
    assert_eq!(rules.len(), 4);
    assert_eq!(rules[0].to_string(), "rule 0 (docker.io/library/*)");
    assert_eq!(rules[0].describe_method(), "keyless");
    assert_eq!(rules[1].describe_method(), "public key (ECDSA P-256)");
    assert_eq!(rules[2].describe_method(), "skip");
    assert_eq!(rules[3].describe_method(), "deny");
    assert!(matches!(rules[2].action(), RuleAction::Skip));
    assert!(matches!(rules[3].action(), RuleAction::Deny));
    let RuleAction::Keyless(identity) = rules[0].action() else {
        panic!("rule 0 is keyless");
    };
    assert!(
        matches!(identity.issuer(), StringMatch::Exact(s) if s == "https://token.actions.githubusercontent.com")
    );
    assert_eq!(
        identity.to_string(),
        r#"issuer "https://token.actions.githubusercontent.com", subjectRegex "^https://github.com/docker-library/.*$""#
    );

    // Top-down, first match wins; `docker.io/library/*` matches `nginx`.
    let first = |r: &str| policy.first_match(&reference(r)).map(Rule::index);
    assert_eq!(first("nginx"), Some(0));
    assert_eq!(first("docker.io/library/nginx:1.27"), Some(0));
    assert_eq!(first("registry.example.com/team/app:v2"), Some(1));
    assert_eq!(first("internal/tool"), Some(2));
    assert_eq!(first("ghcr.io/anything/else"), Some(3));
}

#[test]
fn same_rules_in_every_form() {
    let key = cosign_pub();
    let key_json = serde_json::to_string(&key).unwrap();
    let plain_yaml = format!(
        "rules:\n  - image: ghcr.io/org/*\n    publicKey:\n      certificate: |\n{}  - image: \"*\"\n    deny: true\n",
        indented(&key, 8)
    );
    let bare_yaml = format!(
        "- image: ghcr.io/org/*\n  publicKey:\n    certificate: |\n{}- image: \"*\"\n  deny: true\n",
        indented(&key, 6)
    );
    let json = format!(
        r#"{{"rules": [{{"image": "ghcr.io/org/*", "publicKey": {{"certificate": {key_json}}}}}, {{"image": "*", "deny": true}}]}}"#
    );
    let bare_json = format!(
        r#"[{{"image": "ghcr.io/org/*", "publicKey": {{"certificate": {key_json}}}}}, {{"image": "*", "deny": true}}]"#
    );
    let talos = format!("apiVersion: v1alpha1\nkind: ImageVerificationConfig\n{plain_yaml}");
    let with_bom = format!("\u{feff}{json}");
    let policies: Vec<Policy> = [
        &plain_yaml,
        &bare_yaml,
        &json,
        &bare_json,
        &talos,
        &with_bom,
    ]
    .iter()
    .map(|text| Policy::parse(text).unwrap_or_else(|e| panic!("{e}\n{text}")))
    .collect();
    let fingerprint = policies[0].fingerprint();
    for policy in &policies {
        assert_eq!(policy.rules().len(), 2);
        assert_eq!(policy.fingerprint(), fingerprint);
        assert_eq!(
            policy
                .first_match(&reference("ghcr.io/org/app:1"))
                .map(Rule::index),
            Some(0)
        );
    }
}

#[test]
fn yaml_flow_style_list_is_not_mistaken_for_json() {
    let policy = Policy::parse(r#"[{image: "*", deny: true}]"#).unwrap();
    assert_eq!(policy.rules().len(), 1);
}

#[test]
fn multi_document_talos_machine_config() {
    let text = format!(
        r#"version: v1alpha1
debug: false
machine:
  type: worker
  token: abc
  install:
    disk: /dev/sda
cluster:
  controlPlane:
    endpoint: https://1.2.3.4:6443
---
apiVersion: v1alpha1
kind: HostnameConfig
hostname: worker-1
---
{}---
apiVersion: v1alpha1
kind: NetworkRuleConfig
name: ingress
rules:
  - weird: true
"#,
        talos_document()
    );
    let policy = Policy::parse(&text).unwrap();
    assert_eq!(policy.rules().len(), 4);
    assert_eq!(
        policy.fingerprint(),
        Policy::parse(&talos_document()).unwrap().fingerprint()
    );

    // No ImageVerificationConfig among several documents.
    let err = Policy::parse("kind: A\n---\nkind: B\n").unwrap_err();
    assert_eq!(err.field(), Some("kind"));
    assert!(
        err.to_string().contains("none of the 2 YAML documents"),
        "{err}"
    );

    // Two of them: refused rather than guessing or merging.
    let two = format!("{}---\n{}", talos_document(), talos_document());
    let err = Policy::parse(&two).unwrap_err();
    assert!(err.to_string().contains("documents 1, 2"), "{err}");

    // Empty documents in the stream are ignored.
    let padded = format!("---\n---\n{}---\n", talos_document());
    assert_eq!(Policy::parse(&padded).unwrap().rules().len(), 4);
}

#[test]
fn empty_rule_list_is_a_valid_policy() {
    let policy = Policy::parse("apiVersion: v1alpha1\nkind: ImageVerificationConfig\n").unwrap();
    assert!(policy.rules().is_empty());
    assert!(policy.first_match(&reference("nginx")).is_none());
    assert_eq!(
        Policy::parse("rules: []").unwrap().fingerprint(),
        policy.fingerprint()
    );
    assert_eq!(Policy::empty().fingerprint(), policy.fingerprint());
}

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
                "{ok}- image: a/*\n  keyless: {{issuer: i, subject: s, subjectRegex: \"^s$\"}}\n"
            ),
            Some(1),
            Some("keyless.subjectRegex"),
            "not both",
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
    let error: crate::Error = err.into();
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
fn invalid_documents() {
    // (text, field, message fragment)
    let cases: &[(&str, Option<&str>, &str)] = &[
        ("", None, "empty"),
        ("# only a comment\n", None, "empty"),
        (
            "apiVersion: v1alpha1\nkind: ClusterImagePolicy\nrules: []\n",
            Some("kind"),
            "unknown kind \"ClusterImagePolicy\"",
        ),
        (
            "apiVersion: v1beta1\nkind: ImageVerificationConfig\nrules: []\n",
            Some("apiVersion"),
            "unsupported apiVersion \"v1beta1\"",
        ),
        (
            "kind: ImageVerificationConfig\nrules: []\n",
            Some("apiVersion"),
            "missing",
        ),
        (
            "apiVersion: v1alpha1\nrules: []\n",
            Some("apiVersion"),
            "without kind",
        ),
        (
            "rules: []\nrule: []\n",
            Some("rule"),
            "did you mean `rules`?",
        ),
        (
            "rules: {image: a}\n",
            Some("rules"),
            "expected a list of rules, found a mapping",
        ),
        ("just text\n", None, "found a string"),
        ("rules: [\n", None, "not valid YAML"),
        ("{\"rules\": [}", None, "not valid JSON"),
        ("rules: []\nrules: []\n", None, "duplicate"),
        (
            "{\"rules\": [{\"image\": \"a/*\", \"deny\": true, \"deny\": false}]}",
            None,
            "duplicate",
        ),
    ];
    for (text, field, fragment) in cases {
        let err = Policy::parse(text).expect_err(text);
        let shown = err.to_string();
        assert_eq!(err.rule_index(), None, "{shown}");
        assert_eq!(err.field(), *field, "{shown}\n---\n{text}");
        assert!(shown.contains(fragment), "{shown:?} lacks {fragment:?}");
    }
}

/// (rule index, kind) of every warning, in order.
fn warning_kinds(policy: &Policy) -> Vec<(usize, WarningKind)> {
    policy
        .warnings()
        .iter()
        .map(|w| (w.rule_index(), w.kind().clone()))
        .collect()
}

#[test]
fn warnings() {
    let text = r#"
- image: "ghcr.io/org/app@sha256:abc"
  deny: true
- image: "ghcr.io/org/app:1.0"
  deny: true
- image: "localhost:5000/app"
  deny: true
- image: "nginx"
  deny: true
- image: "docker.io/redis"
  deny: true
- image: "ghcr.io/org/ap?"
  deny: true
- image: "ghcr.io/*"
  deny: true
- image: "ghcr.io/org/*"
  deny: true
- image: "quay.io/*"
  keyless: {issuer: "https://accounts.google.com", subjectRegex: ".*"}
- image: "quay.io/x/*"
  keyless: {issuerRegex: ".+", subject: "me@example.com"}
- image: "*"
  deny: true
- image: "last/*"
  deny: true
"#;
    let policy = Policy::parse(text).unwrap();
    let kinds = warning_kinds(&policy);
    assert_eq!(
        kinds,
        vec![
            (0, WarningKind::PatternHasDigest),
            (1, WarningKind::PatternHasTag),
            (3, WarningKind::PatternHasNoSlash),
            (4, WarningKind::DockerHubWithoutLibrary),
            (5, WarningKind::LiteralGlobCharacter('?')),
            (7, WarningKind::Unreachable { shadowed_by: 6 }),
            (
                8,
                WarningKind::RegexMatchesAnything {
                    field: "keyless.subjectRegex"
                }
            ),
            (9, WarningKind::Unreachable { shadowed_by: 8 }),
            (
                9,
                WarningKind::RegexMatchesAnything {
                    field: "keyless.issuerRegex"
                }
            ),
            (11, WarningKind::Unreachable { shadowed_by: 10 }),
        ]
    );
    let shown = policy.warnings()[2].to_string();
    assert_eq!(
        shown,
        "rule 3 (image \"nginx\"): the pattern has no '/' and no '*', so it matches no normalised registry/repository name (for example `nginx` is matched as `docker.io/library/nginx`); did you mean \"docker.io/library/nginx\"?"
    );
    // A pattern with a registry port but no tag is not a tag warning.
    assert!(!kinds.iter().any(|(i, _)| *i == 2));
}

#[test]
fn a_respelled_registry_host_is_matched_canonically_and_warned_about() {
    let text = r#"
- image: "GHCR.io:443/evil/*"
  deny: true
- image: "registry-1.docker.io/library/*"
  deny: true
- image: "DOCKER.IO/redis"
  deny: true
- image: "ghcr.io/evil/app"
  deny: true
- image: "quay.io/*"
  deny: true
"#;
    let policy = Policy::parse(text).unwrap();
    let kinds = warning_kinds(&policy);
    let respelled = |matched: &str| WarningKind::HostRespelled {
        matched: matched.to_owned(),
    };
    assert_eq!(
        kinds,
        vec![
            (0, respelled("ghcr.io/evil/*")),
            (1, respelled("docker.io/library/*")),
            (2, respelled("docker.io/redis")),
            (2, WarningKind::DockerHubWithoutLibrary),
            // shadowed by rule 0 once both are compared in canonical form
            (3, WarningKind::Unreachable { shadowed_by: 0 }),
        ]
    );
    let shown = policy.warnings()[0].to_string();
    assert!(
        shown.starts_with("rule 0 (image \"GHCR.io:443/evil/*\"): ")
            && shown.contains("matched as \"ghcr.io/evil/*\""),
        "{shown}"
    );
    // The suggestion is in the form that is matched.
    let suggestion = policy.warnings()[3].to_string();
    assert!(
        suggestion.contains("did you mean \"docker.io/library/redis\"?"),
        "{suggestion}"
    );
    for (reference_text, rule) in [
        ("ghcr.io/evil/app:v1", Some(0)),
        ("GHCR.IO/evil/app:v1", Some(0)),
        ("nginx", Some(1)),
        ("registry-1.docker.io/library/nginx", Some(1)),
        ("quay.io:443/x/y", Some(4)),
        ("ghcr.io/good/app", None),
    ] {
        assert_eq!(
            policy
                .first_match(&reference(reference_text))
                .map(Rule::index),
            rule,
            "{reference_text}"
        );
    }
}

#[test]
fn keyless_identity_matching_is_unanchored_like_cosign() {
    let policy = Policy::parse(
        r#"
- image: "a/*"
  keyless: {issuer: "https://accounts.google.com", subjectRegex: "@example\\.com$"}
- image: "b/*"
  keyless: {issuerRegex: "^https://token\\.actions\\.githubusercontent\\.com$", subject: "https://github.com/org/repo/.github/workflows/release.yml@refs/tags/v1"}
"#,
    )
    .unwrap();
    let identity = |i: usize| match policy.rules()[i].action() {
        RuleAction::Keyless(identity) => identity.clone(),
        other => panic!("rule {i} is {other:?}"),
    };
    let a = identity(0);
    a.matches("https://accounts.google.com", "me@example.com")
        .unwrap();
    // Unanchored at the start, as cosign's regexp.MatchString.
    a.matches("https://accounts.google.com", "evil+me@example.com")
        .unwrap();
    let err = a
        .matches("https://accounts.google.com", "me@example.com.evil.org")
        .unwrap_err();
    assert_eq!(err.field, IdentityField::Subject);
    assert_eq!(
        err.to_string(),
        r#"certificate subject "me@example.com.evil.org" does not match subjectRegex "@example\\.com$""#
    );
    let err = a
        .matches("https://accounts.google.com.evil", "me@example.com")
        .unwrap_err();
    assert_eq!(err.field, IdentityField::Issuer);
    // A certificate without the issuer extension never satisfies a keyless rule.
    let err = a
        .matches_certificate(None, &["me@example.com"])
        .unwrap_err();
    assert!(err.to_string().contains("has no OIDC issuer"), "{err}");
    // Several SANs: one matching is enough.
    a.matches_certificate(
        Some("https://accounts.google.com"),
        &["other@else.org", "me@example.com"],
    )
    .unwrap();

    let b = identity(1);
    b.matches(
        "https://token.actions.githubusercontent.com",
        "https://github.com/org/repo/.github/workflows/release.yml@refs/tags/v1",
    )
    .unwrap();
    // Exact subject: no prefix or suffix match.
    assert!(
        b.matches(
            "https://token.actions.githubusercontent.com",
            "https://github.com/org/repo/.github/workflows/release.yml@refs/tags/v10",
        )
        .is_err()
    );
}

#[test]
fn fingerprints_change_with_any_rule_change() {
    let base = "- image: a/*\n  keyless: {issuer: i, subject: s}\n- image: b/*\n  deny: true\n";
    let variants = [
        "- image: a/*\n  keyless: {issuer: i, subject: t}\n- image: b/*\n  deny: true\n",
        "- image: a/*\n  keyless: {issuer: j, subject: s}\n- image: b/*\n  deny: true\n",
        "- image: a/*\n  keyless: {issuer: i, subjectRegex: s}\n- image: b/*\n  deny: true\n",
        "- image: a/*\n  keyless: {issuerRegex: i, subject: s}\n- image: b/*\n  deny: true\n",
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
        "{REALWORLD}/legacy-sig/containers-image-key-rekor-valid/cosign2.pub"
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
fn public_key_rule_uses_real_key() {
    let policy = Policy::parse(&talos_document()).unwrap();
    let RuleAction::PublicKey(key) = policy.rules()[1].action() else {
        panic!("rule 1 is a public key rule");
    };
    let dir = format!("{REALWORLD}/legacy-sig/containers-image-key-valid");
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

#[test]
fn duplicate_keys_only_matter_in_the_policy_document() {
    let text = format!("kind: Other\nx: 1\nx: 2\n---\n{}", talos_document());
    assert_eq!(Policy::parse(&text).unwrap().rules().len(), 4);
    for text in [
        "rules: []\nrules: []\n",
        "- image: a/*\n  image: b/*\n  deny: true\n",
        "- image: a/*\n  keyless: {issuer: i, issuer: j, subject: s}\n",
        r#"{"rules": [{"image": "a/*", "deny": true, "deny": false}]}"#,
    ] {
        let err = Policy::parse(text).unwrap_err();
        assert!(err.to_string().contains("duplicate key"), "{err}");
    }
}

#[test]
fn yaml_booleans() {
    // As Go's yaml.v3 does for bool fields, YAML 1.1 spellings are booleans.
    for spelling in ["true", "True", "yes", "on"] {
        let policy = Policy::parse(&format!("- image: a/*\n  deny: {spelling}\n")).unwrap();
        assert!(matches!(policy.rules()[0].action(), RuleAction::Deny));
    }
    let err = Policy::parse("- image: a/*\n  deny: \"true\"\n").unwrap_err();
    assert_eq!(err.field(), Some("deny"));
}

#[test]
fn policy_is_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<Policy>();
    assert_send_sync::<PolicyError>();
}
