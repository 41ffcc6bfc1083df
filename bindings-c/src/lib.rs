//! `libimagecheck`: a small C ABI over the `imagecheck` core (DESIGN.md, "C ABI rules").
//!
//! Conventions, the same in every function:
//!
//! * A fallible function returns an owned [`imagecheck_error_t`] pointer, NULL on success, and
//!   writes its results through out-pointers, which stay untouched on failure. The caller frees
//!   the error with [`imagecheck_error_free`].
//! * Every object the library hands out is freed by the matching `imagecheck_*_free`; strings
//!   returned by accessors are borrowed from their object and live until it is freed.
//! * Every pointer argument is checked for NULL (unless documented as optional) and every string
//!   for UTF-8; a bad argument is an error of kind `IMAGECHECK_KIND_INVALID_ARGUMENT`.
//! * No panic crosses the boundary: one is caught and reported as an error of kind
//!   `IMAGECHECK_KIND_DIGEST_UNAVAILABLE` with cause `IMAGECHECK_CAUSE_ENGINE` and a message
//!   starting "imagecheck internal error". That is the kind every caller already treats as "no
//!   answer, fall back" (a resolve falls back to the tag, a verify is not verified), so a bug
//!   degrades safely; no new kind is added to the stable list.
//!
//! The bindings hold no behaviour: they convert arguments and results and call core.
#![allow(non_camel_case_types)]

mod cancel;
mod engine;
mod error;
mod reference;
mod resolver;
mod util;
mod verifier;

#[cfg(test)]
mod tests;

pub use cancel::*;
pub use engine::*;
pub use error::*;
pub use reference::*;
pub use resolver::*;
pub use verifier::*;

use std::ffi::{CString, c_char};

/// The library version (`major.minor.patch`), a static NUL-terminated string. Never free it.
///
/// # Safety
///
/// Always safe to call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn imagecheck_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// Free a string the library returned as owned (`char **out` results such as a resolved
/// digest). NULL is ignored.
///
/// # Safety
///
/// `s` is NULL or a string returned as owned by this library, not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn imagecheck_string_free(s: *mut c_char) {
    if !s.is_null() {
        // SAFETY: the caller passes a pointer from `CString::into_raw`, freed once.
        drop(unsafe { CString::from_raw(s) });
    }
}
