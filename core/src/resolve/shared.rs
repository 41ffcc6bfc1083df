//! The resolver's side of the fleet's shared cache tier ([`crate::shared_cache`]): which
//! answers may be shared at all, and the tag entries.
//!
//! The local cache stays the first level. A local miss asks the tier (with the caller's TTL
//! against the entry's resolve time), then, on a miss, takes turns with the other nodes for the
//! registry's answer; a zero TTL skips the tier's read and writes the fresh answer for all.

use std::time::Duration;

use crate::credentials::Credentials;
use crate::digest::Digest;
use crate::reference::Reference;
use crate::registry::RegistryClient;
use crate::shared_cache::{
    Key, MAX_TAG_VALUE, Read, SharedCache, Turn, tag_value, tag_verdict, unix_ms_now,
};

/// The tier, if answers about `reference` may be shared: never those obtained with
/// credentials. Per-call credentials for its registry say so at once; configured ones are
/// looked up as the registry client would (a credentials file entry or helper for the
/// registry: the client would use it, so the answer is not shared; a broken file, which the
/// client will report, counts as credentials too).
///
/// Why configured credentials are not shared even under a fleet-wide fingerprint: any key
/// that every node can compute from what it holds, a reader of the tier holding the same
/// (the tier's password) can compute for guessed passwords, and the entry would also tell it
/// what a credential was needed to read (SECURITY.md).
pub(crate) async fn tier_for(
    tier: Option<&SharedCache>,
    registry: &RegistryClient,
    reference: &Reference,
    credentials: Option<&Credentials>,
) -> Option<SharedCache> {
    let tier = tier?;
    if credentials.is_some_and(|c| c.applies_to(reference.registry())) {
        return None;
    }
    match registry
        .config()
        .auth
        .lookup(reference.registry(), reference.repository())
        .await
    {
        Ok(None) => Some(tier.clone()),
        Ok(Some(_)) | Err(_) => None,
    }
}

/// The tier's answer for `reference`'s tag, if younger than `ttl`: the digest and its age.
pub(crate) async fn read_tag(
    tier: &SharedCache,
    reference: &Reference,
    ttl: Duration,
) -> Read<(Digest, Duration)> {
    let now = unix_ms_now();
    tier.read(&Key::tag(reference), MAX_TAG_VALUE, |value| {
        tag_verdict(value, ttl, now)
    })
    .await
}

/// After a miss: this node asks the registry, or another node's answer arrives first.
pub(crate) async fn turn_tag(
    tier: &SharedCache,
    reference: &Reference,
    ttl: Duration,
) -> Turn<(Digest, Duration)> {
    tier.turn(&Key::tag(reference), MAX_TAG_VALUE, |value| {
        tag_verdict(value, ttl, unix_ms_now())
    })
    .await
}

/// The entry for a digest the registry just gave, and how long the tier keeps it.
pub(crate) fn tag_entry(tier: &SharedCache, digest: &Digest) -> (Vec<u8>, Duration) {
    (tag_value(digest, unix_ms_now()), tier.tag_max_age())
}
