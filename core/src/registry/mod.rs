//! OCI distribution client glue: auth, HEAD/GET of manifests and blobs, digest checks and
//! size limits, mirrors, retries after rate limits, and a cap on requests per host.
//!
//! Written over reqwest rather than `oci-client` 0.18 because every trap DESIGN.md lists for
//! that crate sits on this path: its first credentials stick to the client, token errors are
//! swallowed into anonymous 401s, and `docker.io` is rewritten. Here per-call credentials, the
//! token cache and error causes are ours, and one connection pool serves every caller.

mod address;
mod auth;
mod bounded;
pub(crate) mod call_limits;
mod challenge;
mod client;
mod endpoint;
mod host_limit;
mod http;
pub mod media_types;
mod mirrors;
mod realm;
mod retry;
mod tls;
mod token;
mod transport;

pub use auth::{AuthSource, AuthSources, ConfiguredSecret};
pub use client::{Fetched, MAX_IMAGE_MANIFEST_BYTES, RegistryClient, RegistryConfig};
pub use host_limit::DEFAULT_MAX_CONCURRENT_REQUESTS_PER_HOST;
/// The HTTP set-up (TLS, timeouts) and bounded reads, shared with the TUF client
/// (`verify::tuf`), which fetches Sigstore's trusted root the same way.
pub(crate) use http::builder as http_client_builder;
pub use mirrors::{HOSTS_DIR_ENV, MirrorFiles, REGISTRIES_CONF_ENV, SYSTEM_REGISTRIES_CONF};
#[doc(hidden)]
pub use realm::HostLookup;
pub use retry::DEFAULT_MAX_RETRIES;
pub(crate) use transport::{describe_transport, read_bounded};

/// The parsers of what a registry and its token server send, and their bounds: public only
/// for the fuzz targets (`fuzz/`) and their quick version, `core/tests/fuzz.rs`; hidden from the
/// documentation, not part of the API. (`verify::internals` is the same for verification.)
#[doc(hidden)]
pub mod internals {
    pub use crate::registry::token::{
        MAX_TOKEN_BYTES, MAX_TOKEN_LIFETIME, TokenGrant, parse_token_answer,
    };

    /// `WWW-Authenticate` challenges.
    pub mod challenge {
        pub use crate::registry::challenge::{Challenge, parse};
    }
}

/// Limit for one registry request, body included, unless configured otherwise.
pub const DEFAULT_REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
