//! The Rekor entry body, compared with the signature being verified.
//!
//! A valid SET or inclusion proof only shows that *some* entry was logged. The entry must be
//! *this* signature: same signature bytes, same signed hash (payload / artifact sha256, or the
//! DSSE payload hash), same certificate or key. sigstore-rs 0.15 skips this on the legacy path
//! (DESIGN.md, Known traps); here it is required for every kind read:
//!
//! | kind | version | hash | signature | verifier |
//! |---|---|---|---|---|
//! | `hashedrekord`, `rekord` | 0.0.1 | `spec.data.hash` (hex) | `spec.signature.content` | `spec.signature.publicKey.content` (b64 PEM) |
//! | `dsse` | 0.0.1 | `spec.payloadHash` (hex) | `spec.signatures[].signature` | `…verifier` (b64 PEM) |
//! | `intoto` | 0.0.2 | `spec.content.payloadHash` (hex) | `spec.content.envelope.signatures[].sig` (b64 of b64) | `…publicKey` (b64 PEM) |
//! | `hashedrekord` | 0.0.2 (Rekor v2) | `spec.hashedRekordV002.data.digest` (b64) | `…signature.content` | `…signature.verifier` |
//! | `dsse` | 0.0.2 (Rekor v2) | `spec.dsseV002.payloadHash.digest` (b64) | `…signatures[].content` | `…verifier` |

use base64::Engine as _;
use serde_json::Value;

/// What the entry must describe.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Expected<'a> {
    /// sha256 of the signed artifact (hashedrekord) or of the DSSE payload (dsse, intoto).
    pub sha256: &'a [u8; 32],
    pub signature: &'a [u8],
    /// The signing certificate (DER), for keyless.
    pub certificate: Option<&'a [u8]>,
    /// The signing key (SubjectPublicKeyInfo DER), for key-signed entries.
    pub key_spki: Option<&'a [u8]>,
}

/// Why a log entry's body does not describe the signature being verified: it cannot be read,
/// or it records another hash, signature or signer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum EntryMismatch {
    /// The body is not JSON (the parser's complaint).
    #[error("entry body is not JSON: {0}")]
    NotJson(String),
    /// A kind and version read here, missing a field this check needs.
    #[error("unreadable {kind} {version} entry body")]
    Unreadable {
        /// The entry's `kind` (empty when absent).
        kind: String,
        /// The entry's `apiVersion` (empty when absent).
        version: String,
    },
    /// A kind or version this check does not read.
    #[error("unsupported entry kind {kind:?} {version:?}")]
    UnsupportedKind {
        /// The entry's `kind` (empty when absent).
        kind: String,
        /// The entry's `apiVersion` (empty when absent).
        version: String,
    },
    /// The entry records the hash of another payload or artifact.
    #[error("the log entry records another payload hash")]
    OtherPayloadHash,
    /// The entry records another signature.
    #[error("the log entry records another signature")]
    OtherSignature,
    /// The entry records this signature, made by another certificate or key.
    #[error("the log entry records another certificate or key")]
    OtherSigner,
}

enum Verifier {
    Certificate(Vec<u8>),
    Key(Vec<u8>),
}

struct Logged {
    sha256: Vec<u8>,
    signatures: Vec<(Vec<u8>, Verifier)>,
}

fn b64(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

/// A base64 PEM (`publicKey.content`, `verifier`) as a verifier.
fn pem_verifier(b64_pem: &str) -> Option<Verifier> {
    let text = b64(b64_pem)?;
    let block = pem::parse(text).ok()?;
    match block.tag() {
        "CERTIFICATE" => Some(Verifier::Certificate(block.into_contents())),
        "PUBLIC KEY" => Some(Verifier::Key(block.into_contents())),
        _ => None,
    }
}

/// A Rekor v2 `verifier` object.
fn v2_verifier(v: &Value) -> Option<Verifier> {
    if let Some(raw) = str_at(v, "/x509Certificate/rawBytes") {
        return Some(Verifier::Certificate(b64(raw)?));
    }
    str_at(v, "/publicKey/rawBytes")
        .and_then(b64)
        .map(Verifier::Key)
}

fn sha256_hex(v: &Value, pointer: &str) -> Option<Vec<u8>> {
    let alg = str_at(v, &format!("{pointer}/algorithm"))?;
    if alg != "sha256" {
        return None;
    }
    hex::decode(str_at(v, &format!("{pointer}/value"))?).ok()
}

fn sha256_b64(v: &Value, pointer: &str) -> Option<Vec<u8>> {
    let alg = str_at(v, &format!("{pointer}/algorithm"))?;
    if alg != "SHA2_256" {
        return None;
    }
    b64(str_at(v, &format!("{pointer}/digest"))?)
}

fn parse(body: &[u8]) -> Result<Logged, EntryMismatch> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| EntryMismatch::NotJson(e.to_string()))?;
    let kind = str_at(&v, "/kind").unwrap_or_default();
    let version = str_at(&v, "/apiVersion").unwrap_or_default();
    let unreadable = || EntryMismatch::Unreadable {
        kind: kind.to_owned(),
        version: version.to_owned(),
    };
    let logged = match (kind, version) {
        ("hashedrekord" | "rekord", "0.0.1") => Logged {
            sha256: sha256_hex(&v, "/spec/data/hash").ok_or_else(unreadable)?,
            signatures: vec![(
                str_at(&v, "/spec/signature/content")
                    .and_then(b64)
                    .ok_or_else(unreadable)?,
                str_at(&v, "/spec/signature/publicKey/content")
                    .and_then(pem_verifier)
                    .ok_or_else(unreadable)?,
            )],
        },
        ("dsse", "0.0.1") => Logged {
            sha256: sha256_hex(&v, "/spec/payloadHash").ok_or_else(unreadable)?,
            signatures: list(&v, "/spec/signatures", |s| {
                Some((
                    b64(s.get("signature")?.as_str()?)?,
                    pem_verifier(s.get("verifier")?.as_str()?)?,
                ))
            })
            .ok_or_else(unreadable)?,
        },
        ("intoto", "0.0.2") => Logged {
            sha256: sha256_hex(&v, "/spec/content/payloadHash").ok_or_else(unreadable)?,
            signatures: list(&v, "/spec/content/envelope/signatures", |s| {
                let once = b64(s.get("sig")?.as_str()?)?;
                // Rekor stores the envelope's base64 signature base64-encoded again.
                let sig = std::str::from_utf8(&once)
                    .ok()
                    .and_then(b64)
                    .unwrap_or(once);
                Some((sig, pem_verifier(s.get("publicKey")?.as_str()?)?))
            })
            .ok_or_else(unreadable)?,
        },
        ("hashedrekord", "0.0.2") => Logged {
            sha256: sha256_b64(&v, "/spec/hashedRekordV002/data").ok_or_else(unreadable)?,
            signatures: vec![(
                str_at(&v, "/spec/hashedRekordV002/signature/content")
                    .and_then(b64)
                    .ok_or_else(unreadable)?,
                v.pointer("/spec/hashedRekordV002/signature/verifier")
                    .and_then(v2_verifier)
                    .ok_or_else(unreadable)?,
            )],
        },
        ("dsse", "0.0.2") => Logged {
            sha256: sha256_b64(&v, "/spec/dsseV002/payloadHash").ok_or_else(unreadable)?,
            signatures: list(&v, "/spec/dsseV002/signatures", |s| {
                Some((
                    b64(s.get("content")?.as_str()?)?,
                    v2_verifier(s.get("verifier")?)?,
                ))
            })
            .ok_or_else(unreadable)?,
        },
        _ => {
            return Err(EntryMismatch::UnsupportedKind {
                kind: kind.to_owned(),
                version: version.to_owned(),
            });
        }
    };
    Ok(logged)
}

fn list(
    v: &Value,
    pointer: &str,
    item: impl Fn(&Value) -> Option<(Vec<u8>, Verifier)>,
) -> Option<Vec<(Vec<u8>, Verifier)>> {
    v.pointer(pointer)?.as_array()?.iter().map(item).collect()
}

/// The entry's `kind` and `apiVersion`.
pub(crate) fn kind_version(body: &[u8]) -> Option<(String, String)> {
    let v: Value = serde_json::from_slice(body).ok()?;
    Some((
        str_at(&v, "/kind")?.to_owned(),
        str_at(&v, "/apiVersion")?.to_owned(),
    ))
}

/// Check that the logged entry `body` describes `expected`; `Err` says what differs.
pub(crate) fn matches(body: &[u8], expected: &Expected<'_>) -> Result<(), EntryMismatch> {
    let logged = parse(body)?;
    if logged.sha256 != expected.sha256 {
        return Err(EntryMismatch::OtherPayloadHash);
    }
    let same_signer = |verifier: &Verifier| match verifier {
        Verifier::Certificate(der) => expected.certificate == Some(der.as_slice()),
        Verifier::Key(spki) => expected.key_spki == Some(spki.as_slice()),
    };
    if !logged
        .signatures
        .iter()
        .any(|(sig, _)| sig == expected.signature)
    {
        return Err(EntryMismatch::OtherSignature);
    }
    if !logged
        .signatures
        .iter()
        .any(|(sig, verifier)| sig == expected.signature && same_signer(verifier))
    {
        return Err(EntryMismatch::OtherSigner);
    }
    Ok(())
}
