//! The asyncio bridge: a core [`Call`] runs on the core runtime (`Call::spawn_then`; the
//! runtime of the current process, rebuilt after fork), and its answer is handed to an
//! `asyncio.Future` of the caller's loop with `loop.call_soon_threadsafe`. Cancelling the
//! asyncio future aborts the call, which drops its work (core's cancellation is drop).
//!
//! No second runtime is started; answering without I/O and the panic policy are core's.

use imagecheck::Call;
use imagecheck::call::CallAbort;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyCFunction;

use crate::errors::to_pyerr;

static GET_RUNNING_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Aborts the call when its asyncio future is cancelled (added as a done callback).
#[pyclass(frozen, module = "imagecheck._imagecheck")]
struct TaskCanceller {
    abort: CallAbort,
}

#[pymethods]
impl TaskCanceller {
    fn __call__(&self, future: &Bound<'_, PyAny>) -> PyResult<()> {
        if future.call_method0("cancelled")?.is_truthy()? {
            self.abort.abort();
        }
        Ok(())
    }
}

/// Set the future's result or exception unless it is already done (cancelled meanwhile).
/// Runs on the loop's thread, scheduled with `call_soon_threadsafe`.
#[pyfunction]
fn _complete(future: &Bound<'_, PyAny>, ok: bool, value: &Bound<'_, PyAny>) -> PyResult<()> {
    if future.call_method0("done")?.is_truthy()? {
        return Ok(());
    }
    if ok {
        future.call_method1("set_result", (value,))?;
    } else {
        future.call_method1("set_exception", (value,))?;
    }
    Ok(())
}

static COMPLETE: PyOnceLock<Py<PyCFunction>> = PyOnceLock::new();

fn running_loop(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    GET_RUNNING_LOOP
        .import(py, "asyncio", "get_running_loop")?
        .call0()
}

/// An `asyncio.Future` on the running loop already holding `value`.
pub(crate) fn ready<'py, T>(py: Python<'py>, value: T) -> PyResult<Bound<'py, PyAny>>
where
    T: IntoPyObject<'py>,
{
    let future = running_loop(py)?.call_method0("create_future")?;
    future.call_method1("set_result", (value,))?;
    Ok(future)
}

/// An `asyncio.Future` on the running loop already holding `error`.
pub(crate) fn failed(py: Python<'_>, error: PyErr) -> PyResult<Bound<'_, PyAny>> {
    let future = running_loop(py)?.call_method0("create_future")?;
    future.call_method1("set_exception", (error.into_value(py),))?;
    Ok(future)
}

/// Run `call`; its answer completes the returned `asyncio.Future`, converted by `convert` (with
/// the GIL held, on a runtime thread). An answer known at once completes it at once.
pub(crate) fn spawn<'py, T, C>(
    py: Python<'py>,
    mut call: Call<T>,
    convert: C,
) -> PyResult<Bound<'py, PyAny>>
where
    T: Send + 'static,
    C: for<'a> FnOnce(Python<'a>, T) -> PyResult<Bound<'a, PyAny>> + Send + 'static,
{
    if let Some(answer) = call.ready_answer() {
        return match answer
            .map_err(|e| to_pyerr(py, &e))
            .and_then(|v| convert(py, v))
        {
            Ok(value) => ready(py, value),
            Err(error) => failed(py, error),
        };
    }
    let event_loop = running_loop(py)?;
    let future = event_loop.call_method0("create_future")?;
    let complete = COMPLETE
        .get_or_try_init(py, || wrap_pyfunction!(_complete, py).map(|f| f.unbind()))?
        .clone_ref(py);
    let (loop_handle, future_handle) = (event_loop.clone().unbind(), future.clone().unbind());
    let abort = call.spawn_then(move |answer| {
        // The interpreter may be finalizing: then nobody waits for the answer.
        Python::try_attach(|py| {
            let (ok, value) = match answer
                .map_err(|e| to_pyerr(py, &e))
                .and_then(|v| convert(py, v))
            {
                Ok(value) => (true, value),
                Err(error) => (false, error.into_value(py).into_bound(py).into_any()),
            };
            // Fails only when the loop is closed: nobody is waiting any more.
            let _ = loop_handle.bind(py).call_method1(
                "call_soon_threadsafe",
                (complete.bind(py), future_handle.bind(py), ok, value),
            );
        });
    });
    let canceller = Bound::new(py, TaskCanceller { abort })?;
    future.call_method1("add_done_callback", (canceller,))?;
    Ok(future)
}
