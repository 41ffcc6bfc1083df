//! The fleet's shared cache tier against a real `redis-server` (one per test, on 127.0.0.1 and
//! a unix socket, stopped by its PID) and the harness registries. Each resolver built here is
//! one node's local cache; tests with separate processes are in cli/tests/fleet.rs.
//!
//! Tests that read core's process-wide counters hold [`SERIAL`]: the others run beside them.

#![allow(
    clippy::unwrap_used,
    reason = "a test should stop at the first surprise"
)]
#![allow(
    clippy::await_holding_lock,
    reason = "SERIAL serialises whole tests, each on a runtime of its own: nothing else on that runtime waits for it"
)]

use crate::support;

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use imagecheck::shared_cache::SharedCacheUrl;
use imagecheck::{Credentials, Engine, ErrorKind, Policy, Resolver, Verifier};
use support::redis_server::RedisServer;
use support::{
    count_requests, harness, log_offset, requests_for, settle, signed_image, signed_policy,
};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

const MINUTE: Duration = Duration::from_secs(60);

/// A node: a resolver of its own (own local cache) using the tier at `url`.
fn node(url: &str) -> Resolver {
    harness()
        .resolver_builder()
        .shared_cache(SharedCacheUrl::parse(url).unwrap())
        .build()
}

/// A verifier of the key-a policy on `resolver`, accepting tags and listings a minute old and
/// keeping no verdict (every verify checks signatures again).
fn verifier(resolver: Resolver) -> Verifier {
    Verifier::builder(Policy::from_file(&signed_policy("key-a")).unwrap())
        .resolver(resolver)
        .resolve_ttl(MINUTE)
        .result_ttl(Duration::ZERO)
        .build()
}

fn plain() -> String {
    harness().host("plain")
}

/// HEADs of `repo`'s manifests on the plain registry since `offset`.
fn heads(offset: u64, repo: &str) -> usize {
    settle();
    count_requests(
        &harness().log("plain"),
        offset,
        &format!("HEAD /v2/{repo}/manifests/"),
    )
}

fn unix_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

/// `repo`'s tags t0..t{count-1}, fresh: `(reference, digest)` in order.
fn fresh_tags(repo: &str, count: usize) -> Vec<(String, String)> {
    let host = plain();
    let mut tags: Vec<(String, String)> = harness()
        .push_tags(repo, "t", count, repo)
        .into_iter()
        .map(|(tag, digest)| (format!("{host}/{repo}:{tag}"), digest))
        .collect();
    tags.sort();
    tags
}

async fn resolve_all(resolver: &Resolver, tags: &[(String, String)]) {
    for (reference, digest) in tags {
        let got = resolver
            .resolve(&Engine::Registry, reference, MINUTE)
            .await
            .unwrap_or_else(|e| panic!("{reference}: {e}"));
        assert_eq!(got.as_str(), digest, "{reference}");
    }
}

#[tokio::test]
async fn a_tag_one_node_resolved_reaches_another_over_tcp_a_unix_socket_and_resp3() {
    let redis = RedisServer::start();
    let mut nodes = Vec::new();
    for (repo, url) in [
        ("fleet/tcp", redis.url()),
        ("fleet/unix", redis.unix_url()),
        ("fleet/resp3", format!("{}/?protocol=resp3", redis.url())),
    ] {
        let tags = fresh_tags(repo, 3);
        let offset = log_offset(&harness().log("plain"));
        resolve_all(&node(&url), &tags).await;
        assert_eq!(
            heads(offset, repo),
            3,
            "{url}: the first node asks the registry"
        );
        let offset = log_offset(&harness().log("plain"));
        let second = node(&url);
        resolve_all(&second, &tags).await;
        assert_eq!(
            heads(offset, repo),
            0,
            "{url}: the second node asks the tier only"
        );
        nodes.push(second);
        assert_eq!(
            redis.keys(&format!("imagecheck:v1:tag:*/{repo}:*")).len(),
            3,
            "{url}"
        );
    }
    // The RESP3 node's connection said HELLO 3 (redis-server lists it with resp=3).
    let clients = redis.cli(&["CLIENT", "LIST"]);
    assert!(clients.contains("resp=3"), "{clients}");
}

/// A tier entry lives no longer than a caller's TTL allows: a node with a shorter TTL than
/// the entry's age asks the registry, and a zero TTL refreshes the entry for everyone.
#[tokio::test]
async fn each_callers_ttl_decides_against_the_entrys_resolve_time() {
    let redis = RedisServer::start();
    let repo = "fleet/ttl";
    let tags = fresh_tags(repo, 1);
    let (reference, old) = &tags[0];
    resolve_all(&node(&redis.url()), &tags).await;
    std::thread::sleep(Duration::from_millis(300));
    let moved = harness().push_tags(repo, "t", 1, "moved")["t0"].clone();
    assert_ne!(&moved, old);

    let offset = log_offset(&harness().log("plain"));
    let second = node(&redis.url());
    let within = second
        .resolve(&Engine::Registry, reference, MINUTE)
        .await
        .unwrap();
    // At once (the entry is 300 ms old, and the node's local copy of it must be as old): a
    // caller accepting 200 ms asks the registry.
    let short = second
        .resolve(&Engine::Registry, reference, Duration::from_millis(200))
        .await
        .unwrap();
    assert_eq!(
        within.as_str(),
        old,
        "within its TTL a node takes the tier's entry"
    );
    assert_eq!(
        short.as_str(),
        moved,
        "the entry is older than this caller accepts"
    );
    assert_eq!(heads(offset, repo), 1);
}

#[tokio::test]
async fn a_blob_entry_that_does_not_hash_to_its_digest_is_ignored_and_counted() {
    let _serial = serial();
    let redis = RedisServer::start();
    let (bundle, _) = signed_image("bundle");
    assert!(
        verifier(node(&redis.url()))
            .verify(&bundle, None)
            .await
            .unwrap()
            .verified
    );
    let blobs = redis.keys("imagecheck:v1:blob:*/signed/bundle@*");
    assert!(
        !blobs.is_empty(),
        "the first node shared the bundle's artifacts"
    );
    for key in &blobs {
        redis.cli(&["SET", key, "{\"forged\": true}"]);
    }

    let log = harness().log("plain");
    settle();
    let offset = log_offset(&log);
    let before = imagecheck::metrics::snapshot().shared_cache_rejected;
    let answer = verifier(node(&redis.url()))
        .verify(&bundle, None)
        .await
        .unwrap();
    assert!(answer.verified, "{answer:?}");
    let rejected = imagecheck::metrics::snapshot().shared_cache_rejected - before;
    assert_eq!(
        rejected,
        blobs.len() as u64,
        "each forged entry counted once"
    );
    settle();
    let fetched = requests_for(&log, offset, "signed/bundle");
    for key in &blobs {
        let digest = key.rsplit_once('@').unwrap().1;
        assert!(
            fetched.iter().any(|line| line.contains(digest)),
            "{digest} fetched from the registry instead: {fetched:#?}"
        );
    }
    // The registry's bytes replaced the forgery: a third node reads them from the tier.
    let offset = log_offset(&log);
    assert!(
        verifier(node(&redis.url()))
            .verify(&bundle, None)
            .await
            .unwrap()
            .verified
    );
    settle();
    let again = requests_for(&log, offset, "signed/bundle");
    assert!(
        again.iter().all(|line| !blobs
            .iter()
            .any(|k| line.contains(k.rsplit_once('@').unwrap().1))),
        "{again:#?}"
    );
}

#[tokio::test]
async fn a_tag_entry_pointing_at_an_unsigned_digest_fails_verification() {
    let redis = RedisServer::start();
    let (legacy, _) = signed_image("legacy");
    let (_, unsigned) = signed_image("moved");
    let key = format!("imagecheck:v1:tag:{legacy}");
    redis.cli(&["SET", &key, &format!("{} {unsigned}", unix_ms())]);
    let offset = log_offset(&harness().log("plain"));
    let answer = verifier(node(&redis.url())).verify(&legacy, None).await;
    assert_eq!(
        heads(offset, "signed/legacy"),
        0,
        "the tier's answer was used"
    );
    let error = answer.expect_err("a forged tag entry must never verify");
    assert_eq!(error.kind(), ErrorKind::VerificationFailed, "{error}");
    // The signatures looked for were the forged digest's.
    let asked = requests_for(&harness().log("plain"), offset, "signed/legacy");
    let hex = unsigned.trim_start_matches("sha256:");
    assert!(asked.iter().any(|l| l.contains(hex)), "{asked:#?}");
}

/// A listing is not content-addressed: a writer can put any manifest under it. Replaying the
/// signed image's `.sig` manifest as the listing of an unsigned digest verifies nothing: each
/// candidate is checked against the digest being verified.
#[tokio::test]
async fn a_listing_replaying_another_images_signature_verifies_nothing() {
    let redis = RedisServer::start();
    let (legacy, signed_digest) = signed_image("legacy");
    assert!(
        verifier(node(&redis.url()))
            .verify(&legacy, None)
            .await
            .unwrap()
            .verified
    );
    let name = legacy.rsplit_once(':').unwrap().0;
    let hex = |d: &str| d.trim_start_matches("sha256:").to_owned();
    let listing = |d: &str| format!("imagecheck:v1:listing:{name}:sha256-{}.sig", hex(d));
    let signature = redis.cli(&["GET", &listing(&signed_digest)]);
    let body = signature.split_once('\n').unwrap().1;
    let (_, unsigned) = signed_image("moved");
    redis.cli(&[
        "SET",
        &listing(&unsigned),
        &format!("{} 1\n{body}", unix_ms()),
    ]);

    let pinned = format!("{name}@{unsigned}");
    let error = verifier(node(&redis.url()))
        .verify(&pinned, None)
        .await
        .expect_err("a replayed signature must never verify");
    assert_eq!(error.kind(), ErrorKind::VerificationFailed, "{error}");
    let checks: Vec<&str> = error.failures().iter().map(|f| f.failure.check()).collect();
    assert_eq!(checks, ["digest_mismatch"], "{error}");
}

#[tokio::test]
async fn nothing_read_with_credentials_reaches_the_tier() {
    use base64::Engine as _;
    let redis = RedisServer::start();
    let h = harness();
    let (user, password) = h.user("basic");
    let private = h.image("basic-hello-oci");
    let per_call = Credentials::new(h.host("basic"), &user, &password);
    let resolver = node(&redis.url());
    let got = resolver
        .resolve_with(
            &Engine::Registry,
            &private.reference,
            MINUTE,
            Some(&per_call),
        )
        .await
        .unwrap();
    assert_eq!(got.as_str(), private.digest);
    let (bob, bob_password) = h.user("token");
    let (signed_private, _) = signed_image("private");
    let token = Credentials::new(h.host("token"), &bob, &bob_password);
    assert!(
        verifier(resolver.clone())
            .verify(&signed_private, Some(&token))
            .await
            .unwrap()
            .verified
    );

    // Configured credentials (an auth.json entry for the registry) are not shared either.
    let dir = tempfile::tempdir().unwrap();
    let auth = dir.path().join("auth.json");
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    std::fs::write(
        &auth,
        format!(
            r#"{{"auths":{{"{}":{{"auth":"{encoded}"}}}}}}"#,
            h.host("basic")
        ),
    )
    .unwrap();
    let configured = h
        .resolver_builder()
        .auth_sources(imagecheck::registry::AuthSources::new(vec![
            imagecheck::registry::AuthSource::ContainersAuth(auth),
        ]))
        .shared_cache(SharedCacheUrl::parse(&redis.url()).unwrap())
        .build();
    let got = configured
        .resolve(&Engine::Registry, &private.reference, MINUTE)
        .await
        .unwrap();
    assert_eq!(got.as_str(), private.digest);

    // The scan can see keys: an anonymous answer from the plain registry is there.
    let public = fresh_tags("fleet/public", 1);
    resolve_all(&resolver, &public).await;
    let keys = redis.keys("imagecheck:*");
    assert!(keys.iter().any(|k| k.contains("fleet/public")), "{keys:#?}");
    for host in [h.host("basic"), h.host("token")] {
        assert!(keys.iter().all(|k| !k.contains(&host)), "{host}: {keys:#?}");
    }
    assert!(keys.iter().all(|k| !k.contains("private")), "{keys:#?}");
}

#[tokio::test]
async fn a_wrong_password_degrades_to_the_registry_and_a_password_file_works() {
    let _serial = serial();
    let redis = RedisServer::with_password("right-horse-battery");
    let tags = fresh_tags("fleet/password", 3);
    let wrong = format!("redis://:wrong-staple@127.0.0.1:{}", redis.port);
    let errors = imagecheck::metrics::snapshot().shared_cache_errors;
    let offset = log_offset(&harness().log("plain"));
    resolve_all(&node(&wrong), &tags).await;
    resolve_all(&node(&wrong), &tags).await;
    assert_eq!(
        heads(offset, "fleet/password"),
        6,
        "every node asked the registry"
    );
    assert!(imagecheck::metrics::snapshot().shared_cache_errors > errors);
    assert!(redis.keys("imagecheck:*").is_empty());

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("password");
    std::fs::write(&file, "right-horse-battery\n").unwrap();
    let with_file = || {
        harness()
            .resolver_builder()
            .shared_cache(SharedCacheUrl::parse(&redis.url()).unwrap())
            .shared_cache_password_file(&file)
            .build()
    };
    resolve_all(&with_file(), &tags).await;
    let offset = log_offset(&harness().log("plain"));
    resolve_all(&with_file(), &tags).await;
    assert_eq!(
        heads(offset, "fleet/password"),
        0,
        "the password file's password works"
    );
}

/// Sequential resolves on one node while its tier is gone: every call answers, the breaker
/// opens after three failures, and no call after that touches the tier.
async fn resolves_without_the_tier(resolver: &Resolver, tags: &[(String, String)]) -> Duration {
    let errors = imagecheck::metrics::snapshot().shared_cache_errors;
    let mut slowest = Duration::ZERO;
    for (reference, digest) in tags {
        let started = Instant::now();
        let got = resolver
            .resolve(&Engine::Registry, reference, MINUTE)
            .await
            .unwrap_or_else(|e| panic!("{reference}: {e}"));
        slowest = slowest.max(started.elapsed());
        assert_eq!(got.as_str(), digest, "{reference}");
    }
    let failed = imagecheck::metrics::snapshot().shared_cache_errors - errors;
    assert_eq!(
        failed, 3,
        "three failures open the breaker; later calls skip the tier"
    );
    slowest
}

#[tokio::test]
async fn a_tier_killed_mid_run_costs_no_call() {
    let _serial = serial();
    let mut redis = RedisServer::start();
    let tags = fresh_tags("fleet/killed", 10);
    let resolver = node(&redis.url());
    resolve_all(&resolver, &tags[..5]).await;
    redis.kill();
    let slowest = resolves_without_the_tier(&resolver, &tags[5..]).await;
    assert!(slowest < Duration::from_secs(2), "{slowest:?}");
}

#[tokio::test]
async fn a_tier_that_stops_answering_costs_a_call_at_most_its_timeout() {
    let _serial = serial();
    let redis = RedisServer::start();
    let tags = fresh_tags("fleet/stopped", 8);
    let resolver = node(&format!("{}/?timeout_ms=100", redis.url()));
    resolve_all(&resolver, &tags[..2]).await;
    // SIGSTOP: connections stay open, nothing answers (a hung or unreachable tier).
    let pid = redis.pid() as libc::pid_t;
    // SAFETY: a signal to the child this test started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGSTOP) }, 0);
    let slowest = resolves_without_the_tier(&resolver, &tags[2..]).await;
    // SAFETY: as above.
    unsafe { libc::kill(pid, libc::SIGCONT) };
    // The timeout plus a loopback registry round trip, with room for a loaded machine.
    assert!(slowest < Duration::from_millis(100 + 900), "{slowest:?}");
}
