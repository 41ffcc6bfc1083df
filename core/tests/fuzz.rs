//! Fuzzing of every parser that reads untrusted input: references, policies, WWW-Authenticate
//! challenges, token server answers, referrers indexes, signature manifests, simple-signing
//! payloads, sigstore bundles and RFC 3161 timestamps. Inputs are seeds from
//! `tests/fuzz-corpus/<target>/` mutated at random (byte
//! flips, inserts, deletes, splices), plus free-form strings.
//!
//! This is the quick, always-on check: proptest, on any stable toolchain, bounded by
//! `FUZZ_CASES` (default 2,000 per target; a run takes seconds), failures shrunk and persisted in
//! `tests/fuzz-corpus/regressions/` so a finding is replayed forever after.
//!
//! The coverage-guided fuzzing is `fuzz/` at the repository root: one cargo-fuzz (libFuzzer,
//! AddressSanitizer) target per seed directory, calling the same functions and asserting the same
//! invariants as the tests below, run by `tests/fuzz/run` (`FUZZ_SECONDS` per target, default
//! 30). cargo-fuzz needs nightly compiler flags; stable rustc accepts them with
//! `RUSTC_BOOTSTRAP=1`, which the script sets. A change to an invariant here belongs in the
//! matching `fuzz/fuzz_targets/<target>.rs` too, and an input either engine finds goes into
//! `tests/fuzz-corpus/<target>/`, where both replay it.

#![allow(
    clippy::unwrap_used,
    reason = "a test should stop at the first surprise"
)]

use std::path::PathBuf;

use imagecheck::reference::canonical_registry;
use imagecheck::registry::internals::challenge;
use imagecheck::registry::internals::{MAX_TOKEN_BYTES, MAX_TOKEN_LIFETIME, parse_token_answer};
use imagecheck::verify::internals::bundle::Bundle;
use imagecheck::verify::internals::discovery::{bundle_layers, bundle_manifests, legacy_layers};
use imagecheck::verify::internals::keyless::timestamp;
use imagecheck::verify::{SimpleSigningPayload, TrustedRoot};
use imagecheck::{Digest, Policy, Reference};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz-corpus")
        .join(target);
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| std::fs::read(entry.unwrap().path()).unwrap())
        .collect();
    assert!(!seeds.is_empty(), "no seeds in {}", dir.display());
    seeds.sort();
    seeds
}

#[derive(Debug, Clone)]
enum Edit {
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Splice(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Flip(i, b)),
        (
            any::<usize>(),
            prop_oneof![
                any::<u8>(),
                Just(b'"'),
                Just(b'{'),
                Just(b'}'),
                Just(b':'),
                Just(b'\n'),
                Just(b'*')
            ]
        )
            .prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<usize>().prop_map(Edit::Delete),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::Splice(a, b)),
    ]
}

/// A seed of `target` with up to 8 random edits.
fn mutated(target: &'static str) -> impl Strategy<Value = Vec<u8>> {
    let seeds = corpus(target);
    (0..seeds.len(), prop::collection::vec(edit(), 0..8)).prop_map(move |(i, edits)| {
        let mut bytes = seeds[i].clone();
        for e in edits {
            let n = bytes.len().max(1);
            match e {
                Edit::Flip(at, b) if !bytes.is_empty() => bytes[at % n] ^= b | 1,
                Edit::Insert(at, b) => bytes.insert(at % (bytes.len() + 1), b),
                Edit::Delete(at) if !bytes.is_empty() => {
                    bytes.remove(at % n);
                }
                Edit::Splice(a, b) if !bytes.is_empty() => {
                    let (a, b) = (a % n, b % n);
                    let (lo, hi) = (a.min(b), a.max(b));
                    bytes.drain(lo..hi);
                }
                _ => {}
            }
        }
        bytes
    })
}

/// The signature the timestamp seeds are over (the kubewarden bundle's DSSE signature).
const TIMESTAMP_SIGNATURE: &[u8] = include_bytes!("fuzz-corpus/timestamp-signature.bin");
const TIMESTAMP_SEED: &[u8] = include_bytes!("fuzz-corpus/timestamp/kubewarden.der");

fn config() -> Config {
    let cases = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fuzz-corpus/regressions/proptest-regressions.txt"
        )))),
        ..Config::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn reference_parse_never_panics_and_round_trips(bytes in mutated("reference"), free in "[a-zA-Z0-9:/@._\\[\\]-]{0,80}") {
        for input in [String::from_utf8_lossy(&bytes).into_owned(), free] {
            if let Ok(r) = Reference::parse(&input) {
                let again = Reference::parse(&r.to_string()).expect("a parsed reference's Display parses");
                prop_assert_eq!(&again, &r);
                // One spelling per registry: the registry is already canonical.
                let canonical = canonical_registry(r.registry());
                prop_assert_eq!(&*canonical, r.registry());
                prop_assert!(r.repository().len() <= 255);
                prop_assert!(r.tag().is_some() || r.digest().is_some());
            }
        }
    }

    #[test]
    fn policy_parse_never_panics(bytes in mutated("policy")) {
        let text = String::from_utf8_lossy(&bytes);
        if let Ok(policy) = Policy::parse(&text) {
            for rule in policy.rules() {
                let _ = (rule.to_string(), rule.describe_method());
            }
        }
    }

    #[test]
    fn challenge_parse_never_panics(bytes in mutated("challenge"), free in ".{0,120}") {
        let _ = challenge::parse(&String::from_utf8_lossy(&bytes));
        let _ = challenge::parse(&free);
    }

    #[test]
    fn token_answer_parse_never_panics_and_stays_bounded(bytes in mutated("token"), expires_in in any::<u64>()) {
        let chosen = format!(r#"{{"token":"t","expires_in":{expires_in}}}"#);
        for input in [&bytes[..], chosen.as_bytes()] {
            if let Ok(grant) = parse_token_answer(input) {
                prop_assert!(grant.lifetime() <= MAX_TOKEN_LIFETIME);
                prop_assert!(std::time::Instant::now().checked_add(grant.lifetime()).is_some());
                prop_assert!(grant.header().is_sensitive());
                prop_assert!(grant.header().len() <= "Bearer ".len() + MAX_TOKEN_BYTES);
            }
        }
    }

    #[test]
    fn index_and_manifest_parsing_never_panics(index in mutated("index"), manifest in mutated("manifest")) {
        if let Ok(digests) = bundle_manifests(&index) {
            // Only digests that are written out in the index can come back.
            let text = String::from_utf8_lossy(&index);
            prop_assert!(digests.iter().all(|d| text.contains(d.hex())));
        }
        if let Ok(layers) = legacy_layers(&manifest) {
            let text = String::from_utf8_lossy(&manifest);
            prop_assert!(layers.iter().all(|(d, _)| text.contains(d.hex())));
        }
        if let Ok(layers) = bundle_layers(&manifest) {
            let text = String::from_utf8_lossy(&manifest);
            prop_assert!(layers.iter().all(|d| text.contains(d.hex())));
        }
    }

    #[test]
    fn payload_parse_accepts_only_its_own_digest(bytes in mutated("payload")) {
        let other = Digest::sha256_of(b"another image");
        if let Ok(payload) = SimpleSigningPayload::parse(bytes.clone()) {
            prop_assert_eq!(payload.bytes().as_ref(), &bytes[..]);
            prop_assert!(payload.check_digest(&other).is_err() || payload.manifest_digest() == &other);
        }
    }

    /// Every input is a timestamp over the kubewarden seed's signature, so a mutated seed's
    /// message imprint still matches and what is read after it is reached, as an attacker (who
    /// can compute any imprint) reaches it. Whatever verifies, verifies at the seed's time:
    /// the TSA's signature covers it.
    #[test]
    fn timestamp_verify_never_panics_and_accepts_only_the_signed_time(bytes in mutated("timestamp")) {
        let root = TrustedRoot::public_good();
        let signed_at = timestamp::verify(TIMESTAMP_SEED, TIMESTAMP_SIGNATURE, &root).unwrap();
        if let Ok(time) = timestamp::verify(&bytes, TIMESTAMP_SIGNATURE, &root) {
            prop_assert_eq!(time, signed_at);
        }
    }

    #[test]
    fn bundle_parse_never_panics_and_names_only_its_subject(bytes in mutated("bundle")) {
        if let Ok(bundle) = Bundle::parse(&bytes) {
            // No mutation of a real bundle may sign a digest it never names.
            prop_assert!(bundle.image_signature(&Digest::sha256_of(b"another image")).is_err());
        }
    }
}
