//! `Reference::parse` never panics, what it accepts round-trips through `Display`, and its
//! registry is in canonical form (core/tests/fuzz.rs: `reference_parse_never_panics_and_round_trips`).
#![no_main]

use imagecheck::Reference;
use imagecheck::reference::canonical_registry;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    if let Ok(r) = Reference::parse(&input) {
        let again = Reference::parse(&r.to_string()).expect("a parsed reference's Display parses");
        assert_eq!(again, r);
        // One spelling per registry: the registry is already canonical.
        assert_eq!(&*canonical_registry(r.registry()), r.registry());
        assert!(r.repository().len() <= 255);
        assert!(r.tag().is_some() || r.digest().is_some());
    }
});
