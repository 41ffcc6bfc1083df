//! The Sigstore trust root (`trusted_root.json`, media type
//! `application/vnd.dev.sigstore.trustedroot+json;version=0.1`): which Fulcio CAs, Rekor logs,
//! CT logs and timestamp authorities are trusted, and when.
//!
//! The public-good root is embedded at build time from `core/trust/` (see its README for
//! provenance and how to refresh it) and parsed once per process ([`TrustedRoot::public_good`]).
//! Private deployments pass their own file ([`TrustedRoot::from_json`] / [`TrustedRoot::from_file`]).
//!
//! Parsed by hand with serde into our own types rather than through `sigstore_protobuf_specs`:
//! only five fields are read, and the result holds ready-to-use keys (aws-lc-rs) and DER
//! certificates, so nothing is re-parsed per verification.

use std::fmt;
use std::path::Path;
use std::sync::{Arc, LazyLock};

use base64::Engine as _;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use super::public_key::{KeySource, PublicKey};

/// The embedded public-good trusted root JSON.
pub const PUBLIC_GOOD_JSON: &[u8] = include_bytes!("../../trust/public-good-trusted_root.json");

/// A time window, in Unix seconds; `end` open when absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ValidFor {
    pub(crate) start: i64,
    pub(crate) end: Option<i64>,
}

impl ValidFor {
    /// Whether `time` (Unix seconds) falls inside the window (both ends included).
    pub(crate) fn contains(&self, time: i64) -> bool {
        time >= self.start && self.end.is_none_or(|end| time <= end)
    }
}

/// A certificate authority (Fulcio) or timestamp authority: its chain, leaf-most first, root
/// last, as DER.
#[derive(Debug, Clone)]
pub(crate) struct CertificateAuthority {
    pub(crate) uri: String,
    pub(crate) chain: Vec<Vec<u8>>,
    /// `chain`, parsed once at load.
    pub(crate) certs: Vec<super::keyless::certificate::Cert>,
    /// Whether `certs` verify among themselves up to their root (checked once, at load).
    pub(crate) chain_verified: bool,
    pub(crate) valid_for: ValidFor,
}

/// A transparency log (Rekor v1/v2) or certificate-transparency log.
#[derive(Debug, Clone)]
pub(crate) struct TransparencyLog {
    pub(crate) base_url: String,
    /// The log ID (`logId.keyId`): for Rekor v1 and CT logs, sha256 of the key's DER.
    pub(crate) log_id: Vec<u8>,
    pub(crate) key: PublicKey,
    pub(crate) valid_for: ValidFor,
}

/// A parsed trusted root. Cheap to clone (shared).
#[derive(Clone)]
pub struct TrustedRoot {
    inner: Arc<Parsed>,
}

#[derive(Debug)]
struct Parsed {
    certificate_authorities: Vec<CertificateAuthority>,
    tlogs: Vec<TransparencyLog>,
    ctlogs: Vec<TransparencyLog>,
    timestamp_authorities: Vec<CertificateAuthority>,
    fingerprint: [u8; 32],
}

/// Why a trusted root could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("trusted root: {0}")]
pub struct TrustedRootError(pub String);

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRoot {
    media_type: String,
    #[serde(default)]
    tlogs: Vec<RawLog>,
    #[serde(default)]
    certificate_authorities: Vec<RawCa>,
    #[serde(default)]
    ctlogs: Vec<RawLog>,
    #[serde(default)]
    timestamp_authorities: Vec<RawCa>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLog {
    #[serde(default)]
    base_url: String,
    public_key: RawKey,
    log_id: RawLogId,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawKey {
    raw_bytes: String,
    #[serde(default)]
    key_details: String,
    valid_for: Option<RawValidFor>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLogId {
    key_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCa {
    #[serde(default)]
    uri: String,
    cert_chain: RawChain,
    valid_for: Option<RawValidFor>,
}

#[derive(Deserialize)]
struct RawChain {
    certificates: Vec<RawCert>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCert {
    raw_bytes: String,
}

#[derive(Deserialize)]
struct RawValidFor {
    start: Option<String>,
    end: Option<String>,
}

fn err(what: impl Into<String>) -> TrustedRootError {
    TrustedRootError(what.into())
}

fn b64(text: &str, what: &str) -> Result<Vec<u8>, TrustedRootError> {
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|_| err(format!("{what} is not base64")))
}

fn valid_for(raw: Option<RawValidFor>, what: &str) -> Result<ValidFor, TrustedRootError> {
    let raw = raw.ok_or_else(|| err(format!("{what} has no validFor")))?;
    let start = raw
        .start
        .as_deref()
        .ok_or_else(|| err(format!("{what} has no validFor.start")))?;
    let parse = |s: &str| {
        parse_rfc3339(s).ok_or_else(|| err(format!("{what}: {s:?} is not an RFC 3339 time")))
    };
    Ok(ValidFor {
        start: parse(start)?,
        end: raw.end.as_deref().map(parse).transpose()?,
    })
}

fn log(raw: RawLog, what: &str) -> Result<TransparencyLog, TrustedRootError> {
    let mut der = b64(&raw.public_key.raw_bytes, what)?;
    if raw.public_key.key_details.starts_with("PKCS1_RSA") {
        // A bare RSAPublicKey: wrap it in a SubjectPublicKeyInfo (rsaEncryption, NULL).
        use super::keyless::tlv::wrap;
        let algorithm = [
            0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05,
            0x00,
        ];
        let mut bits = vec![0u8];
        bits.extend_from_slice(&der);
        let mut body = algorithm.to_vec();
        body.extend_from_slice(&wrap(0x03, &bits));
        der = wrap(0x30, &body);
    }
    let key = PublicKey::from_spki_der(&der, KeySource::PublicKey)
        .map_err(|e| err(format!("{what} {}: {e}", raw.base_url)))?;
    Ok(TransparencyLog {
        valid_for: valid_for(raw.public_key.valid_for, what)?,
        log_id: b64(&raw.log_id.key_id, what)?,
        base_url: raw.base_url,
        key,
    })
}

fn authority(raw: RawCa, what: &str) -> Result<CertificateAuthority, TrustedRootError> {
    let chain = raw
        .cert_chain
        .certificates
        .iter()
        .map(|c| b64(&c.raw_bytes, what))
        .collect::<Result<Vec<_>, _>>()?;
    if chain.is_empty() {
        return Err(err(format!("{what} {} has an empty chain", raw.uri)));
    }
    let certs = chain
        .iter()
        .map(|der| super::keyless::certificate::Cert::parse(der))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(format!("{what} {}: {e}", raw.uri)))?;
    Ok(CertificateAuthority {
        valid_for: valid_for(raw.valid_for, what)?,
        uri: raw.uri,
        chain,
        chain_verified: super::keyless::certificate::ca_chain_verifies(&certs),
        certs,
    })
}

static PUBLIC_GOOD: LazyLock<TrustedRoot> = LazyLock::new(|| {
    #[allow(
        clippy::expect_used,
        reason = "the embedded root is tested; a broken one must not build a verifier"
    )]
    TrustedRoot::from_json(PUBLIC_GOOD_JSON).expect("the embedded public-good trusted root parses")
});

impl TrustedRoot {
    /// The embedded Sigstore public-good trusted root, parsed once per process.
    pub fn public_good() -> TrustedRoot {
        PUBLIC_GOOD.clone()
    }

    /// Parse `trusted_root.json` bytes.
    pub fn from_json(json: &[u8]) -> Result<TrustedRoot, TrustedRootError> {
        let raw: RawRoot =
            serde_json::from_slice(json).map_err(|e| err(format!("not valid JSON: {e}")))?;
        if !raw
            .media_type
            .starts_with("application/vnd.dev.sigstore.trustedroot")
        {
            return Err(err(format!("unknown media type {:?}", raw.media_type)));
        }
        let parsed = Parsed {
            certificate_authorities: raw
                .certificate_authorities
                .into_iter()
                .map(|c| authority(c, "certificate authority"))
                .collect::<Result<_, _>>()?,
            tlogs: raw
                .tlogs
                .into_iter()
                .map(|l| log(l, "transparency log"))
                .collect::<Result<_, _>>()?,
            ctlogs: raw
                .ctlogs
                .into_iter()
                .map(|l| log(l, "CT log"))
                .collect::<Result<_, _>>()?,
            timestamp_authorities: raw
                .timestamp_authorities
                .into_iter()
                .map(|c| authority(c, "timestamp authority"))
                .collect::<Result<_, _>>()?,
            fingerprint: Sha256::digest(json).into(),
        };
        Ok(TrustedRoot {
            inner: Arc::new(parsed),
        })
    }

    /// Read and parse a `trusted_root.json` file.
    pub fn from_file(path: &Path) -> Result<TrustedRoot, TrustedRootError> {
        let json =
            std::fs::read(path).map_err(|e| err(format!("cannot read {}: {e}", path.display())))?;
        Self::from_json(&json).map_err(|e| err(format!("{}: {}", path.display(), e.0)))
    }

    pub(crate) fn certificate_authorities(&self) -> &[CertificateAuthority] {
        &self.inner.certificate_authorities
    }

    pub(crate) fn tlogs(&self) -> &[TransparencyLog] {
        &self.inner.tlogs
    }

    pub(crate) fn ctlogs(&self) -> &[TransparencyLog] {
        &self.inner.ctlogs
    }

    pub(crate) fn timestamp_authorities(&self) -> &[CertificateAuthority] {
        &self.inner.timestamp_authorities
    }

    /// The transparency log with this log ID.
    pub(crate) fn tlog(&self, log_id: &[u8]) -> Option<&TransparencyLog> {
        self.inner.tlogs.iter().find(|l| l.log_id == log_id)
    }

    /// The CT log with this log ID.
    pub(crate) fn ctlog(&self, log_id: &[u8]) -> Option<&TransparencyLog> {
        self.inner.ctlogs.iter().find(|l| l.log_id == log_id)
    }

    /// sha256 of the JSON it was parsed from (part of the verifier's result-cache key).
    pub fn fingerprint(&self) -> [u8; 32] {
        self.inner.fingerprint
    }
}

impl fmt::Debug for TrustedRoot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustedRoot")
            .field("fingerprint", &hex::encode(&self.inner.fingerprint[..8]))
            .field(
                "certificate_authorities",
                &self.inner.certificate_authorities.len(),
            )
            .field("tlogs", &self.inner.tlogs.len())
            .field("ctlogs", &self.inner.ctlogs.len())
            .field(
                "timestamp_authorities",
                &self.inner.timestamp_authorities.len(),
            )
            .finish()
    }
}

impl PartialEq for TrustedRoot {
    fn eq(&self, other: &Self) -> bool {
        self.inner.fingerprint == other.inner.fingerprint
    }
}

/// Parse an RFC 3339 UTC time (`2021-01-12T11:53:27Z`, `…27.999Z`, `…27+01:00`) to Unix
/// seconds (fractions dropped). Read byte by byte, so no input can make it slice a `str`
/// inside a multi-byte character.
pub(crate) fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let time = unix_time(
        decimal(&b[0..4])?,
        decimal(&b[5..7])?,
        decimal(&b[8..10])?,
        decimal(&b[11..13])?,
        decimal(&b[14..16])?,
        decimal(&b[17..19])?,
    )?;
    let mut rest = &b[19..];
    if let [b'.', fraction @ ..] = rest {
        let digits = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        rest = &fraction[digits..];
    }
    let offset = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let (hours, minutes) = (decimal(&[*h1, *h2])?, decimal(&[*m1, *m2])?);
            let offset = hours * 3600 + minutes * 60;
            if *sign == b'-' { -offset } else { offset }
        }
        _ => return None,
    };
    Some(time - offset)
}

/// ASCII decimal digits (at most 18, so the value fits) to their value; None for anything
/// else, a sign included.
pub(crate) fn decimal(digits: &[u8]) -> Option<i64> {
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    digits.iter().try_fold(0i64, |value, &c| {
        c.is_ascii_digit().then(|| value * 10 + i64::from(c - b'0'))
    })
}

/// A UTC calendar time to Unix seconds; None when a field is out of range (a leap second,
/// `:60`, is accepted as RFC 3339 allows).
pub(crate) fn unix_time(
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
) -> Option<i64> {
    if !(0..=9999).contains(&year)
        || !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2021-01-12T11:53:27Z"), Some(1_610_452_407));
        assert_eq!(
            parse_rfc3339("2022-12-31T23:59:59.999Z"),
            Some(1_672_531_199)
        );
        assert_eq!(
            parse_rfc3339("2022-12-31T23:59:59.999Z"),
            Some(1_672_531_199)
        );
        assert_eq!(
            parse_rfc3339("2021-01-12T12:53:27+01:00"),
            Some(1_610_452_407)
        );
        for bad in [
            "",
            "2021-01-12",
            "2021-13-12T11:53:27Z",
            "2021-01-12T11:53:27",
            "x021-01-12T11:53:27Z",
            "2021-01-12T11:53:27+1:00",
            "2021-01-12T11:53:27.Z",
            "-021-01-12T11:53:27Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    /// The offset used to be sliced out of the `str` at fixed byte offsets: a multi-byte
    /// character there (a trust root is a file a user names) panicked.
    #[test]
    fn a_time_with_a_multi_byte_character_is_refused_without_a_panic() {
        for text in [
            "2021-01-12T11:53:27\u{e9}0000",
            "2021-01-12T11:53:27+0\u{e9}:0",
        ] {
            assert_eq!(parse_rfc3339(text), None, "{text}");
            let mut root: serde_json::Value =
                serde_json::from_slice(PUBLIC_GOOD_JSON).unwrap_or_default();
            root["tlogs"][0]["publicKey"]["validFor"]["start"] = text.into();
            let error = TrustedRoot::from_json(root.to_string().as_bytes()).err();
            assert!(error.is_some_and(|e| e.0.contains("RFC 3339")), "{text}");
        }
    }

    #[test]
    fn public_good_parses() {
        let root = TrustedRoot::public_good();
        assert_eq!(root.certificate_authorities().len(), 2);
        assert_eq!(root.tlogs().len(), 2);
        assert_eq!(root.ctlogs().len(), 2);
        assert_eq!(root.timestamp_authorities().len(), 1);
        let rekor = hex::decode("c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d")
            .unwrap();
        let log = root.tlog(&rekor).unwrap();
        assert_eq!(log.key.fingerprint().as_slice(), rekor.as_slice());
        assert_eq!(root.certificate_authorities()[1].chain.len(), 2);
        assert!(root.certificate_authorities()[0].valid_for.end.is_some());
    }

    #[test]
    fn errors_are_invalid_policy() {
        let e: crate::error::Error =
            TrustedRoot::from_file(Path::new("/nonexistent/trusted_root.json"))
                .unwrap_err()
                .into();
        assert_eq!(e.kind(), crate::error::ErrorKind::InvalidPolicy);
        assert!(
            e.to_string().contains("/nonexistent/trusted_root.json"),
            "{e}"
        );
    }

    #[test]
    fn rejects_bad_roots() {
        for bad in [
            &b"{}"[..],
            br#"{"mediaType":"application/json"}"#,
            br#"{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1","tlogs":[{"publicKey":{"rawBytes":"AAAA","validFor":{"start":"2021-01-12T11:53:27Z"}},"logId":{"keyId":"AA=="}}]}"#,
        ] {
            assert!(TrustedRoot::from_json(bad).is_err());
        }
    }
}
