//! The document reader: every accepted form, and documents that are refused.

use super::*;

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
