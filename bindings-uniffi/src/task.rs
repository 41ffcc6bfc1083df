//! The async bridge. UniFFI polls an exported future from the foreign language's executor
//! (Kotlin coroutines, Swift tasks, asyncio); the future returned here only awaits a
//! `JoinHandle` of a task spawned on the core's runtime ([`imagecheck::runtime::runtime`]), so
//! all I/O runs on the one runtime whose reactor and connection pools the core owns. Dropping the
//! future (the foreign caller cancelled) aborts the task.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::task::JoinHandle;

use crate::error::ImageCheckError;

/// Run `future` on the core runtime and wait for it from any executor.
pub(crate) async fn spawn<T, F>(future: F) -> Result<T, ImageCheckError>
where
    F: Future<Output = Result<T, imagecheck::Error>> + Send + 'static,
    T: Send + 'static,
{
    let handle = AbortOnDrop(imagecheck::runtime::runtime().spawn(future));
    match handle.await {
        Ok(answer) => answer.map_err(ImageCheckError::from),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => Err(ImageCheckError::Cancelled {
            reason: "the call was cancelled".to_owned(),
        }),
    }
}

/// A `JoinHandle` that aborts its task when dropped before completion.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Future for AbortOnDrop<T> {
    type Output = Result<T, tokio::task::JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_on_the_core_runtime_from_a_foreign_executor() {
        let name = block_on_foreign(spawn(async {
            Ok::<_, imagecheck::Error>(std::thread::current().name().map(str::to_owned))
        }));
        assert_eq!(name, Ok(Some("imagecheck".to_owned())));
    }

    #[test]
    fn errors_are_mapped() {
        let answer = block_on_foreign(spawn(async {
            Err::<(), _>(imagecheck::Error::InvalidArgument("x".into()))
        }));
        assert!(matches!(
            answer,
            Err(ImageCheckError::InvalidArgument { .. })
        ));
    }

    /// A minimal executor that is not tokio (as a foreign language's is not).
    fn block_on_foreign<F: Future>(future: F) -> F::Output {
        use std::sync::Arc;
        use std::task::Wake;
        struct Unpark(std::thread::Thread);
        impl Wake for Unpark {
            fn wake(self: Arc<Self>) {
                self.0.unpark();
            }
        }
        let waker = Arc::new(Unpark(std::thread::current())).into();
        let mut cx = Context::from_waker(&waker);
        let mut future = std::pin::pin!(future);
        loop {
            if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                return out;
            }
            std::thread::park();
        }
    }
}
