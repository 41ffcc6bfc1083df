//! The fleet's shared cache tier on Redis or Valkey (DESIGN.md, "Fleet"): nodes share what is
//! safe to share, so a fleet pays one registry round trip per tag per TTL.
//!
//! - **Shared:** tag-to-digest answers of the registry engine with the time they were resolved
//!   (each caller's own TTL decides whether an entry is fresh enough for it); signature
//!   artifacts by content digest (manifests, payloads, bundles: bytes that do not hash to their
//!   key are ignored and counted); signature listings (the referrers index, the
//!   `sha256-<hex>` and `.sig` manifests, and "not found"), fresh within the verifier's resolve
//!   TTL as tags are.
//! - **Not shared:** verdicts (every node checks signatures itself), and anything obtained with
//!   credentials, per-call or configured: a reader of the tier learns nothing about a
//!   credential, nor anything a credential was needed to read (SECURITY.md).
//! - **One node at a time asks the registry** for a key: a lock (`SET NX PX`) that expires by
//!   itself; the others poll for its holder's answer within the lock wait, then ask themselves.
//! - **The tier never fails a call:** each operation is bounded by the timeout; on failure the
//!   call goes on with the node's own cache and the registry, and after a few failures in a row
//!   the breaker keeps the node away from the tier for a window (logged once per window).
//! - **Entries expire by themselves** (`PX`): tags and listings after the configured maximum
//!   age, blobs after a day, locks after the lock wait.

mod breaker;
mod client;
mod config;
mod entry;
mod keys;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use config::{
    DEFAULT_LOCK_WAIT, DEFAULT_TAG_MAX_AGE, DEFAULT_TIMEOUT, SHARED_CACHE_ENV,
    SHARED_CACHE_PASSWORD_FILE_ENV, SharedCacheUrl,
};
pub(crate) use entry::{
    MAX_TAG_VALUE, Verdict, blob_verdict, listing_value, listing_verdict, tag_value, tag_verdict,
    unix_ms_now,
};
pub(crate) use keys::Key;

use self::client::{Client, NoValue};

/// How long a blob stays in the tier. Its bytes never go stale (they are fixed by the digest);
/// a day bounds the memory of artifacts nobody verifies any more.
pub const BLOB_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// Deletes a lock only if it still holds this holder's token (another node may hold it by now).
const RELEASE_LOCK: &str =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

/// A connection to the tier with its settings. Cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct SharedCache {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    client: Client,
    lock_wait: Duration,
    tag_max_age: Duration,
}

/// What the tier had for a key.
#[derive(Debug)]
pub(crate) enum Read<T> {
    /// An entry the caller accepts.
    Hit(T),
    /// No entry, a stale one, or one that was not ours (ignored and counted).
    Miss,
    /// The tier did not answer: this call goes on without it.
    Unavailable,
}

/// What to do after a miss.
#[derive(Debug)]
pub(crate) enum Turn<T> {
    /// Another node asked the registry meanwhile; its answer.
    Answered(T),
    /// Ask the registry, then hand the answer to the lease.
    Ask(Lease),
}

impl SharedCache {
    /// The tier at `url`, with the password in `password_file` if given (it wins over one in
    /// the URL). None, logged, when the password file cannot be read: the node goes on
    /// without the tier rather than failing its calls.
    pub(crate) fn new(url: &SharedCacheUrl, password_file: Option<&Path>) -> Option<SharedCache> {
        let settings = url.settings();
        let Ok(mut info) = redis::ConnectionInfo::from_str(&settings.redis_url) else {
            // Checked when the URL was parsed.
            return None;
        };
        if let Some(path) = password_file {
            match std::fs::read_to_string(path) {
                Ok(text) => {
                    let password = text.trim_end_matches(['\n', '\r']);
                    let redis = info.redis_settings().clone().set_password(password);
                    info = info.set_redis_settings(redis);
                }
                Err(e) => {
                    tracing::error!(
                        cache = %url,
                        "cannot read the shared cache password file {} ({e}); going on without \
                         the shared cache",
                        path.display()
                    );
                    return None;
                }
            }
        }
        Some(SharedCache {
            inner: Arc::new(Inner {
                client: Client::new(info, settings.shown.clone(), settings.timeout),
                lock_wait: settings.lock_wait,
                tag_max_age: settings.tag_max_age,
            }),
        })
    }

    /// How long tag answers and listings are kept.
    pub(crate) fn tag_max_age(&self) -> Duration {
        self.inner.tag_max_age
    }

    /// `key`'s entry (at most `limit` bytes), judged by `judge`.
    pub(crate) async fn read<T>(
        &self,
        key: &Key,
        limit: usize,
        judge: impl Fn(&[u8]) -> Verdict<T>,
    ) -> Read<T> {
        let mut command = redis::cmd("GETRANGE");
        // GETRANGE's end is inclusive: one byte more than the limit tells "too large".
        command.arg(key.entry()).arg(0).arg(limit);
        match self.inner.client.command::<Vec<u8>>(command).await {
            Ok(value) => self.judged(key, &value, limit, &judge),
            Err(NoValue::Rejected) => {
                crate::metrics::shared_cache_lookup(false);
                Read::Miss
            }
            Err(NoValue::Unavailable) => Read::Unavailable,
        }
    }

    fn judged<T>(
        &self,
        key: &Key,
        value: &[u8],
        limit: usize,
        judge: &impl Fn(&[u8]) -> Verdict<T>,
    ) -> Read<T> {
        let verdict = if value.is_empty() {
            Verdict::Stale
        } else if value.len() > limit {
            Verdict::Reject("an entry is larger than imagecheck ever writes")
        } else {
            judge(value)
        };
        match verdict {
            Verdict::Accept(found) => {
                crate::metrics::shared_cache_lookup(true);
                Read::Hit(found)
            }
            Verdict::Stale => {
                crate::metrics::shared_cache_lookup(false);
                Read::Miss
            }
            Verdict::Reject(why) => {
                crate::metrics::shared_cache_rejected();
                crate::metrics::shared_cache_lookup(false);
                tracing::warn!(key = %key.entry(), "shared cache entry ignored: {why}");
                Read::Miss
            }
        }
    }

    /// After a miss on `key`: take its lock and ask the registry, or, if another node holds
    /// it, wait (within the lock wait) for that node's answer, accepted by `judge`.
    pub(crate) async fn turn<T>(
        &self,
        key: &Key,
        limit: usize,
        judge: impl Fn(&[u8]) -> Verdict<T>,
    ) -> Turn<T> {
        let lock_wait = self.inner.lock_wait;
        if lock_wait.is_zero() {
            return Turn::Ask(Lease::unlocked(self, key));
        }
        let token = lock_token();
        // The lock, then the entry, in one round trip: a holder that finished between this
        // node's miss and its SET NX has written its answer by now (it writes, then releases).
        let mut take = redis::pipe();
        take.cmd("SET")
            .arg(key.lock())
            .arg(&token)
            .arg("NX")
            .arg("PX")
            .arg(millis(lock_wait))
            .cmd("GETRANGE")
            .arg(key.entry())
            .arg(0)
            .arg(limit);
        let taken = match self
            .inner
            .client
            .pipeline::<(Option<String>, Vec<u8>)>(take)
            .await
        {
            Ok((taken, value)) => {
                if let Some(found) = self.answer_in(&value, limit, &judge) {
                    if taken.is_some() {
                        let _ = self
                            .inner
                            .client
                            .command::<redis::Value>(release(key, &token))
                            .await;
                    }
                    return Turn::Answered(found);
                }
                taken.is_some()
            }
            Err(_) => return Turn::Ask(Lease::dead(key)),
        };
        if taken {
            return Turn::Ask(Lease {
                cache: Some(self.clone()),
                key: key.clone(),
                token: Some(token),
            });
        }
        // Another node is asking. Poll soon (a registry on loopback answers in a millisecond
        // or two), then less often.
        let deadline = Instant::now() + lock_wait;
        let mut pause = Duration::from_millis(2);
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Turn::Ask(Lease::unlocked(self, key));
            }
            tokio::time::sleep(pause.min(deadline - now)).await;
            pause = (pause * 2).min(Duration::from_millis(25));
            // The lock first: if it is gone, its holder's answer (written before the release)
            // is already there for the read that follows.
            let mut poll = redis::pipe();
            poll.cmd("EXISTS")
                .arg(key.lock())
                .cmd("GETRANGE")
                .arg(key.entry())
                .arg(0)
                .arg(limit);
            match self.inner.client.pipeline::<(bool, Vec<u8>)>(poll).await {
                Ok((locked, value)) => {
                    if let Some(found) = self.answer_in(&value, limit, &judge) {
                        return Turn::Answered(found);
                    }
                    if !locked {
                        // The holder finished without an answer fresh enough (its request
                        // failed), or its lock expired: ask ourselves.
                        return Turn::Ask(Lease::unlocked(self, key));
                    }
                }
                Err(_) => return Turn::Ask(Lease::dead(key)),
            }
        }
    }

    /// Another node's answer in `value`, if `judge` accepts it. Only an answer is counted: a
    /// stale or forged entry seen again on every poll is the one miss (or rejection) the read
    /// before the turn counted.
    fn answer_in<T>(
        &self,
        value: &[u8],
        limit: usize,
        judge: &impl Fn(&[u8]) -> Verdict<T>,
    ) -> Option<T> {
        if value.is_empty() || value.len() > limit {
            return None;
        }
        match judge(value) {
            Verdict::Accept(found) => {
                crate::metrics::shared_cache_lookup(true);
                Some(found)
            }
            Verdict::Reject(_) | Verdict::Stale => None,
        }
    }

    /// Read `key` (unless `read_first` is false: the caller wants a fresh answer, which it
    /// still writes for the others), take turns with other nodes on a miss, and otherwise
    /// `fetch`: the answer and, if `store` gives it, the value to keep and for how long.
    pub(crate) async fn through<T, E, Fut>(
        tier: Option<&SharedCache>,
        key: Key,
        limit: usize,
        read_first: bool,
        judge: impl Fn(&[u8]) -> Verdict<T>,
        store: impl FnOnce(&T) -> Option<(Vec<u8>, Duration)>,
        fetch: impl FnOnce() -> Fut,
    ) -> Result<T, E>
    where
        Fut: Future<Output = Result<T, E>>,
    {
        let Some(tier) = tier else {
            return fetch().await;
        };
        let lease = if read_first {
            match tier.read(&key, limit, &judge).await {
                Read::Hit(found) => return Ok(found),
                Read::Unavailable => Lease::dead(&key),
                Read::Miss => match tier.turn(&key, limit, &judge).await {
                    Turn::Answered(found) => return Ok(found),
                    Turn::Ask(lease) => lease,
                },
            }
        } else {
            Lease::unlocked(tier, &key)
        };
        let answer = fetch().await;
        match answer.as_ref().ok().and_then(store) {
            Some((value, max_age)) => lease.put(value, max_age).await,
            None => lease.release().await,
        }
        answer
    }
}

/// The right to write a key's answer, and the key's lock if this node holds it.
#[derive(Debug)]
pub(crate) struct Lease {
    /// None: the tier failed during this call; nothing more is sent to it.
    cache: Option<SharedCache>,
    key: Key,
    token: Option<String>,
}

impl Lease {
    /// Write without holding the lock (a fresh answer wanted, or the wait ran out).
    fn unlocked(cache: &SharedCache, key: &Key) -> Lease {
        Lease {
            cache: Some(cache.clone()),
            key: key.clone(),
            token: None,
        }
    }

    /// The tier failed during this call: the lease writes nothing.
    pub(crate) fn dead(key: &Key) -> Lease {
        Lease {
            cache: None,
            key: key.clone(),
            token: None,
        }
    }

    /// A write for `key` that takes no turn (the caller asks the registry whatever the tier
    /// holds).
    pub(crate) fn write_only(cache: &SharedCache, key: &Key) -> Lease {
        Lease::unlocked(cache, key)
    }

    /// Keep `value` for `max_age`, then release the lock, in one round trip.
    pub(crate) async fn put(self, value: Vec<u8>, max_age: Duration) {
        let Some(cache) = &self.cache else { return };
        let mut write = redis::pipe();
        write
            .cmd("SET")
            .arg(self.key.entry())
            .arg(value)
            .arg("PX")
            .arg(millis(max_age))
            .ignore();
        if let Some(token) = &self.token {
            write.add_command(release(&self.key, token)).ignore();
        }
        let _ = cache.inner.client.pipeline::<()>(write).await;
    }

    /// Release the lock without writing (the registry's answer is not kept: a failure).
    pub(crate) async fn release(self) {
        let (Some(cache), Some(token)) = (&self.cache, &self.token) else {
            return;
        };
        let _ = cache
            .inner
            .client
            .command::<redis::Value>(release(&self.key, token))
            .await;
    }
}

fn release(key: &Key, token: &str) -> redis::Cmd {
    let mut command = redis::cmd("EVAL");
    command.arg(RELEASE_LOCK).arg(1).arg(key.lock()).arg(token);
    command
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// A random token naming this holder of a lock.
fn lock_token() -> String {
    use aws_lc_rs::rand::SecureRandom as _;
    let mut bytes = [0u8; 16];
    let _ = aws_lc_rs::rand::SystemRandom::new().fill(&mut bytes);
    hex::encode(bytes)
}
