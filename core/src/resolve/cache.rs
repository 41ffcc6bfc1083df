//! The shared digest cache (freshness chosen per call) and single-flight for misses.

use std::collections::HashMap;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use futures::future::{BoxFuture, Shared, WeakShared};

use super::engine::Engine;
use crate::credentials::Credentials;
use crate::digest::Digest;
use crate::error::Error;
use crate::reference::Reference;

/// Engine + normalised reference (+ a fingerprint of per-call credentials, so an answer
/// obtained with credentials is never served to a caller with other or none).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct CacheKey {
    engine: Engine,
    reference: String,
    credentials: Option<[u8; 32]>,
}

impl CacheKey {
    pub(crate) fn new(
        engine: &Engine,
        reference: &Reference,
        credentials: Option<&Credentials>,
    ) -> Self {
        let tag = reference.tag().unwrap_or(crate::reference::DEFAULT_TAG);
        let mut text = String::with_capacity(
            reference.registry().len() + reference.repository().len() + tag.len() + 2,
        );
        text.push_str(reference.registry());
        text.push('/');
        text.push_str(reference.repository());
        text.push(':');
        text.push_str(tag);
        CacheKey {
            engine: engine.clone(),
            reference: text,
            credentials: credentials.map(Credentials::fingerprint),
        }
    }
}

/// Cached answers with the instant each was stored. There is no fixed expiry: each caller
/// decides how old an answer it accepts.
#[derive(Debug)]
pub(crate) struct DigestCache {
    entries: RwLock<HashMap<CacheKey, (Digest, Instant)>>,
    max_entries: usize,
}

impl DigestCache {
    pub(crate) fn new(max_entries: usize) -> Self {
        DigestCache {
            entries: RwLock::new(HashMap::new()),
            max_entries: max_entries.max(1),
        }
    }

    /// The cached digest if it was stored less than `ttl` before `now`.
    pub(crate) fn get(&self, key: &CacheKey, ttl: Duration, now: Instant) -> Option<Digest> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        let (digest, stored) = entries.get(key)?;
        (now.saturating_duration_since(*stored) < ttl).then(|| digest.clone())
    }

    pub(crate) fn put(&self, key: CacheKey, digest: Digest, now: Instant) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= self.max_entries && !entries.contains_key(&key) {
            // Full: drop the oldest half. Rare (only with more distinct references than the
            // bound), and O(n) then.
            let mut ages: Vec<Instant> = entries.values().map(|(_, t)| *t).collect();
            ages.sort_unstable();
            let cutoff = ages[ages.len() / 2];
            entries.retain(|_, (_, t)| *t > cutoff);
        }
        entries.insert(key, (digest, now));
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub(crate) fn clear(&self) {
        self.entries
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
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
#[derive(Default)]
pub(crate) struct InFlight {
    flights: Mutex<HashMap<CacheKey, (u64, WeakShared<FlightFuture>)>>,
    next_id: Mutex<u64>,
}

impl std::fmt::Debug for InFlight {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InFlight")
    }
}

impl InFlight {
    /// Join the flight for `key`, or start one with `start(id)`. The started future must call
    /// [`InFlight::finish`] with the same id when it completes.
    pub(crate) fn join_or_start(
        &self,
        key: &CacheKey,
        start: impl FnOnce(u64) -> FlightFuture,
    ) -> Flight {
        let mut flights = self.flights.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(flight) = flights.get(key).and_then(|(_, weak)| weak.upgrade()) {
            return flight;
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
        let mut flights = self.flights.lock().unwrap_or_else(|p| p.into_inner());
        if flights.get(key).is_some_and(|(current, _)| *current == id) {
            flights.remove(key);
        }
    }
}

use futures::FutureExt as _;
