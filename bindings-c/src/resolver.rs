//! `imagecheck_resolver_t`: tag-to-digest resolution with a shared TTL cache.

use std::ffi::{c_char, c_int};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use imagecheck_core::{Credentials, Engine, Error, Resolver};
use serde::Deserialize;

use crate::cancel::{CancelInner, imagecheck_cancel_t};
use crate::error::imagecheck_error_t;
use crate::util::{
    c_string, guard, handle, invalid, millis, opt_str_arg, out_arg, slice_arg, str_arg,
};

/// Per-call registry credentials, borrowed for the duration of the call (the library copies what
/// it keeps). `host` is the registry as references spell it (`ghcr.io`, `127.0.0.1:5000`); the
/// credentials are used only for references on that host. All three fields are required.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct imagecheck_credentials_t {
    pub host: *const c_char,
    pub username: *const c_char,
    pub password: *const c_char,
}

/// Convert optional credentials.
///
/// # Safety
///
/// `ptr` is NULL or points to an `imagecheck_credentials_t` whose strings are valid.
pub(crate) unsafe fn credentials_arg(
    ptr: *const imagecheck_credentials_t,
) -> Result<Option<Credentials>, Error> {
    // SAFETY: NULL or valid per the contract.
    let Some(c) = (unsafe { ptr.as_ref() }) else {
        return Ok(None);
    };
    // SAFETY: the fields are NUL-terminated strings per the contract.
    let (host, username, password) = unsafe {
        (
            str_arg(c.host, "credentials.host")?,
            str_arg(c.username, "credentials.username")?,
            str_arg(c.password, "credentials.password")?,
        )
    };
    Ok(Some(Credentials::new(host, username, password)))
}

/// Optional cancel token.
///
/// # Safety
///
/// `ptr` is NULL or a live token.
pub(crate) unsafe fn cancel_arg(ptr: *const imagecheck_cancel_t) -> Option<Arc<CancelInner>> {
    // SAFETY: NULL or live per the contract.
    unsafe { ptr.as_ref() }.map(imagecheck_cancel_t::shared)
}

/// Run `future` on the library's runtime, blocking this thread, ending early (and dropping the
/// future with its requests) when `cancel` fires.
pub(crate) fn run_blocking<T, F>(cancel: Option<Arc<CancelInner>>, future: F) -> Result<T, Error>
where
    F: Future<Output = Result<T, Error>> + Send + 'static,
    T: Send + 'static,
{
    match cancel {
        None => imagecheck_core::runtime::block_on(future),
        Some(cancel) if cancel.is_cancelled() => Err(Error::Cancelled),
        Some(cancel) => imagecheck_core::runtime::block_on(async move {
            tokio::select! {
                biased;
                () = cancel.cancelled() => Err(Error::Cancelled),
                answer = future => answer,
            }
        }),
    }
}

/// A resolver. Opaque; free with [`imagecheck_resolver_free`]. Safe to use from many threads at
/// once. Handles from [`imagecheck_resolver_default`] share the process-wide resolver.
#[derive(Debug)]
pub struct imagecheck_resolver_t {
    pub(crate) resolver: Resolver,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct ResolverOptions {
    insecure_registries: Vec<String>,
    request_timeout_ms: Option<u64>,
    from_env: Option<bool>,
}

/// A handle on the process-wide resolver (built on first use from the environment:
/// `IMAGECHECK_INSECURE_REGISTRIES`, `DOCKER_CONFIG`, `REGISTRY_AUTH_FILE`), whose cache every
/// caller in the process shares. Free the handle with [`imagecheck_resolver_free`] (the shared
/// resolver itself lives on).
///
/// # Safety
///
/// `out` is a valid pointer to write the handle to.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn imagecheck_resolver_default(
    out: *mut *mut imagecheck_resolver_t,
) -> *mut imagecheck_error_t {
    guard(|| {
        out_arg(out, "out")?;
        let resolver = imagecheck_core::default_resolver().clone();
        // SAFETY: checked non-NULL; the caller provides a writable pointer.
        unsafe { *out = Box::into_raw(Box::new(imagecheck_resolver_t { resolver })) };
        Ok(())
    })
}

/// A new resolver with its own cache. `options_json` (NULL: defaults) is a JSON object with
/// optional fields: `insecure_registries` (array of `host:port` reached over plain HTTP),
/// `request_timeout_ms` (per registry request), `from_env` (default true: also read the
/// environment as the default resolver does). Unknown fields are an error.
///
/// # Safety
///
/// `options_json` is NULL or a NUL-terminated string; `out` is a valid pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn imagecheck_resolver_new(
    options_json: *const c_char,
    out: *mut *mut imagecheck_resolver_t,
) -> *mut imagecheck_error_t {
    guard(|| {
        out_arg(out, "out")?;
        // SAFETY: forwarded contract.
        let text = unsafe { opt_str_arg(options_json, "options_json") }?;
        let options: ResolverOptions = match text {
            Some(text) => serde_json::from_str(text)
                .map_err(|e| invalid(format!("resolver options are not valid: {e}")))?,
            None => ResolverOptions::default(),
        };
        let mut builder = Resolver::builder();
        if options.from_env.unwrap_or(true) {
            builder = builder.from_env();
        }
        builder = builder.insecure_registries(options.insecure_registries);
        if let Some(ms) = options.request_timeout_ms {
            builder = builder.request_timeout(Duration::from_millis(ms));
        }
        let resolver = builder.build();
        // SAFETY: checked non-NULL.
        unsafe { *out = Box::into_raw(Box::new(imagecheck_resolver_t { resolver })) };
        Ok(())
    })
}

/// Free a resolver handle. NULL is ignored. Calls under way on other threads must have returned.
///
/// # Safety
///
/// `resolver` is NULL or a handle from this library, not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn imagecheck_resolver_free(resolver: *mut imagecheck_resolver_t) {
    if !resolver.is_null() {
        // SAFETY: from `Box::into_raw`, freed once per the contract.
        drop(unsafe { Box::from_raw(resolver) });
    }
}

/// Resolve `reference` to a digest with `engine` (NULL: `"registry"`; also `"docker"`,
/// `"podman"`, `"kubernetes"` or a registered custom engine). A cached answer younger than
/// `ttl_ms` is served without I/O; `ttl_ms <= 0` always asks the engine (and stores the answer).
/// `credentials` and `cancel` are optional (NULL). On success `*digest_out` receives an owned
/// `sha256:…` string: free it with [`imagecheck_string_free`](crate::imagecheck_string_free).
/// Blocks the calling thread (never call it from a callback the library is running).
///
/// # Safety
///
/// Pointers are NULL (where optional) or valid: `resolver` a live handle, strings
/// NUL-terminated, `digest_out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn imagecheck_resolver_resolve(
    resolver: *const imagecheck_resolver_t,
    engine: *const c_char,
    reference: *const c_char,
    ttl_ms: i64,
    credentials: *const imagecheck_credentials_t,
    cancel: *const imagecheck_cancel_t,
    digest_out: *mut *mut c_char,
) -> *mut imagecheck_error_t {
    guard(|| {
        // SAFETY: forwarded contract for every argument.
        let (resolver, engine, reference, credentials, cancel) = unsafe {
            (
                handle(resolver, "resolver")?,
                opt_str_arg(engine, "engine")?,
                str_arg(reference, "reference")?,
                credentials_arg(credentials)?,
                cancel_arg(cancel),
            )
        };
        out_arg(digest_out, "digest_out")?;
        let engine = Engine::parse(engine.unwrap_or("registry"))?;
        let ttl = millis(ttl_ms);
        let resolver = &resolver.resolver;
        let digest = match resolver.cached(&engine, reference, ttl, credentials.as_ref()) {
            Some(answer) => answer?,
            None => {
                let resolver = resolver.clone();
                let reference = reference.to_owned();
                run_blocking(cancel, async move {
                    resolver
                        .resolve_with(&engine, &reference, ttl, credentials.as_ref())
                        .await
                })?
            }
        };
        // SAFETY: checked non-NULL.
        unsafe { *digest_out = c_string(digest.as_str()).into_raw() };
        Ok(())
    })
}

/// The allocation-free fast path: answer from the cache only, with no I/O and no runtime work.
/// Strings are (pointer, length) pairs, UTF-8, no NUL needed (`engine_len == 0`: registry).
/// On a hit the digest is copied into `digest_buf` (no NUL written) and `*digest_len` is its
/// length; on a miss `*digest_len` is 0 and the caller goes on with
/// [`imagecheck_resolver_resolve`]. A digest reference is a hit; an invalid reference is an error.
/// A buffer of 160 bytes fits every supported digest; a smaller one that does not fit is an
/// error. Returns NULL or an error as every function does; `*digest_len` is untouched on error.
///
/// # Safety
///
/// `resolver` is a live handle; `engine`/`reference` valid for their lengths; `credentials`
/// NULL or valid; `digest_buf` writable for `digest_cap` bytes; `digest_len` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn imagecheck_resolver_cached(
    resolver: *const imagecheck_resolver_t,
    engine: *const u8,
    engine_len: usize,
    reference: *const u8,
    reference_len: usize,
    ttl_ms: i64,
    credentials: *const imagecheck_credentials_t,
    digest_buf: *mut u8,
    digest_cap: usize,
    digest_len: *mut usize,
) -> *mut imagecheck_error_t {
    guard(|| {
        // SAFETY: forwarded contract for every argument.
        let (resolver, engine, reference, credentials) = unsafe {
            (
                handle(resolver, "resolver")?,
                slice_arg(engine, engine_len, "engine")?,
                slice_arg(reference, reference_len, "reference")?,
                credentials_arg(credentials)?,
            )
        };
        out_arg(digest_len, "digest_len")?;
        let engine = Engine::parse(if engine.is_empty() {
            "registry"
        } else {
            engine
        })?;
        let hit = resolver
            .resolver
            .cached(&engine, reference, millis(ttl_ms), credentials.as_ref())
            .transpose()?;
        let len = match hit {
            None => 0,
            Some(digest) => {
                let bytes = digest.as_str().as_bytes();
                if digest_buf.is_null() || bytes.len() > digest_cap {
                    return Err(invalid(format!(
                        "digest_buf holds {digest_cap} bytes, the digest needs {}",
                        bytes.len()
                    )));
                }
                // SAFETY: `digest_buf` is writable for `digest_cap >= bytes.len()` bytes and
                // cannot overlap our own string.
                unsafe {
                    std::ptr::copy_nonoverlapping(bytes.as_ptr(), digest_buf, bytes.len());
                }
                bytes.len()
            }
        };
        // SAFETY: checked non-NULL.
        unsafe { *digest_len = len };
        Ok(())
    })
}

/// Number of entries in the resolver's cache (0 for NULL): for tests and diagnostics.
///
/// # Safety
///
/// `resolver` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn imagecheck_resolver_cache_len(
    resolver: *const imagecheck_resolver_t,
) -> usize {
    // SAFETY: NULL or live per the contract.
    unsafe { resolver.as_ref() }.map_or(0, |r| r.resolver.cache_len())
}

/// Whether `engine` names an engine this resolver knows (1) or not (0); -1 on a NULL or
/// non-UTF-8 argument.
///
/// # Safety
///
/// `resolver` is NULL or a live handle; `engine` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn imagecheck_resolver_has_engine(
    resolver: *const imagecheck_resolver_t,
    engine: *const c_char,
) -> c_int {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: forwarded contract.
        let (Ok(resolver), Ok(engine)) = (unsafe { handle(resolver, "resolver") }, unsafe {
            str_arg(engine, "engine")
        }) else {
            return -1;
        };
        c_int::from(resolver.resolver.engine_names().iter().any(|n| n == engine))
    }))
    .unwrap_or(-1)
}
