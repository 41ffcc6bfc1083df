//! Sigstore bundles (v0.1–v0.3 JSON) as cosign v3 stores them for images: a DSSE envelope
//! around an in-toto statement whose subject is the image digest and whose predicate type is
//! cosign's signature predicate.

use base64::Engine as _;
use serde::Deserialize;

use super::bundle_media_types::BUNDLE_MEDIA_TYPES;
use super::failure::CandidateFailure;
use crate::digest::Digest;

/// DSSE payload type of an in-toto statement.
pub(super) const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// The predicate type `cosign sign --new-bundle-format` uses for an image signature.
pub(super) const COSIGN_SIGN_PREDICATE: &str = "https://sigstore.dev/cosign/sign/v1";
const STATEMENT_TYPES: [&str; 2] = [
    "https://in-toto.io/Statement/v1",
    "https://in-toto.io/Statement/v0.1",
];

/// The parts of a bundle a verifier needs.
#[derive(Debug, Clone)]
pub struct Bundle {
    pub material: Material,
    pub content: Content,
    /// The raw `verificationMaterial` JSON, for the keyless checks (tlog entries, timestamps).
    pub verification_material: serde_json::Value,
}

/// What the bundle says signed it.
#[derive(Debug, Clone)]
pub enum Material {
    /// A key known out of band (key-signed bundles); the hint is informational.
    PublicKey { hint: Option<String> },
    /// A signing certificate (DER), leaf first when a chain is given.
    Certificates(Vec<Vec<u8>>),
}

/// What is signed.
#[derive(Debug, Clone)]
pub enum Content {
    Dsse {
        payload: Vec<u8>,
        payload_type: String,
        signatures: Vec<Vec<u8>>,
    },
    MessageSignature {
        digest_algorithm: String,
        digest: Vec<u8>,
        signature: Vec<u8>,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBundle {
    media_type: String,
    verification_material: serde_json::Value,
    #[serde(default)]
    dsse_envelope: Option<RawDsse>,
    #[serde(default)]
    message_signature: Option<RawMessageSignature>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDsse {
    payload: String,
    payload_type: String,
    #[serde(default)]
    signatures: Vec<RawDsseSignature>,
}

#[derive(Deserialize)]
struct RawDsseSignature {
    sig: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMessageSignature {
    #[serde(default)]
    message_digest: Option<RawMessageDigest>,
    signature: String,
}

#[derive(Deserialize)]
struct RawMessageDigest {
    algorithm: String,
    digest: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMaterial {
    #[serde(default)]
    public_key: Option<RawHint>,
    #[serde(default)]
    certificate: Option<RawCert>,
    #[serde(default)]
    x509_certificate_chain: Option<RawChain>,
}

#[derive(Deserialize)]
struct RawHint {
    #[serde(default)]
    hint: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCert {
    raw_bytes: String,
}

#[derive(Deserialize)]
struct RawChain {
    certificates: Vec<RawCert>,
}

/// An in-toto statement (v0.1 or v1), as far as verification reads it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Statement {
    #[serde(rename = "_type")]
    statement_type: String,
    pub(super) predicate_type: String,
    subject: Vec<Subject>,
    /// What the statement says of its subjects (attestations' conditions read it).
    #[serde(default)]
    pub(super) predicate: serde_json::Value,
}

#[derive(Deserialize)]
struct Subject {
    #[serde(default)]
    digest: std::collections::HashMap<String, String>,
}

fn malformed(what: impl Into<String>) -> CandidateFailure {
    CandidateFailure::Malformed(what.into())
}

fn b64(text: &str, what: &str) -> Result<Vec<u8>, CandidateFailure> {
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|_| malformed(format!("{what} is not base64")))
}

impl Bundle {
    /// Parse bundle JSON.
    pub fn parse(json: &[u8]) -> Result<Bundle, CandidateFailure> {
        let raw: RawBundle = serde_json::from_slice(json)
            .map_err(|e| malformed(format!("bundle is not valid JSON: {e}")))?;
        if !BUNDLE_MEDIA_TYPES.contains(&raw.media_type.as_str()) {
            return Err(malformed(format!(
                "unknown bundle media type {:?}",
                raw.media_type
            )));
        }
        let material: RawMaterial = serde_json::from_value(raw.verification_material.clone())
            .map_err(|e| malformed(format!("bundle verificationMaterial: {e}")))?;
        let material = if let Some(cert) = material.certificate {
            Material::Certificates(vec![b64(&cert.raw_bytes, "certificate")?])
        } else if let Some(chain) = material.x509_certificate_chain {
            let certs = chain
                .certificates
                .iter()
                .map(|c| b64(&c.raw_bytes, "chain certificate"))
                .collect::<Result<Vec<_>, _>>()?;
            if certs.is_empty() {
                return Err(malformed("bundle certificate chain is empty"));
            }
            Material::Certificates(certs)
        } else if let Some(key) = material.public_key {
            Material::PublicKey { hint: key.hint }
        } else {
            return Err(malformed("bundle has no certificate or public key"));
        };
        let content = match (raw.dsse_envelope, raw.message_signature) {
            (Some(dsse), None) => Content::Dsse {
                payload: b64(&dsse.payload, "DSSE payload")?,
                payload_type: dsse.payload_type,
                signatures: dsse
                    .signatures
                    .iter()
                    .map(|s| b64(&s.sig, "DSSE signature"))
                    .collect::<Result<_, _>>()?,
            },
            (None, Some(message)) => {
                let digest = message
                    .message_digest
                    .ok_or_else(|| malformed("message signature has no digest"))?;
                Content::MessageSignature {
                    digest_algorithm: digest.algorithm,
                    digest: b64(&digest.digest, "message digest")?,
                    signature: b64(&message.signature, "message signature")?,
                }
            }
            _ => {
                return Err(malformed(
                    "bundle must hold exactly one of dsseEnvelope and messageSignature",
                ));
            }
        };
        Ok(Bundle {
            material,
            content,
            verification_material: raw.verification_material,
        })
    }

    /// Check that the bundle signs image `expected` the way cosign signs images, and return the
    /// bytes the signature covers (DSSE pre-authentication encoding) and the one signature.
    pub fn image_signature(&self, expected: &Digest) -> Result<(Vec<u8>, &[u8]), CandidateFailure> {
        self.statement_signature(expected, Some(COSIGN_SIGN_PREDICATE))
    }

    /// Check that the bundle is an in-toto statement of any predicate type naming image
    /// `expected` (an attestation, `cosign attest`), and return the bytes the signature covers
    /// and the one signature.
    pub fn attestation_signature(
        &self,
        expected: &Digest,
    ) -> Result<(Vec<u8>, &[u8]), CandidateFailure> {
        self.statement_signature(expected, None)
    }

    /// The predicate type of the bundle's in-toto statement, when it holds one that parses.
    pub fn predicate_type(&self) -> Option<String> {
        let Content::Dsse { payload, .. } = &self.content else {
            return None;
        };
        serde_json::from_slice::<Statement>(payload)
            .ok()
            .map(|s| s.predicate_type)
    }

    /// A DSSE in-toto statement naming `expected` among its subjects, of `predicate_type` when
    /// given.
    fn statement_signature(
        &self,
        expected: &Digest,
        predicate_type: Option<&str>,
    ) -> Result<(Vec<u8>, &[u8]), CandidateFailure> {
        let Content::Dsse {
            payload,
            payload_type,
            signatures,
        } = &self.content
        else {
            return Err(malformed(
                "a message-signature bundle signs a blob, not an image",
            ));
        };
        if payload_type != IN_TOTO_PAYLOAD_TYPE {
            return Err(CandidateFailure::WrongPayloadType);
        }
        let [signature] = signatures.as_slice() else {
            return Err(malformed(format!(
                "DSSE envelope has {} signatures, expected 1",
                signatures.len()
            )));
        };
        parse_statement(payload, expected, predicate_type)?;
        Ok((pae(payload_type, payload), signature.as_slice()))
    }
}

/// The in-toto statement `payload`, checked: a known statement type, of `predicate_type`
/// when given (else [`CandidateFailure::WrongPayloadType`]), naming `expected` among its
/// subjects (else [`CandidateFailure::DigestMismatch`]).
pub(super) fn parse_statement(
    payload: &[u8],
    expected: &Digest,
    predicate_type: Option<&str>,
) -> Result<Statement, CandidateFailure> {
    let statement: Statement = serde_json::from_slice(payload)
        .map_err(|e| malformed(format!("in-toto statement: {e}")))?;
    if !STATEMENT_TYPES.contains(&statement.statement_type.as_str()) {
        return Err(malformed(format!(
            "unknown statement type {:?}",
            statement.statement_type
        )));
    }
    if predicate_type.is_some_and(|p| statement.predicate_type != p) {
        // An attestation (SBOM, provenance) is not a signature of the image.
        return Err(CandidateFailure::WrongPayloadType);
    }
    let names_image = statement.subject.iter().any(|s| {
        s.digest
            .get(expected.algorithm())
            .is_some_and(|hex| hex == expected.hex())
    });
    if !names_image {
        let found = statement.subject.iter().find_map(|s| {
            s.digest
                .get("sha256")
                .and_then(|h| Digest::parse(&format!("sha256:{h}")).ok())
        });
        return Err(match found {
            Some(found) => CandidateFailure::DigestMismatch {
                expected: expected.clone(),
                found,
            },
            None => malformed("in-toto statement names no sha256 subject"),
        });
    }
    Ok(statement)
}

/// DSSE pre-authentication encoding: `DSSEv1 <len(type)> <type> <len(body)> <body>`.
pub(super) fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + payload_type.len() + 32);
    out.extend_from_slice(
        format!(
            "DSSEv1 {} {} {} ",
            payload_type.len(),
            payload_type,
            payload.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(payload);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(case: &str) -> (Vec<u8>, Digest) {
        let dir = crate::verify::test_fixtures::realworld().join("bundle-v03-image");
        let json = std::fs::read(dir.join(case).join("bundle.sigstore.json")).unwrap();
        let digest = std::fs::read_to_string(dir.join(case).join("image-digest.txt")).unwrap();
        (
            json,
            Digest::parse(digest.trim().rsplit('@').next().unwrap()).unwrap(),
        )
    }

    #[test]
    fn real_cosign_v3_image_bundle_names_its_digest_only() {
        let (json, digest) = fixture("kubewarden-controller-v1.34.0");
        let bundle = Bundle::parse(&json).unwrap();
        assert!(matches!(bundle.material, Material::Certificates(_)));
        let (signed, signature) = bundle.image_signature(&digest).unwrap();
        assert!(signed.starts_with(b"DSSEv1 28 application/vnd.in-toto+json "));
        assert!(!signature.is_empty());
        let other = Digest::sha256_of(b"other image");
        assert!(matches!(
            bundle.image_signature(&other),
            Err(CandidateFailure::DigestMismatch { .. })
        ));
    }

    #[test]
    fn attestation_bundle_is_not_an_image_signature() {
        let (json, digest) = fixture("cosign-oci-attestation-empty-image");
        let bundle = Bundle::parse(&json).unwrap();
        assert_eq!(
            bundle.image_signature(&digest).unwrap_err(),
            CandidateFailure::WrongPayloadType
        );
    }

    #[test]
    fn pae_matches_the_dsse_spec_example() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
    }

    #[test]
    fn rejects_malformed_bundles() {
        for bad in [
            &b"not json"[..],
            br#"{"mediaType":"x","verificationMaterial":{}}"#,
            br#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{}}"#,
            br#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{}}}"#,
        ] {
            assert!(matches!(Bundle::parse(bad), Err(CandidateFailure::Malformed(_))), "{}", String::from_utf8_lossy(bad));
        }
    }
}
