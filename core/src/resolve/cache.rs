//! The shared digest cache (freshness chosen per call) and single-flight for misses.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};

use hashbrown::HashTable;
use std::time::{Duration, Instant};

use futures::future::{BoxFuture, Shared, WeakShared};

use super::engine::Engine;
use crate::credentials::{Credentials, Fingerprint};
use crate::digest::Digest;
use crate::error::Error;
use crate::reference::Reference;
use crate::runtime::PerProcess;

/// Engine + normalised reference (+ a fingerprint of per-call credentials, so an answer
/// obtained with credentials is never served to a caller with other or none).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct CacheKey {
    engine: Engine,
    reference: String,
    credentials: Option<Fingerprint>,
}

impl CacheKey {
    pub(crate) fn new(
        engine: &Engine,
        reference: &Reference,
        credentials: Option<&Credentials>,
    ) -> Self {
        CacheKey {
            engine: engine.clone(),
            reference: reference.tagged_name().to_owned(),
            credentials: credentials.map(Credentials::fingerprint),
        }
    }

    pub(crate) fn as_ref(&self) -> KeyRef<'_> {
        KeyRef {
            engine: self.engine.name(),
            reference: &self.reference,
            credentials: self.credentials.as_ref(),
        }
    }
}

/// A borrowed key: a cache hit allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeyRef<'a> {
    pub(crate) engine: &'a str,
    /// [`Reference::tagged_name`].
    pub(crate) reference: &'a str,
    pub(crate) credentials: Option<&'a Fingerprint>,
}

impl KeyRef<'_> {
    fn hash(&self) -> u64 {
        use std::hash::{BuildHasher, Hash, Hasher};
        // A fixed seed per process: keys are not attacker-chosen in bulk, and a seeded hasher
        // keeps flooding impractical anyway.
        static SEED: std::sync::LazyLock<foldhash::fast::RandomState> =
            std::sync::LazyLock::new(foldhash::fast::RandomState::default);
        let mut hasher = SEED.build_hasher();
        self.engine.hash(&mut hasher);
        self.reference.hash(&mut hasher);
        self.credentials.hash(&mut hasher);
        hasher.finish()
    }
}

#[derive(Debug)]
struct Entry {
    key: CacheKey,
    digest: Digest,
    stored: Instant,
}

impl Entry {
    fn is(&self, key: &KeyRef<'_>) -> bool {
        self.key.as_ref() == *key
    }
}

/// Cached answers with the instant each was stored. There is no fixed expiry: each caller
/// decides how old an answer it accepts.
///
/// Reads go first to a per-thread copy of the entries this thread used ([`near`]), valid while
/// the cache's generation is unchanged; every write bumps the generation. A warm hit then
/// writes no memory another thread reads (no lock count, no shared reference count), so warm
/// resolves scale with threads instead of bouncing one cache line between cores.
#[derive(Debug)]
pub(crate) struct DigestCache {
    entries: RwLock<HashTable<Entry>>,
    max_entries: usize,
    /// Distinguishes this cache's entries in the per-thread copies.
    id: u64,
    /// Bumped after every change to `entries`.
    generation: AtomicU64,
}

impl DigestCache {
    pub(crate) fn new(max_entries: usize) -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        DigestCache {
            entries: RwLock::new(HashTable::new()),
            max_entries: max_entries.max(1),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            generation: AtomicU64::new(0),
        }
    }

    /// The cached digest if it was stored less than `ttl` before `now`.
    pub(crate) fn get(&self, key: &KeyRef<'_>, ttl: Duration, now: Instant) -> Option<Digest> {
        let hash = key.hash();
        // Read before the entries: a write racing with this read leaves the copy made below
        // marked with an old generation, so it is never used.
        let generation = self.generation.load(Ordering::Acquire);
        let fresh = |stored: Instant| now.saturating_duration_since(stored) < ttl;
        if let Some((digest, stored)) = near::get(self.id, generation, hash, key) {
            return fresh(stored).then_some(digest);
        }
        let (digest, stored) = {
            let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
            let entry = entries.find(hash, |e| e.is(key))?;
            (entry.digest.clone(), entry.stored)
        };
        near::put(self.id, generation, hash, key, &digest, stored);
        fresh(stored).then_some(digest)
    }

    pub(crate) fn put(&self, key: CacheKey, digest: Digest, now: Instant) {
        self.change(|entries| self.insert(entries, key, digest, now));
    }

    /// Apply `edit` to the entries, then invalidate every thread's copies.
    fn change(&self, edit: impl FnOnce(&mut HashTable<Entry>)) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        edit(&mut entries);
        // After the edit, under the lock: a reader that sees the new generation also sees it.
        self.generation.fetch_add(1, Ordering::Release);
    }

    fn insert(&self, entries: &mut HashTable<Entry>, key: CacheKey, digest: Digest, now: Instant) {
        let hash = key.as_ref().hash();
        let rehash = |e: &Entry| e.key.as_ref().hash();
        match entries.entry(hash, |e| e.is(&key.as_ref()), rehash) {
            hashbrown::hash_table::Entry::Occupied(mut slot) => {
                let entry = slot.get_mut();
                entry.digest = digest;
                entry.stored = now;
            }
            hashbrown::hash_table::Entry::Vacant(_) => {
                if entries.len() >= self.max_entries {
                    // Full: drop the oldest half. Rare (only with more distinct references
                    // than the bound), and O(n) then.
                    let mut ages: Vec<Instant> = entries.iter().map(|e| e.stored).collect();
                    ages.sort_unstable();
                    let cutoff = ages[ages.len() / 2];
                    entries.retain(|e| e.stored > cutoff);
                }
                entries.insert_unique(
                    hash,
                    Entry {
                        key,
                        digest,
                        stored: now,
                    },
                    rehash,
                );
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub(crate) fn clear(&self) {
        self.change(HashTable::clear);
    }
}

/// Per-thread copies of cache entries, for [`DigestCache::get`]. Each copy holds its own
/// digest allocation ([`Digest::unshared`]) and the generation it was read at.
mod near {
    use std::cell::RefCell;
    use std::time::Instant;

    use hashbrown::HashTable;

    use super::KeyRef;
    use crate::credentials::Fingerprint;
    use crate::digest::Digest;

    /// Copies kept per thread; past it the thread starts over (they are only copies).
    const MAX_COPIES: usize = 256;

    struct Copy {
        cache: u64,
        generation: u64,
        engine: String,
        reference: String,
        credentials: Option<Fingerprint>,
        digest: Digest,
        stored: Instant,
    }

    impl Copy {
        fn key(&self) -> KeyRef<'_> {
            KeyRef {
                engine: &self.engine,
                reference: &self.reference,
                credentials: self.credentials.as_ref(),
            }
        }
    }

    thread_local! {
        static COPIES: RefCell<HashTable<Copy>> = const { RefCell::new(HashTable::new()) };
    }

    fn is(copy: &Copy, cache: u64, key: &KeyRef<'_>) -> bool {
        copy.cache == cache && copy.key() == *key
    }

    /// This thread's copy of `key` in cache `cache`, if read at `generation`.
    pub(super) fn get(
        cache: u64,
        generation: u64,
        hash: u64,
        key: &KeyRef<'_>,
    ) -> Option<(Digest, Instant)> {
        COPIES
            .try_with(|copies| {
                let copies = copies.try_borrow().ok()?;
                let copy = copies.find(hash, |c| is(c, cache, key))?;
                (copy.generation == generation).then(|| (copy.digest.clone(), copy.stored))
            })
            .ok()
            .flatten()
    }

    pub(super) fn put(
        cache: u64,
        generation: u64,
        hash: u64,
        key: &KeyRef<'_>,
        digest: &Digest,
        stored: Instant,
    ) {
        let _ = COPIES.try_with(|copies| {
            let Ok(mut copies) = copies.try_borrow_mut() else {
                return;
            };
            if let Some(copy) = copies.find_mut(hash, |c| is(c, cache, key)) {
                copy.generation = generation;
                copy.digest = digest.unshared();
                copy.stored = stored;
                return;
            }
            if copies.len() >= MAX_COPIES {
                copies.clear();
            }
            let copy = Copy {
                cache,
                generation,
                engine: key.engine.to_owned(),
                reference: key.reference.to_owned(),
                credentials: key.credentials.copied(),
                digest: digest.unshared(),
                stored,
            };
            copies.insert_unique(hash, copy, |c| c.key().hash());
        });
    }
}

/// The future of one upstream resolve.
pub(crate) type FlightFuture = BoxFuture<'static, Result<Digest, Error>>;
pub(crate) type Flight = Shared<FlightFuture>;

/// Resolves under way, so concurrent identical requests share one upstream request.
///
/// The map holds weak handles: when every caller waiting on a flight has gone (cancelled),
/// the flight's future is dropped and its request cancelled; the dead entry is replaced by
/// the next caller.
///
/// The map is per process: a flight the parent had under way at `fork()` is driven by the
/// parent's runtime, whose threads (and timers) do not exist in the child, so a child that
/// joined it would wait forever. A child starts with no flights (it keeps the digest cache).
pub(crate) struct InFlight {
    flights: PerProcess<Flights>,
    next_id: Mutex<u64>,
}

type Flights = Mutex<HashMap<CacheKey, (u64, WeakShared<FlightFuture>)>>;

impl Default for InFlight {
    fn default() -> Self {
        InFlight {
            flights: PerProcess::new(Flights::default),
            next_id: Mutex::new(0),
        }
    }
}

impl std::fmt::Debug for InFlight {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InFlight")
    }
}

impl InFlight {
    /// Join the flight for `key`, or start one with `start(id)`. The started future must store
    /// its answer where `answered` looks (the digest cache) *before* it calls
    /// [`InFlight::finish`] with the same id.
    ///
    /// `answered` is asked when no flight is under way, under the lock that `finish` takes: a
    /// caller that missed the cache just before a flight stored its answer, and arrives here
    /// just after the flight finished, then finds the answer instead of asking upstream a
    /// second time (seen under load: 2 HEADs for 200 concurrent resolves).
    pub(crate) fn join_or_start(
        &self,
        key: &CacheKey,
        answered: impl FnOnce() -> Option<Digest>,
        start: impl FnOnce(u64) -> FlightFuture,
    ) -> Flight {
        let flights = self.flights.get();
        let mut flights = flights.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(flight) = flights.get(key).and_then(|(_, weak)| weak.upgrade()) {
            return flight;
        }
        if let Some(digest) = answered() {
            return futures::future::ready(Ok(digest)).boxed().shared();
        }
        let id = {
            let mut next = self.next_id.lock().unwrap_or_else(|p| p.into_inner());
            *next += 1;
            *next
        };
        let flight = start(id).shared();
        if let Some(weak) = flight.downgrade() {
            if flights.len() > 1024 {
                flights.retain(|_, (_, w)| w.upgrade().is_some());
            }
            flights.insert(key.clone(), (id, weak));
        }
        flight
    }

    /// Forget flight `id` for `key` (a newer flight under the same key is left alone).
    pub(crate) fn finish(&self, key: &CacheKey, id: u64) {
        let flights = self.flights.get();
        let mut flights = flights.lock().unwrap_or_else(|p| p.into_inner());
        if flights.get(key).is_some_and(|(current, _)| *current == id) {
            flights.remove(key);
        }
    }
}

use futures::FutureExt as _;
