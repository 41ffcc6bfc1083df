//! Signed Certificate Timestamps embedded in the Fulcio certificate (RFC 6962 §3.2–3.3),
//! checked against the CT log keys of the trust root. sigstore-rs 0.15 skips this.
//!
//! The log signed the *precertificate*: the leaf's `tbsCertificate` without the SCT-list
//! extension, together with the sha256 of the issuer's public key. At least one SCT must
//! verify with a CT log of the trust root whose key was valid at the SCT's time. SCT
//! extensions (non-empty for static-CT logs) are covered by the signature and otherwise
//! ignored.

use sha2::{Digest as _, Sha256};

use super::certificate::Cert;
use super::tlv;
use crate::verify::trusted_root::TrustedRoot;

/// DER contents of the OID 1.3.6.1.4.1.11129.2.4.2.
const SCT_OID_BYTES: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0xd6, 0x79, 0x02, 0x04, 0x02];

struct Sct<'a> {
    log_id: &'a [u8],
    timestamp_ms: u64,
    extensions: &'a [u8],
    signature: &'a [u8],
}

fn take<'a>(input: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if input.len() < n {
        return None;
    }
    let (head, rest) = input.split_at(n);
    *input = rest;
    Some(head)
}

fn take_u16_vec<'a>(input: &mut &'a [u8]) -> Option<&'a [u8]> {
    let len = take(input, 2)?;
    take(input, usize::from(u16::from_be_bytes([len[0], len[1]])))
}

fn parse_list(value: &[u8]) -> Option<Vec<Sct<'_>>> {
    let (octets, _) = tlv::read(value).ok()?;
    if octets.tag != 0x04 {
        return None;
    }
    let mut input = octets.value;
    let mut list = take_u16_vec(&mut input)?;
    let mut out = Vec::new();
    while !list.is_empty() {
        let mut sct = take_u16_vec(&mut list)?;
        if take(&mut sct, 1)? != [0] {
            continue; // only v1 SCTs exist
        }
        let log_id = take(&mut sct, 32)?;
        let ts = take(&mut sct, 8)?;
        let extensions = take_u16_vec(&mut sct)?;
        let _algorithms = take(&mut sct, 2)?;
        let signature = take_u16_vec(&mut sct)?;
        out.push(Sct {
            log_id,
            timestamp_ms: u64::from_be_bytes(ts.try_into().ok()?),
            extensions,
            signature,
        });
    }
    Some(out)
}

/// The leaf's TBS without the SCT-list extension.
fn precert_tbs(leaf: &Cert) -> Option<Vec<u8>> {
    let (tbs, _) = tlv::read(&leaf.tbs).ok()?;
    let mut body = Vec::with_capacity(tbs.value.len());
    for field in tlv::children(tbs.value).ok()? {
        if field.tag != 0xa3 {
            body.extend_from_slice(field.raw);
            continue;
        }
        let (exts, _) = tlv::read(field.value).ok()?;
        let mut kept = Vec::new();
        for ext in tlv::children(exts.value).ok()? {
            let (oid, _) = tlv::read(ext.value).ok()?;
            if oid.value != SCT_OID_BYTES {
                kept.extend_from_slice(ext.raw);
            }
        }
        body.extend_from_slice(&tlv::wrap(0xa3, &tlv::wrap(0x30, &kept)));
    }
    Some(tlv::wrap(0x30, &body))
}

/// The outcome of a successful check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SctOutcome {
    Verified,
    /// The trust root lists no CT logs, so there is nothing to check against.
    SkippedNoCtLogs,
}

/// Why the leaf's SCTs do not show it was logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SctError {
    /// The certificate carries no SCT list (and the trust root lists CT logs).
    #[error("the certificate has no embedded SCT")]
    NoEmbeddedSct,
    /// The SCT list extension does not parse.
    #[error("the certificate's SCT list is malformed")]
    MalformedList,
    /// The precertificate TBS cannot be rebuilt from the leaf's.
    #[error("the certificate's TBS is malformed")]
    MalformedTbs,
    /// The TBS is too large for an SCT's 24-bit length.
    #[error("certificate too large")]
    TooLarge,
    /// No SCT names a CT log of the trust root.
    #[error("no SCT is from a CT log of the trust root")]
    UnknownLog,
    /// An SCT of a known log does not verify (or not at a time the log's key was valid).
    #[error("the SCT does not verify with the CT log's key")]
    BadSignature,
}

/// Check the leaf's embedded SCTs. `issuer` is the CA certificate that issued the leaf.
pub(crate) fn check(
    leaf: &Cert,
    issuer: &Cert,
    trusted_root: &TrustedRoot,
) -> Result<SctOutcome, SctError> {
    if trusted_root.ctlogs().is_empty() {
        return Ok(SctOutcome::SkippedNoCtLogs);
    }
    let value = leaf
        .extension(super::certificate::OID_SCT_LIST)
        .ok_or(SctError::NoEmbeddedSct)?;
    let scts = parse_list(value).ok_or(SctError::MalformedList)?;
    let tbs = precert_tbs(leaf).ok_or(SctError::MalformedTbs)?;
    let issuer_key_hash: [u8; 32] = Sha256::digest(&issuer.spki).into();
    let tbs_len = u32::try_from(tbs.len())
        .ok()
        .filter(|l| *l < 1 << 24)
        .ok_or(SctError::TooLarge)?;
    let mut unknown = true;
    for sct in &scts {
        let Some(log) = trusted_root.ctlog(sct.log_id) else {
            continue;
        };
        unknown = false;
        let mut signed = Vec::with_capacity(tbs.len() + 64);
        signed.extend_from_slice(&[0, 0]); // v1, certificate_timestamp
        signed.extend_from_slice(&sct.timestamp_ms.to_be_bytes());
        signed.extend_from_slice(&[0, 1]); // precert_entry
        signed.extend_from_slice(&issuer_key_hash);
        signed.extend_from_slice(&tbs_len.to_be_bytes()[1..]);
        signed.extend_from_slice(&tbs);
        signed.extend_from_slice(&(sct.extensions.len() as u16).to_be_bytes());
        signed.extend_from_slice(sct.extensions);
        let time = (sct.timestamp_ms / 1000) as i64;
        if log.key.verify(&signed, sct.signature).is_ok() && log.valid_for.contains(time) {
            return Ok(SctOutcome::Verified);
        }
    }
    Err(if unknown {
        SctError::UnknownLog
    } else {
        SctError::BadSignature
    })
}
