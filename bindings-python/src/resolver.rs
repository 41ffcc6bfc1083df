//! `Resolver`, `default_resolver()` and custom engines backed by Python callables.

use std::path::PathBuf;
use std::sync::Arc;

use imagecheck::resolve::DigestSource;
use imagecheck::{CauseKind, Digest, DigestCause, ResolverOptions};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyString;

use crate::aio;
use crate::convert::{Seconds, engine};
use crate::errors::to_pyerr;
use crate::types::PyCredentials;
use crate::wait;

/// Resolves image references to content digests through engines, with a shared TTL cache.
#[pyclass(frozen, module = "imagecheck", name = "Resolver")]
pub(crate) struct PyResolver {
    pub(crate) inner: imagecheck::Resolver,
}

fn credentials<'a>(
    given: Option<&'a Bound<'_, PyCredentials>>,
) -> Option<&'a imagecheck::Credentials> {
    given.map(|c| &c.get().inner)
}

#[pymethods]
impl PyResolver {
    /// Every option left at None keeps core's default (`imagecheck::ResolverOptions`).
    #[new]
    #[allow(clippy::too_many_arguments, reason = "Python keyword arguments")]
    #[pyo3(signature = (
        *,
        insecure_registries = None,
        timeout = None,
        from_env = None,
        max_cache_entries = None,
        registries_conf = None,
        hosts_dir = None,
        max_retries = None,
        max_concurrent_requests_per_host = None,
        shared_cache = None,
    ))]
    fn new(
        py: Python<'_>,
        insecure_registries: Option<Vec<String>>,
        timeout: Option<Seconds>,
        from_env: Option<bool>,
        max_cache_entries: Option<usize>,
        registries_conf: Option<PathBuf>,
        hosts_dir: Option<PathBuf>,
        max_retries: Option<u32>,
        max_concurrent_requests_per_host: Option<usize>,
        shared_cache: Option<PyBackedStr>,
    ) -> PyResult<Self> {
        let mut options = ResolverOptions::default();
        if let Some(hosts) = insecure_registries {
            options.insecure_registries = hosts;
        }
        if let Some(timeout) = timeout {
            options.request_timeout = timeout.0;
        }
        if let Some(from_env) = from_env {
            options.from_env = from_env;
        }
        if let Some(max) = max_cache_entries {
            options.max_cache_entries = max;
        }
        if registries_conf.is_some() {
            options.registries_conf = registries_conf;
        }
        if hosts_dir.is_some() {
            options.hosts_dir = hosts_dir;
        }
        if let Some(retries) = max_retries {
            options.max_retries = retries;
        }
        if let Some(max) = max_concurrent_requests_per_host {
            options.max_concurrent_requests_per_host = max;
        }
        if let Some(url) = shared_cache {
            let url = imagecheck::shared_cache::SharedCacheUrl::parse(&url)
                .map_err(|e| to_pyerr(py, &e))?;
            options.shared_cache = Some(url);
        }
        Ok(PyResolver {
            inner: options.build(),
        })
    }

    /// The digest `reference` points at, from the cache when an answer younger than `ttl`
    /// exists (no I/O, the GIL is kept: a few hundred nanoseconds), else from `engine` with
    /// the GIL released (Ctrl-C interrupts the wait and cancels the request).
    #[pyo3(signature = (reference, engine = "registry", ttl = Seconds::from_secs(30), credentials = None))]
    fn resolve(
        &self,
        py: Python<'_>,
        reference: PyBackedStr,
        engine: &str,
        ttl: Seconds,
        credentials: Option<&Bound<'_, PyCredentials>>,
    ) -> PyResult<String> {
        let engine = self::engine(py, engine)?;
        let mut call = self
            .inner
            .call(&engine, &reference, ttl.0, self::credentials(credentials));
        let digest = match call.ready_answer() {
            Some(answer) => answer.map_err(|e| to_pyerr(py, &e))?,
            None => wait::wait(py, call)?,
        };
        Ok(digest.as_str().to_owned())
    }

    /// `await resolver.resolve_async(...)`: the same as `resolve`, on the caller's event loop.
    /// Cancelling the awaiting task cancels the request.
    #[pyo3(signature = (reference, engine = "registry", ttl = Seconds::from_secs(30), credentials = None))]
    fn resolve_async<'py>(
        &self,
        py: Python<'py>,
        reference: PyBackedStr,
        engine: &str,
        ttl: Seconds,
        credentials: Option<&Bound<'_, PyCredentials>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let engine = match self::engine(py, engine) {
            Ok(engine) => engine,
            Err(e) => return aio::failed(py, e),
        };
        let call = self
            .inner
            .call(&engine, &reference, ttl.0, self::credentials(credentials));
        aio::spawn(py, call, |py, digest| {
            Ok(PyString::new(py, digest.as_str()).into_any())
        })
    }

    /// Register (or replace) engine `name`: `function(reference: str) -> str` returns the
    /// digest; it may be `async def`. It runs on a worker thread (a coroutine on a private
    /// event loop there). An exception becomes DigestUnavailable with cause "engine error".
    fn register_engine(
        &self,
        py: Python<'_>,
        name: &str,
        function: Bound<'_, PyAny>,
    ) -> PyResult<()> {
        if !function.is_callable() {
            return Err(PyTypeError::new_err(
                "register_engine needs a callable: function(reference: str) -> str",
            ));
        }
        let source = python_source(name, function.unbind());
        self.inner
            .register_engine(name, source)
            .map_err(|e| to_pyerr(py, &e))
    }

    /// Names of every engine this resolver knows, sorted.
    fn engine_names(&self) -> Vec<String> {
        self.inner.engine_names()
    }

    /// Registries reached over plain HTTP, sorted.
    #[getter]
    fn insecure_registries(&self) -> Vec<String> {
        let mut hosts: Vec<String> = self.inner.insecure_registries().iter().cloned().collect();
        hosts.sort();
        hosts
    }

    /// Number of cached digests.
    fn cache_len(&self) -> usize {
        self.inner.cache_len()
    }

    /// Drop every cached digest.
    fn clear_cache(&self) {
        self.inner.clear_cache();
    }

    fn __repr__(&self) -> String {
        format!(
            "Resolver(insecure_registries={:?}, engines={:?})",
            self.insecure_registries(),
            self.inner.engine_names()
        )
    }
}

static DEFAULT_RESOLVER: PyOnceLock<Py<PyResolver>> = PyOnceLock::new();

/// The process-wide resolver (built from the environment on first use); every caller in the
/// process shares its cache.
#[pyfunction]
pub(crate) fn default_resolver(py: Python<'_>) -> PyResult<Py<PyResolver>> {
    DEFAULT_RESOLVER
        .get_or_try_init(py, || {
            Py::new(
                py,
                PyResolver {
                    inner: imagecheck::default_resolver().clone(),
                },
            )
        })
        .map(|r| r.clone_ref(py))
}

/// `default_resolver().register_engine(name, function)`.
#[pyfunction]
pub(crate) fn register_engine(
    py: Python<'_>,
    name: &str,
    function: Bound<'_, PyAny>,
) -> PyResult<()> {
    default_resolver(py)?
        .get()
        .register_engine(py, name, function)
}

fn python_source(name: &str, function: Py<PyAny>) -> Arc<dyn DigestSource> {
    let function = Arc::new(function);
    let label: Arc<str> = Arc::from(name);
    imagecheck::resolve::from_fn(name, move |reference, _credentials| {
        let function = function.clone();
        let label = label.clone();
        async move {
            let text = reference.to_string();
            let name = label.clone();
            tokio::task::spawn_blocking(move || call_engine(&function, &name, &text))
                .await
                .unwrap_or_else(|_| Err(engine_error(format!("engine {label:?} panicked"))))
        }
    })
}

fn engine_error(detail: String) -> DigestCause {
    DigestCause::new(CauseKind::Engine, detail)
}

static ASYNCIO_RUN: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static IS_COROUTINE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Call the Python engine function with the GIL (on a blocking-pool thread).
fn call_engine(function: &Py<PyAny>, name: &str, reference: &str) -> Result<Digest, DigestCause> {
    Python::try_attach(|py| {
        let returned = function.bind(py).call1((reference,)).and_then(|value| {
            let is_coroutine = IS_COROUTINE
                .import(py, "asyncio", "iscoroutine")?
                .call1((&value,))?
                .is_truthy()?;
            if is_coroutine {
                ASYNCIO_RUN.import(py, "asyncio", "run")?.call1((value,))
            } else {
                Ok(value)
            }
        });
        let value = returned.map_err(|e| engine_error(format!("engine {name:?} raised {e}")))?;
        let text: String = value.extract().map_err(|_| {
            engine_error(format!(
                "engine {name:?} returned {}, not a digest string",
                value
                    .get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            ))
        })?;
        Digest::parse(&text).map_err(|e| {
            engine_error(format!(
                "engine {name:?} returned {text:?}, not a digest: {e}"
            ))
        })
    })
    .unwrap_or_else(|| {
        Err(engine_error(
            "the Python interpreter is shutting down".to_owned(),
        ))
    })
}
