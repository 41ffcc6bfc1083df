//! `Resolver`: tag-to-digest resolution with the core's shared cache.

use std::path::PathBuf;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use imagecheck::{Digest, Engine};

use crate::error::ImageCheckError;

/// Per-call registry credentials `{host, username, password}`, used only for references on
/// `host`.
///
/// An object rather than a record on purpose: a record becomes a Kotlin `data class` (a Swift
/// struct, a Python dataclass) whose generated `toString` prints every field, and DESIGN.md
/// forbids the password appearing in any print. Building it once also computes the cache
/// fingerprint once, not on every call that reuses it.
#[derive(uniffi::Object)]
pub struct Credentials {
    inner: imagecheck::Credentials,
}

#[uniffi::export]
impl Credentials {
    /// `host` as references spell it (`ghcr.io`, `127.0.0.1:5000`, `docker.io`).
    #[uniffi::constructor]
    pub fn new(host: String, username: String, password: String) -> Arc<Self> {
        Arc::new(Credentials {
            inner: imagecheck::Credentials::new(host, username, password),
        })
    }

    /// The normalised registry host these credentials apply to.
    pub fn host(&self) -> String {
        self.inner.host().to_owned()
    }

    pub fn username(&self) -> String {
        self.inner.username().to_owned()
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The core type redacts the password.
        self.inner.fmt(f)
    }
}

impl Credentials {
    pub(crate) fn core(&self) -> &imagecheck::Credentials {
        &self.inner
    }
}

/// Options for [`Resolver::new`]; every field left at its default (`None`, empty) keeps core's
/// default (`imagecheck::ResolverOptions`).
#[derive(Debug, Clone, uniffi::Record)]
pub struct ResolverOptions {
    /// Registries (`host:port`) reached over plain HTTP instead of HTTPS.
    #[uniffi(default)]
    pub insecure_registries: Vec<String>,
    /// Timeout of each registry request (`None`: core's default, 30 s).
    #[uniffi(default)]
    pub request_timeout: Option<Duration>,
    /// Also read the environment, as the default resolver does
    /// (`IMAGECHECK_INSECURE_REGISTRIES`, docker `config.json`, containers `auth.json`)
    /// (`None`: yes).
    #[uniffi(default)]
    pub from_env: Option<bool>,
    /// Bound on cached digests (`None`: core's default, 65,536).
    #[uniffi(default)]
    pub max_cache_entries: Option<u64>,
    /// A containers `registries.conf` (v2) whose mirrors route registry requests and whose
    /// `blocked` registries are refused (`None`: with `from_env`, `CONTAINERS_REGISTRIES_CONF`,
    /// else the standard paths when present). A named file that is missing or unusable fails
    /// every registry call (InvalidArgument, naming it).
    #[uniffi(default)]
    pub registries_conf: Option<String>,
    /// A containerd `config_path` directory of `<host>/hosts.toml` (`None`: with `from_env`,
    /// `IMAGECHECK_HOSTS_DIR`).
    #[uniffi(default)]
    pub hosts_dir: Option<String>,
    /// Retries after HTTP 429 (or 503 with `Retry-After`) within the call's deadline (`None`:
    /// core's default, 2; 0: never).
    #[uniffi(default)]
    pub max_retries: Option<u32>,
    /// Registry requests in flight to one host at once (`None`: core's default, 16).
    #[uniffi(default)]
    pub max_concurrent_requests_per_host: Option<u64>,
    /// The fleet's shared cache tier (`redis://…`, `rediss://…`, `unix:///…`; `None`: none,
    /// or `IMAGECHECK_SHARED_CACHE` when reading the environment). An unusable URL is
    /// InvalidArgument; a tier that does not answer never fails a call.
    #[uniffi(default)]
    pub shared_cache: Option<String>,
}

impl ResolverOptions {
    /// Core's options, field by field (a field left at `None` keeps core's default).
    fn into_core(self) -> Result<imagecheck::ResolverOptions, ImageCheckError> {
        let mut core = imagecheck::ResolverOptions {
            insecure_registries: self.insecure_registries,
            ..imagecheck::ResolverOptions::default()
        };
        if let Some(timeout) = self.request_timeout {
            core.request_timeout = timeout;
        }
        if let Some(from_env) = self.from_env {
            core.from_env = from_env;
        }
        if let Some(max) = self.max_cache_entries {
            core.max_cache_entries = usize::try_from(max).unwrap_or(usize::MAX);
        }
        core.registries_conf = self.registries_conf.map(PathBuf::from);
        core.hosts_dir = self.hosts_dir.map(PathBuf::from);
        if let Some(retries) = self.max_retries {
            core.max_retries = retries;
        }
        if let Some(max) = self.max_concurrent_requests_per_host {
            core.max_concurrent_requests_per_host = usize::try_from(max).unwrap_or(usize::MAX);
        }
        if let Some(url) = self.shared_cache {
            core.shared_cache = Some(imagecheck::shared_cache::SharedCacheUrl::parse(&url)?);
        }
        Ok(core)
    }
}

/// Resolves references to content digests through engines (`registry`, `docker`, `podman`,
/// `kubernetes`), with a TTL cache whose freshness each call chooses and single-flight
/// upstream requests. Resolvers are independent: each has its own cache.
#[derive(Debug, uniffi::Object)]
pub struct Resolver {
    inner: imagecheck::Resolver,
}

#[uniffi::export]
impl Resolver {
    /// A resolver of its own (own cache, own connections).
    #[uniffi::constructor]
    pub fn new(options: ResolverOptions) -> Result<Arc<Self>, ImageCheckError> {
        Ok(Arc::new(Resolver {
            inner: options.into_core()?.build(),
        }))
    }

    /// The digest (`sha256:…`) `reference` points at, blocking the calling thread while the
    /// engine answers. A cached digest younger than `ttl` is served without I/O (zero: always
    /// ask, and refresh the cache). `engine`: `registry`, `docker`, `podman`, `kubernetes`.
    #[uniffi::method(default(engine = "registry", credentials = None))]
    pub fn resolve_blocking(
        &self,
        reference: String,
        ttl: Duration,
        engine: String,
        credentials: Option<Arc<Credentials>>,
    ) -> Result<String, ImageCheckError> {
        let engine = Engine::parse(&engine)?;
        let credentials = credentials.as_deref().map(Credentials::core);
        answer(
            self.inner
                .call(&engine, &reference, ttl, credentials)
                .wait(),
        )
    }

    /// [`Self::resolve_blocking`] as an async call (a Kotlin `suspend fun`, a Swift `async`
    /// func, a Python coroutine). The work runs on the library's runtime; cancelling the caller
    /// cancels it.
    #[uniffi::method(default(engine = "registry", credentials = None))]
    pub async fn resolve(
        &self,
        reference: String,
        ttl: Duration,
        engine: String,
        credentials: Option<Arc<Credentials>>,
    ) -> Result<String, ImageCheckError> {
        let engine = Engine::parse(&engine)?;
        let credentials = credentials.as_deref().map(Credentials::core);
        // A warm answer is ready at once; anything else runs on the core runtime.
        answer(self.inner.call(&engine, &reference, ttl, credentials).await)
    }

    /// Number of cached digests.
    pub fn cache_len(&self) -> u64 {
        self.inner.cache_len() as u64
    }

    /// Drop every cached digest.
    pub fn clear_cache(&self) {
        self.inner.clear_cache();
    }
}

impl Resolver {
    pub(crate) fn core(&self) -> &imagecheck::Resolver {
        &self.inner
    }
}

fn answer(result: imagecheck::Result<Digest>) -> Result<String, ImageCheckError> {
    result
        .map(|digest| digest.as_str().to_owned())
        .map_err(ImageCheckError::from)
}

static DEFAULT: LazyLock<Arc<Resolver>> = LazyLock::new(|| {
    Arc::new(Resolver {
        inner: imagecheck::default_resolver().clone(),
    })
});

/// The process-wide resolver (built on first use from the environment); every caller in the
/// process shares its cache. "Process" means this loaded library: another library embedding its
/// own copy of imagecheck has its own.
#[uniffi::export]
pub fn default_resolver() -> Arc<Resolver> {
    DEFAULT.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mirror_and_rate_limit_option_reaches_core() {
        let options = ResolverOptions {
            insecure_registries: Vec::new(),
            request_timeout: None,
            from_env: Some(false),
            max_cache_entries: None,
            registries_conf: Some("/etc/containers/registries.conf".into()),
            hosts_dir: Some("/etc/containerd/certs.d".into()),
            max_retries: Some(0),
            max_concurrent_requests_per_host: Some(3),
            shared_cache: None,
        };
        assert_eq!(
            options.into_core().unwrap(),
            imagecheck::ResolverOptions {
                from_env: false,
                registries_conf: Some(PathBuf::from("/etc/containers/registries.conf")),
                hosts_dir: Some(PathBuf::from("/etc/containerd/certs.d")),
                max_retries: 0,
                max_concurrent_requests_per_host: 3,
                ..imagecheck::ResolverOptions::default()
            }
        );
    }

    #[test]
    fn a_registry_the_registries_conf_blocks_is_refused() {
        // Port 9 (discard) on loopback: refused before any request, so nothing need listen.
        let dir = std::env::temp_dir().join(format!("imagecheck-uniffi-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let conf = dir.join("registries.conf");
        std::fs::write(
            &conf,
            "[[registry]]\nlocation = \"127.0.0.1:9\"\nblocked = true\n",
        )
        .unwrap();
        let resolver = Resolver::new(ResolverOptions {
            insecure_registries: Vec::new(),
            request_timeout: None,
            from_env: Some(false),
            max_cache_entries: None,
            registries_conf: Some(conf.to_str().unwrap().to_owned()),
            hosts_dir: None,
            max_retries: None,
            max_concurrent_requests_per_host: None,
            shared_cache: None,
        })
        .unwrap();
        let answer = resolver.resolve_blocking(
            "127.0.0.1:9/app:v1".into(),
            Duration::ZERO,
            "registry".into(),
            None,
        );
        std::fs::remove_dir_all(&dir).unwrap();
        match answer {
            Err(ImageCheckError::InvalidArgument { reason }) => {
                assert!(reason.contains("registries.conf"), "{reason}");
            }
            other => panic!("expected InvalidArgument, got {other:?}"),
        }
    }
}
