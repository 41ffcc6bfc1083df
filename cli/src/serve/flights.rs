//! Concurrent identical verify calls share one verification: the same reference, the same
//! credentials and the same generation of rules. Core's resolver already
//! shares the tag's HEAD; without this, 100 clients asking about one cold image at once would
//! each read its signatures (hundreds of registry requests for one answer). A caller that goes
//! away does not cancel the work for the others; when all have gone, it is dropped.

use std::collections::HashMap;
use std::sync::Mutex;

use futures::FutureExt as _;
use futures::future::{BoxFuture, Shared, WeakShared};
use imagecheck::{Credentials, Error, Verification};

use super::rules::Rules;

type Answer = Result<Verification, Error>;
type Flight = Shared<BoxFuture<'static, Answer>>;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    generation: u64,
    reference: String,
    /// Compared by value; its Debug print is redacted.
    credentials: Option<Credentials>,
}

/// Past this many entries, those whose callers have all gone are swept on the next insert.
const SWEEP_AT: usize = 1024;

#[derive(Default)]
pub(crate) struct VerifyFlights {
    in_flight: Mutex<HashMap<Key, WeakShared<BoxFuture<'static, Answer>>>>,
}

impl std::fmt::Debug for VerifyFlights {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyFlights").finish_non_exhaustive()
    }
}

impl VerifyFlights {
    /// Verify with the rules in force, joining an identical call already under way.
    pub(crate) async fn verify(
        &self,
        rules: &Rules,
        reference: &str,
        credentials: Option<Credentials>,
    ) -> Answer {
        let (generation, verifier) = rules.current();
        let key = Key {
            generation,
            reference: reference.to_owned(),
            credentials: credentials.clone(),
        };
        let flight: Flight = {
            let mut in_flight = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
            match in_flight.get(&key).and_then(WeakShared::upgrade) {
                Some(flight) => flight,
                None => {
                    let reference = reference.to_owned();
                    let flight =
                        async move { verifier.verify(&reference, credentials.as_ref()).await }
                            .boxed()
                            .shared();
                    if in_flight.len() >= SWEEP_AT {
                        in_flight.retain(|_, weak| weak.upgrade().is_some());
                    }
                    if let Some(weak) = flight.downgrade() {
                        in_flight.insert(key.clone(), weak);
                    }
                    flight
                }
            }
        };
        let answer = flight.clone().await;
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        if in_flight
            .get(&key)
            .and_then(WeakShared::upgrade)
            .is_some_and(|current| current.ptr_eq(&flight))
        {
            in_flight.remove(&key);
        }
        answer
    }
}
