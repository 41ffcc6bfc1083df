//! `parse_token_answer` (a token server's JSON) never panics, never grants a token longer than
//! the limit or cached longer than the cap, and always marks it sensitive
//! (core/tests/fuzz.rs: `token_answer_parse_never_panics_and_stays_bounded`).
#![no_main]

use imagecheck::registry::internals::{MAX_TOKEN_BYTES, MAX_TOKEN_LIFETIME, parse_token_answer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(grant) = parse_token_answer(data) {
        assert!(grant.lifetime() <= MAX_TOKEN_LIFETIME);
        assert!(std::time::Instant::now().checked_add(grant.lifetime()).is_some());
        assert!(grant.header().is_sensitive());
        assert!(grant.header().len() <= "Bearer ".len() + MAX_TOKEN_BYTES);
    }
});
