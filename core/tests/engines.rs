//! The docker and podman engines against a real `dockerd` and a real `podman system service`,
//! pulling from real Distribution registries.
//!
//! Needs two things started beforehand (this test never skips; it fails with instructions):
//!
//! * `IMAGECHECK_HARNESS`: a state directory of `tests/harness/harness.py start` (its
//!   `state.json` names the `plain` and `token` registries and the token user);
//! * `IMAGECHECK_DAEMONS`: the `daemons.json` of `tests/harness/daemons.py start` (or its
//!   directory), whose daemons trust those registries.
//!
//! Every case writes its own OCI layouts with content unique to the case and to this run, and
//! pushes them with skopeo, so that runs against long-lived daemons never see each other's
//! images (podman lists every repository that shares an image ID). Every digest is compared
//! with `skopeo inspect --format '{{.Digest}}'`.
#![allow(clippy::unwrap_used)]

use std::io::{Read as _, Write as _};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use imagecheck::{CauseKind, Credentials, Engine, ErrorKind, Resolver};
use serde_json::Value;

use crate::oci;
use oci::{layout, push};

const HOW_TO_START: &str = "\
the engine tests need real registries and daemons. Start them, then run the tests:
  tests/harness/install-deps.sh && tests/harness/install-daemons.sh
  python3 tests/harness/harness.py start --state-dir /tmp/ic-harness
  python3 tests/harness/daemons.py start --state-dir /tmp/ic-daemons --harness-state /tmp/ic-harness
  IMAGECHECK_HARNESS=/tmp/ic-harness IMAGECHECK_DAEMONS=/tmp/ic-daemons/daemons.json \\
    cargo test -p imagecheck --test integration engines::
Stop them afterwards with `daemons.py stop --state-dir /tmp/ic-daemons` and
`harness.py stop --state-dir /tmp/ic-harness`.";

// ---------------------------------------------------------------------------------------------
// Environment
// ---------------------------------------------------------------------------------------------

#[derive(Debug)]
struct Env {
    plain: String,
    token: String,
    token_user: String,
    token_password: String,
    docker_socket: PathBuf,
    podman_socket: PathBuf,
    /// Unique to this run: part of every repository name and every image's content.
    run: String,
}

fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let harness = std::env::var_os("IMAGECHECK_HARNESS")
            .unwrap_or_else(|| panic!("IMAGECHECK_HARNESS is not set: {HOW_TO_START}"));
        let daemons = std::env::var_os("IMAGECHECK_DAEMONS")
            .unwrap_or_else(|| panic!("IMAGECHECK_DAEMONS is not set: {HOW_TO_START}"));
        let mut state_path = PathBuf::from(harness);
        if state_path.is_dir() {
            state_path = state_path.join("state.json");
        }
        let mut daemons_file = PathBuf::from(daemons);
        if daemons_file.is_dir() {
            daemons_file = daemons_file.join("daemons.json");
        }
        let state = read_json(&state_path);
        let daemons = read_json(&daemons_file);
        let field = |v: &Value, path: &[&str]| -> String {
            let mut v = v;
            for p in path {
                v = &v[p];
            }
            v.as_str()
                .unwrap_or_else(|| panic!("{} has no string at {path:?}", state_path.display()))
                .to_owned()
        };
        let docker_socket = PathBuf::from(field(&daemons, &["docker_socket"]));
        let podman_socket = PathBuf::from(field(&daemons, &["podman_socket"]));
        for socket in [&docker_socket, &podman_socket] {
            assert!(
                raw(socket, "GET", "/_ping").0 == 200,
                "no daemon answers /_ping on {}: {HOW_TO_START}",
                socket.display()
            );
        }
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        Env {
            plain: field(&state, &["registries", "plain", "host"]),
            token: field(&state, &["registries", "token", "host"]),
            token_user: field(&state, &["registries", "token", "username"]),
            token_password: field(&state, &["registries", "token", "password"]),
            docker_socket,
            podman_socket,
            run: format!("r{:x}{:x}", nanos, std::process::id()),
        }
    })
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}\n{HOW_TO_START}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Daemon {
    Docker,
    Podman,
}

const BOTH: [Daemon; 2] = [Daemon::Docker, Daemon::Podman];

impl Daemon {
    fn engine(self) -> Engine {
        match self {
            Daemon::Docker => Engine::Docker,
            Daemon::Podman => Engine::Podman,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Daemon::Docker => "docker",
            Daemon::Podman => "podman",
        }
    }

    fn socket(self) -> &'static Path {
        match self {
            Daemon::Docker => &env().docker_socket,
            Daemon::Podman => &env().podman_socket,
        }
    }
}

/// A resolver for the harness's daemons that trusts the harness's registries and reads no
/// configured credentials (so "no credentials" really is anonymous).
fn resolver() -> Resolver {
    let e = env();
    Resolver::builder()
        .docker_socket(&e.docker_socket)
        .podman_socket(&e.podman_socket)
        .insecure_registries([e.plain.clone(), e.token.clone()])
        .request_timeout(Duration::from_secs(30))
        .pull_timeout(Duration::from_secs(120))
        .build()
}

/// A repository name unique to this run, case and daemon.
fn repo(prefix: &str, case: &str, daemon: Daemon) -> String {
    format!("{prefix}{}-{case}-{}", env().run, daemon.name())
}

// ---------------------------------------------------------------------------------------------
// Raw daemon API (test setup and assertions only; HTTP/1.0 so the body ends at EOF)
// ---------------------------------------------------------------------------------------------

fn raw(socket: &Path, method: &str, target: &str) -> (u16, String) {
    let Ok(mut stream) = UnixStream::connect(socket) else {
        return (0, String::new());
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    write!(
        stream,
        "{method} {target} HTTP/1.0\r\nHost: localhost\r\n\r\n"
    )
    .unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn daemon_pull(daemon: Daemon, name: &str, tag: &str) {
    let (status, body) = raw(
        daemon.socket(),
        "POST",
        &format!("/images/create?fromImage={name}&tag={tag}"),
    );
    assert_eq!(status, 200, "{} pull {name}:{tag}: {body}", daemon.name());
    assert!(
        !body.contains("\"error"),
        "{} pull {name}:{tag}: {body}",
        daemon.name()
    );
}

fn daemon_inspect(daemon: Daemon, name: &str) -> Option<Value> {
    let (status, body) = raw(daemon.socket(), "GET", &format!("/images/{name}/json"));
    match status {
        200 => Some(serde_json::from_str(&body).unwrap()),
        404 => None,
        other => panic!("{} inspect {name}: {other} {body}", daemon.name()),
    }
}

fn token_creds() -> String {
    format!("{}:{}", env().token_user, env().token_password)
}

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

/// Present locally: the daemon pulled the tag before; resolve answers from inspect alone. The
/// tag is then moved in the registry: the engine still reports what the daemon holds, which
/// proves no pull happened.
#[tokio::test]
async fn present_locally_is_answered_by_inspect() {
    let e = env();
    let r = resolver();
    for daemon in BOTH {
        let repository = repo("test/", "present", daemon);
        let first = layout(&format!("{}|{repository}|first", e.run), false);
        let pushed = push(&first, &e.plain, &repository, None, false);
        assert_eq!(pushed, first.digest);
        daemon_pull(daemon, &format!("{}/{repository}", e.plain), "v1");

        let second = layout(&format!("{}|{repository}|second", e.run), false);
        let moved = push(&second, &e.plain, &repository, None, false);
        assert_ne!(moved, pushed);

        let reference = format!("{}/{repository}:v1", e.plain);
        let got = r
            .resolve(&daemon.engine(), &reference, Duration::ZERO)
            .await
            .unwrap_or_else(|err| panic!("{}: {err}", daemon.name()));
        assert_eq!(
            got,
            pushed,
            "{}: the digest the daemon holds",
            daemon.name()
        );
        // The registry engine sees the moved tag; the daemon engines do not pull.
        let upstream = r
            .resolve(&Engine::Registry, &reference, Duration::ZERO)
            .await
            .unwrap();
        assert_eq!(upstream, moved);
    }
}

/// Absent: the engine pulls, then reports the digest skopeo reads from the registry.
#[tokio::test]
async fn absent_image_is_pulled_then_resolved() {
    let e = env();
    let r = resolver();
    for daemon in BOTH {
        let repository = repo("test/", "absent", daemon);
        let image = layout(&format!("{}|{repository}", e.run), false);
        let expected = push(&image, &e.plain, &repository, None, false);
        let name = format!("{}/{repository}:v1", e.plain);
        assert!(daemon_inspect(daemon, &name).is_none());
        let got = r
            .resolve(&daemon.engine(), &name, Duration::ZERO)
            .await
            .unwrap_or_else(|err| panic!("{}: {err}", daemon.name()));
        assert_eq!(got, expected, "{}", daemon.name());
        assert!(
            daemon_inspect(daemon, &name).is_some(),
            "{}: the image was pulled",
            daemon.name()
        );
        // Steady state: same answer from inspect.
        let again = r
            .resolve(&daemon.engine(), &name, Duration::ZERO)
            .await
            .unwrap();
        assert_eq!(again, expected);
    }
}

/// A private repository on the token-auth registry, pulled with per-call credentials.
#[tokio::test]
async fn private_image_with_per_call_credentials() {
    let e = env();
    let r = resolver();
    let creds = token_creds();
    for daemon in BOTH {
        let repository = repo("private/", "creds", daemon);
        let image = layout(&format!("{}|{repository}", e.run), false);
        let expected = push(&image, &e.token, &repository, Some(&creds), false);
        let name = format!("{}/{repository}:v1", e.token);
        let credentials = Credentials::new(&e.token, &e.token_user, &e.token_password);
        let got = r
            .resolve_with(&daemon.engine(), &name, Duration::ZERO, Some(&credentials))
            .await
            .unwrap_or_else(|err| panic!("{}: {err}", daemon.name()));
        assert_eq!(got, expected, "{}", daemon.name());
    }
}

/// The same private repository without credentials: Unauthorized, and no secret in the text.
#[tokio::test]
async fn private_image_without_credentials_is_unauthorized() {
    let e = env();
    let r = resolver();
    let creds = token_creds();
    for daemon in BOTH {
        let repository = repo("private/", "nocreds", daemon);
        let image = layout(&format!("{}|{repository}", e.run), false);
        push(&image, &e.token, &repository, Some(&creds), false);
        let name = format!("{}/{repository}:v1", e.token);
        let err = r
            .resolve(&daemon.engine(), &name, Duration::ZERO)
            .await
            .expect_err(daemon.name());
        assert_eq!(err.kind(), ErrorKind::DigestUnavailable, "{err}");
        let cause = err.digest_cause().unwrap();
        assert_eq!(
            cause.kind,
            CauseKind::Unauthorized,
            "{}: {err}",
            daemon.name()
        );
        assert!(!err.to_string().contains(&e.token_password));

        // Wrong credentials are refused too.
        let wrong = Credentials::new(&e.token, &e.token_user, "not-the-password");
        let err = r
            .resolve_with(&daemon.engine(), &name, Duration::ZERO, Some(&wrong))
            .await
            .expect_err(daemon.name());
        assert_eq!(
            err.digest_cause().unwrap().kind,
            CauseKind::Unauthorized,
            "{}: {err}",
            daemon.name()
        );
        assert!(!err.to_string().contains("not-the-password"), "{err}");
    }
}

/// A tag that does not exist: NotFound.
#[tokio::test]
async fn missing_tag_is_not_found() {
    let e = env();
    let r = resolver();
    for daemon in BOTH {
        let name = format!("{}/{}:v1", e.plain, repo("test/", "missing", daemon));
        let err = r
            .resolve(&daemon.engine(), &name, Duration::ZERO)
            .await
            .expect_err(daemon.name());
        assert_eq!(
            err.digest_cause().unwrap().kind,
            CauseKind::NotFound,
            "{}: {err}",
            daemon.name()
        );
    }
}

/// No daemon at the socket path: Network, naming the path.
#[tokio::test]
async fn missing_socket_is_a_network_cause_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let docker = dir.path().join("no-docker.sock");
    let podman = dir.path().join("no-podman.sock");
    let r = Resolver::builder()
        .docker_socket(&docker)
        .podman_socket(&podman)
        .build();
    for (daemon, path) in [(Daemon::Docker, &docker), (Daemon::Podman, &podman)] {
        let err = r
            .resolve(&daemon.engine(), "127.0.0.1:1/a/b:v1", Duration::ZERO)
            .await
            .expect_err(daemon.name());
        let cause = err.digest_cause().unwrap();
        assert_eq!(cause.kind, CauseKind::Network, "{err}");
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
    }
}

/// A throwaway daemon of each kind: resolve, kill it, resolve again → DigestUnavailable at
/// once (no hang), for a cached-nothing call.
#[tokio::test]
async fn daemon_stopped_mid_test() {
    let e = env();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/harness/daemons.py");
    for daemon in BOTH {
        let dir = tempfile::Builder::new()
            .prefix("icd-")
            .tempdir_in("/tmp")
            .unwrap();
        let status = Command::new("python3")
            .arg(&script)
            .args(["start", "--state-dir"])
            .arg(dir.path())
            .args(["--only", daemon.name(), "--registry", &e.plain])
            .status()
            .unwrap();
        assert!(
            status.success(),
            "cannot start a throwaway {}",
            daemon.name()
        );
        let stop = StopOnDrop(script.clone(), dir.path().to_owned());
        let state = read_json(&dir.path().join("daemons.json"));
        let socket = PathBuf::from(state[format!("{}_socket", daemon.name())].as_str().unwrap());
        let pid = state["processes"][0]["pid"].as_u64().unwrap();
        let mut builder = Resolver::builder().insecure_registry(&e.plain);
        builder = match daemon {
            Daemon::Docker => builder.docker_socket(&socket),
            Daemon::Podman => builder.podman_socket(&socket),
        };
        let r = builder.build();

        let repository = repo("test/", "stopped", daemon);
        let image = layout(&format!("{}|{repository}", e.run), false);
        let expected = push(&image, &e.plain, &repository, None, false);
        let name = format!("{}/{repository}:v1", e.plain);
        let got = r
            .resolve(&daemon.engine(), &name, Duration::ZERO)
            .await
            .unwrap_or_else(|err| panic!("{}: {err}", daemon.name()));
        assert_eq!(got, expected);

        let killed = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Path::new(&format!("/proc/{pid}/stat")).exists()
            && std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map(|s| !s.contains(") Z "))
                .unwrap_or(false)
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(50));
        }

        let started = Instant::now();
        let err = r
            .resolve(&daemon.engine(), &name, Duration::ZERO)
            .await
            .expect_err(daemon.name());
        assert!(started.elapsed() < Duration::from_secs(5), "no hang");
        assert_eq!(err.kind(), ErrorKind::DigestUnavailable);
        let cause = err.digest_cause().unwrap();
        assert_eq!(cause.kind, CauseKind::Network, "{}: {err}", daemon.name());
        assert!(
            cause.detail.contains(&socket.display().to_string()),
            "{err}"
        );
        drop(stop);
    }
}

struct StopOnDrop(PathBuf, PathBuf);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let _ = Command::new("python3")
            .arg(&self.0)
            .args(["stop", "--state-dir"])
            .arg(&self.1)
            .status();
    }
}

/// A multi-arch OCI index: the engines report the index digest, as `docker pull` pins it.
#[tokio::test]
async fn multi_arch_index_reports_the_index_digest() {
    let e = env();
    let r = resolver();
    for daemon in BOTH {
        let repository = repo("test/", "index", daemon);
        let index = layout(&format!("{}|{repository}", e.run), true);
        let expected = push(&index, &e.plain, &repository, None, false);
        assert_eq!(expected, index.digest);
        let name = format!("{}/{repository}:v1", e.plain);
        let pulled = r
            .resolve(&daemon.engine(), &name, Duration::ZERO)
            .await
            .unwrap_or_else(|err| panic!("{}: {err}", daemon.name()));
        assert_eq!(pulled, expected, "{}: after the pull", daemon.name());
        let present = r
            .resolve(&daemon.engine(), &name, Duration::ZERO)
            .await
            .unwrap_or_else(|err| panic!("{}: {err}", daemon.name()));
        assert_eq!(present, expected, "{}: from inspect", daemon.name());
        // A resolver that cannot reach the registry itself (it does not know the registry is
        // plain HTTP) still answers from the daemon alone: docker lists only the index,
        // podman's stored digest breaks its index/platform-manifest tie.
        let daemon_only = Resolver::builder()
            .docker_socket(&e.docker_socket)
            .podman_socket(&e.podman_socket)
            .build();
        let local = daemon_only
            .resolve(&daemon.engine(), &name, Duration::ZERO)
            .await
            .unwrap_or_else(|err| panic!("{}: {err}", daemon.name()));
        assert_eq!(
            local,
            expected,
            "{}: without registry access",
            daemon.name()
        );
    }
}

/// One image (same config, so the same image ID) in two repositories under different
/// manifests (OCI in one, Docker v2s2 in the other): each repository resolves to its own
/// manifest's digest, although podman lists every name against every digest.
#[tokio::test]
async fn repositories_sharing_an_image_each_get_their_own_digest() {
    let e = env();
    let r = resolver();
    for daemon in BOTH {
        let a = repo("test/", "shared-a", daemon);
        let b = repo("test/", "shared-b", daemon);
        let image = layout(&format!("{}|shared|{}", e.run, daemon.name()), false);
        let digest_a = push(&image, &e.plain, &a, None, false);
        let digest_b = push(&image, &e.plain, &b, None, true);
        assert_ne!(digest_a, digest_b, "two manifests of one image");
        let name_a = format!("{}/{a}:v1", e.plain);
        let name_b = format!("{}/{b}:v1", e.plain);
        for (name, expected) in [
            (&name_a, &digest_a),
            (&name_b, &digest_b),
            (&name_a, &digest_a),
        ] {
            let got = r
                .resolve(&daemon.engine(), name, Duration::ZERO)
                .await
                .unwrap_or_else(|err| panic!("{} {name}: {err}", daemon.name()));
            assert_eq!(&got, expected, "{} {name}", daemon.name());
        }
        let inspect_a = daemon_inspect(daemon, &name_a).unwrap();
        let inspect_b = daemon_inspect(daemon, &name_b).unwrap();
        assert_eq!(inspect_a["Id"], inspect_b["Id"], "one image ID");
        let listed = inspect_a["RepoDigests"].to_string();
        assert!(
            listed.contains(&a) && listed.contains(&b),
            "{} names both repositories: {listed}",
            daemon.name()
        );
    }
}

/// The kubernetes engine has no digest source, whatever runs locally.
#[tokio::test]
async fn kubernetes_never_has_a_digest() {
    let e = env();
    let err = resolver()
        .resolve(
            &Engine::Kubernetes,
            &format!("{}/test/any:v1", e.plain),
            Duration::ZERO,
        )
        .await
        .unwrap_err();
    assert_eq!(err.digest_cause().unwrap().kind, CauseKind::NoDigestSource);
}
