//! One refresh: TUF's client workflow (tough) from the newest root this machine trusts, then
//! the `trusted_root.json` target, checked against its signed length and hash, parsed, and
//! saved as the verified copy. Any failure leaves the verified copy as it was.

use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::Url;
use tough::{IntoVec as _, RepositoryLoader, TargetName};

use super::cache::{self, Stored, Verified};
use super::repository::{TRUSTED_ROOT_TARGET, TufRepository};
use super::transport::HttpTransport;
use crate::verify::keyless::unix_now;

/// Limit for each request to the repository.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What a refresh did, for the log and the benchmarks.
#[derive(Debug, Clone)]
pub(super) struct Refreshed {
    pub(super) verified: Verified,
    pub(super) requests: usize,
    pub(super) took: Duration,
}

/// Refresh `repository`'s verified copy in `dir` (created if missing). Several processes may
/// share `dir`: a lock file makes their refreshes take turns, since tough rewrites its
/// datastore files in place.
pub(super) async fn refresh(repository: &TufRepository, dir: &Path) -> Result<Refreshed, String> {
    let started = Instant::now();
    let metadata = dir.join("metadata");
    std::fs::create_dir_all(&metadata)
        .map_err(|e| format!("cannot create {}: {e}", metadata.display()))?;
    let _lock = lock(dir).await?;
    let transport = HttpTransport::new(REQUEST_TIMEOUT)?;
    let base = Url::parse(&format!("{}/", repository.url()))
        .map_err(|e| format!("TUF repository URL {}: {e}", repository.url()))?;
    let targets_base = base
        .join("targets/")
        .map_err(|e| format!("TUF repository URL {}: {e}", repository.url()))?;
    let start = newest_root(&metadata, repository.root_json());
    let loaded = RepositoryLoader::new(&start, base, targets_base)
        .transport(transport.clone())
        .datastore(&metadata)
        .load()
        .await
        .map_err(|e| describe(&e))?;
    let name = TargetName::new(TRUSTED_ROOT_TARGET).map_err(|e| describe(&e))?;
    let target = loaded
        .read_target(&name)
        .await
        .map_err(|e| describe(&e))?
        .ok_or_else(|| format!("the repository lists no {TRUSTED_ROOT_TARGET}"))?
        .into_vec()
        .await
        .map_err(|e| format!("{TRUSTED_ROOT_TARGET}: {}", describe(&e)))?;
    let trusted_root = String::from_utf8(target)
        .map_err(|_| format!("{TRUSTED_ROOT_TARGET} is not UTF-8 text"))?;
    let stored = Stored {
        url: repository.url().to_owned(),
        fetched_at: unix_now(),
        root: loaded.root().clone(),
        timestamp: loaded.timestamp().clone(),
        snapshot: loaded.snapshot().clone(),
        targets: loaded.targets().clone(),
        trusted_root,
    };
    // The same checks as a copy read from disk, the target's parse included: a target that is
    // no usable trusted root is refused here, and the copy in force stays.
    let verified = cache::check(&stored, repository.url())?;
    cache::save(dir, &stored)?;
    Ok(Refreshed {
        verified,
        requests: transport.requests(),
        took: started.elapsed(),
    })
}

/// The root to start TUF's workflow from: the one a previous refresh saved in tough's
/// datastore when it still signs itself and is not older than the configured one, else the
/// configured (or embedded) one.
fn newest_root(metadata: &Path, configured: &[u8]) -> Vec<u8> {
    let version =
        |json: &[u8]| super::root_json::self_signed_root(json).map(|r| r.signed.version.get());
    match std::fs::read(metadata.join("root.json")) {
        Ok(saved) if version(&saved).ok() >= version(configured).ok() => saved,
        _ => configured.to_vec(),
    }
}

/// An exclusive lock on `dir/lock`, taken off the runtime's threads (it may wait for another
/// process's refresh).
async fn lock(dir: &Path) -> Result<std::fs::File, String> {
    let path = dir.join("lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    tokio::task::spawn_blocking(move || file.lock().map(|()| file))
        .await
        .map_err(|e| format!("cannot lock {}: {e}", path.display()))?
        .map_err(|e| format!("cannot lock {}: {e}", path.display()))
}

/// An error and its sources as one line, each cause once.
fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}
