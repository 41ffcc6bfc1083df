//! Mirrors against real Distribution registries: pull-through caches (`proxy.remoteurl`) in
//! front of an upstream this test starts (a copy of the harness's `plain` registry, signed
//! images and all), routed by a containers registries.conf and by a containerd hosts
//! directory. With the upstream stopped, resolve and verify (legacy and bundle signatures)
//! still succeed through the caches; a digest-only mirror is never asked for a tag; a blocked
//! registry is refused before any request; containerd's `ca` and `skip_verify` reach an HTTPS
//! mirror whose CA no trust store holds.

#![allow(
    clippy::unwrap_used,
    reason = "a test should stop at the first surprise"
)]

use crate::support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use imagecheck::{Engine, ErrorKind, Policy, Resolver, Verifier};
use support::distribution::{Distribution, copy_tree};
use support::{harness, log_offset, settle, signed, signed_image};

const FRESH: Duration = Duration::ZERO;

/// A policy trusting harness key `a` for the images `pattern` matches.
fn key_a_policy(pattern: &str) -> Policy {
    let key = std::fs::read_to_string(signed()["keys"]["a"]["public"].as_str().unwrap()).unwrap();
    let indented: String = key.lines().map(|l| format!("        {l}\n")).collect();
    Policy::parse(&format!(
        "rules:\n  - image: \"{pattern}\"\n    publicKey:\n      certificate: |\n{indented}"
    ))
    .unwrap()
}

/// `repository:tag` of a signed harness image (its registry is `plain`).
fn path_of(name: &str) -> String {
    let (reference, _) = signed_image(name);
    reference.split_once('/').unwrap().1.to_owned()
}

/// A verifier trusting key `a` for `host/signed/*`.
fn verifier(host: &str, resolver: Resolver) -> Verifier {
    Verifier::builder(key_a_policy(&format!("{host}/signed/*")))
        .resolver(resolver)
        .build()
}

/// Requests for manifests by tag (not by digest, not a `sha256-…` signature tag).
fn tag_requests(lines: &[String]) -> Vec<&String> {
    lines
        .iter()
        .filter(|l| l.contains("/manifests/") && !l.contains("/manifests/sha256"))
        .collect()
}

struct Caches {
    work: tempfile::TempDir,
    upstream: Distribution,
    /// Pull-through cache used for everything.
    all: Distribution,
    /// Pull-through cache configured digest-only.
    digests: Distribution,
}

fn start_caches() -> Caches {
    let work = tempfile::tempdir().unwrap();
    let storage = work.path().join("upstream-storage");
    copy_tree(&harness().dir.join("plain/storage"), &storage);
    let upstream = Distribution::start(work.path(), "upstream", &storage, None);
    let all = Distribution::start(
        work.path(),
        "cache-all",
        &work.path().join("cache-all-storage"),
        Some(&upstream.host),
    );
    let digests = Distribution::start(
        work.path(),
        "cache-digests",
        &work.path().join("cache-digests-storage"),
        Some(&upstream.host),
    );
    Caches {
        work,
        upstream,
        all,
        digests,
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test]
async fn resolve_and_verify_go_through_pull_through_caches_and_survive_the_upstream_stopping() {
    let mut caches = start_caches();
    let upstream = caches.upstream.host.clone();
    let conf = write(
        caches.work.path(),
        "registries.conf",
        &format!(
            r#"
[[registry]]
location = "{upstream}"
insecure = true
[[registry.mirror]]
location = "{digests}"
insecure = true
pull-from-mirror = "digest-only"
[[registry.mirror]]
location = "{all}"
insecure = true
"#,
            digests = caches.digests.host,
            all = caches.all.host
        ),
    );
    let through_conf = || Resolver::builder().registries_conf(&conf).build();
    let names = ["legacy", "bundle"];
    let expected: Vec<String> = names.iter().map(|n| signed_image(n).1).collect();
    let digests_offset = log_offset(&caches.digests.log);
    let upstream_offset = log_offset(&caches.upstream.log);

    // Warm the caches: the same calls with the upstream up.
    for (name, digest) in names.iter().zip(&expected) {
        let reference = format!("{upstream}/{}", path_of(name));
        let resolved = through_conf()
            .resolve(&Engine::Registry, &reference, FRESH)
            .await
            .unwrap();
        assert_eq!(resolved.as_str(), digest, "{name}");
        let verification = verifier(&upstream, through_conf())
            .verify(&reference, None)
            .await
            .unwrap();
        assert!(verification.verified, "{name}: {verification:?}");
        assert!(
            verification
                .message
                .contains("(served by mirror 127.0.0.1:"),
            "{name}: {}",
            verification.message
        );
    }
    settle();
    // The source itself is asked only what the caches said is not there (the referrers API,
    // which Distribution 2.8 lacks; a signature tag the image has not): everything that exists
    // came through a cache.
    for line in caches.upstream.requests(upstream_offset) {
        if line.contains("imagecheck/") {
            assert!(
                line.contains("\" 404 "),
                "the source answered us directly: {line}"
            );
        }
    }

    caches.upstream.stop();
    let digests_offset_stopped = log_offset(&caches.digests.log);
    for (name, digest) in names.iter().zip(&expected) {
        let reference = format!("{upstream}/{}", path_of(name));
        let resolved = through_conf()
            .resolve(&Engine::Registry, &reference, FRESH)
            .await
            .unwrap_or_else(|e| panic!("{name} with the upstream stopped: {e}"));
        assert_eq!(resolved.as_str(), digest, "{name}");
        let verification = verifier(&upstream, through_conf())
            .verify(&reference, None)
            .await
            .unwrap_or_else(|e| panic!("{name} with the upstream stopped: {e}"));
        assert!(verification.verified, "{name}: {verification:?}");
    }

    // The containerd spelling of the same route: hosts in file order, the digest-only cache
    // as a host without `resolve`.
    let hosts = caches.work.path().join("certs.d");
    write(
        &hosts,
        &format!("{upstream}/hosts.toml"),
        &format!(
            r#"
server = "http://{upstream}"

[host."http://{digests}"]
capabilities = ["pull"]

[host."http://{all}"]
capabilities = ["pull", "resolve"]
"#,
            digests = caches.digests.host,
            all = caches.all.host
        ),
    );
    let through_hosts = || Resolver::builder().hosts_dir(&hosts).build();
    for (name, digest) in names.iter().zip(&expected) {
        let reference = format!("{upstream}/{}", path_of(name));
        let resolved = through_hosts()
            .resolve(&Engine::Registry, &reference, FRESH)
            .await
            .unwrap_or_else(|e| panic!("{name} through hosts.toml: {e}"));
        assert_eq!(resolved.as_str(), digest, "{name}");
        let verification = verifier(&upstream, through_hosts())
            .verify(&reference, None)
            .await
            .unwrap_or_else(|e| panic!("{name} through hosts.toml: {e}"));
        assert!(verification.verified, "{name}: {verification:?}");
    }
    settle();

    // The digest-only cache served signature artifacts, and was never asked for a tag.
    let seen = caches.digests.requests(digests_offset);
    assert!(
        tag_requests(&seen).is_empty(),
        "the digest-only mirror was asked for tags: {:?}",
        tag_requests(&seen)
    );
    assert!(
        seen.iter().any(|l| l.contains("/manifests/sha256-")),
        "the digest-only mirror served no signature artifact: {seen:?}"
    );
    let served_stopped = caches.digests.requests(digests_offset_stopped);
    assert!(
        served_stopped
            .iter()
            .any(|l| l.contains("/manifests/sha256-") && l.contains("\" 200 ")),
        "with the upstream stopped the digest-only cache answered nothing: {served_stopped:?}"
    );
}

#[tokio::test]
async fn a_blocked_registry_is_refused_naming_the_file_and_entry_before_any_request() {
    let work = tempfile::tempdir().unwrap();
    let plain = harness().host("plain");
    let conf = write(
        work.path(),
        "registries.conf",
        &format!(
            "[[registry]]\nprefix = \"{plain}/test\"\nlocation = \"{plain}/test\"\nblocked = true\n"
        ),
    );
    let resolver = || {
        Resolver::builder()
            .insecure_registries(harness().hosts())
            .registries_conf(&conf)
            .build()
    };
    let log = harness().log("plain");
    let offset = log_offset(&log);
    let says_why = |text: String| {
        for needed in [
            format!("{plain}/test/hello is refused"),
            format!("blocked by {}", conf.display()),
            format!("prefix = \"{plain}/test\""),
        ] {
            assert!(text.contains(&needed), "{needed}: {text}");
        }
    };
    let reference = format!("{plain}/test/hello:v1");
    let err = resolver()
        .resolve(&Engine::Registry, &reference, FRESH)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
    says_why(err.to_string());
    let err = Verifier::builder(key_a_policy(&format!("{plain}/*")))
        .resolver(resolver())
        .build()
        .verify(&reference, None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
    says_why(err.to_string());
    // Another repository of the same registry is not under the prefix.
    let other = format!("{plain}/{}", path_of("legacy"));
    resolver()
        .resolve(&Engine::Registry, &other, FRESH)
        .await
        .unwrap();
    settle();
    let text = std::fs::read_to_string(&log).unwrap();
    let since = &text[offset as usize..];
    assert!(
        !since.contains("/v2/test/hello/"),
        "the blocked repository was contacted: {since}"
    );
}

#[tokio::test]
async fn containerd_ca_and_skip_verify_reach_an_https_mirror_no_trust_store_knows() {
    let tls = &harness().state["tls_registry"];
    let mirror = tls["host"].as_str().unwrap();
    let ca = tls["ca"].as_str().unwrap();
    let image = &tls["image"];
    let (path, digest) = (
        format!(
            "{}:{}",
            image["repository"].as_str().unwrap(),
            image["tag"].as_str().unwrap()
        ),
        image["digest"].as_str().unwrap().to_owned(),
    );
    // The source is a closed loopback port: only the mirror can answer.
    let closed = format!("127.0.0.1:{}", support::unused_port());
    let reference = format!("{closed}/{path}");
    let work = tempfile::tempdir().unwrap();
    let resolve_with = |settings: &str| {
        let dir = work.path().join(format!("hosts-{}", settings.len()));
        write(
            &dir,
            &format!("{closed}/hosts.toml"),
            &format!("[host.\"https://{mirror}\"]\n{settings}\n"),
        );
        let reference = reference.clone();
        async move {
            Resolver::builder()
                .hosts_dir(&dir)
                .request_timeout(Duration::from_secs(5))
                .build()
                .resolve(&Engine::Registry, &reference, FRESH)
                .await
        }
    };
    assert_eq!(
        resolve_with(&format!("ca = \"{ca}\""))
            .await
            .unwrap()
            .as_str(),
        digest
    );
    assert_eq!(
        resolve_with("skip_verify = true").await.unwrap().as_str(),
        digest
    );
    let err = resolve_with("").await.unwrap_err();
    assert!(
        err.to_string().contains(&format!("mirror {mirror}")),
        "the mirror's certificate is refused without its CA: {err}"
    );
}
