//! One call into the library from a caller that is not async Rust: the C ABI (and Go through
//! it), Python, Kotlin and Swift (UniFFI). It does for every binding what each once did in its
//! own way (reqwest's `blocking/` module does this job for reqwest):
//!
//! 1. **Answer without I/O.** [`Resolver::call`](crate::Resolver::call) and
//!    [`Verifier::call`](crate::Verifier::call) parse the reference once and look in the caches;
//!    a hit (or an invalid argument) is [`Call::ready_answer`] at once, allocation-free for a resolve.
//!    Otherwise [`Call::try_now`] polls the work once on the calling thread, inside the core
//!    runtime's context: a verify answered by its result cache, or a rule that needs no
//!    registry, finishes there, without a trip to a runtime thread (about 1 µs instead of 40).
//! 2. **Else run on the core runtime** ([`crate::runtime::runtime`], rebuilt after `fork()`),
//!    however the caller waits: [`Call::wait`] blocks the thread, [`Call::wait_or_cancel`] ends
//!    early on a [`Cancel`], [`Call::wait_interruptibly`] wakes now and then to let the caller
//!    look for a signal (Python's Ctrl-C), [`Call::spawn`] / `.await` give a future any executor
//!    can poll (Kotlin coroutines), [`Call::spawn_then`] hands the answer to a callback
//!    (asyncio's `call_soon_threadsafe`).
//! 3. **Cancel by dropping.** A cancelled or dropped call drops its work, and with it every
//!    request and wait under way; a shared upstream request (single-flight) goes on for the
//!    callers still waiting on it.
//! 4. **One mapping from a panic to an error.** A panic inside the work never unwinds into the
//!    caller's language: it becomes [`Error::DigestUnavailable`] with cause
//!    [`CauseKind::Engine`] naming the bug ([`panic_error`]). That kind is the one every caller
//!    already handles safely (fall back to the tag; never verified).

use std::any::Any;
use std::future::{Future, IntoFuture};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{RecvTimeoutError, sync_channel};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::FutureExt as _;
use tokio::sync::Notify;

use crate::error::{CauseKind, DigestCause, Error, Result};
use crate::runtime;

/// The work of a call that needs I/O.
type Work<T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'static>>;

/// One resolve or verify, answered now or on the core runtime (see the module documentation).
#[must_use = "a call does nothing until it is waited for or spawned"]
pub struct Call<T> {
    state: State<T>,
}

enum State<T> {
    /// Known without any work.
    Ready(Result<T>),
    /// Work to run; what it is about names a panic's error.
    Pending(Work<T>, Subject),
    /// The answer was taken.
    Taken,
}

/// What a call is about, for the error a panic becomes.
#[derive(Debug, Clone)]
pub(crate) struct Subject {
    reference: String,
    engine: String,
}

impl Subject {
    pub(crate) fn new(reference: impl Into<String>, engine: impl Into<String>) -> Self {
        Subject {
            reference: reference.into(),
            engine: engine.into(),
        }
    }
}

impl<T> std::fmt::Debug for Call<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.state {
            State::Ready(_) => "Call(ready)",
            State::Pending(..) => "Call(pending)",
            State::Taken => "Call(taken)",
        })
    }
}

/// The error a panic becomes, for every binding: DigestUnavailable (cause: engine error) about
/// `reference` and `engine`, saying it is a bug. The C ABI's guard uses it for panics outside a
/// call too.
pub fn panic_error(reference: &str, engine: &str, panic: &(dyn Any + Send)) -> Error {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    Error::DigestUnavailable {
        reference: reference.to_owned(),
        engine: engine.to_owned(),
        cause: DigestCause::new(
            CauseKind::Engine,
            format!("imagecheck internal error (a panic: {what}); this is a bug, please report it"),
        ),
    }
}

/// The answer of a task that was dropped before it answered (the runtime went away, or the
/// task was aborted by a cancel).
fn ended_without_answer() -> Error {
    Error::Cancelled
}

impl<T: Send + 'static> Call<T> {
    /// A call whose answer is already known.
    pub(crate) fn ready(answer: Result<T>) -> Self {
        Call {
            state: State::Ready(answer),
        }
    }

    /// A call that runs `work`.
    pub(crate) fn pending(
        subject: Subject,
        work: impl Future<Output = Result<T>> + Send + 'static,
    ) -> Self {
        Call {
            state: State::Pending(Box::pin(work), subject),
        }
    }

    /// The answer, if it was known without any work (a cache hit, an invalid argument). Cheap:
    /// bindings call it while holding their interpreter lock.
    pub fn ready_answer(&mut self) -> Option<Result<T>> {
        match std::mem::replace(&mut self.state, State::Taken) {
            State::Ready(answer) => Some(answer),
            other => {
                self.state = other;
                None
            }
        }
    }

    /// [`Self::ready_answer`], else poll the work once on this thread (inside the core
    /// runtime's context, so what it opens belongs to that runtime): work that needs no I/O
    /// answers here. `None`: the work waits for I/O; wait for it or spawn it next.
    pub fn try_now(&mut self) -> Option<Result<T>> {
        if let Some(answer) = self.ready_answer() {
            return Some(answer);
        }
        let State::Pending(work, subject) = &mut self.state else {
            return Some(Err(already_answered()));
        };
        let runtime = runtime::runtime();
        let polled = catch_unwind(AssertUnwindSafe(|| {
            runtime::poll_here(&runtime, work.as_mut())
        }));
        let answer = match polled {
            Ok(Poll::Pending) => return None,
            Ok(Poll::Ready(answer)) => answer,
            Err(panic) => Err(panic_error(
                &subject.reference,
                &subject.engine,
                panic.as_ref(),
            )),
        };
        self.state = State::Taken;
        Some(answer)
    }

    /// Wait for the answer, blocking this thread; the work runs on the core runtime. Any thread
    /// may wait, a runtime worker of another runtime included.
    pub fn wait(self) -> Result<T> {
        self.wait_with(None)
    }

    /// [`Self::wait`], ending early with [`Error::Cancelled`] when `cancel` fires (its work is
    /// dropped then).
    pub fn wait_or_cancel(self, cancel: &Cancel) -> Result<T> {
        self.wait_with(Some(cancel))
    }

    fn wait_with(mut self, cancel: Option<&Cancel>) -> Result<T> {
        if cancel.is_some_and(Cancel::is_cancelled) {
            return Err(Error::Cancelled);
        }
        if let Some(answer) = self.try_now() {
            return answer;
        }
        let (sender, receiver) = sync_channel(1);
        let _task = self.start(cancel.cloned(), move |answer| {
            // The receiver is gone only if this thread stopped waiting.
            let _ = sender.send(answer);
        });
        receiver
            .recv()
            .unwrap_or_else(|_| Err(ended_without_answer()))
    }

    /// Wait, calling `check` every `every` while the answer is not there (without any lock of
    /// the caller's held: a binding re-takes its own lock inside `check`). When `check` fails,
    /// the work is dropped and its error returned as `Err(E)`.
    pub fn wait_interruptibly<E>(
        mut self,
        every: Duration,
        mut check: impl FnMut() -> std::result::Result<(), E>,
    ) -> std::result::Result<Result<T>, E> {
        if let Some(answer) = self.try_now() {
            return Ok(answer);
        }
        let (sender, receiver) = sync_channel(1);
        let task = self.start(None, move |answer| {
            let _ = sender.send(answer);
        });
        loop {
            match receiver.recv_timeout(every) {
                Ok(answer) => return Ok(answer),
                Err(RecvTimeoutError::Timeout) => {
                    if let Err(stop) = check() {
                        task.abort();
                        return Err(stop);
                    }
                }
                Err(RecvTimeoutError::Disconnected) => return Ok(Err(ended_without_answer())),
            }
        }
    }

    /// Run the work on the core runtime and hand its answer to `done` (on a runtime thread; a
    /// ready answer is handed over at once, on this thread). The returned handle cancels it.
    pub fn spawn_then(mut self, done: impl FnOnce(Result<T>) + Send + 'static) -> CallAbort {
        match self.ready_answer() {
            Some(answer) => {
                done(answer);
                CallAbort(None)
            }
            None => CallAbort(Some(self.start(None, done))),
        }
    }

    /// The call as a future for any executor (the foreign language's, or tokio's): its first
    /// poll tries the call on the polling thread; if it needs I/O it moves to the core runtime.
    /// Dropping the future cancels the call.
    pub fn spawn(self) -> CallFuture<T> {
        CallFuture {
            call: Some(self),
            task: None,
        }
    }

    /// Spawn the pending work as a task that catches its panic, selects on `cancel`, and gives
    /// its answer to `done`.
    fn start(
        &mut self,
        cancel: Option<Cancel>,
        done: impl FnOnce(Result<T>) + Send + 'static,
    ) -> tokio::task::AbortHandle {
        let (work, subject) = match std::mem::replace(&mut self.state, State::Taken) {
            State::Pending(work, subject) => (work, subject),
            State::Ready(answer) => (
                Box::pin(async move { answer }) as Work<T>,
                Subject::new("", ""),
            ),
            State::Taken => (
                Box::pin(async { Err(already_answered()) }) as Work<T>,
                Subject::new("", ""),
            ),
        };
        let task = runtime::runtime().spawn(async move {
            let work = AssertUnwindSafe(work).catch_unwind();
            let answer = match cancel {
                None => work.await,
                Some(cancel) => {
                    tokio::select! {
                        biased;
                        () = cancel.cancelled() => Ok(Err(Error::Cancelled)),
                        answer = work => answer,
                    }
                }
            };
            done(answer.unwrap_or_else(|panic| {
                Err(panic_error(
                    &subject.reference,
                    &subject.engine,
                    panic.as_ref(),
                ))
            }));
        });
        task.abort_handle()
    }
}

fn already_answered() -> Error {
    Error::InvalidArgument("this call was already answered".to_owned())
}

impl<T: Send + 'static> IntoFuture for Call<T> {
    type Output = Result<T>;
    type IntoFuture = CallFuture<T>;

    fn into_future(self) -> CallFuture<T> {
        self.spawn()
    }
}

/// Cancels a call started with [`Call::spawn_then`].
#[derive(Debug)]
pub struct CallAbort(Option<tokio::task::AbortHandle>);

impl CallAbort {
    /// Drop the call's work (idempotent; nothing happens after it answered).
    pub fn abort(&self) {
        if let Some(task) = &self.0 {
            task.abort();
        }
    }
}

/// [`Call::spawn`]: a future that tries the call on its first poll, then waits for its task
/// on the core runtime. Dropping it aborts the task.
#[must_use = "futures do nothing unless polled"]
pub struct CallFuture<T> {
    call: Option<Call<T>>,
    task: Option<(
        tokio::sync::oneshot::Receiver<Result<T>>,
        tokio::task::AbortHandle,
    )>,
}

impl<T> std::fmt::Debug for CallFuture<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CallFuture")
    }
}

impl<T> Unpin for CallFuture<T> {}

impl<T: Send + 'static> Future for CallFuture<T> {
    type Output = Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        if let Some(mut call) = self.call.take() {
            if let Some(answer) = call.try_now() {
                return Poll::Ready(answer);
            }
            let (sender, receiver) = tokio::sync::oneshot::channel();
            let abort = call.start(None, move |answer| {
                let _ = sender.send(answer);
            });
            self.task = Some((receiver, abort));
        }
        let Some((receiver, _)) = self.task.as_mut() else {
            return Poll::Ready(Err(already_answered()));
        };
        match Pin::new(receiver).poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(received) => {
                self.task = None;
                Poll::Ready(received.unwrap_or_else(|_| Err(ended_without_answer())))
            }
        }
    }
}

impl<T> Drop for CallFuture<T> {
    fn drop(&mut self) {
        if let Some((_, task)) = &self.task {
            task.abort();
        }
    }
}

/// A token that cancels the calls it is given ([`Call::wait_or_cancel`]), from any thread, now
/// or later; cancelling is permanent. Clones share the token.
#[derive(Debug, Clone, Default)]
pub struct Cancel {
    inner: Arc<CancelState>,
}

#[derive(Debug, Default)]
struct CancelState {
    cancelled: AtomicBool,
    notify: Notify,
}

impl Cancel {
    pub fn new() -> Self {
        Cancel::default()
    }

    /// Cancel every call using this token (idempotent).
    pub fn cancel(&self) {
        self.inner.cancelled.store(true, Ordering::Release);
        self.inner.notify.notify_waiters();
    }

    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::Acquire)
    }

    /// Resolves once cancelled.
    pub async fn cancelled(&self) {
        loop {
            let notified = self.inner.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject() -> Subject {
        Subject::new("example.com/app:1", "registry")
    }

    #[test]
    fn work_without_io_answers_on_the_calling_thread() {
        let here = std::thread::current().id();
        let mut call = Call::pending(subject(), async move { Ok(std::thread::current().id()) });
        assert_eq!(call.try_now().map(|a| a.ok()), Some(Some(here)));
    }

    #[test]
    fn io_moves_to_the_runtime_and_is_waited_for() {
        let call = Call::pending(subject(), async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            Ok(std::thread::current().name().map(str::to_owned))
        });
        assert_eq!(call.wait().ok().flatten().as_deref(), Some("imagecheck"));
    }

    #[test]
    fn a_ready_call_needs_no_runtime_and_answers_once() {
        let mut call = Call::ready(Ok(7));
        assert_eq!(call.ready_answer().map(|a| a.ok()), Some(Some(7)));
        assert!(call.ready_answer().is_none());
        assert!(matches!(
            call.try_now(),
            Some(Err(Error::InvalidArgument(_)))
        ));
    }

    #[test]
    fn a_panic_becomes_the_same_error_on_every_path() {
        fn panicking() -> Call<u8> {
            Call::pending(subject(), async {
                tokio::time::sleep(Duration::from_millis(1)).await;
                panic!("boom")
            })
        }
        let check = |answer: Result<u8>| {
            let error = answer.expect_err("a panic is an error");
            let cause = error.digest_cause().expect("DigestUnavailable");
            assert_eq!(cause.kind, CauseKind::Engine);
            assert!(cause.detail.contains("a panic: boom"), "{cause}");
            assert!(error.to_string().contains("example.com/app:1"), "{error}");
        };
        check(panicking().wait());
        check(panicking().wait_or_cancel(&Cancel::new()));
        check(
            panicking()
                .wait_interruptibly(Duration::from_millis(1), || Ok::<(), ()>(()))
                .unwrap(),
        );
        check(futures::executor::block_on(panicking().spawn()));
        let (sender, receiver) = sync_channel(1);
        let _abort = panicking().spawn_then(move |answer| sender.send(answer).unwrap());
        check(receiver.recv().unwrap());
        // A panic in the first poll, on the calling thread.
        let mut first = Call::<u8>::pending(subject(), async { panic!("boom") });
        check(first.try_now().expect("answered"));
    }

    #[test]
    fn cancel_ends_a_wait_and_drops_the_work() {
        struct Dropped(Arc<AtomicBool>);
        impl Drop for Dropped {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let dropped = Arc::new(AtomicBool::new(false));
        let guard = Dropped(dropped.clone());
        let call = Call::pending(subject(), async move {
            let _guard = guard;
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(())
        });
        let cancel = Cancel::new();
        let canceller = cancel.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            canceller.cancel();
        });
        assert!(matches!(
            call.wait_or_cancel(&cancel),
            Err(Error::Cancelled)
        ));
        assert!(dropped.load(Ordering::SeqCst), "the work was not dropped");
        // Already cancelled: no work starts.
        let never = Call::pending(subject(), async { Ok(()) });
        assert!(matches!(
            never.wait_or_cancel(&cancel),
            Err(Error::Cancelled)
        ));
    }

    #[test]
    fn an_interrupted_wait_drops_the_work() {
        let call = Call::pending(subject(), async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(())
        });
        let mut checks = 0;
        let stopped = call.wait_interruptibly(Duration::from_millis(1), || {
            checks += 1;
            if checks == 3 {
                Err("interrupted")
            } else {
                Ok(())
            }
        });
        assert_eq!(stopped.err(), Some("interrupted"));
    }

    #[test]
    fn waiting_works_from_a_worker_of_another_runtime() {
        let other = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let answer = other.block_on(async {
            Call::pending(subject(), async {
                tokio::time::sleep(Duration::from_millis(2)).await;
                Ok(3)
            })
            .wait()
        });
        assert_eq!(answer.ok(), Some(3));
        // And awaiting it from that runtime.
        let awaited = other.block_on(async {
            Call::pending(subject(), async {
                tokio::time::sleep(Duration::from_millis(2)).await;
                Ok(4)
            })
            .await
        });
        assert_eq!(awaited.ok(), Some(4));
    }

    #[test]
    fn dropping_the_future_drops_the_work() {
        let (sender, receiver) = sync_channel::<()>(1);
        struct Signal(std::sync::mpsc::SyncSender<()>);
        impl Drop for Signal {
            fn drop(&mut self) {
                let _ = self.0.send(());
            }
        }
        let signal = Signal(sender);
        let mut future = Call::pending(subject(), async move {
            let _signal = signal;
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(())
        })
        .spawn();
        let waker = futures::task::noop_waker();
        assert!(
            Pin::new(&mut future)
                .poll(&mut Context::from_waker(&waker))
                .is_pending()
        );
        drop(future);
        assert!(
            receiver.recv_timeout(Duration::from_secs(5)).is_ok(),
            "the work lives on"
        );
    }
}
