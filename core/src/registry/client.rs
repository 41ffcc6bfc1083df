//! Requests to a registry: manifests (HEAD and GET) and blobs, authenticated, bounded and
//! checked against the digest they claim, routed through the configured mirrors
//! (`super::mirrors`), retried after rate-limit answers within the call's limits
//! (`super::retry`, `super::call_limits`) and capped per host (`super::host_limit`). Sending
//! one request along its route is `send`.

mod send;

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::{Method, header};

use super::auth::AuthSources;
use super::endpoint::{Endpoint, Target};
use super::host_limit::{DEFAULT_MAX_CONCURRENT_REQUESTS_PER_HOST, HostLimits};
use super::mirrors::{Lookup, MirrorFiles, Mirrors, Refusal, TlsProfile};
use super::realm::{HostLookup, RealmClients};
use super::retry::DEFAULT_MAX_RETRIES;
use super::token::AuthCache;
use crate::credentials::Credentials;
use crate::digest::Digest;
use crate::error::{CauseKind, DigestCause};
use crate::reference::{Reference, canonical_registry, registry_port};
use crate::runtime::PerProcess;

/// Largest image manifest read while resolving (OCI suggests registries accept at least
/// 4 MiB). Signature manifests have their own, smaller bound in verification.
pub const MAX_IMAGE_MANIFEST_BYTES: usize = 4 * 1024 * 1024;

/// How the registry client reaches registries.
#[derive(Debug, Clone)]
pub struct RegistryConfig {
    /// Registries (`host:port`, as references spell them) reached over plain HTTP. Compared
    /// in canonical form: [`RegistryClient::new`] rewrites each entry with
    /// [`canonical_registry`].
    pub insecure_hosts: HashSet<String>,
    /// Limit for one request, body included.
    pub request_timeout: Duration,
    /// Configured credentials, tried when a call brings none for the registry.
    pub auth: AuthSources,
    /// How token-realm host names are resolved: the system resolver, or (tests) a map from
    /// test names to addresses, so realm checks are tested without DNS.
    #[doc(hidden)]
    pub realm_lookup: HostLookup,
    /// Where mirrors are configured (default: nowhere, no mirrors).
    pub mirrors: MirrorFiles,
    /// Retries of one request after a rate-limit answer (HTTP 429, or 503 with a
    /// `Retry-After`), within the call's deadline (default 2).
    pub max_retries: u32,
    /// Requests in flight to one host at once, token servers included (default 16).
    pub max_concurrent_requests_per_host: usize,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        RegistryConfig {
            insecure_hosts: HashSet::new(),
            request_timeout: super::DEFAULT_REQUEST_TIMEOUT,
            auth: AuthSources::none(),
            realm_lookup: HostLookup::default(),
            mirrors: MirrorFiles::default(),
            max_retries: DEFAULT_MAX_RETRIES,
            max_concurrent_requests_per_host: DEFAULT_MAX_CONCURRENT_REQUESTS_PER_HOST,
        }
    }
}

/// A fetched manifest or blob.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub bytes: Bytes,
    /// The Content-Type the registry gave (manifests only; empty when absent).
    pub media_type: String,
    /// sha256 of `bytes`, checked against what the registry claimed.
    pub digest: Digest,
    /// The mirror that answered (`mirror HOST`), or None when the registry itself did.
    pub served_by: Option<String>,
}

/// One client for every registry: a shared connection pool, cached tokens per registry,
/// repository and identity, remembered challenges, the mirror routes and the per-host cap.
pub struct RegistryClient {
    config: RegistryConfig,
    /// One HTTP client per TLS profile of the mirror configuration (0: the platform's trust
    /// store, which every registry without settings of its own uses).
    http: Vec<PerProcess<reqwest::Client>>,
    /// Token requests go through clients of their own: no redirects, realm addresses checked.
    realms: RealmClients,
    auth: AuthCache,
    mirrors: Mirrors,
    slots: Arc<HostLimits>,
}

impl fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryClient")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// `host` as references name it (so that `reference.registry()` finds it), saying so when
/// that changes which port plain HTTP goes to.
fn canonical_insecure_host(host: &str) -> String {
    let canonical = canonical_registry(host);
    if registry_port(host).is_some_and(|port| port.trim_start_matches('0') == "443") {
        tracing::warn!(
            "insecure registry {host:?} is the same registry as {canonical:?} (443 is the \
             HTTPS default port): it is reached over plain HTTP on port 80; list it as \
             {canonical:?}, or serve plain HTTP on another port"
        );
    }
    canonical.into_owned()
}

impl RegistryClient {
    pub fn new(mut config: RegistryConfig) -> Self {
        config.insecure_hosts = config
            .insecure_hosts
            .iter()
            .map(|host| canonical_insecure_host(host))
            .collect();
        let timeout = config.request_timeout;
        let mirrors = if config.mirrors == MirrorFiles::default() {
            Mirrors::none()
        } else {
            Mirrors::load(&config.mirrors)
        };
        let slots = Arc::new(HostLimits::new(config.max_concurrent_requests_per_host));
        let per_host = slots.per_host();
        let http = mirrors
            .tls_profiles()
            .iter()
            .map(|profile| {
                let profile = profile.clone();
                PerProcess::new(move || build_http(timeout, per_host, &profile))
            })
            .collect();
        RegistryClient {
            http,
            realms: RealmClients::new(timeout, config.realm_lookup.clone()).limited(slots.clone()),
            auth: AuthCache::default(),
            mirrors,
            slots,
            config,
        }
    }

    pub fn config(&self) -> &RegistryConfig {
        &self.config
    }

    /// Why `reference` must be refused before any I/O, if it must: no host may serve what the
    /// call needs (resolving its tag, fetching by digest), because its registry is blocked
    /// (registries.conf) with no mirror for that, or because the mirror configuration cannot
    /// be used. The message names the file and entry.
    pub(crate) fn refusal(
        &self,
        reference: &Reference,
        resolves_tag: bool,
        fetches_content: bool,
    ) -> Option<String> {
        [
            (resolves_tag, Lookup::Tag),
            (fetches_content, Lookup::Content),
        ]
        .into_iter()
        .filter(|(needed, _)| *needed)
        .find_map(|(_, lookup)| {
            self.mirrors
                .route(reference, lookup, &self.config.insecure_hosts)
                .err()
        })
        .map(|Refusal(why)| why)
    }

    /// The digest `reference`'s tag (or digest) points at: one HEAD with the full Accept list;
    /// a GET whose body is hashed, from the host that answered the HEAD, when it omits
    /// `Docker-Content-Digest`.
    pub async fn manifest_digest(
        &self,
        reference: &Reference,
        credentials: Option<&Credentials>,
    ) -> Result<Digest, DigestCause> {
        let target = manifest_target(reference);
        let answer = self
            .send(
                Method::HEAD,
                reference,
                Target::Manifest(&target),
                credentials,
                None,
            )
            .await?;
        if let Some(value) = answer.response.headers().get("docker-content-digest") {
            let text = value.to_str().unwrap_or_default();
            let digest = Digest::parse(text).map_err(|e| {
                DigestCause::new(
                    CauseKind::InvalidResponse,
                    format!(
                        "{} sent an unusable Docker-Content-Digest {text:?}: {e}",
                        answer.endpoint
                    ),
                )
            })?;
            tracing::debug!(%reference, %digest, host = %answer.endpoint, "tag resolved");
            return Ok(digest);
        }
        tracing::debug!(%reference, host = %answer.endpoint, "registry omitted Docker-Content-Digest on HEAD; hashing a GET");
        let endpoint = answer.endpoint.clone();
        drop(answer);
        Ok(self
            .fetch_manifest(
                reference,
                &target,
                MAX_IMAGE_MANIFEST_BYTES,
                credentials,
                Some(&endpoint),
            )
            .await?
            .digest)
    }

    /// GET a manifest by tag or digest (at most [`MAX_IMAGE_MANIFEST_BYTES`]), hash it, and
    /// check the hash against the digest asked for and the one the registry claims.
    pub async fn get_manifest(
        &self,
        reference: &Reference,
        tag_or_digest: &str,
        credentials: Option<&Credentials>,
    ) -> Result<Fetched, DigestCause> {
        self.get_manifest_limited(
            reference,
            tag_or_digest,
            MAX_IMAGE_MANIFEST_BYTES,
            credentials,
        )
        .await
    }

    /// [`Self::get_manifest`] with an explicit size limit.
    pub async fn get_manifest_limited(
        &self,
        reference: &Reference,
        tag_or_digest: &str,
        limit: usize,
        credentials: Option<&Credentials>,
    ) -> Result<Fetched, DigestCause> {
        self.fetch_manifest(reference, tag_or_digest, limit, credentials, None)
            .await
    }

    /// GET a manifest along its route, or only from `only`.
    async fn fetch_manifest(
        &self,
        reference: &Reference,
        tag_or_digest: &str,
        limit: usize,
        credentials: Option<&Credentials>,
        only: Option<&Endpoint>,
    ) -> Result<Fetched, DigestCause> {
        let answer = self
            .send(
                Method::GET,
                reference,
                Target::Manifest(tag_or_digest),
                credentials,
                only,
            )
            .await?;
        let served_by = answer.endpoint.mirror.then(|| answer.endpoint.to_string());
        let headers = answer.response.headers();
        let claimed = headers
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let media_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = answer.body(limit, "manifest").await?;
        let digest = Digest::sha256_of(&bytes);
        let asked = Digest::parse(tag_or_digest).ok();
        for (what, expected) in [
            ("asked for", asked.as_ref().map(Digest::as_str)),
            ("claimed", claimed.as_deref()),
        ] {
            if let Some(expected) = expected {
                let matches = Digest::parse(expected)
                    .map(|d| d.matches(&bytes))
                    .unwrap_or(false);
                if !matches {
                    return Err(DigestCause::new(
                        CauseKind::InvalidResponse,
                        format!(
                            "{} {} a manifest of {expected} but its content hashes to {digest}",
                            served_by.as_deref().unwrap_or("registry"),
                            if what == "claimed" {
                                "claimed"
                            } else {
                                "was asked for"
                            }
                        ),
                    ));
                }
            }
        }
        Ok(Fetched {
            bytes,
            media_type,
            digest,
            served_by,
        })
    }

    /// GET a blob (at most `limit` bytes) and check it hashes to `digest`.
    pub async fn get_blob(
        &self,
        reference: &Reference,
        digest: &Digest,
        limit: usize,
        credentials: Option<&Credentials>,
    ) -> Result<Bytes, DigestCause> {
        let answer = self
            .send(
                Method::GET,
                reference,
                Target::Blob(digest),
                credentials,
                None,
            )
            .await?;
        let endpoint = answer.endpoint.clone();
        let bytes = answer.body(limit, "blob").await?;
        if !digest.matches(&bytes) {
            return Err(DigestCause::new(
                CauseKind::InvalidResponse,
                format!("blob {digest} from {endpoint} does not hash to its digest"),
            ));
        }
        Ok(bytes)
    }

    /// The OCI referrers of `digest` with `artifact_type` (an image index, at most `limit`
    /// bytes), or None when the registry has no referrers API (it answers 404).
    pub async fn get_referrers(
        &self,
        reference: &Reference,
        digest: &Digest,
        artifact_type: &str,
        limit: usize,
        credentials: Option<&Credentials>,
    ) -> Result<Option<Bytes>, DigestCause> {
        Ok(self
            .referrers(reference, digest, artifact_type, limit, credentials)
            .await?
            .map(|(index, _)| index))
    }

    /// [`Self::get_referrers`] with the mirror that answered (None: the registry itself).
    pub(crate) async fn referrers(
        &self,
        reference: &Reference,
        digest: &Digest,
        artifact_type: &str,
        limit: usize,
        credentials: Option<&Credentials>,
    ) -> Result<Option<(Bytes, Option<String>)>, DigestCause> {
        match self
            .send(
                Method::GET,
                reference,
                Target::Referrers(digest, artifact_type),
                credentials,
                None,
            )
            .await
        {
            Ok(answer) => {
                let served_by = answer.endpoint.mirror.then(|| answer.endpoint.to_string());
                Ok(Some((
                    answer.body(limit, "referrers index").await?,
                    served_by,
                )))
            }
            Err(cause) if cause.kind == CauseKind::NotFound => Ok(None),
            Err(cause) => Err(cause),
        }
    }
}

fn build_http(timeout: Duration, idle_per_host: usize, profile: &TlsProfile) -> reqwest::Client {
    super::http::builder_for(timeout, profile)
        // Registries redirect blob reads to storage; reqwest drops Authorization when a
        // redirect leaves the origin (faults.rs proves it), and `send` never adopts a
        // challenge from a redirect target.
        .redirect(reqwest::redirect::Policy::limited(5))
        // No more idle connections per host than requests may be in flight to it
        // (`host_limit`), so a burst does not leave more connections open than the cap.
        .pool_max_idle_per_host(idle_per_host)
        .build()
        .unwrap_or_else(|e| panic!("imagecheck: cannot build the HTTP client: {e}"))
}

/// The tag or digest part of a manifest URL (a digest wins over a tag).
fn manifest_target(reference: &Reference) -> String {
    match (reference.digest(), reference.tag()) {
        (Some(d), _) => d.as_str().to_owned(),
        (None, Some(t)) => t.to_owned(),
        (None, None) => crate::reference::DEFAULT_TAG.to_owned(),
    }
}

#[cfg(test)]
mod tests;
