//! Verify cost against the harness registries, in one run: the library cold (first contact with
//! a registry; images it never verified, on a registry it knows), re-verifying a tag with the
//! result cache off, warm, the CLI as a process, and `cosign verify` as a process on the same
//! never-verified images, with the requests each makes counted in the registry's access log.
//! The never-verified images are pushed and signed by real cosign when the bench starts.
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
use support::{
    cosign_verify_command, harness, log_offset, requests_for, run_ok, settle, signed, signed_image,
    signed_policy, unique,
};

const REPO: &str = "signed/legacy";
/// Images signed for the cold rows; each is verified once by the library and once by cosign.
const FRESH_IMAGES: usize = 12;

fn verifier(result_ttl: Duration, resolve_ttl: Duration) -> Verifier {
    Verifier::builder(Policy::from_file(&signed_policy("key-a")).unwrap())
        .resolver(harness().resolver_builder().build())
        .result_ttl(result_ttl)
        .resolve_ttl(resolve_ttl)
        .build()
}

/// Mean milliseconds per run and registry requests per run (in `repositories`) for `runs` runs
/// of `f`, which is given the run's index.
fn measure_in(repositories: &[String], runs: u32, mut f: impl FnMut(usize)) -> (f64, f64) {
    let log = harness().log("plain");
    settle();
    let offset = log_offset(&log);
    let started = Instant::now();
    for run in 0..runs {
        f(run as usize);
    }
    let ms = started.elapsed().as_secs_f64() * 1000.0 / f64::from(runs);
    settle();
    let requests: usize = repositories
        .iter()
        .map(|repository| requests_for(&log, offset, repository).len())
        .sum();
    (ms, requests as f64 / f64::from(runs))
}

fn measure(runs: u32, mut f: impl FnMut()) -> (f64, f64) {
    measure_in(&[REPO.to_owned()], runs, |_| f())
}

/// Push `FRESH_IMAGES` new images to the plain registry and sign each with cosign (legacy
/// format, key a); their references and repositories.
fn sign_fresh_images() -> Vec<(String, String)> {
    let cosign = signed()["cosign"].as_str().unwrap();
    let key = signed()["keys"]["a"]["private"].as_str().unwrap();
    let password = signed()["password"].as_str().unwrap();
    let host = harness().host("plain");
    (0..FRESH_IMAGES)
        .map(|_| {
            // Under signed/, where the key-a policy asks for a signature.
            let repository = unique("signed/bench-cold");
            let digest = harness().push_new(&repository, "plain", &format!("{repository}:v1"));
            run_ok(
                Command::new(cosign)
                    .args([
                        "sign",
                        "--yes",
                        "--key",
                        key,
                        "--tlog-upload=false",
                        "--use-signing-config=false",
                        "--allow-insecure-registry",
                        "--allow-http-registry",
                        "--new-bundle-format=false",
                        &format!("{host}/{repository}@{digest}"),
                    ])
                    .env("COSIGN_PASSWORD", password),
            );
            (format!("{host}/{repository}:v1"), repository)
        })
        .collect()
}

fn cosign_verify(reference: &str) {
    let key = signed()["keys"]["a"]["public"].as_str().unwrap();
    run_ok(cosign_verify_command(key).arg(reference));
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

    eprintln!("signing {FRESH_IMAGES} fresh images with cosign ...");
    let fresh = sign_fresh_images();
    let fresh_repositories: Vec<String> = fresh.iter().map(|(_, r)| r.clone()).collect();
    // One unmeasured `cosign verify` of each first, so the registry has served every request
    // once before either tool is timed (its first read of new content is the slowest).
    for (fresh_reference, _) in &fresh {
        cosign_verify(fresh_reference);
    }
    let known = verifier(Duration::ZERO, Duration::ZERO);
    block(&known, &reference);
    let (ms, req) = measure_in(&fresh_repositories, FRESH_IMAGES as u32, |i| {
        block(&known, &fresh[i].0)
    });
    rows.push((
        "library, cold: an image never verified, registry known".into(),
        ms,
        req,
    ));

    let (ms, req) = measure(50, || block(&known, &reference));
    rows.push((
        "library, re-verify a tag, result cache off (payload kept by digest)".into(),
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

    let (cosign_ms, req) = measure_in(&fresh_repositories, FRESH_IMAGES as u32, |i| {
        cosign_verify(&fresh[i].0)
    });
    rows.push((
        "cosign verify --key --insecure-ignore-tlog (process; the never-verified images)".into(),
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
