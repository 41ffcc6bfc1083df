//! `keyless::timestamp::verify` never panics, and accepts a token only at the time its TSA
//! signed (core/tests/fuzz.rs: `timestamp_verify_never_panics_and_accepts_only_the_signed_time`).
//!
//! Every input is checked as a timestamp over the signature of the kubewarden seed
//! (core/tests/fuzz-corpus/timestamp-signature.bin), so the message imprint of a mutated seed
//! still matches and the parsing after it (genTime, signer info, certificates) is reached,
//! as an attacker, who can compute any imprint, reaches it.
#![no_main]

use std::sync::LazyLock;

use imagecheck::verify::TrustedRoot;
use imagecheck::verify::internals::keyless::timestamp;
use libfuzzer_sys::fuzz_target;

const SIGNATURE: &[u8] = include_bytes!("../../core/tests/fuzz-corpus/timestamp-signature.bin");
const SEED: &[u8] = include_bytes!("../../core/tests/fuzz-corpus/timestamp/kubewarden.der");

static ROOT: LazyLock<TrustedRoot> = LazyLock::new(TrustedRoot::public_good);
static SIGNED_AT: LazyLock<i64> = LazyLock::new(|| {
    timestamp::verify(SEED, SIGNATURE, &ROOT).expect("the kubewarden seed verifies")
});

fuzz_target!(|data: &[u8]| {
    if let Ok(time) = timestamp::verify(data, SIGNATURE, &ROOT) {
        assert_eq!(time, *SIGNED_AT);
    }
});
