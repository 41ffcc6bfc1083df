//! Tag to digest: the [`Resolver`], its engines, the shared TTL cache and single-flight.
//!
//! TTL is per call (DESIGN.md, Resolve): within `ttl` a cached digest is served; a zero `ttl`
//! skips the cache read, re-resolves, and stores the fresh answer for everyone else.
//! Failures are never cached.
//!
//! Why one file of ~670 lines: the resolve path (local cache, shared tier, single-flight, the
//! engine) and the builder share the resolver's private state; the cache (and its flights),
//! the engines and the shared-tier reads each have a module of their own below.

mod cache;
pub mod clock;
pub mod daemon;
pub mod engine;
mod shared;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, RwLock};
use std::time::Duration;

use futures::FutureExt as _;

pub use clock::{Clock, ManualClock, SystemClock};
pub use daemon::{DaemonEndpoint, DaemonKind, DaemonSource, DockerSource, PodmanSource};
pub use engine::{BoxFuture, DigestSource, Engine, ResolveRequest, from_fn};

use self::cache::{CacheKey, DigestCache, InFlight, KeyRef};
use crate::call::{Call, Subject};
use crate::credentials::Credentials;
use crate::digest::Digest;
use crate::error::{DigestCause, Error, Result};
use crate::reference::Reference;
use crate::registry::call_limits::CallLimits;
use crate::registry::{AuthSources, MirrorFiles, RegistryClient, RegistryConfig};
use crate::shared_cache::{Lease, Read, SharedCache, SharedCacheUrl, Turn};

/// Environment variable listing registries reached over plain HTTP (comma-separated
/// `host:port`).
pub const INSECURE_REGISTRIES_ENV: &str = "IMAGECHECK_INSECURE_REGISTRIES";

/// Default bound on cached digests.
pub const DEFAULT_MAX_CACHE_ENTRIES: usize = 65_536;

/// Resolves references to digests through engines, with a shared cache. Cheap to clone: clones
/// share the cache, the engines and the registry client.
#[derive(Clone, Debug)]
pub struct Resolver {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    engines: RwLock<HashMap<String, Arc<dyn DigestSource>>>,
    cache: DigestCache,
    in_flight: InFlight,
    clock: Arc<dyn Clock>,
    registry: Arc<RegistryClient>,
    /// The fleet's shared cache tier, if configured.
    shared: Option<SharedCache>,
    /// The built-in registry engine: only its answers go to the shared tier (a custom engine
    /// registered as `registry` is this node's own business).
    builtin_registry: Arc<dyn DigestSource>,
}

/// Options for a [`Resolver`].
#[derive(Debug)]
pub struct ResolverBuilder {
    registry: RegistryConfig,
    clock: Arc<dyn Clock>,
    engines: Vec<(String, Arc<dyn DigestSource>)>,
    max_entries: usize,
    /// Explicit daemon sockets (builder options) win over the environment's.
    docker_socket: Option<PathBuf>,
    podman_socket: Option<PathBuf>,
    /// `DOCKER_HOST` / `CONTAINER_HOST` as read by `from_env`.
    docker_env: Option<DaemonEndpoint>,
    podman_env: Option<DaemonEndpoint>,
    pull_timeout: Duration,
    /// Explicit mirror files (builder options) win over the environment's.
    registries_conf: Option<PathBuf>,
    hosts_dir: Option<PathBuf>,
    /// `CONTAINERS_REGISTRIES_CONF` / the standard paths / `IMAGECHECK_HOSTS_DIR`, as read by
    /// `from_env`.
    mirrors_env: Option<MirrorFiles>,
    shared_cache: Option<SharedCacheUrl>,
    shared_cache_password_file: Option<PathBuf>,
}

impl Default for ResolverBuilder {
    fn default() -> Self {
        ResolverBuilder {
            registry: RegistryConfig::default(),
            clock: Arc::new(SystemClock),
            engines: Vec::new(),
            max_entries: DEFAULT_MAX_CACHE_ENTRIES,
            docker_socket: None,
            podman_socket: None,
            docker_env: None,
            podman_env: None,
            pull_timeout: daemon::DEFAULT_PULL_TIMEOUT,
            registries_conf: None,
            hosts_dir: None,
            mirrors_env: None,
            shared_cache: None,
            shared_cache_password_file: None,
        }
    }
}

impl ResolverBuilder {
    /// Take insecure registries from `IMAGECHECK_INSECURE_REGISTRIES`, configured
    /// credentials from the usual files (see [`AuthSources::from_env`]), the daemons'
    /// sockets from `DOCKER_HOST` and `CONTAINER_HOST` (`unix://…`), mirrors from
    /// `CONTAINERS_REGISTRIES_CONF` (else the standard registries.conf, when present) and
    /// `IMAGECHECK_HOSTS_DIR` (see [`MirrorFiles::from_env`]), and the fleet's shared cache
    /// from `IMAGECHECK_SHARED_CACHE` with its password from the file
    /// `IMAGECHECK_SHARED_CACHE_PASSWORD_FILE` names (an unusable URL is logged and ignored).
    /// Explicit options ([`Self::docker_socket`], [`Self::registries_conf`],
    /// [`Self::shared_cache`], …) still win.
    pub fn from_env(mut self) -> Self {
        if let Ok(list) = std::env::var(INSECURE_REGISTRIES_ENV) {
            self = self.insecure_registries(list.split(','));
        }
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        if let Some(text) = env(crate::shared_cache::SHARED_CACHE_ENV) {
            match SharedCacheUrl::parse(&text) {
                Ok(url) => self.shared_cache = self.shared_cache.or(Some(url)),
                Err(e) => tracing::error!(
                    "{}: {e}; going on without the shared cache",
                    crate::shared_cache::SHARED_CACHE_ENV
                ),
            }
        }
        if let Some(path) = env(crate::shared_cache::SHARED_CACHE_PASSWORD_FILE_ENV) {
            self.shared_cache_password_file = self.shared_cache_password_file.or(Some(path.into()));
        }
        self.registry.auth = AuthSources::from_env();
        self.docker_env = Some(DaemonEndpoint::docker_from_env());
        self.podman_env = Some(DaemonEndpoint::podman_from_env());
        self.mirrors_env = Some(MirrorFiles::from_env());
        self
    }

    /// Route registry requests through the mirrors of this containers `registries.conf` (v2;
    /// with the `*.conf` drop-ins of the `registries.conf.d` directory beside it), and refuse
    /// the registries it blocks. A file that is missing or cannot be parsed makes every
    /// registry request fail (InvalidArgument), naming it.
    pub fn registries_conf(mut self, path: impl Into<PathBuf>) -> Self {
        self.registries_conf = Some(path.into());
        self
    }

    /// Route registry requests through the mirrors of this containerd `config_path` directory
    /// (`<host>/hosts.toml`, `_default/hosts.toml`). Where it has a file for a registry, it
    /// decides that registry's route rather than registries.conf.
    pub fn hosts_dir(mut self, path: impl Into<PathBuf>) -> Self {
        self.hosts_dir = Some(path.into());
        self
    }

    /// Retries of one registry request after a rate-limit answer (HTTP 429, or 503 with a
    /// `Retry-After`), waiting as the registry asks (else a jittered backoff) within the call's
    /// deadline (default 2; 0 never retries).
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.registry.max_retries = retries;
        self
    }

    /// Registry requests in flight to one host at once, token requests included; more wait
    /// their turn (default 16).
    pub fn max_concurrent_requests_per_host(mut self, max: usize) -> Self {
        self.registry.max_concurrent_requests_per_host = max;
        self
    }

    /// The Docker daemon's API socket for the `docker` engine (default: `DOCKER_HOST` when
    /// read by [`Self::from_env`], else `/var/run/docker.sock`).
    pub fn docker_socket(mut self, path: impl Into<PathBuf>) -> Self {
        self.docker_socket = Some(path.into());
        self
    }

    /// The Podman service's API socket for the `podman` engine (default: `CONTAINER_HOST` when
    /// read by [`Self::from_env`], else `/run/podman/podman.sock` for root and
    /// `$XDG_RUNTIME_DIR/podman/podman.sock` otherwise).
    pub fn podman_socket(mut self, path: impl Into<PathBuf>) -> Self {
        self.podman_socket = Some(path.into());
        self
    }

    /// Limit for one pull by the docker or podman engine, progress included (default 600 s).
    /// Other daemon requests use [`Self::request_timeout`].
    pub fn pull_timeout(mut self, timeout: Duration) -> Self {
        self.pull_timeout = timeout;
        self
    }

    /// Reach `host` (`host:port` as references spell it) over plain HTTP. The host is
    /// compared in its canonical form ([`crate::reference::canonical_registry`], applied when
    /// the client is built), so `LOCALHOST:5000` also covers `localhost:5000/app`.
    pub fn insecure_registry(mut self, host: impl Into<String>) -> Self {
        let host = host.into().trim().to_owned();
        if !host.is_empty() {
            self.registry.insecure_hosts.insert(host);
        }
        self
    }

    pub fn insecure_registries<I, S>(mut self, hosts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        for host in hosts {
            self = self.insecure_registry(host);
        }
        self
    }

    /// Limit for one registry request, body included (default 30 s); also for each daemon
    /// request of the docker and podman engines other than a pull.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.registry.request_timeout = timeout;
        self
    }

    /// Where configured credentials come from (default: none; `from_env` reads the usual files).
    pub fn auth_sources(mut self, sources: AuthSources) -> Self {
        self.registry.auth = sources;
        self
    }

    /// The clock the cache measures age with (tests move a [`ManualClock`]).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Register (or override) an engine.
    pub fn engine(mut self, name: impl Into<String>, source: Arc<dyn DigestSource>) -> Self {
        self.engines.push((name.into(), source));
        self
    }

    /// Bound on cached digests (default 65,536).
    pub fn max_cache_entries(mut self, max: usize) -> Self {
        self.max_entries = max;
        self
    }

    /// Share tag answers and signature artifacts with the other nodes of a fleet through the
    /// Redis or Valkey at `url` ([`crate::shared_cache`]; DESIGN.md, "Fleet").
    pub fn shared_cache(mut self, url: SharedCacheUrl) -> Self {
        self.shared_cache = Some(url);
        self
    }

    /// Read the shared cache's password from `path` (wins over one in the URL).
    pub fn shared_cache_password_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.shared_cache_password_file = Some(path.into());
        self
    }

    pub fn build(mut self) -> Resolver {
        let mut mirrors = self.mirrors_env.take().unwrap_or_default();
        if let Some(path) = self.registries_conf.take() {
            mirrors.registries_conf = Some(path);
            mirrors.registries_conf_optional = false;
        }
        if let Some(dir) = self.hosts_dir.take() {
            mirrors.hosts_dir = Some(dir);
        }
        self.registry.mirrors = mirrors;
        let registry = Arc::new(RegistryClient::new(self.registry));
        let mut engines: HashMap<String, Arc<dyn DigestSource>> = HashMap::new();
        let builtin_registry: Arc<dyn DigestSource> =
            Arc::new(engine::RegistrySource::new(registry.clone()));
        engines.insert("registry".into(), builtin_registry.clone());
        engines.insert("kubernetes".into(), Arc::new(engine::KubernetesSource));
        let docker = match (self.docker_socket, self.docker_env) {
            (Some(path), _) => DaemonEndpoint::Unix(path),
            (None, Some(env)) => env,
            (None, None) => DaemonEndpoint::docker_default(),
        };
        let podman = match (self.podman_socket, self.podman_env) {
            (Some(path), _) => DaemonEndpoint::Unix(path),
            (None, Some(env)) => env,
            (None, None) => DaemonEndpoint::podman_default(),
        };
        engines.insert(
            "docker".into(),
            Arc::new(
                DockerSource::new(docker, registry.clone()).with_pull_timeout(self.pull_timeout),
            ),
        );
        engines.insert(
            "podman".into(),
            Arc::new(
                PodmanSource::new(podman, registry.clone()).with_pull_timeout(self.pull_timeout),
            ),
        );
        for (name, source) in self.engines {
            engines.insert(name, source);
        }
        Resolver {
            inner: Arc::new(Inner {
                engines: RwLock::new(engines),
                cache: DigestCache::new(self.max_entries),
                in_flight: InFlight::default(),
                clock: self.clock,
                registry,
                shared: self.shared_cache.as_ref().and_then(|url| {
                    SharedCache::new(url, self.shared_cache_password_file.as_deref())
                }),
                builtin_registry,
            }),
        }
    }
}

impl Resolver {
    pub fn builder() -> ResolverBuilder {
        ResolverBuilder::default()
    }

    /// Resolve `reference` with `engine`, accepting a cached answer younger than `ttl`
    /// (`Duration::ZERO`: always ask upstream and refresh the cache).
    pub async fn resolve(&self, engine: &Engine, reference: &str, ttl: Duration) -> Result<Digest> {
        self.resolve_with(engine, reference, ttl, None).await
    }

    /// [`Self::resolve`] with per-call credentials (used only for their own registry host).
    pub async fn resolve_with(
        &self,
        engine: &Engine,
        reference: &str,
        ttl: Duration,
        credentials: Option<&Credentials>,
    ) -> Result<Digest> {
        let parsed = Reference::parse(reference)?;
        parsed.debug_respelling(reference);
        self.resolve_reference(engine, &parsed, ttl, credentials)
            .await
    }

    /// [`Self::resolve_with`] for an already parsed reference.
    pub async fn resolve_reference(
        &self,
        engine: &Engine,
        reference: &Reference,
        ttl: Duration,
        credentials: Option<&Credentials>,
    ) -> Result<Digest> {
        if let Some(digest) = self.answer_without_io(engine, reference, ttl, credentials) {
            return Ok(digest);
        }
        if !ttl.is_zero() {
            crate::metrics::digest_cache_lookup(false);
        }
        self.resolve_upstream(engine, reference, ttl, credentials)
            .await
    }

    /// One resolve as a [`Call`]: the reference is parsed once; a digest reference, a fresh
    /// cached digest or an invalid argument is ready at once (allocating nothing for a cached
    /// digest), anything else resolves on the core runtime (see [`crate::call`]).
    pub fn call(
        &self,
        engine: &Engine,
        reference: &str,
        ttl: Duration,
        credentials: Option<&Credentials>,
    ) -> Call<Digest> {
        let reference = match Reference::parse(reference) {
            Ok(reference) => reference,
            Err(e) => return Call::ready(Err(e.into())),
        };
        if let Some(digest) = self.answer_without_io(engine, &reference, ttl, credentials) {
            return Call::ready(Ok(digest));
        }
        if !ttl.is_zero() {
            crate::metrics::digest_cache_lookup(false);
        }
        let this = self.clone();
        let engine = engine.clone();
        let credentials = credentials.cloned();
        Call::pending(
            Subject::new(reference.to_string(), engine.name()),
            async move {
                this.resolve_upstream(&engine, &reference, ttl, credentials.as_ref())
                    .await
            },
        )
    }

    /// Ask `engine` (sharing a request under way for the same key), store and return the
    /// answer: the part of a resolve after the cache had no fresh enough answer. With a shared
    /// tier, a registry answer is asked of the tier first (unless `ttl` is zero), and one node
    /// of the fleet at a time asks the registry.
    async fn resolve_upstream(
        &self,
        engine: &Engine,
        reference: &Reference,
        ttl: Duration,
        credentials: Option<&Credentials>,
    ) -> Result<Digest> {
        let credentials = credentials.filter(|c| c.applies_to(reference.registry()));
        let key = CacheKey::new(engine, reference, credentials);
        let source = self.source(engine)?;
        if *engine == Engine::Registry
            && let Some(why) = self.inner.registry.refusal(reference, true, false)
        {
            return Err(Error::InvalidArgument(why));
        }
        // The flight waits (on rate limits) no longer than the call that starts it may; it is
        // not one verify's, so it spends no verify's request budget.
        let limits = CallLimits::current().deadline_only();
        let tier = match self
            .tier_for_tag(engine, &source, reference, credentials)
            .await
        {
            Some(tier) if !ttl.is_zero() => match shared::read_tag(&tier, reference, ttl).await {
                Read::Hit((digest, age)) => {
                    self.inner.remember_aged(key, digest.clone(), age);
                    return Ok(digest);
                }
                Read::Miss => Some(tier),
                Read::Unavailable => None,
            },
            other => other,
        };
        // A zero TTL asks upstream whatever the cache holds.
        let answered = || {
            let now = self.inner.clock.now();
            if ttl.is_zero() {
                None
            } else {
                self.inner.cache.get(&key.as_ref(), ttl, now)
            }
        };
        let flight = self.inner.in_flight.join_or_start(&key, answered, |id| {
            let inner = self.inner.clone();
            let key = key.clone();
            let reference = reference.clone();
            let credentials = credentials.cloned();
            let engine = engine.clone();
            async move {
                let tag_key = crate::shared_cache::Key::tag(&reference);
                let lease = match &tier {
                    None => None,
                    Some(tier) if ttl.is_zero() => Some(Lease::write_only(tier, &tag_key)),
                    Some(tier) => match shared::turn_tag(tier, &reference, ttl).await {
                        Turn::Answered((digest, age)) => {
                            inner.remember_aged(key.clone(), digest.clone(), age);
                            inner.in_flight.finish(&key, id);
                            return Ok(digest);
                        }
                        Turn::Ask(lease) => Some(lease),
                    },
                };
                let answer = limits
                    .scope(source.resolve(ResolveRequest {
                        reference: &reference,
                        credentials: credentials.as_ref(),
                    }))
                    .await;
                // The answer is in the cache before the flight is gone (see join_or_start).
                if let Ok(digest) = &answer {
                    inner
                        .cache
                        .put(key.clone(), digest.clone(), inner.clock.now());
                }
                inner.in_flight.finish(&key, id);
                match answer {
                    Ok(digest) => {
                        if let (Some(lease), Some(tier)) = (lease, &tier) {
                            let (value, max_age) = shared::tag_entry(tier, &digest);
                            lease.put(value, max_age).await;
                        }
                        Ok(digest)
                    }
                    Err(cause) => {
                        if let Some(lease) = lease {
                            lease.release().await;
                        }
                        Err(unavailable(&engine, &reference, cause))
                    }
                }
            }
            .boxed()
        });
        flight.await
    }

    /// The shared tier for this tag's answer: the built-in registry engine's answers without
    /// credentials only.
    async fn tier_for_tag(
        &self,
        engine: &Engine,
        source: &Arc<dyn DigestSource>,
        reference: &Reference,
        credentials: Option<&Credentials>,
    ) -> Option<SharedCache> {
        let builtin = std::ptr::addr_eq(
            Arc::as_ptr(source),
            Arc::as_ptr(&self.inner.builtin_registry),
        );
        if *engine != Engine::Registry || !builtin {
            return None;
        }
        self.shared_cache_for(reference, credentials).await
    }

    /// The shared tier, if what is read about `reference` with `credentials` may be shared
    /// (see [`shared::tier_for`]); the verifier asks before reading signatures.
    pub(crate) async fn shared_cache_for(
        &self,
        reference: &Reference,
        credentials: Option<&Credentials>,
    ) -> Option<SharedCache> {
        shared::tier_for(
            self.inner.shared.as_ref(),
            &self.inner.registry,
            reference,
            credentials,
        )
        .await
    }

    /// The cached answer, without I/O: `Some(Ok)` for a digest reference or a fresh enough
    /// entry, `Some(Err)` for an unparseable reference, `None` when a resolve is needed.
    /// Bindings call this first so a warm resolve never touches the async runtime.
    pub fn cached(
        &self,
        engine: &Engine,
        reference: &str,
        ttl: Duration,
        credentials: Option<&Credentials>,
    ) -> Option<Result<Digest>> {
        let reference = match Reference::parse(reference) {
            Ok(r) => r,
            Err(e) => return Some(Err(e.into())),
        };
        self.answer_without_io(engine, &reference, ttl, credentials)
            .map(Ok)
    }

    /// The answer that needs no I/O, allocating nothing: a digest reference's own digest, or a
    /// cached digest younger than `ttl` (never for a zero `ttl`). Shared by the async path and
    /// the sync fast path so the two cannot drift.
    pub(crate) fn answer_without_io(
        &self,
        engine: &Engine,
        reference: &Reference,
        ttl: Duration,
        credentials: Option<&Credentials>,
    ) -> Option<Digest> {
        if let Some(digest) = reference.digest() {
            return Some(digest.clone());
        }
        if ttl.is_zero() {
            return None;
        }
        let credentials = credentials.filter(|c| c.applies_to(reference.registry()));
        let fingerprint = credentials.map(Credentials::fingerprint);
        let key = KeyRef {
            engine: engine.name(),
            reference: reference.tagged_name(),
            credentials: fingerprint.as_ref(),
        };
        let found = self.inner.cache.get(&key, ttl, self.inner.clock.now());
        // A hint lookup (last_known, any age) is not a caller's hit; misses are counted where
        // the engine is asked (resolve_reference, call), so a verify's two lookups count once.
        if found.is_some() && ttl != Duration::MAX {
            crate::metrics::digest_cache_lookup(true);
        }
        found
    }

    /// The digest `reference` last resolved to through `engine`, however old: a hint for work
    /// that can start before a fresh resolve answers (the verifier lists signatures of this
    /// digest while the tag is re-checked), never an answer.
    pub(crate) fn last_known(
        &self,
        engine: &Engine,
        reference: &Reference,
        credentials: Option<&Credentials>,
    ) -> Option<Digest> {
        self.answer_without_io(engine, reference, Duration::MAX, credentials)
    }

    /// Resolve from a thread that is not running async code: [`Self::call`], waited for.
    pub fn resolve_blocking(
        &self,
        engine: &Engine,
        reference: &str,
        ttl: Duration,
        credentials: Option<&Credentials>,
    ) -> Result<Digest> {
        self.call(engine, reference, ttl, credentials).wait()
    }

    /// Register (or replace) the engine called `name`. Overriding a built-in is allowed.
    pub fn register_engine(&self, name: &str, source: Arc<dyn DigestSource>) -> Result<()> {
        let engine = Engine::parse(name)?;
        self.inner
            .engines
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(engine.name().to_owned(), source);
        Ok(())
    }

    /// Names of every engine this resolver knows, sorted.
    pub fn engine_names(&self) -> Vec<String> {
        let engines = self.inner.engines.read().unwrap_or_else(|p| p.into_inner());
        let mut names: Vec<String> = engines.keys().cloned().collect();
        names.sort();
        names
    }

    /// The registry client this resolver uses (the verifier reads signatures through it).
    pub fn registry(&self) -> &Arc<RegistryClient> {
        &self.inner.registry
    }

    /// Registries reached over plain HTTP.
    pub fn insecure_registries(&self) -> &HashSet<String> {
        &self.inner.registry.config().insecure_hosts
    }

    /// Number of cached digests.
    pub fn cache_len(&self) -> usize {
        self.inner.cache.len()
    }

    /// Drop every cached digest.
    pub fn clear_cache(&self) {
        self.inner.cache.clear();
    }

    fn source(&self, engine: &Engine) -> Result<Arc<dyn DigestSource>> {
        let engines = self.inner.engines.read().unwrap_or_else(|p| p.into_inner());
        engines.get(engine.name()).cloned().ok_or_else(|| {
            let mut known: Vec<&str> = engines.keys().map(String::as_str).collect();
            known.sort_unstable();
            Error::InvalidArgument(format!(
                "unknown engine {:?} (known: {})",
                engine.name(),
                known.join(", ")
            ))
        })
    }
}

impl Inner {
    /// Keep an answer another node resolved `age` ago, as old as it is: the local entry must
    /// not look fresher to the next caller than the shared one did.
    fn remember_aged(&self, key: CacheKey, digest: Digest, age: Duration) {
        if let Some(resolved) = self.clock.now().checked_sub(age) {
            self.cache.put(key, digest, resolved);
        }
    }
}

fn unavailable(engine: &Engine, reference: &Reference, cause: DigestCause) -> Error {
    tracing::warn!(
        engine = engine.name(),
        reference = %reference,
        cause = cause.kind.name(),
        detail = %cause.detail,
        "digest unavailable"
    );
    Error::DigestUnavailable {
        reference: reference.to_string(),
        engine: engine.name().to_owned(),
        cause,
    }
}

static DEFAULT_RESOLVER: LazyLock<Resolver> =
    LazyLock::new(|| Resolver::builder().from_env().build());

/// The process-wide resolver, built on first use from the environment. Every caller in the
/// process shares its cache.
pub fn default_resolver() -> &'static Resolver {
    &DEFAULT_RESOLVER
}

#[cfg(test)]
mod tests;
