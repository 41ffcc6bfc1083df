//! `Verifier` and `default_verifier()`.

use std::path::PathBuf;

use imagecheck::{Error, Policy};
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

/// The options shared by `Verifier(...)` and `Verifier.from_file(...)`.
fn build(
    py: Python<'_>,
    policy: Result<Policy, Error>,
    trusted_root: Option<&Bound<'_, PyAny>>,
    resolve_ttl: Seconds,
    insecure_registries: Vec<String>,
    resolver: Option<&Bound<'_, PyResolver>>,
) -> PyResult<PyVerifier> {
    // A path (str or os.PathLike) to a trusted_root.json; None: the embedded public-good root.
    let trust_root = match trusted_root {
        None => None,
        Some(path) => {
            let path: PathBuf = path.extract()?;
            Some(
                imagecheck::verify::TrustRoot::from_file(&path)
                    .map_err(|e| to_pyerr(py, &Error::from(e)))?,
            )
        }
    };
    let policy = policy.map_err(|e| to_pyerr(py, &e))?;
    let resolver = match (resolver, insecure_registries.is_empty()) {
        (Some(_), false) => {
            return Err(crate::errors::invalid_argument(
                py,
                "give either resolver= or insecure_registries=, not both \
                 (insecure registries are a property of the resolver)",
            ));
        }
        (Some(r), true) => r.get().inner.clone(),
        // The default resolver: its cache is shared with every caller in the process.
        (None, true) => imagecheck::default_resolver().clone(),
        (None, false) => imagecheck::Resolver::builder()
            .from_env()
            .insecure_registries(insecure_registries)
            .build(),
    };
    let mut builder = imagecheck::Verifier::builder(policy)
        .resolver(resolver)
        .resolve_ttl(resolve_ttl.0);
    if let Some(root) = trust_root {
        builder = builder.trusted_root(root);
    }
    let inner = builder.build();
    Ok(PyVerifier { inner })
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
        resolve_ttl = Seconds::from_secs(0),
        insecure_registries = Vec::new(),
        resolver = None,
    ))]
    fn new(
        py: Python<'_>,
        policy: PyBackedStr,
        trusted_root: Option<&Bound<'_, PyAny>>,
        resolve_ttl: Seconds,
        insecure_registries: Vec<String>,
        resolver: Option<&Bound<'_, PyResolver>>,
    ) -> PyResult<Self> {
        let parsed = Policy::parse(&policy).map_err(Error::from);
        build(
            py,
            parsed,
            trusted_root,
            resolve_ttl,
            insecure_registries,
            resolver,
        )
    }

    /// A verifier whose rules come from the file at `path`.
    #[staticmethod]
    #[pyo3(signature = (
        path,
        *,
        trusted_root = None,
        resolve_ttl = Seconds::from_secs(0),
        insecure_registries = Vec::new(),
        resolver = None,
    ))]
    fn from_file(
        py: Python<'_>,
        path: PathBuf,
        trusted_root: Option<&Bound<'_, PyAny>>,
        resolve_ttl: Seconds,
        insecure_registries: Vec<String>,
        resolver: Option<&Bound<'_, PyResolver>>,
    ) -> PyResult<Self> {
        let parsed = py.detach(|| Policy::from_file(&path).map_err(Error::from));
        build(
            py,
            parsed,
            trusted_root,
            resolve_ttl,
            insecure_registries,
            resolver,
        )
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
        let credentials = credentials.map(|c| c.get().inner.clone());
        let verifier = self.inner.clone();
        let reference = String::from(&*reference);
        wait::wait(py, async move {
            verifier.verify(&reference, credentials.as_ref()).await
        })
        .map(PyVerification::from)
    }

    /// `await verifier.verify_async(...)`; cancelling the awaiting task cancels the work.
    #[pyo3(signature = (reference, credentials = None))]
    fn verify_async<'py>(
        &self,
        py: Python<'py>,
        reference: PyBackedStr,
        credentials: Option<&Bound<'_, PyCredentials>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let credentials = credentials.map(|c| c.get().inner.clone());
        let verifier = self.inner.clone();
        let reference = String::from(&*reference);
        aio::spawn(
            py,
            async move { verifier.verify(&reference, credentials.as_ref()).await },
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
