//! imagecheck: resolve container image tags to content digests and verify cosign/sigstore
//! signatures against machine-wide rules.
//!
//! The contract (semantics, error kinds, names in every binding) is DESIGN.md.
#![forbid(unsafe_code)]

pub mod call;
pub mod cause;
pub mod credentials;
pub mod digest;
pub mod error;
pub mod metrics;
pub mod options;
pub mod reference;
pub mod registry;
pub mod resolve;
pub mod runtime;
pub mod shared_cache;
pub mod verify;

pub use call::{Call, Cancel};
pub use credentials::Credentials;
pub use digest::Digest;
pub use error::{CauseKind, DigestCause, Error, ErrorKind, PolicyLoadError, Result};
pub use options::{ResolverOptions, VerifierOptions};
pub use reference::Reference;
pub use resolve::{Engine, Resolver, default_resolver};
pub use verify::{Policy, Verification, Verifier, default_verifier};
