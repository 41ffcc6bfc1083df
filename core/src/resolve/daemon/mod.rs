//! The `docker` and `podman` engines: ask the local daemon which digest a tag stands for, over
//! its Docker Engine API unix socket (podman: `podman system service`, the compat API).
//!
//! # Algorithm
//!
//! 1. `GET /images/{registry/repository:tag}/json` and keep the `RepoDigests` whose parsed
//!    registry and repository equal the reference's (`repo_digests::candidates`); another
//!    repository's digest is never an answer, whatever the daemon lists.
//! 2. None (image absent, 404, or no digest for this repository, e.g. a locally built or
//!    retagged image): `POST /images/create?fromImage=registry/repository&tag=tag` with
//!    `X-Registry-Auth` from the same sources as the registry engine — per-call credentials
//!    for this registry, else [`crate::registry::AuthSources::lookup`], else anonymous — then
//!    inspect again.
//! 3. One candidate: that is the answer. This is the steady state: one local request, no
//!    registry traffic.
//! 4. Several (docker: pulled by tag and by digest; podman: a multi-arch pull lists the index
//!    *and* the platform manifest, and every repository sharing an image ID lists every
//!    digest): the pull's own `Digest:` line if we just pulled (docker), else ask the
//!    registry which one the tag points at now and take it only if the daemon has it —
//!    docker through `GET /distribution/{ref}/json` (the daemon's own registry settings and
//!    network), podman (whose service answers 404 there) through the shared registry client.
//!    Podman's last resort is the libpod `Digest` (the manifest the image was stored under),
//!    used only when no other repository names the image. Still undecided: DigestUnavailable
//!    naming the candidates (callers fall back to the tag, which is always safe).
//!
//! # `/distribution` first or after? After.
//!
//! `/distribution/{ref}/json` returns the registry's descriptor without pulling — for a
//! multi-arch image the index digest, which is also what `docker pull` records in
//! `RepoDigests` and prints as `Digest:`. It is consulted only to break a tie (step 4), never
//! first: the engine's question is "which digest does *this daemon* run for the tag", which a
//! local inspect answers with no network I/O; asking the registry first would cost a registry
//! round trip (counted by Docker Hub) on every call and would report a tag that moved upstream
//! although the daemon still runs the old image. For an absent image we pull rather than only
//! ask, as DESIGN.md says, so that the daemon then holds exactly the digest we report and a
//! following `docker run` cannot pull something else.
//!
//! # Transport
//!
//! A small hyper client (the `http` module); see its module doc for why not bollard. Paths are
//! unversioned (`/images/…`, not `/v1.41/images/…`): these three endpoints have not changed
//! across API versions, and an unversioned path is accepted by dockerd 20.10 through 29
//! (which refuses API versions below 1.44) and by podman's compat API alike. Every call has a
//! timeout (the resolver's request timeout; pulls their own, longer one) and a size bound.
//!
//! # Causes
//!
//! Socket missing, connection refused or broken: Network, naming the socket path. The daemon
//! reports denied/unauthorized: Unauthorized; manifest unknown: NotFound; time limit: Timeout;
//! any other daemon error: Engine. See the `causes` module.

mod causes;
pub mod endpoint;
mod http;
mod pull;
mod repo_digests;

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use hyper::header::{HeaderName, HeaderValue};
use hyper::{Method, StatusCode};
use serde::de::DeserializeOwned;

pub use endpoint::DaemonEndpoint;

use self::http::UnixHttp;
use self::pull::{ProgressReader, PullAuth};
use self::repo_digests::{
    DistributionInspect, ImageInspect, LibpodInspect, candidates, repositories,
};
use super::engine::{BoxFuture, DigestSource, ResolveRequest};
use crate::credentials::Credentials;
use crate::digest::Digest;
use crate::error::{CauseKind, DigestCause};
use crate::reference::Reference;
use crate::registry::RegistryClient;

/// Largest image inspect answer read (a config with many labels and a long history is a few
/// hundred KiB).
const MAX_INSPECT_BYTES: usize = 16 * 1024 * 1024;
/// Largest distribution inspect answer read (a descriptor and a platform list).
const MAX_DISTRIBUTION_BYTES: usize = 1024 * 1024;
/// Default limit for one pull, progress stream included.
pub const DEFAULT_PULL_TIMEOUT: Duration = Duration::from_secs(600);

const X_REGISTRY_AUTH: HeaderName = HeaderName::from_static("x-registry-auth");

/// Which daemon a [`DaemonSource`] talks to; decides messages and how a tie is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DaemonKind {
    Docker,
    Podman,
}

impl DaemonKind {
    /// How messages name it.
    pub fn label(self) -> &'static str {
        match self {
            DaemonKind::Docker => "docker daemon",
            DaemonKind::Podman => "podman service",
        }
    }

    fn variable(self) -> &'static str {
        match self {
            DaemonKind::Docker => endpoint::DOCKER_HOST_ENV,
            DaemonKind::Podman => endpoint::CONTAINER_HOST_ENV,
        }
    }
}

/// A [`DigestSource`] backed by a local daemon's Docker Engine API (see the module doc for the
/// algorithm). [`DockerSource`] and [`PodmanSource`] are its two flavours.
#[derive(Debug)]
pub struct DaemonSource {
    kind: DaemonKind,
    endpoint: DaemonEndpoint,
    /// Shared with the registry engine: its [`crate::registry::AuthSources`] give pull
    /// credentials, and podman asks it to break ties.
    registry: Arc<RegistryClient>,
    request_timeout: Duration,
    pull_timeout: Duration,
}

impl DaemonSource {
    /// A source for the `kind` daemon at `endpoint`. Daemon requests use the registry client's
    /// request timeout; pulls [`DEFAULT_PULL_TIMEOUT`].
    pub fn new(kind: DaemonKind, endpoint: DaemonEndpoint, registry: Arc<RegistryClient>) -> Self {
        DaemonSource {
            kind,
            endpoint,
            request_timeout: registry.config().request_timeout,
            pull_timeout: DEFAULT_PULL_TIMEOUT,
            registry,
        }
    }

    /// Limit for one non-pull request to the daemon, body included.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Limit for one pull, progress stream included.
    pub fn with_pull_timeout(mut self, timeout: Duration) -> Self {
        self.pull_timeout = timeout;
        self
    }

    pub fn kind(&self) -> DaemonKind {
        self.kind
    }

    pub fn endpoint(&self) -> &DaemonEndpoint {
        &self.endpoint
    }

    /// The digest the daemon holds for `reference` (a tagged reference), pulling it first if
    /// it has none for this repository.
    pub async fn digest(
        &self,
        reference: &Reference,
        credentials: Option<&Credentials>,
    ) -> Result<Digest, DigestCause> {
        let http = self.http()?;
        let tag = reference.tag().unwrap_or(crate::reference::DEFAULT_TAG);
        let name = format!("{}/{}:{tag}", reference.registry(), reference.repository());
        let credentials = credentials.filter(|c| c.applies_to(reference.registry()));
        let mut pulled: Option<Option<Digest>> = None;
        loop {
            let image = self.inspect(&http, &name).await?;
            let found = image
                .as_ref()
                .map(|i| candidates(i, reference))
                .unwrap_or_default();
            match (found.as_slice(), &pulled) {
                ([], None) => {
                    tracing::debug!(engine = self.kind.label(), %name, "not present; pulling");
                    pulled = Some(self.pull(&http, reference, &name, credentials).await?);
                }
                ([], Some(_)) => {
                    let (id, listed) = image
                        .map(|i| (i.id, i.repo_digests.unwrap_or_default().join(", ")))
                        .unwrap_or_default();
                    return Err(DigestCause::new(
                        CauseKind::Engine,
                        format!(
                            "the {} pulled {name} but lists no digest for {} (image {id:?}, \
                             RepoDigests: [{listed}])",
                            self.kind.label(),
                            reference.name()
                        ),
                    ));
                }
                ([one], _) => return Ok(one.clone()),
                (_, _) => {
                    let image = image.unwrap_or_default();
                    let just_pulled = pulled.flatten();
                    return self
                        .break_tie(
                            &http,
                            reference,
                            &name,
                            credentials,
                            &image,
                            found,
                            just_pulled,
                        )
                        .await;
                }
            }
        }
    }

    fn http(&self) -> Result<UnixHttp, DigestCause> {
        match &self.endpoint {
            DaemonEndpoint::Unix(path) => Ok(UnixHttp::new(path.clone(), self.kind.label())),
            DaemonEndpoint::Unsupported { variable, value } => {
                let scheme = value.split_once("://").map_or(value.as_str(), |(s, _)| s);
                Err(DigestCause::new(
                    CauseKind::Engine,
                    format!(
                        "{variable} names a {scheme}:// endpoint; the {} engine reaches the {} \
                         over a unix socket only (set {}=unix:///path/to.sock)",
                        match self.kind {
                            DaemonKind::Docker => "docker",
                            DaemonKind::Podman => "podman",
                        },
                        self.kind.label(),
                        self.kind.variable()
                    ),
                ))
            }
        }
    }

    async fn inspect(
        &self,
        http: &UnixHttp,
        name: &str,
    ) -> Result<Option<ImageInspect>, DigestCause> {
        let path = format!("/images/{}/json", encode(name));
        self.get_json(http, &path, &[], MAX_INSPECT_BYTES, "image inspect")
            .await
    }

    /// GET `path` and decode its JSON; None on 404.
    async fn get_json<T: DeserializeOwned>(
        &self,
        http: &UnixHttp,
        path: &str,
        headers: &[(HeaderName, HeaderValue)],
        limit: usize,
        what: &str,
    ) -> Result<Option<T>, DigestCause> {
        let exchange = async {
            let mut response = http.send(Method::GET, path, headers).await?;
            if response.status == StatusCode::NOT_FOUND {
                return Ok(None);
            }
            if !response.status.is_success() {
                let status = response.status;
                let message = response.error_message().await;
                return Err(DigestCause::new(
                    causes::classify(&message, Some(status)),
                    format!(
                        "{what} failed on the {} ({status}): {message}",
                        http.label()
                    ),
                ));
            }
            let body = response.read_all(limit, what).await?;
            serde_json::from_slice(&body).map(Some).map_err(|e| {
                DigestCause::new(
                    CauseKind::InvalidResponse,
                    format!(
                        "the {} answered {what} with unusable JSON: {e}",
                        http.label()
                    ),
                )
            })
        };
        tokio::time::timeout(self.request_timeout, exchange)
            .await
            .map_err(|_| self.timed_out(http, what, self.request_timeout))?
    }

    /// Pull `name`; the digest the pull reported, if the daemon said one (docker does).
    async fn pull(
        &self,
        http: &UnixHttp,
        reference: &Reference,
        name: &str,
        credentials: Option<&Credentials>,
    ) -> Result<Option<Digest>, DigestCause> {
        let headers = self.auth_headers(reference, credentials).await?;
        let tag = reference.tag().unwrap_or(crate::reference::DEFAULT_TAG);
        let path = format!(
            "/images/create?fromImage={}&tag={}",
            encode(&format!(
                "{}/{}",
                reference.registry(),
                reference.repository()
            )),
            encode(tag)
        );
        let exchange = async {
            let mut response = http.send(Method::POST, &path, &headers).await?;
            if !response.status.is_success() {
                let status = response.status;
                let message = response.error_message().await;
                return Err(DigestCause::new(
                    causes::classify(&message, Some(status)),
                    format!("the {} could not pull {name}: {message}", http.label()),
                ));
            }
            let mut progress = ProgressReader::default();
            while let Some(chunk) = response.chunk().await? {
                progress.feed(&chunk)?;
                if progress.error.is_some() {
                    break;
                }
            }
            progress.finish();
            if let Some(message) = progress.error {
                return Err(DigestCause::new(
                    causes::classify(&message, None),
                    format!(
                        "the {} could not pull {name}: {}",
                        http.label(),
                        message.trim()
                    ),
                ));
            }
            Ok(progress.digest)
        };
        tokio::time::timeout(self.pull_timeout, exchange)
            .await
            .map_err(|_| self.timed_out(http, &format!("pulling {name}"), self.pull_timeout))?
    }

    /// `X-Registry-Auth` for `reference`'s registry: per-call credentials, else configured
    /// ones, else none (anonymous).
    async fn auth_headers(
        &self,
        reference: &Reference,
        credentials: Option<&Credentials>,
    ) -> Result<Vec<(HeaderName, HeaderValue)>, DigestCause> {
        let auth = match credentials {
            Some(c) => Some(PullAuth::from(c)),
            None => self
                .registry
                .config()
                .auth
                .lookup(reference.registry(), reference.repository())
                .await?
                .map(PullAuth::from),
        };
        Ok(auth
            .map(|a| vec![(X_REGISTRY_AUTH, a.header(reference.registry()))])
            .unwrap_or_default())
    }

    #[allow(clippy::too_many_arguments)]
    async fn break_tie(
        &self,
        http: &UnixHttp,
        reference: &Reference,
        name: &str,
        credentials: Option<&Credentials>,
        image: &ImageInspect,
        found: Vec<Digest>,
        just_pulled: Option<Digest>,
    ) -> Result<Digest, DigestCause> {
        if let Some(digest) = just_pulled.filter(|d| found.contains(d)) {
            return Ok(digest);
        }
        let mut tried = Vec::new();
        let registry_says = match self.kind {
            DaemonKind::Docker => {
                let headers = self.auth_headers(reference, credentials).await?;
                let path = format!("/distribution/{}/json", encode(name));
                self.get_json::<DistributionInspect>(
                    http,
                    &path,
                    &headers,
                    MAX_DISTRIBUTION_BYTES,
                    "distribution inspect",
                )
                .await
                .and_then(|d| {
                    let d = d.ok_or_else(|| {
                        DigestCause::new(CauseKind::NotFound, "no distribution endpoint (404)")
                    })?;
                    Digest::parse(&d.descriptor.digest)
                        .map_err(|e| DigestCause::new(CauseKind::InvalidResponse, e.to_string()))
                })
            }
            DaemonKind::Podman => self.registry.manifest_digest(reference, credentials).await,
        };
        match registry_says {
            Ok(digest) if found.contains(&digest) => return Ok(digest),
            Ok(digest) => tried.push(format!(
                "the registry says {digest}, which the {} does not hold",
                self.kind.label()
            )),
            Err(e) => tried.push(format!("asking the registry failed ({e})")),
        }
        if self.kind == DaemonKind::Podman && repositories(image) == [reference.name()] {
            // Unlike the compat API, libpod routes need a version prefix; 4.0.0 is the oldest
            // libpod API version podman 4 and 5 serve.
            let path = format!("/v4.0.0/libpod/images/{}/json", encode(name));
            match self
                .get_json::<LibpodInspect>(http, &path, &[], MAX_INSPECT_BYTES, "libpod inspect")
                .await
            {
                Ok(Some(LibpodInspect {
                    digest: Some(digest),
                })) => match Digest::parse(&digest) {
                    Ok(digest) if found.contains(&digest) => return Ok(digest),
                    _ => tried.push(format!("its stored digest {digest} is not a candidate")),
                },
                Ok(_) => tried.push("libpod inspect gave no digest".to_owned()),
                Err(e) => tried.push(format!("libpod inspect failed ({e})")),
            }
        }
        let mut listed = String::new();
        for (i, d) in found.iter().enumerate() {
            let _ = write!(listed, "{}{d}", if i > 0 { ", " } else { "" });
        }
        Err(DigestCause::new(
            CauseKind::Engine,
            format!(
                "the {} lists {} digests for {} ({listed}) and cannot tell which one {name} \
                 points at: {}; use the registry engine",
                self.kind.label(),
                found.len(),
                reference.name(),
                tried.join("; ")
            ),
        ))
    }

    fn timed_out(&self, http: &UnixHttp, what: &str, limit: Duration) -> DigestCause {
        DigestCause::new(
            CauseKind::Timeout,
            format!(
                "the {} did not finish {what} within {:.1}s (socket {})",
                http.label(),
                limit.as_secs_f64(),
                http.socket().display()
            ),
        )
    }
}

impl DigestSource for DaemonSource {
    fn resolve<'a>(
        &'a self,
        request: ResolveRequest<'a>,
    ) -> BoxFuture<'a, Result<Digest, DigestCause>> {
        Box::pin(self.digest(request.reference, request.credentials))
    }
}

/// The `docker` engine: the Docker daemon at `DOCKER_HOST` (`unix://…`) or
/// `/var/run/docker.sock`, or an explicit socket.
#[derive(Debug)]
pub struct DockerSource(DaemonSource);

/// The `podman` engine: the Podman service at `CONTAINER_HOST` (`unix://…`), or
/// `/run/podman/podman.sock` (root) / `$XDG_RUNTIME_DIR/podman/podman.sock`, or an explicit
/// socket.
#[derive(Debug)]
pub struct PodmanSource(DaemonSource);

macro_rules! flavour {
    ($name:ident, $kind:expr) => {
        impl $name {
            pub fn new(endpoint: DaemonEndpoint, registry: Arc<RegistryClient>) -> Self {
                $name(DaemonSource::new($kind, endpoint, registry))
            }

            /// See [`DaemonSource::with_request_timeout`].
            pub fn with_request_timeout(self, timeout: Duration) -> Self {
                $name(self.0.with_request_timeout(timeout))
            }

            /// See [`DaemonSource::with_pull_timeout`].
            pub fn with_pull_timeout(self, timeout: Duration) -> Self {
                $name(self.0.with_pull_timeout(timeout))
            }

            pub fn endpoint(&self) -> &DaemonEndpoint {
                self.0.endpoint()
            }

            /// See [`DaemonSource::digest`].
            pub async fn digest(
                &self,
                reference: &Reference,
                credentials: Option<&Credentials>,
            ) -> Result<Digest, DigestCause> {
                self.0.digest(reference, credentials).await
            }
        }

        impl DigestSource for $name {
            fn resolve<'a>(
                &'a self,
                request: ResolveRequest<'a>,
            ) -> BoxFuture<'a, Result<Digest, DigestCause>> {
                self.0.resolve(request)
            }
        }
    };
}

flavour!(DockerSource, DaemonKind::Docker);
flavour!(PodmanSource, DaemonKind::Podman);

/// Percent-encode for a path or query: keeps what image names are made of
/// (`A-Za-z0-9 - . _ ~ / :`), encodes the rest (`[`/`]` of IPv6 hosts, `@`, `&`, …).
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/:".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
