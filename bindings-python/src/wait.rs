//! Blocking calls from Python threads: the work runs as a task on the core runtime while this
//! thread waits with the GIL released, waking every 50 ms to let Python handle signals, so
//! Ctrl-C (KeyboardInterrupt) interrupts a slow resolve or verify and cancels its task.
//! A call that completes without I/O is answered on the calling thread (see [`wait`]).

use std::future::Future;
use std::sync::mpsc::{RecvTimeoutError, sync_channel};
use std::task::Poll;
use std::time::Duration;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

use crate::errors::to_pyerr;

const SIGNAL_CHECK_INTERVAL: Duration = Duration::from_millis(50);

/// Run `work` on the core runtime (the one of this process: core rebuilds it after fork) and
/// wait for it without holding the GIL. Works from any thread, including a runtime thread
/// (a custom engine that calls back into imagecheck), because it never enters the runtime.
pub(crate) fn wait<F, T>(py: Python<'_>, work: F) -> PyResult<T>
where
    F: Future<Output = imagecheck::Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let runtime = imagecheck::runtime::runtime();
    let mut work = Box::pin(work);
    // One poll here first, inside the runtime's context and without the GIL (the first poll
    // may build a client or read credentials): a call that needs no I/O (a cached
    // verification, a no-match, skip or deny rule) is answered now, without a trip to a
    // runtime thread. Anything else returns Pending at its first I/O (connecting is
    // non-blocking), and the same, partly polled future moves to the runtime below; its next
    // poll there registers the task's waker in place of this no-op one.
    let first = py.detach(|| imagecheck::runtime::poll_here(&runtime, work.as_mut()));
    if let Poll::Ready(answer) = first {
        return answer.map_err(|e| to_pyerr(py, &e));
    }
    let (sender, receiver) = sync_channel(1);
    let task = runtime.spawn(async move {
        // The receiver is gone only if the caller was interrupted: nobody wants the answer.
        let _ = sender.send(work.await);
    });
    let mut receiver = receiver;
    loop {
        // `Receiver` is not `Sync`: move it into the detached closure and back out.
        let (received, back) = py.detach(move || {
            let received = receiver.recv_timeout(SIGNAL_CHECK_INTERVAL);
            (received, receiver)
        });
        receiver = back;
        match received {
            Ok(answer) => return answer.map_err(|e| to_pyerr(py, &e)),
            Err(RecvTimeoutError::Timeout) => {
                if let Err(interrupted) = py.check_signals() {
                    task.abort();
                    return Err(interrupted);
                }
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Err(PyRuntimeError::new_err(
                    "imagecheck: the runtime task ended without an answer (it panicked)",
                ));
            }
        }
    }
}
