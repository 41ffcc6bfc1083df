//! Argument conversions shared by the classes: TTLs and timeouts, engine names.

use std::time::Duration;

use imagecheck::Engine;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyFloat, PyInt};

use crate::errors::{invalid_argument, to_pyerr};

/// Longest duration accepted (larger values are clamped): a hundred years.
const MAX_SECONDS: f64 = 100.0 * 365.0 * 24.0 * 3600.0;

/// Seconds as a float or int, or a `datetime.timedelta`; negative means zero.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Seconds(pub(crate) Duration);

impl Seconds {
    pub(crate) const fn from_secs(secs: u64) -> Seconds {
        Seconds(Duration::from_secs(secs))
    }
}

impl<'a, 'py> FromPyObject<'a, 'py> for Seconds {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let py = obj.py();
        let secs: f64 = if let Ok(f) = obj.cast::<PyFloat>() {
            f.value()
        } else if obj.is_instance_of::<PyInt>() {
            obj.extract::<f64>()?
        } else if let Ok(total) = obj.call_method0("total_seconds") {
            total.extract::<f64>()?
        } else {
            return Err(PyTypeError::new_err(format!(
                "expected seconds (float or int) or a datetime.timedelta, got {}",
                obj.get_type().name()?
            )));
        };
        if secs.is_nan() {
            return Err(invalid_argument(py, "a duration cannot be NaN"));
        }
        Ok(Seconds(Duration::from_secs_f64(
            secs.clamp(0.0, MAX_SECONDS),
        )))
    }
}

/// Parse an engine name; the default engine without any work.
pub(crate) fn engine(py: Python<'_>, name: &str) -> PyResult<Engine> {
    if name == "registry" {
        return Ok(Engine::Registry);
    }
    Engine::parse(name).map_err(|e| to_pyerr(py, &e))
}
