//! `imagecheck_verifier_t`: signature verification against an ordered rule list.

use std::ffi::{CString, c_char};
use std::path::Path;

use imagecheck_core::{Error, Policy, Verifier, VerifierOptions};

use crate::cancel::imagecheck_cancel_t;
use crate::error::guard;
use crate::error::imagecheck_error_t;
use crate::resolver::{
    cancel_arg, credentials_arg, imagecheck_credentials_t, imagecheck_resolver_t, wait,
};
use crate::util::{c_string, handle, opt_str_arg, out_arg, str_arg};

/// A verifier. Opaque; free with [`imagecheck_verifier_free`]. Safe to use from many threads.
#[derive(Debug)]
pub struct imagecheck_verifier_t {
    verifier: Verifier,
}

/// The answer of a verify call that did not fail. Opaque; free with
/// [`imagecheck_verification_free`].
#[derive(Debug)]
pub struct imagecheck_verification_t {
    verified: bool,
    message: CString,
    digested_ref: Option<CString>,
}

fn new_handle(out: *mut *mut imagecheck_verifier_t, verifier: Verifier) {
    // SAFETY: every caller checked `out` with `out_arg` first.
    unsafe { *out = Box::into_raw(Box::new(imagecheck_verifier_t { verifier })) };
}

/// A handle on the process-wide verifier (rules from the file named by `IMAGECHECK_POLICY`, none
/// when unset; shares the default resolver's cache). Replacing its policy affects every user in
/// the process. Free the handle with [`imagecheck_verifier_free`].
///
/// # Safety
///
/// `out` is a valid pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn imagecheck_verifier_default(
    out: *mut *mut imagecheck_verifier_t,
) -> *mut imagecheck_error_t {
    guard(|| {
        out_arg(out, "out")?;
        new_handle(out, imagecheck_core::default_verifier().clone());
        Ok(())
    })
}

/// A new verifier with the rules in `policy` (YAML or JSON text: a Talos
/// `ImageVerificationConfig`, a `rules:` document or a bare rule list). `options_json` (NULL:
/// defaults) is a JSON object with optional fields (core's `VerifierOptions`): `resolve_ttl_ms`
/// (accept a cached tag digest this old; default 0), `result_ttl_ms` (reuse successful
/// verifications; default 300000), `deadline_ms` (bound on one verify; default 60000) and
/// `trusted_root` (path of a Sigstore `trusted_root.json` for keyless rules of a private
/// deployment; default: the embedded public-good root; unloadable: INVALID_POLICY),
/// `trusted_roots` (an object, name to `trusted_root.json` path, for keyless rules that name
/// one with `trustedRoot: NAME`; a rule naming another: INVALID_POLICY), `tuf_url` (keep the
/// default root current from this TUF repository, e.g. `https://tuf-repo-cdn.sigstore.dev`,
/// refreshed in the background; default none: offline; not with `trusted_root`), `tuf_root`
/// (the repository's TUF `root.json` path; default: the embedded one of Sigstore's public-good
/// repository, required for any other), `tuf_cache_dir` (default
/// `$XDG_CACHE_HOME/imagecheck/tuf`) and `tuf_refresh_interval_ms` (default 86400000). Unknown
/// fields are an error (`IMAGECHECK_KIND_INVALID_ARGUMENT`).
/// `resolver` (NULL: the process-wide one) resolves tags; it is shared, not consumed.
///
/// # Safety
///
/// `policy` NUL-terminated; `options_json` NULL or NUL-terminated; `resolver` NULL or live;
/// `out` valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn imagecheck_verifier_new(
    policy: *const c_char,
    options_json: *const c_char,
    resolver: *const imagecheck_resolver_t,
    out: *mut *mut imagecheck_verifier_t,
) -> *mut imagecheck_error_t {
    guard(|| {
        out_arg(out, "out")?;
        // SAFETY: forwarded contract.
        let (policy, options, resolver) = unsafe {
            (
                str_arg(policy, "policy")?,
                opt_str_arg(options_json, "options_json")?,
                resolver.as_ref(),
            )
        };
        let options = match options {
            Some(text) => VerifierOptions::from_json(text)?,
            None => VerifierOptions::default(),
        };
        let policy = Policy::parse(policy).map_err(Error::from)?;
        let mut builder = options.builder(policy)?;
        if let Some(resolver) = resolver {
            builder = builder.resolver(resolver.resolver.clone());
        }
        new_handle(out, builder.build());
        Ok(())
    })
}

/// Free a verifier handle. NULL is ignored.
///
/// # Safety
///
/// `verifier` is NULL or a handle from this library, not freed before, with no call under way.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn imagecheck_verifier_free(verifier: *mut imagecheck_verifier_t) {
    if !verifier.is_null() {
        // SAFETY: from `Box::into_raw`, freed once per the contract.
        drop(unsafe { Box::from_raw(verifier) });
    }
}

/// Replace the verifier's rules with `policy` (YAML/JSON text), atomically; on error the current
/// rules stay. Cached results are dropped.
///
/// # Safety
///
/// `verifier` live; `policy` NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn imagecheck_verifier_set_policy(
    verifier: *const imagecheck_verifier_t,
    policy: *const c_char,
) -> *mut imagecheck_error_t {
    guard(|| {
        // SAFETY: forwarded contract.
        let (verifier, policy) =
            unsafe { (handle(verifier, "verifier")?, str_arg(policy, "policy")?) };
        let policy = Policy::parse(policy).map_err(Error::from)?;
        verifier.verifier.set_policy(policy);
        Ok(())
    })
}

/// Load the rules from the file at `path` and swap them in; on error the current rules stay.
///
/// # Safety
///
/// `verifier` live; `path` NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn imagecheck_verifier_load_policy(
    verifier: *const imagecheck_verifier_t,
    path: *const c_char,
) -> *mut imagecheck_error_t {
    guard(|| {
        // SAFETY: forwarded contract.
        let (verifier, path) = unsafe { (handle(verifier, "verifier")?, str_arg(path, "path")?) };
        verifier.verifier.load_policy(Path::new(path))
    })
}

/// Verify `reference` (tag or digest form) against the verifier's rules. `credentials` and
/// `cancel` are optional. No rule matched and skip rules answer `verified = false` (not an
/// error); a deny rule is `IMAGECHECK_KIND_DENIED`, a failed check
/// `IMAGECHECK_KIND_VERIFICATION_FAILED`. On success `*out` receives an owned
/// `imagecheck_verification_t`. Blocks the calling thread.
///
/// # Safety
///
/// `verifier` live; `reference` NUL-terminated; `credentials`/`cancel` NULL or valid; `out`
/// valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn imagecheck_verifier_verify(
    verifier: *const imagecheck_verifier_t,
    reference: *const c_char,
    credentials: *const imagecheck_credentials_t,
    cancel: *const imagecheck_cancel_t,
    out: *mut *mut imagecheck_verification_t,
) -> *mut imagecheck_error_t {
    guard(|| {
        // SAFETY: forwarded contract.
        let (verifier, reference, credentials, cancel) = unsafe {
            (
                handle(verifier, "verifier")?,
                str_arg(reference, "reference")?,
                credentials_arg(credentials)?,
                cancel_arg(cancel),
            )
        };
        out_arg(out, "out")?;
        let answer = wait(
            verifier.verifier.call(reference, credentials.as_ref()),
            cancel,
        )?;
        let verification = imagecheck_verification_t {
            verified: answer.verified,
            message: c_string(&answer.message),
            digested_ref: answer.digested_ref.as_deref().map(c_string),
        };
        // SAFETY: checked non-NULL.
        unsafe { *out = Box::into_raw(Box::new(verification)) };
        Ok(())
    })
}

/// Whether a rule's signature check passed (false for NULL).
///
/// # Safety
///
/// `verification` NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn imagecheck_verification_verified(
    verification: *const imagecheck_verification_t,
) -> bool {
    // SAFETY: NULL or live per the contract.
    unsafe { verification.as_ref() }.is_some_and(|v| v.verified)
}

/// What happened, for people (borrowed; "" for NULL).
///
/// # Safety
///
/// `verification` NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn imagecheck_verification_message(
    verification: *const imagecheck_verification_t,
) -> *const c_char {
    // SAFETY: NULL or live per the contract.
    unsafe { verification.as_ref() }.map_or(c"".as_ptr(), |v| v.message.as_ptr())
}

/// `registry/repository@sha256:…` when the digest is known (always when verified), else NULL
/// (borrowed).
///
/// # Safety
///
/// `verification` NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn imagecheck_verification_digested_ref(
    verification: *const imagecheck_verification_t,
) -> *const c_char {
    // SAFETY: NULL or live per the contract.
    unsafe { verification.as_ref() }
        .and_then(|v| v.digested_ref.as_ref())
        .map_or(std::ptr::null(), |s| s.as_ptr())
}

/// Free a verification. NULL is ignored.
///
/// # Safety
///
/// `verification` NULL or from this library, not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn imagecheck_verification_free(
    verification: *mut imagecheck_verification_t,
) {
    if !verification.is_null() {
        // SAFETY: from `Box::into_raw`, freed once per the contract.
        drop(unsafe { Box::from_raw(verification) });
    }
}
