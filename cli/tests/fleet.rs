//! A fleet of separate `imagecheck` processes sharing one real `redis-server` (started per test
//! on 127.0.0.1, stopped by its PID): registry requests counted in the harness registry's
//! access log.

#![allow(
    clippy::unwrap_used,
    reason = "a test should stop at the first surprise"
)]

mod support;

// Shared with core's tests, which use all of it; this file does not.
#[allow(dead_code)]
#[path = "../../core/tests/support/redis_server.rs"]
mod redis_server;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use redis_server::RedisServer;
use serde_json::Value;
use support::state;

fn plain(s: &Value) -> String {
    s["registries"]["plain"]["host"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn log_path(s: &Value) -> PathBuf {
    PathBuf::from(s["registries"]["plain"]["log"].as_str().unwrap())
}

fn log_offset(s: &Value) -> u64 {
    std::fs::metadata(log_path(s)).map(|m| m.len()).unwrap_or(0)
}

/// Access-log request lines (`"METHOD /path HTTP/1.1"`) since `offset` touching `/v2/{repo}/`.
fn requests(s: &Value, offset: u64, repo: &str) -> Vec<String> {
    // Lines are written when a request completes.
    std::thread::sleep(Duration::from_millis(300));
    let text = std::fs::read(log_path(s)).unwrap();
    let text = String::from_utf8_lossy(&text[offset as usize..]);
    let needle = format!(" /v2/{repo}/");
    text.lines()
        .filter_map(|line| {
            let start = line.find('"')? + 1;
            let request = &line[start..start + line[start..].find('"')?];
            (request.contains(&needle) && request.ends_with("HTTP/1.1")).then(|| request.to_owned())
        })
        .collect()
}

fn heads(s: &Value, offset: u64, repo: &str) -> usize {
    requests(s, offset, repo)
        .iter()
        .filter(|r| r.starts_with("HEAD "))
        .count()
}

/// Tags `repo:t0..` on the plain registry (`harness.py tags`), `{reference: digest}`.
fn push_tags(s: &Value, repo: &str, count: usize, seed: &str) -> BTreeMap<String, String> {
    let dir = std::env::var("IMAGECHECK_HARNESS").unwrap();
    let harness = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/harness/harness.py");
    let out = Command::new("python3")
        .args([
            harness,
            "tags",
            "--state-dir",
            &dir,
            "--repo",
            repo,
            "--seed",
            seed,
        ])
        .args(["--count", &count.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tags: BTreeMap<String, String> = serde_json::from_slice(&out.stdout).unwrap();
    let host = plain(s);
    tags.into_iter()
        .map(|(tag, digest)| (format!("{host}/{repo}:{tag}"), digest))
        .collect()
}

/// `imagecheck ARGS`, the harness registries over plain HTTP, nothing else from the
/// environment that would change where it goes.
fn imagecheck(s: &Value, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_imagecheck"));
    command
        .args(args)
        .env("IMAGECHECK_INSECURE_REGISTRIES", plain(s))
        .env_remove("IMAGECHECK_SOCKET")
        .env_remove("IMAGECHECK_SHARED_CACHE")
        .env_remove("IMAGECHECK_SHARED_CACHE_PASSWORD_FILE")
        .env_remove("IMAGECHECK_PASSWORD")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn run(mut command: Command) -> Output {
    command.output().unwrap()
}

/// `REF\tDIGEST` lines of a resolve, checked against `expected`.
fn check_resolved(out: &Output, expected: &BTreeMap<String, String>) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: HashMap<String, String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(r, d)| (r.to_owned(), d.to_owned()))
        .collect();
    assert_eq!(got.len(), expected.len());
    for (reference, digest) in expected {
        assert_eq!(got.get(reference), Some(digest), "{reference}");
    }
}

fn spawn_all(commands: Vec<Command>) -> Vec<Output> {
    let children: Vec<Child> = commands
        .into_iter()
        .map(|mut c| c.spawn().unwrap())
        .collect();
    children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect()
}

/// The test binaries are debug builds and 8 processes start at once on a machine of 2 shared
/// cores: a tier operation or a lock holder's HEAD can take longer than the defaults (50 ms,
/// 500 ms) there, and each such call would (rightly) go to the registry itself, which these
/// tests count. The benchmarks (BENCHMARKS.md) measure the defaults on release builds.
const UNHURRIED: &str = "timeout_ms=1000&lock_wait_ms=3000";

#[test]
fn eight_processes_resolving_100_tags_ask_the_registry_100_times() {
    let s = state();
    let redis = RedisServer::start();
    let url = format!("{}/?{UNHURRIED}", redis.url());
    let tags = push_tags(&s, "fleet/eight", 100, "eight");
    let references: Vec<&str> = tags.keys().map(String::as_str).collect();
    let offset = log_offset(&s);
    let commands = (0..8)
        .map(|_| {
            let mut command = imagecheck(&s, &["resolve", "--ttl", "60", "--shared-cache", &url]);
            command.args(&references);
            command
        })
        .collect();
    for out in spawn_all(commands) {
        check_resolved(&out, &tags);
    }
    let seen = requests(&s, offset, "fleet/eight");
    assert_eq!(
        seen.len(),
        100,
        "one HEAD per tag for the whole fleet: {seen:#?}"
    );
    assert!(seen.iter().all(|r| r.starts_with("HEAD ")), "{seen:#?}");
    assert_eq!(redis.keys("imagecheck:v1:tag:*fleet/eight:*").len(), 100);
    assert!(
        redis.keys("imagecheck:v1:lock:*").is_empty(),
        "every lock released"
    );
}

#[test]
fn a_zero_ttl_on_one_node_refreshes_the_shared_entry_for_all() {
    let s = state();
    let redis = RedisServer::start();
    let url = redis.url();
    let tags = push_tags(&s, "fleet/refresh", 1, "before");
    let (reference, before) = tags.iter().next().unwrap();
    let resolve = |ttl: &str| {
        run(imagecheck(
            &s,
            &["resolve", "--ttl", ttl, "--shared-cache", &url, reference],
        ))
    };
    check_resolved(&resolve("60"), &tags);
    let moved = push_tags(&s, "fleet/refresh", 1, "after");
    assert_ne!(moved[reference], *before);

    let offset = log_offset(&s);
    check_resolved(&resolve("60"), &tags);
    assert_eq!(
        heads(&s, offset, "fleet/refresh"),
        0,
        "within the TTL: the shared entry"
    );
    let offset = log_offset(&s);
    check_resolved(&resolve("0"), &moved);
    assert_eq!(
        heads(&s, offset, "fleet/refresh"),
        1,
        "a zero TTL asks the registry"
    );
    let offset = log_offset(&s);
    check_resolved(&resolve("60"), &moved);
    assert_eq!(
        heads(&s, offset, "fleet/refresh"),
        0,
        "and refreshed the entry for all"
    );
}

fn signed(s: &Value) -> Value {
    let _ = s;
    let dir = std::env::var("IMAGECHECK_HARNESS").unwrap();
    let text = std::fs::read_to_string(PathBuf::from(dir).join("signed.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn eight_verify_processes_fetch_each_signature_artifact_once() {
    let s = state();
    let signing = signed(&s);
    let redis = RedisServer::start();
    let url = format!("{}/?{UNHURRIED}", redis.url());
    let policy = signing["policies"]["key-a"].as_str().unwrap();
    let images = ["bundle", "legacy"].map(|n| signing["images"][n]["reference"].as_str().unwrap());
    let offset = log_offset(&s);
    let commands = (0..8)
        .map(|_| {
            let mut command = imagecheck(
                &s,
                &[
                    "verify",
                    "--policy",
                    policy,
                    "--resolve-ttl",
                    "60",
                    "--shared-cache",
                    &url,
                ],
            );
            command.args(images);
            command
        })
        .collect();
    for out in spawn_all(commands) {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(text.matches("\tverified\t").count(), 2, "{text}");
    }
    for repo in ["signed/bundle", "signed/legacy"] {
        let seen = requests(&s, offset, repo);
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for request in &seen {
            *counts.entry(request).or_default() += 1;
        }
        // The HEAD, three listings (referrers, sha256-<hex>, .sig) at least.
        assert!(seen.len() >= 4, "{repo}: {seen:#?}");
        assert!(
            counts.values().all(|n| *n == 1),
            "{repo}: each request once: {counts:#?}"
        );
    }
}

#[test]
fn a_tier_refusing_the_password_is_logged_once_and_the_password_never_shown() {
    let s = state();
    let redis = RedisServer::with_password("right-horse-battery");
    let tags = push_tags(&s, "fleet/wrongpass", 5, "wrongpass");
    let references: Vec<&str> = tags.keys().map(String::as_str).collect();
    let mut command = imagecheck(&s, &["resolve", "--ttl", "60"]);
    command
        .args(&references)
        .env(
            "IMAGECHECK_SHARED_CACHE",
            format!("redis://:wrong-staple@127.0.0.1:{}", redis.port),
        )
        .env("IMAGECHECK_LOG", "imagecheck=warn");
    let out = run(command);
    check_resolved(&out, &tags);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.matches("shared cache unavailable").count(),
        1,
        "{stderr}"
    );
    assert!(!stderr.contains("wrong-staple"), "{stderr}");

    // The right password, from the file the environment names.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("password");
    std::fs::write(&file, "right-horse-battery\n").unwrap();
    let mut command = imagecheck(&s, &["resolve", "--ttl", "60"]);
    command
        .args(&references)
        .env("IMAGECHECK_SHARED_CACHE", redis.url())
        .env("IMAGECHECK_SHARED_CACHE_PASSWORD_FILE", &file);
    check_resolved(&run(command), &tags);
    assert_eq!(redis.keys("imagecheck:v1:tag:*fleet/wrongpass:*").len(), 5);
}

#[test]
fn an_unusable_shared_cache_url_is_a_usage_error_that_hides_the_password() {
    let s = state();
    let reference = format!("{}/fleet/none:v1", plain(&s));
    for args in [
        vec![
            "resolve",
            "--shared-cache",
            "http://:hunter2@cache:6379",
            &reference,
        ],
        vec![
            "resolve",
            "--shared-cache",
            "redis://:hunter2@cache/?timeout=1",
            &reference,
        ],
    ] {
        let out = run(imagecheck(&s, &args));
        assert_eq!(out.status.code(), Some(3), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("--shared-cache"), "{stderr}");
        assert!(!stderr.contains("hunter2"), "{stderr}");
    }
}

#[test]
fn the_daemon_shares_through_its_shared_cache() {
    let s = state();
    let redis = RedisServer::start();
    let tags = push_tags(&s, "fleet/daemon", 2, "daemon");
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("imagecheck.sock");
    let policy = signed(&s)["policies"]["key-a"].as_str().unwrap().to_owned();
    let url = redis.url();
    let mut serve = imagecheck(&s, &["serve", "--policy", &policy, "--shared-cache", &url]);
    serve
        .arg("--socket")
        .arg(&socket)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut daemon = serve.spawn().unwrap();
    let started = Instant::now();
    while !socket.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the daemon did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut client = imagecheck(&s, &["resolve", "--ttl", "60"]);
    client.args(tags.keys()).env("IMAGECHECK_SOCKET", &socket);
    let out = run(client);
    let _ = daemon.kill();
    let _ = daemon.wait();
    check_resolved(&out, &tags);
    assert_eq!(redis.keys("imagecheck:v1:tag:*fleet/daemon:*").len(), 2);
}
