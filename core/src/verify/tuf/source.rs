//! A trusted root kept current by a TUF repository: the verified copy in force, refreshed in
//! the background on the core runtime, one refresh at a time, when one is due.
//!
//! A refresh is due once the refresh interval has passed since the copy was fetched, or once
//! half the time its metadata is valid for has passed (so it is renewed well before it
//! expires), or a minute after a failed one (sooner if the interval is shorter). Verifies never
//! wait for a refresh while the copy in force is valid; when there is none (a repository other
//! than public-good, never reached from this machine) or it has expired, a keyless verify waits
//! for the refresh under way within its deadline, and fails closed if that fails too.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::TufStatus;
use super::cache::{self, Verified};
use super::refresh::{Refreshed, refresh};
use super::repository::TufRepository;
use crate::verify::keyless::unix_now;
use crate::verify::trusted_root::TrustedRoot;

/// The wait before trying again after a failed refresh (or the interval, when shorter).
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(60);

/// A refresh that takes longer than this is abandoned (each request also has its timeout).
const REFRESH_TIMEOUT: Duration = Duration::from_secs(120);

/// A trusted root kept current from a TUF repository. Shared (`Arc`) by a verifier and the
/// refresh under way.
pub(crate) struct TufRoot {
    repository: TufRepository,
    /// The repository's directory; an error (no cache directory known) fails every refresh
    /// with it, so keyless rules fail closed saying so.
    dir: Result<PathBuf, String>,
    /// Used until the first refresh when the repository's target is also embedded (the
    /// public-good root): verifying never waits on a first fetch there.
    embedded: Option<TrustedRoot>,
    state: Mutex<State>,
    /// Bumped after every refresh, for the verifies waiting on one.
    changed: tokio::sync::watch::Sender<u64>,
}

#[derive(Debug)]
struct State {
    verified: Option<Verified>,
    next_attempt: Instant,
    last_failure: Option<String>,
    last_refresh: Option<(usize, Duration)>,
    /// The process whose refresh is under way (a forked child has none of its parent's).
    running: Option<u32>,
}

impl TufRoot {
    /// The repository's verified copy from disk, if there is a valid one; no network.
    pub(crate) fn open(repository: TufRepository) -> Arc<TufRoot> {
        let dir = repository.dir().map_err(|e| e.0);
        let cached = match &dir {
            Ok(dir) => cache::load(dir, repository.url()),
            Err(_) => Ok(None),
        };
        let verified = match cached {
            Ok(verified) => verified,
            Err(why) => {
                tracing::warn!(%why, "ignoring the cached TUF copy; the next refresh replaces it");
                None
            }
        };
        let next_attempt = match &verified {
            Some(v) => Instant::now() + until(due(v, repository.interval())),
            None => Instant::now(),
        };
        let embedded = repository.is_public_good().then(TrustedRoot::public_good);
        let (changed, _) = tokio::sync::watch::channel(0);
        Arc::new(TufRoot {
            repository,
            dir,
            embedded,
            state: Mutex::new(State {
                verified,
                next_attempt,
                last_failure: None,
                last_refresh: None,
                running: None,
            }),
            changed,
        })
    }

    /// The trusted root in force now, starting a refresh when one is due; never waits. The
    /// error says why there is none (expired, or never fetched) and what was tried.
    pub(crate) fn current(self: &Arc<Self>) -> Result<TrustedRoot, String> {
        let mut state = self.lock();
        self.start_if_due(&mut state);
        self.usable(&state)
    }

    /// [`Self::current`], or when there is none and a refresh is under way, that refresh's
    /// outcome, waited for until `deadline`.
    pub(crate) async fn usable_by(
        self: &Arc<Self>,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<TrustedRoot, String> {
        let mut changed = self.changed.subscribe();
        loop {
            let why = {
                let mut state = self.lock();
                self.start_if_due(&mut state);
                match self.usable(&state) {
                    Ok(root) => return Ok(root),
                    Err(why) if !state.refreshing() => return Err(why),
                    Err(why) => why,
                }
            };
            let waited = match deadline {
                Some(at) => tokio::time::timeout_at(at, changed.changed()).await.ok(),
                None => Some(changed.changed().await),
            };
            if waited.is_none() {
                return Err(format!(
                    "{why}; a refresh is under way but did not finish within the verify deadline"
                ));
            }
        }
    }

    /// Wait until no refresh is under way, at most `timeout`; whether none is.
    pub(crate) async fn settled(self: &Arc<Self>, timeout: Duration) -> bool {
        let mut changed = self.changed.subscribe();
        let wait = async {
            while self.lock().refreshing() {
                if changed.changed().await.is_err() {
                    break;
                }
            }
        };
        tokio::time::timeout(timeout, wait).await.is_ok()
    }

    pub(crate) fn status(&self) -> TufStatus {
        let state = self.lock();
        TufStatus {
            url: self.repository.url().to_owned(),
            cache_dir: self.dir.clone().ok(),
            fetched_at: state.verified.as_ref().map(|v| v.fetched_at),
            expires: state.verified.as_ref().map(|v| v.expires),
            root_version: state.verified.as_ref().map(|v| v.root_version),
            timestamp_version: state.verified.as_ref().map(|v| v.timestamp_version),
            last_failure: state.last_failure.clone(),
            last_refresh_requests: state.last_refresh.map(|(n, _)| n),
            last_refresh_took: state.last_refresh.map(|(_, took)| took),
            refreshing: state.refreshing(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn usable(&self, state: &State) -> Result<TrustedRoot, String> {
        let url = self.repository.url();
        // Only on the way to an error: `refreshing` asks the kernel for the process id, which
        // costs more than the rest of a warm verify.
        let tried = || match &state.last_failure {
            Some(failure) => format!("the last refresh failed: {failure}"),
            None if state.refreshing() => "a refresh is under way".to_owned(),
            None => "no refresh has been tried yet".to_owned(),
        };
        match (&state.verified, &self.embedded) {
            (Some(v), _) if unix_now() < v.expires => Ok(v.trusted_root.clone()),
            (Some(v), _) => Err(format!(
                "the trusted root from the TUF repository {url} expired at {} (TUF metadata \
                 fetched {}, timestamp version {}) and {}; keyless rules fail closed until \
                 the repository answers (public-key rules are unaffected)",
                format_unix(v.expires),
                format_unix(v.fetched_at),
                v.timestamp_version,
                tried()
            )),
            (None, Some(embedded)) => Ok(embedded.clone()),
            (None, None) => Err(format!(
                "no trusted root from the TUF repository {url} yet: {}; keyless rules fail \
                 closed until it answers (public-key rules are unaffected)",
                tried()
            )),
        }
    }

    fn start_if_due(self: &Arc<Self>, state: &mut State) {
        // The clock first: `refreshing` is a system call (the process id).
        if Instant::now() < state.next_attempt || state.refreshing() {
            return;
        }
        state.running = Some(std::process::id());
        let this = Arc::clone(self);
        crate::runtime::runtime().spawn(async move {
            let outcome = match &this.dir {
                Ok(dir) => tokio::time::timeout(REFRESH_TIMEOUT, refresh(&this.repository, dir))
                    .await
                    .unwrap_or_else(|_| {
                        Err(format!("gave up after {} s", REFRESH_TIMEOUT.as_secs()))
                    }),
                Err(why) => Err(why.clone()),
            };
            this.finish(outcome);
        });
    }

    fn finish(&self, outcome: Result<Refreshed, String>) {
        let url = self.repository.url();
        let interval = self.repository.interval();
        let mut state = self.lock();
        state.running = None;
        match outcome {
            Ok(refreshed) => {
                let v = &refreshed.verified;
                let changed = state
                    .verified
                    .as_ref()
                    .is_none_or(|old| old.trusted_root != v.trusted_root);
                tracing::info!(
                    url,
                    root_version = v.root_version,
                    timestamp_version = v.timestamp_version,
                    expires = %format_unix(v.expires),
                    requests = refreshed.requests,
                    ms = refreshed.took.as_millis() as u64,
                    trusted_root_changed = changed,
                    "trusted root refreshed from its TUF repository"
                );
                state.next_attempt = Instant::now() + until(due(v, interval));
                state.last_refresh = Some((refreshed.requests, refreshed.took));
                state.last_failure = None;
                state.verified = Some(refreshed.verified);
            }
            Err(failure) => {
                let in_force = match &state.verified {
                    Some(v) if unix_now() < v.expires => format!(
                        "keeping the copy fetched {} (valid until {})",
                        format_unix(v.fetched_at),
                        format_unix(v.expires)
                    ),
                    Some(_) => "the copy in force has expired: keyless rules fail closed".into(),
                    None if self.embedded.is_some() => "keeping the embedded trusted root".into(),
                    None => "no copy yet: keyless rules fail closed".into(),
                };
                tracing::warn!(url, %failure, "TUF refresh failed; {in_force}");
                state.next_attempt = Instant::now() + RETRY_AFTER_FAILURE.min(interval);
                state.last_failure = Some(failure);
            }
        }
        drop(state);
        self.changed.send_modify(|n| *n += 1);
    }
}

impl State {
    fn refreshing(&self) -> bool {
        self.running == Some(std::process::id())
    }
}

impl std::fmt::Debug for TufRoot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TufRoot")
            .field("repository", &self.repository)
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// When a refresh of `v` is due (Unix seconds): `interval` after it was fetched, or halfway
/// to its expiry, whichever is sooner.
fn due(v: &Verified, interval: Duration) -> i64 {
    let interval = i64::try_from(interval.as_secs()).unwrap_or(i64::MAX);
    let halfway = v.fetched_at + v.expires.saturating_sub(v.fetched_at).max(0) / 2;
    v.fetched_at.saturating_add(interval).min(halfway)
}

/// From now until Unix time `at` (zero when past).
fn until(at: i64) -> Duration {
    Duration::from_secs(u64::try_from(at.saturating_sub(unix_now())).unwrap_or(0))
}

/// Unix seconds as RFC 3339 UTC (`2026-12-01T11:44:32Z`), for messages.
pub(crate) fn format_unix(secs: i64) -> String {
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // H. Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_messages_are_rfc3339() {
        for text in [
            "1970-01-01T00:00:00Z",
            "2000-02-29T23:59:59Z",
            "2026-12-01T11:44:32Z",
        ] {
            let secs = crate::verify::trusted_root::parse_rfc3339(text).unwrap_or_default();
            assert_eq!(format_unix(secs), text);
        }
    }

    #[test]
    fn a_refresh_is_due_after_the_interval_or_halfway_to_expiry() {
        let v = |fetched_at, expires| Verified {
            trusted_root: TrustedRoot::public_good(),
            expires,
            fetched_at,
            root_version: 1,
            timestamp_version: 1,
        };
        let day = Duration::from_secs(86_400);
        assert_eq!(due(&v(1_000, 1_000 + 7 * 86_400), day), 1_000 + 86_400);
        assert_eq!(due(&v(1_000, 1_000 + 3_600), day), 1_000 + 1_800);
        assert_eq!(due(&v(1_000, 500), day), 1_000);
        assert_eq!(due(&v(1_000, i64::MAX), Duration::MAX), i64::MAX / 2 + 500);
    }
}
