//! Engines: where a digest comes from. Built-in names plus custom sources registered at run
//! time (host-language callbacks in the bindings).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;

use crate::credentials::Credentials;
use crate::digest::Digest;
use crate::error::{CauseKind, DigestCause, Error};
use crate::reference::Reference;

/// Which engine answers a resolve.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Engine {
    /// Ask the registry over the OCI distribution API (the default).
    Registry,
    /// The local Docker daemon.
    Docker,
    /// The local Podman service (Docker-compatible API).
    Podman,
    /// No pre-run digest source: always DigestUnavailable.
    Kubernetes,
    /// A source registered with [`crate::resolve::Resolver::register_engine`].
    Custom(Arc<str>),
}

impl Engine {
    /// The engine's name as users type it.
    pub fn name(&self) -> &str {
        match self {
            Engine::Registry => "registry",
            Engine::Docker => "docker",
            Engine::Podman => "podman",
            Engine::Kubernetes => "kubernetes",
            Engine::Custom(name) => name,
        }
    }

    /// Parse an engine name. Built-in names map to their variants; any other well-formed name
    /// (lowercase letters, digits, `-`, `_`, `.`; at most 64) is a custom engine, which must be
    /// registered before it is used.
    pub fn parse(name: &str) -> Result<Engine, Error> {
        Ok(match name {
            "registry" => Engine::Registry,
            "docker" => Engine::Docker,
            "podman" => Engine::Podman,
            "kubernetes" => Engine::Kubernetes,
            other => {
                let well_formed = !other.is_empty()
                    && other.len() <= 64
                    && other.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b)
                    });
                if !well_formed {
                    return Err(Error::InvalidArgument(format!(
                        "engine name {other:?} is not valid (use registry, docker, podman, \
                         kubernetes, or a registered name of lowercase letters, digits, '-', '_', '.')"
                    )));
                }
                Engine::Custom(Arc::from(other))
            }
        })
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Engine {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Engine::parse(s)
    }
}

/// What an engine is asked to resolve.
#[derive(Debug, Clone, Copy)]
pub struct ResolveRequest<'a> {
    /// The parsed reference; it has a tag (digest references never reach an engine).
    pub reference: &'a Reference,
    /// Per-call credentials meant for this reference's registry, if the caller gave any.
    pub credentials: Option<&'a Credentials>,
}

/// A boxed future, as dyn-compatible traits need.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A source of digests. Implementations may do I/O; cancellation is dropping the future, so
/// an implementation must not leave work behind that outlives it (bindings map host
/// cancellation — a Go context, an asyncio task — onto that drop).
pub trait DigestSource: Send + Sync + fmt::Debug {
    fn resolve<'a>(
        &'a self,
        request: ResolveRequest<'a>,
    ) -> BoxFuture<'a, Result<Digest, DigestCause>>;
}

/// A [`DigestSource`] made from an async function.
pub struct FnSource<F> {
    name: String,
    function: F,
}

impl<F> fmt::Debug for FnSource<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FnSource({})", self.name)
    }
}

impl<F, Fut> DigestSource for FnSource<F>
where
    F: Fn(Reference, Option<Credentials>) -> Fut + Send + Sync,
    Fut: Future<Output = Result<Digest, DigestCause>> + Send + 'static,
{
    fn resolve<'a>(
        &'a self,
        request: ResolveRequest<'a>,
    ) -> BoxFuture<'a, Result<Digest, DigestCause>> {
        Box::pin((self.function)(
            request.reference.clone(),
            request.credentials.cloned(),
        ))
    }
}

/// Wrap an async function `(reference, credentials) -> Result<Digest, DigestCause>` as a source.
pub fn from_fn<F, Fut>(name: impl Into<String>, function: F) -> Arc<dyn DigestSource>
where
    F: Fn(Reference, Option<Credentials>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Digest, DigestCause>> + Send + 'static,
{
    Arc::new(FnSource {
        name: name.into(),
        function,
    })
}

/// Kubernetes pulls at run time on each node; nothing can tell the digest beforehand.
#[derive(Debug, Default)]
pub struct KubernetesSource;

impl DigestSource for KubernetesSource {
    fn resolve<'a>(
        &'a self,
        _request: ResolveRequest<'a>,
    ) -> BoxFuture<'a, Result<Digest, DigestCause>> {
        Box::pin(async {
            Err(DigestCause::new(
                CauseKind::NoDigestSource,
                "the kubernetes engine has no digest source before a run (the kubelet pulls \
                 on each node); pin a digest or use the registry engine",
            ))
        })
    }
}

/// The registry engine: HEAD the manifest through the shared registry client.
#[derive(Debug)]
pub struct RegistrySource {
    client: Arc<crate::registry::RegistryClient>,
}

impl RegistrySource {
    pub fn new(client: Arc<crate::registry::RegistryClient>) -> Self {
        RegistrySource { client }
    }
}

impl DigestSource for RegistrySource {
    fn resolve<'a>(
        &'a self,
        request: ResolveRequest<'a>,
    ) -> BoxFuture<'a, Result<Digest, DigestCause>> {
        Box::pin(
            self.client
                .manifest_digest(request.reference, request.credentials),
        )
    }
}
