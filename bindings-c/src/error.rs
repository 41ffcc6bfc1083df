//! `imagecheck_error_t`: the owned error every fallible function returns (NULL on success).

use std::ffi::{CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

use imagecheck_core::{CauseKind, Error, ErrorKind};

use crate::util::c_string;

/// The stable error kinds (DESIGN.md, "Errors"). The numbers never change.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum imagecheck_kind {
    /// The input is not a reference of an accepted form.
    InvalidReference = 1,
    /// The engine could not give a digest (see the cause); callers fall back to the tag.
    DigestUnavailable = 2,
    /// A rule matched and its signature check failed.
    VerificationFailed = 3,
    /// A deny rule matched.
    Denied = 4,
    /// Rules or trust root cannot be loaded.
    InvalidPolicy = 5,
    /// The call was cancelled through its cancel token.
    Cancelled = 6,
    /// An argument other than the reference is unusable (NULL, not UTF-8, unknown engine, bad
    /// options).
    InvalidArgument = 7,
}

impl From<ErrorKind> for imagecheck_kind {
    fn from(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::InvalidReference => imagecheck_kind::InvalidReference,
            ErrorKind::DigestUnavailable => imagecheck_kind::DigestUnavailable,
            ErrorKind::VerificationFailed => imagecheck_kind::VerificationFailed,
            ErrorKind::Denied => imagecheck_kind::Denied,
            ErrorKind::InvalidPolicy => imagecheck_kind::InvalidPolicy,
            ErrorKind::Cancelled => imagecheck_kind::Cancelled,
            ErrorKind::InvalidArgument => imagecheck_kind::InvalidArgument,
        }
    }
}

/// Why a digest was unavailable (only for `IMAGECHECK_KIND_DIGEST_UNAVAILABLE`; `NONE` otherwise).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum imagecheck_cause {
    /// Not a DigestUnavailable error.
    None = 0,
    /// The registry (or daemon) does not know the repository or tag.
    NotFound = 1,
    /// Credentials were missing or refused.
    Unauthorized = 2,
    /// The registry refused because of rate limits (HTTP 429).
    RateLimited = 3,
    /// The connection failed (refused, reset, DNS, TLS).
    Network = 4,
    /// The request took longer than the configured timeout.
    Timeout = 5,
    /// The engine has no way to know a digest before a run (kubernetes).
    NoDigestSource = 6,
    /// The server answered something unusable.
    InvalidResponse = 7,
    /// The engine itself failed (a custom engine's error, a daemon error, an internal error).
    Engine = 8,
}

impl From<CauseKind> for imagecheck_cause {
    fn from(kind: CauseKind) -> Self {
        match kind {
            CauseKind::NotFound => imagecheck_cause::NotFound,
            CauseKind::Unauthorized => imagecheck_cause::Unauthorized,
            CauseKind::RateLimited => imagecheck_cause::RateLimited,
            CauseKind::Network => imagecheck_cause::Network,
            CauseKind::Timeout => imagecheck_cause::Timeout,
            CauseKind::NoDigestSource => imagecheck_cause::NoDigestSource,
            CauseKind::InvalidResponse => imagecheck_cause::InvalidResponse,
            CauseKind::Engine => imagecheck_cause::Engine,
        }
    }
}

/// An error: a kind, a cause (for DigestUnavailable), the candidates a VerificationFailed
/// checked, and a message for people. Opaque; free with [`imagecheck_error_free`].
#[derive(Debug)]
pub struct imagecheck_error_t {
    kind: imagecheck_kind,
    cause: imagecheck_cause,
    message: CString,
    failures: Vec<Failure>,
}

/// One candidate of [`imagecheck_error_t`]'s failures, as C strings.
#[derive(Debug)]
struct Failure {
    source: CString,
    check: CString,
    message: CString,
}

pub(crate) fn into_raw_error(e: &Error) -> *mut imagecheck_error_t {
    Box::into_raw(Box::new(imagecheck_error_t {
        kind: e.kind().into(),
        cause: e
            .digest_cause()
            .map_or(imagecheck_cause::None, |c| c.kind.into()),
        message: c_string(&e.to_string()),
        failures: e
            .failures()
            .iter()
            .map(|c| Failure {
                source: c_string(c.source.name()),
                check: c_string(c.failure.check()),
                message: c_string(&c.failure.to_string()),
            })
            .collect(),
    }))
}

/// The error's kind. A NULL `error` gives `IMAGECHECK_KIND_INVALID_ARGUMENT`.
///
/// # Safety
///
/// `error` is NULL or a live error returned by this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn imagecheck_error_kind(
    error: *const imagecheck_error_t,
) -> imagecheck_kind {
    // SAFETY: NULL or live per the contract.
    unsafe { error.as_ref() }.map_or(imagecheck_kind::InvalidArgument, |e| e.kind)
}

/// The cause of a DigestUnavailable error; `IMAGECHECK_CAUSE_NONE` for other kinds and NULL.
///
/// # Safety
///
/// `error` is NULL or a live error returned by this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn imagecheck_error_cause(
    error: *const imagecheck_error_t,
) -> imagecheck_cause {
    // SAFETY: NULL or live per the contract.
    unsafe { error.as_ref() }.map_or(imagecheck_cause::None, |e| e.cause)
}

/// The error's message (UTF-8, NUL-terminated), borrowed: valid until the error is freed. It
/// never contains credentials. NULL `error` gives an empty string.
///
/// # Safety
///
/// `error` is NULL or a live error returned by this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn imagecheck_error_message(
    error: *const imagecheck_error_t,
) -> *const c_char {
    // SAFETY: NULL or live per the contract.
    match unsafe { error.as_ref() } {
        Some(e) => e.message.as_ptr(),
        None => c"".as_ptr(),
    }
}

/// How many signature candidates a VerificationFailed error checked (0 for other kinds, for a
/// registry that could not be read, and for NULL). Read each with
/// [`imagecheck_error_failure`].
///
/// # Safety
///
/// `error` is NULL or a live error returned by this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn imagecheck_error_failure_count(error: *const imagecheck_error_t) -> usize {
    // SAFETY: NULL or live per the contract.
    unsafe { error.as_ref() }.map_or(0, |e| e.failures.len())
}

/// Candidate `index` (below [`imagecheck_error_failure_count`]) of a VerificationFailed error:
/// where it was found (`*source`: `referrers`, `referrers_tag`, `legacy_tag`), the check it
/// failed (`*check`: a stable name such as `wrong_key` or `identity_mismatch`) and a message for
/// people (`*message`). The strings are borrowed, valid until the error is freed; any out-pointer
/// may be NULL. Returns false (writing nothing) for an index out of range or a NULL `error`.
///
/// # Safety
///
/// `error` is NULL or a live error returned by this library; each out-pointer NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn imagecheck_error_failure(
    error: *const imagecheck_error_t,
    index: usize,
    source: *mut *const c_char,
    check: *mut *const c_char,
    message: *mut *const c_char,
) -> bool {
    // SAFETY: NULL or live per the contract.
    let Some(failure) = unsafe { error.as_ref() }.and_then(|e| e.failures.get(index)) else {
        return false;
    };
    for (out, value) in [
        (source, &failure.source),
        (check, &failure.check),
        (message, &failure.message),
    ] {
        if !out.is_null() {
            // SAFETY: non-NULL and writable per the contract.
            unsafe { *out = value.as_ptr() };
        }
    }
    true
}

/// Free an error. NULL is ignored.
///
/// # Safety
///
/// `error` is NULL or an error returned by this library, not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn imagecheck_error_free(error: *mut imagecheck_error_t) {
    if !error.is_null() {
        // SAFETY: from `Box::into_raw`, freed once per the contract.
        drop(unsafe { Box::from_raw(error) });
    }
}

/// Run `body`, turning an `Err` into an owned error pointer and a panic into an internal error.
pub(crate) fn guard(body: impl FnOnce() -> Result<(), Error>) -> *mut imagecheck_error_t {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => std::ptr::null_mut(),
        Ok(Err(e)) => into_raw_error(&e),
        Err(panic) => into_raw_error(&panic_error(panic.as_ref())),
    }
}

/// The error a caught panic becomes: core's one mapping (see the crate documentation for why
/// this kind).
pub(crate) fn panic_error(panic: &(dyn std::any::Any + Send)) -> Error {
    imagecheck_core::call::panic_error("(unknown)", "(none)", panic)
}
