//! `imagecheck_resolver_t`: tag-to-digest resolution with a shared TTL cache.

use std::ffi::{c_char, c_int};

use imagecheck_core::{
    Call, Cancel, Credentials, Digest, Engine, Error, Resolver, ResolverOptions,
};

use crate::cancel::imagecheck_cancel_t;
use crate::error::{guard, imagecheck_error_t};
use crate::util::{c_string, handle, invalid, millis, opt_str_arg, out_arg, slice_arg, str_arg};

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
pub(crate) unsafe fn cancel_arg<'a>(ptr: *const imagecheck_cancel_t) -> Option<&'a Cancel> {
    // SAFETY: NULL or live per the contract.
    unsafe { ptr.as_ref() }.map(|c| &c.token)
}

/// Wait for `call` on this thread, ending early when `cancel` (optional) fires.
pub(crate) fn wait<T: Send + 'static>(call: Call<T>, cancel: Option<&Cancel>) -> Result<T, Error> {
    match cancel {
        Some(cancel) => call.wait_or_cancel(cancel),
        None => call.wait(),
    }
}

/// A resolver. Opaque; free with [`imagecheck_resolver_free`]. Safe to use from many threads at
/// once. Handles from [`imagecheck_resolver_default`] share the process-wide resolver.
#[derive(Debug)]
pub struct imagecheck_resolver_t {
    pub(crate) resolver: Resolver,
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
/// optional fields (core's `ResolverOptions`; absent fields keep core's defaults):
/// `from_env` (default true: also read the environment as the default resolver does),
/// `insecure_registries` (array of `host:port` reached over plain HTTP),
/// `request_timeout_ms` (per registry request; default 30000), `max_cache_entries` (default
/// 65536), `docker_socket` / `podman_socket` (paths of the engines' API sockets),
/// `pull_timeout_ms` (one pull by the docker or podman engine; default 600000),
/// `registries_conf` (path of a containers registries.conf whose mirrors route registry
/// requests and whose blocked registries are refused; default, with `from_env`:
/// `CONTAINERS_REGISTRIES_CONF`, else the standard paths when present), `hosts_dir` (a
/// containerd `config_path` directory of `<host>/hosts.toml`; default, with `from_env`:
/// `IMAGECHECK_HOSTS_DIR`), `max_retries` (retries after HTTP 429, or 503 with Retry-After,
/// within the call's deadline; default 2), `max_concurrent_requests_per_host` (default 16),
/// `shared_cache` (the fleet's Redis/Valkey tier: `redis://…`, `rediss://…`, `unix:///…`;
/// default none, or `IMAGECHECK_SHARED_CACHE` with `from_env`).
/// Unknown fields and an unusable shared-cache URL are an error (`IMAGECHECK_KIND_INVALID_ARGUMENT`); a named registries.conf
/// that is missing or unusable makes each registry call fail with that kind, naming it.
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
        let options = match text {
            Some(text) => ResolverOptions::from_json(text)?,
            None => ResolverOptions::default(),
        };
        let resolver = options.build();
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
        let call = resolver
            .resolver
            .call(&engine, reference, millis(ttl_ms), credentials.as_ref());
        let digest = wait(call, cancel)?;
        // SAFETY: checked non-NULL.
        unsafe { *digest_out = c_string(digest.as_str()).into_raw() };
        Ok(())
    })
}

/// The allocation-free fast path: answer from the cache only, with no I/O and no runtime work.
/// Strings are (pointer, length) pairs, UTF-8, no NUL needed (`engine_len == 0`: registry).
/// On a hit the digest is copied into `digest_buf` (no NUL written) and `*digest_len` is its
/// length; on a miss `*digest_len` is 0 and the caller goes on with
/// [`imagecheck_resolver_resolve`] (or uses [`imagecheck_resolver_start`], which parses the
/// reference only once). A digest reference is a hit; an invalid reference is an error.
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
        let hit = resolver
            .resolver
            .cached(
                &engine_or_registry(engine)?,
                reference,
                millis(ttl_ms),
                credentials.as_ref(),
            )
            .transpose()?;
        let len = match hit {
            // SAFETY: forwarded contract.
            Some(digest) => unsafe { copy_digest(&digest, digest_buf, digest_cap) }?,
            None => 0,
        };
        // SAFETY: checked non-NULL.
        unsafe { *digest_len = len };
        Ok(())
    })
}

/// A resolve that needs I/O, started by [`imagecheck_resolver_start`]. Opaque; finish it with
/// [`imagecheck_resolve_call_wait`] (which consumes it) or drop it with
/// [`imagecheck_resolve_call_free`].
#[derive(Debug)]
pub struct imagecheck_resolve_call_t {
    call: Call<Digest>,
}

/// Start a resolve (arguments as [`imagecheck_resolver_cached`], the reference parsed once):
/// on a cache hit the digest is copied into `digest_buf`, `*digest_len` is its length and
/// `*call_out` is NULL, all without I/O or allocation; on a miss `*digest_len` is 0 and
/// `*call_out` receives the pending resolve, to finish with [`imagecheck_resolve_call_wait`].
///
/// # Safety
///
/// As [`imagecheck_resolver_cached`]; `call_out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn imagecheck_resolver_start(
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
    call_out: *mut *mut imagecheck_resolve_call_t,
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
        out_arg(call_out, "call_out")?;
        let mut call = resolver.resolver.call(
            &engine_or_registry(engine)?,
            reference,
            millis(ttl_ms),
            credentials.as_ref(),
        );
        let (len, pending) = match call.ready_answer() {
            // SAFETY: forwarded contract.
            Some(answer) => (
                unsafe { copy_digest(&answer?, digest_buf, digest_cap) }?,
                None,
            ),
            None => (0, Some(Box::new(imagecheck_resolve_call_t { call }))),
        };
        // SAFETY: both checked non-NULL.
        unsafe {
            *digest_len = len;
            *call_out = pending.map_or(std::ptr::null_mut(), Box::into_raw);
        }
        Ok(())
    })
}

/// Finish a resolve started by [`imagecheck_resolver_start`], blocking this thread; `cancel`
/// (optional) ends it early with `IMAGECHECK_KIND_CANCELLED`. `call` is consumed, whatever the
/// outcome. On success `*digest_out` receives an owned `sha256:…` string (free it with
/// [`imagecheck_string_free`](crate::imagecheck_string_free)).
///
/// # Safety
///
/// `call` is a pending resolve from [`imagecheck_resolver_start`], not waited for or freed
/// before; `cancel` NULL or live; `digest_out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn imagecheck_resolve_call_wait(
    call: *mut imagecheck_resolve_call_t,
    cancel: *const imagecheck_cancel_t,
    digest_out: *mut *mut c_char,
) -> *mut imagecheck_error_t {
    guard(|| {
        if call.is_null() {
            return Err(invalid("call is NULL"));
        }
        // SAFETY: from `Box::into_raw` in `imagecheck_resolver_start`, consumed once.
        let call = unsafe { Box::from_raw(call) }.call;
        out_arg(digest_out, "digest_out")?;
        // SAFETY: forwarded contract.
        let digest = wait(call, unsafe { cancel_arg(cancel) })?;
        // SAFETY: checked non-NULL.
        unsafe { *digest_out = c_string(digest.as_str()).into_raw() };
        Ok(())
    })
}

/// Drop a pending resolve without waiting for it (its request is cancelled unless other callers
/// share it). NULL is ignored.
///
/// # Safety
///
/// `call` is NULL or a pending resolve from [`imagecheck_resolver_start`], not waited for or
/// freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn imagecheck_resolve_call_free(call: *mut imagecheck_resolve_call_t) {
    if !call.is_null() {
        // SAFETY: from `Box::into_raw`, freed once per the contract.
        drop(unsafe { Box::from_raw(call) });
    }
}

/// The engine named by a (pointer, length) argument; empty means `registry`.
fn engine_or_registry(engine: &str) -> Result<Engine, Error> {
    Engine::parse(if engine.is_empty() {
        "registry"
    } else {
        engine
    })
}

/// Copy `digest` into the caller's buffer (no NUL); its length.
///
/// # Safety
///
/// `buf` is NULL or writable for `cap` bytes.
unsafe fn copy_digest(digest: &Digest, buf: *mut u8, cap: usize) -> Result<usize, Error> {
    let bytes = digest.as_str().as_bytes();
    if buf.is_null() || bytes.len() > cap {
        return Err(invalid(format!(
            "digest_buf holds {cap} bytes, the digest needs {}",
            bytes.len()
        )));
    }
    // SAFETY: `buf` is writable for `cap >= bytes.len()` bytes and cannot overlap our own
    // string.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf, bytes.len()) };
    Ok(bytes.len())
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
