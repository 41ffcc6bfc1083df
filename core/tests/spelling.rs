//! Every spelling of a registry host that a runtime pulls from the same registry gets the same
//! rule, the same credentials and the same transport (issue 19, finding 1: a `deny` on
//! `ghcr.io/evil/*` was skipped by `GHCR.IO/evil/app:v1`).
//!
//! The regression tests answer without network (deny, no match and rule selection happen
//! before any I/O) except the last three, which reach the harness registries on 127.0.0.1
//! under the name `localhost`. The property tests generate references and small policies and
//! check that respelling the host (case, `:443`, port zeros, Docker Hub aliases, IPv6 zero
//! compression; tag and digest forms) never changes the reference or the first matching rule.

#![allow(
    clippy::unwrap_used,
    reason = "a test should stop at the first surprise"
)]

use crate::support;

use std::time::Duration;

use imagecheck::registry::{AuthSource, AuthSources};
use imagecheck::{Credentials, Engine, ErrorKind, Policy, Reference, Resolver, Verifier};
use proptest::prelude::*;
use support::harness;

const DIGEST: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// A verifier that can answer only without I/O: its resolver knows no registry, and every
/// test here uses references whose verdict comes from the rule alone.
fn offline_verifier(policy_json: &str) -> Verifier {
    Verifier::builder(Policy::parse(policy_json).unwrap())
        .resolver(Resolver::builder().build())
        .build()
}

/// Whether `reference` is denied by `policy_json`, answered without network.
async fn denied(policy_json: &str, reference: &str) -> bool {
    match offline_verifier(policy_json).verify(reference, None).await {
        Err(e) if e.kind() == ErrorKind::Denied => true,
        Ok(v) if !v.verified && v.message.contains("no rule matched") => false,
        other => panic!("{reference}: neither denied nor unmatched: {other:?}"),
    }
}

const DENY_GHCR_EVIL: &str = r#"[{"image": "ghcr.io/evil/*", "deny": true}]"#;

#[tokio::test]
async fn deny_on_ghcr_is_not_escaped_by_an_upper_case_host() {
    assert!(denied(DENY_GHCR_EVIL, "GHCR.IO/evil/app:v1").await);
}

#[tokio::test]
async fn deny_on_ghcr_is_not_escaped_by_a_mixed_case_host() {
    assert!(denied(DENY_GHCR_EVIL, "Ghcr.io/evil/app:v1").await);
}

#[tokio::test]
async fn deny_on_ghcr_is_not_escaped_by_the_default_https_port() {
    assert!(denied(DENY_GHCR_EVIL, "ghcr.io:443/evil/app:v1").await);
}

#[tokio::test]
async fn deny_on_ghcr_is_not_escaped_by_a_respelled_digest_reference() {
    assert!(denied(DENY_GHCR_EVIL, &format!("GHCR.IO:443/evil/app@{DIGEST}")).await);
}

#[tokio::test]
async fn deny_on_docker_hub_library_is_not_escaped_by_the_api_host_name() {
    let policy = r#"[{"image": "docker.io/library/*", "deny": true}]"#;
    assert!(denied(policy, "registry-1.docker.io/library/nginx").await);
}

#[tokio::test]
async fn a_talos_pattern_written_against_the_docker_hub_api_host_matches() {
    let policy = r#"[{"image": "registry-1.docker.io/library/*", "deny": true}]"#;
    assert!(denied(policy, "nginx").await);
}

#[test]
fn a_keyless_requirement_on_ghcr_applies_to_an_upper_case_host() {
    // A requirement (not only a deny) must be selected: "no rule matched" is not verified,
    // but a caller that treats only failures as fatal would let the image through.
    let policy = Policy::parse(
        r#"[{"image": "ghcr.io/evil/*",
             "keyless": {"issuer": "https://accounts.example", "subject": "me@example.com"}}]"#,
    )
    .unwrap();
    let reference = Reference::parse(&format!("GHCR.IO/evil/app@{DIGEST}")).unwrap();
    assert_eq!(policy.first_match(&reference).map(|r| r.index()), Some(0));
}

#[test]
fn credentials_given_for_an_upper_case_host_apply_to_its_references() {
    let credentials = Credentials::new("GHCR.IO", "me", "pw");
    let reference = Reference::parse("ghcr.io/org/app:v1").unwrap();
    assert!(credentials.applies_to(reference.registry()));
}

#[test]
fn insecure_registries_are_kept_in_the_form_references_compare() {
    let resolver = Resolver::builder()
        .insecure_registries(["GHCR.IO:443", " LocalHost:05000 ", "registry-1.docker.io"])
        .build();
    let mut listed: Vec<&str> = resolver
        .insecure_registries()
        .iter()
        .map(String::as_str)
        .collect();
    listed.sort_unstable();
    assert_eq!(listed, ["docker.io", "ghcr.io", "localhost:5000"]);
}

// ---- against the harness registries, named `localhost:PORT` -------------------------------

/// The harness host of `registry` (`127.0.0.1:PORT`) spelled `localhost:PORT`, with `case`
/// applied to `localhost`.
fn localhost(registry: &str, case: fn(&str) -> String) -> String {
    let host = harness().host(registry);
    let port = host.rsplit_once(':').unwrap().1;
    format!("{}:{port}", case("localhost"))
}

/// The reference of harness image `name`, on `host` instead of the harness's own spelling.
fn image_on(name: &str, host: &str) -> (String, String) {
    let image = harness().image(name);
    let path = image.reference.split_once('/').unwrap().1;
    (format!("{host}/{path}"), image.digest)
}

#[tokio::test]
async fn an_insecure_registry_listed_in_upper_case_is_reached_over_plain_http() {
    let listed = localhost("plain", |h| h.to_uppercase());
    let (reference, digest) = image_on("hello-oci", &localhost("plain", str::to_owned));
    let resolver = Resolver::builder().insecure_registry(listed).build();
    let got = resolver
        .resolve(&Engine::Registry, &reference, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(got.as_str(), digest);
}

#[tokio::test]
async fn credentials_for_an_upper_case_host_reach_the_registry() {
    let host = localhost("basic", str::to_owned);
    let (reference, digest) = image_on("basic-hello-oci", &host);
    let (user, password) = harness().user("basic");
    let credentials = Credentials::new(localhost("basic", |h| h.to_uppercase()), user, password);
    let resolver = Resolver::builder().insecure_registry(&host).build();
    let got = resolver
        .resolve_with(
            &Engine::Registry,
            &reference,
            Duration::ZERO,
            Some(&credentials),
        )
        .await
        .unwrap();
    assert_eq!(got.as_str(), digest);
}

#[tokio::test]
async fn a_config_json_entry_keyed_in_upper_case_is_used() {
    use base64::Engine as _;
    let host = localhost("basic", str::to_owned);
    let (reference, digest) = image_on("basic-hello-oci", &host);
    let (user, password) = harness().user("basic");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.json");
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let key = localhost("basic", |h| h.to_uppercase());
    std::fs::write(
        &config,
        format!(r#"{{"auths":{{"{key}":{{"auth":"{auth}"}}}}}}"#),
    )
    .unwrap();
    let resolver = Resolver::builder()
        .insecure_registry(&host)
        .auth_sources(AuthSources::new(vec![AuthSource::DockerConfig(config)]))
        .build();
    let got = resolver
        .resolve(&Engine::Registry, &reference, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(got.as_str(), digest);
}

// ---- property tests -----------------------------------------------------------------------

/// Canonical registries the generators respell, and the repositories they pair them with.
const HOSTS: &[&str] = &[
    "docker.io",
    "ghcr.io",
    "quay.io",
    "registry.example.com:5000",
    "localhost",
    "localhost:5000",
    "[fc00::1]:5000",
    "[2001:db8::1]",
];
const REPOSITORIES: &[&str] = &["evil/app", "library/nginx", "org/team/app", "app"];
/// Tag and digest forms (patterns never see them).
const SUFFIXES: &[&str] = &["", ":v1", "@D", ":v1@D"];

/// Docker Hub under every name it answers to.
const DOCKER_HUB_ALIASES: &[&str] = &[
    "docker.io",
    "index.docker.io",
    "registry-1.docker.io",
    "registry.hub.docker.com",
];
/// Spellings of the IPv6 hosts above, one for each.
const IPV6_SPELLINGS: &[(&str, &[&str])] = &[
    (
        "[fc00::1]",
        &[
            "[fc00::1]",
            "[FC00::1]",
            "[fc00:0::1]",
            "[fc00:0:0:0:0:0:0:0001]",
        ],
    ),
    (
        "[2001:db8::1]",
        &["[2001:db8::1]", "[2001:DB8::1]", "[2001:0db8:0:0::1]"],
    ),
];

/// How one spelling differs from the canonical form; every choice names the same registry.
#[derive(Debug, Clone)]
struct Respelling {
    /// Per byte of the host: flip its ASCII case.
    case_flips: Vec<bool>,
    /// Add `:443` to a host without a port.
    https_port: bool,
    /// Write a port with leading zeros.
    port_zeros: usize,
    /// Which Docker Hub alias / IPv6 spelling to use.
    variant: usize,
    /// For Docker Hub: drop the host (and `library/` for an official image).
    short: bool,
}

fn respelling() -> impl Strategy<Value = Respelling> {
    (
        prop::collection::vec(any::<bool>(), 32),
        any::<bool>(),
        0usize..3,
        0usize..8,
        any::<bool>(),
    )
        .prop_map(
            |(case_flips, https_port, port_zeros, variant, short)| Respelling {
                case_flips,
                https_port,
                port_zeros,
                variant,
                short,
            },
        )
}

/// `host` (canonical) as `how` spells it.
fn respell_host(host: &str, how: &Respelling) -> String {
    let (name, port) = match host.rfind(']').map_or(host.rfind(':'), |close| {
        host[close..].find(':').map(|c| close + c)
    }) {
        Some(colon) => (&host[..colon], Some(&host[colon + 1..])),
        None => (host, None),
    };
    let name = if name == "docker.io" {
        DOCKER_HUB_ALIASES[how.variant % DOCKER_HUB_ALIASES.len()].to_owned()
    } else if let Some((_, spellings)) = IPV6_SPELLINGS.iter().find(|(n, _)| *n == name) {
        spellings[how.variant % spellings.len()].to_owned()
    } else {
        name.to_owned()
    };
    let name: String = name
        .chars()
        .zip(how.case_flips.iter().cycle())
        .map(|(c, &flip)| match (flip, c.is_ascii_uppercase()) {
            (false, _) => c,
            (true, true) => c.to_ascii_lowercase(),
            (true, false) => c.to_ascii_uppercase(),
        })
        .collect();
    match port {
        Some(port) => format!("{name}:{}{port}", "0".repeat(how.port_zeros)),
        None if how.https_port => format!("{name}:{}443", "0".repeat(how.port_zeros)),
        None => name,
    }
}

/// The reference `host/repository suffix` as `how` spells it.
fn respell_reference(host: &str, repository: &str, suffix: &str, how: &Respelling) -> String {
    let suffix = suffix.replace('D', DIGEST);
    if host == "docker.io" && how.short {
        let short = repository.strip_prefix("library/").unwrap_or(repository);
        return format!("{short}{suffix}");
    }
    format!("{}/{repository}{suffix}", respell_host(host, how))
}

/// A rule's pattern: `host/` then `*`, the repository, or the repository's first component
/// and `*`, with the host respelled by `how` (`None`: written canonically).
fn pattern(host: &str, repository: &str, form: usize, how: Option<&Respelling>) -> String {
    let host = how.map_or_else(|| host.to_owned(), |how| respell_host(host, how));
    let first = repository.split('/').next().unwrap();
    match form % 4 {
        0 => format!("{host}/*"),
        1 => format!("{host}/{repository}"),
        2 => format!("{host}/{first}/*"),
        _ => format!("*/{repository}"),
    }
}

/// Rule specs: (host index, repository index, pattern form).
fn rules() -> impl Strategy<Value = Vec<(usize, usize, usize)>> {
    prop::collection::vec((0..HOSTS.len(), 0..REPOSITORIES.len(), 0usize..4), 1..6)
}

fn policy_of(patterns: &[String]) -> Policy {
    let rules: Vec<serde_json::Value> = patterns
        .iter()
        .map(|p| serde_json::json!({"image": p, "deny": true}))
        .collect();
    Policy::parse(&serde_json::Value::Array(rules).to_string()).unwrap()
}

fn first_match(policy: &Policy, reference: &Reference) -> Option<usize> {
    policy.first_match(reference).map(|rule| rule.index())
}

proptest! {
    // No failure file: the generators are small enough that a failure reproduces at once.
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    /// Every spelling parses to the very reference the canonical spelling gives, whose
    /// Display is canonical (no upper case, no `:443`, `docker.io` for Docker Hub).
    #[test]
    fn every_spelling_of_a_host_is_one_reference(
        host in 0..HOSTS.len(),
        repository in 0..REPOSITORIES.len(),
        suffix in 0..SUFFIXES.len(),
        how in respelling(),
    ) {
        let (host, repository, suffix) = (HOSTS[host], REPOSITORIES[repository], SUFFIXES[suffix]);
        let canonical_text = format!("{host}/{repository}{}", suffix.replace('D', DIGEST));
        let canonical = Reference::parse(&canonical_text).unwrap();
        let spelled = respell_reference(host, repository, suffix, &how);
        let parsed = Reference::parse(&spelled).unwrap();
        prop_assert_eq!(&parsed, &canonical, "{} vs {}", spelled, canonical_text);
        prop_assert_eq!(parsed.to_string(), canonical.to_string());
        prop_assert_eq!(parsed.registry(), host);
    }

    /// For a generated policy, every spelling of a reference gets the rule the canonical
    /// spelling gets, whether the policy's patterns are written canonically or respelled.
    #[test]
    fn every_spelling_of_a_host_gets_the_same_rule(
        host in 0..HOSTS.len(),
        repository in 0..REPOSITORIES.len(),
        suffix in 0..SUFFIXES.len(),
        how in respelling(),
        specs in rules(),
        pattern_spellings in prop::collection::vec(respelling(), 6),
    ) {
        let (host, repository, suffix) = (HOSTS[host], REPOSITORIES[repository], SUFFIXES[suffix]);
        let canonical_patterns: Vec<String> = specs
            .iter()
            .map(|&(h, r, form)| pattern(HOSTS[h], REPOSITORIES[r], form, None))
            .collect();
        let respelled_patterns: Vec<String> = specs
            .iter()
            .zip(&pattern_spellings)
            .map(|(&(h, r, form), how)| pattern(HOSTS[h], REPOSITORIES[r], form, Some(how)))
            .collect();
        let canonical_policy = policy_of(&canonical_patterns);
        let respelled_policy = policy_of(&respelled_patterns);

        let canonical =
            Reference::parse(&format!("{host}/{repository}{}", suffix.replace('D', DIGEST)))
                .unwrap();
        let spelled = Reference::parse(&respell_reference(host, repository, suffix, &how)).unwrap();
        let want = first_match(&canonical_policy, &canonical);
        prop_assert_eq!(first_match(&canonical_policy, &spelled), want);
        prop_assert_eq!(
            first_match(&respelled_policy, &spelled),
            want,
            "patterns {:?} (canonically {:?})",
            respelled_patterns,
            canonical_patterns
        );
    }
}

/// The generators above do reach matching rules: a property over "no rule matched" only
/// would hold trivially.
#[test]
fn the_generated_patterns_can_match() {
    let reference = Reference::parse("GHCR.IO:443/evil/app:v1").unwrap();
    let how = Respelling {
        case_flips: vec![true, false, true],
        https_port: true,
        port_zeros: 1,
        variant: 2,
        short: false,
    };
    for form in 0..3 {
        let p = pattern("ghcr.io", "evil/app", form, Some(&how));
        assert_eq!(
            first_match(&policy_of(std::slice::from_ref(&p)), &reference),
            Some(0),
            "{p}"
        );
    }
}
