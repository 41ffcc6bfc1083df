//! Signature verification.
//!
//! * [`policy`]: the machine-wide rules (Talos `ImageVerificationConfig`, or plain YAML/JSON),
//!   validated strictly, with warnings for legal-but-suspicious rules.
//! * [`pattern`]: the `image` pattern language (`*` matches anything, including `/`).
//! * [`public_key`]: PEM public keys and certificates, and signature checks with them.
//! * [`payload`]: the cosign "simple signing" payload a legacy signature is made over.
//! * [`bundle`]: sigstore bundles (cosign v3): DSSE in-toto statements naming the image.
//! * [`discovery`]: finding an image's stored signatures in its registry, lazily.
//! * `blob_cache`: signature artifacts kept by content digest for re-verification.
//! * [`trust_root`]: the Sigstore trusted root (embedded public-good, or a custom file).
//! * [`keyless`]: Fulcio certificate signatures: chain, identity, Rekor, SCT, timestamps.
//! * [`check`]: one candidate signature against one rule.
//! * [`failure`]: why each signature candidate failed, summarised in one line.
//! * [`verifier`]: the [`Verifier`]: rules top-down, resolve on the way, result cache.

mod blob_cache;
pub mod bundle;
pub mod check;
pub mod discovery;
pub mod failure;
pub mod keyless;
pub mod pattern;
pub mod payload;
pub mod policy;
pub mod public_key;
pub mod trust_root;
pub mod verifier;

pub use failure::{
    CandidateFailure, DiscoveryReport, DiscoveryStop, summarize, summarize_discovery,
};
pub use keyless::identity::{IdentityField, IdentityMismatch};
pub use pattern::ImagePattern;
pub use payload::{PayloadError, SimpleSigningPayload};
pub use policy::{
    KeylessIdentity, Policy, PolicyError, PolicyProblem, PolicyWarning, Rule, RuleAction,
    StringMatch, WarningKind,
};
pub use public_key::{KeyAlgorithm, KeyError, KeySource, PublicKey, SignatureError};
pub use trust_root::{TrustRoot, TrustRootError};
pub use verifier::{
    DEFAULT_DEADLINE, POLICY_ENV, Verification, Verifier, VerifierBuilder, default_verifier,
};
