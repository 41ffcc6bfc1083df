//! An optional TUF client that keeps a Sigstore `trusted_root.json` current (DESIGN.md,
//! Registries at scale: trust root freshness). Off unless configured: offline verification
//! against the embedded or a given root stays the default.
//!
//! A [`TufRepository`] names the repository (Sigstore's public-good one, or a private
//! deployment's with its own TUF `root.json`), where its verified copy is kept
//! (`$XDG_CACHE_HOME/imagecheck/tuf`, one directory per repository) and how often it is asked
//! again (at most every [`DEFAULT_REFRESH_INTERVAL`] by default). A verifier given one
//! (`VerifierBuilder::tuf`) reads the verified copy from disk when it is built, checking it
//! again offline, and from then on refreshes it in the background; keyless rules that name no
//! trusted root use whatever copy is in force when they run, and results stay cached per
//! root (the result cache key holds the root's fingerprint).
//!
//! Verifying never waits on the network while a valid copy exists. Before the first refresh
//! of Sigstore's public-good repository, the embedded public-good root is used (the same one
//! an offline verifier trusts; waiting for a CDN on a node's first verify would put the network
//! in the pull path for no gain in trust). A private repository has no embedded copy: the
//! first keyless verify waits for the first refresh within its deadline. When the copy in
//! force has expired (its earliest TUF `expires`) and no refresh succeeds, keyless rules fail
//! closed, saying why; public-key rules never depend on it.
//!
//! Files: `repository` (configuration), `cache` (the verified copy on disk and its offline
//! checks), `root_json` (a root.json checked to sign itself), `refresh` (one refresh, through
//! tough), `transport` (tough's HTTP transport over core's client), `source` (the copy in force
//! and the background refreshes).

mod cache;
mod refresh;
mod repository;
mod root_json;
mod source;
mod transport;

use std::path::PathBuf;
use std::time::Duration;

pub use repository::{
    DEFAULT_REFRESH_INTERVAL, PUBLIC_GOOD_ROOT_JSON, PUBLIC_GOOD_URL, TRUSTED_ROOT_TARGET,
    TufRepository, default_cache_dir,
};
pub(crate) use source::TufRoot;

/// Why a TUF repository cannot be used as configured (an `InvalidArgument` error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TufError(pub String);

impl TufError {
    fn config(what: impl Into<String>) -> TufError {
        TufError(what.into())
    }
}

impl From<TufError> for crate::error::Error {
    fn from(error: TufError) -> Self {
        crate::error::Error::InvalidArgument(error.0)
    }
}

/// Where a verifier's TUF-refreshed trusted root stands ([`crate::Verifier::tuf_status`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TufStatus {
    pub url: String,
    /// This repository's directory under the cache directory (None: no cache directory is
    /// known, and every refresh fails saying so).
    pub cache_dir: Option<PathBuf>,
    /// When the copy in force was fetched (Unix seconds); None before the first refresh.
    pub fetched_at: Option<i64>,
    /// When it expires (the earliest TUF `expires` of its metadata, Unix seconds).
    pub expires: Option<i64>,
    pub root_version: Option<u64>,
    pub timestamp_version: Option<u64>,
    /// Why the last refresh failed, if it did.
    pub last_failure: Option<String>,
    /// Requests and time of the last successful refresh of this process.
    pub last_refresh_requests: Option<usize>,
    pub last_refresh_took: Option<Duration>,
    /// Whether a refresh is under way.
    pub refreshing: bool,
}
