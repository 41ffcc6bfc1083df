//! The exception classes (DESIGN.md, Errors), the mapping from core errors to them, and
//! `CandidateFailure`, the items of `VerificationFailed.failures`.
//!
//! `InvalidReference`, `InvalidPolicy` and `InvalidArgument` derive from both
//! `ImageCheckError` and `ValueError`; `create_exception!` takes one base only, so the classes
//! are made with `type(name, bases, namespace)` when the module is first imported.

use imagecheck::{Error, ErrorKind};
use pyo3::exceptions::asyncio::CancelledError;
use pyo3::exceptions::{PyException, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

/// The classes, created once per process at import.
struct Classes {
    base: Py<PyType>,
    invalid_reference: Py<PyType>,
    digest_unavailable: Py<PyType>,
    verification_failed: Py<PyType>,
    denied: Py<PyType>,
    invalid_policy: Py<PyType>,
    invalid_argument: Py<PyType>,
}

static CLASSES: PyOnceLock<Classes> = PyOnceLock::new();

fn new_class(
    py: Python<'_>,
    name: &str,
    bases: Bound<'_, PyTuple>,
    doc: &str,
) -> PyResult<Py<PyType>> {
    let namespace = PyDict::new(py);
    namespace.set_item("__module__", "imagecheck")?;
    namespace.set_item("__doc__", doc)?;
    let class = py
        .get_type::<PyType>()
        .call1((name, bases, namespace))?
        .cast_into::<PyType>()?;
    Ok(class.unbind())
}

/// Create the classes and add them to `module`.
pub(crate) fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = module.py();
    let classes = CLASSES.get_or_try_init(py, || -> PyResult<Classes> {
        let base = new_class(
            py,
            "ImageCheckError",
            PyTuple::new(py, [py.get_type::<PyException>()])?,
            "Base class of every imagecheck error. `kind` is the stable kind name.",
        )?;
        let value_error = py.get_type::<PyValueError>();
        let with_value_error = || PyTuple::new(py, [base.bind(py).clone(), value_error.clone()]);
        let plain = || PyTuple::new(py, [base.bind(py).clone()]);
        Ok(Classes {
            invalid_reference: new_class(
                py,
                "InvalidReference",
                with_value_error()?,
                "The input is not an image reference of an accepted form.",
            )?,
            digest_unavailable: new_class(
                py,
                "DigestUnavailable",
                plain()?,
                "The engine could not give a digest; `cause` names why (\"not found\", \
                 \"unauthorized\", \"network\", \"timeout\", ...). Falling back to the tag is safe.",
            )?,
            verification_failed: new_class(
                py,
                "VerificationFailed",
                plain()?,
                "A rule matched and its signature check failed; `failures` lists each candidate \
             checked (`source`, `check`, `message`).",
            )?,
            denied: new_class(py, "Denied", plain()?, "A deny rule matched.")?,
            invalid_policy: new_class(
                py,
                "InvalidPolicy",
                with_value_error()?,
                "The rules (or the trust root) cannot be loaded.",
            )?,
            invalid_argument: new_class(
                py,
                "InvalidArgument",
                with_value_error()?,
                "An argument other than the reference is unusable (an unknown engine, say).",
            )?,
            base,
        })
    })?;
    for class in [
        &classes.base,
        &classes.invalid_reference,
        &classes.digest_unavailable,
        &classes.verification_failed,
        &classes.denied,
        &classes.invalid_policy,
        &classes.invalid_argument,
    ] {
        let class = class.bind(py);
        module.add(class.name()?, class)?;
    }
    Ok(())
}

fn class_for(py: Python<'_>, kind: ErrorKind) -> Option<&Py<PyType>> {
    let classes = CLASSES.get(py)?;
    Some(match kind {
        ErrorKind::InvalidReference => &classes.invalid_reference,
        ErrorKind::DigestUnavailable => &classes.digest_unavailable,
        ErrorKind::VerificationFailed => &classes.verification_failed,
        ErrorKind::Denied => &classes.denied,
        ErrorKind::InvalidPolicy => &classes.invalid_policy,
        ErrorKind::InvalidArgument | ErrorKind::Cancelled => &classes.invalid_argument,
    })
}

/// The Python exception for a core error: the kind's class with the message, `kind` (the kind
/// name), `cause` (for DigestUnavailable, the cause kind's name; else None) and `failures` (for
/// VerificationFailed, each candidate checked; else empty). Cancelled becomes
/// `asyncio.CancelledError`.
pub(crate) fn to_pyerr(py: Python<'_>, error: &Error) -> PyErr {
    let kind = error.kind();
    if kind == ErrorKind::Cancelled {
        return CancelledError::new_err(error.to_string());
    }
    let Some(class) = class_for(py, kind) else {
        return PyRuntimeError::new_err(error.to_string());
    };
    let build = || -> PyResult<PyErr> {
        let value = class.bind(py).call1((error.to_string(),))?;
        value.setattr("kind", kind.name())?;
        let cause = error.digest_cause().map(|c| c.kind.name());
        value.setattr("cause", cause)?;
        let failures = error
            .failures()
            .iter()
            .map(|c| Py::new(py, PyCandidateFailure::from(c)))
            .collect::<PyResult<Vec<_>>>()?;
        value.setattr("failures", failures)?;
        Ok(PyErr::from_value(value))
    };
    build().unwrap_or_else(|e| e)
}

/// An error of `kind` raised by the bindings themselves (argument checks).
pub(crate) fn invalid_argument(py: Python<'_>, message: impl Into<String>) -> PyErr {
    to_pyerr(py, &Error::InvalidArgument(message.into()))
}

/// One signature candidate a failed verification checked (`VerificationFailed.failures`): where
/// it was found (`referrers`, `referrers_tag`, `legacy_tag`), the check it failed (a stable
/// name: `wrong_key`, `identity_mismatch`, …) and a message for people.
#[pyclass(frozen, eq, hash, module = "imagecheck", name = "CandidateFailure")]
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct PyCandidateFailure {
    #[pyo3(get)]
    source: &'static str,
    #[pyo3(get)]
    check: &'static str,
    #[pyo3(get)]
    message: String,
}

impl From<&imagecheck::verify::FailedCandidate> for PyCandidateFailure {
    fn from(candidate: &imagecheck::verify::FailedCandidate) -> Self {
        PyCandidateFailure {
            source: candidate.source.name(),
            check: candidate.failure.check(),
            message: candidate.failure.to_string(),
        }
    }
}

#[pymethods]
impl PyCandidateFailure {
    fn __repr__(&self) -> String {
        format!(
            "CandidateFailure(source={:?}, check={:?}, message={:?})",
            self.source, self.check, self.message
        )
    }
}
