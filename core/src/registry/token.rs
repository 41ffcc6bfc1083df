//! Turning a challenge plus credentials into an `Authorization` header, and caching it per
//! registry host, repository scope and identity, within bounds no registry can stretch.

use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use reqwest::header::HeaderValue;
use serde::Deserialize;

use super::address::Reach;
use super::bounded::BoundedLru;
use super::challenge::Challenge;
use super::realm::{self, AddressRefused, Namer, RealmClients};
use crate::error::{CauseKind, DigestCause};

/// Who is asking: anonymous, or a fingerprint of the secret used (never the secret).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Identity {
    Anonymous,
    Secret(crate::credentials::Fingerprint),
}

/// The secret to authenticate with, borrowed for one negotiation.
#[derive(Clone, Copy)]
pub(crate) enum Secret<'a> {
    None,
    Basic {
        username: &'a str,
        password: &'a str,
    },
    RefreshToken(&'a str),
}

impl fmt::Debug for Secret<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Secret::None => "Secret::None",
            Secret::Basic { .. } => "Secret::Basic(<redacted>)",
            Secret::RefreshToken(_) => "Secret::RefreshToken(<redacted>)",
        })
    }
}

/// Where an authorization is for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AuthScope<'a> {
    /// The registry API host.
    pub(crate) host: &'a str,
    pub(crate) repository: &'a str,
    /// Whether the registry is reached over plain HTTP (then an HTTP token realm may receive
    /// credentials too).
    pub(crate) plain_http: bool,
    /// How far inside the network the registry is: its realm may be no further inside.
    pub(crate) reach: Reach,
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    host: String,
    /// Basic auth is per host; bearer tokens are per repository.
    scope: Option<String>,
    identity: Identity,
}

struct Cached {
    /// Marked sensitive, so HTTP/2 never adds it to a header compression table.
    header: HeaderValue,
    expires: Option<Instant>,
}

/// A challenge as learned from the registry's own 401, with where the registry answered from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Learned {
    pub(crate) challenge: Challenge,
    pub(crate) reach: Reach,
}

/// Authorization headers and challenges remembered across requests.
pub(crate) struct AuthCache {
    headers: Mutex<BoundedLru<Key, Cached>>,
    /// The challenge each host answered with last, so later requests authenticate up front
    /// instead of paying a 401 round trip.
    challenges: Mutex<BoundedLru<String, Learned>>,
}

impl Default for AuthCache {
    fn default() -> Self {
        AuthCache {
            headers: Mutex::new(BoundedLru::new(MAX_CACHED_HEADERS, MAX_CACHED_HEADER_BYTES)),
            challenges: Mutex::new(BoundedLru::new(MAX_CHALLENGES, MAX_CHALLENGE_BYTES)),
        }
    }
}

impl fmt::Debug for AuthCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthCache(<redacted>)")
    }
}

/// Tokens are renewed this long before the server says they expire.
const EXPIRY_MARGIN: Duration = Duration::from_secs(10);
/// The default lifetime when a token server gives none (the distribution spec says 60 s).
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(60);
/// Longest a token is cached, whatever the server claims (Docker Hub's and Distribution's
/// token servers give 300 s, Harbor 30 minutes by default): a token that dies earlier than
/// cached earns a 401 and a refetch, and no claimed lifetime can overflow an `Instant`.
#[doc(hidden)]
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);
/// Largest token accepted. Registry tokens are JWTs or opaque strings: the harness's
/// Distribution token server (a JWT with a `kid`) issues 545 bytes, the distribution spec's
/// example is of that size, and JWTs that carry an x5c certificate chain in their header (as
/// Docker Hub's do) are the largest in common use at a few KiB. 16 KiB is several times that,
/// and twice the 8 KiB request line and header nginx-fronted registries accept by default.
#[doc(hidden)]
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// Largest token response read.
const MAX_TOKEN_RESPONSE: usize = 64 * 1024;
/// Bounds of the header cache: a few thousand repositories' tokens, in at most 4 MiB (a
/// registry handing out maximal tokens fills it with 256 and then only evicts its own).
const MAX_CACHED_HEADERS: usize = 4096;
const MAX_CACHED_HEADER_BYTES: usize = 4 * 1024 * 1024;
/// Bounds of the remembered challenges (one per registry host; a realm is at most a header).
const MAX_CHALLENGES: usize = 1024;
const MAX_CHALLENGE_BYTES: usize = 1024 * 1024;
/// What an entry costs beyond its strings (key, expiry, map slot), for the size bound.
const ENTRY_OVERHEAD: usize = 96;

impl AuthCache {
    pub(crate) fn challenge_for(&self, host: &str) -> Option<Learned> {
        lock(&self.challenges).get(&host.to_owned()).cloned()
    }

    pub(crate) fn remember_challenge(&self, host: &str, learned: Learned) {
        let size = host.len() + challenge_size(&learned.challenge) + ENTRY_OVERHEAD;
        lock(&self.challenges).insert(host.to_owned(), learned, size);
    }

    pub(crate) fn header_for(
        &self,
        host: &str,
        repository: &str,
        identity: Identity,
        challenge: &Challenge,
    ) -> Option<HeaderValue> {
        let key = key_for(host, repository, identity, challenge);
        let mut headers = lock(&self.headers);
        match headers.get(&key) {
            Some(cached) if cached.expires.is_none_or(|t| Instant::now() < t) => {
                Some(cached.header.clone())
            }
            Some(_) => {
                headers.remove(&key);
                None
            }
            None => None,
        }
    }

    pub(crate) fn forget(
        &self,
        host: &str,
        repository: &str,
        identity: Identity,
        challenge: &Challenge,
    ) {
        lock(&self.headers).remove(&key_for(host, repository, identity, challenge));
    }

    /// Cache `header` for at most `lifetime` (None: until evicted) less the renewal margin.
    fn store(&self, key: Key, header: HeaderValue, lifetime: Option<Duration>) {
        let expires = match lifetime {
            None => None,
            Some(lifetime) => {
                let lifetime = lifetime.min(MAX_TOKEN_LIFETIME);
                match Instant::now().checked_add(lifetime.saturating_sub(EXPIRY_MARGIN)) {
                    Some(at) => Some(at),
                    // Unreachable with the cap; if a clock ever made it so, do not cache.
                    None => return,
                }
            }
        };
        let size = key.host.len()
            + key.scope.as_ref().map_or(0, String::len)
            + header.len()
            + ENTRY_OVERHEAD;
        let mut headers = lock(&self.headers);
        if headers.len() >= MAX_CACHED_HEADERS || headers.size() + size > MAX_CACHED_HEADER_BYTES {
            // Expired tokens go before any live one is evicted.
            let now = Instant::now();
            headers.retain(|c| c.expires.is_none_or(|t| now < t));
        }
        headers.insert(key, Cached { header, expires }, size);
    }

    /// Answer `challenge` for `host`/`repository` with `secret`, fetching a bearer token when
    /// needed, and remember the result.
    pub(crate) async fn negotiate(
        &self,
        realms: &RealmClients,
        scope: &AuthScope<'_>,
        identity: Identity,
        secret: Secret<'_>,
        challenge: &Challenge,
    ) -> Result<HeaderValue, DigestCause> {
        let (host, repository) = (scope.host, scope.repository);
        let key = key_for(host, repository, identity, challenge);
        match challenge {
            Challenge::Basic => {
                let Secret::Basic { username, password } = secret else {
                    return Err(DigestCause::new(
                        CauseKind::Unauthorized,
                        format!(
                            "{host} requires a username and password (basic auth) and none is \
                             configured; pass credentials or log in with docker/podman"
                        ),
                    ));
                };
                let header = basic_header(username, password).ok_or_else(|| {
                    DigestCause::new(
                        CauseKind::Unauthorized,
                        format!("the username for {host} cannot be sent in an HTTP header"),
                    )
                })?;
                self.store(key, header.clone(), None);
                Ok(header)
            }
            Challenge::Bearer { realm, service } => {
                let grant = fetch_token(realms, realm, service.as_deref(), scope, secret).await?;
                self.store(key, grant.header.clone(), Some(grant.lifetime));
                Ok(grant.header)
            }
        }
    }
}

fn key_for(host: &str, repository: &str, identity: Identity, challenge: &Challenge) -> Key {
    Key {
        host: host.to_owned(),
        scope: matches!(challenge, Challenge::Bearer { .. }).then(|| repository.to_owned()),
        identity,
    }
}

fn challenge_size(challenge: &Challenge) -> usize {
    match challenge {
        Challenge::Basic => 0,
        Challenge::Bearer { realm, service } => {
            realm.len() + service.as_ref().map_or(0, String::len)
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A header value no HTTP/2 connection may add to its compression table (HPACK "never
/// indexed"), as every credential must be: an indexed value can be probed for by a party that
/// shares the connection or sees its compressed sizes.
fn sensitive(mut value: HeaderValue) -> HeaderValue {
    value.set_sensitive(true);
    value
}

/// `Basic base64(user:password)`; None when it cannot be a header (base64 always can, so never).
fn basic_header(username: &str, password: &str) -> Option<HeaderValue> {
    let encoded =
        base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    HeaderValue::try_from(format!("Basic {encoded}"))
        .ok()
        .map(sensitive)
}

#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// A token server's answer, checked: a bearer `Authorization` value (marked sensitive) and how
/// long to cache it.
#[doc(hidden)]
pub struct TokenGrant {
    header: HeaderValue,
    lifetime: Duration,
}

impl TokenGrant {
    /// How long the token may be cached: what the server said, at most [`MAX_TOKEN_LIFETIME`].
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// The `Authorization` value (`Bearer …`).
    pub fn header(&self) -> &HeaderValue {
        &self.header
    }
}

impl fmt::Debug for TokenGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenGrant")
            .field("header", &"<redacted>")
            .field("lifetime", &self.lifetime)
            .finish()
    }
}

/// Parse a token server's JSON answer (public for the fuzz targets). The error says what is
/// wrong, never a value from the answer: it may hold a secret.
#[doc(hidden)]
pub fn parse_token_answer(body: &[u8]) -> Result<TokenGrant, String> {
    let answer: TokenAnswer = serde_json::from_slice(body).map_err(|e| {
        // serde's own text quotes the offending value; only its position is safe to show.
        let what = match e.classify() {
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "a field of the wrong type",
            serde_json::error::Category::Eof => "cut short",
            serde_json::error::Category::Io => "unreadable",
        };
        format!(
            "answered malformed JSON ({what} at line {}, column {})",
            e.line(),
            e.column()
        )
    })?;
    let token = answer
        .token
        .or(answer.access_token)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| "answered without a token".to_owned())?;
    if token.len() > MAX_TOKEN_BYTES {
        return Err(format!(
            "answered a token of {} bytes, over the {MAX_TOKEN_BYTES}-byte limit",
            token.len()
        ));
    }
    let header = HeaderValue::try_from(format!("Bearer {token}"))
        .map_err(|_| "answered a token that cannot be sent in an HTTP header".to_owned())?;
    let lifetime = answer
        .expires_in
        .map_or(DEFAULT_TOKEN_LIFETIME, Duration::from_secs)
        .min(MAX_TOKEN_LIFETIME);
    Ok(TokenGrant {
        header: sensitive(header),
        lifetime,
    })
}

async fn fetch_token(
    realms: &RealmClients,
    realm: &str,
    service: Option<&str>,
    auth: &AuthScope<'_>,
    secret: Secret<'_>,
) -> Result<TokenGrant, DigestCause> {
    let namer = Namer {
        host: auth.host,
        insecure: auth.plain_http,
        reach: auth.reach,
    };
    let url = reqwest::Url::parse(realm).map_err(|_| {
        DigestCause::new(
            CauseKind::Unauthorized,
            format!(
                "registry {} named a token realm that is not a URL",
                auth.host
            ),
        )
    })?;
    realms.check(&url, &namer).await?;
    let shown = realm::shown(&url);
    let url_for_slot = url.clone();
    let http = realms.client(auth.reach);
    let scope = format!("repository:{}:pull", auth.repository);
    let request = match secret {
        Secret::RefreshToken(refresh) => {
            let mut form = vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh),
                ("client_id", "imagecheck"),
                ("scope", scope.as_str()),
            ];
            if let Some(service) = service {
                form.push(("service", service));
            }
            http.post(url).form(&form)
        }
        Secret::Basic { username, password } => {
            let mut q = vec![("scope", scope.as_str())];
            if let Some(service) = service {
                q.push(("service", service));
            }
            // reqwest marks a basic_auth header sensitive.
            http.get(url).query(&q).basic_auth(username, Some(password))
        }
        Secret::None => {
            let mut q = vec![("scope", scope.as_str())];
            if let Some(service) = service {
                q.push(("service", service));
            }
            http.get(url).query(&q)
        }
    };
    // Held until the answer is read, as for registry requests.
    let _slot = realms.slot(&url_for_slot).await;
    crate::metrics::token_request();
    let response = request
        .send()
        .await
        .map_err(|e| match AddressRefused::find(&e) {
            Some(refused) => realm::refusal(&namer, &shown, refused),
            None => DigestCause::new(
                super::transport::transport_kind(&e),
                format!(
                    "token server {shown}: {}",
                    super::transport::describe_transport(&e)
                ),
            ),
        })?;
    let status = response.status();
    if status.is_redirection() {
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| response.url().join(v).ok())
            .map_or_else(|| "elsewhere".to_owned(), |u| realm::shown(&u));
        return Err(DigestCause::new(
            CauseKind::Unauthorized,
            format!(
                "token server {shown} redirected to {location} (HTTP {}); token requests follow \
                 no redirects, since the credentials are for the realm the registry named: the \
                 registry's realm must name the token server itself",
                status.as_u16()
            ),
        ));
    }
    if !status.is_success() {
        let who = if matches!(secret, Secret::None) {
            "anonymous access"
        } else {
            "the credentials"
        };
        let kind = if status.as_u16() == 429 {
            CauseKind::RateLimited
        } else {
            CauseKind::Unauthorized
        };
        return Err(DigestCause::new(
            kind,
            format!("token server {shown} refused {who} for {scope} (HTTP {status})"),
        ));
    }
    let body =
        super::transport::read_bounded(response, MAX_TOKEN_RESPONSE, "token response").await?;
    parse_token_answer(&body).map_err(|why| {
        DigestCause::new(
            CauseKind::InvalidResponse,
            format!("token server {shown} {why}"),
        )
    })
}

#[cfg(test)]
mod tests;
