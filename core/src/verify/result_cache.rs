//! The verifier's results kept for re-verification: a success is served again, without I/O,
//! for the result TTL or until the certificate it was checked with expires, whichever is
//! sooner; keyed by reference name, digest, rule and trusted root, so a changed rule or root is
//! never answered from an old result. Bounded: past [`MAX_RESULTS`], expired ones go, then
//! those expiring soonest.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::digest::Digest;

/// Results kept at most.
pub(super) const MAX_RESULTS: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct ResultKey {
    pub(super) name: String,
    pub(super) digest: Digest,
    pub(super) rule: [u8; 32],
    /// The fingerprint of the trusted roots a keyless rule checked against; zeros for a
    /// public-key rule, whose results hold whatever the roots become.
    pub(super) trusted_root: [u8; 32],
}

/// Results of type `V` (the verifier's `Verification`), each with its expiry.
#[derive(Debug)]
pub(super) struct ResultCache<V> {
    ttl: Duration,
    results: Mutex<HashMap<ResultKey, (V, Instant)>>,
}

impl<V: Clone> ResultCache<V> {
    pub(super) fn new(ttl: Duration) -> Self {
        ResultCache {
            ttl,
            results: Mutex::new(HashMap::new()),
        }
    }

    /// The result for `key`, while it has not expired.
    pub(super) fn get(&self, key: &ResultKey) -> Option<V> {
        let results = self.results.lock().unwrap_or_else(|p| p.into_inner());
        let (value, expires) = results.get(key)?;
        (Instant::now() < *expires).then(|| value.clone())
    }

    /// Keep `value` for the TTL, or until `valid_until` (Unix seconds; now is `now_unix`) if
    /// sooner.
    pub(super) fn put(&self, key: ResultKey, value: &V, now_unix: i64, valid_until: Option<i64>) {
        let now = Instant::now();
        let Some(expires) = result_expiry(now, now_unix, self.ttl, valid_until) else {
            return;
        };
        let mut results = self.results.lock().unwrap_or_else(|p| p.into_inner());
        if results.len() >= MAX_RESULTS && !results.contains_key(&key) {
            results.retain(|_, (_, at)| *at > now);
            if results.len() >= MAX_RESULTS {
                let mut expiries: Vec<Instant> = results.values().map(|(_, at)| *at).collect();
                let (_, median, _) = expiries.select_nth_unstable(MAX_RESULTS / 2);
                let median = *median;
                results.retain(|_, (_, at)| *at > median);
            }
        }
        results.insert(key, (value.clone(), expires));
    }

    /// Drop every result (the rules or roots changed).
    pub(super) fn clear(&self) {
        self.results
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.results.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// When a result stored at `now` (Unix time `now_unix`) stops being served: after `ttl`, or
/// at `valid_until` (Unix seconds) if sooner. None: not stored at all.
fn result_expiry(
    now: Instant,
    now_unix: i64,
    ttl: Duration,
    valid_until: Option<i64>,
) -> Option<Instant> {
    // Kept no longer than a century, so `now + life` fits the clock whatever the caller asks
    // (`Duration::MAX`) and whatever date a certificate names.
    const LONGEST: Duration = Duration::from_secs(100 * 365 * 86_400);
    let mut life = ttl.min(LONGEST);
    if let Some(until) = valid_until {
        let left = u64::try_from(until.saturating_sub(now_unix)).ok()?;
        life = life.min(Duration::from_secs(left));
    }
    if life.is_zero() {
        return None;
    }
    now.checked_add(life)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_result_is_kept_for_the_ttl_or_until_its_certificate_expires() {
        let now = Instant::now();
        let ttl = Duration::from_secs(300);
        let at = |secs| Some(now + Duration::from_secs(secs));
        assert_eq!(result_expiry(now, 1_000, ttl, None), at(300));
        assert_eq!(result_expiry(now, 1_000, ttl, Some(1_060)), at(60));
        assert_eq!(result_expiry(now, 1_000, ttl, Some(9_999)), at(300));
        assert_eq!(result_expiry(now, 1_000, ttl, Some(1_000)), None);
        assert_eq!(result_expiry(now, 1_000, ttl, Some(999)), None);
        assert_eq!(result_expiry(now, 1_000, Duration::ZERO, None), None);
    }

    /// `result_ttl(Duration::MAX)` ("keep successes for good") overflowed `Instant + Duration`
    /// and panicked on every successful verify.
    #[test]
    fn a_result_ttl_too_long_for_the_clock_keeps_results_without_a_panic() {
        let now = Instant::now();
        for valid_until in [None, Some(i64::MAX)] {
            let expiry = result_expiry(now, 1_000, Duration::MAX, valid_until);
            assert!(expiry.is_some_and(|at| at > now), "{valid_until:?}");
        }
    }

    #[test]
    fn the_result_cache_is_bounded_and_keeps_the_newest() {
        let cache = ResultCache::new(Duration::from_secs(300));
        let now_unix = 1_000;
        let key = |n: usize| ResultKey {
            name: format!("example.com/app{n}"),
            digest: Digest::sha256_of(&n.to_le_bytes()),
            rule: [0; 32],
            trusted_root: [0; 32],
        };
        let answer = "ok".to_owned();
        for n in 0..MAX_RESULTS * 3 {
            cache.put(key(n), &answer, now_unix, None);
        }
        let kept = cache.len();
        assert!(kept <= MAX_RESULTS, "{kept}");
        assert!(kept >= MAX_RESULTS / 4, "{kept}");
        assert_eq!(cache.get(&key(MAX_RESULTS * 3 - 1)), Some(answer.clone()));
        assert_eq!(cache.get(&key(0)), None);

        // A certificate already expired: not kept at all.
        cache.put(key(usize::MAX), &answer, now_unix, Some(now_unix - 1));
        assert_eq!(cache.get(&key(usize::MAX)), None);
    }
}
