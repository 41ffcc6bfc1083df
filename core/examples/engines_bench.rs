//! Time the docker and podman engines in process: the first resolve of an absent image (a
//! pull) and the steady state (an inspect), per call. Run by tests/bench/engines.sh, which
//! adds the `docker image inspect` / `podman image inspect` processes beside it.
//!
//! Environment: `IMAGECHECK_HARNESS` (harness state dir), `IMAGECHECK_DAEMONS` (daemons.json),
//! `BENCH_FIRST` (fresh images per engine, default 5), `BENCH_STEADY` (calls, default 50).
//! Prints one `result …` line per measurement and one `ref ENGINE REF` line per steady-state
//! reference (for the script's peers).
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use imagecheck::{Engine, Resolver};
use serde_json::Value;

#[path = "../tests/support/oci.rs"]
mod oci;

fn read(path: PathBuf, name: &str) -> Value {
    let path = if path.is_dir() { path.join(name) } else { path };
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn count(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn report(engine: &str, case: &str, samples: &mut [f64]) {
    samples.sort_by(f64::total_cmp);
    let n = samples.len();
    let mean = samples.iter().sum::<f64>() / n as f64;
    let median = samples[n / 2];
    let p90 = samples[(n * 9 / 10).min(n - 1)];
    println!(
        "result engine={engine} case={case} n={n} mean_ms={mean:.3} median_ms={median:.3} \
         p90_ms={p90:.3} min_ms={:.3} max_ms={:.3}",
        samples[0],
        samples[n - 1]
    );
}

#[tokio::main]
async fn main() {
    let state = read(
        std::env::var_os("IMAGECHECK_HARNESS")
            .expect("IMAGECHECK_HARNESS")
            .into(),
        "state.json",
    );
    let daemons = read(
        std::env::var_os("IMAGECHECK_DAEMONS")
            .expect("IMAGECHECK_DAEMONS")
            .into(),
        "daemons.json",
    );
    let plain = state["registries"]["plain"]["host"].as_str().unwrap();
    let first_n = count("BENCH_FIRST", 5);
    let steady_n = count("BENCH_STEADY", 50);
    let resolver = Resolver::builder()
        .docker_socket(daemons["docker_socket"].as_str().unwrap())
        .podman_socket(daemons["podman_socket"].as_str().unwrap())
        .insecure_registry(plain)
        .build();
    let run = format!(
        "b{:x}",
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let time = |engine: Engine, reference: String| {
        let resolver = resolver.clone();
        async move {
            let started = Instant::now();
            resolver
                .resolve(&engine, &reference, Duration::ZERO)
                .await
                .unwrap_or_else(|e| panic!("{engine} {reference}: {e}"));
            started.elapsed().as_secs_f64() * 1000.0
        }
    };
    for (engine, name) in [(Engine::Docker, "docker"), (Engine::Podman, "podman")] {
        for (multi, kind) in [(false, "image"), (true, "index")] {
            let mut first = Vec::new();
            let mut refs = Vec::new();
            for i in 0..first_n {
                let repository = format!("bench/{run}-{name}-{kind}-{i}");
                let layout = oci::layout(&format!("{run}|{repository}"), multi);
                let digest = oci::push(&layout, plain, &repository, None, false);
                let reference = format!("{plain}/{repository}:v1");
                first.push(time(engine.clone(), reference.clone()).await);
                let got = resolver
                    .resolve(&engine, &reference, Duration::ZERO)
                    .await
                    .unwrap();
                assert_eq!(got, digest, "{name} {reference}");
                refs.push(reference);
            }
            report(name, &format!("first-pull-{kind}"), &mut first);
            let mut steady = Vec::new();
            for _ in 0..steady_n {
                steady.push(time(engine.clone(), refs[0].clone()).await);
            }
            report(name, &format!("steady-{kind}"), &mut steady);
            println!("ref {name}-{kind} {}", refs[0]);
        }
    }
    // The registry engine on the same reference, for scale (one HEAD per call, ttl 0).
    let reference = format!("{plain}/bench/{run}-docker-image-0:v1");
    let mut registry = Vec::new();
    for _ in 0..steady_n {
        registry.push(time(Engine::Registry, reference.clone()).await);
    }
    report("registry", "steady-image", &mut registry);
}
