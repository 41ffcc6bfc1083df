//! `keyless.certificateExtensions` on real certificates: every Fulcio extension matched in a
//! sigstore bundle (kubewarden, public-good, offline) and in a legacy `.sig` signature
//! (salrashid123 GitHub Actions, offline); each field, changed alone, refuses the signature.
//! The same through the Verifier, on a test-CA leaf signed by real cosign: keyless_cosign.rs.

#![allow(
    clippy::unwrap_used,
    reason = "a test should stop at the first surprise"
)]

use crate::fixtures;

use bytes::Bytes;
use fixtures::{digest_file, legacy_case, public_good, read};
use imagecheck::Digest;
use imagecheck::verify::internals::check;
use imagecheck::verify::internals::discovery::{BundleSignature, Candidate};
use imagecheck::verify::{
    CandidateFailure, CertificateExtension, IdentityField, KeylessIdentity, Policy, RuleAction,
};
use serde_json::{Map, Value, json};

const KUBEWARDEN: &str = "bundle-v03-image/kubewarden-controller-v1.34.0";
const GITHUB_ACTIONS: &str = "https://token.actions.githubusercontent.com";

/// A keyless identity requiring `extensions`, through the policy loader.
fn identity(issuer: &str, subject: &str, extensions: &Map<String, Value>) -> KeylessIdentity {
    let doc = json!({"rules": [{"image": "*", "keyless": {
        "issuer": issuer, "subject": subject, "certificateExtensions": extensions}}]});
    let policy = Policy::parse(&doc.to_string()).unwrap();
    match policy.rules()[0].action() {
        RuleAction::Keyless(identity) => identity.clone(),
        other => panic!("not keyless: {other:?}"),
    }
}

/// The values GitHub Actions gave a release workflow of `repo` at `tag`, commit `sha`.
fn github_values(
    repo: &str,
    workflow: &str,
    tag: &str,
    sha: &str,
    ids: (&str, &str),
    run: &str,
) -> Map<String, Value> {
    let url = format!("https://github.com/{repo}");
    let owner = repo.split('/').next().unwrap();
    let signer = format!("{url}/.github/workflows/{workflow}@refs/tags/{tag}");
    let values = [
        ("issuer", GITHUB_ACTIONS.to_owned()),
        ("buildSignerURI", signer.clone()),
        ("buildSignerDigest", sha.into()),
        ("runnerEnvironment", "github-hosted".into()),
        ("sourceRepositoryURI", url.clone()),
        ("sourceRepositoryDigest", sha.into()),
        ("sourceRepositoryRef", format!("refs/tags/{tag}")),
        ("sourceRepositoryIdentifier", ids.0.into()),
        (
            "sourceRepositoryOwnerURI",
            format!("https://github.com/{owner}"),
        ),
        ("sourceRepositoryOwnerIdentifier", ids.1.into()),
        ("buildConfigURI", signer),
        ("buildConfigDigest", sha.into()),
        ("buildTrigger", "push".into()),
        (
            "runInvocationURI",
            format!("{url}/actions/runs/{run}/attempts/1"),
        ),
        ("sourceRepositoryVisibilityAtSigning", "public".into()),
        ("githubWorkflowTrigger", "push".into()),
        ("githubWorkflowSHA", sha.into()),
        ("githubWorkflowName", "Release".into()),
        ("githubWorkflowRepository", repo.into()),
        ("githubWorkflowRef", format!("refs/tags/{tag}")),
    ];
    assert_eq!(values.len(), CertificateExtension::all().count());
    values
        .into_iter()
        .map(|(k, v)| (k.to_owned(), Value::String(v)))
        .collect()
}

/// Every extension as given passes; each one changed alone is an identity mismatch naming it.
fn each_field_alone(
    values: &Map<String, Value>,
    check: impl Fn(&Map<String, Value>) -> Result<(), CandidateFailure>,
) {
    check(values).unwrap_or_else(|e| panic!("all extensions as given: {e}"));
    for name in values.keys() {
        let mut changed = values.clone();
        changed.insert(name.clone(), "a-value-nobody-has".into());
        match check(&changed) {
            Err(CandidateFailure::IdentityMismatch(m)) => {
                let expected = CertificateExtension::from_name(name).unwrap();
                assert_eq!(m.field, IdentityField::Extension(expected), "{name}");
            }
            other => panic!("{name} changed: {other:?}"),
        }
        // The regex form, anchored to the real value, passes.
        let mut regex = values.clone();
        let value = regex.remove(name).unwrap();
        regex.insert(
            format!("{name}Regex"),
            format!("^{}$", regex_escape(value.as_str().unwrap())).into(),
        );
        check(&regex).unwrap_or_else(|e| panic!("{name}Regex: {e}"));
    }
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$#&-~".contains(c);
            special.then_some('\\').into_iter().chain([c])
        })
        .collect()
}

#[test]
fn every_extension_of_a_real_bundle_certificate_alone() {
    let json = read(&format!("{KUBEWARDEN}/bundle.sigstore.json"));
    let digest = digest_file(&format!("{KUBEWARDEN}/image-digest.txt"));
    let candidate = Candidate::Bundle(BundleSignature {
        json: Bytes::from(json.clone()),
        manifest_digest: Digest::sha256_of(&json),
    });
    let values = github_values(
        "kubewarden/kubewarden-controller",
        "release.yml",
        "v1.34.0",
        "2a6b879b7a5ef59d7fb348d0b5d14314538ac0a6",
        ("318490971", "80915497"),
        "24177081968",
    );
    let subject = values["buildSignerURI"].as_str().unwrap().to_owned();
    each_field_alone(&values, |extensions| {
        let id = identity(GITHUB_ACTIONS, &subject, extensions);
        check::keyless(&candidate, &digest, &id, &public_good()).map(drop)
    });
}

#[test]
fn every_extension_of_a_real_legacy_certificate_alone() {
    let (legacy, digest) = legacy_case("salrashid123-server_image-gha-v0.0.14");
    let candidate = Candidate::Legacy(legacy);
    let values = github_values(
        "salrashid123/go-bazel-github-workflow",
        "release.yaml",
        "v0.0.14",
        "291dab9af96caa83aef0968dc1f757039d3c166b",
        ("1150755799", "11149054"),
        "21754308976",
    );
    let subject = values["buildSignerURI"].as_str().unwrap().to_owned();
    each_field_alone(&values, |extensions| {
        let id = identity(GITHUB_ACTIONS, &subject, extensions);
        check::keyless(&candidate, &digest, &id, &public_good()).map(drop)
    });
}

/// An email certificate (a person, not a workflow) has no CI extension: a rule asking for one
/// never passes on it.
#[test]
fn a_certificate_without_the_extension_never_matches() {
    let (legacy, digest) = legacy_case("salrashid123-server_image-email");
    let mut extensions = Map::new();
    extensions.insert("sourceRepositoryRefRegex".into(), ".*".into());
    let id = identity(
        "https://github.com/login/oauth",
        "salrashid123@gmail.com",
        &extensions,
    );
    let err = check::keyless(&Candidate::Legacy(legacy), &digest, &id, &public_good()).unwrap_err();
    let CandidateFailure::IdentityMismatch(m) = err else {
        panic!("{err:?}");
    };
    assert!(m.found.is_empty(), "{m}");
    assert!(
        m.to_string()
            .contains("the certificate has no sourceRepositoryRef extension"),
        "{m}"
    );
}
