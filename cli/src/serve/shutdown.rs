//! SIGTERM and SIGINT: the daemon stops accepting, finishes the calls under way within
//! `--drain-timeout`, removes its socket and exits 0. The handlers are installed before the
//! socket accepts anything, so a signal never finds the default action (instant death).

use tokio::signal::unix::{Signal, SignalKind, signal};

#[derive(Debug)]
pub(crate) struct Stop {
    term: Option<Signal>,
    int: Option<Signal>,
}

impl Stop {
    pub(crate) fn install() -> Stop {
        let install = |kind, name| match signal(kind) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::error!(error = %e, "cannot handle {name}");
                None
            }
        };
        Stop {
            term: install(SignalKind::terminate(), "SIGTERM"),
            int: install(SignalKind::interrupt(), "SIGINT"),
        }
    }

    /// Wait for the first stop signal; its name.
    pub(crate) async fn wait(mut self) -> &'static str {
        async fn next(s: &mut Option<Signal>) {
            match s {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending().await,
            }
        }
        tokio::select! {
            () = next(&mut self.term) => "SIGTERM",
            () = next(&mut self.int) => "SIGINT",
        }
    }
}
