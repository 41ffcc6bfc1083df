//! The shared test fixtures for unit tests: the same helper the integration tests use
//! (core/tests/support/shared_fixtures.rs), so both honour `IMAGECHECK_SHARED_FIXTURES` and
//! fail alike when the fixtures are missing.

include!("../../tests/support/shared_fixtures.rs");
