//! UniFFI bindings for imagecheck (Kotlin, Swift, Python, …), proc-macros only.
//!
//! This crate converts types and maps errors, nothing more: every behaviour lives in the
//! `imagecheck` core crate. The exported API mirrors DESIGN.md:
//!
//! - objects [`Resolver`] and [`Verifier`], with the process-wide [`default_resolver`] and
//!   [`default_verifier`];
//! - records [`Credentials`], [`Verification`], [`ParsedReference`], [`ResolverOptions`],
//!   [`VerifierOptions`];
//! - the error enum [`ImageCheckError`] with the stable kinds, and [`DigestCause`];
//! - [`parse_reference`], the normalising parser every binding's conformance runner needs.
//!
//! Async methods (`resolve`, `verify`) run their work on the core's own tokio runtime and await
//! its `JoinHandle` (see [`task`]); no `async_runtime` attribute is used, so UniFFI's
//! async-compat wrapper (and the hidden runtime it would start) never comes into play.

mod error;
mod reference;
mod resolver;
mod task;
mod verifier;

pub use error::{DigestCause, ImageCheckError};
pub use reference::{ParsedReference, parse_reference};
pub use resolver::{Credentials, Resolver, ResolverOptions, default_resolver};
pub use verifier::{Verification, Verifier, VerifierOptions, default_verifier};

uniffi::setup_scaffolding!("imagecheck");
