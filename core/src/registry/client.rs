//! Requests to a registry: manifests (HEAD and GET) and blobs, authenticated, bounded and
//! checked against the digest they claim.

use std::collections::HashSet;
use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::HeaderValue;
use reqwest::{Method, StatusCode, header};

use super::address;
use super::auth::{AuthSources, ConfiguredSecret};
use super::challenge::{self, Challenge};
use super::media_types::MANIFEST_ACCEPT;
use super::realm::{HostLookup, RealmClients};
use super::token::{AuthCache, AuthScope, Identity, Learned, Secret};
use super::transport::{describe_transport, read_bounded, redact_url, same_origin, transport_kind};
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
}

impl Default for RegistryConfig {
    fn default() -> Self {
        RegistryConfig {
            insecure_hosts: HashSet::new(),
            request_timeout: super::DEFAULT_REQUEST_TIMEOUT,
            auth: AuthSources::none(),
            realm_lookup: HostLookup::default(),
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
}

/// One client for every registry: a shared connection pool, cached tokens per registry,
/// repository and identity, and remembered challenges.
pub struct RegistryClient {
    config: RegistryConfig,
    http: PerProcess<reqwest::Client>,
    /// Token requests go through clients of their own: no redirects, realm addresses checked.
    realms: RealmClients,
    auth: AuthCache,
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

/// What a request asks for, for messages and for the per-status causes.
#[derive(Clone, Copy)]
enum Target<'a> {
    Manifest(&'a str),
    Blob(&'a Digest),
    /// The OCI referrers API for a manifest digest, filtered by artifact type.
    Referrers(&'a Digest, &'a str),
}

impl RegistryClient {
    pub fn new(mut config: RegistryConfig) -> Self {
        config.insecure_hosts = config
            .insecure_hosts
            .iter()
            .map(|host| canonical_insecure_host(host))
            .collect();
        let timeout = config.request_timeout;
        RegistryClient {
            http: PerProcess::new(move || build_http(timeout)),
            realms: RealmClients::new(timeout, config.realm_lookup.clone()),
            auth: AuthCache::default(),
            config,
        }
    }

    pub fn config(&self) -> &RegistryConfig {
        &self.config
    }

    fn is_insecure(&self, reference: &Reference) -> bool {
        self.config.insecure_hosts.contains(reference.registry())
    }

    fn url(&self, reference: &Reference, target: Target<'_>) -> String {
        let scheme = if self.is_insecure(reference) {
            "http"
        } else {
            "https"
        };
        let base = format!(
            "{scheme}://{}/v2/{}",
            reference.api_host(),
            reference.repository()
        );
        match target {
            Target::Manifest(t) => format!("{base}/manifests/{t}"),
            Target::Blob(d) => format!("{base}/blobs/{d}"),
            Target::Referrers(d, artifact_type) => {
                // `+` in a media type must be escaped in a query string.
                format!(
                    "{base}/referrers/{d}?artifactType={}",
                    artifact_type.replace('+', "%2B")
                )
            }
        }
    }

    /// The digest `reference`'s tag (or digest) points at: one HEAD with the full Accept list;
    /// a GET whose body is hashed when the registry omits `Docker-Content-Digest`.
    pub async fn manifest_digest(
        &self,
        reference: &Reference,
        credentials: Option<&Credentials>,
    ) -> Result<Digest, DigestCause> {
        let target = manifest_target(reference);
        let response = self
            .send(
                Method::HEAD,
                reference,
                Target::Manifest(&target),
                credentials,
            )
            .await?;
        if let Some(value) = response.headers().get("docker-content-digest") {
            let text = value.to_str().unwrap_or_default();
            return Digest::parse(text).map_err(|e| {
                DigestCause::new(
                    CauseKind::InvalidResponse,
                    format!("registry sent an unusable Docker-Content-Digest {text:?}: {e}"),
                )
            });
        }
        tracing::debug!(%reference, "registry omitted Docker-Content-Digest on HEAD; hashing a GET");
        Ok(self
            .get_manifest(reference, &target, credentials)
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
        let response = self
            .send(
                Method::GET,
                reference,
                Target::Manifest(tag_or_digest),
                credentials,
            )
            .await?;
        let claimed = response
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let media_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = read_bounded(response, limit, "manifest").await?;
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
                            "registry {} a manifest of {expected} but its content hashes to {digest}",
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
        let response = self
            .send(Method::GET, reference, Target::Blob(digest), credentials)
            .await?;
        let bytes = read_bounded(response, limit, "blob").await?;
        if !digest.matches(&bytes) {
            return Err(DigestCause::new(
                CauseKind::InvalidResponse,
                format!(
                    "blob {digest} from {} does not hash to its digest",
                    reference.registry()
                ),
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
        match self
            .send(
                Method::GET,
                reference,
                Target::Referrers(digest, artifact_type),
                credentials,
            )
            .await
        {
            Ok(response) => Ok(Some(
                read_bounded(response, limit, "referrers index").await?,
            )),
            Err(cause) if cause.kind == CauseKind::NotFound => Ok(None),
            Err(cause) => Err(cause),
        }
    }

    /// Send one request, authenticating as the registry asks. A successful (2xx) response is
    /// returned; every other outcome is a cause.
    async fn send(
        &self,
        method: Method,
        reference: &Reference,
        target: Target<'_>,
        credentials: Option<&Credentials>,
    ) -> Result<reqwest::Response, DigestCause> {
        let http = self.http.get();
        let host = reference.api_host();
        let repository = reference.repository();
        let url = self.url(reference, target);
        let credentials = credentials.filter(|c| c.applies_to(reference.registry()));

        // Up-front authorization: a cached header, or a fresh one for a challenge this host
        // gave before (saves the 401 round trip on every new repository).
        let mut negotiated_for: Option<Challenge> = None;
        let mut authorization = None;
        // Whether a secret (not just an anonymous token) went with the request, for messages.
        let mut used_secret = false;
        if let Some(known) = self.auth.challenge_for(host) {
            let (identity, secret) = self.identity(reference, credentials).await?;
            used_secret = identity != Identity::Anonymous;
            authorization = self
                .auth
                .header_for(host, repository, identity, &known.challenge);
            if authorization.is_none() {
                authorization = Some(
                    self.negotiate(reference, identity, secret.as_secret(), &known)
                        .await?,
                );
                negotiated_for = Some(known.challenge);
            }
        }

        for attempt in 0..2 {
            crate::metrics::registry_request();
            let response = self
                .request(&http, &method, &url, target, authorization.as_ref())
                .send()
                .await
                .map_err(|e| {
                    DigestCause::new(
                        transport_kind(&e),
                        format!(
                            "{} {}: {}",
                            method,
                            redact_url(&url),
                            describe_transport(&e)
                        ),
                    )
                })?;
            let status = response.status();
            if status.is_success() {
                return Ok(response);
            }
            if status == StatusCode::UNAUTHORIZED && !same_origin(&url, response.url()) {
                // A redirect target's challenge is its own: answering it would send the
                // registry's credentials (or a token for them) to whoever the registry, or an
                // open redirect on it, pointed at.
                return Err(DigestCause::new(
                    CauseKind::InvalidResponse,
                    format!(
                        "{host} redirected {method} {} to {}, which answered 401; imagecheck \
                         never sends a registry's credentials to a redirect target nor answers its \
                         challenge (the registry should redirect to URLs that need none)",
                        redact_url(&url),
                        redact_url(response.url().as_str())
                    ),
                ));
            }
            if status != StatusCode::UNAUTHORIZED || attempt == 1 {
                return Err(status_cause(
                    status,
                    &response,
                    reference,
                    target,
                    used_secret,
                ));
            }
            let offered = response
                .headers()
                .get(header::WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .and_then(challenge::parse)
                .ok_or_else(|| {
                    DigestCause::new(
                        CauseKind::Unauthorized,
                        format!("{host} answered 401 without a usable WWW-Authenticate challenge"),
                    )
                })?;
            let (identity, secret) = self.identity(reference, credentials).await?;
            used_secret = identity != Identity::Anonymous;
            if negotiated_for.as_ref() == Some(&offered) {
                // We just negotiated for exactly this challenge and were refused again.
                self.auth.forget(host, repository, identity, &offered);
                return Err(status_cause(
                    status,
                    &response,
                    reference,
                    target,
                    used_secret,
                ));
            }
            if let Some(known) = self.auth.challenge_for(host) {
                self.auth
                    .forget(host, repository, identity, &known.challenge);
            }
            // Where the registry answered from bounds where its realm may be.
            let learned = Learned {
                challenge: offered,
                reach: address::registry_reach(response.remote_addr().map(|a| a.ip()), host),
            };
            self.auth.remember_challenge(host, learned.clone());
            authorization = Some(
                self.negotiate(reference, identity, secret.as_secret(), &learned)
                    .await?,
            );
            negotiated_for = Some(learned.challenge);
        }
        unreachable!("the loop returns on its second attempt")
    }

    /// One request to the registry, with the Accept list its target needs and `authorization`
    /// (a value marked sensitive, kept so by reqwest).
    fn request(
        &self,
        http: &reqwest::Client,
        method: &Method,
        url: &str,
        target: Target<'_>,
        authorization: Option<&HeaderValue>,
    ) -> reqwest::RequestBuilder {
        let mut request = http.request(method.clone(), url);
        match target {
            Target::Manifest(_) => request = request.header(header::ACCEPT, MANIFEST_ACCEPT),
            Target::Referrers(..) => {
                request = request.header(header::ACCEPT, super::media_types::OCI_INDEX)
            }
            Target::Blob(_) => {}
        }
        if let Some(value) = authorization {
            request = request.header(header::AUTHORIZATION, value.clone());
        }
        request
    }

    async fn negotiate(
        &self,
        reference: &Reference,
        identity: Identity,
        secret: Secret<'_>,
        learned: &Learned,
    ) -> Result<HeaderValue, DigestCause> {
        let scope = AuthScope {
            host: reference.api_host(),
            repository: reference.repository(),
            plain_http: self.is_insecure(reference),
            reach: learned.reach,
        };
        self.auth
            .negotiate(&self.realms, &scope, identity, secret, &learned.challenge)
            .await
    }

    /// The identity and secret for a request: per-call credentials for this registry first,
    /// then configured ones, then anonymous.
    async fn identity(
        &self,
        reference: &Reference,
        credentials: Option<&Credentials>,
    ) -> Result<(Identity, OwnedSecret), DigestCause> {
        if let Some(c) = credentials {
            return Ok((
                Identity::Secret(c.fingerprint()),
                OwnedSecret::Basic(c.username().to_owned(), c.password().to_owned()),
            ));
        }
        match self
            .config
            .auth
            .lookup(reference.registry(), reference.repository())
            .await?
        {
            Some(ConfiguredSecret::Basic { username, password }) => {
                let fingerprint =
                    Credentials::new(reference.registry(), &username, &password).fingerprint();
                Ok((
                    Identity::Secret(fingerprint),
                    OwnedSecret::Basic(username, password),
                ))
            }
            Some(ConfiguredSecret::IdentityToken(token)) => {
                let fingerprint =
                    Credentials::new(reference.registry(), "<token>", &token).fingerprint();
                Ok((Identity::Secret(fingerprint), OwnedSecret::Refresh(token)))
            }
            None => Ok((Identity::Anonymous, OwnedSecret::None)),
        }
    }
}

enum OwnedSecret {
    None,
    Basic(String, String),
    Refresh(String),
}

impl OwnedSecret {
    fn as_secret(&self) -> Secret<'_> {
        match self {
            OwnedSecret::None => Secret::None,
            OwnedSecret::Basic(u, p) => Secret::Basic {
                username: u,
                password: p,
            },
            OwnedSecret::Refresh(t) => Secret::RefreshToken(t),
        }
    }
}

fn build_http(timeout: Duration) -> reqwest::Client {
    super::http::builder(timeout)
        // Registries redirect blob reads to storage; reqwest drops Authorization when a
        // redirect leaves the origin (faults.rs proves it), and `send` never adopts a
        // challenge from a redirect target.
        .redirect(reqwest::redirect::Policy::limited(5))
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

fn status_cause(
    status: StatusCode,
    response: &reqwest::Response,
    reference: &Reference,
    target: Target<'_>,
    authenticated: bool,
) -> DigestCause {
    let what = match target {
        Target::Manifest(t) => format!("{}/{}:{t}", reference.registry(), reference.repository())
            .replace(":sha256:", "@sha256:")
            .replace(":sha512:", "@sha512:"),
        Target::Blob(d) => format!(
            "blob {d} in {}/{}",
            reference.registry(),
            reference.repository()
        ),
        Target::Referrers(d, _) => format!(
            "referrers of {}/{}@{d}",
            reference.registry(),
            reference.repository()
        ),
    };
    match status.as_u16() {
        404 => DigestCause::new(CauseKind::NotFound, format!("{what} not found (HTTP 404)")),
        401 | 403 if authenticated => DigestCause::new(
            CauseKind::Unauthorized,
            format!(
                "access to {what} refused with the credentials used (HTTP {})",
                status.as_u16()
            ),
        ),
        401 | 403 => DigestCause::new(
            CauseKind::Unauthorized,
            format!(
                "access to {what} requires credentials (HTTP {})",
                status.as_u16()
            ),
        ),
        429 => {
            let retry = response
                .headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .map(|v| format!("; retry after {v}"))
                .unwrap_or_default();
            DigestCause::new(
                CauseKind::RateLimited,
                format!("{what}: rate limited (HTTP 429){retry}"),
            )
        }
        _ => DigestCause::new(
            CauseKind::InvalidResponse,
            format!("{what}: registry answered HTTP {status}"),
        ),
    }
}

#[cfg(test)]
mod tests;
