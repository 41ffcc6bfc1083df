//! `SimpleSigningPayload::parse` never panics, keeps the exact bytes, and accepts only its own
//! digest (core/tests/fuzz.rs: `payload_parse_accepts_only_its_own_digest`).
#![no_main]

use imagecheck::Digest;
use imagecheck::verify::SimpleSigningPayload;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let other = Digest::sha256_of(b"another image");
    if let Ok(payload) = SimpleSigningPayload::parse(data.to_vec()) {
        assert_eq!(payload.bytes().as_ref(), data);
        assert!(payload.check_digest(&other).is_err() || payload.manifest_digest() == &other);
    }
});
