//! Blocking calls from Python threads: a core [`Call`] waited for with the GIL released,
//! waking every 50 ms to let Python handle signals, so Ctrl-C (KeyboardInterrupt) interrupts a
//! slow resolve or verify and cancels its work. Answering without I/O, running on the core
//! runtime and the panic policy are core's (`imagecheck::call`); only how Python waits is here.

use std::time::Duration;

use imagecheck::Call;
use pyo3::prelude::*;

use crate::errors::to_pyerr;

const SIGNAL_CHECK_INTERVAL: Duration = Duration::from_millis(50);

/// Wait for `call` without holding the GIL. Works from any thread, including a runtime thread
/// (a custom engine that calls back into imagecheck).
pub(crate) fn wait<T: Send + 'static>(py: Python<'_>, call: Call<T>) -> PyResult<T> {
    let answer = py.detach(move || {
        call.wait_interruptibly(SIGNAL_CHECK_INTERVAL, || {
            Python::attach(|py| py.check_signals())
        })
    })?;
    answer.map_err(|e| to_pyerr(py, &e))
}
