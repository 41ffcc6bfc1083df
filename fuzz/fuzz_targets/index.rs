//! `bundle_manifests` (a referrers index) never panics and returns only digests written out in
//! the index (core/tests/fuzz.rs: `index_and_manifest_parsing_never_panics`).
#![no_main]

use imagecheck::verify::internals::discovery::bundle_manifests;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(digests) = bundle_manifests(data) {
        let text = String::from_utf8_lossy(data);
        assert!(digests.iter().all(|d| text.contains(d.hex())));
    }
});
