//! Signature artifacts kept by content digest, so re-verifying an image (after the result
//! cache expires, or under another rule) fetches only what can change.
//!
//! Only content-addressed reads go through here: payload and bundle blobs, and referrer
//! manifests fetched by digest. Their bytes are fixed by the digest (the registry client checks
//! the sha256 of every body it reads), so a hit is exactly what a fetch would return. What can
//! change — the tag resolve, the `.sig` manifest, the referrers list — is always fetched, and
//! with the caller's credentials, so a cached blob is only reached through a listing the
//! caller was allowed to read. Keys include registry and repository all the same: nothing
//! learned from one repository is used for another.
//!
//! Bounded by entry count and total bytes; the oldest entries go first.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use bytes::Bytes;

use crate::digest::Digest;

const MAX_ENTRIES: usize = 1024;
const MAX_TOTAL_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    registry: String,
    repository: String,
    digest: Digest,
}

#[derive(Debug, Default)]
pub(crate) struct BlobCache {
    inner: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    bytes: HashMap<Key, Bytes>,
    /// Insertion order, for eviction.
    order: VecDeque<Key>,
    total: usize,
}

impl BlobCache {
    pub(crate) fn get(&self, registry: &str, repository: &str, digest: &Digest) -> Option<Bytes> {
        let key = Key {
            registry: registry.to_owned(),
            repository: repository.to_owned(),
            digest: digest.clone(),
        };
        let entries = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        entries.bytes.get(&key).cloned()
    }

    /// Keep `bytes`, which the caller read and checked against `digest`.
    pub(crate) fn put(&self, registry: &str, repository: &str, digest: &Digest, bytes: Bytes) {
        if bytes.len() > MAX_TOTAL_BYTES / 4 {
            return;
        }
        let key = Key {
            registry: registry.to_owned(),
            repository: repository.to_owned(),
            digest: digest.clone(),
        };
        let mut entries = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if entries.bytes.contains_key(&key) {
            return;
        }
        while entries.order.len() >= MAX_ENTRIES || entries.total + bytes.len() > MAX_TOTAL_BYTES {
            let Some(oldest) = entries.order.pop_front() else {
                break;
            };
            if let Some(evicted) = entries.bytes.remove(&oldest) {
                entries.total -= evicted.len();
            }
        }
        entries.total += bytes.len();
        entries.order.push_back(key.clone());
        entries.bytes.insert(key, bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(n: u8) -> Digest {
        Digest::parse(&format!("sha256:{}", hex::encode([n; 32]))).unwrap()
    }

    #[test]
    fn keys_are_per_registry_and_repository() {
        let cache = BlobCache::default();
        cache.put("r", "a", &digest(1), Bytes::from_static(b"x"));
        assert_eq!(cache.get("r", "a", &digest(1)).as_deref(), Some(&b"x"[..]));
        assert!(cache.get("r", "b", &digest(1)).is_none());
        assert!(cache.get("s", "a", &digest(1)).is_none());
        assert!(cache.get("r", "a", &digest(2)).is_none());
    }

    #[test]
    fn bounded_by_count_and_bytes_oldest_first() {
        let cache = BlobCache::default();
        for n in 0..=255u8 {
            for repo in ["a", "b", "c", "d", "e"] {
                cache.put("r", repo, &digest(n), Bytes::from_static(b"1234"));
            }
        }
        let entries = cache.inner.lock().unwrap();
        assert_eq!(entries.bytes.len(), MAX_ENTRIES);
        assert_eq!(entries.order.len(), MAX_ENTRIES);
        drop(entries);
        assert!(cache.get("r", "a", &digest(0)).is_none(), "oldest evicted");
        assert!(cache.get("r", "e", &digest(255)).is_some(), "newest kept");

        let big = Bytes::from(vec![0u8; MAX_TOTAL_BYTES / 4]);
        for n in 0..5u8 {
            cache.put("r", "big", &digest(n), big.clone());
        }
        let entries = cache.inner.lock().unwrap();
        assert!(entries.total <= MAX_TOTAL_BYTES, "{}", entries.total);
        assert_eq!(
            entries.total,
            entries.bytes.values().map(Bytes::len).sum::<usize>()
        );
        drop(entries);
        assert!(cache.get("r", "big", &digest(0)).is_none());
        assert!(cache.get("r", "big", &digest(4)).is_some());

        cache.put(
            "r",
            "huge",
            &digest(9),
            Bytes::from(vec![0u8; MAX_TOTAL_BYTES]),
        );
        assert!(
            cache.get("r", "huge", &digest(9)).is_none(),
            "too big to keep"
        );
    }
}
