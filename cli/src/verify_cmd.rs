//! `imagecheck verify`.

use std::path::PathBuf;

use clap::Args;
use futures::StreamExt as _;
use imagecheck::{Verification, Verifier, VerifierOptions};
use serde_json::json;

use crate::registry_args::{RegistryArgs, seconds};
use crate::serve::kinds::ErrorReport;
use crate::trust_args::TrustArgs;
use crate::{exit, output};

pub(crate) const AFTER_HELP: &str = "\
Output: one line per reference, in input order:
  REF<TAB>verified<TAB>DIGESTED_REF<TAB>MESSAGE        a rule's signature check passed
  REF<TAB>not verified<TAB>DIGESTED_REF<TAB>MESSAGE    no rule matched, or a skip rule (DIGESTED_REF is - when unknown)
  REF<TAB>error: KIND: MESSAGE                         VerificationFailed, Denied, InvalidReference, …
With --json: {\"reference\", \"verified\", \"message\", \"digested_ref\"} or {\"reference\", \"error\": {\"kind\", \"message\"}}.

Exit codes: 0 all verified; 1 some not verified (no rule, skip); 2 verification failed or denied;
3 invalid input (reference, policy); 4 digest unavailable. The highest wins.

Rules are tried top-down; the first whose image pattern matches decides. A tag is resolved to
its digest on the way (always fresh unless --resolve-ttl is given).

Example:
  imagecheck verify --policy /etc/imagecheck/policy.yaml ghcr.io/org/app:v2";

/// How many references are verified at once.
const PARALLEL: usize = 16;

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// Policy file: a Talos ImageVerificationConfig document, or the same rules as YAML/JSON.
    /// Required unless IMAGECHECK_SOCKET names a daemon, which decides with its own.
    #[arg(long, value_name = "FILE", env = "IMAGECHECK_POLICY")]
    policy: Option<PathBuf>,

    /// Sigstore trust root (trusted_root.json) for keyless rules of a private Sigstore
    /// deployment; default: the embedded Sigstore public-good root.
    #[arg(long, value_name = "FILE")]
    trusted_root: Option<PathBuf>,

    #[command(flatten)]
    trust: TrustArgs,

    /// Accept a cached tag digest up to this many seconds old (default 0: always resolve).
    #[arg(long, value_name = "SECS", default_value_t = 0.0)]
    resolve_ttl: f64,

    /// Print one JSON object per reference.
    #[arg(long)]
    json: bool,

    #[command(flatten)]
    registry: RegistryArgs,

    /// References: [REGISTRY/]REPOSITORY[:TAG][@DIGEST].
    #[arg(required = true, value_name = "REF")]
    references: Vec<String>,
}

pub(crate) async fn run(args: VerifyArgs) -> u8 {
    let Some(resolve_ttl) = seconds(args.resolve_ttl) else {
        eprintln!("imagecheck: --resolve-ttl must be a finite number of seconds");
        return exit::INVALID_INPUT;
    };
    let backend = match crate::daemon_client::socket_from_env() {
        Some(socket) => match through_daemon(&args, resolve_ttl, &socket).await {
            Ok(daemon) => Backend::Daemon(daemon),
            Err(code) => return code,
        },
        None => match local_verifier(&args, resolve_ttl) {
            Ok(verifier) => Backend::Local(verifier),
            Err(code) => return code,
        },
    };
    let credentials = match args.registry.credentials(&args.references) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let json = args.json;
    let mut worst = exit::OK;
    let mut results = futures::stream::iter(args.references.iter())
        .map(|reference| {
            let credentials = credentials.as_ref();
            let backend = &backend;
            async move {
                let answer = match backend {
                    Backend::Daemon(daemon) => daemon.verify(reference, credentials, None).await,
                    Backend::Local(verifier) => Ok(verifier
                        .verify(reference, credentials)
                        .await
                        .map_err(|e| ErrorReport::from(&e))),
                };
                (reference, answer)
            }
        })
        .buffered(PARALLEL);
    while let Some((reference, answer)) = results.next().await {
        match answer {
            Ok(Ok(v)) => {
                if !v.verified {
                    worst = worst.max(exit::NOT_VERIFIED);
                }
                output::line(&if json {
                    verification_json(reference, &v)
                } else {
                    verification_line(reference, &v)
                });
            }
            Ok(Err(error)) => worst = worst.max(output::error(reference, &error, json)),
            Err(failure) => return crate::daemon_client::report(&failure),
        }
    }
    drop(results);
    if let Backend::Local(verifier) = &backend {
        // A one-shot process: let a TUF refresh under way (started by this run, answers
        // already printed) finish, so the next run finds a fresh copy on disk.
        verifier
            .wait_for_trusted_root_refresh(TUF_REFRESH_AT_EXIT)
            .await;
    }
    worst
}

/// How long `verify` waits, after its output, for a TUF refresh it started.
const TUF_REFRESH_AT_EXIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Who answers: the daemon at IMAGECHECK_SOCKET (with its own rules), or a verifier here.
enum Backend {
    Daemon(crate::daemon_client::Daemon),
    Local(Verifier),
}

/// The daemon decides with its own policy and trust root: options that would change the
/// verdict here are refused rather than silently ignored.
async fn through_daemon(
    args: &VerifyArgs,
    resolve_ttl: std::time::Duration,
    socket: &std::path::Path,
) -> Result<crate::daemon_client::Daemon, u8> {
    let policy_from_env = std::env::var_os(imagecheck::verify::POLICY_ENV)
        .is_some_and(|env| args.policy.as_deref() == Some(std::path::Path::new(&env)));
    let trust_flags = args.trust.given();
    for (flag, given) in [
        ("--policy", args.policy.is_some() && !policy_from_env),
        ("--trusted-root", args.trusted_root.is_some()),
        ("--resolve-ttl", !resolve_ttl.is_zero()),
    ]
    .into_iter()
    .chain(trust_flags.into_iter().map(|flag| (flag, true)))
    {
        if given {
            eprintln!(
                "imagecheck: {flag} cannot be used with {}: the daemon at {} verifies with its \
                 own rules; drop {flag} or unset {}",
                crate::daemon_client::SOCKET_ENV,
                socket.display(),
                crate::daemon_client::SOCKET_ENV
            );
            return Err(exit::INVALID_INPUT);
        }
    }
    args.registry.warn_ignored_by_daemon();
    crate::daemon_client::connect_for_cli(socket).await
}

fn local_verifier(args: &VerifyArgs, resolve_ttl: std::time::Duration) -> Result<Verifier, u8> {
    let Some(policy) = &args.policy else {
        eprintln!(
            "imagecheck: --policy FILE (or IMAGECHECK_POLICY) is required, unless {} names a \
             running `imagecheck serve`",
            crate::daemon_client::SOCKET_ENV
        );
        return Err(exit::INVALID_INPUT);
    };
    let policy = crate::policy_cmd::load(policy)?;
    let resolver = args.registry.options()?.build();
    let mut options = VerifierOptions {
        resolve_ttl,
        trusted_root: args.trusted_root.clone(),
        ..VerifierOptions::default()
    };
    args.trust.apply(&mut options)?;
    match options.builder(policy) {
        Ok(builder) => Ok(builder.resolver(resolver).build()),
        Err(e) => {
            eprintln!("imagecheck: {e}");
            Err(exit::for_kind(e.kind()))
        }
    }
}

fn verification_line(reference: &str, v: &Verification) -> String {
    let verdict = if v.verified {
        "verified"
    } else {
        "not verified"
    };
    let pinned = v.digested_ref.as_deref().unwrap_or("-");
    format!("{reference}\t{verdict}\t{pinned}\t{}", v.message)
}

fn verification_json(reference: &str, v: &Verification) -> String {
    json!({
        "reference": reference,
        "verified": v.verified,
        "message": v.message,
        "digested_ref": v.digested_ref,
    })
    .to_string()
}
