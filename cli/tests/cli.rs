//! The CLI's output shape and exit codes (a contract scripts depend on), against the harness's
//! real registries.

#![allow(
    clippy::unwrap_used,
    reason = "a test should stop at the first surprise"
)]

mod support;

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;
use support::state;

fn host(s: &Value, registry: &str) -> String {
    s["registries"][registry]["host"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn image(s: &Value, name: &str) -> (String, String) {
    let i = s["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == name)
        .unwrap();
    (
        i["reference"].as_str().unwrap().to_owned(),
        i["digest"].as_str().unwrap().to_owned(),
    )
}

fn imagecheck(args: &[&str]) -> Output {
    let s = state();
    let insecure = ["plain", "basic", "token"].map(|r| host(&s, r)).join(",");
    Command::new(env!("CARGO_BIN_EXE_imagecheck"))
        .args(args)
        .env("IMAGECHECK_INSECURE_REGISTRIES", insecure)
        .env_remove("IMAGECHECK_PASSWORD")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[test]
fn resolve_prints_one_tab_separated_line_per_reference_in_order() {
    let s = state();
    let names = ["dockerlist-v2s2", "hello-oci", "index-oci", "docker-v2s2"];
    let refs: Vec<(String, String)> = names.iter().map(|n| image(&s, n)).collect();
    let args: Vec<&str> = std::iter::once("resolve")
        .chain(refs.iter().map(|(r, _)| r.as_str()))
        .collect();
    let out = imagecheck(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected: String = refs.iter().map(|(r, d)| format!("{r}\t{d}\n")).collect();
    assert_eq!(stdout(&out), expected);
}

#[test]
fn json_output_and_exit_codes_for_mixed_results() {
    let s = state();
    let (good, digest) = image(&s, "hello-oci");
    let missing = format!("{}/test/hello:missing", host(&s, "plain"));
    let out = imagecheck(&["resolve", "--json", &good, "NOT A REF", &missing]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "digest unavailable (4) outranks invalid input (3)"
    );
    let lines: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(
        lines[0],
        serde_json::json!({"reference": good, "digest": digest})
    );
    assert_eq!(lines[1]["error"]["kind"], "InvalidReference");
    assert_eq!(lines[2]["error"]["kind"], "DigestUnavailable");
    assert_eq!(lines[2]["error"]["cause"], "not found");

    let invalid = imagecheck(&["resolve", &good, "UPPER/case"]);
    assert_eq!(invalid.status.code(), Some(3));
    assert!(
        stdout(&invalid).contains("UPPER/case\terror: InvalidReference: "),
        "{}",
        stdout(&invalid)
    );
}

#[test]
fn credentials_from_stdin_reach_the_token_registry_and_never_the_output() {
    let s = state();
    let (reference, digest) = image(&s, "token-private-hello-oci");
    let user = s["registries"]["token"]["username"].as_str().unwrap();
    let password = s["registries"]["token"]["password"].as_str().unwrap();
    let insecure = ["plain", "basic", "token"].map(|r| host(&s, r)).join(",");
    let mut child = Command::new(env!("CARGO_BIN_EXE_imagecheck"))
        .args([
            "resolve",
            "-vv",
            "--username",
            user,
            "--password-stdin",
            &reference,
        ])
        .env("IMAGECHECK_INSECURE_REGISTRIES", insecure)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(password.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout(&out), format!("{reference}\t{digest}\n"));
    let everything = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert!(
        !everything.contains(password),
        "the password leaked into the output"
    );

    let anonymous = imagecheck(&["resolve", &reference]);
    assert_eq!(anonymous.status.code(), Some(4));
    assert!(
        stdout(&anonymous).contains("unauthorized"),
        "{}",
        stdout(&anonymous)
    );
}

#[test]
fn engines_and_usage_errors() {
    let k = imagecheck(&["resolve", "--engine", "kubernetes", "nginx:1.27"]);
    assert_eq!(k.status.code(), Some(4));
    assert!(stdout(&k).contains("no digest source"), "{}", stdout(&k));
    let unknown = imagecheck(&["resolve", "--engine", "containerd", "nginx"]);
    assert_eq!(unknown.status.code(), Some(3));
    let pinned = format!("nginx@sha256:{}", "a".repeat(64));
    let offline = imagecheck(&["resolve", "--engine", "kubernetes", &pinned]);
    assert_eq!(
        offline.status.code(),
        Some(0),
        "a digest reference needs no engine"
    );
    let usage = imagecheck(&["resolve"]);
    assert_eq!(usage.status.code(), Some(2), "clap's usage error");
}

#[test]
fn help_documents_commands_and_exit_codes() {
    let top = stdout(&imagecheck(&["--help"]));
    for needle in ["resolve", "Exit codes:", "3  invalid input"] {
        assert!(top.contains(needle), "--help lacks {needle:?}:\n{top}");
    }
    let resolve = stdout(&imagecheck(&["resolve", "--help"]));
    for needle in [
        "--engine",
        "--ttl",
        "--json",
        "--password-stdin",
        "--insecure-registry",
        "REF<TAB>",
    ] {
        assert!(resolve.contains(needle), "resolve --help lacks {needle:?}");
    }
    let serve = stdout(&imagecheck(&["serve", "--help"]));
    for needle in [
        "--socket",
        "--policy",
        "--metrics",
        "--socket-group",
        "machine.ImageService/Verify",
        "SIGHUP",
    ] {
        assert!(serve.contains(needle), "serve --help lacks {needle:?}");
    }
    let verifier = imagecheck(&["containerd-verifier", "--help"]);
    assert_eq!(verifier.status.code(), Some(0));
    for needle in [
        "-name NAME",
        "-digest DIGEST",
        "--require-match",
        "IMAGECHECK_SOCKET",
    ] {
        assert!(
            stdout(&verifier).contains(needle),
            "containerd-verifier --help lacks {needle:?}"
        );
    }
}

#[test]
fn containerd_s_arguments_are_not_a_usage_error_and_a_missing_policy_blocks() {
    // The bindir contract: Go-style flags; exit 1 blocks; one line of reason on stdout.
    let digest = format!("sha256:{}", "b".repeat(64));
    let out = Command::new(env!("CARGO_BIN_EXE_imagecheck"))
        .args([
            "containerd-verifier",
            "-name",
            "registry.invalid/app:v1",
            "-digest",
            &digest,
            "-stdin-media-type",
            "application/vnd.oci.descriptor.v1+json",
        ])
        .env("IMAGECHECK_POLICY", "/nonexistent/policy.yaml")
        .env("IMAGECHECK_SOCKET", "/nonexistent/imagecheck.sock")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(
        text.contains("fail closed") && text.contains("/nonexistent/policy.yaml"),
        "{text}"
    );
}

fn signed(s: &Value) -> Value {
    let dir = s["state_dir"].as_str().unwrap();
    let text = std::fs::read_to_string(PathBuf::from(dir).join("signed.json"))
        .expect("signed.json: run tests/harness/sign.py after the harness (tests/run does)");
    serde_json::from_str(&text).unwrap()
}

#[test]
fn verify_prints_verdicts_and_the_highest_exit_code_wins() {
    let s = state();
    let signed = signed(&s);
    let policy = signed["policies"]["key-a"].as_str().unwrap();
    let image = |n: &str| {
        signed["images"][n]["reference"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let digest = |n: &str| signed["images"][n]["digest"].as_str().unwrap().to_owned();

    let ok = imagecheck(&[
        "verify",
        "--policy",
        policy,
        &image("legacy"),
        &image("bundle"),
    ]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}{}",
        stdout(&ok),
        String::from_utf8_lossy(&ok.stderr)
    );
    let lines: Vec<String> = stdout(&ok).lines().map(str::to_owned).collect();
    assert!(
        lines[0].starts_with(&format!("{}\tverified\t", image("legacy"))),
        "{lines:?}"
    );
    assert!(lines[0].contains(&digest("legacy")), "{lines:?}");

    let skip = imagecheck(&[
        "verify",
        "--policy",
        policy,
        &image("legacy"),
        &image("skipped"),
    ]);
    assert_eq!(skip.status.code(), Some(1), "{}", stdout(&skip));
    assert!(
        stdout(&skip).contains("\tnot verified\t-\t"),
        "{}",
        stdout(&skip)
    );

    let failed = imagecheck(&[
        "verify",
        "--json",
        "--policy",
        policy,
        &image("skipped"),
        &image("unsigned"),
        &image("denied"),
    ]);
    assert_eq!(failed.status.code(), Some(2));
    let objects: Vec<Value> = stdout(&failed)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objects[0]["verified"], false);
    assert_eq!(objects[1]["error"]["kind"], "VerificationFailed");
    assert_eq!(objects[2]["error"]["kind"], "Denied");
}

#[test]
fn verify_with_the_test_ca_trust_root_accepts_a_cosign_certificate_signature() {
    // Signed by real cosign with a test CA standing in for Fulcio (sign.py, testca.py).
    let s = state();
    let signed = signed(&s);
    let policy = signed["policies"]["keyless-email"].as_str().unwrap();
    let root = signed["trust_roots"]["test-ca"].as_str().unwrap();
    let reference = signed["images"]["keyless-email"]["reference"]
        .as_str()
        .unwrap();
    let ok = imagecheck(&[
        "verify",
        "--policy",
        policy,
        "--trusted-root",
        root,
        reference,
    ]);
    let text = stdout(&ok);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(
        text.starts_with(&format!("{reference}\tverified\t")),
        "{text}"
    );
    assert!(
        text.contains("transparency log and SCT not checked"),
        "{text}"
    );
    // The embedded public-good root does not trust the test CA: verification failed.
    let refused = imagecheck(&["verify", "--policy", policy, reference]);
    assert_eq!(refused.status.code(), Some(2), "{}", stdout(&refused));
}

#[test]
fn policy_check_lists_rules_and_rejects_bad_files() {
    let s = state();
    let signed = signed(&s);
    let policy = signed["policies"]["key-a"].as_str().unwrap();
    let out = imagecheck(&["policy", "check", policy]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(
        text.contains("4 rule(s)")
            && text.contains("rule 0")
            && text.contains("skip")
            && text.contains("public key (ECDSA P-256)"),
        "{text}"
    );

    let dir = std::env::temp_dir().join(format!("imagecheck-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.yaml");
    std::fs::write(&bad, "rules:\n  - image: \"\"\n    skip: true\n").unwrap();
    let out = imagecheck(&["policy", "check", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("rule 0"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verify_bad = imagecheck(&["verify", "--policy", bad.to_str().unwrap(), "nginx"]);
    assert_eq!(verify_bad.status.code(), Some(3));
    let bad_root = dir.join("trusted_root.json");
    std::fs::write(&bad_root, "{not json").unwrap();
    let root_bad = imagecheck(&[
        "verify",
        "--policy",
        policy,
        "--trusted-root",
        bad_root.to_str().unwrap(),
        "nginx",
    ]);
    assert_eq!(
        root_bad.status.code(),
        Some(3),
        "an unloadable trust root is invalid input"
    );
    let public_good = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../core/trust/public-good-trusted_root.json");
    let root_ok = imagecheck(&[
        "verify",
        "--policy",
        policy,
        "--trusted-root",
        public_good.to_str().unwrap(),
        "example.com/app:1",
    ]);
    assert_eq!(
        root_ok.status.code(),
        Some(1),
        "loads; no rule matches: {}",
        stdout(&root_ok)
    );
}

#[path = "../../core/tests/support/fake_registry.rs"]
mod fake_registry;

/// Peak RSS of a running process in MB, from /proc (last value read before it exits).
fn watch_peak_rss_mb(child: &mut std::process::Child) -> u64 {
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    while child.try_wait().unwrap().is_none() {
        let kb = std::fs::read_to_string(&status_path)
            .ok()
            .and_then(|status| {
                status
                    .lines()
                    .find(|l| l.starts_with("VmHWM:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|v| v.parse::<u64>().ok())
            });
        peak = peak.max(kb.unwrap_or(0) / 1024);
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    peak
}

#[test]
fn an_endless_or_huge_registry_answer_keeps_the_process_under_100_mb() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for mode in [
        fake_registry::Body::Endless,
        fake_registry::Body::ClaimLength(10 << 30),
    ] {
        let fake = runtime.block_on(fake_registry::start(move |method, _| {
            let mut a = fake_registry::Answer::new(
                200,
                &[("content-type", "application/vnd.oci.image.manifest.v1+json")],
                b"{}",
            );
            if method == "GET" {
                a.mode = mode.clone();
            }
            a
        }));
        let started = std::time::Instant::now();
        let mut child = Command::new(env!("CARGO_BIN_EXE_imagecheck"))
            .args([
                "resolve",
                "--timeout",
                "10",
                "--insecure-registry",
                &fake.host,
                &format!("{}/endless/app:v1", fake.host),
            ])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let peak = watch_peak_rss_mb(&mut child);
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(4), "{}", stdout(&out));
        assert!(
            stdout(&out).contains("invalid response"),
            "{}",
            stdout(&out)
        );
        assert!(peak > 0 && peak < 100, "peak RSS {peak} MB");
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }
}
