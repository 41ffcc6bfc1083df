//! `legacy_layers` (a `.sig` manifest) never panics and returns only digests written out in the
//! manifest (core/tests/fuzz.rs: `index_and_manifest_parsing_never_panics`).
#![no_main]

use imagecheck::verify::internals::discovery::legacy_layers;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(layers) = legacy_layers(data) {
        let text = String::from_utf8_lossy(data);
        assert!(layers.iter().all(|(d, _)| text.contains(d.hex())));
    }
});
