//! Custom engines: a C callback that turns a reference into a digest.

use std::ffi::{CString, c_char, c_void};
use std::sync::Arc;

use imagecheck_core::resolve::from_fn;
use imagecheck_core::{CauseKind, Credentials, Digest, DigestCause, Engine, Reference};

use crate::error::guard;
use crate::error::imagecheck_error_t;
use crate::resolver::{imagecheck_credentials_t, imagecheck_resolver_t};
use crate::util::{c_string, handle, str_arg};

/// Where a custom engine's callback puts its answer: call exactly one of
/// [`imagecheck_engine_result_set_digest`] or [`imagecheck_engine_result_set_error`] before
/// returning (the last call wins; neither is an engine error). Valid only during the callback.
#[derive(Debug, Default)]
pub struct imagecheck_engine_result_t {
    outcome: Option<Result<Digest, DigestCause>>,
}

/// A custom engine. Called on a library thread (a blocking-pool thread of the library's runtime,
/// never the caller's thread), possibly on several threads at once; it may block. `reference` is
/// the normalised reference (`registry/repository:tag`), `credentials` NULL or the caller's
/// per-call credentials for that registry; both are borrowed for the duration of the call. The
/// callback must not unwind (no C++ exception, no Go panic) and must not call back into a
/// blocking function of this library.
pub type imagecheck_engine_callback = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        reference: *const c_char,
        credentials: *const imagecheck_credentials_t,
        result: *mut imagecheck_engine_result_t,
    ),
>;

/// Frees a custom engine's `user_data` once the library drops the engine (replaced by another
/// registration under the same name, or its resolver freed and no call using it left). Called
/// on any thread, exactly once.
pub type imagecheck_free_callback = Option<unsafe extern "C" fn(user_data: *mut c_void)>;

/// Answer a custom engine's call with `digest` (`sha256:<64 hex>`; copied). Returns false, and
/// records an invalid-response error instead, when `digest` is NULL, not UTF-8 or not a digest.
///
/// # Safety
///
/// `result` is the pointer the callback was given, used during the callback; `digest` NULL or
/// NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn imagecheck_engine_result_set_digest(
    result: *mut imagecheck_engine_result_t,
    digest: *const c_char,
) -> bool {
    // SAFETY: the callback's own result object, per the contract.
    let Some(result) = (unsafe { result.as_mut() }) else {
        return false;
    };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: NULL or NUL-terminated per the contract.
        let parsed = unsafe { str_arg(digest, "digest") }
            .map_err(|e| e.to_string())
            .and_then(|text| Digest::parse(text).map_err(|e| e.to_string()));
        match parsed {
            Ok(digest) => {
                result.outcome = Some(Ok(digest));
                true
            }
            Err(why) => {
                result.outcome = Some(Err(DigestCause::new(
                    CauseKind::InvalidResponse,
                    format!("the custom engine returned an invalid digest: {why}"),
                )));
                false
            }
        }
    }))
    .unwrap_or(false)
}

/// Answer a custom engine's call with an error: `cause` is one of the `imagecheck_cause` values
/// (`IMAGECHECK_CAUSE_NOT_FOUND`, ...; an unknown value or `NONE` means
/// `IMAGECHECK_CAUSE_ENGINE`), `message` (NULL allowed; copied) says what went wrong.
///
/// # Safety
///
/// `result` is the pointer the callback was given, used during the callback; `message` NULL or
/// NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn imagecheck_engine_result_set_error(
    result: *mut imagecheck_engine_result_t,
    cause: u32,
    message: *const c_char,
) {
    // SAFETY: the callback's own result object, per the contract.
    let Some(result) = (unsafe { result.as_mut() }) else {
        return;
    };
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let kind = match cause {
            1 => CauseKind::NotFound,
            2 => CauseKind::Unauthorized,
            3 => CauseKind::RateLimited,
            4 => CauseKind::Network,
            5 => CauseKind::Timeout,
            6 => CauseKind::NoDigestSource,
            7 => CauseKind::InvalidResponse,
            _ => CauseKind::Engine,
        };
        let detail = if message.is_null() {
            "the custom engine failed (no message)".to_owned()
        } else {
            // SAFETY: non-NULL and NUL-terminated per the contract.
            unsafe { std::ffi::CStr::from_ptr(message) }
                .to_string_lossy()
                .into_owned()
        };
        result.outcome = Some(Err(DigestCause::new(kind, detail)));
    }));
}

/// The callback and its user data; frees the user data when dropped.
#[derive(Debug)]
struct CallbackEngine {
    callback: unsafe extern "C" fn(
        *mut c_void,
        *const c_char,
        *const imagecheck_credentials_t,
        *mut imagecheck_engine_result_t,
    ),
    user_data: *mut c_void,
    free: imagecheck_free_callback,
}

// SAFETY: the registration contract requires `user_data` and both callbacks to be usable from
// any thread, concurrently.
unsafe impl Send for CallbackEngine {}
// SAFETY: as above.
unsafe impl Sync for CallbackEngine {}

impl CallbackEngine {
    fn call(
        &self,
        reference: &Reference,
        credentials: Option<&Credentials>,
    ) -> Result<Digest, DigestCause> {
        let reference = c_string(&reference.to_string());
        let owned: Option<[CString; 3]> = credentials.map(|c| {
            [
                c_string(c.host()),
                c_string(c.username()),
                c_string(c.password()),
            ]
        });
        let c_credentials =
            owned
                .as_ref()
                .map(|[host, username, password]| imagecheck_credentials_t {
                    host: host.as_ptr(),
                    username: username.as_ptr(),
                    password: password.as_ptr(),
                });
        let credentials_ptr = c_credentials
            .as_ref()
            .map_or(std::ptr::null(), |c| c as *const imagecheck_credentials_t);
        let mut result = imagecheck_engine_result_t::default();
        // SAFETY: the registration contract: a valid callback for this user data; every pointer
        // passed lives until it returns.
        unsafe {
            (self.callback)(
                self.user_data,
                reference.as_ptr(),
                credentials_ptr,
                &mut result,
            )
        };
        result.outcome.unwrap_or_else(|| {
            Err(DigestCause::new(
                CauseKind::Engine,
                "the custom engine returned neither a digest nor an error",
            ))
        })
    }
}

impl Drop for CallbackEngine {
    fn drop(&mut self) {
        if let Some(free) = self.free {
            // SAFETY: the registration contract: `free` accepts this user data, once.
            unsafe { free(self.user_data) };
        }
    }
}

/// Register (or replace) the custom engine `name` (lowercase letters, digits, `-`, `_`, `.`; at
/// most 64 bytes; a built-in name replaces the built-in engine on this resolver) answered by
/// `callback`. On success the library owns `user_data` and calls `free_user_data` (optional)
/// when the engine is dropped; on failure it takes nothing (the caller frees `user_data`).
/// The callback runs on a blocking-pool thread of the library's runtime, so it may block; when
/// the calling resolve is cancelled, a callback already running still runs to its end and its
/// answer is dropped.
///
/// # Safety
///
/// `resolver` a live handle; `name` NUL-terminated; `callback` non-NULL; `callback`,
/// `free_user_data` and `user_data` usable from any thread, concurrently, for as long as the
/// engine is registered.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn imagecheck_resolver_register_engine(
    resolver: *const imagecheck_resolver_t,
    name: *const c_char,
    callback: imagecheck_engine_callback,
    user_data: *mut c_void,
    free_user_data: imagecheck_free_callback,
) -> *mut imagecheck_error_t {
    guard(|| {
        // SAFETY: forwarded contract.
        let (resolver, name) = unsafe { (handle(resolver, "resolver")?, str_arg(name, "name")?) };
        let callback = callback.ok_or_else(|| crate::util::invalid("callback is NULL"))?;
        // Validate before taking ownership, so a failure never frees the caller's user data.
        let engine = Engine::parse(name)?;
        let source = Arc::new(CallbackEngine {
            callback,
            user_data,
            free: free_user_data,
        });
        let digest_source = from_fn(
            engine.name(),
            move |reference: Reference, credentials: Option<Credentials>| {
                let source = source.clone();
                async move {
                    tokio::task::spawn_blocking(move || {
                        source.call(&reference, credentials.as_ref())
                    })
                    .await
                    .unwrap_or_else(|_| {
                        Err(DigestCause::new(
                            CauseKind::Engine,
                            "imagecheck internal error while running the custom engine callback",
                        ))
                    })
                }
            },
        );
        resolver
            .resolver
            .register_engine(engine.name(), digest_source)
    })
}
