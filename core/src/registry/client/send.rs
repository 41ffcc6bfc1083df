//! Sending one request along its route: the mirrors that may serve it, in order, then the
//! registry. On each host: authenticate as it asks, and wait and retry after a rate-limit
//! answer when it is the last host to try and the call's limits allow; every HTTP request in a
//! per-host slot, held until its body is read.
//!
//! When every host fails, the answer is the last failure that was an answer (a mirror's 404
//! says more than an upstream that cannot be reached), and the message lists them all.

use std::time::SystemTime;

use bytes::Bytes;
use reqwest::header::HeaderValue;
use reqwest::{Method, StatusCode, header};
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;

use super::RegistryClient;
use crate::credentials::Credentials;
use crate::digest::Digest;
use crate::error::{CauseKind, DigestCause};
use crate::reference::Reference;
use crate::registry::address;
use crate::registry::auth::ConfiguredSecret;
use crate::registry::call_limits::CallLimits;
use crate::registry::challenge::{self, Challenge};
use crate::registry::endpoint::{Endpoint, Target};
use crate::registry::media_types::{MANIFEST_ACCEPT, OCI_INDEX};
use crate::registry::mirrors::{Lookup, Route};
use crate::registry::retry::{self, Throttled};
use crate::registry::token::{AuthScope, Identity, Learned, Secret};
use crate::registry::transport::{
    describe_transport, read_bounded, redact_url, same_origin, transport_kind,
};

/// A successful (2xx) answer, holding its host's slot until the body is read or it is dropped.
pub(super) struct Answer {
    pub(super) response: reqwest::Response,
    /// The host that answered.
    pub(super) endpoint: Endpoint,
    _slot: OwnedSemaphorePermit,
}

impl Answer {
    /// The body, at most `limit` bytes; the slot is freed once it is read.
    pub(super) async fn body(self, limit: usize, what: &str) -> Result<Bytes, DigestCause> {
        read_bounded(self.response, limit, what).await
    }
}

/// Why one exchange with a host gave no answer.
enum Refused {
    /// A rate-limit answer: worth waiting for.
    Throttled(Throttled, DigestCause),
    Failed(DigestCause),
}

impl From<DigestCause> for Refused {
    fn from(cause: DigestCause) -> Self {
        Refused::Failed(cause)
    }
}

/// Whether a failure was an answer from the host (not a connection that never got one).
fn answered(cause: &DigestCause) -> bool {
    !matches!(cause.kind, CauseKind::Network | CauseKind::Timeout)
}

/// What a request is for, as mirrors are chosen: a manifest by tag resolves a tag, unless the
/// tag is one named after a digest (`sha256-<hex>`, `sha256-<hex>.sig`: signature artifacts).
fn lookup_of(target: Target<'_>) -> Lookup {
    match target {
        Target::Manifest(tag) if Digest::parse(tag).is_err() && !names_a_digest(tag) => Lookup::Tag,
        _ => Lookup::Content,
    }
}

/// `sha256-<64 hex>`, alone or followed by `.suffix` (cosign's `.sig`, `.att`, `.sbom`).
fn names_a_digest(tag: &str) -> bool {
    let Some(rest) = tag.strip_prefix("sha256-") else {
        return false;
    };
    let (hex, suffix) = rest.split_at(rest.len().min(64));
    hex.len() == 64
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && (suffix.is_empty() || suffix.starts_with('.'))
}

impl RegistryClient {
    /// Send one request along its route (or only to `only`), authenticating as each host asks.
    /// A successful (2xx) answer is returned; every other outcome is a cause.
    pub(super) async fn send(
        &self,
        method: Method,
        reference: &Reference,
        target: Target<'_>,
        credentials: Option<&Credentials>,
        only: Option<&Endpoint>,
    ) -> Result<Answer, DigestCause> {
        let route = match only {
            Some(endpoint) => Route {
                endpoints: vec![endpoint.clone()],
                blocked: None,
            },
            None => self
                .mirrors
                .route(reference, lookup_of(target), &self.config.insecure_hosts)
                .map_err(|refusal| DigestCause::new(CauseKind::NoDigestSource, refusal.0))?,
        };
        let limits = CallLimits::current();
        let deadline = limits
            .deadline
            .unwrap_or_else(|| Instant::now() + self.config.request_timeout);
        let last = route.endpoints.len().saturating_sub(1);
        let mut failures: Vec<(&Endpoint, DigestCause)> = Vec::new();
        let mut unasked = None;
        for (i, endpoint) in route.endpoints.iter().enumerate() {
            if i > 0 && !limits.take_request() {
                unasked = Some(endpoint);
                break;
            }
            let may_wait = i == last;
            match self
                .send_to(
                    endpoint,
                    &method,
                    target,
                    credentials,
                    may_wait,
                    deadline,
                    &limits,
                )
                .await
            {
                Ok(answer) => {
                    if endpoint.mirror || i > 0 {
                        tracing::debug!(%reference, host = %endpoint, "{method} {} answered", what(endpoint, target));
                    }
                    return Ok(answer);
                }
                Err(cause) => {
                    if i < last {
                        tracing::debug!(%reference, host = %endpoint, %cause, "trying the next host");
                    }
                    failures.push((endpoint, cause));
                }
            }
        }
        Err(every_host_failed(
            failures,
            route.blocked.as_deref(),
            unasked,
        ))
    }

    /// Send to one host, retrying after rate-limit answers while `may_wait` (the last host of
    /// the route: an earlier one gives way to the next at once), the retries configured, the
    /// `deadline` and the call's request budget allow.
    #[allow(
        clippy::too_many_arguments,
        reason = "one request's context, passed down from `send`"
    )]
    async fn send_to(
        &self,
        endpoint: &Endpoint,
        method: &Method,
        target: Target<'_>,
        credentials: Option<&Credentials>,
        may_wait: bool,
        deadline: Instant,
        limits: &CallLimits,
    ) -> Result<Answer, DigestCause> {
        let mut retries = 0u32;
        loop {
            let (throttled, cause) =
                match self.exchange(endpoint, method, target, credentials).await {
                    Ok(answer) => return Ok(answer),
                    Err(Refused::Failed(cause)) => return Err(cause),
                    Err(Refused::Throttled(throttled, cause)) => (throttled, cause),
                };
            let when = retry::when_to_retry(throttled.retry_after, SystemTime::now());
            let give_up = |why: String| {
                DigestCause::new(CauseKind::RateLimited, format!("{}; {why}", cause.detail))
            };
            if !may_wait {
                return Err(give_up(format!("{when} (another host is tried first)")));
            }
            if retries >= self.config.max_retries {
                return Err(give_up(match retries {
                    0 => when,
                    n => format!("still after {n} {}; {when}", plural(n, "retry", "retries")),
                }));
            }
            let wait = retry::wait_before(retries, throttled.retry_after);
            let left = deadline.saturating_duration_since(Instant::now());
            if wait > left {
                return Err(give_up(format!(
                    "{when}, later than this call can wait ({:.1} s left before its deadline)",
                    left.as_secs_f64()
                )));
            }
            if !limits.take_request() {
                return Err(give_up(format!(
                    "{when} (this verify's request budget is spent)"
                )));
            }
            tracing::debug!(
                host = %endpoint,
                status = throttled.status,
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                retry = retries + 1,
                "rate limited; waiting to retry"
            );
            tokio::time::sleep(wait).await;
            retries += 1;
        }
    }

    /// One exchange with `endpoint`: up-front authorization when the host challenged before,
    /// else a 401 answered once with the credentials that apply to this host.
    async fn exchange(
        &self,
        endpoint: &Endpoint,
        method: &Method,
        target: Target<'_>,
        credentials: Option<&Credentials>,
    ) -> Result<Answer, Refused> {
        let http = self.http[endpoint.tls.min(self.http.len() - 1)].get();
        let host = endpoint.host.as_str();
        let repository = endpoint.repository.as_str();
        let url = endpoint.url(target);
        // Per-call credentials go to the registry they name, never to a mirror of it.
        let credentials = credentials.filter(|c| c.applies_to(&endpoint.registry));

        // Up-front authorization: a cached header, or a fresh one for a challenge this host
        // gave before (saves the 401 round trip on every new repository).
        let mut negotiated_for: Option<Challenge> = None;
        let mut authorization = None;
        // Whether a secret (not just an anonymous token) went with the request, for messages.
        let mut used_secret = false;
        if let Some(known) = self.auth.challenge_for(host) {
            let (identity, secret) = self.identity(endpoint, credentials).await?;
            used_secret = identity != Identity::Anonymous;
            authorization = self
                .auth
                .header_for(host, repository, identity, &known.challenge);
            if authorization.is_none() {
                authorization = Some(
                    self.negotiate(endpoint, identity, secret.as_secret(), &known)
                        .await?,
                );
                negotiated_for = Some(known.challenge);
            }
        }

        for attempt in 0..2 {
            let slot = self.slots.acquire(host).await;
            crate::metrics::registry_request();
            let response = self
                .request(&http, method, &url, target, authorization.as_ref())
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
            retry::note_remaining(host, response.headers());
            let status = response.status();
            if status.is_success() {
                return Ok(Answer {
                    response,
                    endpoint: endpoint.clone(),
                    _slot: slot,
                });
            }
            if let Some(throttled) = retry::throttled(status, response.headers(), SystemTime::now())
            {
                let cause = DigestCause::new(
                    CauseKind::RateLimited,
                    format!(
                        "{}: {} (HTTP {})",
                        what(endpoint, target),
                        if throttled.status == 429 {
                            "rate limited"
                        } else {
                            "registry unavailable"
                        },
                        throttled.status
                    ),
                );
                return Err(Refused::Throttled(throttled, cause));
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
                )
                .into());
            }
            if status != StatusCode::UNAUTHORIZED || attempt == 1 {
                return Err(status_cause(status, endpoint, target, used_secret).into());
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
            let peer = response.remote_addr().map(|a| a.ip());
            // The slot is not held while a token is fetched: a registry that is its own token
            // server would otherwise wait on itself.
            drop(response);
            drop(slot);
            let (identity, secret) = self.identity(endpoint, credentials).await?;
            used_secret = identity != Identity::Anonymous;
            if negotiated_for.as_ref() == Some(&offered) {
                // We just negotiated for exactly this challenge and were refused again.
                self.auth.forget(host, repository, identity, &offered);
                return Err(status_cause(status, endpoint, target, used_secret).into());
            }
            if let Some(known) = self.auth.challenge_for(host) {
                self.auth
                    .forget(host, repository, identity, &known.challenge);
            }
            // Where the registry answered from bounds where its realm may be.
            let learned = Learned {
                challenge: offered,
                reach: address::registry_reach(peer, host),
            };
            self.auth.remember_challenge(host, learned.clone());
            authorization = Some(
                self.negotiate(endpoint, identity, secret.as_secret(), &learned)
                    .await?,
            );
            negotiated_for = Some(learned.challenge);
        }
        unreachable!("the loop returns on its second attempt")
    }

    /// One request to the registry, with the Accept list its target needs and `authorization`
    /// (a value marked sensitive, kept so by reqwest).
    pub(super) fn request(
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
            Target::Referrers(..) => request = request.header(header::ACCEPT, OCI_INDEX),
            Target::Blob(_) => {}
        }
        if let Some(value) = authorization {
            request = request.header(header::AUTHORIZATION, value.clone());
        }
        request
    }

    async fn negotiate(
        &self,
        endpoint: &Endpoint,
        identity: Identity,
        secret: Secret<'_>,
        learned: &Learned,
    ) -> Result<HeaderValue, DigestCause> {
        let scope = AuthScope {
            host: &endpoint.host,
            repository: &endpoint.repository,
            plain_http: endpoint.plain_http,
            reach: learned.reach,
        };
        self.auth
            .negotiate(&self.realms, &scope, identity, secret, &learned.challenge)
            .await
    }

    /// The identity and secret for a request to `endpoint`: per-call credentials meant for it
    /// first, then those configured for its registry (a mirror's own, not the source's), then
    /// anonymous.
    async fn identity(
        &self,
        endpoint: &Endpoint,
        credentials: Option<&Credentials>,
    ) -> Result<(Identity, OwnedSecret), DigestCause> {
        if let Some(c) = credentials {
            return Ok((
                Identity::Secret(c.fingerprint()),
                OwnedSecret::Basic(c.username().to_owned(), c.password().to_owned()),
            ));
        }
        let registry = endpoint.registry.as_str();
        match self
            .config
            .auth
            .lookup(registry, &endpoint.repository)
            .await?
        {
            Some(ConfiguredSecret::Basic { username, password }) => {
                let fingerprint = Credentials::new(registry, &username, &password).fingerprint();
                Ok((
                    Identity::Secret(fingerprint),
                    OwnedSecret::Basic(username, password),
                ))
            }
            Some(ConfiguredSecret::IdentityToken(token)) => {
                let fingerprint = Credentials::new(registry, "<token>", &token).fingerprint();
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

fn plural(n: u32, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

/// The one cause for a request no host answered: the last host's failure that was an answer
/// (else the last failure), its detail naming every host tried.
fn every_host_failed(
    mut failures: Vec<(&Endpoint, DigestCause)>,
    blocked: Option<&str>,
    unasked: Option<&Endpoint>,
) -> DigestCause {
    if failures.len() == 1
        && blocked.is_none()
        && unasked.is_none()
        && let Some((_, cause)) = failures.pop()
    {
        return cause;
    }
    let decisive = failures
        .iter()
        .rposition(|(_, cause)| answered(cause))
        .unwrap_or(failures.len().saturating_sub(1));
    let kind = failures
        .get(decisive)
        .map_or(CauseKind::NoDigestSource, |(_, cause)| cause.kind);
    let mut detail = failures
        .iter()
        .map(|(endpoint, cause)| format!("{endpoint}: {cause}"))
        .collect::<Vec<_>>()
        .join("; ");
    if let Some(endpoint) = unasked {
        detail.push_str(&format!(
            "; {endpoint} and later hosts not asked: this verify's request budget is spent"
        ));
    }
    if let Some(blocked) = blocked {
        detail.push_str(&format!("; the registry itself is not asked ({blocked})"));
    }
    DigestCause::new(kind, detail)
}

/// The thing asked for, as messages name it: `registry/repository:tag`, `blob … in …`.
fn what(endpoint: &Endpoint, target: Target<'_>) -> String {
    let (registry, repository) = (&endpoint.registry, &endpoint.repository);
    match target {
        Target::Manifest(t) => format!("{registry}/{repository}:{t}")
            .replace(":sha256:", "@sha256:")
            .replace(":sha512:", "@sha512:"),
        Target::Blob(d) => format!("blob {d} in {registry}/{repository}"),
        Target::Referrers(d, _) => format!("referrers of {registry}/{repository}@{d}"),
    }
}

fn status_cause(
    status: StatusCode,
    endpoint: &Endpoint,
    target: Target<'_>,
    authenticated: bool,
) -> DigestCause {
    let what = what(endpoint, target);
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
        _ => DigestCause::new(
            CauseKind::InvalidResponse,
            format!("{what}: registry answered HTTP {status}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_tags_are_content_and_image_tags_are_tags() {
        let hex = "a".repeat(64);
        for content in [
            format!("sha256-{hex}"),
            format!("sha256-{hex}.sig"),
            format!("sha256-{hex}.att"),
            format!("sha256:{hex}"),
        ] {
            assert_eq!(
                lookup_of(Target::Manifest(&content)),
                Lookup::Content,
                "{content}"
            );
        }
        for tag in [
            "v1".to_owned(),
            "latest".to_owned(),
            format!("sha256-{}", "a".repeat(63)),
            format!("sha256-{hex}x"),
            format!("sha256-{}", "A".repeat(64)),
        ] {
            assert_eq!(lookup_of(Target::Manifest(&tag)), Lookup::Tag, "{tag}");
        }
    }
}
