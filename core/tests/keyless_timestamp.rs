//! RFC 3161 timestamps from a TSA made at test time (support/tsa.rs): each token is valid
//! but for the one thing a test changes, so each check is seen failing alone.

#![allow(
    clippy::unwrap_used,
    reason = "a test should stop at the first surprise"
)]

use crate::tsa;

use imagecheck::verify::internals::keyless::timestamp;
use tsa::{Eku, Tsa};

const SIGNATURE: &[u8] = b"the signature being timestamped";
/// 2025-01-02T03:04:05Z
const GEN_TIME: &[u8] = b"20250102030405Z";
const GEN_TIME_UNIX: i64 = 1_735_787_045;

#[test]
fn a_token_from_a_time_stamping_tsa_verifies_at_its_gen_time() {
    let tsa = Tsa::new(Eku::TimeStamping);
    let token = tsa.token(SIGNATURE, GEN_TIME);
    assert_eq!(
        timestamp::verify(&token, SIGNATURE, &tsa.trusted_root()),
        Ok(GEN_TIME_UNIX)
    );
    // Fractions of a second are allowed and dropped.
    let token = tsa.token(SIGNATURE, b"20250102030405.123Z");
    assert_eq!(
        timestamp::verify(&token, SIGNATURE, &tsa.trusted_root()),
        Ok(GEN_TIME_UNIX)
    );
    // The same token does not timestamp another signature.
    assert!(timestamp::verify(&token, b"another signature", &tsa.trusted_root()).is_err());
}

/// A genTime holding a multi-byte UTF-8 character used to panic on string slicing, before the
/// TSA's signature was checked (the message imprint is computable by anyone).
#[test]
fn a_gen_time_with_a_multi_byte_character_is_refused_without_a_panic() {
    let tsa = Tsa::new(Eku::TimeStamping);
    for gen_time in [
        "202\u{e9}0102030405Z",
        "2025010203040\u{e9}Z",
        "20250102030405\u{e9}Z",
        "\u{1f600}\u{1f600}\u{1f600}\u{1f600}Z",
    ] {
        let token = tsa.token(SIGNATURE, gen_time.as_bytes());
        let answer =
            std::panic::catch_unwind(|| timestamp::verify(&token, SIGNATURE, &tsa.trusted_root()));
        let answer = answer.unwrap_or_else(|_| panic!("genTime {gen_time:?} panicked"));
        let err = answer.unwrap_err().to_string();
        assert!(err.contains("genTime"), "{gen_time:?}: {err}");
    }
}

#[test]
fn a_gen_time_that_is_not_a_generalized_time_is_refused() {
    let tsa = Tsa::new(Eku::TimeStamping);
    for gen_time in [
        &b"2025010203040Z"[..],
        b"20250102030405",
        b"20251302030405Z",
        b"2025-1-02030405Z",
        b"20250102030405.Z",
        b"20250102030405+0100",
        b"+0250102030405Z",
    ] {
        let token = tsa.token(SIGNATURE, gen_time);
        let err = timestamp::verify(&token, SIGNATURE, &tsa.trusted_root())
            .unwrap_err()
            .to_string();
        assert!(err.contains("genTime"), "{gen_time:?}: {err}");
    }
}

/// RFC 3161 §2.3: the TSA's certificate must carry the extended key usage
/// `id-kp-timeStamping`, alone, in a critical extension. Everything else about these tokens
/// is valid (the same TSA with the EKU verifies above).
#[test]
fn a_tsa_certificate_without_the_time_stamping_eku_is_refused() {
    let tsa = Tsa::new(Eku::Absent);
    let token = tsa.token(SIGNATURE, GEN_TIME);
    let err = timestamp::verify(&token, SIGNATURE, &tsa.trusted_root())
        .unwrap_err()
        .to_string();
    assert!(err.contains("id-kp-timeStamping"), "{err}");
}

#[test]
fn a_tsa_certificate_whose_time_stamping_eku_is_not_critical_is_refused() {
    let tsa = Tsa::new(Eku::TimeStampingNotCritical);
    let token = tsa.token(SIGNATURE, GEN_TIME);
    let err = timestamp::verify(&token, SIGNATURE, &tsa.trusted_root())
        .unwrap_err()
        .to_string();
    assert!(err.contains("critical"), "{err}");
}

#[test]
fn a_tsa_certificate_with_another_purpose_beside_time_stamping_is_refused() {
    let tsa = Tsa::new(Eku::TimeStampingAndCodeSigning);
    let token = tsa.token(SIGNATURE, GEN_TIME);
    let err = timestamp::verify(&token, SIGNATURE, &tsa.trusted_root())
        .unwrap_err()
        .to_string();
    assert!(err.contains("id-kp-timeStamping"), "{err}");
}

/// Every certificate on the TSA's chain must permit time stamping, as Go's crypto/x509 (which
/// sigstore-go verifies TSA chains with) reads extended key usage on a chain: a CA with the
/// extension must name time stamping or anyExtendedKeyUsage; a CA without it permits all.
#[test]
fn a_tsa_chain_whose_ca_restricts_itself_to_another_purpose_is_refused() {
    let server_auth = Tsa::with_root_purposes(Eku::TimeStamping, Some(&["1.3.6.1.5.5.7.3.1"]));
    let token = server_auth.token(SIGNATURE, GEN_TIME);
    let err = timestamp::verify(&token, SIGNATURE, &server_auth.trusted_root())
        .unwrap_err()
        .to_string();
    assert!(err.contains("without time stamping"), "{err}");
    for purposes in [
        &["1.3.6.1.5.5.7.3.8"][..],
        &["2.5.29.37.0"],
        &["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.8"],
    ] {
        let tsa = Tsa::with_root_purposes(Eku::TimeStamping, Some(purposes));
        let token = tsa.token(SIGNATURE, GEN_TIME);
        assert_eq!(
            timestamp::verify(&token, SIGNATURE, &tsa.trusted_root()),
            Ok(GEN_TIME_UNIX),
            "{purposes:?}"
        );
    }
}
