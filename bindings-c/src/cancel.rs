//! `imagecheck_cancel_t`: a token that ends the calls it was passed to (core's
//! [`imagecheck_core::Cancel`]).

use imagecheck_core::Cancel;

/// A cancel token. Pass it to any number of calls (from any thread), then call
/// [`imagecheck_cancel_cancel`] from any thread: those calls return promptly with an error of
/// kind `IMAGECHECK_KIND_CANCELLED`, and their in-flight work (requests, waits) is dropped.
/// Cancelling is permanent. Free with [`imagecheck_cancel_free`] once no call uses it.
#[derive(Debug, Default)]
pub struct imagecheck_cancel_t {
    pub(crate) token: Cancel,
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
    if let Some(cancel) = unsafe { cancel.as_ref() } {
        cancel.token.cancel();
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
