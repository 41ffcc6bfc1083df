//! Turning a challenge plus credentials into an `Authorization` header, and caching it per
//! registry host, repository scope and identity.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde::Deserialize;

use super::challenge::Challenge;
use crate::error::{CauseKind, DigestCause};

/// Who is asking: anonymous, or a fingerprint of the secret used (never the secret).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Identity {
    Anonymous,
    Secret([u8; 32]),
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
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    host: String,
    /// Basic auth is per host; bearer tokens are per repository.
    scope: Option<String>,
    identity: Identity,
}

struct Cached {
    header: String,
    expires: Option<Instant>,
}

/// Authorization headers and challenges remembered across requests.
#[derive(Default)]
pub(crate) struct AuthCache {
    headers: Mutex<HashMap<Key, Cached>>,
    /// The challenge each host answered with last, so later requests authenticate up front
    /// instead of paying a 401 round trip.
    challenges: Mutex<HashMap<String, Challenge>>,
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
/// Largest token response read.
const MAX_TOKEN_RESPONSE: usize = 64 * 1024;

impl AuthCache {
    pub(crate) fn challenge_for(&self, host: &str) -> Option<Challenge> {
        lock(&self.challenges).get(host).cloned()
    }

    pub(crate) fn remember_challenge(&self, host: &str, challenge: Challenge) {
        lock(&self.challenges).insert(host.to_owned(), challenge);
    }

    pub(crate) fn header_for(
        &self,
        host: &str,
        repository: &str,
        identity: Identity,
        challenge: &Challenge,
    ) -> Option<String> {
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

    fn store(&self, key: Key, header: String, lifetime: Option<Duration>) {
        let expires = lifetime.map(|l| Instant::now() + l.saturating_sub(EXPIRY_MARGIN));
        let mut headers = lock(&self.headers);
        // Bound the cache: expired tokens are dropped whenever it grows large.
        if headers.len() > 4096 {
            let now = Instant::now();
            headers.retain(|_, c| c.expires.is_none_or(|t| now < t));
        }
        headers.insert(key, Cached { header, expires });
    }

    /// Answer `challenge` for `host`/`repository` with `secret`, fetching a bearer token when
    /// needed, and remember the result.
    pub(crate) async fn negotiate(
        &self,
        http: &reqwest::Client,
        scope: &AuthScope<'_>,
        identity: Identity,
        secret: Secret<'_>,
        challenge: &Challenge,
    ) -> Result<String, DigestCause> {
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
                let header = basic_header(username, password);
                self.store(key, header.clone(), None);
                Ok(header)
            }
            Challenge::Bearer { realm, service } => {
                let (header, lifetime) = fetch_token(
                    http,
                    realm,
                    service.as_deref(),
                    repository,
                    secret,
                    scope.plain_http,
                )
                .await?;
                self.store(key, header.clone(), Some(lifetime));
                Ok(header)
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

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn basic_header(username: &str, password: &str) -> String {
    let encoded =
        base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    format!("Basic {encoded}")
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

async fn fetch_token(
    http: &reqwest::Client,
    realm: &str,
    service: Option<&str>,
    repository: &str,
    secret: Secret<'_>,
    plain_http_registry: bool,
) -> Result<(String, Duration), DigestCause> {
    let unauthorized = |what: String| DigestCause::new(CauseKind::Unauthorized, what);
    let url = reqwest::Url::parse(realm)
        .map_err(|_| unauthorized(format!("token realm {realm:?} is not a URL")))?;
    match url.scheme() {
        "https" => {}
        // Credentials only travel over plain HTTP when the user already chose plain HTTP for
        // the registry itself.
        "http" if plain_http_registry || matches!(secret, Secret::None) => {}
        _ => {
            return Err(unauthorized(format!(
                "token realm {realm} is not HTTPS; refusing to send credentials to it"
            )));
        }
    }
    let scope = format!("repository:{repository}:pull");
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
    crate::metrics::token_request();
    let response = request.send().await.map_err(|e| {
        DigestCause::new(
            super::client::transport_kind(&e),
            format!(
                "token server {realm}: {}",
                super::client::describe_transport(&e)
            ),
        )
    })?;
    let status = response.status();
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
            format!("token server {realm} refused {who} for {scope} (HTTP {status})"),
        ));
    }
    let body = super::client::read_bounded(response, MAX_TOKEN_RESPONSE, "token response").await?;
    let answer: TokenAnswer = serde_json::from_slice(&body).map_err(|e| {
        DigestCause::new(
            CauseKind::InvalidResponse,
            format!("token server {realm} answered malformed JSON: {e}"),
        )
    })?;
    let token = answer
        .token
        .or(answer.access_token)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            DigestCause::new(
                CauseKind::InvalidResponse,
                format!("token server {realm} answered without a token"),
            )
        })?;
    let lifetime = answer
        .expires_in
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_TOKEN_LIFETIME);
    Ok((format!("Bearer {token}"), lifetime))
}
