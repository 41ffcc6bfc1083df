//! Process-wide tokio runtime and fork-aware singletons.
//!
//! Foreign callers (Go, Python, C) are not on a tokio runtime; they reach async core through
//! [`block_on`]. A runtime (and every connection pool whose tasks live on it) created before
//! `fork()` is dead in the child: its threads do not exist there. [`PerProcess`] notices the
//! PID change and builds a fresh value instead of hanging on the dead one.

use std::future::Future;
use std::sync::{Arc, LazyLock, Mutex};

/// A value built lazily once per process, rebuilt in a forked child.
pub(crate) struct PerProcess<T> {
    slot: Mutex<Option<(u32, Arc<T>)>>,
    make: Box<dyn Fn() -> T + Send + Sync>,
}

impl<T> PerProcess<T> {
    pub(crate) fn new(make: impl Fn() -> T + Send + Sync + 'static) -> Self {
        PerProcess {
            slot: Mutex::new(None),
            make: Box::new(make),
        }
    }

    /// The value for this process.
    pub(crate) fn get(&self) -> Arc<T> {
        let pid = std::process::id();
        let mut slot = self
            .slot
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match slot.as_ref() {
            Some((owner, value)) if *owner == pid => value.clone(),
            stale => {
                if let Some((_, old)) = stale {
                    // The parent's value may own threads that do not exist here; dropping it
                    // could block on them. Leak it: a fork happens a handful of times at most.
                    std::mem::forget(old.clone());
                }
                let value = Arc::new((self.make)());
                *slot = Some((pid, value.clone()));
                value
            }
        }
    }
}

impl<T> std::fmt::Debug for PerProcess<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PerProcess")
    }
}

static RUNTIME: LazyLock<PerProcess<tokio::runtime::Runtime>> = LazyLock::new(|| {
    PerProcess::new(|| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("imagecheck")
            // Resolves are I/O bound; two workers keep up with thousands of concurrent calls.
            .worker_threads(2)
            .build()
            .unwrap_or_else(|e| panic!("imagecheck: cannot start the tokio runtime: {e}"))
    })
});

/// The library's own runtime (built on first use; rebuilt after fork).
pub fn runtime() -> Arc<tokio::runtime::Runtime> {
    RUNTIME.get()
}

/// Run `future` to completion on the library's runtime from any thread, including a thread
/// that is itself a worker of another runtime (the future runs on ours; this thread waits).
pub fn block_on<F>(future: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let runtime = runtime();
    let handle = runtime.spawn(future);
    let joined = if tokio::runtime::Handle::try_current().is_ok() {
        // Blocking inside a runtime would panic in `Runtime::block_on`; wait on a plain
        // executor instead (the work itself runs on our runtime's workers).
        futures::executor::block_on(handle)
    } else {
        runtime.block_on(handle)
    };
    match joined {
        Ok(output) => output,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => panic!("imagecheck: runtime task was cancelled: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_on_works_from_plain_and_runtime_threads() {
        assert_eq!(block_on(async { 1 + 1 }), 2);
        let other = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        assert_eq!(other.block_on(async { block_on(async { 3 }) }), 3);
    }
}
