//! Transparency-log entries and their Signed Entry Timestamp (SET, Rekor v1's "inclusion
//! promise"), checked offline.
//!
//! The SET is the log key's signature over the canonical JSON (RFC 8785: keys sorted, no
//! whitespace) of `{"body","integratedTime","logID","logIndex"}`. With these four fields (two
//! integers and two strings from base64/hex alphabets) canonical JSON is a fixed template,
//! written out here rather than pulled from a canonicalisation crate.

use base64::Engine as _;
use serde::Deserialize;

use super::inclusion::{InclusionError, InclusionProof};
use crate::verify::trusted_root::{TransparencyLog, TrustedRoot};

/// Why a transparency-log entry does not give an authenticated time (or cannot be read).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum TlogError {
    /// The legacy `dev.sigstore.cosign/bundle` annotation does not parse (the parser's
    /// complaint).
    #[error("Rekor bundle annotation is not valid: {0}")]
    InvalidAnnotation(String),
    /// A bundle's tlog entry does not parse (the parser's complaint).
    #[error("bundle tlog entry is not valid: {0}")]
    InvalidEntry(String),
    /// A base64 field that is not base64.
    #[error("{0} is not base64")]
    NotBase64(&'static str),
    /// The legacy annotation's `logID` is not hex.
    #[error("Rekor logID is not hex")]
    LogIdNotHex,
    /// A protobuf-JSON integer string that is not an integer.
    #[error("{0:?} is not an integer")]
    NotInteger(String),
    /// The entry's inclusion proof cannot be read.
    #[error(transparent)]
    Proof(InclusionError),
    /// The entry names a log the trust root does not list.
    #[error("the entry is from log {log_id}, which the trust root does not list")]
    UnknownLog {
        /// The log ID, in hex.
        log_id: String,
    },
    /// The entry has no SET to verify.
    #[error("the entry has no signed entry timestamp")]
    NoSet,
    /// The entry has a SET but no integrated time it would sign.
    #[error("the entry has no integrated time")]
    NoIntegratedTime,
    /// The SET does not verify with the log's key.
    #[error("the signed entry timestamp does not verify with the log's key")]
    SetDoesNotVerify,
    /// The SET verifies, but for a time outside the log key's validity.
    #[error("the entry's integrated time {time} is outside the validity of log {base_url}")]
    OutsideLogValidity {
        /// The integrated time, Unix seconds.
        time: i64,
        /// The log's `baseUrl`.
        base_url: String,
    },
}

/// One log entry, from a legacy `dev.sigstore.cosign/bundle` annotation or a bundle's
/// `tlogEntries[]`.
#[derive(Debug, Clone)]
pub(crate) struct TlogEntry {
    /// The canonicalized entry body (decoded).
    pub body: Vec<u8>,
    pub integrated_time: Option<i64>,
    pub log_index: i64,
    pub log_id: Vec<u8>,
    pub set: Option<Vec<u8>>,
    pub proof: Option<InclusionProof>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawLegacy {
    signed_entry_timestamp: String,
    payload: RawLegacyPayload,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLegacyPayload {
    body: String,
    integrated_time: i64,
    log_index: i64,
    #[serde(rename = "logID")]
    log_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEntry {
    log_index: StrInt,
    log_id: RawLogId,
    #[serde(default)]
    integrated_time: Option<StrInt>,
    #[serde(default)]
    inclusion_promise: Option<RawPromise>,
    #[serde(default)]
    inclusion_proof: Option<serde_json::Value>,
    canonicalized_body: String,
}

/// protobuf-JSON int64: a string, though numbers are accepted too.
#[derive(Deserialize)]
#[serde(untagged)]
enum StrInt {
    Str(String),
    Num(i64),
}

impl StrInt {
    fn get(&self) -> Result<i64, TlogError> {
        match self {
            StrInt::Num(n) => Ok(*n),
            StrInt::Str(s) => s.parse().map_err(|_| TlogError::NotInteger(s.clone())),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLogId {
    key_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPromise {
    signed_entry_timestamp: String,
}

fn b64(text: &str, what: &'static str) -> Result<Vec<u8>, TlogError> {
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|_| TlogError::NotBase64(what))
}

impl TlogEntry {
    /// Read cosign's `dev.sigstore.cosign/bundle` annotation.
    pub(crate) fn from_legacy_annotation(json: &str) -> Result<TlogEntry, TlogError> {
        let raw: RawLegacy =
            serde_json::from_str(json).map_err(|e| TlogError::InvalidAnnotation(e.to_string()))?;
        Ok(TlogEntry {
            body: b64(&raw.payload.body, "Rekor entry body")?,
            integrated_time: Some(raw.payload.integrated_time),
            log_index: raw.payload.log_index,
            log_id: hex::decode(&raw.payload.log_id).map_err(|_| TlogError::LogIdNotHex)?,
            set: Some(b64(&raw.signed_entry_timestamp, "SignedEntryTimestamp")?),
            proof: None,
        })
    }

    /// Read one of a sigstore bundle's `verificationMaterial.tlogEntries`.
    pub(crate) fn from_bundle_entry(value: &serde_json::Value) -> Result<TlogEntry, TlogError> {
        let raw: RawEntry = serde_json::from_value(value.clone())
            .map_err(|e| TlogError::InvalidEntry(e.to_string()))?;
        let integrated_time = match raw.integrated_time {
            Some(t) => Some(t.get()?).filter(|t| *t != 0),
            None => None,
        };
        Ok(TlogEntry {
            body: b64(&raw.canonicalized_body, "canonicalizedBody")?,
            integrated_time,
            log_index: raw.log_index.get()?,
            log_id: b64(&raw.log_id.key_id, "logId")?,
            set: raw
                .inclusion_promise
                .map(|p| b64(&p.signed_entry_timestamp, "signedEntryTimestamp"))
                .transpose()?,
            proof: raw
                .inclusion_proof
                .map(|p| InclusionProof::from_json(&p))
                .transpose()
                .map_err(TlogError::Proof)?,
        })
    }

    /// The log of the trust root this entry claims to be in.
    pub(crate) fn log<'a>(
        &self,
        trusted_root: &'a TrustedRoot,
    ) -> Result<&'a TransparencyLog, TlogError> {
        trusted_root
            .tlog(&self.log_id)
            .ok_or_else(|| TlogError::UnknownLog {
                log_id: hex::encode(&self.log_id),
            })
    }

    /// The SET's canonical JSON.
    fn set_message(&self, integrated_time: i64) -> String {
        format!(
            r#"{{"body":"{}","integratedTime":{},"logID":"{}","logIndex":{}}}"#,
            base64::engine::general_purpose::STANDARD.encode(&self.body),
            integrated_time,
            hex::encode(&self.log_id),
            self.log_index
        )
    }

    /// Verify the SET with the log's key; on success the integrated time is authenticated
    /// and returned. The time must fall within the log key's validity.
    pub(crate) fn verify_set(&self, trusted_root: &TrustedRoot) -> Result<i64, TlogError> {
        let log = self.log(trusted_root)?;
        let set = self.set.as_deref().ok_or(TlogError::NoSet)?;
        let time = self.integrated_time.ok_or(TlogError::NoIntegratedTime)?;
        log.key
            .verify(self.set_message(time).as_bytes(), set)
            .map_err(|_| TlogError::SetDoesNotVerify)?;
        if !log.valid_for.contains(time) {
            return Err(TlogError::OutsideLogValidity {
                time,
                base_url: log.base_url.clone(),
            });
        }
        Ok(time)
    }
}
