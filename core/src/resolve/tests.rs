//! Resolver semantics with an in-process counting engine: TTL per call, refresh, single-flight,
//! failures not cached, credentials keyed. Registry behaviour is tested against real
//! registries in core/tests/.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::*;
use crate::error::{CauseKind, ErrorKind};

#[derive(Debug, Default)]
struct Counting {
    calls: AtomicUsize,
    /// The digest answered is derived from the call number, so a re-resolve is visible.
    fail: std::sync::atomic::AtomicBool,
    delay_ms: u64,
}

impl DigestSource for Counting {
    fn resolve<'a>(
        &'a self,
        request: ResolveRequest<'a>,
    ) -> BoxFuture<'a, std::result::Result<Digest, DigestCause>> {
        Box::pin(async move {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            if self.delay_ms > 0 {
                tokio::time::sleep(Duration::from_millis(self.delay_ms)).await;
            }
            if self.fail.load(Ordering::SeqCst) {
                return Err(DigestCause::new(CauseKind::Network, "down"));
            }
            let who = request
                .credentials
                .map(|c| c.username().to_owned())
                .unwrap_or_default();
            Ok(Digest::sha256_of(
                format!("{}#{n}#{who}", request.reference).as_bytes(),
            ))
        })
    }
}

fn setup(delay_ms: u64) -> (Resolver, Arc<Counting>, Arc<ManualClock>, Engine) {
    let counting = Arc::new(Counting {
        delay_ms,
        ..Default::default()
    });
    let clock = Arc::new(ManualClock::new());
    let resolver = Resolver::builder()
        .clock(clock.clone())
        .engine("counting", counting.clone())
        .build();
    (
        resolver,
        counting,
        clock,
        Engine::parse("counting").unwrap(),
    )
}

#[tokio::test]
async fn serves_within_ttl_and_re_resolves_after() {
    let (r, c, clock, e) = setup(0);
    let ttl = Duration::from_secs(30);
    let first = r.resolve(&e, "example.com/app:1", ttl).await.unwrap();
    clock.advance(Duration::from_secs(29));
    assert_eq!(
        r.resolve(&e, "example.com/app:1", ttl).await.unwrap(),
        first
    );
    assert_eq!(c.calls.load(Ordering::SeqCst), 1);
    clock.advance(Duration::from_secs(1));
    let second = r.resolve(&e, "example.com/app:1", ttl).await.unwrap();
    assert_ne!(second, first, "an entry as old as the TTL is stale");
    assert_eq!(c.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn zero_ttl_re_resolves_and_refreshes_for_others() {
    let (r, c, clock, e) = setup(0);
    let long = Duration::from_secs(3600);
    let first = r.resolve(&e, "example.com/app:1", long).await.unwrap();
    clock.advance(Duration::from_secs(100));
    let fresh = r
        .resolve(&e, "example.com/app:1", Duration::ZERO)
        .await
        .unwrap();
    assert_ne!(fresh, first);
    // A caller with a 200 s TTL now sees the fresh answer (stored 0 s ago), not the old one.
    assert_eq!(
        r.resolve(&e, "example.com/app:1", Duration::from_secs(200))
            .await
            .unwrap(),
        fresh
    );
    // And a caller with a 50 s TTL after 60 s more sees neither.
    clock.advance(Duration::from_secs(60));
    let third = r
        .resolve(&e, "example.com/app:1", Duration::from_secs(50))
        .await
        .unwrap();
    assert_ne!(third, fresh);
    assert_eq!(c.calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn different_spellings_share_one_entry() {
    let (r, c, _, e) = setup(0);
    let ttl = Duration::from_secs(30);
    let a = r.resolve(&e, "nginx", ttl).await.unwrap();
    let b = r
        .resolve(&e, "docker.io/library/nginx:latest", ttl)
        .await
        .unwrap();
    let d = r
        .resolve(&e, "index.docker.io/library/nginx", ttl)
        .await
        .unwrap();
    assert_eq!((a.clone(), a), (b, d));
    assert_eq!(c.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_misses_share_one_request() {
    let (r, c, _, e) = setup(50);
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let (r, e) = (r.clone(), e.clone());
        tasks.push(tokio::spawn(async move {
            r.resolve(&e, "example.com/app:1", Duration::from_secs(30))
                .await
        }));
    }
    let mut answers = std::collections::HashSet::new();
    for t in tasks {
        answers.insert(t.await.unwrap().unwrap());
    }
    assert_eq!(answers.len(), 1);
    assert_eq!(c.calls.load(Ordering::SeqCst), 1);
}

/// A caller that misses the cache while a flight is storing its answer, and looks for the
/// flight just after it finished, must find the answer, not start a second request: the flight
/// stores before it finishes, and a caller that finds no flight looks in the cache again. With
/// an engine that answers at once, arrivals overlap the end of the flight in every round.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_arriving_as_a_flight_ends_gets_its_answer() {
    let (r, c, _clock, e) = setup(0);
    let ttl = Duration::from_secs(60);
    for round in 0..300 {
        let reference = format!("example.com/app:{round}");
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let (r, e, reference) = (r.clone(), e.clone(), reference.clone());
                tokio::spawn(async move { r.resolve(&e, &reference, ttl).await })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        assert_eq!(
            c.calls.load(Ordering::SeqCst),
            round + 1,
            "round {round}: one engine call for 16 concurrent resolves"
        );
    }
}

#[tokio::test]
async fn failures_are_not_cached_and_carry_the_cause() {
    let (r, c, _, e) = setup(0);
    c.fail.store(true, Ordering::SeqCst);
    let err = r
        .resolve(&e, "example.com/app:1", Duration::from_secs(30))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DigestUnavailable);
    assert_eq!(err.digest_cause().unwrap().kind, CauseKind::Network);
    c.fail.store(false, Ordering::SeqCst);
    r.resolve(&e, "example.com/app:1", Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(c.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn cancelled_flight_does_not_block_the_next_caller() {
    let (r, c, _, e) = setup(200);
    let ttl = Duration::from_secs(30);
    let cancelled = tokio::time::timeout(
        Duration::from_millis(20),
        r.resolve(&e, "example.com/app:1", ttl),
    )
    .await;
    assert!(cancelled.is_err(), "the first call was cut off");
    r.resolve(&e, "example.com/app:1", ttl).await.unwrap();
    assert_eq!(
        c.calls.load(Ordering::SeqCst),
        2,
        "the dropped flight was abandoned, a new one ran"
    );
}

#[tokio::test]
async fn credentials_key_the_cache_only_for_their_registry() {
    let (r, c, _, e) = setup(0);
    let ttl = Duration::from_secs(30);
    let alice = Credentials::new("example.com", "alice", "pw");
    let bob = Credentials::new("example.com", "bob", "pw");
    let elsewhere = Credentials::new("other.example", "carol", "pw");
    let anon = r.resolve(&e, "example.com/app:1", ttl).await.unwrap();
    let a = r
        .resolve_with(&e, "example.com/app:1", ttl, Some(&alice))
        .await
        .unwrap();
    let b = r
        .resolve_with(&e, "example.com/app:1", ttl, Some(&bob))
        .await
        .unwrap();
    assert!(anon != a && a != b, "each identity resolves on its own");
    assert_eq!(
        r.resolve_with(&e, "example.com/app:1", ttl, Some(&alice))
            .await
            .unwrap(),
        a
    );
    // Credentials for another host are not used and do not split the cache.
    assert_eq!(
        r.resolve_with(&e, "example.com/app:1", ttl, Some(&elsewhere))
            .await
            .unwrap(),
        anon
    );
    assert_eq!(c.calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn debug_of_a_resolver_shows_no_credential_fingerprint_and_no_secret() {
    let (r, _, _, e) = setup(0);
    let alice = Credentials::new("example.com", "alice", "hunter2");
    r.resolve_with(
        &e,
        "example.com/app:1",
        Duration::from_secs(30),
        Some(&alice),
    )
    .await
    .unwrap();
    assert_eq!(r.cache_len(), 1);
    let shown = format!("{r:?}");
    let bytes = alice.fingerprint().bytes_for_test();
    // The forms a derived Debug of the bytes or a hex dump would take.
    for form in [
        format!("{bytes:?}"),
        hex::encode(bytes),
        "hunter2".to_owned(),
    ] {
        assert!(!shown.contains(&form), "{form} in {shown}");
    }
    assert!(shown.contains("example.com/app:1"), "{shown}");
}

#[tokio::test]
async fn digest_references_need_no_engine_call() {
    let (r, c, _, e) = setup(0);
    let pinned = format!("example.com/app:1@sha256:{}", "ab".repeat(32));
    let d = r.resolve(&e, &pinned, Duration::ZERO).await.unwrap();
    assert_eq!(d.hex(), "ab".repeat(32));
    assert_eq!(c.calls.load(Ordering::SeqCst), 0);
    // Even through an engine that cannot resolve anything.
    let k = r
        .resolve(&Engine::Kubernetes, &pinned, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(k, d);
}

#[tokio::test]
async fn kubernetes_has_no_digest_source_and_unknown_engines_are_invalid_arguments() {
    let r = Resolver::builder().build();
    let err = r
        .resolve(&Engine::Kubernetes, "nginx", Duration::ZERO)
        .await
        .unwrap_err();
    assert_eq!(err.digest_cause().unwrap().kind, CauseKind::NoDigestSource);
    let unknown = r
        .resolve(&Engine::parse("nope").unwrap(), "nginx", Duration::ZERO)
        .await
        .unwrap_err();
    assert_eq!(unknown.kind(), ErrorKind::InvalidArgument);
    assert!(
        unknown.to_string().contains("registry"),
        "lists the known engines: {unknown}"
    );
    assert_eq!(
        Engine::parse("Bad Name").unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    let bad = r
        .resolve(&Engine::Registry, "UPPER/case", Duration::ZERO)
        .await
        .unwrap_err();
    assert_eq!(bad.kind(), ErrorKind::InvalidReference);
}

#[tokio::test]
async fn custom_engine_can_override_a_builtin() {
    let r = Resolver::builder().build();
    let fixed = Digest::sha256_of(b"fixed");
    let answer = fixed.clone();
    r.register_engine(
        "docker",
        from_fn("test-docker", move |_, _| {
            let answer = answer.clone();
            async move { Ok(answer) }
        }),
    )
    .unwrap();
    assert_eq!(
        r.resolve(&Engine::Docker, "nginx", Duration::ZERO)
            .await
            .unwrap(),
        fixed
    );
}

#[test]
fn blocking_facade_and_cached_fast_path() {
    let (r, c, _, e) = setup(0);
    let ttl = Duration::from_secs(30);
    assert!(r.cached(&e, "example.com/app:1", ttl, None).is_none());
    let d = r
        .resolve_blocking(&e, "example.com/app:1", ttl, None)
        .unwrap();
    assert_eq!(
        r.cached(&e, "example.com/app:1", ttl, None)
            .unwrap()
            .unwrap(),
        d
    );
    assert!(
        r.cached(&e, "example.com/app:1", Duration::ZERO, None)
            .is_none()
    );
    assert_eq!(c.calls.load(Ordering::SeqCst), 1);
}

#[test]
fn cache_is_bounded() {
    let counting = Arc::new(Counting::default());
    let r = Resolver::builder()
        .engine("counting", counting)
        .max_cache_entries(10)
        .build();
    let e = Engine::parse("counting").unwrap();
    for i in 0..25 {
        r.resolve_blocking(
            &e,
            &format!("example.com/app:{i}"),
            Duration::from_secs(30),
            None,
        )
        .unwrap();
    }
    assert!(r.cache_len() <= 10, "{}", r.cache_len());
}

#[test]
fn a_refresh_by_one_thread_is_seen_by_every_thread_at_once() {
    // Each thread keeps copies of the entries it read (cache.rs, `near`); a write by any
    // thread must retire them all. The readers live across the write, holding their copies.
    let (r, c, _clock, e) = setup(0);
    let ttl = Duration::from_secs(3600);
    let reference = "example.com/app:1";
    let first = r.resolve_blocking(&e, reference, ttl, None).unwrap();
    let readers = 4;
    let phase = std::sync::Barrier::new(readers + 1);
    let refreshed = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..readers)
            .map(|_| {
                scope.spawn(|| {
                    let before = r.cached(&e, reference, ttl, None).unwrap().unwrap();
                    phase.wait(); // copies made
                    phase.wait(); // refreshed by the main thread
                    let after = r.cached(&e, reference, ttl, None).unwrap().unwrap();
                    (before, after)
                })
            })
            .collect();
        phase.wait();
        let refreshed = r
            .resolve_blocking(&e, reference, Duration::ZERO, None)
            .unwrap();
        phase.wait();
        for worker in workers {
            let (before, after) = worker.join().unwrap();
            assert_eq!(before, first);
            assert_eq!(after, refreshed, "a reader kept its copy past the refresh");
        }
        refreshed
    });
    assert_ne!(refreshed, first);
    assert_eq!(c.calls.load(Ordering::SeqCst), 2);

    // clear_cache retires the copies as well.
    assert_eq!(
        r.cached(&e, reference, ttl, None).unwrap().unwrap(),
        refreshed
    );
    r.clear_cache();
    assert!(r.cached(&e, reference, ttl, None).is_none());
}
