//! A client of `imagecheck serve` over its unix socket, for `resolve` and `verify` with
//! IMAGECHECK_SOCKET set and for the containerd verifier. It speaks imagecheck.v1, whose errors
//! carry the stable kinds, so output and exit codes match the in-process path.

use std::path::{Path, PathBuf};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use imagecheck::{Credentials, Verification};
use tokio::net::UnixStream;
use tonic::transport::{Channel, Endpoint, Uri};

use crate::serve::kinds::ErrorReport;
use crate::serve::proto::imagecheck_v1 as wire;
use wire::resolver_client::ResolverClient;
use wire::verifier_client::VerifierClient;

/// Environment variable naming the daemon's socket.
pub(crate) const SOCKET_ENV: &str = "IMAGECHECK_SOCKET";

/// The socket named by IMAGECHECK_SOCKET, if set and not empty.
pub(crate) fn socket_from_env() -> Option<PathBuf> {
    std::env::var_os(SOCKET_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Why a call through the daemon gave no answer of the library's (the daemon is unreachable,
/// stopped mid-call, or refused the request by its bounds).
#[derive(Debug)]
pub(crate) struct DaemonFailure(pub(crate) String);

/// A connected daemon.
#[derive(Debug, Clone)]
pub(crate) struct Daemon {
    channel: Channel,
    socket: PathBuf,
}

impl Daemon {
    /// Connect (HTTP/2 handshake included) within `within`.
    pub(crate) async fn connect(socket: &Path, within: Duration) -> Result<Daemon, DaemonFailure> {
        let path = socket.to_owned();
        let connector = tower::service_fn(move |_: Uri| {
            let path = path.clone();
            async move { Ok::<_, std::io::Error>(TokioIo::new(UnixStream::connect(path).await?)) }
        });
        // The URI is required by the API and unused: the connector always dials the socket.
        let endpoint = Endpoint::from_static("http://imagecheck.invalid");
        let shown = socket.display();
        match tokio::time::timeout(within, endpoint.connect_with_connector(connector)).await {
            Ok(Ok(channel)) => Ok(Daemon {
                channel,
                socket: socket.to_owned(),
            }),
            Ok(Err(e)) => Err(DaemonFailure(format!(
                "cannot reach the imagecheck daemon at {shown}: {}",
                source_chain(&e)
            ))),
            Err(_) => Err(DaemonFailure(format!(
                "the imagecheck daemon at {shown} did not answer within {} ms",
                within.as_millis()
            ))),
        }
    }

    pub(crate) async fn resolve(
        &self,
        engine: &str,
        reference: &str,
        ttl: Duration,
        credentials: Option<&Credentials>,
    ) -> Result<Result<String, ErrorReport>, DaemonFailure> {
        let request = wire::ResolveRequest {
            engine: engine.to_owned(),
            reference: reference.to_owned(),
            ttl_seconds: ttl.as_secs_f64(),
            credentials: credentials.map(to_wire),
        };
        let answer = ResolverClient::new(self.channel.clone())
            .resolve(request)
            .await;
        self.outcome(answer.map(|r| r.into_inner().digest))
    }

    pub(crate) async fn verify(
        &self,
        reference: &str,
        credentials: Option<&Credentials>,
        deadline: Option<Duration>,
    ) -> Result<Result<Verification, ErrorReport>, DaemonFailure> {
        let mut request = tonic::Request::new(wire::VerifyRequest {
            reference: reference.to_owned(),
            credentials: credentials.map(to_wire),
        });
        if let Some(deadline) = deadline {
            request.set_timeout(deadline);
        }
        let answer = VerifierClient::new(self.channel.clone())
            .verify(request)
            .await;
        self.outcome(answer.map(|r| {
            let r = r.into_inner();
            Verification {
                verified: r.verified,
                message: r.message,
                digested_ref: (!r.digested_ref.is_empty()).then_some(r.digested_ref),
            }
        }))
    }

    fn outcome<T>(
        &self,
        answer: Result<T, tonic::Status>,
    ) -> Result<Result<T, ErrorReport>, DaemonFailure> {
        match answer {
            Ok(value) => Ok(Ok(value)),
            Err(status) => match ErrorReport::from_status(&status) {
                Some(error) => Ok(Err(error)),
                None => Err(DaemonFailure(format!(
                    "the imagecheck daemon at {} gave no answer: {:?}: {}",
                    self.socket.display(),
                    status.code(),
                    status.message()
                ))),
            },
        }
    }
}

fn to_wire(c: &Credentials) -> wire::Credentials {
    wire::Credentials {
        host: c.host().to_owned(),
        username: c.username().to_owned(),
        password: c.password().to_owned(),
    }
}

fn source_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let more = e.to_string();
        // Wrappers often repeat their source's text.
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = e.source();
    }
    text
}

/// How long the CLI waits for the daemon to accept a connection.
const CLI_CONNECT_WITHIN: Duration = Duration::from_secs(2);

/// Connect for `resolve`/`verify`; when the daemon is unreachable, say so and give the exit
/// code for a runtime error (no silent fallback: a gate must know which policy decided).
pub(crate) async fn connect_for_cli(socket: &Path) -> Result<Daemon, u8> {
    Daemon::connect(socket, CLI_CONNECT_WITHIN)
        .await
        .map_err(|failure| report(&failure))
}

/// Print a daemon failure; the exit code it gives.
pub(crate) fn report(failure: &DaemonFailure) -> u8 {
    eprintln!(
        "imagecheck: {} (it was chosen by {SOCKET_ENV}; start `imagecheck serve` there, or unset \
         {SOCKET_ENV} to work in this process)",
        failure.0
    );
    crate::exit::RUNTIME
}
