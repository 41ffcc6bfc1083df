//! imagecheck's policy extensions beyond Talos: `keyless.certificateExtensions`, rule-level
//! `attestations`, `signers` with `threshold`. Each invalid form is refused alone, naming its
//! field.

use super::*;
use crate::verify::policy::{CertificateExtension, Signer};

/// Another real public key than [`cosign_pub`] (the public-good Rekor key).
fn other_pub() -> String {
    let path = format!("{}/trust/rekor.pub", realworld());
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

fn key_signer(pem: &str) -> String {
    format!("{{publicKey: {{certificate: {pem:?}}}}}")
}

/// `(rules YAML, field, message fragment)`: rule 0 is invalid in exactly this way.
fn invalid_cases() -> Vec<(String, &'static str, &'static str)> {
    let (a, b) = (key_signer(&cosign_pub()), key_signer(&other_pub()));
    let keyless = "{keyless: {issuer: i, subject: s}}";
    let kl = |ext: &str| {
        format!(
            "- image: a/*\n  keyless: {{issuer: i, subject: s, certificateExtensions: {ext}}}\n"
        )
    };
    let att = |item: &str| format!("- image: a/*\n  signers: [{a}]\n  attestations: [{item}]\n");
    vec![
        // certificateExtensions
        (
            kl("{sourceRepositoryref: refs/tags/v1}"),
            "keyless.certificateExtensions.sourceRepositoryref",
            "did you mean `sourceRepositoryRef`?",
        ),
        (
            kl("{githubWorkflowSha: abc}"),
            "keyless.certificateExtensions.githubWorkflowSha",
            "did you mean `githubWorkflowSHA`?",
        ),
        (
            kl("{sourceRepositoryRefregex: x}"),
            "keyless.certificateExtensions.sourceRepositoryRefregex",
            "did you mean `sourceRepositoryRefRegex`?",
        ),
        (
            kl("{workflow: x}"),
            "keyless.certificateExtensions.workflow",
            "unknown certificate extension (expected one of sigstore-go's Extensions names: issuer, buildSignerURI,",
        ),
        (
            kl("{sourceRepositoryRefRegex: '(x'}"),
            "keyless.certificateExtensions.sourceRepositoryRefRegex",
            "invalid regex \"(x\"",
        ),
        (
            kl("{buildTrigger: [push]}"),
            "keyless.certificateExtensions.buildTrigger",
            "expected a string, found a list",
        ),
        (
            kl("[sourceRepositoryRef]"),
            "keyless.certificateExtensions",
            "expected a mapping of extension names to values",
        ),
        // signers / threshold
        (
            format!("- image: a/*\n  signers: [{a}, {b}]\n  threshold: 3\n"),
            "threshold",
            "threshold 3 is larger than the 2 signers listed",
        ),
        (
            format!("- image: a/*\n  signers: [{a}, {b}]\n  threshold: 0\n"),
            "threshold",
            "it must be at least 1",
        ),
        (
            format!("- image: a/*\n  signers: [{a}, {b}]\n  threshold: -1\n"),
            "threshold",
            "expected a whole number of signers, found -1",
        ),
        (
            format!("- image: a/*\n  signers: [{a}, {b}]\n  threshold: \"2\"\n"),
            "threshold",
            "expected a whole number of signers, found a string \"2\"",
        ),
        (
            "- image: a/*\n  signers: []\n".into(),
            "signers",
            "the list is empty",
        ),
        (
            format!("- image: a/*\n  signers: {a}\n"),
            "signers",
            "expected a list of {publicKey: …} or {keyless: …}, found a mapping",
        ),
        (
            format!("- image: a/*\n  signers: [{a}, {a}]\n"),
            "signers[1]",
            "the same signer as signers[0]",
        ),
        (
            format!("- image: a/*\n  signers: [{keyless}, {keyless}]\n"),
            "signers[1]",
            "the same signer as signers[0]",
        ),
        (
            "- image: a/*\n  signers: [{keyless: {issuer: i}}]\n".into(),
            "signers[0].keyless.subject",
            "missing",
        ),
        (
            format!(
                "- image: a/*\n  signers: [{{keyless: {{issuer: i, subject: s}}, publicKey: {{certificate: {:?}}}}}]\n",
                cosign_pub()
            ),
            "signers[0]",
            "a signer is one of keyless or publicKey",
        ),
        (
            "- image: a/*\n  signers: [{image: x, keyless: {issuer: i, subject: s}}]\n".into(),
            "signers[0].image",
            "unknown field (expected one of: keyless, publicKey)",
        ),
        (
            "- image: a/*\n  signers: [{}]\n".into(),
            "signers[0]",
            "the signer has neither publicKey nor keyless",
        ),
        (
            format!("- image: a/*\n  signers: [{a}]\n  keyless: {{issuer: i, subject: s}}\n"),
            "signers",
            "signers replaces keyless and publicKey",
        ),
        (
            "- image: a/*\n  keyless: {issuer: i, subject: s}\n  threshold: 1\n".into(),
            "threshold",
            "threshold counts the signers of a signers list",
        ),
        (
            format!("- image: a/*\n  signers: [{a}]\n  skip: true\n"),
            "signers",
            "a verifier cannot be combined with skip: true",
        ),
        (
            "- image: a/*\n  treshold: 1\n  deny: true\n".into(),
            "treshold",
            "did you mean `threshold`?",
        ),
        // attestations
        (
            att("{predicateType: p, conditions: [{path: a..b, equals: x}]}"),
            "attestations[0].conditions[0].path",
            "has an empty segment",
        ),
        (
            att("{predicateType: p, conditions: [{path: a, equals: x, regex: z}]}"),
            "attestations[0].conditions[0].regex",
            "set equals or regex, not both",
        ),
        (
            att("{predicateType: p, conditions: [{path: a}]}"),
            "attestations[0].conditions[0]",
            "a condition needs equals",
        ),
        (
            att("{predicateType: p, conditions: [{equals: x}]}"),
            "attestations[0].conditions[0].path",
            "missing; a dotted path into the predicate",
        ),
        (
            att("{predicateType: p, conditions: [{path: a, regex: '(x'}]}"),
            "attestations[0].conditions[0].regex",
            "invalid regex",
        ),
        (
            att("{predicateType: p, conditions: [{path: a, equal: x}]}"),
            "attestations[0].conditions[0].equal",
            "did you mean `equals`?",
        ),
        (
            att("{conditions: []}"),
            "attestations[0].predicateType",
            "missing; the in-toto predicate type required",
        ),
        (
            att("{predicatetype: p}"),
            "attestations[0].predicatetype",
            "did you mean `predicateType`?",
        ),
        (
            att("{predicateType: p, conditions: {path: a, equals: b}}"),
            "attestations[0].conditions",
            "expected a list",
        ),
        (
            "- image: a/*\n  deny: true\n  attestations: [{predicateType: p}]\n".into(),
            "attestations",
            "they cannot be combined with deny: true",
        ),
    ]
}

#[test]
fn each_invalid_extension_form_is_refused_naming_its_field() {
    for (rules, field, fragment) in invalid_cases() {
        let err = Policy::parse(&rules).expect_err(&rules);
        let shown = err.to_string();
        assert_eq!(err.problems().len(), 1, "{shown}\n---\n{rules}");
        assert_eq!(err.rule_index(), Some(0), "{shown}");
        assert_eq!(err.field(), Some(field), "{shown}\n---\n{rules}");
        assert!(
            shown.contains(fragment),
            "{shown:?} lacks {fragment:?}\n---\n{rules}"
        );
    }
}

#[test]
fn attestations_alone_do_nothing() {
    let err = Policy::parse("- image: a/*\n  attestations: [{predicateType: p}]\n").unwrap_err();
    assert!(err.to_string().contains("the rule does nothing"), "{err}");
}

#[test]
fn every_extension_name_is_read_with_its_oid() {
    let names: Vec<&str> = CertificateExtension::all().map(|e| e.name()).collect();
    let fields: String = names
        .iter()
        .map(|n| format!("      {n}: v-{n}\n      {n}Regex: '^v-{n}$'\n"))
        .collect();
    let policy = Policy::parse(&format!(
        "- image: a/*\n  keyless:\n    issuer: i\n    subject: s\n    certificateExtensions:\n{fields}"
    ))
    .unwrap();
    let RuleAction::Keyless(identity) = policy.rules()[0].action() else {
        panic!("not keyless");
    };
    assert_eq!(identity.extensions().len(), 2 * names.len());
    let oids: Vec<String> = CertificateExtension::all().map(|e| e.oid()).collect();
    let mut arcs: Vec<u32> = oids
        .iter()
        .map(|o| o.rsplit('.').next().unwrap().parse().unwrap())
        .collect();
    arcs.sort_unstable();
    assert_eq!(
        arcs,
        [(2..=6).collect::<Vec<u32>>(), (8..=22).collect()].concat()
    );
    assert!(oids.iter().all(|o| o.starts_with("1.3.6.1.4.1.57264.1.")));
    assert_eq!(
        CertificateExtension::from_name("sourceRepositoryVisibilityAtSigning").map(|e| e.oid()),
        Some("1.3.6.1.4.1.57264.1.22".to_owned())
    );
    assert!(identity.to_string().contains(
        "buildSignerURI \"v-buildSignerURI\", buildSignerURIRegex \"^v-buildSignerURI$\""
    ));
}

#[test]
fn signers_with_a_threshold() {
    let (a, b) = (key_signer(&cosign_pub()), key_signer(&other_pub()));
    let policy = Policy::parse(&format!(
        "- image: a/*\n  signers: [{a}, {b}, {{keyless: {{issuer: i, subjectRegex: s}}}}]\n  threshold: 2\n- image: b/*\n  signers: [{a}]\n"
    ))
    .unwrap();
    let RuleAction::Signers(set) = policy.rules()[0].action() else {
        panic!("not signers");
    };
    assert_eq!(set.threshold(), 2);
    assert!(matches!(
        set.signers(),
        [
            Signer::PublicKey(_),
            Signer::PublicKey(_),
            Signer::Keyless(_)
        ]
    ));
    assert_eq!(
        policy.rules()[0].describe_method(),
        "2 of 3 signers (public key (ECDSA P-256), public key (ECDSA P-256), keyless)"
    );
    // The default threshold is 1.
    let RuleAction::Signers(one) = policy.rules()[1].action() else {
        panic!("not signers");
    };
    assert_eq!(one.threshold(), 1);
}

#[test]
fn attestations_beside_any_verifier() {
    let policy = Policy::parse(&format!(
        r#"
- image: a/*
  keyless: {{issuer: i, subject: s}}
  attestations:
    - predicateType: https://slsa.dev/provenance/v1
      conditions:
        - {{path: buildDefinition.buildType, equals: "https://example.com/build/v1"}}
        - {{path: runDetails.builder.id, regex: "^https://github.com/"}}
    - predicateType: https://imagecheck.test/custom/v1
- image: b/*
  publicKey: {{certificate: {:?}}}
  attestations: [{{predicateType: https://slsa.dev/provenance/v1}}]
"#,
        cosign_pub()
    ))
    .unwrap();
    let required = policy.rules()[0].attestations();
    assert_eq!(required.len(), 2);
    assert_eq!(
        required[0].predicate_type(),
        "https://slsa.dev/provenance/v1"
    );
    let conditions: Vec<String> = required[0]
        .conditions()
        .iter()
        .map(|c| c.describe())
        .collect();
    assert_eq!(
        conditions,
        [
            "buildDefinition.buildType equals \"https://example.com/build/v1\"",
            "runDetails.builder.id regex \"^https://github.com/\"",
        ]
    );
    assert!(required[1].conditions().is_empty());
    assert_eq!(policy.rules()[1].attestations().len(), 1);
}

#[test]
fn fingerprints_change_with_each_new_field() {
    let (a, b) = (key_signer(&cosign_pub()), key_signer(&other_pub()));
    let variants = [
        "- image: a/*\n  keyless: {issuer: i, subject: s}\n".to_owned(),
        "- image: a/*\n  keyless: {issuer: i, subject: s, certificateExtensions: {buildTrigger: push}}\n".into(),
        "- image: a/*\n  keyless: {issuer: i, subject: s, certificateExtensions: {buildTriggerRegex: push}}\n".into(),
        "- image: a/*\n  keyless: {issuer: i, subject: s, certificateExtensions: {buildTrigger: pull}}\n".into(),
        "- image: a/*\n  keyless: {issuer: i, subject: s, certificateExtensions: {sourceRepositoryRef: push}}\n".into(),
        "- image: a/*\n  keyless: {issuer: i, subject: s}\n  attestations: [{predicateType: p}]\n".into(),
        "- image: a/*\n  keyless: {issuer: i, subject: s}\n  attestations: [{predicateType: q}]\n".into(),
        "- image: a/*\n  keyless: {issuer: i, subject: s}\n  attestations: [{predicateType: p, conditions: [{path: x, equals: y}]}]\n".into(),
        "- image: a/*\n  keyless: {issuer: i, subject: s}\n  attestations: [{predicateType: p, conditions: [{path: x, regex: z}]}]\n".into(),
        format!("- image: a/*\n  signers: [{a}, {b}]\n"),
        format!("- image: a/*\n  signers: [{a}, {b}]\n  threshold: 2\n"),
        format!("- image: a/*\n  signers: [{b}, {a}]\n"),
        format!("- image: a/*\n  signers: [{a}]\n"),
    ];
    let fingerprints: Vec<[u8; 32]> = variants
        .iter()
        .map(|text| {
            Policy::parse(text)
                .unwrap_or_else(|e| panic!("{text}: {e}"))
                .rules()[0]
                .fingerprint()
        })
        .collect();
    for (i, one) in fingerprints.iter().enumerate() {
        for (j, other) in fingerprints.iter().enumerate().skip(i + 1) {
            assert_ne!(one, other, "{}\n{}", variants[i], variants[j]);
        }
    }
    // The same rule written otherwise has the same fingerprint.
    let reordered = Policy::parse(
        "- image: a/*\n  attestations: [{predicateType: p}]\n  keyless: {subject: s, issuer: i}\n",
    )
    .unwrap();
    assert_eq!(reordered.rules()[0].fingerprint(), fingerprints[5]);
}
