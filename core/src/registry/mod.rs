//! OCI distribution client glue: auth, HEAD/GET of manifests and blobs, digest checks and
//! size limits.
//!
//! Written over reqwest rather than `oci-client` 0.18 because every trap DESIGN.md lists for
//! that crate sits on this path: its first credentials stick to the client, token errors are
//! swallowed into anonymous 401s, and `docker.io` is rewritten. Here per-call credentials, the
//! token cache and error causes are ours, and one connection pool serves every caller.

mod address;
pub mod auth;
mod bounded;
pub mod challenge;
mod client;
mod http;
pub mod media_types;
mod realm;
mod tls;
mod token;

pub use auth::{AuthSource, AuthSources, ConfiguredSecret};
pub use client::{Fetched, RegistryClient, RegistryConfig};
#[doc(hidden)]
pub use realm::HostLookup;

/// The token-response parser and its bounds, public only for the fuzz targets (`fuzz/`,
/// `core/tests/fuzz.rs`); not part of the API.
#[doc(hidden)]
pub mod fuzzing {
    pub use super::token::{MAX_TOKEN_BYTES, MAX_TOKEN_LIFETIME, TokenGrant, parse_token_answer};
}

/// Largest manifest read while resolving (OCI suggests registries accept at least 4 MiB).
/// Limit for one registry request, body included, unless configured otherwise.
pub const DEFAULT_REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

pub const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;
