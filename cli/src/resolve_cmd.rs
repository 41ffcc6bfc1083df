//! `imagecheck resolve`.

use std::path::Path;

use clap::Args;
use futures::StreamExt as _;
use imagecheck::Engine;
use imagecheck::resolve::DaemonEndpoint;
use serde_json::json;

use crate::registry_args::{RegistryArgs, seconds};
use crate::serve::kinds::ErrorReport;
use crate::{exit, output};

pub(crate) const AFTER_HELP: &str = "\
Output: one line per reference, in input order:
  REF<TAB>sha256:…            on success
  REF<TAB>error: KIND: …      on failure (KIND is DigestUnavailable, InvalidReference, …)
With --json: {\"reference\": REF, \"digest\": …} or {\"reference\": REF, \"error\": {\"kind\", \"message\", \"cause\"}}.

Exit codes: 0 all resolved; 3 invalid input; 4 a digest was unavailable. The highest wins.

Examples:
  imagecheck resolve nginx:1.27 ghcr.io/org/app:v2
  imagecheck resolve --engine docker --json nginx
  imagecheck resolve --engine podman --podman-host unix:///run/user/1000/podman/podman.sock nginx
  imagecheck resolve --insecure-registry 127.0.0.1:5000 127.0.0.1:5000/test/hello:v1";

/// How many references are resolved at once.
const PARALLEL: usize = 32;

#[derive(Debug, Args)]
pub(crate) struct ResolveArgs {
    /// Where digests come from: registry, docker, podman or kubernetes.
    #[arg(long, default_value = "registry", value_name = "ENGINE")]
    engine: String,

    /// Accept a cached digest up to this many seconds old (0: always ask). Only matters
    /// within one run, where the same reference may appear more than once.
    #[arg(long, value_name = "SECS", default_value_t = 0.0)]
    ttl: f64,

    /// Print one JSON object per reference.
    #[arg(long)]
    json: bool,

    /// The Docker daemon for --engine docker: unix:///path/to.sock (default: DOCKER_HOST,
    /// else /var/run/docker.sock).
    #[arg(long, value_name = "unix://PATH")]
    docker_host: Option<String>,

    /// The Podman service for --engine podman: unix:///path/to.sock (default: CONTAINER_HOST,
    /// else podman's rootful or rootless socket).
    #[arg(long, value_name = "unix://PATH")]
    podman_host: Option<String>,

    #[command(flatten)]
    registry: RegistryArgs,

    /// References: [REGISTRY/]REPOSITORY[:TAG][@DIGEST].
    #[arg(required = true, value_name = "REF")]
    references: Vec<String>,
}

pub(crate) async fn run(args: ResolveArgs) -> u8 {
    let engine = match Engine::parse(&args.engine) {
        Ok(Engine::Custom(name)) => {
            eprintln!(
                "imagecheck: unknown engine {name:?} (use registry, docker, podman or kubernetes)"
            );
            return exit::INVALID_INPUT;
        }
        Ok(e) => e,
        Err(e) => {
            eprintln!("imagecheck: {e}");
            return exit::INVALID_INPUT;
        }
    };
    let Some(ttl) = seconds(args.ttl) else {
        eprintln!("imagecheck: --ttl must be a finite number of seconds");
        return exit::INVALID_INPUT;
    };
    let credentials = match args.registry.credentials(&args.references) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let backend = match crate::daemon_client::socket_from_env() {
        Some(socket) => {
            for (flag, given) in [
                ("--docker-host", args.docker_host.is_some()),
                ("--podman-host", args.podman_host.is_some()),
            ] {
                if given {
                    eprintln!(
                        "imagecheck: warning: {flag} is ignored: the daemon's settings apply"
                    );
                }
            }
            args.registry.warn_ignored_by_daemon();
            match crate::daemon_client::connect_for_cli(&socket).await {
                Ok(d) => Backend::Daemon(d),
                Err(code) => return code,
            }
        }
        None => match local_resolver(&args) {
            Ok(r) => Backend::Local(r),
            Err(code) => return code,
        },
    };
    let json = args.json;
    let mut worst = exit::OK;
    let mut results = futures::stream::iter(args.references.iter())
        .map(|reference| {
            let credentials = credentials.as_ref();
            let (backend, engine) = (&backend, &engine);
            async move {
                let answer = match backend {
                    Backend::Daemon(daemon) => {
                        daemon
                            .resolve(engine.name(), reference, ttl, credentials)
                            .await
                    }
                    Backend::Local(resolver) => Ok(resolver
                        .resolve_with(engine, reference, ttl, credentials)
                        .await
                        .map(|d| d.as_str().to_owned())
                        .map_err(|e| ErrorReport::from(&e))),
                };
                (reference, answer)
            }
        })
        .buffered(PARALLEL);
    while let Some((reference, answer)) = results.next().await {
        match answer {
            Ok(Ok(digest)) if json => {
                output::line(&json!({"reference": reference, "digest": digest}).to_string())
            }
            Ok(Ok(digest)) => output::line(&format!("{reference}\t{digest}")),
            Ok(Err(error)) => worst = worst.max(output::error(reference, &error, json)),
            Err(failure) => return crate::daemon_client::report(&failure),
        }
    }
    worst
}

/// Who answers: the daemon at IMAGECHECK_SOCKET, or a resolver in this process.
enum Backend {
    Daemon(crate::daemon_client::Daemon),
    Local(imagecheck::Resolver),
}

fn local_resolver(args: &ResolveArgs) -> Result<imagecheck::Resolver, u8> {
    let mut options = args.registry.options()?;
    for (flag, value, docker) in [
        ("--docker-host", &args.docker_host, true),
        ("--podman-host", &args.podman_host, false),
    ] {
        let Some(value) = value else { continue };
        let Some(path) = DaemonEndpoint::from_host_value("", value)
            .socket()
            .map(Path::to_path_buf)
        else {
            eprintln!("imagecheck: {flag} must be unix:///path/to.sock, got {value:?}");
            return Err(exit::INVALID_INPUT);
        };
        if docker {
            options.docker_socket = Some(path);
        } else {
            options.podman_socket = Some(path);
        }
    }
    Ok(options.build())
}
