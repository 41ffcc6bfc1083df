// Where the shared test fixtures are (the real-world signatures of `realworld/`, read at test
// time only, never committed here): `$IMAGECHECK_SHARED_FIXTURES` when set, else
// `shared/fixtures` beside the repository. One file for every test: the integration tests and
// benches have it as `support::shared_fixtures` (or `#[path]`), the unit tests include it as
// `crate::verify::test_fixtures`. Standard library only, and `//` comments, so `include!` can
// take it.

use std::path::{Path, PathBuf};

/// The variable naming the shared fixtures directory: the one that holds `realworld/`.
pub const SHARED_FIXTURES_ENV: &str = "IMAGECHECK_SHARED_FIXTURES";

/// The shared fixtures directory. Panics, saying what to set, when it has no `realworld/`:
/// a test that cannot read its fixtures fails, it never skips.
pub fn shared_fixtures() -> PathBuf {
    let (dir, from) = match std::env::var_os(SHARED_FIXTURES_ENV) {
        Some(dir) => (PathBuf::from(dir), format!("{SHARED_FIXTURES_ENV} names")),
        None => (
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures"),
            format!("{SHARED_FIXTURES_ENV} is not set, so the tests look in"),
        ),
    };
    if !dir.join("realworld").is_dir() {
        panic!(
            "the shared test fixtures are missing: {from} {}, which has no realworld/ \
             directory. Set {SHARED_FIXTURES_ENV} to the directory that holds realworld/ (the \
             project's shared/fixtures), or put shared/ beside the repository",
            dir.display()
        );
    }
    dir
}

/// `realworld/` of the shared fixtures.
pub fn realworld() -> PathBuf {
    shared_fixtures().join("realworld")
}

/// The bytes of `realworld/<path>`; panics naming the file it could not read.
pub fn realworld_file(path: &str) -> Vec<u8> {
    let full = realworld().join(path);
    std::fs::read(&full).unwrap_or_else(|e| panic!("read fixture {}: {e}", full.display()))
}
