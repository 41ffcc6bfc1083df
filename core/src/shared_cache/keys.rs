//! Keys in the tier: namespaced (`imagecheck:`) and versioned (`v1:`), so other users of the
//! same Redis are left alone and a change of entry format only needs a new version (entries
//! of the old one expire by themselves).
//!
//! Names come from parsed references (registry, repository, tag and digest grammars: no space,
//! no control character), and each part's grammar keeps the joins unambiguous.

use crate::digest::Digest;
use crate::reference::Reference;

/// The prefix of every key imagecheck writes.
pub(crate) const PREFIX: &str = "imagecheck:v1:";

/// One cached thing. Its entry holds the value; its lock, while held, says one node is asking
/// the registry for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Key {
    /// What follows the prefix: `tag:…`, `blob:…`, `listing:…`.
    name: String,
}

impl Key {
    /// A tag's digest (registry engine): `tag:registry/repository:tag`.
    pub(crate) fn tag(reference: &Reference) -> Key {
        Key {
            name: format!("tag:{}", reference.tagged_name()),
        }
    }

    /// A manifest or blob by content digest, in its repository:
    /// `blob:registry/repository@sha256:…`. The repository is part of the key as in the local
    /// blob cache: nothing read from one repository is served for another.
    pub(crate) fn blob(reference: &Reference, digest: &Digest) -> Key {
        Key {
            name: format!(
                "blob:{}/{}@{digest}",
                reference.registry(),
                reference.repository()
            ),
        }
    }

    /// A signature listing fetched by tag (`sha256-<hex>.sig`, `sha256-<hex>`):
    /// `listing:registry/repository:tag`.
    pub(crate) fn listing_tag(reference: &Reference, tag: &str) -> Key {
        Key {
            name: format!(
                "listing:{}/{}:{tag}",
                reference.registry(),
                reference.repository()
            ),
        }
    }

    /// The OCI referrers of `digest` with `artifact_type`:
    /// `listing:registry/repository@sha256:…/referrers/artifact-type`.
    pub(crate) fn listing_referrers(
        reference: &Reference,
        digest: &Digest,
        artifact_type: &str,
    ) -> Key {
        Key {
            name: format!(
                "listing:{}/{}@{digest}/referrers/{artifact_type}",
                reference.registry(),
                reference.repository()
            ),
        }
    }

    pub(crate) fn entry(&self) -> String {
        format!("{PREFIX}{}", self.name)
    }

    pub(crate) fn lock(&self) -> String {
        format!("{PREFIX}lock:{}", self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_namespaced_versioned_and_distinct_per_kind() {
        let reference = Reference::parse("127.0.0.1:5000/team/app:v1").unwrap();
        let digest = Digest::sha256_of(b"x");
        let tag = Key::tag(&reference);
        assert_eq!(tag.entry(), "imagecheck:v1:tag:127.0.0.1:5000/team/app:v1");
        assert_eq!(
            tag.lock(),
            "imagecheck:v1:lock:tag:127.0.0.1:5000/team/app:v1"
        );
        assert_eq!(
            Key::blob(&reference, &digest).entry(),
            format!("imagecheck:v1:blob:127.0.0.1:5000/team/app@{digest}")
        );
        let listings = [
            Key::listing_tag(&reference, "sha256-ab.sig"),
            Key::listing_tag(&reference, "sha256-ab"),
            Key::listing_referrers(&reference, &digest, "application/x"),
        ];
        for (i, a) in listings.iter().enumerate() {
            assert!(
                a.entry()
                    .starts_with("imagecheck:v1:listing:127.0.0.1:5000/team/app")
            );
            for b in &listings[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(
            Key::tag(&Reference::parse("nginx").unwrap()).entry(),
            "imagecheck:v1:tag:docker.io/library/nginx:latest"
        );
    }
}
