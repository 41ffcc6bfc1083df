//! One log line per call (method, reference, outcome, milliseconds) and the call's metrics. A
//! call dropped before it answered (the client went away, its deadline passed, the daemon
//! stopped) is logged as `cancelled`. Requests are never logged whole: credentials stay out.

use std::sync::Arc;
use std::time::Instant;

use super::metrics::Metrics;

/// A call in progress; [`Call::finish`] logs it, dropping it unfinished logs `cancelled`.
#[derive(Debug)]
pub(crate) struct Call {
    method: &'static str,
    reference: String,
    started: Instant,
    metrics: Option<Arc<Metrics>>,
    finished: bool,
}

impl Call {
    pub(crate) fn start(
        method: &'static str,
        reference: &str,
        metrics: Option<Arc<Metrics>>,
    ) -> Call {
        Call {
            method,
            // References are short; a huge one is cut so one call cannot flood the log.
            reference: reference.chars().take(512).collect(),
            started: Instant::now(),
            metrics,
            finished: false,
        }
    }

    pub(crate) fn finish(mut self, outcome: &'static str) {
        self.log(outcome);
        self.finished = true;
    }

    fn log(&self, outcome: &'static str) {
        let took = self.started.elapsed();
        let ms = took.as_secs_f64() * 1000.0;
        tracing::info!(
            method = self.method,
            reference = %self.reference,
            outcome,
            ms = format_args!("{ms:.3}"),
            "call"
        );
        if let Some(metrics) = &self.metrics {
            metrics.record(self.method, outcome, took);
        }
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        if !self.finished {
            self.log("cancelled");
        }
    }
}
