//! Signature verification: the pure (no network) building blocks.
//!
//! * [`policy`]: the machine-wide rules (Talos `ImageVerificationConfig`, or plain YAML/JSON),
//!   validated strictly, with warnings for legal-but-suspicious rules.
//! * [`pattern`]: the `image` pattern language (`*` matches anything, including `/`).
//! * [`public_key`]: PEM public keys and certificates, and signature checks with them.
//! * [`payload`]: the cosign "simple signing" payload a legacy signature is made over.
//! * [`failure`]: why each signature candidate failed, summarised in one line.
//!
//! Discovery of signatures in a registry and keyless (Fulcio/Rekor) checks build on these.

pub mod failure;
pub mod pattern;
pub mod payload;
pub mod policy;
pub mod public_key;

pub use failure::{CandidateFailure, summarize};
pub use pattern::ImagePattern;
pub use payload::{PayloadError, SimpleSigningPayload};
pub use policy::{
    IdentityField, IdentityMismatch, KeylessIdentity, Policy, PolicyError, PolicyProblem,
    PolicyWarning, Rule, RuleAction, StringMatch, WarningKind,
};
pub use public_key::{KeyAlgorithm, KeyError, KeySource, PublicKey, SignatureError};
