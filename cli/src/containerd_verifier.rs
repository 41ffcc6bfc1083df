//! `imagecheck containerd-verifier` (also run as `imagecheck-containerd-verifier`, a symlink in
//! containerd's `bin_dir`): containerd 2.x's `io.containerd.image-verifier.v1.bindir` contract.
//!
//! containerd runs `BIN -name NAME -digest DIGEST -stdin-media-type
//! application/vnd.oci.descriptor.v1+json` with the image's OCI descriptor on stdin; exit 0
//! allows the pull, any other exit blocks it, and stdout (at most 32 KiB) is the reason. It
//! passes its own environment and no registry credentials, and kills the verifier after
//! `per_verifier_timeout` (10 s by default).
//!
//! This verifies `NAME@DIGEST` (the digest being pulled, never the tag's current one) through
//! the daemon when IMAGECHECK_SOCKET (default /run/imagecheck/imagecheck.sock) answers within
//! [`DAEMON_CONNECT_WITHIN`], else in this process with the policy from --policy,
//! IMAGECHECK_POLICY or /etc/imagecheck/policy.yaml. A missing or broken policy blocks (fail
//! closed). No rule matched and skip allow, as Talos does, unless --require-match (or
//! IMAGECHECK_REQUIRE_MATCH=1) makes them block.

use std::io::Read as _;
use std::path::PathBuf;
use std::time::Duration;

use imagecheck::{Digest, Reference, ResolverOptions, Verification, VerifierOptions};

use crate::daemon_client::Daemon;
use crate::serve::DEFAULT_SOCKET;
use crate::serve::kinds::ErrorReport;

/// The policy used in-process when neither --policy nor IMAGECHECK_POLICY names one.
const DEFAULT_POLICY: &str = "/etc/imagecheck/policy.yaml";
/// How long the daemon may take to accept before the verifier works in-process.
const DAEMON_CONNECT_WITHIN: Duration = Duration::from_millis(250);
/// The whole verification, well inside containerd's default 10 s per verifier.
const VERIFY_WITHIN: Duration = Duration::from_secs(8);
/// containerd keeps at most 32 KiB of stdout as the reason.
const MAX_REASON: usize = 32 * 1024;
/// The descriptor on stdin is a few hundred bytes; more is not read.
const MAX_STDIN: u64 = 64 * 1024;
const DESCRIPTOR_MEDIA_TYPE: &str = "application/vnd.oci.descriptor.v1+json";

pub(crate) const HELP: &str = "\
imagecheck containerd-verifier: containerd 2.x image verifier (bindir plugin)

Usage: imagecheck containerd-verifier -name NAME -digest DIGEST [-stdin-media-type TYPE] [OPTIONS]
       imagecheck-containerd-verifier ...   (the same, as a symlink in containerd's bin_dir)

containerd runs every executable in the bin_dir of [plugins.\"io.containerd.image-verifier.v1.bindir\"]
before a transfer-service pull, with the image's OCI descriptor on stdin. This one verifies
NAME@DIGEST (never the tag's current digest) against imagecheck's rules: through the daemon at
IMAGECHECK_SOCKET (default /run/imagecheck/imagecheck.sock) when it answers within 250 ms, else in
this process with the policy from --policy, IMAGECHECK_POLICY or /etc/imagecheck/policy.yaml.

Options (single or double dash; containerd passes only -name, -digest and -stdin-media-type, so
set the rest through containerd's environment, or run this from a wrapper script):
  -name NAME               the image name being pulled (host/repo or host/repo:tag)
  -digest DIGEST           the manifest digest being pulled (sha256:...)
  -stdin-media-type TYPE   media type of stdin (application/vnd.oci.descriptor.v1+json)
  --policy FILE            policy for the in-process path (env IMAGECHECK_POLICY)
  --trusted-root FILE      Sigstore trust root for the in-process path (env IMAGECHECK_TRUSTED_ROOT)
  --require-match          block when no rule matched or a skip rule matched (env IMAGECHECK_REQUIRE_MATCH=1)
  -h, --help               this text

Exit 0 allows the pull; 1 blocks it. Stdout holds one line, the reason. A missing or broken
policy blocks (fail closed). IMAGECHECK_INSECURE_REGISTRIES applies to the in-process path.";

#[derive(Debug, Default)]
struct Args {
    name: Option<String>,
    digest: Option<String>,
    stdin_media_type: Option<String>,
    policy: Option<PathBuf>,
    trusted_root: Option<PathBuf>,
    require_match: bool,
    help: bool,
}

/// Parse Go-style flags: `-flag value`, `-flag=value`, and the `--flag` forms.
fn parse(argv: &[String]) -> Result<Args, String> {
    let mut args = Args::default();
    let mut rest = argv.iter();
    while let Some(arg) = rest.next() {
        let Some(flag) = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) else {
            return Err(format!("unexpected argument {arg:?}"));
        };
        let (flag, inline) = match flag.split_once('=') {
            Some((f, v)) => (f, Some(v.to_owned())),
            None => (flag, None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| rest.next().cloned())
                .ok_or_else(|| format!("-{flag} needs a value"))
        };
        match flag {
            "name" => args.name = Some(value()?),
            "digest" => args.digest = Some(value()?),
            "stdin-media-type" => args.stdin_media_type = Some(value()?),
            "policy" => args.policy = Some(PathBuf::from(value()?)),
            "trusted-root" => args.trusted_root = Some(PathBuf::from(value()?)),
            "require-match" => {
                args.require_match = match inline.as_deref() {
                    None | Some("true") | Some("1") => true,
                    Some("false") | Some("0") => false,
                    Some(other) => {
                        return Err(format!("-require-match={other:?}: use true or false"));
                    }
                }
            }
            "h" | "help" => args.help = true,
            other => return Err(format!("unknown flag -{other}")),
        }
    }
    Ok(args)
}

/// The verdict: allow (exit 0) or block (exit 1), and the one-line reason.
#[derive(Debug, PartialEq, Eq)]
struct Verdict {
    allow: bool,
    reason: String,
}

impl Verdict {
    fn block(reason: impl Into<String>) -> Verdict {
        Verdict {
            allow: false,
            reason: reason.into(),
        }
    }
}

/// Run the verifier with containerd's arguments (argv without the program name and the
/// subcommand); the process exit code.
pub(crate) fn main(argv: &[String]) -> u8 {
    let verdict = match parse(argv) {
        Ok(args) if args.help => {
            println!("{HELP}");
            return 0;
        }
        Ok(args) => run_blocking(args),
        Err(e) => Verdict::block(format!(
            "imagecheck: blocked: cannot read containerd's arguments: {e} (see imagecheck containerd-verifier --help)"
        )),
    };
    println!("{}", one_line(&verdict.reason));
    if verdict.allow { 0 } else { 1 }
}

fn run_blocking(args: Args) -> Verdict {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return Verdict::block(format!("imagecheck: blocked: cannot start: {e}")),
    };
    runtime.block_on(async {
        match tokio::time::timeout(VERIFY_WITHIN, decide(args)).await {
            Ok(verdict) => verdict,
            Err(_) => Verdict::block(format!(
                "imagecheck: blocked: no verdict within {} s",
                VERIFY_WITHIN.as_secs()
            )),
        }
    })
}

async fn decide(args: Args) -> Verdict {
    let require_match = args.require_match
        || std::env::var("IMAGECHECK_REQUIRE_MATCH")
            .is_ok_and(|v| matches!(v.as_str(), "1" | "true"));
    let pinned = match pinned_reference(&args) {
        Ok(p) => p,
        Err(e) => return Verdict::block(format!("imagecheck: blocked: {e}")),
    };
    if let Err(e) = check_descriptor(&args, &pinned.1) {
        return Verdict::block(format!(
            "imagecheck: blocked: {pinned}: {e}",
            pinned = pinned.0
        ));
    }
    let reference = pinned.0;
    let socket = crate::daemon_client::socket_from_env().unwrap_or_else(|| DEFAULT_SOCKET.into());
    let (answer, decided_by) = match Daemon::connect(&socket, DAEMON_CONNECT_WITHIN).await {
        Ok(daemon) => match daemon
            .verify(
                &reference,
                None,
                Some(VERIFY_WITHIN - DAEMON_CONNECT_WITHIN),
            )
            .await
        {
            Ok(answer) => (
                answer,
                format!("the imagecheck daemon at {}", socket.display()),
            ),
            Err(failure) => {
                tracing::debug!(failure = %failure.0, "daemon failed mid-call; verifying in-process");
                in_process(&args, &reference).await
            }
        },
        Err(failure) => {
            tracing::debug!(failure = %failure.0, "verifying in-process");
            in_process(&args, &reference).await
        }
    };
    verdict_of(&reference, answer, require_match, &decided_by)
}

/// `NAME@DIGEST`: the name without its tag (or digest), pinned to the digest being pulled.
fn pinned_reference(args: &Args) -> Result<(String, Digest), String> {
    let name = args.name.as_deref().ok_or("containerd gave no -name")?;
    let digest = args.digest.as_deref().ok_or("containerd gave no -digest")?;
    let digest = Digest::parse(digest).map_err(|e| format!("-digest {digest:?}: {e}"))?;
    let parsed = Reference::parse(name).map_err(|e| format!("-name {name:?}: {e}"))?;
    Ok((parsed.pinned(&digest), digest))
}

/// The descriptor on stdin, when containerd sends one, must name the digest being verified.
fn check_descriptor(args: &Args, digest: &Digest) -> Result<(), String> {
    if args
        .stdin_media_type
        .as_deref()
        .is_some_and(|t| t != DESCRIPTOR_MEDIA_TYPE)
    {
        return Ok(());
    }
    let Some(text) = read_stdin() else {
        return Ok(());
    };
    if text.trim().is_empty() {
        return Ok(());
    }
    let descriptor: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("the descriptor on stdin is not JSON: {e}"))?;
    match descriptor.get("digest").and_then(|d| d.as_str()) {
        Some(d) if d == digest.as_str() => Ok(()),
        Some(d) => Err(format!(
            "the descriptor on stdin names digest {d}, not the -digest {digest}"
        )),
        None => Ok(()),
    }
}

/// Stdin, bounded in size and time (a terminal that never closes it does not hang the pull).
fn read_stdin() -> Option<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let read = std::io::stdin().take(MAX_STDIN).read_to_string(&mut text);
        let _ = tx.send(read.ok().map(|_| text));
    });
    rx.recv_timeout(Duration::from_secs(1)).ok().flatten()
}

async fn in_process(args: &Args, reference: &str) -> (Result<Verification, ErrorReport>, String) {
    let policy_path = args
        .policy
        .clone()
        .or_else(|| {
            std::env::var_os(imagecheck::verify::POLICY_ENV)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
        .unwrap_or_else(|| PathBuf::from(DEFAULT_POLICY));
    let decided_by = format!("policy {} (in-process)", policy_path.display());
    let fail_closed = |what: String| {
        let error = ErrorReport::new(
            imagecheck::ErrorKind::InvalidPolicy,
            format!("invalid policy: {what}; blocking every pull until it is fixed (fail closed)"),
        );
        (Err(error), decided_by.clone())
    };
    let policy = match imagecheck::Policy::from_file(&policy_path) {
        Ok(p) => p,
        Err(e) => return fail_closed(e.to_string()),
    };
    let trusted_root = args.trusted_root.clone().or_else(|| {
        std::env::var_os("IMAGECHECK_TRUSTED_ROOT")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    });
    let options = VerifierOptions {
        trusted_root,
        ..VerifierOptions::default()
    };
    let builder = match options.builder(policy) {
        Ok(builder) => builder,
        Err(e) => return fail_closed(e.to_string()),
    };
    let answer = builder
        .resolver(ResolverOptions::default().build())
        .build()
        .verify(reference, None)
        .await
        .map_err(|e| ErrorReport::from(&e));
    (answer, decided_by)
}

fn verdict_of(
    reference: &str,
    answer: Result<Verification, ErrorReport>,
    require_match: bool,
    decided_by: &str,
) -> Verdict {
    match answer {
        Ok(v) if v.verified => Verdict {
            allow: true,
            reason: format!(
                "imagecheck: allowed: {} (decided by {decided_by})",
                v.message
            ),
        },
        Ok(v) if require_match => Verdict::block(format!(
            "imagecheck: blocked: {reference} not verified: {} (--require-match; decided by {decided_by})",
            v.message
        )),
        Ok(v) => Verdict {
            allow: true,
            reason: format!(
                "imagecheck: allowed unverified: {} (decided by {decided_by})",
                v.message
            ),
        },
        Err(e) => Verdict::block(format!(
            "imagecheck: blocked: {}: {} (decided by {decided_by})",
            e.kind, e.message
        )),
    }
}

/// One line, at most containerd's 32 KiB (cut on a character boundary).
fn one_line(text: &str) -> String {
    let mut line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if line.len() > MAX_REASON - 1 {
        let mut end = MAX_REASON - 4;
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        line.truncate(end);
        line.push_str("...");
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn containerd_s_go_style_flags_and_the_double_dash_forms() {
        let digest = format!("sha256:{}", "a".repeat(64));
        for form in [
            argv(&[
                "-name",
                "127.0.0.1:5000/test/app:v1",
                "-digest",
                &digest,
                "-stdin-media-type",
                DESCRIPTOR_MEDIA_TYPE,
            ]),
            argv(&[
                "--name=127.0.0.1:5000/test/app:v1",
                "--digest",
                &digest,
                "--require-match",
            ]),
        ] {
            let args = parse(&form).unwrap_or_else(|e| panic!("{e}"));
            let (pinned, _) = pinned_reference(&args).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                pinned,
                format!("127.0.0.1:5000/test/app@{digest}"),
                "the tag is dropped"
            );
        }
        assert!(parse(&argv(&["-bogus", "x"])).is_err());
        assert!(parse(&argv(&["-name"])).is_err());
    }

    #[test]
    fn the_reason_is_one_bounded_line() {
        let long = format!("a\nb{}é", "x".repeat(40_000));
        let line = one_line(&long);
        assert!(!line.contains('\n'));
        assert!(line.len() < MAX_REASON, "{}", line.len());
        assert!(line.starts_with("a b"));
    }

    #[test]
    fn no_match_allows_unless_a_match_is_required() {
        let unmatched = || {
            Ok(Verification {
                verified: false,
                message: "no rule matched example.com/app".into(),
                digested_ref: None,
            })
        };
        assert!(verdict_of("r", unmatched(), false, "x").allow);
        assert!(!verdict_of("r", unmatched(), true, "x").allow);
    }
}
