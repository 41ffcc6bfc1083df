//! The options of a [`Resolver`] and a [`Verifier`], in one place, with core's defaults.
//!
//! Every way in converts to these and nothing else: the C ABI's JSON options deserialise into
//! them directly (field names are the JSON names; durations are whole milliseconds, `_ms`), Go
//! writes that JSON, Python's keyword arguments and UniFFI's records are copied field by field,
//! and the CLI and the daemon build them from flags. A binding leaves a field it was not given
//! at its default here, so no binding restates a default. New options are added here once.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::registry::{
    DEFAULT_MAX_CONCURRENT_REQUESTS_PER_HOST, DEFAULT_MAX_RETRIES, DEFAULT_REQUEST_TIMEOUT,
};
use crate::resolve::{DEFAULT_MAX_CACHE_ENTRIES, Resolver, ResolverBuilder, daemon};
use crate::shared_cache::SharedCacheUrl;
use crate::verify::tuf::{DEFAULT_REFRESH_INTERVAL, TufRepository};
use crate::verify::{DEFAULT_DEADLINE, DEFAULT_RESULT_TTL};
use crate::verify::{Policy, TrustedRoot, Verifier, VerifierBuilder};

/// Options of a [`Resolver`]. `Default` is core's default for every field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ResolverOptions {
    /// Also read the environment, as the default resolver does: insecure registries from
    /// `IMAGECHECK_INSECURE_REGISTRIES`, credentials from docker's `config.json` / containers'
    /// `auth.json` and their helpers, daemon sockets from `DOCKER_HOST` / `CONTAINER_HOST`
    /// (default true).
    pub from_env: bool,
    /// Registries (`host:port`) reached over plain HTTP, besides the environment's.
    pub insecure_registries: Vec<String>,
    /// Limit for one registry request, body included; also for each daemon request other than
    /// a pull (default 30 s).
    #[serde(rename = "request_timeout_ms", with = "millis")]
    pub request_timeout: Duration,
    /// Bound on cached digests (default 65,536).
    pub max_cache_entries: usize,
    /// The Docker daemon's API socket for the `docker` engine (default: `DOCKER_HOST` when
    /// reading the environment, else `/var/run/docker.sock`).
    pub docker_socket: Option<PathBuf>,
    /// The Podman service's API socket for the `podman` engine (default: `CONTAINER_HOST`, else
    /// podman's own default path).
    pub podman_socket: Option<PathBuf>,
    /// Limit for one pull by the docker or podman engine, progress included (default 600 s).
    #[serde(rename = "pull_timeout_ms", with = "millis")]
    pub pull_timeout: Duration,
    /// A containers `registries.conf` (v2) whose mirrors and `blocked` entries route registry
    /// requests, with the drop-ins of the `registries.conf.d` beside it (default: when reading
    /// the environment, `CONTAINERS_REGISTRIES_CONF`, else `~/.config/containers/
    /// registries.conf` or `/etc/containers/registries.conf` when present; else none). A named
    /// file that is missing or unusable fails every registry request (InvalidArgument).
    pub registries_conf: Option<PathBuf>,
    /// A containerd `config_path` directory of `<host>/hosts.toml` files (default: when
    /// reading the environment, `IMAGECHECK_HOSTS_DIR`; else none). Where it has a file for a
    /// registry, it decides that registry's mirrors.
    pub hosts_dir: Option<PathBuf>,
    /// Retries of one registry request after a rate-limit answer (HTTP 429, or 503 with a
    /// `Retry-After`) within the call's deadline (default 2; 0: none).
    pub max_retries: u32,
    /// Registry requests in flight to one host at once, token requests included (default 16).
    pub max_concurrent_requests_per_host: usize,
    /// The fleet's shared cache tier: `redis://…`, `rediss://…` or `unix:///…` (default: none,
    /// or `IMAGECHECK_SHARED_CACHE` when reading the environment). Tag answers and signature
    /// artifacts are shared with the other nodes; verdicts and anything read with credentials
    /// are not. A URL that cannot be used is InvalidArgument; a tier that does not answer
    /// never fails a call.
    pub shared_cache: Option<SharedCacheUrl>,
}

impl Default for ResolverOptions {
    fn default() -> Self {
        ResolverOptions {
            from_env: true,
            insecure_registries: Vec::new(),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_cache_entries: DEFAULT_MAX_CACHE_ENTRIES,
            docker_socket: None,
            podman_socket: None,
            pull_timeout: daemon::DEFAULT_PULL_TIMEOUT,
            registries_conf: None,
            hosts_dir: None,
            max_retries: DEFAULT_MAX_RETRIES,
            max_concurrent_requests_per_host: DEFAULT_MAX_CONCURRENT_REQUESTS_PER_HOST,
            shared_cache: None,
        }
    }
}

impl ResolverOptions {
    /// Parse the C ABI's JSON options (`null` or absent fields: defaults; unknown fields are an
    /// error, InvalidArgument).
    pub fn from_json(text: &str) -> Result<Self> {
        serde_json::from_str(text)
            .map_err(|e| Error::InvalidArgument(format!("resolver options are not valid: {e}")))
    }

    /// A builder with these options (more can be set on it: engines, a clock).
    pub fn builder(&self) -> ResolverBuilder {
        let mut builder = Resolver::builder();
        if self.from_env {
            builder = builder.from_env();
        }
        builder = builder
            .insecure_registries(self.insecure_registries.iter().cloned())
            .request_timeout(self.request_timeout)
            .max_cache_entries(self.max_cache_entries)
            .pull_timeout(self.pull_timeout)
            .max_retries(self.max_retries)
            .max_concurrent_requests_per_host(self.max_concurrent_requests_per_host);
        if let Some(path) = &self.registries_conf {
            builder = builder.registries_conf(path);
        }
        if let Some(dir) = &self.hosts_dir {
            builder = builder.hosts_dir(dir);
        }
        if let Some(path) = &self.docker_socket {
            builder = builder.docker_socket(path);
        }
        if let Some(path) = &self.podman_socket {
            builder = builder.podman_socket(path);
        }
        if let Some(url) = &self.shared_cache {
            builder = builder.shared_cache(url.clone());
        }
        builder
    }

    pub fn build(&self) -> Resolver {
        self.builder().build()
    }
}

/// Options of a [`Verifier`]. `Default` is core's default for every field. The resolver a
/// verifier uses is not an option but an object (`VerifierBuilder::resolver`; default: the
/// process-wide one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VerifierOptions {
    /// Accept a cached tag digest this old (default zero: a moved tag is seen at once).
    #[serde(rename = "resolve_ttl_ms", with = "millis")]
    pub resolve_ttl: Duration,
    /// How long a successful verification is reused (default 5 minutes; zero disables).
    #[serde(rename = "result_ttl_ms", with = "millis")]
    pub result_ttl: Duration,
    /// Bound on one verify, from its start to its answer, signature discovery included
    /// (default 60 s).
    #[serde(rename = "deadline_ms", with = "millis")]
    pub deadline: Duration,
    /// A Sigstore `trusted_root.json` for keyless rules of a private deployment (default: the
    /// embedded public-good root). An unloadable file is InvalidPolicy.
    pub trusted_root: Option<PathBuf>,
    /// Named Sigstore trusted roots, name → `trusted_root.json` path, for keyless rules that
    /// name one (`keyless.trustedRoot: NAME`; rules naming none use the default root). An
    /// unloadable file, or a rule naming a root not listed here, is InvalidPolicy.
    pub trusted_roots: BTreeMap<String, PathBuf>,
    /// Keep the default trusted root current from this TUF repository (e.g.
    /// `https://tuf-repo-cdn.sigstore.dev`, Sigstore's public-good one), refreshed in the
    /// background; default none: the embedded root, offline. Not with `trusted_root`.
    pub tuf_url: Option<String>,
    /// The TUF `root.json` the repository's chain of trust starts from (default: the embedded
    /// one of Sigstore's public-good repository; required for any other).
    pub tuf_root: Option<PathBuf>,
    /// Where the verified TUF copy is kept (default `$XDG_CACHE_HOME/imagecheck/tuf`, else
    /// `~/.cache/imagecheck/tuf`).
    pub tuf_cache_dir: Option<PathBuf>,
    /// Ask the TUF repository again at most this often (default 24 hours).
    #[serde(rename = "tuf_refresh_interval_ms", with = "millis")]
    pub tuf_refresh_interval: Duration,
}

impl Default for VerifierOptions {
    fn default() -> Self {
        VerifierOptions {
            resolve_ttl: Duration::ZERO,
            result_ttl: DEFAULT_RESULT_TTL,
            deadline: DEFAULT_DEADLINE,
            trusted_root: None,
            trusted_roots: BTreeMap::new(),
            tuf_url: None,
            tuf_root: None,
            tuf_cache_dir: None,
            tuf_refresh_interval: DEFAULT_REFRESH_INTERVAL,
        }
    }
}

impl VerifierOptions {
    /// Parse the C ABI's JSON options (as [`ResolverOptions::from_json`]).
    pub fn from_json(text: &str) -> Result<Self> {
        serde_json::from_str(text)
            .map_err(|e| Error::InvalidArgument(format!("verifier options are not valid: {e}")))
    }

    /// A builder for `policy` with these options. Loading the trusted roots can fail
    /// (InvalidPolicy, naming the file), as can a rule naming a trusted root not given
    /// (InvalidPolicy) and options that contradict each other (InvalidArgument).
    pub fn builder(&self, policy: Policy) -> Result<VerifierBuilder> {
        let tuf = self.tuf_repository()?;
        for name in self.trusted_roots.keys() {
            check_root_name(name)?;
        }
        let names: Vec<&str> = self.trusted_roots.keys().map(String::as_str).collect();
        policy.check_trusted_root_names(&names)?;
        let mut builder = Verifier::builder(policy)
            .resolve_ttl(self.resolve_ttl)
            .result_ttl(self.result_ttl)
            .deadline(self.deadline);
        if let Some(path) = &self.trusted_root {
            builder = builder.trusted_root(TrustedRoot::from_file(path)?);
        }
        for (name, path) in &self.trusted_roots {
            builder = builder.named_trusted_root(name, TrustedRoot::from_file(path)?);
        }
        if let Some(repository) = tuf {
            builder = builder.tuf(repository);
        }
        Ok(builder)
    }

    /// The TUF repository these options name, if any, with its cache directory known.
    fn tuf_repository(&self) -> Result<Option<TufRepository>> {
        let Some(url) = &self.tuf_url else {
            if self.tuf_root.is_some() || self.tuf_cache_dir.is_some() {
                return Err(Error::InvalidArgument(
                    "tuf_root and tuf_cache_dir need tuf_url, the TUF repository to refresh \
                     the trusted root from"
                        .into(),
                ));
            }
            return Ok(None);
        };
        if let Some(file) = &self.trusted_root {
            return Err(Error::InvalidArgument(format!(
                "trusted_root and tuf_url both name the default trusted root: give the file \
                 ({}) or the TUF repository ({url}), not both",
                file.display()
            )));
        }
        let mut repository = TufRepository::from_options(url, self.tuf_root.as_deref())?
            .refresh_interval(self.tuf_refresh_interval);
        if let Some(dir) = &self.tuf_cache_dir {
            repository = repository.cache_dir(dir);
        }
        // Known now rather than at the first refresh: a missing HOME is a configuration error.
        repository.dir()?;
        Ok(Some(repository))
    }
}

/// A name for a trusted root: what a policy's `keyless.trustedRoot` can spell (non-empty, no
/// whitespace or control characters).
fn check_root_name(name: &str) -> Result<()> {
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::InvalidArgument(format!(
            "trusted root name {name:?}: expected a non-empty name without spaces"
        )));
    }
    Ok(())
}

/// A duration as whole milliseconds (the C ABI's JSON spelling).
mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(value: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(value.as_millis()).unwrap_or(u64::MAX))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_names_and_defaults_are_those_of_the_c_abi() {
        let options = ResolverOptions::from_json(
            r#"{"insecure_registries": ["127.0.0.1:5000"], "request_timeout_ms": 1500, "from_env": false}"#,
        )
        .unwrap();
        assert_eq!(
            options,
            ResolverOptions {
                from_env: false,
                insecure_registries: vec!["127.0.0.1:5000".into()],
                request_timeout: Duration::from_millis(1500),
                ..ResolverOptions::default()
            }
        );
        assert_eq!(
            ResolverOptions::from_json("{}").unwrap(),
            ResolverOptions::default()
        );
        let shared = ResolverOptions::from_json(
            r#"{"shared_cache": "redis://:hunter2@cache:6379/0?timeout_ms=20"}"#,
        )
        .unwrap();
        let url = shared.shared_cache.as_ref().unwrap();
        assert_eq!(url.as_str(), "redis://:hunter2@cache:6379/0?timeout_ms=20");
        assert!(!format!("{shared:?}").contains("hunter2"), "{shared:?}");
        let verifier = VerifierOptions::from_json(
            r#"{"resolve_ttl_ms": 10, "result_ttl_ms": 0, "trusted_root": "/x.json"}"#,
        )
        .unwrap();
        assert_eq!(verifier.resolve_ttl, Duration::from_millis(10));
        assert_eq!(verifier.result_ttl, Duration::ZERO);
        assert_eq!(verifier.deadline, DEFAULT_DEADLINE);
        assert_eq!(verifier.trusted_root, Some(PathBuf::from("/x.json")));
    }

    #[test]
    fn trusted_root_options_have_c_json_names() {
        let verifier = VerifierOptions::from_json(
            r#"{"trusted_roots": {"private": "/p.json"}, "tuf_url": "https://tuf.example",
                "tuf_root": "/root.json", "tuf_cache_dir": "/cache",
                "tuf_refresh_interval_ms": 3600000}"#,
        )
        .unwrap();
        assert_eq!(
            verifier.trusted_roots,
            BTreeMap::from([("private".to_owned(), PathBuf::from("/p.json"))])
        );
        assert_eq!(verifier.tuf_url.as_deref(), Some("https://tuf.example"));
        assert_eq!(verifier.tuf_root, Some(PathBuf::from("/root.json")));
        assert_eq!(verifier.tuf_cache_dir, Some(PathBuf::from("/cache")));
        assert_eq!(verifier.tuf_refresh_interval, Duration::from_secs(3600));
        let defaults = VerifierOptions::default();
        assert_eq!(defaults.tuf_url, None, "TUF is off unless asked for");
        assert_eq!(defaults.tuf_refresh_interval, DEFAULT_REFRESH_INTERVAL);
    }

    #[test]
    fn contradicting_trusted_root_options_are_invalid_arguments() {
        let cases = [
            (
                VerifierOptions {
                    trusted_root: Some("/a.json".into()),
                    tuf_url: Some(crate::verify::tuf::PUBLIC_GOOD_URL.into()),
                    ..VerifierOptions::default()
                },
                "not both",
            ),
            (
                VerifierOptions {
                    tuf_root: Some("/root.json".into()),
                    ..VerifierOptions::default()
                },
                "need tuf_url",
            ),
            (
                VerifierOptions {
                    tuf_url: Some("https://tuf.example".into()),
                    ..VerifierOptions::default()
                },
                "needs its root.json",
            ),
            (
                VerifierOptions {
                    trusted_roots: BTreeMap::from([("two words".into(), "/p.json".into())]),
                    ..VerifierOptions::default()
                },
                "without spaces",
            ),
        ];
        for (options, says) in cases {
            let error = options.builder(Policy::empty()).unwrap_err();
            assert_eq!(error.kind(), crate::ErrorKind::InvalidArgument, "{error}");
            assert!(error.to_string().contains(says), "{says}: {error}");
        }
        let unknown =
            Policy::parse("[{image: '*', keyless: {issuer: i, subject: s, trustedRoot: private}}]")
                .unwrap();
        let error = VerifierOptions::default().builder(unknown).unwrap_err();
        assert_eq!(error.kind(), crate::ErrorKind::InvalidPolicy, "{error}");
        assert!(
            error.to_string().contains("no named trusted roots"),
            "{error}"
        );
    }

    #[test]
    fn mirror_and_rate_limit_options_have_json_names() {
        let options = ResolverOptions::from_json(
            r#"{"registries_conf": "/etc/r.conf", "hosts_dir": "/etc/containerd/certs.d",
                "max_retries": 0, "max_concurrent_requests_per_host": 4}"#,
        )
        .unwrap();
        assert_eq!(options.registries_conf, Some(PathBuf::from("/etc/r.conf")));
        assert_eq!(
            options.hosts_dir,
            Some(PathBuf::from("/etc/containerd/certs.d"))
        );
        assert_eq!(options.max_retries, 0);
        assert_eq!(options.max_concurrent_requests_per_host, 4);
        let config = ResolverOptions::default().build();
        let config = config.registry().config();
        assert_eq!(config.max_retries, DEFAULT_MAX_RETRIES);
        assert_eq!(
            config.max_concurrent_requests_per_host,
            DEFAULT_MAX_CONCURRENT_REQUESTS_PER_HOST
        );
        let named = ResolverOptions {
            from_env: false,
            registries_conf: Some(PathBuf::from("/x/registries.conf")),
            ..ResolverOptions::default()
        }
        .build();
        let mirrors = &named.registry().config().mirrors;
        assert_eq!(
            mirrors.registries_conf,
            Some(PathBuf::from("/x/registries.conf"))
        );
        assert!(!mirrors.registries_conf_optional, "a named file must exist");
    }

    #[test]
    fn unknown_and_mistyped_fields_are_invalid_arguments() {
        for (text, says) in [
            (
                r#"{"request_timeout": 5}"#,
                "unknown field `request_timeout`",
            ),
            (r#"{"request_timeout_ms": -5}"#, "invalid value"),
            (r#"{"from_env": "yes"}"#, "invalid type"),
            (r#"{"shared_cache": "http://cache:6379"}"#, "scheme"),
        ] {
            let error = ResolverOptions::from_json(text).unwrap_err();
            assert_eq!(error.kind(), crate::ErrorKind::InvalidArgument);
            assert!(error.to_string().contains(says), "{text}: {error}");
        }
    }

    #[test]
    fn defaults_are_the_builders_own() {
        let resolver = ResolverOptions::default().build();
        assert_eq!(
            resolver.registry().config().request_timeout,
            DEFAULT_REQUEST_TIMEOUT
        );
        let missing = VerifierOptions {
            trusted_root: Some(PathBuf::from("/nonexistent/trusted_root.json")),
            ..VerifierOptions::default()
        };
        let error = missing.builder(Policy::empty()).unwrap_err();
        assert_eq!(error.kind(), crate::ErrorKind::InvalidPolicy);
        assert!(
            error.to_string().contains("/nonexistent/trusted_root.json"),
            "{error}"
        );
    }
}
