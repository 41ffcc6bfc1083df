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
    let out = imagecheck_with_stdin(
        &[
            "resolve",
            "-vv",
            "--username",
            user,
            "--password-stdin",
            &reference,
        ],
        password,
    );
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

/// `imagecheck ARGS` with `stdin` written to its standard input (for --password-stdin).
fn imagecheck_with_stdin(args: &[&str], stdin: &str) -> Output {
    let s = state();
    let insecure = ["plain", "basic", "token"].map(|r| host(&s, r)).join(",");
    let mut child = Command::new(env!("CARGO_BIN_EXE_imagecheck"))
        .args(args)
        .env("IMAGECHECK_INSECURE_REGISTRIES", insecure)
        .env_remove("IMAGECHECK_PASSWORD")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    // A command that refuses its arguments exits without reading stdin: the pipe may be
    // closed before (or while) this writes, which is no failure of the test.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    child.wait_with_output().unwrap()
}

/// A second registry that asks for Basic credentials on every request, to see who sends them.
fn basic_challenging_registry(runtime: &tokio::runtime::Runtime) -> fake_registry::FakeRegistry {
    runtime.block_on(fake_registry::start(|_, _| {
        fake_registry::Answer::new(401, &[("www-authenticate", "Basic realm=\"other\"")], b"")
    }))
}

fn authorization_sent(fake: &fake_registry::FakeRegistry) -> bool {
    fake.heads()
        .iter()
        .any(|head| head.to_ascii_lowercase().contains("\r\nauthorization:"))
}

/// `resolve` of the basic registry's private image and of a reference on a second registry
/// (one that challenges for Basic credentials), with the basic registry's username, its
/// password on stdin, and `scope` before the references.
struct TwoRegistries {
    out: Output,
    private: String,
    digest: String,
    elsewhere: String,
    other: fake_registry::FakeRegistry,
    _runtime: tokio::runtime::Runtime,
}

fn resolve_on_two_registries(scope: &[&str]) -> TwoRegistries {
    let s = state();
    let (private, digest) = image(&s, "basic-hello-oci");
    let user = s["registries"]["basic"]["username"].as_str().unwrap();
    let password = s["registries"]["basic"]["password"].as_str().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let other = basic_challenging_registry(&runtime);
    let elsewhere = format!("{}/x/app:v1", other.host);
    let mut args = vec!["resolve", "--insecure-registry", &other.host];
    args.extend_from_slice(scope);
    args.extend(["--username", user, "--password-stdin", &private, &elsewhere]);
    let out = imagecheck_with_stdin(&args, password);
    TwoRegistries {
        out,
        private,
        digest,
        elsewhere,
        other,
        _runtime: runtime,
    }
}

#[test]
fn credentials_without_a_registry_are_refused_when_the_references_name_several() {
    let run = resolve_on_two_registries(&[]);
    let stderr = String::from_utf8_lossy(&run.out.stderr);
    assert_eq!(
        run.out.status.code(),
        Some(3),
        "{}{stderr}",
        stdout(&run.out)
    );
    assert!(
        stderr.contains("--registry HOST") && stderr.contains(&run.other.host),
        "{stderr}"
    );
    assert!(
        !authorization_sent(&run.other),
        "the password went to {}",
        run.other.host
    );
    assert_eq!(stdout(&run.out), "", "nothing is resolved on a usage error");
}

#[test]
fn credentials_named_for_a_registry_reach_only_that_registry() {
    let basic = host(&state(), "basic");
    let run = resolve_on_two_registries(&["--registry", &basic]);
    let text = stdout(&run.out);
    assert_eq!(run.out.status.code(), Some(4), "{text}");
    assert!(
        text.starts_with(&format!("{}\t{}\n", run.private, run.digest)),
        "{text}"
    );
    assert!(
        text.contains(&format!("{}\terror: DigestUnavailable: ", run.elsewhere)),
        "{text}"
    );
    assert!(
        run.other.requests.load(std::sync::atomic::Ordering::SeqCst) > 0,
        "the other registry was asked"
    );
    assert!(
        !authorization_sent(&run.other),
        "the password went to {}",
        run.other.host
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
    // Usage errors are invalid input (3), never 2 ("verification failed"); help and version
    // are not errors.
    for args in [
        &["resolve"][..],
        &[],
        &["verify", "--bogus", "nginx"],
        &["resolve", "--ttl", "soon", "nginx"],
        &["frobnicate"],
        &["policy"],
    ] {
        let usage = imagecheck(args);
        assert_eq!(usage.status.code(), Some(3), "{args:?}: a usage error");
        assert!(!usage.stderr.is_empty(), "{args:?}: says why on stderr");
    }
    for args in [
        &["--help"][..],
        &["--version"],
        &["help"],
        &["policy", "check", "--help"],
    ] {
        let help = imagecheck(args);
        assert_eq!(help.status.code(), Some(0), "{args:?}");
        assert!(!stdout(&help).is_empty(), "{args:?}: prints on stdout");
    }
}

#[test]
fn mirror_and_rate_limit_flags_reach_the_resolver() {
    let s = state();
    let plain = host(&s, "plain");
    let (reference, digest) = image(&s, "hello-oci");
    let path = reference.split_once('/').unwrap().1;
    // A source nothing listens on, mirrored by the plain registry.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let conf = write(
        "mirrored.conf",
        format!(
            "[[registry]]\nlocation = \"{closed}\"\n[[registry.mirror]]\nlocation = \"{plain}\"\n"
        ),
    );
    let blocking = write(
        "blocking.conf",
        format!("[[registry]]\nlocation = \"{plain}\"\nblocked = true\n"),
    );
    let mirrored = format!("{closed}/{path}");
    let out = imagecheck(&[
        "resolve",
        "--registries-conf",
        &conf,
        "--max-retries",
        "0",
        "--max-concurrent-requests-per-host",
        "4",
        &mirrored,
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(stdout(&out), format!("{mirrored}\t{digest}\n"));
    let blocked = imagecheck(&[
        "resolve",
        "--json",
        "--registries-conf",
        &blocking,
        &reference,
    ]);
    assert_eq!(blocked.status.code(), Some(3), "{blocked:?}");
    let line: Value = serde_json::from_str(stdout(&blocked).trim()).unwrap();
    assert_eq!(line["error"]["kind"], "InvalidArgument");
    assert!(
        line["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&blocking),
        "{line}"
    );
    let zero = imagecheck(&[
        "resolve",
        "--max-concurrent-requests-per-host",
        "0",
        &reference,
    ]);
    assert_eq!(zero.status.code(), Some(3));
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
        "--registry",
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
    assert_eq!(
        objects[1]["error"]["failures"],
        serde_json::json!([]),
        "an unsigned image: no candidate was checked"
    );
    assert_eq!(objects[2]["error"]["kind"], "Denied");
    assert!(objects[2]["error"].get("failures").is_none());

    // A signature by another key: one candidate, where it was found and the check it failed.
    let wrong = imagecheck(&["verify", "--json", "--policy", policy, &image("wrongkey")]);
    assert_eq!(wrong.status.code(), Some(2), "{}", stdout(&wrong));
    let object: Value = serde_json::from_str(stdout(&wrong).trim()).unwrap();
    let failures = object["error"]["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1, "{object}");
    assert_eq!(failures[0]["source"], "legacy_tag", "{object}");
    assert_eq!(failures[0]["check"], "wrong_key", "{object}");
    assert_eq!(failures[0]["message"], "signed by another key", "{object}");
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
fn policy_check_warns_about_a_respelled_registry_and_verify_applies_the_rule() {
    let dir = std::env::temp_dir().join(format!("imagecheck-cli-spelling-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("policy.yaml");
    std::fs::write(
        &file,
        "rules:\n  - image: \"GHCR.IO:443/evil/*\"\n    deny: true\n  \
         - image: \"registry-1.docker.io/library/*\"\n    deny: true\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let out = imagecheck(&["policy", "check", file]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    for (written, matched) in [
        ("GHCR.IO:443/evil/*", "ghcr.io/evil/*"),
        ("registry-1.docker.io/library/*", "docker.io/library/*"),
    ] {
        assert!(
            stderr
                .lines()
                .any(|line| line.starts_with("imagecheck: warning: rule ")
                    && line.contains(&format!("(image {written:?})"))
                    && line.contains(&format!("matched as {matched:?}"))),
            "{stderr}"
        );
    }
    // Deny answers without network: every spelling of the registry is denied (exit 2).
    for reference in ["ghcr.io/evil/app:v1", "Ghcr.io/evil/app:v1", "nginx"] {
        let out = imagecheck(&["verify", "--policy", file, reference]);
        assert_eq!(out.status.code(), Some(2), "{reference}: {}", stdout(&out));
    }
    // The debug log says which registry a respelled reference was taken for.
    let out = imagecheck(&["-vv", "verify", "--policy", file, "Ghcr.io:443/evil/app:v1"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("\"Ghcr.io:443\" is a spelling of registry \"ghcr.io\""),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `policy check --talos`: one Talos document linted for both; what Talos's own verifier would
/// do differently is listed on stderr, and the exit code stays 0.
#[test]
fn policy_check_talos_lists_what_talos_would_do_differently() {
    let s = state();
    let signed = signed(&s);
    let indent = |path: &str| {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| format!("        {l}\n"))
            .collect::<String>()
    };
    let certificate = indent(s["tls_registry"]["ca"].as_str().unwrap());
    let rsa = indent(signed["keys"]["rsa"]["public"].as_str().unwrap());
    let dir = std::env::temp_dir().join(format!("imagecheck-cli-talos-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("talos.yaml");
    std::fs::write(
        &file,
        format!(
            r#"apiVersion: v1alpha1
kind: ImageVerificationConfig
rules:
  - image: "docker.io/library/*"
    keyless:
      issuer: "https://token.actions.githubusercontent.com"
      subject: "https://github.com/docker-library/official-images/.github/workflows/sign.yml@refs/heads/main"
      subjectRegex: "^https://github\\.com/docker-library/"
  - image: "ghcr.io/org/*"
    keyless:
      issuerRegex: "^https://token\\.actions\\.githubusercontent\\.com$"
      subject: "https://github.com/org/app/.github/workflows/release.yml@refs/tags/v1"
  - image: "registry.example.com/*"
    publicKey:
      certificate: |
{certificate}  - image: "quay.io/org/*"
    publicKey:
      certificate: |
{rsa}"#
        ),
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let out = imagecheck(&["policy", "check", "--talos", file]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let talos: Vec<&str> = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("imagecheck: talos: "))
        .collect();
    let expected = [
        (
            "rule 0 (image \"docker.io/library/*\"): ",
            "write \"index.docker.io/library/*\"",
        ),
        (
            "rule 0 (image \"docker.io/library/*\"): ",
            "subjectRegex alone",
        ),
        (
            "rule 1 (image \"ghcr.io/org/*\"): ",
            "keyless.issuerRegex is an imagecheck extension, not a Talos field",
        ),
        (
            "rule 2 (image \"registry.example.com/*\"): ",
            "refuses a CERTIFICATE",
        ),
        ("", "payload names the image's digest"),
    ];
    assert_eq!(talos.len(), expected.len(), "{stderr}");
    for (line, (prefix, needle)) in talos.iter().zip(expected) {
        assert!(
            line.starts_with(prefix) && line.contains(needle),
            "{line:?} lacks {prefix:?} / {needle:?}\n{stderr}"
        );
    }
    assert!(
        stdout(&out).contains("Talos would read this document differently: 5 difference(s)"),
        "{}",
        stdout(&out)
    );
    // Without --talos: imagecheck's own checks only.
    let plain = imagecheck(&["policy", "check", file]);
    assert_eq!(plain.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&plain.stderr).contains("talos:"));
    assert!(!stdout(&plain).contains("Talos"));
    // A document both read the same way says so.
    std::fs::write(
        dir.join("same.yaml"),
        "apiVersion: v1alpha1\nkind: ImageVerificationConfig\nrules:\n  - image: \"index.docker.io/library/*\"\n    deny: true\n",
    )
    .unwrap();
    let same = imagecheck(&[
        "policy",
        "check",
        "--talos",
        dir.join("same.yaml").to_str().unwrap(),
    ]);
    assert_eq!(same.status.code(), Some(0));
    assert!(
        stdout(&same).contains("Talos reads this document the same way"),
        "{}",
        stdout(&same)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// imagecheck's extensions are listed under their rule: each signer, the certificate
/// extensions, each attestation with its conditions.
#[test]
fn policy_check_lists_signers_extensions_and_attestations() {
    let s = state();
    let signed = signed(&s);
    let out = imagecheck(&[
        "policy",
        "check",
        signed["policies"]["two-of-three"].as_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(
        text.contains("2 of 3 signers (public key (ECDSA P-256), public key (ECDSA P-256), public key (ECDSA P-256))")
            && text.contains("\n    signers[0]: public key (ECDSA P-256) sha256:")
            && text.contains("\n    signers[2]: public key (ECDSA P-256) sha256:"),
        "{text}"
    );
    let out = imagecheck(&[
        "policy",
        "check",
        signed["policies"]["keyless-workflow-attested"]
            .as_str()
            .unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(
        text.contains("\n    certificateExtensions: buildTrigger \"push\", ")
            && text.contains("sourceRepositoryRef \"refs/tags/v1.2.3\"")
            && text.contains(
                "\n    attestation \"https://slsa.dev/provenance/v1\" where buildDefinition.buildType equals \"https://imagecheck.test/build/v1\" and runDetails.builder.id regex "
            ),
        "{text}"
    );
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
