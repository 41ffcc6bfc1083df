//! RFC 3161 signed timestamps (`timestampVerificationData.rfc3161Timestamps`), checked against
//! the timestamp authorities of the trust root. sigstore-rs 0.15 skips these; Rekor v2 entries
//! carry no integrated time, so for them a timestamp is the only signing time.
//!
//! Checked: the token is CMS SignedData over a TSTInfo; the TSTInfo's message imprint is the
//! hash of the signature being timestamped; the signed attributes' messageDigest is the hash
//! of the TSTInfo; the signer's signature over the signed attributes verifies with a
//! certificate that is (or chains to) a timestamp authority of the trust root, valid at
//! genTime, inside the authority's `validFor`, and made for time-stamping only (RFC 3161
//! §2.3: a critical extended key usage naming id-kp-timeStamping alone). Read with the DER
//! walker in [`super::tlv`] (the `cms` crate would add a dependency for four fields).

use sha2::{Digest as _, Sha256, Sha384, Sha512};
use x509_cert::spki::ObjectIdentifier;

use super::certificate::{self, Cert, Purpose, TsaPurposeError};
use super::chain::{self, ChainError};
use super::tlv::{self, Tlv};
use crate::verify::trusted_root::{CertificateAuthority, TrustedRoot, decimal, unix_time};

const SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
const SHA384: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02];
const SHA512: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03];
/// 1.2.840.113549.1.9.4
const MESSAGE_DIGEST: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04];
/// 1.2.840.113549.1.9.16.1.4
const TST_INFO: &[u8] = &[
    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x01, 0x04,
];

/// Why a timestamp does not vouch for a signing time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    /// The token (or the response holding it) cannot be read: what is missing or malformed.
    #[error("timestamp: {0}")]
    Malformed(&'static str),
    /// A hash algorithm other than SHA-256, SHA-384 or SHA-512.
    #[error("timestamp: unsupported hash algorithm")]
    UnsupportedHash,
    /// genTime is not a GeneralizedTime as RFC 3161 §2.4.2 allows it.
    #[error("timestamp: genTime is not a GeneralizedTime (YYYYMMDDHHMMSS[.fff]Z)")]
    BadGenTime,
    /// A timestamp response whose status is not a grant.
    #[error("timestamp: the timestamp response is not a grant")]
    NotGranted,
    /// The message imprint is the hash of other bytes than the signature.
    #[error("timestamp: the timestamp is for another signature")]
    OtherSignature,
    /// The signed attributes' messageDigest is not the hash of the TSTInfo.
    #[error("timestamp: the signed attributes do not cover the TSTInfo")]
    TstInfoNotCovered,
    /// The signing certificate is not made for time-stamping only.
    #[error("timestamp: {0}")]
    Purpose(TsaPurposeError),
    /// genTime is outside the validity of the lone TSA certificate or of its authority.
    #[error("timestamp: genTime is outside the TSA's validity")]
    OutsideTsaValidity,
    /// The signing certificate does not chain to the authority, or not at genTime. Shown in
    /// the chain error's `Debug` form, as it always has been.
    #[error("timestamp: {0:?}")]
    Chain(ChainError),
    /// No timestamp authority of the trust root signed the token.
    #[error("timestamp: not signed by a timestamp authority of the trust root")]
    UnknownAuthority,
}

fn bad(what: &'static str) -> TimestampError {
    TimestampError::Malformed(what)
}

fn seq(t: Tlv<'_>) -> Result<Vec<Tlv<'_>>, TimestampError> {
    tlv::children(t.value).map_err(|_| bad("malformed DER"))
}

fn hash(alg: &[u8], data: &[u8]) -> Result<(Vec<u8>, &'static str), TimestampError> {
    Ok(match alg {
        SHA256 => (Sha256::digest(data).to_vec(), "256"),
        SHA384 => (Sha384::digest(data).to_vec(), "384"),
        SHA512 => (Sha512::digest(data).to_vec(), "512"),
        _ => return Err(TimestampError::UnsupportedHash),
    })
}

/// The OID inside an AlgorithmIdentifier SEQUENCE, as DER contents.
fn alg_oid<'a>(t: &Tlv<'a>) -> Result<&'a [u8], TimestampError> {
    let (oid, _) = tlv::read(t.value).map_err(|_| bad("malformed algorithm"))?;
    Ok(oid.value)
}

/// A GeneralizedTime as RFC 3161 §2.4.2 allows it, `YYYYMMDDHHMMSS[.f+]Z`, to Unix seconds
/// (fractions dropped). Read byte by byte: these bytes come from the token, checked before the
/// TSA's signature is, and a `str` sliced at a fixed offset panics inside a multi-byte character.
fn generalized_time(value: &[u8]) -> Result<i64, TimestampError> {
    let invalid = || TimestampError::BadGenTime;
    let (digits, zone) = value.split_at_checked(14).ok_or_else(invalid)?;
    match zone {
        [b'Z'] => {}
        [b'.', fraction @ .., b'Z']
            if !fraction.is_empty() && fraction.iter().all(u8::is_ascii_digit) => {}
        _ => return Err(invalid()),
    }
    let field = |at: usize, len: usize| decimal(&digits[at..at + len]).ok_or_else(invalid);
    unix_time(
        field(0, 4)?,
        field(4, 2)?,
        field(6, 2)?,
        field(8, 2)?,
        field(10, 2)?,
        field(12, 2)?,
    )
    .ok_or_else(invalid)
}

fn signature_oid(sig_alg: &[u8], digest: &str) -> Result<ObjectIdentifier, TimestampError> {
    let from_bytes = |b: &[u8]| ObjectIdentifier::from_bytes(b).map_err(|_| bad("bad OID"));
    let oid = from_bytes(sig_alg)?;
    let text = match (oid.to_string().as_str(), digest) {
        ("1.2.840.10045.2.1", "256") => "1.2.840.10045.4.3.2",
        ("1.2.840.10045.2.1", "384") => "1.2.840.10045.4.3.3",
        ("1.2.840.10045.2.1", "512") => "1.2.840.10045.4.3.4",
        ("1.2.840.113549.1.1.1", "256") => "1.2.840.113549.1.1.11",
        ("1.2.840.113549.1.1.1", "384") => "1.2.840.113549.1.1.12",
        ("1.2.840.113549.1.1.1", "512") => "1.2.840.113549.1.1.13",
        _ => return Ok(oid),
    };
    ObjectIdentifier::new(text).map_err(|_| bad("bad OID"))
}

/// Verify one DER TimeStampToken over `signature`; return its genTime (Unix seconds).
pub fn verify(
    token: &[u8],
    signature: &[u8],
    trusted_root: &TrustedRoot,
) -> Result<i64, TimestampError> {
    let (outer, _) = tlv::read(token).map_err(|_| bad("malformed DER"))?;
    let mut ci = seq(outer)?;
    // A TimeStampResp { status PKIStatusInfo, timeStampToken } or the bare token (ContentInfo).
    if ci.first().is_some_and(|t| t.tag == 0x30) {
        let status = seq(ci[0])?;
        if status.first().map(|s| s.value) != Some(&[0][..])
            && status.first().map(|s| s.value) != Some(&[1][..])
        {
            return Err(TimestampError::NotGranted);
        }
        let token = ci
            .get(1)
            .ok_or_else(|| bad("the response holds no token"))?;
        ci = seq(*token)?;
    }
    let explicit = ci.get(1).ok_or_else(|| bad("no SignedData"))?;
    let (signed_data, _) = tlv::read(explicit.value).map_err(|_| bad("malformed DER"))?;
    let sd = seq(signed_data)?;
    // version, digestAlgorithms, encapContentInfo, [0] certificates?, [1] crls?, signerInfos
    let encap = seq(*sd.get(2).ok_or_else(|| bad("no content"))?)?;
    if encap.first().map(|t| t.value) != Some(TST_INFO) {
        return Err(bad("the token does not hold a TSTInfo"));
    }
    let econtent = encap.get(1).ok_or_else(|| bad("no TSTInfo"))?;
    let (octets, _) = tlv::read(econtent.value).map_err(|_| bad("malformed DER"))?;
    let tst_der = octets.value;
    let (tst, _) = tlv::read(tst_der).map_err(|_| bad("malformed TSTInfo"))?;
    let tst = seq(tst)?;
    let imprint = seq(*tst.get(2).ok_or_else(|| bad("no messageImprint"))?)?;
    let (imprint_alg, imprint_hash) = match imprint.as_slice() {
        [alg, hashed] => (alg_oid(alg)?, hashed.value),
        _ => return Err(bad("malformed messageImprint")),
    };
    if hash(imprint_alg, signature)?.0 != imprint_hash {
        return Err(TimestampError::OtherSignature);
    }
    let gen_time = generalized_time(tst.get(4).ok_or_else(|| bad("no genTime"))?.value)?;

    let embedded: Vec<Cert> = sd
        .iter()
        .find(|t| t.tag == 0xa0)
        .map(|certs| tlv::children(certs.value).unwrap_or_default())
        .unwrap_or_default()
        .iter()
        .filter_map(|c| Cert::parse(c.raw).ok())
        .collect();
    let signer_infos = sd
        .last()
        .filter(|t| t.tag == 0x31)
        .ok_or_else(|| bad("no signerInfos"))?;
    let signer_info = tlv::children(signer_infos.value)
        .ok()
        .and_then(|s| s.first().copied())
        .ok_or_else(|| bad("no signerInfo"))?;
    let si = seq(signer_info)?;
    // version, sid, digestAlgorithm, [0] signedAttrs, signatureAlgorithm, signature
    let attrs = si
        .iter()
        .find(|t| t.tag == 0xa0)
        .ok_or_else(|| bad("no signed attributes"))?;
    let digest_alg = alg_oid(si.get(2).ok_or_else(|| bad("no digestAlgorithm"))?)?;
    let (tst_hash, digest_bits) = hash(digest_alg, tst_der)?;
    let message_digest = tlv::children(attrs.value)
        .map_err(|_| bad("malformed attributes"))?
        .into_iter()
        .filter_map(|a| tlv::children(a.value).ok())
        .find(|a| a.first().map(|o| o.value) == Some(MESSAGE_DIGEST))
        .and_then(|a| a.get(1).and_then(|set| tlv::read(set.value).ok()))
        .map(|(v, _)| v.value)
        .ok_or_else(|| bad("no messageDigest attribute"))?;
    if message_digest != tst_hash {
        return Err(TimestampError::TstInfoNotCovered);
    }
    let rest: Vec<&Tlv<'_>> = si.iter().skip_while(|t| t.tag != 0xa0).skip(1).collect();
    let (sig_alg, sig) = match rest.as_slice() {
        [alg, sig, ..] if sig.tag == 0x04 => (alg_oid(alg)?, sig.value),
        _ => return Err(bad("malformed signerInfo")),
    };
    let sig_oid = signature_oid(sig_alg, digest_bits)?;
    let signed_attrs = tlv::wrap(0x31, attrs.value);

    for authority in trusted_root.timestamp_authorities() {
        let chain = &authority.certs;
        let mut candidates: Vec<(Cert, CertificateAuthority)> = Vec::new();
        // The trust root may name the TSA's own certificate first…
        if chain.len() > 1 {
            candidates.push((
                chain[0].clone(),
                CertificateAuthority {
                    uri: authority.uri.clone(),
                    chain: authority.chain[1..].to_vec(),
                    certs: chain[1..].to_vec(),
                    chain_verified: certificate::ca_chain_verifies(&chain[1..]),
                    valid_for: authority.valid_for,
                },
            ));
        } else if let Some(only) = chain.first() {
            // A lone certificate trusted as the TSA itself.
            if certificate::verify_with_spki(&only.spki, sig_oid, &signed_attrs, sig) {
                only.check_time_stamping_purpose()
                    .map_err(TimestampError::Purpose)?;
                return if only.valid_at(gen_time) && authority.valid_for.contains(gen_time) {
                    Ok(gen_time)
                } else {
                    Err(TimestampError::OutsideTsaValidity)
                };
            }
        }
        // …or only its issuers, the signing certificate coming with the token.
        for cert in &embedded {
            candidates.push((cert.clone(), authority.clone()));
        }
        for (signer, ca) in candidates {
            if !certificate::verify_with_spki(&signer.spki, sig_oid, &signed_attrs, sig) {
                continue;
            }
            signer
                .check_time_stamping_purpose()
                .map_err(TimestampError::Purpose)?;
            return match chain::verify_chain(
                &signer,
                std::slice::from_ref(&ca),
                &[gen_time],
                Purpose::TimeStamping,
            ) {
                Ok(_) => Ok(gen_time),
                Err(e) => Err(TimestampError::Chain(e)),
            };
        }
    }
    Err(TimestampError::UnknownAuthority)
}
