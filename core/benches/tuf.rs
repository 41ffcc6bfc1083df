//! The TUF-refreshed trusted root: what a refresh costs (ms, requests) against a local
//! python-tuf repository on loopback (tests/harness/tuf_repo.py), and what a verify costs with
//! a cached TUF root next to the same root given as a fixed one (they must be equal).
//!
//! Needs the harness, signed (IMAGECHECK_HARNESS; tests/harness/sign.py), and python-tuf.
//! Run: cargo bench -p imagecheck --bench tuf

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark should stop at the first surprise"
)]

#[path = "../tests/support/tuf_repo.rs"]
mod tuf_repo;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use imagecheck::verify::tuf::TufRepository;
use imagecheck::{Policy, Resolver, Verifier};
use serde_json::Value;
use tuf_repo::TufRepo;

const ROUNDS: usize = 5;

fn signed() -> Value {
    let dir = std::env::var("IMAGECHECK_HARNESS").expect("IMAGECHECK_HARNESS names the harness");
    serde_json::from_str(&std::fs::read_to_string(PathBuf::from(dir).join("signed.json")).unwrap())
        .unwrap()
}

fn resolver(signed: &Value) -> Resolver {
    let host = signed["images"]["keyless-email"]["reference"]
        .as_str()
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    Resolver::builder().insecure_registries([host]).build()
}

fn repository(repo: &TufRepo, cache: &Path, interval: Duration) -> TufRepository {
    TufRepository::new(&repo.url(), std::fs::read(repo.initial_root()).unwrap())
        .unwrap()
        .cache_dir(cache)
        .refresh_interval(interval)
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let signed = signed();
    let policy = || {
        Policy::from_file(Path::new(
            signed["policies"]["keyless-email"].as_str().unwrap(),
        ))
        .unwrap()
    };
    let (reference, digest) = (
        signed["images"]["keyless-email"]["reference"]
            .as_str()
            .unwrap(),
        signed["images"]["keyless-email"]["digest"]
            .as_str()
            .unwrap(),
    );
    let pinned = format!("{}@{digest}", reference.rsplit_once(':').unwrap().0);
    let repo = TufRepo::start();
    repo.change(
        "add-ca",
        &["--from", signed["trust_roots"]["test-ca"].as_str().unwrap()],
    );
    let tuf_verifier = |cache: &Path, interval, result_ttl| {
        Verifier::builder(policy())
            .resolver(resolver(&signed))
            .tuf(repository(&repo, cache, interval))
            .result_ttl(result_ttl)
            .build()
    };

    println!(
        "| TUF refresh (python-tuf repository on 127.0.0.1, 4 roles + trusted_root.json) | ms (median of {ROUNDS}) | requests |"
    );
    println!("|---|---|---|");
    // First fetch: no copy on disk (the first keyless verify waits for it).
    let (mut took, mut requests) = (Vec::new(), Vec::new());
    let mut cache = None;
    for _ in 0..ROUNDS {
        let dir = tempfile::tempdir().unwrap();
        let served = repo.requests();
        let v = tuf_verifier(dir.path(), Duration::from_secs(3600), Duration::ZERO);
        assert!(v.verify(&pinned, None).await.unwrap().verified);
        let status = v.tuf_status().unwrap();
        took.push(status.last_refresh_took.unwrap());
        requests.push(repo.requests() - served);
        cache = Some(dir);
    }
    let cache = cache.unwrap();
    println!(
        "| first fetch, no copy on disk | {:.2} | {} |",
        median(took).as_secs_f64() * 1000.0,
        requests[0]
    );
    // A refresh with a valid copy and nothing new on the server.
    let (mut took, mut requests) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let served = repo.requests();
        let v = tuf_verifier(cache.path(), Duration::ZERO, Duration::ZERO);
        assert!(v.verify(&pinned, None).await.unwrap().verified);
        assert!(
            v.wait_for_trusted_root_refresh(Duration::from_secs(30))
                .await
        );
        took.push(v.tuf_status().unwrap().last_refresh_took.unwrap());
        requests.push(repo.requests() - served);
    }
    println!(
        "| refresh, copy on disk, nothing new | {:.2} | {} |",
        median(took).as_secs_f64() * 1000.0,
        requests[0]
    );
    let start = Instant::now();
    let v = tuf_verifier(cache.path(), Duration::from_secs(3600), Duration::ZERO);
    println!(
        "| verifier start with a copy on disk (read + offline checks) | {:.2} | 0 |",
        start.elapsed().as_secs_f64() * 1000.0
    );
    let root = v.trusted_root();

    println!();
    println!(
        "| verify of the test-CA keyless image (digest reference) | fixed root | cached TUF root |"
    );
    println!("|---|---|---|");
    let fixed = |result_ttl| {
        Verifier::builder(policy())
            .resolver(resolver(&signed))
            .trusted_root(root.clone())
            .result_ttl(result_ttl)
            .build()
    };
    // Result cache off: every verify lists and checks the signature (loopback registry).
    let per_verify = |v: Verifier, n: usize| {
        let pinned = pinned.clone();
        async move {
            let mut took = Vec::new();
            for _ in 0..n {
                let started = Instant::now();
                assert!(v.verify(&pinned, None).await.unwrap().verified);
                took.push(started.elapsed());
            }
            median(took)
        }
    };
    let with_fixed = per_verify(fixed(Duration::ZERO), 200).await;
    let with_tuf = per_verify(
        tuf_verifier(cache.path(), Duration::from_secs(3600), Duration::ZERO),
        200,
    )
    .await;
    println!(
        "| result cache off, median of 200 | {:.3} ms | {:.3} ms |",
        with_fixed.as_secs_f64() * 1000.0,
        with_tuf.as_secs_f64() * 1000.0
    );
    // Result cache on: the warm path, one lookup of the root and one of the cache.
    let warm = |v: Verifier| {
        let pinned = pinned.clone();
        async move {
            assert!(v.verify(&pinned, None).await.unwrap().verified);
            let n = 200_000u32;
            let started = Instant::now();
            for _ in 0..n {
                std::hint::black_box(v.verify(&pinned, None).await.unwrap());
            }
            started.elapsed() / n
        }
    };
    let with_fixed = warm(fixed(Duration::from_secs(300))).await;
    let with_tuf = warm(tuf_verifier(
        cache.path(),
        Duration::from_secs(3600),
        Duration::from_secs(300),
    ))
    .await;
    println!(
        "| warm (result cache hit), mean of 200,000 | {:.0} ns | {:.0} ns |",
        with_fixed.as_nanos(),
        with_tuf.as_nanos()
    );
}
