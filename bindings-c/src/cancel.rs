//! `imagecheck_cancel_t`: a token that ends the calls it was passed to.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

/// A cancel token. Pass it to any number of calls (from any thread), then call
/// [`imagecheck_cancel_cancel`] from any thread: those calls return promptly with an error of
/// kind `IMAGECHECK_KIND_CANCELLED`, and their in-flight work (requests, waits) is dropped.
/// Cancelling is permanent. Free with [`imagecheck_cancel_free`] once no call uses it.
#[derive(Debug, Default)]
pub struct imagecheck_cancel_t {
    inner: Arc<CancelInner>,
}

#[derive(Debug, Default)]
pub(crate) struct CancelInner {
    cancelled: AtomicBool,
    notify: Notify,
}

impl CancelInner {
    /// Resolves once cancelled.
    pub(crate) async fn cancelled(&self) {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.cancelled.load(Ordering::Acquire) {
                return;
            }
            notified.await;
        }
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }
}

impl imagecheck_cancel_t {
    pub(crate) fn shared(&self) -> Arc<CancelInner> {
        self.inner.clone()
    }
}

/// A new, not yet cancelled token (never NULL).
///
/// # Safety
///
/// Always safe to call; free the result with [`imagecheck_cancel_free`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn imagecheck_cancel_new() -> *mut imagecheck_cancel_t {
    Box::into_raw(Box::default())
}

/// Cancel every call using `cancel`, now and later. Idempotent; NULL is ignored.
///
/// # Safety
///
/// `cancel` is NULL or a live token. It may be called from any thread, concurrently with calls
/// that use the token.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn imagecheck_cancel_cancel(cancel: *const imagecheck_cancel_t) {
    // SAFETY: NULL or live per the contract.
    if let Some(token) = unsafe { cancel.as_ref() } {
        token.inner.cancelled.store(true, Ordering::Release);
        token.inner.notify.notify_waiters();
    }
}

/// Free a token. NULL is ignored.
///
/// # Safety
///
/// `cancel` is NULL or a token from [`imagecheck_cancel_new`], not freed before, and no call
/// that was given it is still running.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn imagecheck_cancel_free(cancel: *mut imagecheck_cancel_t) {
    if !cancel.is_null() {
        // SAFETY: from `Box::into_raw`, freed once per the contract.
        drop(unsafe { Box::from_raw(cancel) });
    }
}
