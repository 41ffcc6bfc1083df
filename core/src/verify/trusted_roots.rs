//! The trusted roots a verifier holds: a default one, for keyless rules that name none (the
//! embedded public-good root, a file, or a copy a TUF repository keeps current), and named ones
//! (`keyless.trustedRoot: NAME`, e.g. public-good beside a private deployment). All of them can
//! be swapped at run time without rebuilding the verifier: readers take a snapshot (an `Arc`)
//! under a read lock, so a verify under way keeps the roots it started with.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock, RwLock};

use super::trusted_root::TrustedRoot;
use super::tuf::TufRoot;

/// Where the default root comes from.
#[derive(Debug, Clone)]
pub(crate) enum DefaultRoot {
    Fixed(TrustedRoot),
    Tuf(Arc<TufRoot>),
}

#[derive(Debug)]
pub(crate) struct TrustedRoots {
    roots: RwLock<Arc<Roots>>,
}

#[derive(Debug, Clone)]
struct Roots {
    default: DefaultRoot,
    named: BTreeMap<String, TrustedRoot>,
}

/// Why a keyless rule has no trusted root to check against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unusable {
    /// The rule names a root the verifier does not hold.
    UnknownName,
    /// The TUF-refreshed default root has expired or was never fetched; why, for people.
    Stale(String),
}

/// A root with no authority at all, reported by `Verifier::trusted_root` while a TUF
/// repository without an embedded copy has not answered yet (keyless rules wait for it
/// instead; this one is never verified against).
static NOTHING_YET: LazyLock<TrustedRoot> = LazyLock::new(|| {
    #[allow(
        clippy::expect_used,
        reason = "a constant document, covered by the tests"
    )]
    TrustedRoot::from_json(
        br#"{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}"#,
    )
    .expect("the empty trusted root parses")
});

impl TrustedRoots {
    pub(crate) fn new(default: DefaultRoot, named: BTreeMap<String, TrustedRoot>) -> Self {
        TrustedRoots {
            roots: RwLock::new(Arc::new(Roots { default, named })),
        }
    }

    fn snapshot(&self) -> Arc<Roots> {
        self.roots.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn update(&self, change: impl FnOnce(&mut Roots)) {
        let mut roots = self.roots.write().unwrap_or_else(|p| p.into_inner());
        let mut next = Roots::clone(&roots);
        change(&mut next);
        *roots = Arc::new(next);
    }

    /// The names of the named roots, sorted.
    pub(crate) fn names(&self) -> Vec<String> {
        self.snapshot().named.keys().cloned().collect()
    }

    /// The default root in force now, without waiting (see [`NOTHING_YET`]).
    pub(crate) fn default_now(&self) -> TrustedRoot {
        match &self.snapshot().default {
            DefaultRoot::Fixed(root) => root.clone(),
            DefaultRoot::Tuf(tuf) => tuf.current().unwrap_or_else(|_| NOTHING_YET.clone()),
        }
    }

    /// The named root `name`, if the verifier holds one by that name.
    pub(crate) fn named(&self, name: &str) -> Option<TrustedRoot> {
        self.snapshot().named.get(name).cloned()
    }

    /// The TUF source of the default root, if it has one.
    pub(crate) fn tuf(&self) -> Option<Arc<TufRoot>> {
        match &self.snapshot().default {
            DefaultRoot::Tuf(tuf) => Some(tuf.clone()),
            DefaultRoot::Fixed(_) => None,
        }
    }

    /// The root a keyless rule naming `name` (None: the default) checks against. Never waits
    /// while a usable root exists; a TUF-refreshed default root without a valid copy waits for
    /// the refresh under way, until `deadline`.
    pub(crate) async fn for_rule(
        &self,
        name: Option<&str>,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<TrustedRoot, Unusable> {
        let roots = self.snapshot();
        match name {
            Some(name) => roots.named.get(name).cloned().ok_or(Unusable::UnknownName),
            None => match &roots.default {
                DefaultRoot::Fixed(root) => Ok(root.clone()),
                DefaultRoot::Tuf(tuf) => tuf.usable_by(deadline).await.map_err(Unusable::Stale),
            },
        }
    }

    /// Replace the default root (a TUF source included: from now on the root is fixed).
    pub(crate) fn set_default(&self, root: DefaultRoot) {
        self.update(|roots| roots.default = root);
    }

    /// Add or replace the named root `name`.
    pub(crate) fn set_named(&self, name: &str, root: TrustedRoot) {
        self.update(|roots| {
            roots.named.insert(name.to_owned(), root);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_placeholder_root_trusts_nothing() {
        assert!(NOTHING_YET.certificate_authorities().is_empty());
        assert!(NOTHING_YET.tlogs().is_empty());
        assert_ne!(
            NOTHING_YET.fingerprint(),
            TrustedRoot::public_good().fingerprint()
        );
    }

    #[tokio::test]
    async fn swapping_a_root_leaves_a_snapshot_taken_before_alone() {
        let roots = TrustedRoots::new(
            DefaultRoot::Fixed(TrustedRoot::public_good()),
            BTreeMap::new(),
        );
        let before = roots.snapshot();
        roots.set_default(DefaultRoot::Fixed(NOTHING_YET.clone()));
        roots.set_named("private", NOTHING_YET.clone());
        assert!(
            matches!(&before.default, DefaultRoot::Fixed(r) if r == &TrustedRoot::public_good())
        );
        assert_eq!(roots.default_now(), NOTHING_YET.clone());
        assert_eq!(roots.names(), ["private"]);
        assert_eq!(
            roots.for_rule(Some("other"), None).await,
            Err(Unusable::UnknownName)
        );
    }
}
