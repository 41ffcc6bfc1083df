//! UniFFI bindings for imagecheck (Kotlin, Swift, Python, …), proc-macros only.
//!
//! This crate converts types and maps errors, nothing more: every behaviour lives in the
//! `imagecheck` core crate. The exported API mirrors DESIGN.md:
//!
//! - objects [`Resolver`] and [`Verifier`], with the process-wide [`default_resolver`] and
//!   [`default_verifier`];
//! - records [`Credentials`], [`Verification`], [`ParsedReference`], [`ResolverOptions`],
//!   [`VerifierOptions`];
//! - the error enum [`ImageCheckError`] with the stable kinds, [`CauseKind`] and
//!   [`CandidateFailure`];
//! - [`parse_reference`], the normalising parser every binding's conformance runner needs.
//!
//! Blocking and async methods both go through core's call facade (`imagecheck::Call`): a warm
//! answer is ready at once, anything else runs on the core's own tokio runtime (`.wait()` for
//! the blocking methods, `.await` for the async ones, which awaits only a channel, from any
//! executor). No `async_runtime` attribute is used, so UniFFI's async-compat wrapper (and the
//! hidden runtime it would start) never comes into play.

mod error;
mod reference;
mod resolver;
mod verifier;

pub use error::{CandidateFailure, CauseKind, ImageCheckError};
pub use reference::{ParsedReference, parse_reference};
pub use resolver::{Credentials, Resolver, ResolverOptions, default_resolver};
pub use verifier::{Verification, Verifier, VerifierOptions, default_verifier};

uniffi::setup_scaffolding!("imagecheck");
