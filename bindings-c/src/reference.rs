//! `imagecheck_reference_t`: a parsed, normalised image reference.

use std::ffi::{CString, c_char};

use imagecheck_core::Reference;

use crate::error::guard;
use crate::error::imagecheck_error_t;
use crate::util::{c_string, out_arg, str_arg};

/// A parsed reference. Opaque; its strings are borrowed until [`imagecheck_reference_free`].
#[derive(Debug)]
pub struct imagecheck_reference_t {
    canonical: CString,
    registry: CString,
    repository: CString,
    tag: Option<CString>,
    digest: Option<CString>,
}

/// Parse and normalise `input` with Docker's grammar (`nginx` is
/// `docker.io/library/nginx:latest`). An invalid input is `IMAGECHECK_KIND_INVALID_REFERENCE`.
///
/// # Safety
///
/// `input` NUL-terminated; `out` valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn imagecheck_reference_parse(
    input: *const c_char,
    out: *mut *mut imagecheck_reference_t,
) -> *mut imagecheck_error_t {
    guard(|| {
        // SAFETY: forwarded contract.
        let input = unsafe { str_arg(input, "input") }?;
        out_arg(out, "out")?;
        let parsed = Reference::parse(input)?;
        let reference = imagecheck_reference_t {
            canonical: c_string(&parsed.to_string()),
            registry: c_string(parsed.registry()),
            repository: c_string(parsed.repository()),
            tag: parsed.tag().map(c_string),
            digest: parsed.digest().map(|d| c_string(d.as_str())),
        };
        // SAFETY: checked non-NULL.
        unsafe { *out = Box::into_raw(Box::new(reference)) };
        Ok(())
    })
}

fn field(
    reference: *const imagecheck_reference_t,
    get: impl Fn(&imagecheck_reference_t) -> Option<&CString>,
) -> *const c_char {
    // SAFETY: every caller's contract: NULL or live.
    unsafe { reference.as_ref() }
        .and_then(get)
        .map_or(std::ptr::null(), |s| s.as_ptr())
}

/// The canonical form (`docker.io/library/nginx:1.27`); NULL for NULL.
///
/// # Safety
///
/// `reference` NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn imagecheck_reference_canonical(
    reference: *const imagecheck_reference_t,
) -> *const c_char {
    field(reference, |r| Some(&r.canonical))
}

/// The registry (`docker.io`, `127.0.0.1:5000`); NULL for NULL.
///
/// # Safety
///
/// `reference` NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn imagecheck_reference_registry(
    reference: *const imagecheck_reference_t,
) -> *const c_char {
    field(reference, |r| Some(&r.registry))
}

/// The repository (`library/nginx`); NULL for NULL.
///
/// # Safety
///
/// `reference` NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn imagecheck_reference_repository(
    reference: *const imagecheck_reference_t,
) -> *const c_char {
    field(reference, |r| Some(&r.repository))
}

/// The tag, or NULL when the reference has none (digest form).
///
/// # Safety
///
/// `reference` NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn imagecheck_reference_tag(
    reference: *const imagecheck_reference_t,
) -> *const c_char {
    field(reference, |r| r.tag.as_ref())
}

/// The digest, or NULL when the reference has none.
///
/// # Safety
///
/// `reference` NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn imagecheck_reference_digest(
    reference: *const imagecheck_reference_t,
) -> *const c_char {
    field(reference, |r| r.digest.as_ref())
}

/// Free a reference. NULL is ignored.
///
/// # Safety
///
/// `reference` NULL or from this library, not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn imagecheck_reference_free(reference: *mut imagecheck_reference_t) {
    if !reference.is_null() {
        // SAFETY: from `Box::into_raw`, freed once per the contract.
        drop(unsafe { Box::from_raw(reference) });
    }
}
