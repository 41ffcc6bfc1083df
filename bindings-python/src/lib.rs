//! Python bindings for imagecheck: the extension module `imagecheck._imagecheck`.
//!
//! Behaviour lives in core; this crate converts types, releases the GIL for I/O and crypto,
//! maps errors to exception classes, bridges async calls to asyncio, and forwards core's
//! `tracing` events to Python's `logging`. The Python package around it is `python/imagecheck`.

mod aio;
mod convert;
mod errors;
mod logging;
mod resolver;
mod types;
mod verifier;
mod wait;

use pyo3::prelude::*;

#[pymodule]
fn _imagecheck(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    errors::register(module)?;
    module.add_class::<types::PyCredentials>()?;
    module.add_class::<types::PyVerification>()?;
    module.add_class::<types::PyReference>()?;
    module.add_class::<errors::PyCandidateFailure>()?;
    module.add_class::<resolver::PyResolver>()?;
    module.add_class::<verifier::PyVerifier>()?;
    module.add_function(wrap_pyfunction!(resolver::default_resolver, module)?)?;
    module.add_function(wrap_pyfunction!(resolver::register_engine, module)?)?;
    module.add_function(wrap_pyfunction!(verifier::default_verifier, module)?)?;
    logging::install();
    Ok(())
}
