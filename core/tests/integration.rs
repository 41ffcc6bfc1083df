//! core's integration tests, one binary: each file of `core/tests/` is a module here, so the
//! workspace links one test executable instead of 22 (each ~55 MB in a debug build, and a link
//! each). `fork.rs` stays its own binary: a forked child has only the forking thread, so no other
//! test may run in its process.
//!
//! Run one file's tests with `cargo test -p imagecheck --test integration MODULE::`, e.g.
//! `cargo test -p imagecheck --test integration faults::`.

#![allow(
    clippy::unwrap_used,
    reason = "a test should stop at the first surprise"
)]

mod support;

// Support modules that some files use under their own names (`#[path]` keeps them beside the
// rest of support/, where benches and examples include them too).
#[path = "support/keyless.rs"]
mod fixtures;
#[path = "support/oci.rs"]
mod oci;
#[path = "support/tsa.rs"]
mod tsa;
#[path = "support/tuf_repo.rs"]
mod tuf_repo;

mod attestations;
mod certificate_extensions;
mod conformance;
mod engines;
mod faults;
mod fuzz;
mod keyless_bundle;
mod keyless_cosign;
mod keyless_legacy;
mod keyless_timestamp;
mod keyless_verifier;
mod mirrors;
mod named_trusted_roots;
mod realworld_registry;
mod registry;
mod shared_cache;
mod signers;
mod spelling;
mod talos_parity;
mod tuf;
mod verify;
mod verify_pipelining;
