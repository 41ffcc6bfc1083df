//! The daemon client against a scripted fake daemon on a unix socket: request shapes,
//! auth header, tie breaking, bounds, timeouts and connection failures. The real dockerd and
//! podman are exercised by core/tests/engines.rs.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::UnixListener;

use super::*;
use crate::registry::{AuthSource, AuthSources, RegistryConfig};

#[derive(Debug, Clone)]
struct Seen {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

enum Reply {
    Json(u16, String),
    Hang,
}

type Script = Box<dyn Fn(&Seen, usize) -> Reply + Send + Sync>;

struct Fake {
    _dir: tempfile::TempDir,
    socket: PathBuf,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Fake {
    /// A daemon answering each request with `script(request, index_of_request)`.
    fn start(script: impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static) -> Fake {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("fake.sock");
        let listener = UnixListener::bind(&socket).unwrap();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let script: Arc<Script> = Arc::new(Box::new(script));
        let log = seen.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let (log, script) = (log.clone(), script.clone());
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut byte = [0u8; 1024];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut byte).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&byte[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&buf).into_owned();
                    let mut lines = head.split("\r\n");
                    let mut first = lines.next().unwrap_or_default().split(' ');
                    let seen = Seen {
                        method: first.next().unwrap_or_default().to_owned(),
                        target: first.next().unwrap_or_default().to_owned(),
                        headers: lines
                            .filter_map(|l| l.split_once(": "))
                            .map(|(n, v)| (n.to_owned(), v.to_owned()))
                            .collect(),
                    };
                    let index = {
                        let mut log = log.lock().unwrap();
                        log.push(seen.clone());
                        log.len() - 1
                    };
                    match script(&seen, index) {
                        Reply::Json(status, body) => {
                            let response = format!(
                                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n\
                                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                                body.len()
                            );
                            let _ = stream.write_all(response.as_bytes()).await;
                        }
                        Reply::Hang => {
                            tokio::time::sleep(Duration::from_secs(3600)).await;
                        }
                    }
                });
            }
        });
        Fake {
            _dir: dir,
            socket,
            seen,
        }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn registry_client(auth: AuthSources) -> Arc<RegistryClient> {
    Arc::new(RegistryClient::new(RegistryConfig {
        auth,
        ..RegistryConfig::default()
    }))
}

fn source(kind: DaemonKind, socket: &std::path::Path) -> DaemonSource {
    DaemonSource::new(
        kind,
        DaemonEndpoint::unix(socket),
        registry_client(AuthSources::none()),
    )
}

fn digest(c: char) -> String {
    format!("sha256:{}", c.to_string().repeat(64))
}

fn reference(text: &str) -> Reference {
    Reference::parse(text).unwrap()
}

fn inspect_json(digests: &[String]) -> String {
    serde_json::json!({"Id": "sha256:img", "RepoDigests": digests}).to_string()
}

fn decode_auth(value: &str) -> serde_json::Value {
    let bytes = base64::engine::general_purpose::URL_SAFE
        .decode(value)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn present_image_is_one_inspect_and_other_repositories_are_ignored() {
    let fake = Fake::start(|_, _| {
        Reply::Json(
            200,
            inspect_json(&[
                format!("reg.example:5000/other@{}", digest('1')),
                format!("reg.example:5000/team/app@{}", digest('2')),
            ]),
        )
    });
    let got = source(DaemonKind::Podman, &fake.socket)
        .digest(&reference("reg.example:5000/team/app:v1"), None)
        .await
        .unwrap();
    assert_eq!(got.as_str(), digest('2'));
    let seen = fake.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].target, "/images/reg.example:5000/team/app:v1/json");
}

#[tokio::test]
async fn absent_image_is_pulled_with_per_call_credentials_then_inspected() {
    let fake = Fake::start(|seen, index| match (seen.method.as_str(), index) {
        ("GET", 0) => Reply::Json(404, r#"{"message":"No such image"}"#.into()),
        ("POST", _) => Reply::Json(
            200,
            format!(
                "{{\"status\":\"Pulling\"}}\n{{\"status\":\"Digest: {}\"}}\n",
                digest('9')
            ),
        ),
        // Only another repository's digest and then ours: the index must be chosen by repo.
        _ => Reply::Json(
            200,
            inspect_json(&[
                format!("docker.io/library/other@{}", digest('1')),
                format!("nginx@{}", digest('9')),
            ]),
        ),
    });
    let creds = Credentials::new("docker.io", "me", "s3cret");
    let got = source(DaemonKind::Docker, &fake.socket)
        .digest(&reference("nginx:1.27"), Some(&creds))
        .await
        .unwrap();
    assert_eq!(got.as_str(), digest('9'));
    let seen = fake.seen();
    assert_eq!(
        seen.iter()
            .map(|s| format!("{} {}", s.method, s.target))
            .collect::<Vec<_>>(),
        vec![
            "GET /images/docker.io/library/nginx:1.27/json",
            "POST /images/create?fromImage=docker.io/library/nginx&tag=1.27",
            "GET /images/docker.io/library/nginx:1.27/json",
        ]
    );
    assert!(seen[0].header("x-registry-auth").is_none());
    let auth = decode_auth(seen[1].header("x-registry-auth").unwrap());
    assert_eq!(
        auth,
        serde_json::json!({"username": "me", "password": "s3cret",
                           "serveraddress": "https://index.docker.io/v1/"})
    );
}

#[tokio::test]
async fn configured_credentials_when_the_call_brings_none_for_this_registry() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.json");
    let b64 = base64::engine::general_purpose::STANDARD.encode("cfg-user:cfg-pw");
    std::fs::write(
        &config,
        format!(r#"{{"auths":{{"127.0.0.1:5000":{{"auth":"{b64}"}}}}}}"#),
    )
    .unwrap();
    let fake = Fake::start(|seen, _| match seen.method.as_str() {
        "POST" => Reply::Json(200, "{\"status\":\"done\"}\n".into()),
        _ if seen.target.contains("/images/") && !seen.target.contains("create") => {
            Reply::Json(404, "{\"message\":\"no such image\"}".into())
        }
        _ => Reply::Json(500, "{}".into()),
    });
    let source = DaemonSource::new(
        DaemonKind::Podman,
        DaemonEndpoint::unix(&fake.socket),
        registry_client(AuthSources::new(vec![AuthSource::DockerConfig(config)])),
    );
    // Credentials for another registry do not apply; the configured ones do.
    let other = Credentials::new("ghcr.io", "x", "y");
    let err = source
        .digest(&reference("127.0.0.1:5000/a/b:v1"), Some(&other))
        .await
        .unwrap_err();
    assert_eq!(err.kind, CauseKind::Engine, "{err}");
    assert!(err.detail.contains("lists no digest"), "{err}");
    let seen = fake.seen();
    let auth = decode_auth(seen[1].header("x-registry-auth").unwrap());
    assert_eq!(auth["username"], "cfg-user");
    assert_eq!(auth["serveraddress"], "127.0.0.1:5000");
}

#[tokio::test]
async fn pull_failures_map_to_causes() {
    for (reply, kind) in [
        (
            Reply::Json(
                404,
                r#"{"message":"pull access denied for x, repository does not exist or may require 'docker login': denied: requested access to the resource is denied"}"#.into(),
            ),
            CauseKind::Unauthorized,
        ),
        (
            Reply::Json(
                404,
                r#"{"message":"manifest for r/x:v not found: manifest unknown: manifest unknown"}"#
                    .into(),
            ),
            CauseKind::NotFound,
        ),
        (
            Reply::Json(
                200,
                "{\"status\":\"x\"}\n{\"progressDetail\":{},\"errorDetail\":{\"message\":\"reading manifest v1 in r/x: errors:\\ndenied: requested access to the resource is denied\\nunauthorized: authentication required\\n\"},\"error\":\"same\"}\n".into(),
            ),
            CauseKind::Unauthorized,
        ),
        (
            Reply::Json(500, r#"{"message":"no space left on device"}"#.into()),
            CauseKind::Engine,
        ),
    ] {
        let reply = Arc::new(Mutex::new(Some(reply)));
        let fake = Fake::start(move |seen, _| match seen.method.as_str() {
            "POST" => reply.lock().unwrap().take().unwrap(),
            _ => Reply::Json(404, "{\"message\":\"no such image\"}".into()),
        });
        let err = source(DaemonKind::Docker, &fake.socket)
            .digest(&reference("127.0.0.1:5000/r/x:v1"), None)
            .await
            .unwrap_err();
        assert_eq!(err.kind, kind, "{err}");
        assert!(err.detail.contains("could not pull"), "{err}");
    }
}

#[tokio::test]
async fn docker_tie_is_broken_by_the_distribution_endpoint() {
    let fake = Fake::start(|seen, _| {
        if seen.target.starts_with("/distribution/") {
            Reply::Json(
                200,
                serde_json::json!({"Descriptor": {"mediaType": "x", "digest": digest('b'), "size": 1}})
                    .to_string(),
            )
        } else {
            Reply::Json(
                200,
                inspect_json(&[
                    format!("127.0.0.1:5000/r/x@{}", digest('a')),
                    format!("127.0.0.1:5000/r/x@{}", digest('b')),
                ]),
            )
        }
    });
    let got = source(DaemonKind::Docker, &fake.socket)
        .digest(&reference("127.0.0.1:5000/r/x:v1"), None)
        .await
        .unwrap();
    assert_eq!(got.as_str(), digest('b'));
    assert_eq!(
        fake.seen()[1].target,
        "/distribution/127.0.0.1:5000/r/x:v1/json"
    );
}

#[tokio::test]
async fn podman_tie_uses_the_libpod_digest_only_for_a_sole_repository() {
    // The registry (127.0.0.1:1) is unreachable, so the libpod digest decides.
    let fake = Fake::start(|seen, _| {
        if seen.target.starts_with("/v4.0.0/libpod/images/") {
            Reply::Json(200, serde_json::json!({"Digest": digest('a')}).to_string())
        } else {
            Reply::Json(
                200,
                inspect_json(&[
                    format!("127.0.0.1:1/r/x@{}", digest('a')),
                    format!("127.0.0.1:1/r/x@{}", digest('b')),
                ]),
            )
        }
    });
    let got = source(DaemonKind::Podman, &fake.socket)
        .digest(&reference("127.0.0.1:1/r/x:v1"), None)
        .await
        .unwrap();
    assert_eq!(got.as_str(), digest('a'));

    // Shared with another repository: the stored digest may be the other one's; no answer.
    let shared = Fake::start(|seen, _| {
        if seen.target.starts_with("/v4.0.0/libpod/images/") {
            Reply::Json(200, serde_json::json!({"Digest": digest('a')}).to_string())
        } else {
            Reply::Json(
                200,
                inspect_json(&[
                    format!("127.0.0.1:1/r/x@{}", digest('a')),
                    format!("127.0.0.1:1/r/x@{}", digest('b')),
                    format!("127.0.0.1:1/r/y@{}", digest('a')),
                    format!("127.0.0.1:1/r/y@{}", digest('b')),
                ]),
            )
        }
    });
    let err = source(DaemonKind::Podman, &shared.socket)
        .digest(&reference("127.0.0.1:1/r/x:v1"), None)
        .await
        .unwrap_err();
    assert_eq!(err.kind, CauseKind::Engine);
    assert!(err.detail.contains("cannot tell"), "{err}");
    assert!(!shared.seen().iter().any(|s| s.target.contains("/libpod/")));
}

#[tokio::test]
async fn missing_and_refusing_sockets_are_network_causes_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing.sock");
    let err = source(DaemonKind::Docker, &missing)
        .digest(&reference("a:b"), None)
        .await
        .unwrap_err();
    assert_eq!(err.kind, CauseKind::Network);
    assert!(err.detail.contains(&missing.display().to_string()), "{err}");

    let stale = dir.path().join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    let err = source(DaemonKind::Podman, &stale)
        .digest(&reference("a:b"), None)
        .await
        .unwrap_err();
    assert_eq!(err.kind, CauseKind::Network);
    assert!(err.detail.contains("refuses connections"), "{err}");
    assert!(err.detail.contains(&stale.display().to_string()), "{err}");
}

#[tokio::test]
async fn a_silent_daemon_times_out_and_a_huge_answer_is_refused() {
    let fake = Fake::start(|_, _| Reply::Hang);
    let started = std::time::Instant::now();
    let err = source(DaemonKind::Docker, &fake.socket)
        .with_request_timeout(Duration::from_millis(200))
        .digest(&reference("a:b"), None)
        .await
        .unwrap_err();
    assert_eq!(err.kind, CauseKind::Timeout, "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));

    let pulls_forever = Fake::start(|seen, _| match seen.method.as_str() {
        "POST" => Reply::Hang,
        _ => Reply::Json(404, "{}".into()),
    });
    let err = source(DaemonKind::Podman, &pulls_forever.socket)
        .with_pull_timeout(Duration::from_millis(200))
        .digest(&reference("a:b"), None)
        .await
        .unwrap_err();
    assert_eq!(err.kind, CauseKind::Timeout, "{err}");
    assert!(err.detail.contains("pulling"), "{err}");

    let huge = Fake::start(|_, _| {
        Reply::Json(
            200,
            format!("{{\"Id\":\"{}\"}}", "x".repeat(MAX_INSPECT_BYTES)),
        )
    });
    let err = source(DaemonKind::Docker, &huge.socket)
        .digest(&reference("a:b"), None)
        .await
        .unwrap_err();
    assert_eq!(err.kind, CauseKind::InvalidResponse, "{err}");
}

#[tokio::test]
async fn unsupported_endpoint_names_the_variable() {
    let endpoint = DaemonEndpoint::from_host_value("DOCKER_HOST", "tcp://127.0.0.1:2375");
    let err = DaemonSource::new(
        DaemonKind::Docker,
        endpoint,
        registry_client(AuthSources::none()),
    )
    .digest(&reference("a:b"), None)
    .await
    .unwrap_err();
    assert_eq!(err.kind, CauseKind::Engine);
    assert!(err.detail.contains("DOCKER_HOST"), "{err}");
}

#[test]
fn encodes_what_names_are_not_made_of() {
    assert_eq!(
        encode("127.0.0.1:5000/a/b_c-d.e"),
        "127.0.0.1:5000/a/b_c-d.e"
    );
    assert_eq!(encode("[::1]:5000/a&b"), "%5B::1%5D:5000/a%26b");
}
