//! Warnings: legal but probably unintended rules.

use super::*;

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
- image: "gitlab.com/*"
  keyless: {issuer: "https://gitlab.com", subject: "https://gitlab.com/org/app//.gitlab-ci.yml@refs/heads/main", subjectRegex: "^https://github\\.com/"}
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
            (12, WarningKind::Unreachable { shadowed_by: 10 }),
            (12, WarningKind::SubjectFailsSubjectRegex),
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
