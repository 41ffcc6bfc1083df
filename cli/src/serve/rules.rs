//! The daemon's rules: its own policy and trust root files (a request never names a file),
//! reloaded atomically on SIGHUP or when either file changes. A file that fails to load keeps
//! the rules in force, and the log says why.
//!
//! Changes are found by polling (mtime, ctime, size, inode every `--reload-interval`) rather
//! than inotify: polling sees every way a file gets replaced (an editor's rename, a Kubernetes
//! ConfigMap's symlink swap, a bind mount) with no watch to re-arm and no new crate, and two
//! `stat`s every two seconds cost nothing.

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use imagecheck::verify::TrustedRoot;
use imagecheck::{Policy, Resolver, Verifier};

/// The verifier in force, swapped whole when the trust root changes (core's verifier holds its
/// root for life); a policy change alone goes through [`Verifier::set_policy`], keeping the
/// signature caches.
#[derive(Debug)]
pub(crate) struct Rules {
    current: RwLock<Current>,
    /// The files' stamp when the daemon started (the watch compares against it first).
    loaded: Stamp,
    resolver: Resolver,
    policy_path: PathBuf,
    trust_root_path: Option<PathBuf>,
    resolve_ttl: Duration,
}

impl Rules {
    /// Load both files; an error here stops the daemon from starting.
    pub(crate) fn load(
        resolver: Resolver,
        policy_path: &Path,
        trust_root_path: Option<&Path>,
        resolve_ttl: Duration,
    ) -> Result<Rules, String> {
        // Stamped before reading: a change while loading is seen by the first poll.
        let loaded = stamp_of(policy_path, trust_root_path);
        let (policy, root) = read(policy_path, trust_root_path)?;
        Ok(Rules {
            current: RwLock::new(Current {
                generation: 0,
                verifier: build(&resolver, policy, root, resolve_ttl),
            }),
            loaded,
            resolver,
            policy_path: policy_path.to_owned(),
            trust_root_path: trust_root_path.map(Path::to_owned),
            resolve_ttl,
        })
    }

    /// The verifier to use for one call (calls under way keep the one they started with), and
    /// the generation of the rules it holds.
    pub(crate) fn current(&self) -> (u64, Verifier) {
        let current = self.current.read().unwrap_or_else(|p| p.into_inner());
        (current.generation, current.verifier.clone())
    }

    pub(crate) fn resolver(&self) -> &Resolver {
        &self.resolver
    }

    /// Re-read both files and swap the rules in; on error the current rules stay.
    pub(crate) fn reload(&self, why: &str) {
        match read(&self.policy_path, self.trust_root_path.as_deref()) {
            Ok((policy, root)) => {
                let count = policy.rules().len();
                let mut current = self.current.write().unwrap_or_else(|p| p.into_inner());
                if root.fingerprint() == current.verifier.trusted_root().fingerprint() {
                    current.verifier.set_policy(policy);
                } else {
                    current.verifier = build(&self.resolver, policy, root, self.resolve_ttl);
                }
                current.generation += 1;
                drop(current);
                tracing::info!(policy = %self.policy_path.display(), rules = count, why, "rules reloaded");
            }
            Err(e) => tracing::error!(
                why,
                error = %e,
                "reload failed; keeping the rules in force until the file is fixed"
            ),
        }
    }

    /// What identifies the files' current contents, to notice a change.
    pub(crate) fn stamp(&self) -> Stamp {
        stamp_of(&self.policy_path, self.trust_root_path.as_deref())
    }
}

/// The verifier in force and how many reloads made it (calls are coalesced per generation).
#[derive(Debug)]
struct Current {
    generation: u64,
    verifier: Verifier,
}

fn stamp_of(policy_path: &Path, trust_root_path: Option<&Path>) -> Stamp {
    Stamp(
        std::iter::once(policy_path)
            .chain(trust_root_path)
            .map(file_stamp)
            .collect(),
    )
}

/// A verifier sharing the daemon's one resolver (its tag cache survives every reload).
fn build(
    resolver: &Resolver,
    policy: Policy,
    root: TrustedRoot,
    resolve_ttl: Duration,
) -> Verifier {
    Verifier::builder(policy)
        .resolver(resolver.clone())
        .trusted_root(root)
        .resolve_ttl(resolve_ttl)
        .build()
}

fn read(
    policy_path: &Path,
    trust_root_path: Option<&Path>,
) -> Result<(Policy, TrustedRoot), String> {
    let policy = Policy::from_file(policy_path).map_err(|e| e.to_string())?;
    for warning in policy.warnings() {
        tracing::warn!(policy = %policy_path.display(), %warning, "policy warning");
    }
    let root = match trust_root_path {
        Some(path) => TrustedRoot::from_file(path).map_err(|e| e.to_string())?,
        None => TrustedRoot::public_good(),
    };
    Ok((policy, root))
}

/// What identifies each file's contents, following symlinks; None when missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stamp(Vec<Option<FileStamp>>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct FileStamp {
    modified: (i64, i64),
    changed: (i64, i64),
    size: u64,
    inode: (u64, u64),
}

fn file_stamp(path: &Path) -> Option<FileStamp> {
    let m = std::fs::metadata(path).ok()?;
    Some(FileStamp {
        modified: (m.mtime(), m.mtime_nsec()),
        changed: (m.ctime(), m.ctime_nsec()),
        size: m.size(),
        inode: (m.dev(), m.ino()),
    })
}

/// Install the SIGHUP handler; done before the socket exists, so an early SIGHUP never finds
/// the default action (termination).
pub(crate) fn hangup_signal() -> Option<tokio::signal::unix::Signal> {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::error!(error = %e, "cannot watch SIGHUP; file changes still reload");
            None
        }
    }
}

/// Reload on SIGHUP and whenever the files' stamp changes; runs until the daemon stops.
pub(crate) async fn watch(
    rules: Arc<Rules>,
    interval: Duration,
    mut hangup: Option<tokio::signal::unix::Signal>,
) {
    let mut seen = rules.loaded.clone();
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let hup = async {
            match hangup.as_mut() {
                Some(s) => s.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = hup => {
                seen = rules.stamp();
                rules.reload("SIGHUP");
            }
            _ = tick.tick() => {
                let now = rules.stamp();
                if now != seen {
                    seen = now;
                    rules.reload("file changed");
                }
            }
        }
    }
}
