//! OCI distribution client glue: auth, HEAD/GET of manifests and blobs, digest checks and
//! size limits.
//!
//! Written over reqwest rather than `oci-client` 0.18 because every trap DESIGN.md lists for
//! that crate sits on this path: its first credentials stick to the client, token errors are
//! swallowed into anonymous 401s, and `docker.io` is rewritten. Here per-call credentials, the
//! token cache and error causes are ours, and one connection pool serves every caller.

pub mod auth;
pub mod challenge;
mod client;
pub mod media_types;
mod tls;
mod token;

pub use auth::{AuthSource, AuthSources, ConfiguredSecret};
pub use client::{Fetched, RegistryClient, RegistryConfig};

/// Largest manifest read while resolving (OCI suggests registries accept at least 4 MiB).
pub const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;
