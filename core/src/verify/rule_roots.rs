//! The trusted roots one rule's keyless signers check against (the verifier's default root, or
//! the named one a `trustedRoot` field picks), chosen before any I/O: a TUF-refreshed root that
//! expired fails the verify here, and the roots' fingerprint is part of the result key, so a
//! swapped root is never answered from the old one's cache.

use sha2::{Digest as _, Sha256};

use super::policy::KeylessIdentity;
use super::trusted_root::TrustedRoot;

/// The roots of one rule, by `trustedRoot` name (None: the verifier's default root).
#[derive(Debug, Default)]
pub(super) struct RuleRoots {
    roots: Vec<(Option<String>, TrustedRoot)>,
}

impl RuleRoots {
    /// Whether the root for `name` is already here.
    pub(super) fn has(&self, name: Option<&str>) -> bool {
        self.roots.iter().any(|(n, _)| n.as_deref() == name)
    }

    pub(super) fn insert(&mut self, name: Option<&str>, root: TrustedRoot) {
        if !self.has(name) {
            self.roots.push((name.map(str::to_owned), root));
        }
    }

    /// The root `identity` checks against. Every keyless identity of the rule was given its
    /// root when the rule was matched ([`super::verifier`]), so a miss is a bug.
    pub(super) fn for_identity(&self, identity: &KeylessIdentity) -> &TrustedRoot {
        let name = identity.trusted_root();
        self.roots
            .iter()
            .find(|(n, _)| n.as_deref() == name)
            .map(|(_, root)| root)
            .expect("every keyless identity of a rule has its trusted root picked before checks")
    }

    /// Part of the result key: zeros for a rule without keyless signers, the root's own
    /// fingerprint for one root (what it always was), else SHA-256 over each name and root.
    pub(super) fn fingerprint(&self) -> [u8; 32] {
        match self.roots.as_slice() {
            [] => [0; 32],
            [(_, root)] => root.fingerprint(),
            roots => {
                let mut hasher = Sha256::new();
                for (name, root) in roots {
                    let name = name.as_deref().unwrap_or("");
                    hasher.update((name.len() as u64).to_be_bytes());
                    hasher.update(name.as_bytes());
                    hasher.update(root.fingerprint());
                }
                hasher.finalize().into()
            }
        }
    }
}
