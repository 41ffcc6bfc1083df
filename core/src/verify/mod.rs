//! Signature verification.
//!
//! Public, for callers:
//!
//! * [`policy`]: the machine-wide rules (Talos `ImageVerificationConfig`, or plain YAML/JSON),
//!   validated strictly, with warnings for legal-but-suspicious rules.
//! * [`pattern`]: the `image` pattern language (`*` matches anything, including `/`).
//! * [`public_key`]: PEM public keys and certificates, and signature checks with them.
//! * [`payload`]: the cosign "simple signing" payload a legacy signature is made over.
//! * [`trusted_root`]: the Sigstore trusted root (embedded public-good, or a custom file).
//! * [`tuf`]: the optional TUF client that keeps a trusted root current from a repository.
//! * [`Verifier`] (in `verifier`): rules top-down, resolve on the way, result cache; and
//!   [`CandidateFailure`] (in `failure`): why each signature candidate failed, summarised in
//!   one line.
//!
//! Inside (`pub(crate)`; [`internals`] exposes the few parts the fuzz targets, benches and
//! integration tests check one at a time):
//!
//! * `bundle`: sigstore bundles (cosign v3): DSSE in-toto statements naming the image; the
//!   media types that make a bundle in `bundle_media_types`.
//! * `discovery`: finding an image's stored signatures in its registry, lazily.
//! * `blob_cache`: signature artifacts kept by content digest for re-verification.
//! * `keyless`: Fulcio certificate signatures: chain, identity, Rekor, SCT, timestamps.
//! * `check`: one candidate signature against one rule.
//! * `attestation`: one candidate attestation (legacy `.att` envelope or bundle) against one
//!   signer, and a rule's conditions on its predicate.
//! * `evaluation`: a rule's requirements (k of n distinct signers, attestations) over the
//!   candidates of one digest, and the messages saying what satisfied it or what is missing.
//! * `trusted_roots`: a verifier's default and named trusted roots, swappable at run time.
//! * `candidate`: where a signature was found, and the candidates discovery hands to the checks.
//! * `signature_documents`: the OCI documents discovery reads, and what each names.
//! * `request_budget`: the registry requests one verify may spend finding signatures.
//! * `result_cache`: successes kept for re-verification, per name, digest, rule and root.
//! * `rule_roots`: the roots one rule's keyless signers check against, picked before any I/O.

mod attestation;
mod blob_cache;
mod bundle;
mod bundle_media_types;
mod candidate;
mod check;
mod discovery;
mod evaluation;
mod failure;
mod keyless;
pub mod pattern;
pub mod payload;
pub mod policy;
pub mod public_key;
mod request_budget;
mod result_cache;
mod rule_roots;
mod signature_documents;
pub mod trusted_root;
mod trusted_roots;
pub mod tuf;
mod verifier;

#[cfg(test)]
pub(crate) mod test_fixtures;

pub use discovery::SignatureSource;
pub use failure::{
    CandidateFailure, DiscoveryReport, DiscoveryStop, FailedCandidate, Unsatisfied,
    VerificationFailure, summarize, summarize_discovery,
};
pub use keyless::identity::{IdentityField, IdentityMismatch};
pub use pattern::ImagePattern;
pub use payload::{PayloadError, SimpleSigningPayload};
pub use policy::{
    AttestationRequirement, CertificateExtension, Condition, ExtensionMatch, Signer, SignerSet,
};
pub use policy::{
    KeylessIdentity, Policy, PolicyError, PolicyProblem, PolicyWarning, Rule, RuleAction,
    StringMatch, TalosDifference, TalosDifferenceKind, WarningKind,
};
pub use public_key::{KeyAlgorithm, KeyError, KeySource, PublicKey, SignatureError};
pub use trusted_root::{TrustedRoot, TrustedRootError};

/// The old name of [`TrustedRoot`] (Sigstore's name for it, and the option's everywhere).
#[deprecated(since = "0.2.0", note = "renamed TrustedRoot")]
pub type TrustRoot = TrustedRoot;
/// The old name of [`TrustedRootError`].
#[deprecated(since = "0.2.0", note = "renamed TrustedRootError")]
pub type TrustRootError = TrustedRootError;
pub use verifier::{
    DEFAULT_DEADLINE, DEFAULT_RESULT_TTL, POLICY_ENV, Verification, Verifier, VerifierBuilder,
    default_verifier,
};

/// The parts of verification the fuzz targets (`fuzz/`), the benches (`core/benches/`) and the
/// integration tests (`core/tests/`) reach one at a time: public only for them, hidden from the
/// documentation, not part of the API, free to change in any release. Each module mirrors the
/// internal one its items come from.
#[doc(hidden)]
pub mod internals {
    pub use crate::verify::failure::Accepted;

    /// Sigstore bundles: parsed by the fuzz targets and by the keyless tests and benches.
    pub mod bundle {
        pub use crate::verify::bundle::{Bundle, Content, Material};
    }

    /// One candidate against one keyless rule: the keyless tests and benches.
    pub mod check {
        pub use crate::verify::check::keyless;
    }

    /// Signature discovery: the candidates (keyless tests), the listing parsers (fuzzed) and
    /// the bounds (faults.rs).
    pub mod discovery {
        pub use crate::verify::discovery::{
            BundleSignature, Candidate, LegacyAttestation, LegacySignature, MAX_REQUESTS,
            MAX_SIGNATURE_MANIFEST_BYTES,
        };
        pub use crate::verify::signature_documents::{
            Annotations, attestation_layers, bundle_layers, bundle_manifests, legacy_layers,
        };
    }

    /// The keyless checks of a bundle (keyless tests and benches) and of an RFC 3161
    /// timestamp (fuzzed, and keyless_timestamp.rs).
    pub mod keyless {
        pub use crate::verify::keyless::{Signer, Subject, verify_bundle};

        /// RFC 3161 timestamps.
        pub mod timestamp {
            pub use crate::verify::keyless::certificate::TsaPurposeError;
            pub use crate::verify::keyless::chain::ChainError;
            pub use crate::verify::keyless::timestamp::{TimestampError, verify};
        }

        /// The DER writer, with which tests/support/tsa.rs builds timestamp tokens.
        pub mod tlv {
            pub use crate::verify::keyless::tlv::wrap;
        }
    }
}
