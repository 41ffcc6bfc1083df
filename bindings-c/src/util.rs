//! Argument conversion shared by every exported function.

use std::ffi::{CStr, CString, c_char};

use imagecheck_core::Error;

pub(crate) fn invalid(message: impl Into<String>) -> Error {
    Error::InvalidArgument(message.into())
}

/// A required NUL-terminated UTF-8 argument.
///
/// # Safety
///
/// `ptr` is NULL or points to a NUL-terminated string valid for `'a`.
pub(crate) unsafe fn str_arg<'a>(ptr: *const c_char, what: &str) -> Result<&'a str, Error> {
    if ptr.is_null() {
        return Err(invalid(format!("{what} is NULL")));
    }
    // SAFETY: non-NULL and NUL-terminated per the caller's contract.
    unsafe { CStr::from_ptr(ptr) }
        .to_str()
        .map_err(|_| invalid(format!("{what} is not valid UTF-8")))
}

/// An optional NUL-terminated UTF-8 argument (NULL is `None`).
///
/// # Safety
///
/// As [`str_arg`].
pub(crate) unsafe fn opt_str_arg<'a>(
    ptr: *const c_char,
    what: &str,
) -> Result<Option<&'a str>, Error> {
    if ptr.is_null() {
        Ok(None)
    } else {
        // SAFETY: forwarded contract.
        unsafe { str_arg(ptr, what) }.map(Some)
    }
}

/// A (pointer, length) UTF-8 argument, no NUL needed (the allocation-free fast path).
///
/// # Safety
///
/// `ptr` is valid for reads of `len` bytes (or `len` is 0).
pub(crate) unsafe fn slice_arg<'a>(
    ptr: *const u8,
    len: usize,
    what: &str,
) -> Result<&'a str, Error> {
    if len == 0 {
        return Ok("");
    }
    if ptr.is_null() {
        return Err(invalid(format!("{what} is NULL")));
    }
    // SAFETY: non-NULL and valid for `len` bytes per the caller's contract.
    let bytes = unsafe { std::slice::from_raw_parts(ptr, len) };
    std::str::from_utf8(bytes).map_err(|_| invalid(format!("{what} is not valid UTF-8")))
}

/// A required handle argument.
///
/// # Safety
///
/// `ptr` is NULL or a live object of type `T` from this library.
pub(crate) unsafe fn handle<'a, T>(ptr: *const T, what: &str) -> Result<&'a T, Error> {
    // SAFETY: per the caller's contract a non-NULL pointer is a live `T`.
    unsafe { ptr.as_ref() }.ok_or_else(|| invalid(format!("{what} is NULL")))
}

/// Check an out-pointer before any work is done, so a NULL one fails without side effects.
pub(crate) fn out_arg<T>(ptr: *mut T, what: &str) -> Result<(), Error> {
    if ptr.is_null() {
        Err(invalid(format!("{what} (out-pointer) is NULL")))
    } else {
        Ok(())
    }
}

/// An owned C string for a Rust string (interior NULs, impossible in our outputs, are dropped).
pub(crate) fn c_string(s: &str) -> CString {
    CString::new(s).unwrap_or_else(|_| CString::new(s.replace('\0', "")).unwrap_or_default())
}

/// Milliseconds from C to a `Duration` (zero or negative: zero).
pub(crate) fn millis(ms: i64) -> std::time::Duration {
    std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}
