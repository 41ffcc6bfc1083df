//! Unit tests of the conventions (no network: the C test and the Go tests cover the I/O paths).

use std::ffi::{CStr, c_char};
use std::ptr;

use crate::*;

fn take(err: *mut imagecheck_error_t) -> Option<(imagecheck_kind, imagecheck_cause, String)> {
    if err.is_null() {
        return None;
    }
    // SAFETY: a live error from this library, freed once here.
    unsafe {
        let message = CStr::from_ptr(imagecheck_error_message(err))
            .to_string_lossy()
            .into_owned();
        let answer = (
            imagecheck_error_kind(err),
            imagecheck_error_cause(err),
            message,
        );
        imagecheck_error_free(err);
        Some(answer)
    }
}

fn default_resolver() -> *mut imagecheck_resolver_t {
    let mut out = ptr::null_mut();
    // SAFETY: a valid out-pointer.
    assert!(take(unsafe { imagecheck_resolver_default(&mut out) }).is_none());
    out
}

#[test]
fn null_arguments_are_invalid_argument_and_leave_out_untouched() {
    let resolver = default_resolver();
    let sentinel: *mut c_char = ptr::dangling_mut();
    let mut out = sentinel;
    // SAFETY: every pointer is NULL or valid.
    let err = unsafe {
        imagecheck_resolver_resolve(
            resolver,
            ptr::null(),
            ptr::null(),
            0,
            ptr::null(),
            ptr::null(),
            &mut out,
        )
    };
    let (kind, cause, message) = take(err).expect("an error");
    assert_eq!(kind, imagecheck_kind::InvalidArgument);
    assert_eq!(cause, imagecheck_cause::None);
    assert!(message.contains("reference is NULL"), "{message}");
    assert_eq!(out, sentinel);
    // SAFETY: NULL out-pointer is checked.
    let err = unsafe {
        imagecheck_resolver_resolve(
            resolver,
            ptr::null(),
            c"nginx:1".as_ptr(),
            0,
            ptr::null(),
            ptr::null(),
            ptr::null_mut(),
        )
    };
    assert_eq!(
        take(err).expect("an error").0,
        imagecheck_kind::InvalidArgument
    );
    // SAFETY: the handle from `default_resolver`.
    unsafe { imagecheck_resolver_free(resolver) };
}

#[test]
fn invalid_utf8_is_invalid_argument() {
    let mut out = ptr::null_mut();
    let bad = b"nginx:\xff\0";
    // SAFETY: a NUL-terminated string and a valid out-pointer.
    let err = unsafe { imagecheck_reference_parse(bad.as_ptr().cast(), &mut out) };
    let (kind, _, message) = take(err).expect("an error");
    assert_eq!(kind, imagecheck_kind::InvalidArgument);
    assert!(message.contains("UTF-8"), "{message}");
    assert!(out.is_null());
}

#[test]
fn accessors_accept_null() {
    // SAFETY: NULL is accepted by every accessor and free.
    unsafe {
        assert_eq!(
            imagecheck_error_kind(ptr::null()),
            imagecheck_kind::InvalidArgument
        );
        assert_eq!(imagecheck_error_cause(ptr::null()), imagecheck_cause::None);
        assert_eq!(
            CStr::from_ptr(imagecheck_error_message(ptr::null())).to_bytes(),
            b""
        );
        assert!(imagecheck_reference_tag(ptr::null()).is_null());
        assert!(!imagecheck_verification_verified(ptr::null()));
        assert_eq!(imagecheck_resolver_cache_len(ptr::null()), 0);
        imagecheck_error_free(ptr::null_mut());
        imagecheck_string_free(ptr::null_mut());
        imagecheck_cancel_cancel(ptr::null());
    }
}

#[test]
fn a_cancelled_token_ends_the_call_before_any_work() {
    let resolver = default_resolver();
    // SAFETY: handles from this library, freed once; valid strings and out-pointer.
    unsafe {
        let cancel = imagecheck_cancel_new();
        imagecheck_cancel_cancel(cancel);
        imagecheck_cancel_cancel(cancel); // idempotent
        let mut out = ptr::null_mut();
        let err = imagecheck_resolver_resolve(
            resolver,
            ptr::null(),
            c"127.0.0.1:9/never/contacted:v1".as_ptr(),
            0,
            ptr::null(),
            cancel,
            &mut out,
        );
        assert_eq!(take(err).expect("an error").0, imagecheck_kind::Cancelled);
        assert!(out.is_null());
        imagecheck_cancel_free(cancel);
        imagecheck_resolver_free(resolver);
    }
}

#[test]
fn a_panic_becomes_a_digest_unavailable_engine_error() {
    let err = crate::error::guard(|| panic!("boom"));
    let (kind, cause, message) = take(err).expect("an error");
    assert_eq!(kind, imagecheck_kind::DigestUnavailable);
    assert_eq!(cause, imagecheck_cause::Engine);
    assert!(
        message.contains("internal error") && message.contains("boom"),
        "{message}"
    );
}

#[test]
fn kinds_match_core_codes() {
    use imagecheck_core::ErrorKind;
    for kind in [
        ErrorKind::InvalidReference,
        ErrorKind::DigestUnavailable,
        ErrorKind::VerificationFailed,
        ErrorKind::Denied,
        ErrorKind::InvalidPolicy,
        ErrorKind::Cancelled,
        ErrorKind::InvalidArgument,
    ] {
        assert_eq!(imagecheck_kind::from(kind) as u32, kind.code());
    }
}

#[test]
fn reference_parse_and_digest_fast_path() {
    let resolver = default_resolver();
    let reference = "nginx@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let mut buf = [0u8; 160];
    let mut len = 999usize;
    // SAFETY: valid (pointer, length) pairs and buffers.
    let err = unsafe {
        imagecheck_resolver_cached(
            resolver,
            ptr::null(),
            0,
            reference.as_ptr(),
            reference.len(),
            1000,
            ptr::null(),
            buf.as_mut_ptr(),
            buf.len(),
            &mut len,
        )
    };
    assert!(take(err).is_none());
    assert_eq!(&buf[..len], &reference.as_bytes()[6..]);
    // SAFETY: a valid string and out-pointer; the result is freed once.
    unsafe {
        let mut parsed = ptr::null_mut();
        assert!(
            take(imagecheck_reference_parse(
                c"nginx:1.27".as_ptr(),
                &mut parsed
            ))
            .is_none()
        );
        let canonical = CStr::from_ptr(imagecheck_reference_canonical(parsed));
        assert_eq!(canonical.to_str(), Ok("docker.io/library/nginx:1.27"));
        assert!(imagecheck_reference_digest(parsed).is_null());
        imagecheck_reference_free(parsed);
        imagecheck_resolver_free(resolver);
    }
}

#[test]
fn engine_result_setters() {
    let mut result = imagecheck_engine_result_t::default();
    // SAFETY: a live result and valid strings.
    unsafe {
        assert!(!imagecheck_engine_result_set_digest(
            &mut result,
            c"nope".as_ptr()
        ));
        assert!(imagecheck_engine_result_set_digest(
            &mut result,
            c"sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb".as_ptr()
        ));
        imagecheck_engine_result_set_error(&mut result, 1, c"gone".as_ptr());
        assert!(!imagecheck_engine_result_set_digest(
            ptr::null_mut(),
            ptr::null()
        ));
    }
}
