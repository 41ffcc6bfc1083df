//! `Verifier` and `default_verifier()`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use imagecheck::{Error, Policy, ResolverOptions, VerifierOptions};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::sync::PyOnceLock;

use crate::aio;
use crate::convert::Seconds;
use crate::errors::to_pyerr;
use crate::resolver::PyResolver;
use crate::types::{PyCredentials, PyVerification};
use crate::wait;

/// Verifies image references against an ordered rule list (the policy).
#[pyclass(frozen, module = "imagecheck", name = "Verifier")]
pub(crate) struct PyVerifier {
    inner: imagecheck::Verifier,
}

/// The keyword arguments shared by `Verifier(...)` and `Verifier.from_file(...)`; every one left
/// at None keeps core's default (`imagecheck::VerifierOptions`).
struct Options<'py> {
    trusted_root: Option<PathBuf>,
    trusted_roots: Option<BTreeMap<String, PathBuf>>,
    tuf_url: Option<String>,
    tuf_root: Option<PathBuf>,
    tuf_cache_dir: Option<PathBuf>,
    tuf_refresh_interval: Option<Seconds>,
    resolve_ttl: Option<Seconds>,
    result_ttl: Option<Seconds>,
    deadline: Option<Seconds>,
    insecure_registries: Option<Vec<String>>,
    resolver: Option<Bound<'py, PyResolver>>,
}

fn build(
    py: Python<'_>,
    policy: Result<Policy, Error>,
    given: Options<'_>,
) -> PyResult<PyVerifier> {
    let mut options = VerifierOptions {
        trusted_root: given.trusted_root,
        trusted_roots: given.trusted_roots.unwrap_or_default(),
        tuf_url: given.tuf_url,
        tuf_root: given.tuf_root,
        tuf_cache_dir: given.tuf_cache_dir,
        ..VerifierOptions::default()
    };
    if let Some(interval) = given.tuf_refresh_interval {
        options.tuf_refresh_interval = interval.0;
    }
    if let Some(ttl) = given.resolve_ttl {
        options.resolve_ttl = ttl.0;
    }
    if let Some(ttl) = given.result_ttl {
        options.result_ttl = ttl.0;
    }
    if let Some(deadline) = given.deadline {
        options.deadline = deadline.0;
    }
    let policy = policy.map_err(|e| to_pyerr(py, &e))?;
    let resolver = match (given.resolver, given.insecure_registries) {
        (Some(_), Some(_)) => {
            return Err(crate::errors::invalid_argument(
                py,
                "give either resolver= or insecure_registries=, not both \
                 (insecure registries are a property of the resolver)",
            ));
        }
        (Some(r), None) => r.get().inner.clone(),
        // The default resolver: its cache is shared with every caller in the process.
        (None, None) => imagecheck::default_resolver().clone(),
        (None, Some(hosts)) => ResolverOptions {
            insecure_registries: hosts,
            ..ResolverOptions::default()
        }
        .build(),
    };
    let builder = py
        .detach(|| options.builder(policy))
        .map_err(|e| to_pyerr(py, &e))?;
    Ok(PyVerifier {
        inner: builder.resolver(resolver).build(),
    })
}

#[pymethods]
impl PyVerifier {
    /// `policy` is the rules as text: a Talos ImageVerificationConfig document, or the same
    /// rules as plain YAML or JSON.
    #[new]
    #[pyo3(signature = (
        policy,
        *,
        trusted_root = None,
        trusted_roots = None,
        tuf_url = None,
        tuf_root = None,
        tuf_cache_dir = None,
        tuf_refresh_interval = None,
        resolve_ttl = None,
        result_ttl = None,
        deadline = None,
        insecure_registries = None,
        resolver = None,
    ))]
    #[allow(clippy::too_many_arguments, reason = "Python keyword arguments")]
    fn new(
        py: Python<'_>,
        policy: PyBackedStr,
        trusted_root: Option<PathBuf>,
        trusted_roots: Option<BTreeMap<String, PathBuf>>,
        tuf_url: Option<String>,
        tuf_root: Option<PathBuf>,
        tuf_cache_dir: Option<PathBuf>,
        tuf_refresh_interval: Option<Seconds>,
        resolve_ttl: Option<Seconds>,
        result_ttl: Option<Seconds>,
        deadline: Option<Seconds>,
        insecure_registries: Option<Vec<String>>,
        resolver: Option<Bound<'_, PyResolver>>,
    ) -> PyResult<Self> {
        let parsed = Policy::parse(&policy).map_err(Error::from);
        let options = Options {
            trusted_root,
            trusted_roots,
            tuf_url,
            tuf_root,
            tuf_cache_dir,
            tuf_refresh_interval,
            resolve_ttl,
            result_ttl,
            deadline,
            insecure_registries,
            resolver,
        };
        build(py, parsed, options)
    }

    /// A verifier whose rules come from the file at `path`.
    #[staticmethod]
    #[pyo3(signature = (
        path,
        *,
        trusted_root = None,
        trusted_roots = None,
        tuf_url = None,
        tuf_root = None,
        tuf_cache_dir = None,
        tuf_refresh_interval = None,
        resolve_ttl = None,
        result_ttl = None,
        deadline = None,
        insecure_registries = None,
        resolver = None,
    ))]
    #[allow(clippy::too_many_arguments, reason = "Python keyword arguments")]
    fn from_file(
        py: Python<'_>,
        path: PathBuf,
        trusted_root: Option<PathBuf>,
        trusted_roots: Option<BTreeMap<String, PathBuf>>,
        tuf_url: Option<String>,
        tuf_root: Option<PathBuf>,
        tuf_cache_dir: Option<PathBuf>,
        tuf_refresh_interval: Option<Seconds>,
        resolve_ttl: Option<Seconds>,
        result_ttl: Option<Seconds>,
        deadline: Option<Seconds>,
        insecure_registries: Option<Vec<String>>,
        resolver: Option<Bound<'_, PyResolver>>,
    ) -> PyResult<Self> {
        let parsed = py.detach(|| Policy::from_file(&path).map_err(Error::from));
        let options = Options {
            trusted_root,
            trusted_roots,
            tuf_url,
            tuf_root,
            tuf_cache_dir,
            tuf_refresh_interval,
            resolve_ttl,
            result_ttl,
            deadline,
            insecure_registries,
            resolver,
        };
        build(py, parsed, options)
    }

    /// Verify `reference` (a tag is resolved on the way; a digest is verified as given).
    /// Raises Denied, VerificationFailed, DigestUnavailable, InvalidReference.
    #[pyo3(signature = (reference, credentials = None))]
    fn verify(
        &self,
        py: Python<'_>,
        reference: PyBackedStr,
        credentials: Option<&Bound<'_, PyCredentials>>,
    ) -> PyResult<PyVerification> {
        let credentials = credentials.map(|c| &c.get().inner);
        wait::wait(py, self.inner.call(&reference, credentials)).map(PyVerification::from)
    }

    /// `await verifier.verify_async(...)`; cancelling the awaiting task cancels the work.
    #[pyo3(signature = (reference, credentials = None))]
    fn verify_async<'py>(
        &self,
        py: Python<'py>,
        reference: PyBackedStr,
        credentials: Option<&Bound<'_, PyCredentials>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let credentials = credentials.map(|c| &c.get().inner);
        aio::spawn(
            py,
            self.inner.call(&reference, credentials),
            |py, verification| Ok(Bound::new(py, PyVerification::from(verification))?.into_any()),
        )
    }

    /// Replace the rules atomically with `policy` (text); on error the current rules stay.
    fn set_policy(&self, py: Python<'_>, policy: PyBackedStr) -> PyResult<()> {
        let parsed = Policy::parse(&policy).map_err(|e| to_pyerr(py, &Error::from(e)))?;
        self.inner.set_policy(parsed);
        Ok(())
    }

    /// Replace the rules with those of the file at `path`; on error the current rules stay.
    fn load_policy(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        py.detach(|| self.inner.load_policy(&path))
            .map_err(|e| to_pyerr(py, &e))
    }

    /// How many rules are in force (raises InvalidPolicy if the policy failed to load).
    fn rule_count(&self, py: Python<'_>) -> PyResult<usize> {
        self.inner
            .policy()
            .map(|p| p.rules().len())
            .map_err(|e| to_pyerr(py, &e))
    }

    fn __repr__(&self) -> String {
        match self.inner.policy() {
            Ok(p) => format!("Verifier(rules={})", p.rules().len()),
            Err(_) => "Verifier(policy failed to load)".to_owned(),
        }
    }
}

static DEFAULT_VERIFIER: PyOnceLock<Py<PyVerifier>> = PyOnceLock::new();

/// The process-wide verifier: rules from the file named by `IMAGECHECK_POLICY` (none: no rule
/// matches anything); it shares the default resolver's cache.
#[pyfunction]
pub(crate) fn default_verifier(py: Python<'_>) -> PyResult<Py<PyVerifier>> {
    DEFAULT_VERIFIER
        .get_or_try_init(py, || {
            Py::new(
                py,
                PyVerifier {
                    inner: imagecheck::default_verifier().clone(),
                },
            )
        })
        .map(|v| v.clone_ref(py))
}
