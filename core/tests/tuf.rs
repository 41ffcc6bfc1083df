//! The TUF-refreshed trusted root, end to end: a TUF repository made by python-tuf
//! (tests/harness/tuf_repo.py) served over loopback HTTP, the harness registry, and
//! keyless-style signatures by real cosign with the harness's test CA (sign.py, testca.py).
//!
//! Each repository starts with a target listing an unrelated CA only, so the test CA's
//! signatures fail until a refresh brings a target that lists it. Every test has its own
//! repository and cache directory.

#![allow(
    clippy::unwrap_used,
    reason = "a test should stop at the first surprise"
)]

use crate::support;
use crate::tuf_repo;

use std::path::Path;
use std::time::{Duration, Instant};

use imagecheck::verify::tuf::TufRepository;
use imagecheck::verify::{TrustedRoot, VerificationFailure};
use imagecheck::{Error, ErrorKind, Policy, Verifier};
use support::{harness, signed, signed_image};
use tuf_repo::TufRepo;

const EMAIL_ISSUER: &str = "https://issuer.imagecheck.test/email";
const EMAIL_SUBJECT: &str = "signer@imagecheck.test";

/// A keyless rule for the test CA's email signer and a public-key rule for key `a`.
fn policy() -> Policy {
    let host = harness().host("plain");
    let key = std::fs::read_to_string(signed()["keys"]["a"]["public"].as_str().unwrap()).unwrap();
    let key = key.lines().collect::<Vec<_>>().join("\n          ");
    Policy::parse(&format!(
        r#"rules:
  - image: "{host}/keyless/*"
    keyless: {{issuer: "{EMAIL_ISSUER}", subject: "{EMAIL_SUBJECT}"}}
  - image: "{host}/signed/*"
    publicKey:
      certificate: |
          {key}
"#
    ))
    .unwrap()
}

fn repository(repo: &TufRepo, cache: &Path, interval: Duration) -> TufRepository {
    TufRepository::new(&repo.url(), std::fs::read(repo.initial_root()).unwrap())
        .unwrap()
        .cache_dir(cache)
        .refresh_interval(interval)
}

fn verifier(repository: TufRepository) -> Verifier {
    Verifier::builder(policy())
        .resolver(harness().resolver_builder().build())
        .tuf(repository)
        .result_ttl(Duration::ZERO)
        .build()
}

fn test_ca() -> String {
    signed()["trust_roots"]["test-ca"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The keyless image's verify: Ok(verified) or the error.
async fn keyless(v: &Verifier) -> Result<bool, Error> {
    v.verify(&signed_image("keyless-email").0, None)
        .await
        .map(|v| v.verified)
}

/// A keyless verify that fails because the test CA is not (yet) trusted.
async fn untrusted(v: &Verifier) {
    let error = keyless(v).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::VerificationFailed, "{error}");
    assert!(
        error.to_string().contains("untrusted certificate"),
        "{error}"
    );
}

async fn refreshed(v: &Verifier) {
    assert!(
        v.wait_for_trusted_root_refresh(Duration::from_secs(30))
            .await
    );
}

#[tokio::test]
async fn the_first_fetch_is_kept_on_disk_and_read_back_offline() {
    let mut repo = TufRepo::start();
    let cache = tempfile::tempdir().unwrap();
    let v = verifier(repository(&repo, cache.path(), Duration::from_secs(3600)));
    assert!(v.tuf_status().unwrap().fetched_at.is_none());
    // A private repository has no embedded copy: the first keyless verify waits for it.
    untrusted(&v).await;
    let status = v.tuf_status().unwrap();
    assert_eq!(status.root_version, Some(1), "{status:?}");
    assert_eq!(status.last_failure, None);
    assert_eq!(
        v.trusted_root(),
        TrustedRoot::from_json(&repo.served_target()).unwrap()
    );
    // Root, timestamp, snapshot, targets and the target, once each.
    assert_eq!(status.last_refresh_requests, Some(5), "{status:?}");

    // A new process, the repository gone: the copy on disk is checked and used at once.
    repo.stop();
    let again = verifier(repository(&repo, cache.path(), Duration::from_secs(3600)));
    let status = again.tuf_status().unwrap();
    assert_eq!(status.root_version, Some(1), "{status:?}");
    assert!(!status.refreshing, "not due: no request at all");
    assert_eq!(again.trusted_root(), v.trusted_root());
    untrusted(&again).await;
}

#[tokio::test]
async fn a_new_fulcio_ca_verifies_after_the_refresh() {
    let repo = TufRepo::start();
    let cache = tempfile::tempdir().unwrap();
    let v = verifier(repository(&repo, cache.path(), Duration::ZERO));
    untrusted(&v).await;
    repo.change("add-ca", &["--from", &test_ca()]);
    // The copy in force is valid: this verify starts a refresh and does not wait for it.
    untrusted(&v).await;
    refreshed(&v).await;
    assert!(
        keyless(&v).await.unwrap(),
        "the new CA is trusted once refreshed"
    );
}

#[tokio::test]
async fn a_rotated_root_key_is_followed() {
    let repo = TufRepo::start();
    let cache = tempfile::tempdir().unwrap();
    let v = verifier(repository(&repo, cache.path(), Duration::ZERO));
    untrusted(&v).await;
    repo.change("rotate-root", &[]);
    repo.change("add-ca", &["--from", &test_ca()]);
    untrusted(&v).await;
    refreshed(&v).await;
    let status = v.tuf_status().unwrap();
    assert_eq!(status.root_version, Some(2), "{status:?}");
    assert!(keyless(&v).await.unwrap());
}

#[tokio::test]
async fn a_root_not_signed_by_the_old_key_is_refused_and_the_old_root_kept() {
    let repo = TufRepo::start();
    let cache = tempfile::tempdir().unwrap();
    let v = verifier(repository(&repo, cache.path(), Duration::ZERO));
    untrusted(&v).await;
    repo.change("rotate-root", &["--only-new-key"]);
    repo.change("add-ca", &["--from", &test_ca()]);
    untrusted(&v).await;
    refreshed(&v).await;
    let status = v.tuf_status().unwrap();
    assert_eq!(status.root_version, Some(1), "{status:?}");
    let failure = status.last_failure.unwrap();
    assert!(failure.contains("root"), "{failure}");
    // The old copy stays in force: the test CA is still not trusted.
    untrusted(&v).await;
}

#[tokio::test]
async fn an_expired_timestamp_fails_keyless_rules_closed_and_leaves_key_rules_alone() {
    let repo = TufRepo::start();
    repo.change("add-ca", &["--from", &test_ca()]);
    repo.change("timestamp", &["--expires-in", "3"]);
    let cache = tempfile::tempdir().unwrap();
    let v = verifier(repository(&repo, cache.path(), Duration::from_secs(3600)));
    assert!(keyless(&v).await.unwrap(), "valid for a few seconds");
    let expires = v.tuf_status().unwrap().expires.unwrap();
    repo.change("timestamp", &["--expires-in", "-60"]);
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    };
    while now() <= expires {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let error = keyless(&v).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::VerificationFailed, "{error}");
    let Error::VerificationFailed {
        failure: VerificationFailure::TrustedRootUnavailable { reason, .. },
        ..
    } = &error
    else {
        panic!("not a trusted root failure: {error:?}");
    };
    assert!(reason.contains("expired at"), "{reason}");
    assert!(reason.contains("timestamp metadata is expired"), "{reason}");
    assert!(
        reason.contains("public-key rules are unaffected"),
        "{reason}"
    );
    let key_rule = v.verify(&signed_image("legacy").0, None).await.unwrap();
    assert!(key_rule.verified, "{key_rule:?}");
}

#[tokio::test]
async fn a_tampered_target_is_refused_and_the_old_root_kept() {
    let repo = TufRepo::start();
    let cache = tempfile::tempdir().unwrap();
    let v = verifier(repository(&repo, cache.path(), Duration::ZERO));
    untrusted(&v).await;
    let before = v.trusted_root();
    repo.change("add-ca", &["--from", &test_ca()]);
    repo.change("tamper-target", &[]);
    untrusted(&v).await;
    refreshed(&v).await;
    let failure = v.tuf_status().unwrap().last_failure.unwrap();
    assert!(failure.contains("Hash mismatch"), "{failure}");
    assert_eq!(v.trusted_root(), before);
    untrusted(&v).await;
    // The copy on disk is still the old one, and still checks.
    let again = verifier(repository(&repo, cache.path(), Duration::from_secs(3600)));
    assert_eq!(again.trusted_root(), before);
}

/// The repository's port taken over by a listener that never answers: a refresh hangs until
/// its request timeout. Verifies with a valid copy must not notice.
#[tokio::test]
async fn a_hanging_repository_with_a_valid_copy_costs_verifies_nothing() {
    let mut repo = TufRepo::start();
    repo.change("add-ca", &["--from", &test_ca()]);
    let cache = tempfile::tempdir().unwrap();
    let first = verifier(repository(&repo, cache.path(), Duration::from_secs(3600)));
    assert!(keyless(&first).await.unwrap());
    let root = first.trusted_root();
    repo.stop();
    let _silent = std::net::TcpListener::bind(("127.0.0.1", repo.port())).unwrap();

    // Interval zero: every verify finds a refresh due; the first one starts it.
    let tuf = verifier(repository(&repo, cache.path(), Duration::ZERO));
    let fixed = Verifier::builder(policy())
        .resolver(harness().resolver_builder().build())
        .trusted_root(root)
        .result_ttl(Duration::ZERO)
        .build();
    let (reference, digest) = signed_image("keyless-email");
    let pinned = format!("{}@{digest}", reference.rsplit_once(':').unwrap().0);
    let times = |v: Verifier| {
        let pinned = pinned.clone();
        async move {
            let mut took = Vec::new();
            for _ in 0..7 {
                let started = Instant::now();
                assert!(v.verify(&pinned, None).await.unwrap().verified);
                took.push(started.elapsed());
            }
            took.sort();
            took[took.len() / 2]
        }
    };
    let with_fixed_root = times(fixed).await;
    let with_tuf = times(tuf.clone()).await;
    assert!(
        tuf.tuf_status().unwrap().refreshing,
        "the refresh hangs meanwhile"
    );
    assert!(
        with_tuf <= with_fixed_root * 2 + Duration::from_millis(20),
        "median verify {with_tuf:?} with TUF, {with_fixed_root:?} with a fixed root"
    );
}
