//! `Bundle::parse` never panics, and no bundle it accepts signs a digest it never names
//! (core/tests/fuzz.rs: `bundle_parse_never_panics_and_names_only_its_subject`).
#![no_main]

use imagecheck::Digest;
use imagecheck::verify::internals::bundle::Bundle;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(bundle) = Bundle::parse(data) {
        assert!(
            bundle
                .image_signature(&Digest::sha256_of(b"another image"))
                .is_err()
        );
    }
});
