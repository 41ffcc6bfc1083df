//! A cap on concurrent requests per host, so a batch of a thousand tags on one registry never
//! opens a thousand connections nor sends a thousand requests at once.
//!
//! The cap is on requests, held from the moment a request is sent until its body has been
//! read (or the response dropped), not on connections: reqwest's pool has no per-host
//! connection limit, and over HTTP/1.1 every request in flight holds a connection of its own,
//! so capping requests caps connections too; over HTTP/2 it caps the streams one connection
//! multiplexes, which is what a registry's load depends on. The pool keeps at most as many
//! idle connections per host as the cap (`http::builder`), so connections opened under load do
//! not outnumber it for long. A request waiting to retry holds no slot.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Concurrent requests per host unless configured otherwise. Browsers allow 6 connections per
/// host; registries serve far more, and Docker Hub's and GHCR's limits count requests, not
/// concurrency. 16 keeps a batch quick while bounding what one process asks of one host.
pub const DEFAULT_MAX_CONCURRENT_REQUESTS_PER_HOST: usize = 16;

/// Hosts remembered at most before unused semaphores are dropped (one per host ever asked).
const MAX_IDLE_HOSTS: usize = 1024;

/// One semaphore per host (`host:port` as connected to), made on first use.
pub(crate) struct HostLimits {
    per_host: usize,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl std::fmt::Debug for HostLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostLimits")
            .field("per_host", &self.per_host)
            .finish_non_exhaustive()
    }
}

impl HostLimits {
    /// A cap of `per_host` (zero is taken as one: a cap of nothing would wait forever).
    pub(crate) fn new(per_host: usize) -> Self {
        HostLimits {
            per_host: per_host.max(1),
            hosts: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn per_host(&self) -> usize {
        self.per_host
    }

    /// A slot for one request to `host`, waiting while the cap is reached. Dropping it frees
    /// the slot.
    pub(crate) async fn acquire(&self, host: &str) -> OwnedSemaphorePermit {
        let semaphore = {
            let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(semaphore) = hosts.get(host) {
                semaphore.clone()
            } else {
                if hosts.len() >= MAX_IDLE_HOSTS {
                    // A semaphore nobody holds or waits on is only a full count.
                    hosts.retain(|_, s| Arc::strong_count(s) > 1);
                }
                let semaphore = Arc::new(Semaphore::new(self.per_host));
                hosts.insert(host.to_owned(), semaphore.clone());
                semaphore
            }
        };
        semaphore
            .acquire_owned()
            .await
            .unwrap_or_else(|_| unreachable!("the semaphore is never closed"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn each_host_has_its_own_cap() {
        let limits = HostLimits::new(2);
        let a1 = limits.acquire("a:1").await;
        let _a2 = limits.acquire("a:1").await;
        // Another host is not held up by a full one.
        let _b = limits.acquire("b:1").await;
        let waiting =
            tokio::time::timeout(std::time::Duration::from_millis(50), limits.acquire("a:1")).await;
        assert!(waiting.is_err(), "a third slot on a full host");
        drop(a1);
        let _a3 = limits.acquire("a:1").await;
    }

    #[tokio::test]
    async fn a_zero_cap_is_one() {
        let limits = HostLimits::new(0);
        assert_eq!(limits.per_host(), 1);
        let _one = limits.acquire("a:1").await;
    }
}
