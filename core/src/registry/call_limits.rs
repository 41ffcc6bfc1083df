//! What one call may spend on registry requests beyond the first of each: its deadline, and (a
//! verify's) its request budget. Retries after a rate-limit answer and falls back from a
//! mirror to the next host draw on both.
//!
//! The caller sets them around the futures it polls (a task-local), so they reach the client
//! through engines and shared flights without every signature carrying them: a verify scopes
//! its whole call; a resolve flight takes the limits of the call that started it.

use std::future::Future;
use std::sync::Arc;

use tokio::time::Instant;

/// Something that hands out requests, one at a time, until it is spent (a verify's budget).
pub(crate) trait RequestAllowance: Send + Sync {
    /// Take one request; false, taking none, once spent.
    fn take(&self) -> bool;
}

/// The limits in force for the current call. Default: none (the client's own bound applies).
#[derive(Clone, Default)]
pub(crate) struct CallLimits {
    /// Nothing is waited for past this instant.
    pub(crate) deadline: Option<Instant>,
    /// Every request after the first of each client call is taken from it.
    pub(crate) requests: Option<Arc<dyn RequestAllowance>>,
}

tokio::task_local! {
    static LIMITS: CallLimits;
}

impl CallLimits {
    /// The limits the caller set, or none.
    pub(crate) fn current() -> CallLimits {
        LIMITS.try_with(Clone::clone).unwrap_or_default()
    }

    /// Run `work` under these limits.
    pub(crate) async fn scope<F: Future>(self, work: F) -> F::Output {
        LIMITS.scope(self, work).await
    }

    /// Take one more request from the budget (always granted without one).
    pub(crate) fn take_request(&self) -> bool {
        self.requests.as_ref().is_none_or(|r| r.take())
    }

    /// These limits without the request budget (a shared resolve flight is not one verify's).
    pub(crate) fn deadline_only(&self) -> CallLimits {
        CallLimits {
            deadline: self.deadline,
            requests: None,
        }
    }
}

impl std::fmt::Debug for CallLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallLimits")
            .field("deadline", &self.deadline)
            .field("budget", &self.requests.is_some())
            .finish()
    }
}
