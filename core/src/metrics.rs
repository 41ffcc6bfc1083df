//! Process-wide counters of what the library did (digest cache hits and misses, registry and
//! token requests), for a long-lived host to export: `imagecheck serve --metrics` serves them
//! as Prometheus text. Counting is a relaxed add on a per-thread stripe, so warm cache hits on
//! many threads do not contend on one cache line.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// What the counters said when read. Monotonic since the process started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Tag lookups answered from the digest cache (younger than the caller's TTL).
    pub digest_cache_hits: u64,
    /// Tag lookups the cache could not answer (absent or older than the TTL), so the engine was
    /// asked. Calls with a zero TTL skip the cache and count as neither.
    pub digest_cache_misses: u64,
    /// HTTP requests sent to registries (manifests, blobs, referrers; retries included).
    pub registry_requests: u64,
    /// Requests sent to token servers.
    pub token_requests: u64,
    /// Lookups the shared cache tier answered (an entry, or another node's answer waited for).
    pub shared_cache_hits: u64,
    /// Lookups the shared cache tier had no usable entry for.
    pub shared_cache_misses: u64,
    /// Shared cache operations that failed or timed out (the call went on without the tier).
    pub shared_cache_errors: u64,
    /// Shared cache entries ignored because they were not what imagecheck writes: bytes that do
    /// not hash to their key's digest, malformed or oversized entries, keys of another type.
    pub shared_cache_rejected: u64,
}

/// The counters now.
pub fn snapshot() -> Snapshot {
    Snapshot {
        digest_cache_hits: DIGEST_CACHE_HITS.sum(),
        digest_cache_misses: DIGEST_CACHE_MISSES.sum(),
        registry_requests: REGISTRY_REQUESTS.sum(),
        token_requests: TOKEN_REQUESTS.sum(),
        shared_cache_hits: SHARED_CACHE_HITS.sum(),
        shared_cache_misses: SHARED_CACHE_MISSES.sum(),
        shared_cache_errors: SHARED_CACHE_ERRORS.sum(),
        shared_cache_rejected: SHARED_CACHE_REJECTED.sum(),
    }
}

pub(crate) fn digest_cache_lookup(hit: bool) {
    if hit {
        DIGEST_CACHE_HITS.add_one();
    } else {
        DIGEST_CACHE_MISSES.add_one();
    }
}

pub(crate) fn registry_request() {
    REGISTRY_REQUESTS.add_one();
}

pub(crate) fn token_request() {
    TOKEN_REQUESTS.add_one();
}

pub(crate) fn shared_cache_lookup(hit: bool) {
    if hit {
        SHARED_CACHE_HITS.add_one();
    } else {
        SHARED_CACHE_MISSES.add_one();
    }
}

pub(crate) fn shared_cache_error() {
    SHARED_CACHE_ERRORS.add_one();
}

pub(crate) fn shared_cache_rejected() {
    SHARED_CACHE_REJECTED.add_one();
}

static SHARED_CACHE_HITS: Striped = Striped::new();
static SHARED_CACHE_MISSES: Striped = Striped::new();
static SHARED_CACHE_ERRORS: Striped = Striped::new();
static SHARED_CACHE_REJECTED: Striped = Striped::new();
static DIGEST_CACHE_HITS: Striped = Striped::new();
static DIGEST_CACHE_MISSES: Striped = Striped::new();
static REGISTRY_REQUESTS: Striped = Striped::new();
static TOKEN_REQUESTS: Striped = Striped::new();

const STRIPES: usize = 16;

/// A counter split over cache-line-sized stripes; each thread adds to its own.
struct Striped([Stripe; STRIPES]);

#[repr(align(128))]
struct Stripe(AtomicU64);

impl Striped {
    const fn new() -> Self {
        Striped([const { Stripe(AtomicU64::new(0)) }; STRIPES])
    }

    fn add_one(&self) {
        self.0[stripe_of_this_thread()]
            .0
            .fetch_add(1, Ordering::Relaxed);
    }

    fn sum(&self) -> u64 {
        self.0.iter().map(|s| s.0.load(Ordering::Relaxed)).sum()
    }
}

fn stripe_of_this_thread() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static STRIPE: usize = NEXT.fetch_add(1, Ordering::Relaxed) % STRIPES;
    }
    STRIPE.with(|s| *s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_from_every_thread_add_up() {
        let before = REGISTRY_REQUESTS.sum();
        std::thread::scope(|scope| {
            for _ in 0..STRIPES + 3 {
                scope.spawn(|| (0..1000).for_each(|_| registry_request()));
            }
        });
        assert!(REGISTRY_REQUESTS.sum() - before >= (STRIPES as u64 + 3) * 1000);
    }
}
