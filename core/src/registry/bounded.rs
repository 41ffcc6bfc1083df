//! A map bounded by its number of entries and their total size, dropping the least recently
//! used entry first. What registries hand out (tokens, challenges) is kept in it, so that no
//! registry can grow a long-running process without limit.

use std::collections::HashMap;
use std::hash::Hash;

pub(crate) struct BoundedLru<K, V> {
    entries: HashMap<K, Slot<V>>,
    /// Sum of the entries' sizes.
    size: usize,
    max_entries: usize,
    max_size: usize,
    /// Use counter: a higher `used` is more recent.
    clock: u64,
}

struct Slot<V> {
    value: V,
    size: usize,
    used: u64,
}

impl<K: Hash + Eq + Clone, V> BoundedLru<K, V> {
    pub(crate) fn new(max_entries: usize, max_size: usize) -> Self {
        BoundedLru {
            entries: HashMap::new(),
            size: 0,
            max_entries,
            max_size,
            clock: 0,
        }
    }

    /// The entry for `key`, marked as just used.
    pub(crate) fn get(&mut self, key: &K) -> Option<&V> {
        self.clock += 1;
        let slot = self.entries.get_mut(key)?;
        slot.used = self.clock;
        Some(&slot.value)
    }

    /// Insert `value`, which counts `size` against the size bound, then drop the least recently
    /// used entries until both bounds hold (an entry larger than the whole bound is not kept).
    pub(crate) fn insert(&mut self, key: K, value: V, size: usize) {
        self.remove(&key);
        if size > self.max_size || self.max_entries == 0 {
            return;
        }
        self.clock += 1;
        self.size += size;
        self.entries.insert(
            key,
            Slot {
                value,
                size,
                used: self.clock,
            },
        );
        // A scan per eviction: entries are inserted after a network round trip, so a few
        // thousand comparisons are noise next to it, and no second index can go out of step.
        while self.entries.len() > self.max_entries || self.size > self.max_size {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, slot)| slot.used)
                .map(|(key, _)| key.clone());
            match oldest {
                Some(key) => {
                    self.remove(&key);
                }
                None => break,
            }
        }
    }

    pub(crate) fn remove(&mut self, key: &K) -> Option<V> {
        let slot = self.entries.remove(key)?;
        self.size -= slot.size;
        Some(slot.value)
    }

    /// Keep only the entries `keep` accepts.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&V) -> bool) {
        let mut dropped = 0;
        self.entries.retain(|_, slot| {
            let kept = keep(&slot.value);
            if !kept {
                dropped += slot.size;
            }
            kept
        });
        self.size -= dropped;
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn size(&self) -> usize {
        self.size
    }

    #[cfg(test)]
    pub(crate) fn entries_for_test(&self) -> impl Iterator<Item = &V> {
        self.entries.values().map(|slot| &slot.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_at_most_max_entries_dropping_the_least_recently_used() {
        let mut lru = BoundedLru::new(3, usize::MAX);
        for k in 0..3 {
            lru.insert(k, k, 1);
        }
        assert_eq!(lru.get(&0), Some(&0), "0 is now the most recently used");
        lru.insert(3, 3, 1);
        assert_eq!(lru.len(), 3);
        assert_eq!(lru.get(&1), None, "1 was the least recently used");
        for k in [0, 2, 3] {
            assert_eq!(lru.get(&k), Some(&k));
        }
    }

    #[test]
    fn keeps_at_most_max_size_and_refuses_an_entry_larger_than_the_bound() {
        let mut lru = BoundedLru::new(100, 10);
        lru.insert("a", (), 4);
        lru.insert("b", (), 4);
        lru.insert("c", (), 4);
        assert_eq!(lru.size(), 8);
        assert!(lru.get(&"a").is_none());
        lru.insert("huge", (), 11);
        assert!(lru.get(&"huge").is_none());
        assert_eq!(lru.size(), 8, "a refused entry evicts nothing");
    }

    #[test]
    fn replacing_remove_and_retain_keep_the_size_exact() {
        let mut lru = BoundedLru::new(10, 100);
        lru.insert(1, "one", 10);
        lru.insert(1, "uno", 3);
        assert_eq!((lru.len(), lru.size()), (1, 3));
        lru.insert(2, "two", 5);
        assert_eq!(lru.remove(&2), Some("two"));
        assert_eq!(lru.size(), 3);
        lru.insert(3, "three", 7);
        lru.retain(|v| *v != "uno");
        assert_eq!((lru.len(), lru.size()), (1, 7));
    }
}
