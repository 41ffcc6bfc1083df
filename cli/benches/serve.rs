//! `imagecheck serve` on the node's pull path, in one run (issue 14): warm Verify through the
//! socket (p50/p99) vs the in-process library call vs a CLI process (in-process and through the
//! daemon) vs `cosign verify`; the containerd verifier process with a warm daemon; cold Verify
//! through a fresh daemon; daemon RSS idle and after BENCH_TAGS distinct cached tags.
//!
//! Run through tests/bench/serve.sh (it pushes the tags and adds `ctr image pull` with and
//! without the verifier):
//!   IMAGECHECK_HARNESS=DIR BENCH_TAGS=10000 cargo bench -p imagecheck-cli --bench serve

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "a benchmark should stop at the first surprise and print its table"
)]

#[path = "../src/serve/proto.rs"]
#[allow(dead_code, reason = "the bench uses the client half")]
mod proto;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use hyper_util::rt::TokioIo;
use imagecheck::{Policy, Resolver, Verifier};
use proto::imagecheck_v1::ResolveRequest;
use proto::imagecheck_v1::resolver_client::ResolverClient;
use proto::machine::ImageServiceVerifyRequest;
use proto::machine::image_service_client::ImageServiceClient;
use serde_json::Value;
use tonic::transport::{Channel, Endpoint, Uri};

const BIN: &str = env!("CARGO_BIN_EXE_imagecheck");

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

struct Bench {
    state: Value,
    signed: Value,
    dir: PathBuf,
}

impl Bench {
    fn insecure(&self) -> String {
        ["plain", "basic", "token"]
            .map(|r| {
                self.state["registries"][r]["host"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .join(",")
    }
    fn policy(&self) -> String {
        self.signed["policies"]["key-a"]
            .as_str()
            .unwrap()
            .to_owned()
    }
    fn image(&self, name: &str) -> (String, String) {
        let i = &self.signed["images"][name];
        let reference = i["reference"].as_str().unwrap();
        let digest = i["digest"].as_str().unwrap();
        let pinned = format!("{}@{digest}", reference.rsplit_once(':').unwrap().0);
        (reference.to_owned(), pinned)
    }
    fn socket(&self) -> PathBuf {
        self.dir.join("imagecheck.sock")
    }
    fn start_daemon(&self) -> Child {
        let child = Command::new(BIN)
            .args(["serve", "--socket"])
            .arg(self.socket())
            .args(["--policy", &self.policy()])
            .env("IMAGECHECK_INSECURE_REGISTRIES", self.insecure())
            .env("IMAGECHECK_LOG", "error")
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        while std::os::unix::net::UnixStream::connect(self.socket()).is_err() {
            std::thread::sleep(Duration::from_millis(2));
        }
        child
    }
}

fn stop(mut child: Child) {
    Command::new("kill")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    child.wait().unwrap();
}

async fn channel(socket: PathBuf) -> Channel {
    Endpoint::from_static("http://localhost")
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let socket = socket.clone();
            async move {
                Ok::<_, std::io::Error>(TokioIo::new(
                    tokio::net::UnixStream::connect(socket).await?,
                ))
            }
        }))
        .await
        .unwrap()
}

/// (p50, p99) of `samples`, sorted in place.
fn percentiles(samples: &mut [Duration]) -> (Duration, Duration) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    (at(0.50), at(0.99))
}

fn time_n(n: usize, mut f: impl FnMut()) -> Vec<Duration> {
    (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect()
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap()
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}
fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let harness = PathBuf::from(std::env::var("IMAGECHECK_HARNESS").expect("IMAGECHECK_HARNESS"));
    let dir = std::env::temp_dir().join(format!("imagecheck-serve-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bench = Bench {
        state: json(&harness.join("state.json")),
        signed: json(&harness.join("signed.json")),
        dir,
    };
    let tags: usize = std::env::var("BENCH_TAGS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (tag_ref, pinned) = bench.image("legacy");
    let mut rows: Vec<(String, Duration, Duration)> = Vec::new();

    // Cold: a fresh daemon, the first Verify of a tag (connect included).
    let mut cold = Vec::new();
    for _ in 0..5 {
        let daemon = bench.start_daemon();
        let t = Instant::now();
        runtime.block_on(async {
            let mut client = ImageServiceClient::new(channel(bench.socket()).await);
            let answer = client
                .verify(ImageServiceVerifyRequest {
                    image_ref: tag_ref.clone(),
                    credentials: None,
                })
                .await
                .unwrap();
            assert!(answer.into_inner().verified);
        });
        cold.push(t.elapsed());
        stop(daemon);
    }
    let (p50, p99) = percentiles(&mut cold);
    rows.push((
        "Verify through the socket, cold (fresh daemon, tag)".into(),
        p50,
        p99,
    ));

    let daemon = bench.start_daemon();
    std::thread::sleep(Duration::from_millis(300));
    let idle = rss_kib(daemon.id());

    // Warm Verify over the socket: one connection, sequential calls, a digest reference.
    let mut warm = runtime.block_on(async {
        let mut client = ImageServiceClient::new(channel(bench.socket()).await);
        let request = || ImageServiceVerifyRequest {
            image_ref: pinned.clone(),
            credentials: None,
        };
        for _ in 0..500 {
            assert!(
                client
                    .verify(request())
                    .await
                    .unwrap()
                    .into_inner()
                    .verified
            );
        }
        let mut samples = Vec::with_capacity(10_000);
        for _ in 0..10_000 {
            let t = Instant::now();
            let answer = client.verify(request()).await.unwrap();
            samples.push(t.elapsed());
            assert!(answer.into_inner().verified);
        }
        samples
    });
    let (socket_p50, p99) = percentiles(&mut warm);
    rows.push((
        "Verify through the socket, warm (digest)".into(),
        socket_p50,
        p99,
    ));

    // The same verify in-process (the library, warm).
    let verifier = Verifier::builder(Policy::from_file(Path::new(&bench.policy())).unwrap())
        .resolver(
            Resolver::builder()
                .insecure_registries(bench.insecure().split(',').map(str::to_owned))
                .build(),
        )
        .build();
    let mut local = runtime.block_on(async {
        assert!(verifier.verify(&pinned, None).await.unwrap().verified);
        let mut samples = Vec::with_capacity(10_000);
        for _ in 0..10_000 {
            let t = Instant::now();
            let v = verifier.verify(&pinned, None).await.unwrap();
            samples.push(t.elapsed());
            assert!(v.verified);
        }
        samples
    });
    let (p50, p99) = percentiles(&mut local);
    rows.push((
        "Verifier::verify in-process, warm (digest)".into(),
        p50,
        p99,
    ));

    let run = |command: &mut Command| {
        let out = command.output().unwrap();
        assert!(
            out.status.success(),
            "{command:?}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    };
    let mut verifier_process = time_n(50, || {
        run(Command::new(BIN)
            .args(["containerd-verifier", "-name", &tag_ref, "-digest"])
            .arg(pinned.rsplit_once('@').unwrap().1)
            .args([
                "-stdin-media-type",
                "application/vnd.oci.descriptor.v1+json",
            ])
            .env("IMAGECHECK_SOCKET", bench.socket())
            .stdin(Stdio::null()))
    });
    let (p50, p99) = percentiles(&mut verifier_process);
    rows.push(("containerd-verifier process, warm daemon".into(), p50, p99));

    let mut cli_daemon = time_n(20, || {
        run(Command::new(BIN)
            .args(["verify", &pinned])
            .env("IMAGECHECK_SOCKET", bench.socket())
            .env_remove("IMAGECHECK_POLICY"))
    });
    let (p50, p99) = percentiles(&mut cli_daemon);
    rows.push((
        "imagecheck verify process, through the daemon".into(),
        p50,
        p99,
    ));

    let mut cli = time_n(20, || {
        run(Command::new(BIN)
            .args(["verify", "--policy", &bench.policy(), &pinned])
            .env("IMAGECHECK_INSECURE_REGISTRIES", bench.insecure())
            .env_remove("IMAGECHECK_SOCKET"))
    });
    let (p50, p99) = percentiles(&mut cli);
    rows.push((
        "imagecheck verify process, in-process (cold)".into(),
        p50,
        p99,
    ));

    let key = bench.signed["keys"]["a"]["public"]
        .as_str()
        .unwrap()
        .to_owned();
    let cosign = bench.signed["cosign"].as_str().unwrap().to_owned();
    let mut cosign_times = time_n(10, || {
        let out = Command::new(&cosign)
            .args(["verify", "--key", &key, "--insecure-ignore-tlog=true"])
            .args([
                "--allow-insecure-registry",
                "--allow-http-registry",
                &pinned,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
    let (p50, p99) = percentiles(&mut cosign_times);
    rows.push(("cosign verify --key process".into(), p50, p99));

    println!("| verify of a key-signed image | p50 | p99 | p50 / socket warm p50 |");
    println!("|---|---|---|---|");
    for (name, p50, p99) in &rows {
        let show = |d: Duration| {
            if d < Duration::from_millis(1) {
                us(d)
            } else {
                ms(d)
            }
        };
        let ratio = p50.as_secs_f64() / socket_p50.as_secs_f64();
        let ratio = if ratio < 0.1 {
            format!("{ratio:.4}×")
        } else {
            format!("{ratio:.1}×")
        };
        println!("| {name} | {} | {} | {ratio} |", show(*p50), show(*p99));
    }

    let after_warm = rss_kib(daemon.id());
    // RSS after `tags` distinct tags resolved into the daemon's cache (pushed by serve.sh).
    let mut after = None;
    if tags > 0 {
        let plain = bench.state["registries"]["plain"]["host"]
            .as_str()
            .unwrap()
            .to_owned();
        runtime.block_on(async {
            let client = ResolverClient::new(channel(bench.socket()).await);
            let started = Instant::now();
            let mut calls = futures::stream::iter(0..tags)
                .map(|i| {
                    let mut client = client.clone();
                    let reference = format!("{plain}/bench/many:t{i}");
                    async move {
                        client
                            .resolve(ResolveRequest {
                                engine: String::new(),
                                reference,
                                ttl_seconds: 3600.0,
                                credentials: None,
                            })
                            .await
                            .unwrap()
                    }
                })
                .buffer_unordered(32);
            while calls.next().await.is_some() {}
            eprintln!(
                "resolved {tags} tags in {:.1} s",
                started.elapsed().as_secs_f64()
            );
        });
        after = Some(rss_kib(daemon.id()));
    }
    println!();
    println!("| daemon RSS | MiB |");
    println!("|---|---|");
    println!("| idle, after start | {:.1} |", idle as f64 / 1024.0);
    println!(
        "| after the warm rows above | {:.1} |",
        after_warm as f64 / 1024.0
    );
    if let Some(kib) = after {
        println!(
            "| after {tags} distinct tags cached | {:.1} |",
            kib as f64 / 1024.0
        );
    }
    stop(daemon);
    let _ = std::fs::remove_dir_all(&bench.dir);
}
