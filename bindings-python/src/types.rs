//! Value classes: `Credentials`, `Verification`, `Reference`.

use pyo3::prelude::*;

use crate::errors::to_pyerr;

/// Credentials for one registry host, used for that host only. The password is never shown.
#[pyclass(frozen, eq, module = "imagecheck", name = "Credentials")]
#[derive(Clone, PartialEq)]
pub(crate) struct PyCredentials {
    pub(crate) inner: imagecheck::Credentials,
}

#[pymethods]
impl PyCredentials {
    #[new]
    fn new(host: &str, username: &str, password: &str) -> Self {
        PyCredentials {
            inner: imagecheck::Credentials::new(host, username, password),
        }
    }

    /// The registry host as references spell it (`ghcr.io`, `127.0.0.1:5000`, `docker.io`).
    #[getter]
    fn host(&self) -> &str {
        self.inner.host()
    }

    #[getter]
    fn username(&self) -> &str {
        self.inner.username()
    }

    fn __repr__(&self) -> String {
        format!(
            "Credentials(host={:?}, username={:?}, password=<hidden>)",
            self.inner.host(),
            self.inner.username()
        )
    }
}

/// The answer of a verify call that did not fail.
#[pyclass(frozen, eq, hash, module = "imagecheck", name = "Verification")]
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct PyVerification {
    /// True only when a rule's signature check passed.
    #[pyo3(get)]
    verified: bool,
    /// What happened, for people.
    #[pyo3(get)]
    message: String,
    /// `registry/repository@sha256:...` when the digest is known (always, when verified).
    #[pyo3(get)]
    digested_ref: Option<String>,
}

impl From<imagecheck::Verification> for PyVerification {
    fn from(v: imagecheck::Verification) -> Self {
        PyVerification {
            verified: v.verified,
            message: v.message,
            digested_ref: v.digested_ref,
        }
    }
}

#[pymethods]
impl PyVerification {
    #[new]
    #[pyo3(signature = (verified, message, digested_ref=None))]
    fn new(verified: bool, message: String, digested_ref: Option<String>) -> Self {
        PyVerification {
            verified,
            message,
            digested_ref,
        }
    }

    fn __repr__(&self) -> String {
        let digested = match &self.digested_ref {
            Some(r) => format!("{r:?}"),
            None => "None".to_owned(),
        };
        format!(
            "Verification(verified={}, message={:?}, digested_ref={digested})",
            if self.verified { "True" } else { "False" },
            self.message
        )
    }

    fn __bool__(&self) -> bool {
        self.verified
    }
}

/// A parsed, normalised image reference (Docker's grammar). `str()` is the canonical form.
#[pyclass(frozen, eq, hash, module = "imagecheck", name = "Reference")]
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct PyReference {
    inner: imagecheck::Reference,
}

#[pymethods]
impl PyReference {
    /// Parse `text`; raises InvalidReference.
    #[new]
    fn new(py: Python<'_>, text: &str) -> PyResult<Self> {
        imagecheck::Reference::parse(text)
            .map(|inner| PyReference { inner })
            .map_err(|e| to_pyerr(py, &e.into()))
    }

    #[getter]
    fn registry(&self) -> &str {
        self.inner.registry()
    }

    #[getter]
    fn repository(&self) -> &str {
        self.inner.repository()
    }

    #[getter]
    fn tag(&self) -> Option<&str> {
        self.inner.tag()
    }

    #[getter]
    fn digest(&self) -> Option<&str> {
        self.inner.digest().map(|d| d.as_str())
    }

    /// `registry/repository`, without tag or digest (what policy patterns match).
    #[getter]
    fn name(&self) -> String {
        self.inner.name()
    }

    fn __str__(&self) -> String {
        self.inner.to_string()
    }

    fn __repr__(&self) -> String {
        format!("Reference({:?})", self.inner.to_string())
    }
}
