//! How many registry requests one verify may spend finding signatures, shared by its walkers
//! and by the registry client's retries and mirror fall-backs.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::candidate::SignatureSource;
use crate::registry::call_limits::RequestAllowance;

/// Signatures read per verify, every source together.
pub const MAX_SIGNATURES: usize = 100;
/// Registry requests one verify may spend on finding signatures, every source and every walker
/// of that verify together, failed requests included. Enough to read every candidate
/// `MAX_SIGNATURES` allows in its most expensive form (a referrer manifest, then its bundle
/// blob) after one listing per source (the `.att` tag's included); a legitimate image needs a
/// handful (three or four listings, then one or two reads per signature or attestation).
/// Without it, a referrers index naming a thousand manifests that are not there costs a
/// thousand requests, per source.
pub const MAX_REQUESTS: usize = 2 * MAX_SIGNATURES + SignatureSource::ORDER.len() + 1;

/// The registry requests one verify has spent finding signatures, shared by its walkers (the
/// one listing a guessed digest during the tag's HEAD, and the one for the resolved digest).
#[derive(Debug, Default)]
pub(crate) struct RequestBudget {
    spent: AtomicUsize,
}

/// Retries after rate-limit answers and falls back from a mirror to the next host are requests
/// too: the registry client takes them from the same budget.
impl RequestAllowance for RequestBudget {
    fn take(&self) -> bool {
        RequestBudget::take(self)
    }
}

impl RequestBudget {
    /// Take one request; false, taking none, once [`MAX_REQUESTS`] are spent.
    pub(super) fn take(&self) -> bool {
        self.spent
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |spent| {
                (spent < MAX_REQUESTS).then_some(spent + 1)
            })
            .is_ok()
    }

    /// Requests taken so far.
    pub(crate) fn spent(&self) -> usize {
        self.spent.load(Ordering::Relaxed)
    }
}
