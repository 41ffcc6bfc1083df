//! The verified copy on disk: `verified.json` in the repository's directory holds the four
//! TUF roles of the last complete refresh and the trusted root target they sign, written
//! atomically (a temporary file renamed over it) after the refresh succeeded, so it is never
//! half of one refresh and half of another.
//!
//! Reading it checks it again, offline: the root signs itself, the root's keys sign the
//! timestamp, snapshot and targets roles, the versions chain (timestamp → snapshot →
//! targets), and the target's length and sha256 are those the targets role lists. A copy that
//! fails any check is not used (the next refresh replaces it). Its validity is the earliest
//! `expires` of the four roles.
//!
//! tough's own datastore (`metadata/` beside it) holds the latest roles tough saw, for its
//! rollback checks; it may be newer than `verified.json` when a refresh failed half-way (a
//! target whose hash does not match), which is why the verified copy is kept apart.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use tough::TargetName;
use tough::schema::{Root, Signed, Snapshot, Targets, Timestamp};

use super::repository::TRUSTED_ROOT_TARGET;
use crate::verify::trusted_root::TrustedRoot;

/// The file name of the verified copy.
pub(super) const VERIFIED_FILE: &str = "verified.json";

/// What one complete refresh fetched, as kept on disk.
#[derive(Serialize, Deserialize)]
pub(super) struct Stored {
    pub(super) url: String,
    /// Unix seconds.
    pub(super) fetched_at: i64,
    pub(super) root: Signed<Root>,
    pub(super) timestamp: Signed<Timestamp>,
    pub(super) snapshot: Signed<Snapshot>,
    pub(super) targets: Signed<Targets>,
    /// The `trusted_root.json` target, byte for byte (JSON, so UTF-8).
    pub(super) trusted_root: String,
}

/// A verified copy, ready to use.
#[derive(Debug, Clone)]
pub(super) struct Verified {
    pub(super) trusted_root: TrustedRoot,
    /// The earliest `expires` of the four roles, Unix seconds: past it the copy is stale.
    pub(super) expires: i64,
    pub(super) fetched_at: i64,
    pub(super) root_version: u64,
    pub(super) timestamp_version: u64,
}

/// Check `stored` for `url` offline (see the module documentation).
pub(super) fn check(stored: &Stored, url: &str) -> Result<Verified, String> {
    if stored.url != url {
        return Err(format!("it was fetched from {}, not {url}", stored.url));
    }
    let root = &stored.root;
    root.signed
        .verify_role(root)
        .map_err(|e| format!("root: {e}"))?;
    root.signed
        .verify_role(&stored.timestamp)
        .map_err(|e| format!("timestamp: {e}"))?;
    root.signed
        .verify_role(&stored.snapshot)
        .map_err(|e| format!("snapshot: {e}"))?;
    root.signed
        .verify_role(&stored.targets)
        .map_err(|e| format!("targets: {e}"))?;
    let listed = |meta: Option<&tough::schema::Metafile>, file: &str, version| match meta
        .map(|m| m.version.get())
    {
        Some(v) if v == version => Ok(()),
        other => Err(format!(
            "{file} is version {version}, the signed list says {other:?}"
        )),
    };
    listed(
        stored.timestamp.signed.meta.get("snapshot.json"),
        "snapshot.json",
        stored.snapshot.signed.version.get(),
    )?;
    listed(
        stored.snapshot.signed.meta.get("targets.json"),
        "targets.json",
        stored.targets.signed.version.get(),
    )?;
    let name = TargetName::new(TRUSTED_ROOT_TARGET).map_err(|e| e.to_string())?;
    let target = stored
        .targets
        .signed
        .targets
        .get(&name)
        .ok_or_else(|| format!("the targets role lists no {TRUSTED_ROOT_TARGET}"))?;
    let bytes = stored.trusted_root.as_bytes();
    if target.length != bytes.len() as u64
        || Sha256::digest(bytes).as_slice() != target.hashes.sha256.as_ref()
    {
        return Err(format!(
            "{TRUSTED_ROOT_TARGET} does not match the length and sha256 the targets role lists"
        ));
    }
    let trusted_root = TrustedRoot::from_json(bytes).map_err(|e| e.to_string())?;
    let expires = [
        root.signed.expires,
        stored.timestamp.signed.expires,
        stored.snapshot.signed.expires,
        stored.targets.signed.expires,
    ]
    .into_iter()
    .map(|t| t.as_second())
    .min()
    .unwrap_or(i64::MIN);
    Ok(Verified {
        trusted_root,
        expires,
        fetched_at: stored.fetched_at,
        root_version: root.signed.version.get(),
        timestamp_version: stored.timestamp.signed.version.get(),
    })
}

/// The verified copy in `dir` for `url`: None when there is none; an error (saying why) when
/// there is one that fails its checks.
pub(super) fn load(dir: &Path, url: &str) -> Result<Option<Verified>, String> {
    let path = dir.join(VERIFIED_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let stored: Stored = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{} is not valid: {e}", path.display()))?;
    check(&stored, url)
        .map(Some)
        .map_err(|e| format!("{} fails its checks: {e}", path.display()))
}

/// Write `stored` to `dir` atomically: a file of this process's own, renamed over the old one.
pub(super) fn save(dir: &Path, stored: &Stored) -> Result<(), String> {
    let path = dir.join(VERIFIED_FILE);
    let json = serde_json::to_vec(stored).map_err(|e| format!("cannot encode: {e}"))?;
    let temporary = dir.join(format!("{VERIFIED_FILE}.{}.tmp", std::process::id()));
    let written = std::fs::File::create(&temporary).and_then(|mut file| {
        std::io::Write::write_all(&mut file, &json)?;
        file.sync_all()
    });
    if let Err(e) = written.and_then(|()| std::fs::rename(&temporary, &path)) {
        let _ = std::fs::remove_file(&temporary);
        return Err(format!("cannot write {}: {e}", path.display()));
    }
    Ok(())
}
