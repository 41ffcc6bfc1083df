//! `challenge::parse` (a WWW-Authenticate header) never panics
//! (core/tests/fuzz.rs: `challenge_parse_never_panics`).
#![no_main]

use imagecheck::registry::internals::challenge;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = challenge::parse(&String::from_utf8_lossy(data));
});
