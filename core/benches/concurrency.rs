//! 10,000 resolves over 100 tags from 64 concurrent tasks through one resolver: how many
//! requests reach the registry (goal: exactly 100) and the throughput.
//!
//! Run: IMAGECHECK_HARNESS=DIR BENCH_REPO=bench/app cargo bench -p imagecheck --bench concurrency
//! (tests/bench/run pushes tags t0..t99 of BENCH_REPO to the plain registry first).

#![allow(
    clippy::unwrap_used,
    reason = "a benchmark should stop at the first surprise"
)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use imagecheck::Engine;
use support::{harness, log_offset, requests_for, settle};

const TASKS: usize = 64;
const RESOLVES: usize = 10_000;
const TAGS: usize = 100;

fn main() {
    let repo = std::env::var("BENCH_REPO").unwrap_or_else(|_| "bench/app".into());
    let host = harness().host("plain");
    let log = harness().log("plain");
    let resolver = harness().resolver_builder().build();
    let runtime = imagecheck::runtime::runtime();
    settle();
    let offset = log_offset(&log);
    let started = Instant::now();
    runtime.block_on(async {
        let mut tasks = Vec::new();
        for task in 0..TASKS {
            let (resolver, host, repo) = (resolver.clone(), host.clone(), repo.clone());
            tasks.push(tokio::spawn(async move {
                for i in (task..RESOLVES).step_by(TASKS) {
                    let reference = format!("{host}/{repo}:t{}", i % TAGS);
                    resolver
                        .resolve(&Engine::Registry, &reference, Duration::from_secs(600))
                        .await
                        .unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
    let elapsed = started.elapsed();
    settle();
    let requests = requests_for(&log, offset, &repo).len();
    println!(
        "| concurrency ({RESOLVES} resolves, {TAGS} tags, {TASKS} tasks, one resolver) | value |"
    );
    println!("|---|---|");
    println!("| registry requests | {requests} (goal: {TAGS}) |");
    println!("| wall time | {:.1} ms |", elapsed.as_secs_f64() * 1000.0);
    println!(
        "| throughput | {:.0} resolves/s |",
        RESOLVES as f64 / elapsed.as_secs_f64()
    );
    assert_eq!(requests, TAGS, "one request per distinct tag");
}
