//! Shared by the integration tests: the harness state (real registries started by
//! tests/harness/harness.py), request counting from access logs, and pushing fresh images.
//!
//! The harness must be running: `tests/run` starts it and sets IMAGECHECK_HARNESS. Without it
//! these tests fail with instructions; they never skip.
#![allow(dead_code, reason = "each test binary uses a different part")]

pub mod distribution;
pub mod fake_registry;
pub mod redis_server;
pub mod shared_fixtures;
pub mod slow_link;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::LazyLock;

use serde_json::Value;

pub struct Harness {
    pub state: Value,
    pub dir: PathBuf,
}

pub static HARNESS: LazyLock<Harness> = LazyLock::new(|| {
    let dir = std::env::var_os("IMAGECHECK_HARNESS").unwrap_or_else(|| {
        panic!(
            "IMAGECHECK_HARNESS is not set. These tests need the real registries: run\n  \
             python3 tests/harness/harness.py start --state-dir /tmp/ic-harness\n  \
             IMAGECHECK_HARNESS=/tmp/ic-harness cargo test\nor simply tests/run"
        )
    });
    let dir = PathBuf::from(dir);
    let text = std::fs::read_to_string(dir.join("state.json")).unwrap_or_else(|e| {
        panic!(
            "cannot read {}/state.json ({e}); is the harness running?",
            dir.display()
        )
    });
    Harness {
        state: serde_json::from_str(&text).expect("state.json is JSON"),
        dir,
    }
});

pub fn harness() -> &'static Harness {
    &HARNESS
}

/// The repository root (core/..).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

impl Harness {
    pub fn host(&self, registry: &str) -> String {
        self.state["registries"][registry]["host"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub fn user(&self, registry: &str) -> (String, String) {
        let r = &self.state["registries"][registry];
        (
            r["username"].as_str().unwrap().to_owned(),
            r["password"].as_str().unwrap().to_owned(),
        )
    }

    pub fn log(&self, registry: &str) -> PathBuf {
        PathBuf::from(self.state["registries"][registry]["log"].as_str().unwrap())
    }

    pub fn hosts(&self) -> Vec<String> {
        ["plain", "basic", "token"]
            .iter()
            .map(|r| self.host(r))
            .collect()
    }

    /// Every image the harness pushed.
    pub fn images(&self) -> Vec<Image> {
        self.state["images"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| Image {
                name: i["name"].as_str().unwrap().to_owned(),
                registry: i["registry"].as_str().unwrap().to_owned(),
                reference: i["reference"].as_str().unwrap().to_owned(),
                digest: i["digest"].as_str().unwrap().to_owned(),
            })
            .collect()
    }

    pub fn image(&self, name: &str) -> Image {
        self.images()
            .into_iter()
            .find(|i| i.name == name)
            .unwrap_or_else(|| panic!("no image {name}"))
    }

    /// A resolver that reaches the harness registries over plain HTTP.
    pub fn resolver_builder(&self) -> imagecheck::resolve::ResolverBuilder {
        imagecheck::Resolver::builder().insecure_registries(self.hosts())
    }

    /// Write a fresh image (distinct content from `seed`) and push it to `registry` as
    /// `repo_tag`; returns the digest the registry serves.
    pub fn push_new(&self, seed: &str, registry: &str, repo_tag: &str) -> String {
        let layout = self
            .dir
            .join("test-layouts")
            .join(seed.replace(['/', ':'], "_"));
        let _ = std::fs::remove_dir_all(&layout);
        run_harness(&[
            "make-image",
            "--out",
            layout.to_str().unwrap(),
            "--seed",
            seed,
        ]);
        run_harness(&[
            "push",
            "--state-dir",
            self.dir.to_str().unwrap(),
            "--layout",
            layout.to_str().unwrap(),
            "--registry",
            registry,
            "--to",
            repo_tag,
        ])
        .trim()
        .to_owned()
    }
}

impl Harness {
    /// Tags `repo:{prefix}0`.. (`count` of them) on the plain registry, each its own small
    /// manifest (`harness.py tags`); `{tag: digest}`. Pushing again with another `seed` moves
    /// the tags.
    pub fn push_tags(
        &self,
        repo: &str,
        prefix: &str,
        count: usize,
        seed: &str,
    ) -> std::collections::BTreeMap<String, String> {
        let out = run_harness(&[
            "tags",
            "--state-dir",
            self.dir.to_str().unwrap(),
            "--repo",
            repo,
            "--count",
            &count.to_string(),
            "--prefix",
            prefix,
            "--seed",
            seed,
        ]);
        serde_json::from_str(&out).expect("harness.py tags prints JSON")
    }
}

#[derive(Debug, Clone)]
pub struct Image {
    pub name: String,
    pub registry: String,
    pub reference: String,
    pub digest: String,
}

fn run_harness(args: &[&str]) -> String {
    let output = Command::new("python3")
        .arg(repo_root().join("tests/harness/harness.py"))
        .args(args)
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "harness.py {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The digest `skopeo inspect` (an independent client) reports.
pub fn skopeo_digest(reference: &str, creds: Option<(&str, &str)>) -> String {
    let mut command = Command::new("skopeo");
    command.args(["inspect", "--tls-verify=false", "--format", "{{.Digest}}"]);
    if let Some((u, p)) = creds {
        command.arg(format!("--creds={u}:{p}"));
    }
    let output = command
        .arg(format!("docker://{reference}"))
        .output()
        .expect("skopeo runs");
    assert!(
        output.status.success(),
        "skopeo inspect {reference}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// Current size of a log file, to count only what comes after.
pub fn log_offset(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// Access-log request lines after `offset` whose request line starts with `prefix`
/// (e.g. `HEAD /v2/test/hello/manifests/v1`). The registry also writes an error line per
/// 4xx; only the quoted access-log form is counted.
pub fn count_requests(path: &Path, offset: u64, prefix: &str) -> usize {
    let text = std::fs::read(path).unwrap();
    let text = String::from_utf8_lossy(&text[offset as usize..]);
    let needle = format!("\"{prefix}");
    text.lines().filter(|l| l.contains(&needle)).count()
}

/// Every access-log request line after `offset` touching `/v2/<repository>/`.
pub fn requests_for(path: &Path, offset: u64, repository: &str) -> Vec<String> {
    let text = std::fs::read(path).unwrap();
    let text = String::from_utf8_lossy(&text[offset as usize..]);
    let needle = format!(" /v2/{repository}/");
    text.lines()
        .filter(|l| l.contains(&needle) && l.contains("\" ") && l.contains(" HTTP/1.1\""))
        .map(str::to_owned)
        .collect()
}

/// A unique suffix for repositories and tags made by one test.
/// A loopback port nothing listens on now: bound, read and released. A server started on it a
/// moment later takes it; a client dialling it is refused.
pub fn unused_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{prefix}{}x{nanos}x{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// Wait until the access log has caught up (lines are written when a request completes).
pub fn settle() {
    std::thread::sleep(std::time::Duration::from_millis(300));
}

/// The signing stage's output (tests/harness/sign.py): signed images, policies, keys.
pub fn signed() -> &'static Value {
    static SIGNED: LazyLock<Value> = LazyLock::new(|| {
        let path = harness().dir.join("signed.json");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "cannot read {} ({e}): run tests/harness/sign.py --state-dir {} after the harness \
                 (tests/run does)",
                path.display(),
                harness().dir.display()
            )
        });
        serde_json::from_str(&text).expect("signed.json is JSON")
    });
    &SIGNED
}

/// `(reference, digest)` of a signed image.
pub fn signed_image(name: &str) -> (String, String) {
    let image = &signed()["images"][name];
    (
        image["reference"]
            .as_str()
            .unwrap_or_else(|| panic!("no signed image {name}"))
            .to_owned(),
        image["digest"].as_str().unwrap().to_owned(),
    )
}

/// The test CA's trust root (tests/harness/testca.py, written by sign.py): that CA, no
/// transparency or CT log.
pub fn test_ca_root() -> imagecheck::verify::TrustedRoot {
    let path = signed()["trust_roots"]["test-ca"]
        .as_str()
        .expect("signed.json names trust root test-ca (sign.py)");
    imagecheck::verify::TrustedRoot::from_file(Path::new(path)).unwrap()
}

pub fn signed_policy(name: &str) -> PathBuf {
    PathBuf::from(
        signed()["policies"][name]
            .as_str()
            .unwrap_or_else(|| panic!("no policy {name}")),
    )
}

/// `cosign verify --key KEY` as every comparison runs it: the log ignored (public-key rules do
/// not need it) and plain-HTTP registries allowed. Add credentials and the reference.
pub fn cosign_verify_command(key: &str) -> Command {
    let mut command = Command::new(signed()["cosign"].as_str().unwrap());
    command.args([
        "verify",
        "--key",
        key,
        "--insecure-ignore-tlog=true",
        "--allow-insecure-registry",
        "--allow-http-registry",
    ]);
    command
}

/// `cosign ARGS…` writing to the harness's plain-HTTP registries with the harness's signing
/// password: no transparency log, no signing config, the legacy (non-bundle) format.
pub fn cosign_offline_command(args: &[&str]) -> Command {
    let mut command = Command::new(signed()["cosign"].as_str().unwrap());
    command
        .args(args)
        .args([
            "--yes",
            "--tlog-upload=false",
            "--use-signing-config=false",
            "--allow-insecure-registry",
            "--allow-http-registry",
            "--new-bundle-format=false",
        ])
        .env("COSIGN_PASSWORD", signed()["password"].as_str().unwrap());
    command
}

/// Run `command`, panicking with its stderr unless it succeeds.
pub fn run_ok(command: &mut Command) -> std::process::Output {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        out.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
