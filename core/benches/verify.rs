//! Verify cost against the harness registries, in one run: the library cold (first contact with
//! a registry, and with the registry known) and warm, the CLI as a process, and `cosign verify`
//! as a process, with the requests each makes counted in the registry's access log.
//!
//! Run (the harness and its signing stage must be up):
//!   IMAGECHECK_HARNESS=DIR cargo bench -p imagecheck --bench verify

#![allow(
    clippy::unwrap_used,
    reason = "a benchmark should stop at the first surprise"
)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use imagecheck::{Policy, Verifier};
use support::{harness, log_offset, requests_for, settle, signed, signed_image, signed_policy};

const REPO: &str = "signed/legacy";

fn verifier(result_ttl: Duration, resolve_ttl: Duration) -> Verifier {
    Verifier::builder(Policy::from_file(&signed_policy("key-a")).unwrap())
        .resolver(harness().resolver_builder().build())
        .result_ttl(result_ttl)
        .resolve_ttl(resolve_ttl)
        .build()
}

/// Mean milliseconds per run and registry requests per run for `runs` runs of `f`.
fn measure(runs: u32, mut f: impl FnMut()) -> (f64, f64) {
    let log = harness().log("plain");
    settle();
    let offset = log_offset(&log);
    let started = Instant::now();
    for _ in 0..runs {
        f();
    }
    let ms = started.elapsed().as_secs_f64() * 1000.0 / f64::from(runs);
    settle();
    let requests = requests_for(&log, offset, REPO).len() as f64 / f64::from(runs);
    (ms, requests)
}

fn main() {
    let (reference, digest) = signed_image("legacy");
    let pinned = format!("{}@{digest}", reference.rsplit_once(':').unwrap().0);
    let runtime = imagecheck::runtime::runtime();
    let block = |v: &Verifier, r: &str| {
        let answer = runtime.block_on(v.verify(r, None)).unwrap();
        assert!(answer.verified, "{answer:?}");
    };
    let mut rows: Vec<(String, f64, f64)> = Vec::new();

    let (ms, req) = measure(20, || {
        block(&verifier(Duration::ZERO, Duration::ZERO), &reference)
    });
    rows.push((
        "library, cold, first contact with the registry (new verifier)".into(),
        ms,
        req,
    ));

    let known = verifier(Duration::ZERO, Duration::ZERO);
    block(&known, &reference);
    let (ms, req) = measure(50, || block(&known, &reference));
    rows.push((
        "library, cold, registry known (no result cache)".into(),
        ms,
        req,
    ));

    let warm = verifier(Duration::from_secs(300), Duration::from_secs(300));
    block(&warm, &reference);
    let calls = 200_000;
    let (ms, req) = measure(calls, || block(&warm, &pinned));
    rows.push(("library, warm, digest reference".into(), ms, req));
    let (ms, req) = measure(calls, || block(&warm, &reference));
    rows.push(("library, warm, tag with resolve_ttl 300 s".into(), ms, req));

    let cli = support::repo_root().join("target/release/imagecheck");
    assert!(
        cli.exists(),
        "build the CLI first: cargo build --release -p imagecheck-cli"
    );
    let insecure = harness().hosts().join(",");
    let policy = signed_policy("key-a");
    let (ms, req) = measure(10, || {
        let out = Command::new(&cli)
            .args(["verify", "--policy", policy.to_str().unwrap(), &reference])
            .env("IMAGECHECK_INSECURE_REGISTRIES", &insecure)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    });
    rows.push(("imagecheck verify (CLI process)".into(), ms, req));

    let cosign = signed()["cosign"].as_str().unwrap();
    let key = signed()["keys"]["a"]["public"].as_str().unwrap();
    let (cosign_ms, req) = measure(10, || {
        let out = Command::new(cosign)
            .args([
                "verify",
                "--key",
                key,
                "--insecure-ignore-tlog=true",
                "--allow-insecure-registry",
                "--allow-http-registry",
                &reference,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
    rows.push((
        "cosign verify --key --insecure-ignore-tlog (process)".into(),
        cosign_ms,
        req,
    ));

    println!(
        "| verify of a key-signed legacy image (tag form unless noted) | time per verify | registry requests per verify | cosign / this |"
    );
    println!("|---|---|---|---|");
    for (label, ms, req) in rows {
        let time = if ms < 0.1 {
            format!("{:.2} µs", ms * 1000.0)
        } else {
            format!("{ms:.2} ms")
        };
        println!("| {label} | {time} | {req:.2} | {:.0}× |", cosign_ms / ms);
    }
}
