//! `imagecheck serve`: one long-lived process per node holding the resolver and verifier, so
//! every client on the node shares one warm cache (DESIGN.md, Serving). gRPC over a unix socket:
//!
//! * [`talos`]: Talos's `machine.ImageService/Verify`;
//! * [`api`]: our `imagecheck.v1` Resolver and Verifier (errors as the stable kinds, [`kinds`]);
//! * `grpc.health.v1.Health` (tonic-health): SERVING while up, NOT_SERVING while stopping.
//!
//! [`socket`] owns the socket file and the connection cap, [`rules`] the policy and trust root
//! and their reloads, [`flights`] shares one verification among identical concurrent calls, [`metrics`] the Prometheus endpoint, [`calls`] the per-call log line,
//! [`shutdown`] the stop signals.

mod api;
mod calls;
mod flights;
pub(crate) mod kinds;
mod metrics;
pub(crate) mod proto;
mod rules;
mod shutdown;
mod socket;
mod talos;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use imagecheck::{ResolverOptions, VerifierOptions};
use tower::limit::GlobalConcurrencyLimitLayer;

use crate::exit;
use crate::registry_args::{RoutingArgs, seconds};
use proto::imagecheck_v1::resolver_server::ResolverServer;
use proto::imagecheck_v1::verifier_server::VerifierServer;
use proto::machine::image_service_server::ImageServiceServer;

const TALOS_SERVICE: &str = "machine.ImageService";
const RESOLVER_SERVICE: &str = "imagecheck.v1.Resolver";
const VERIFIER_SERVICE: &str = "imagecheck.v1.Verifier";

/// The socket clients use when IMAGECHECK_SOCKET is not set (and `serve`'s default).
pub(crate) const DEFAULT_SOCKET: &str = "/run/imagecheck/imagecheck.sock";

pub(crate) const AFTER_HELP: &str = "\
Serves, over the unix socket:
  machine.ImageService/Verify       Talos's API (status codes as Talos)
  imagecheck.v1.Resolver/Resolve    tag to digest from the shared cache (errors as the stable kinds)
  imagecheck.v1.Verifier/Verify     verify with the daemon's rules (errors as the stable kinds)
  grpc.health.v1.Health/Check       standard health checking
The .proto files are in the repository's proto/ directory.

The policy and trust roots are the daemon's own files: requests never name a file. SIGHUP, or a
change of one of them (checked every --reload-interval), reloads them atomically; a file that
fails to load keeps the rules in force and the log says why. With --tuf-url the default trust
root refreshes itself from that TUF repository in the background (cached on disk); a keyless
rule fails closed once its copy has expired and no refresh succeeds. SIGTERM or SIGINT: stop accepting,
finish calls under way (at most --drain-timeout), remove the socket, exit 0.

Logs (stderr): one line per call with method, reference, outcome and milliseconds. Credentials
in requests are never logged.

Example:
  imagecheck serve --socket /run/imagecheck/imagecheck.sock --policy /etc/imagecheck/policy.yaml \\
      --socket-group containerd --metrics 127.0.0.1:9464";

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The unix socket to serve on (the one clients find through IMAGECHECK_SOCKET). A live
    /// socket (one that answers) is never taken over; a stale one is replaced; it is removed on
    /// exit.
    #[arg(long, value_name = "PATH", env = "IMAGECHECK_SOCKET", default_value = DEFAULT_SOCKET)]
    socket: PathBuf,

    /// Group owning the socket (name or number); with the default mode 0660 its members may
    /// call the daemon.
    #[arg(long, value_name = "NAME")]
    socket_group: Option<String>,

    /// The socket's permission bits, octal.
    #[arg(long, value_name = "OCTAL", default_value = "0660", value_parser = parse_mode)]
    socket_mode: u32,

    /// Policy file: a Talos ImageVerificationConfig document, or the same rules as YAML/JSON.
    #[arg(long, value_name = "FILE", env = "IMAGECHECK_POLICY")]
    policy: PathBuf,

    /// Sigstore trust root (trusted_root.json) for keyless rules of a private Sigstore
    /// deployment; default: the embedded Sigstore public-good root. Reloaded like the policy.
    #[arg(long, value_name = "FILE")]
    trusted_root: Option<PathBuf>,

    #[command(flatten)]
    trust: crate::trust_args::TrustArgs,

    /// Serve Prometheus metrics as text on http://ADDR/metrics (e.g. 127.0.0.1:9464).
    #[arg(long, value_name = "ADDR")]
    metrics: Option<SocketAddr>,

    /// Accept a cached tag digest up to this many seconds old when verifying a tag (default 0:
    /// every verify of a tag asks the registry, so a moved tag is seen at once).
    #[arg(long, value_name = "SECS", default_value_t = 0.0)]
    resolve_ttl: f64,

    /// Reach this registry (host:port) over plain HTTP; repeatable. Also read from
    /// IMAGECHECK_INSECURE_REGISTRIES (comma-separated).
    #[arg(long = "insecure-registry", value_name = "HOST:PORT")]
    insecure_registries: Vec<String>,

    /// Limit for each registry request, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    timeout: f64,

    #[command(flatten)]
    routing: RoutingArgs,
    /// Share tag answers and signature artifacts with the other nodes' daemons through this
    /// Redis or Valkey: redis://[user@]host[:port][/db], rediss://… (TLS) or unix:///path.sock.
    /// Also read from IMAGECHECK_SHARED_CACHE; the password best from the file
    /// IMAGECHECK_SHARED_CACHE_PASSWORD_FILE names. Verdicts and anything read with
    /// credentials are never shared; a tier that does not answer never fails a call.
    #[arg(long, value_name = "URL")]
    shared_cache: Option<String>,

    /// Limit for each call when the client sends no gRPC deadline, in seconds (a client's
    /// deadline applies when shorter).
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    call_timeout: f64,

    /// Connections open at once; past it a new connection is closed at once (logged once per
    /// 10 s).
    #[arg(long, value_name = "N", default_value_t = 256)]
    max_connections: usize,

    /// Calls answered at once across all connections; more wait for a slot (within their
    /// deadline).
    #[arg(long, value_name = "N", default_value_t = 512)]
    max_concurrent_calls: usize,

    /// Largest request message accepted, in bytes; larger ones are refused (OUT_OF_RANGE).
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024)]
    max_message_bytes: usize,

    /// How long calls under way may take to finish after SIGTERM/SIGINT, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    drain_timeout: f64,

    /// How often the policy and trust root files are checked for changes, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 2.0)]
    reload_interval: f64,
}

fn parse_mode(text: &str) -> Result<u32, String> {
    u32::from_str_radix(text.trim_start_matches("0o"), 8)
        .ok()
        .filter(|m| *m <= 0o777)
        .ok_or_else(|| format!("{text:?} is not an octal permission mode like 0660"))
}

/// Positive seconds, or a usage error naming the flag.
fn positive(flag: &str, value: f64) -> Result<Duration, u8> {
    seconds(value).filter(|d| !d.is_zero()).ok_or_else(|| {
        eprintln!("imagecheck: {flag} must be a positive number of seconds");
        exit::INVALID_INPUT
    })
}

struct Limits {
    registry_timeout: Duration,
    call_timeout: Duration,
    drain_timeout: Duration,
    reload_interval: Duration,
    resolve_ttl: Duration,
}

fn limits(args: &ServeArgs) -> Result<Limits, u8> {
    Ok(Limits {
        registry_timeout: positive("--timeout", args.timeout)?,
        call_timeout: positive("--call-timeout", args.call_timeout)?,
        drain_timeout: positive("--drain-timeout", args.drain_timeout)?,
        reload_interval: positive("--reload-interval", args.reload_interval)?,
        resolve_ttl: seconds(args.resolve_ttl).ok_or_else(|| {
            eprintln!("imagecheck: --resolve-ttl must be a finite number of seconds");
            exit::INVALID_INPUT
        })?,
    })
}

pub(crate) async fn run(args: ServeArgs) -> u8 {
    let limits = match limits(&args) {
        Ok(l) => l,
        Err(code) => return code,
    };
    if args.max_connections == 0 || args.max_concurrent_calls == 0 || args.max_message_bytes == 0 {
        eprintln!(
            "imagecheck: --max-connections, --max-concurrent-calls and --max-message-bytes must be positive"
        );
        return exit::INVALID_INPUT;
    }
    let gid = match args
        .socket_group
        .as_deref()
        .map(socket::group_id)
        .transpose()
    {
        Ok(g) => g,
        Err(e) => {
            eprintln!("imagecheck: --socket-group: {e}");
            return exit::INVALID_INPUT;
        }
    };
    let shared_cache = match crate::registry_args::shared_cache(args.shared_cache.as_deref()) {
        Ok(url) => url,
        Err(code) => return code,
    };
    let mut options = ResolverOptions {
        insecure_registries: args.insecure_registries.clone(),
        request_timeout: limits.registry_timeout,
        shared_cache,
        ..ResolverOptions::default()
    };
    if let Err(code) = args.routing.apply(&mut options) {
        return code;
    }
    let resolver = options.build();
    let mut options = VerifierOptions {
        resolve_ttl: limits.resolve_ttl,
        ..VerifierOptions::default()
    };
    if let Err(code) = args.trust.apply(&mut options) {
        return code;
    }
    let files = rules::Files {
        policy: args.policy.clone(),
        trusted_root: args.trusted_root.clone(),
        named_trusted_roots: args.trust.named_root_files(),
    };
    let rules = match rules::Rules::load(resolver.clone(), files, options) {
        Ok(r) => Arc::new(r),
        Err(e) => {
            eprintln!("imagecheck: cannot start: {e}");
            return exit::INVALID_INPUT;
        }
    };
    let metrics = args
        .metrics
        .map(|_| Arc::new(metrics::Metrics::new(resolver)));
    let metrics_listener = match args.metrics {
        Some(addr) => match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => Some(l),
            Err(e) => {
                eprintln!("imagecheck: cannot serve metrics on {addr}: {e}");
                return exit::RUNTIME;
            }
        },
        None => None,
    };
    // Signal handlers first: a signal must never find the default action once the socket exists.
    let stop = shutdown::Stop::install();
    let hangup = rules::hangup_signal();
    let bound = match socket::bind(&args.socket, args.socket_mode, gid).await {
        Ok(b) => b,
        Err(e) => {
            eprintln!("imagecheck: {e}");
            return exit::RUNTIME;
        }
    };

    let (health, health_service) = tonic_health::server::health_reporter();
    for service in [TALOS_SERVICE, RESOLVER_SERVICE, VERIFIER_SERVICE] {
        health
            .set_service_status(service, tonic_health::ServingStatus::Serving)
            .await;
    }

    let limit = args.max_message_bytes;
    let flights = Arc::new(flights::VerifyFlights::default());
    let talos = ImageServiceServer::new(talos::TalosImageService {
        rules: rules.clone(),
        flights: flights.clone(),
        metrics: metrics.clone(),
    })
    .max_decoding_message_size(limit);
    let api = Arc::new(api::Api {
        rules: rules.clone(),
        flights,
        metrics: metrics.clone(),
    });
    let resolve = ResolverServer::from_arc(api.clone()).max_decoding_message_size(limit);
    let verify = VerifierServer::from_arc(api).max_decoding_message_size(limit);

    let reloads = tokio::spawn(rules::watch(rules, limits.reload_interval, hangup));
    let scrapes = match (metrics_listener, metrics) {
        (Some(listener), Some(metrics)) => Some(tokio::spawn(metrics::serve(listener, metrics))),
        _ => None,
    };
    tracing::info!(
        socket = %args.socket.display(),
        policy = %args.policy.display(),
        metrics = ?args.metrics,
        "serving"
    );

    let (stopping, stopped) = tokio::sync::oneshot::channel();
    let server = tonic::transport::Server::builder()
        .timeout(limits.call_timeout)
        .max_concurrent_streams(u32::try_from(args.max_concurrent_calls).unwrap_or(u32::MAX))
        .http2_max_header_list_size(u32::try_from(limit.max(16 * 1024)).unwrap_or(u32::MAX))
        .layer(GlobalConcurrencyLimitLayer::new(args.max_concurrent_calls))
        .add_service(health_service)
        .add_service(talos)
        .add_service(resolve)
        .add_service(verify)
        .serve_with_incoming_shutdown(
            socket::incoming(&bound.listener, args.max_connections),
            async {
                let signal = stop.wait().await;
                tracing::info!(
                    signal,
                    "stopping: no new connections; finishing calls under way"
                );
                bound.unlink();
                for service in ["", TALOS_SERVICE, RESOLVER_SERVICE, VERIFIER_SERVICE] {
                    health
                        .set_service_status(service, tonic_health::ServingStatus::NotServing)
                        .await;
                }
                let _ = stopping.send(());
            },
        );
    tokio::pin!(server);
    let served = tokio::select! {
        served = &mut server => served,
        _ = stopped => match tokio::time::timeout(limits.drain_timeout, &mut server).await {
            Ok(served) => served,
            Err(_) => {
                tracing::warn!(
                    drain_timeout = ?limits.drain_timeout,
                    "calls still under way after --drain-timeout; stopping without them"
                );
                Ok(())
            }
        },
    };
    let code = match served {
        Ok(()) => exit::OK,
        Err(e) => {
            tracing::error!(error = %e, "the gRPC server failed");
            exit::RUNTIME
        }
    };
    reloads.abort();
    if let Some(s) = scrapes {
        s.abort();
    }
    bound.unlink();
    tracing::info!("stopped");
    code
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::server::NamedService;

    #[test]
    fn health_names_the_services_served() {
        assert_eq!(
            <ImageServiceServer<talos::TalosImageService> as NamedService>::NAME,
            TALOS_SERVICE
        );
        assert_eq!(
            <ResolverServer<api::Api> as NamedService>::NAME,
            RESOLVER_SERVICE
        );
        assert_eq!(
            <VerifierServer<api::Api> as NamedService>::NAME,
            VERIFIER_SERVICE
        );
    }
}
