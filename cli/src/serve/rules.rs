//! The daemon's rules: its own policy and trust root files (a request never names a file),
//! reloaded atomically on SIGHUP or when one of them changes. A file that fails to load keeps
//! the rules in force, and the log says why. A TUF-refreshed default root (`--tuf-url`)
//! refreshes itself inside the verifier; reloads leave it alone.
//!
//! Changes are found by polling (mtime, ctime, size, inode every `--reload-interval`) rather
//! than inotify: polling sees every way a file gets replaced (an editor's rename, a Kubernetes
//! ConfigMap's symlink swap, a bind mount) with no watch to re-arm and no new crate, and two
//! `stat`s every two seconds cost nothing.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use imagecheck::verify::TrustedRoot;
use imagecheck::{Policy, Resolver, Verifier, VerifierOptions};

/// The verifier in force, one for the daemon's life: a reload swaps its policy
/// ([`Verifier::set_policy`]) and its trusted roots ([`Verifier::set_trusted_root`],
/// [`Verifier::set_named_trusted_root`]) in place, so the signature caches and a TUF
/// refresher survive it; results stay keyed by the root they were verified against.
#[derive(Debug)]
pub(crate) struct Rules {
    current: RwLock<Current>,
    /// The files' stamp when the daemon started (the watch compares against it first).
    loaded: Stamp,
    resolver: Resolver,
    files: Files,
}

/// The daemon's own files.
#[derive(Debug, Clone)]
pub(crate) struct Files {
    pub(crate) policy: PathBuf,
    pub(crate) trusted_root: Option<PathBuf>,
    pub(crate) named_trusted_roots: BTreeMap<String, PathBuf>,
}

impl Files {
    fn all(&self) -> impl Iterator<Item = &Path> {
        std::iter::once(self.policy.as_path())
            .chain(self.trusted_root.as_deref())
            .chain(self.named_trusted_roots.values().map(PathBuf::as_path))
    }
}

impl Rules {
    /// Load the files; an error here stops the daemon from starting. `options` holds the
    /// verifier's other options (the TUF repository among them); its file fields are `files`'.
    pub(crate) fn load(
        resolver: Resolver,
        files: Files,
        mut options: VerifierOptions,
    ) -> Result<Rules, String> {
        // Stamped before reading: a change while loading is seen by the first poll.
        let loaded = stamp_of(&files);
        let policy = read_policy(&files.policy)?;
        options.trusted_root = files.trusted_root.clone();
        options.trusted_roots = files.named_trusted_roots.clone();
        let verifier = options
            .builder(policy)
            .map_err(|e| e.to_string())?
            .resolver(resolver.clone())
            .build();
        Ok(Rules {
            current: RwLock::new(Current {
                generation: 0,
                verifier,
            }),
            loaded,
            resolver,
            files,
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

    /// Re-read the files and swap the rules in; on error the current rules stay.
    pub(crate) fn reload(&self, why: &str) {
        // One watch task reloads, so nothing else swaps between this read and the swap.
        let (_, verifier) = self.current();
        match read(&self.files, &verifier) {
            Ok(Loaded {
                policy,
                trusted_root,
                named,
            }) => {
                let count = policy.rules().len();
                if let Some(root) = trusted_root {
                    verifier.set_trusted_root(root);
                }
                for (name, root) in named {
                    verifier.set_named_trusted_root(&name, root);
                }
                verifier.set_policy(policy);
                self.current
                    .write()
                    .unwrap_or_else(|p| p.into_inner())
                    .generation += 1;
                tracing::info!(policy = %self.files.policy.display(), rules = count, why, "rules reloaded");
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
        stamp_of(&self.files)
    }
}

/// The verifier in force and how many reloads made it (calls are coalesced per generation).
#[derive(Debug)]
struct Current {
    generation: u64,
    verifier: Verifier,
}

fn stamp_of(files: &Files) -> Stamp {
    Stamp(files.all().map(file_stamp).collect())
}

fn read_policy(path: &Path) -> Result<Policy, String> {
    let policy = Policy::from_file(path).map_err(|e| e.to_string())?;
    for warning in policy.warnings() {
        tracing::warn!(policy = %path.display(), %warning, "policy warning");
    }
    Ok(policy)
}

/// What a reload swaps in.
struct Loaded {
    policy: Policy,
    /// The default root from its file, when the daemon has one (else: embedded or TUF, which
    /// a reload leaves alone).
    trusted_root: Option<TrustedRoot>,
    named: Vec<(String, TrustedRoot)>,
}

/// Every file read and checked before anything is swapped: a reload is all or nothing.
fn read(files: &Files, verifier: &Verifier) -> Result<Loaded, String> {
    let policy = read_policy(&files.policy)?;
    verifier.check_policy(&policy).map_err(|e| e.to_string())?;
    let trusted_root = files
        .trusted_root
        .as_deref()
        .map(TrustedRoot::from_file)
        .transpose()
        .map_err(|e| e.to_string())?;
    let named = files
        .named_trusted_roots
        .iter()
        .map(|(name, path)| {
            TrustedRoot::from_file(path)
                .map(|root| (name.clone(), root))
                .map_err(|e| e.to_string())
        })
        .collect::<Result<_, _>>()?;
    Ok(Loaded {
        policy,
        trusted_root,
        named,
    })
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
                rules.current().1.refresh_trusted_root_if_due();
                let now = rules.stamp();
                if now != seen {
                    seen = now;
                    rules.reload("file changed");
                }
            }
        }
    }
}
