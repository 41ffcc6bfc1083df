//! The options of a [`Resolver`] and a [`Verifier`], in one place, with core's defaults.
//!
//! Every way in converts to these and nothing else: the C ABI's JSON options deserialise into
//! them directly (field names are the JSON names; durations are whole milliseconds, `_ms`), Go
//! writes that JSON, Python's keyword arguments and UniFFI's records are copied field by field,
//! and the CLI and the daemon build them from flags. A binding leaves a field it was not given
//! at its default here, so no binding restates a default. New options are added here once.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::registry::DEFAULT_REQUEST_TIMEOUT;
use crate::resolve::{DEFAULT_MAX_CACHE_ENTRIES, Resolver, ResolverBuilder, daemon};
use crate::shared_cache::SharedCacheUrl;
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
            .pull_timeout(self.pull_timeout);
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
}

impl Default for VerifierOptions {
    fn default() -> Self {
        VerifierOptions {
            resolve_ttl: Duration::ZERO,
            result_ttl: DEFAULT_RESULT_TTL,
            deadline: DEFAULT_DEADLINE,
            trusted_root: None,
        }
    }
}

impl VerifierOptions {
    /// Parse the C ABI's JSON options (as [`ResolverOptions::from_json`]).
    pub fn from_json(text: &str) -> Result<Self> {
        serde_json::from_str(text)
            .map_err(|e| Error::InvalidArgument(format!("verifier options are not valid: {e}")))
    }

    /// A builder for `policy` with these options. Loading the trusted root is the one step
    /// that can fail (InvalidPolicy, naming the file).
    pub fn builder(&self, policy: Policy) -> Result<VerifierBuilder> {
        let mut builder = Verifier::builder(policy)
            .resolve_ttl(self.resolve_ttl)
            .result_ttl(self.result_ttl)
            .deadline(self.deadline);
        if let Some(path) = &self.trusted_root {
            builder = builder.trusted_root(TrustedRoot::from_file(path)?);
        }
        Ok(builder)
    }
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
