//! Process-wide tokio runtime and fork-aware singletons.
//!
//! Foreign callers (Go, Python, C, Kotlin) are not on a tokio runtime; they reach async core
//! through [`crate::call::Call`], which runs work on [`runtime`]. A runtime (and every connection pool whose tasks live on it) created before
//! `fork()` is dead in the child: its threads do not exist there. `PerProcess` notices the
//! PID change and builds a fresh value instead of hanging on the dead one.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, LazyLock, Mutex};
use std::task::{Context, Poll, Waker};

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

/// Poll `future` once on the calling thread, inside `runtime`'s context (so sockets it opens
/// belong to that runtime), with a waker that does nothing. Work that needs no I/O completes
/// here. On `Pending` the same, partly polled future must be handed to `runtime` (spawned): its
/// next poll there registers the task's waker in place of this one, as every future must allow.
/// [`crate::call::Call::try_now`] is its one user.
pub(crate) fn poll_here<F: Future + ?Sized>(
    runtime: &tokio::runtime::Runtime,
    future: Pin<&mut F>,
) -> Poll<F::Output> {
    let _context = runtime.enter();
    future.poll(&mut Context::from_waker(Waker::noop()))
}
