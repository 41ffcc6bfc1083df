//! The circuit breaker in front of the tier: after a few failures in a row the node stops
//! asking it for a window, so a tier that is down costs each call nothing, and the log says so
//! once per window instead of once per call.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures in a row that open the breaker: one slow answer (a fork, a failover) should not
/// cost the fleet its tier for a whole window; three in a row is a tier in trouble.
pub(crate) const FAILURES_TO_OPEN: u32 = 3;
/// How long an open breaker keeps the node away from the tier before it tries again.
pub(crate) const OPEN_FOR: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub(crate) struct Breaker {
    state: Mutex<State>,
    failures_to_open: u32,
    open_for: Duration,
}

#[derive(Debug, Default)]
struct State {
    failures_in_a_row: u32,
    open_until: Option<Instant>,
}

/// What a failure did to the breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tripped {
    /// Still closed (fewer failures in a row than the threshold).
    No,
    /// This failure opened it (or re-opened it after its window): say so in the log, once.
    Opened,
}

impl Default for Breaker {
    fn default() -> Self {
        Breaker::new(FAILURES_TO_OPEN, OPEN_FOR)
    }
}

impl Breaker {
    pub(crate) fn new(failures_to_open: u32, open_for: Duration) -> Self {
        Breaker {
            state: Mutex::new(State::default()),
            failures_to_open: failures_to_open.max(1),
            open_for,
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether an operation may go to the tier at `now`: closed, or open with its window past
    /// (then every caller may try; the first answer closes or re-opens it).
    pub(crate) fn allows(&self, now: Instant) -> bool {
        self.state().open_until.is_none_or(|until| now >= until)
    }

    /// An operation succeeded; true when this closes a breaker that was open.
    pub(crate) fn success(&self) -> bool {
        let mut state = self.state();
        let was_open = state.open_until.is_some();
        *state = State::default();
        was_open
    }

    /// An operation failed at `now`.
    pub(crate) fn failure(&self, now: Instant) -> Tripped {
        let mut state = self.state();
        if state.open_until.is_some_and(|until| now < until) {
            // Already open: failures of operations that started before it opened.
            return Tripped::No;
        }
        state.failures_in_a_row = state.failures_in_a_row.saturating_add(1);
        if state.failures_in_a_row < self.failures_to_open {
            return Tripped::No;
        }
        state.open_until = now.checked_add(self.open_for);
        Tripped::Opened
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_failures_in_a_row_for_its_window_then_lets_calls_try_again() {
        let breaker = Breaker::new(3, Duration::from_secs(30));
        let t0 = Instant::now();
        assert!(breaker.allows(t0));
        assert_eq!(breaker.failure(t0), Tripped::No);
        assert_eq!(breaker.failure(t0), Tripped::No);
        assert!(breaker.allows(t0), "two failures keep it closed");
        assert_eq!(breaker.failure(t0), Tripped::Opened);
        assert!(!breaker.allows(t0));
        assert!(!breaker.allows(t0 + Duration::from_secs(29)));
        // Failures of operations already under way do not open it again (one log line).
        assert_eq!(breaker.failure(t0 + Duration::from_secs(1)), Tripped::No);
        let later = t0 + Duration::from_secs(30);
        assert!(breaker.allows(later), "after the window, calls try again");
        // The first failure after the window opens it at once, for another window.
        assert_eq!(breaker.failure(later), Tripped::Opened);
        assert!(!breaker.allows(later + Duration::from_secs(1)));
        let again = later + Duration::from_secs(31);
        assert!(breaker.allows(again));
        assert!(breaker.success(), "a success closes an open breaker");
        assert!(!breaker.success(), "and says so only once");
        assert_eq!(breaker.failure(again), Tripped::No, "counting starts over");
    }

    #[test]
    fn a_success_between_failures_resets_the_count() {
        let breaker = Breaker::new(3, Duration::from_secs(30));
        let now = Instant::now();
        for _ in 0..10 {
            assert_eq!(breaker.failure(now), Tripped::No);
            assert_eq!(breaker.failure(now), Tripped::No);
            assert!(!breaker.success());
        }
        assert!(breaker.allows(now));
    }
}
