//! `Policy::parse` never panics, nor does describing the rules it returns
//! (core/tests/fuzz.rs: `policy_parse_never_panics`).
#![no_main]

use imagecheck::Policy;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(policy) = Policy::parse(&text) {
        for rule in policy.rules() {
            let _ = (rule.to_string(), rule.describe_method());
        }
    }
});
