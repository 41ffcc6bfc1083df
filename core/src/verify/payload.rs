//! The cosign "simple signing" payload: the JSON document a legacy (`.sig`) cosign signature
//! is made over.
//!
//! ```json
//! {"critical":{"identity":{"docker-reference":"ghcr.io/org/app"},
//!              "image":{"docker-manifest-digest":"sha256:…"},
//!              "type":"cosign container image signature"},
//!  "optional":{…} or null}
//! ```
//!
//! The signature is over the payload's exact bytes, so [`SimpleSigningPayload`] keeps them
//! unchanged; the parsed fields are only read to check what was signed.
//!
//! Parsing is stricter than cosign's (Go `encoding/json` into a struct), deliberately:
//!
//! * unknown fields in `critical` (and its `identity` and `image`) and at the top level are
//!   refused, as the containers/image "simple signing" format requires of `critical`;
//! * duplicate keys are refused (Go keeps the last one, a parser-differential risk);
//! * keys are case-sensitive (Go matches them case-insensitively).
//!
//! cosign itself never writes any of these, so real payloads are unaffected. `optional` may be
//! anything (cosign writes `null` or annotations; skopeo writes `creator` and `timestamp`).
//! `docker-reference` is parsed and exposed but not compared with the verified reference
//! (cosign does not either: images are routinely copied between registries).

use bytes::Bytes;
use serde::Deserialize;

use crate::digest::Digest;

/// Largest payload accepted (DESIGN.md bounds: bundle/payload 1 MiB).
pub const MAX_PAYLOAD_BYTES: usize = 1024 * 1024;

/// The only `critical.type` accepted.
pub const SIMPLE_SIGNING_TYPE: &str = "cosign container image signature";

/// A parsed simple-signing payload, holding the exact signed bytes.
#[derive(Debug, Clone)]
pub struct SimpleSigningPayload {
    bytes: Bytes,
    docker_reference: String,
    manifest_digest: Digest,
    optional: Option<serde_json::Value>,
}

/// Why a payload is unacceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// Over [`MAX_PAYLOAD_BYTES`].
    #[error("signature payload is {size} bytes, over the {limit}-byte limit")]
    TooLarge {
        /// The payload's size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Not JSON, not the simple-signing shape, or a field of the wrong form.
    #[error("malformed signature payload: {0}")]
    Malformed(String),
    /// `critical.type` is not [`SIMPLE_SIGNING_TYPE`].
    #[error("signature payload has type {found:?}, expected \"cosign container image signature\"")]
    WrongType {
        /// The type found.
        found: String,
    },
    /// The payload signs another image.
    #[error("signature is for {found}, not for the image digest {expected}")]
    DigestMismatch {
        /// The digest being verified.
        expected: Digest,
        /// The digest the payload names.
        found: Digest,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPayload {
    critical: RawCritical,
    #[serde(default)]
    optional: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCritical {
    identity: RawIdentity,
    image: RawImage,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIdentity {
    #[serde(rename = "docker-reference")]
    docker_reference: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawImage {
    #[serde(rename = "docker-manifest-digest")]
    docker_manifest_digest: String,
}

/// The payload `cosign sign` writes for `docker_reference`@`digest` without annotations, byte
/// for byte (Go's `encoding/json` of cosign's struct: fixed key order, no spaces).
///
/// Discovery uses it to skip a fetch: when these bytes hash to a `.sig` layer's digest they
/// are that layer's blob (finding other bytes with the same sha256 is a preimage attack), and
/// they are then checked exactly as fetched bytes would be.
pub(crate) fn cosign_default_payload(docker_reference: &str, digest: &Digest) -> Vec<u8> {
    // Reference grammar leaves nothing to escape; quoting through serde keeps that true for
    // any input.
    let quoted = serde_json::Value::from(docker_reference).to_string();
    format!(
        "{{\"critical\":{{\"identity\":{{\"docker-reference\":{quoted}}},\"image\":{{\"docker-manifest-digest\":\"{digest}\"}},\"type\":\"{SIMPLE_SIGNING_TYPE}\"}},\"optional\":null}}"
    )
    .into_bytes()
}

impl SimpleSigningPayload {
    /// Parse `bytes` (at most [`MAX_PAYLOAD_BYTES`]) and check its type. The digest is not
    /// checked: use [`Self::check_digest`] or [`Self::parse_for`].
    pub fn parse(bytes: impl Into<Bytes>) -> Result<Self, PayloadError> {
        let bytes = bytes.into();
        if bytes.len() > MAX_PAYLOAD_BYTES {
            return Err(PayloadError::TooLarge {
                size: bytes.len(),
                limit: MAX_PAYLOAD_BYTES,
            });
        }
        let raw: RawPayload = serde_json::from_slice(&bytes)
            .map_err(|e| PayloadError::Malformed(format!("not a simple-signing document: {e}")))?;
        if raw.critical.kind != SIMPLE_SIGNING_TYPE {
            return Err(PayloadError::WrongType {
                found: raw.critical.kind,
            });
        }
        let manifest_digest =
            Digest::parse(&raw.critical.image.docker_manifest_digest).map_err(|e| {
                PayloadError::Malformed(format!(
                    "critical.image.docker-manifest-digest {:?}: {e}",
                    raw.critical.image.docker_manifest_digest
                ))
            })?;
        Ok(SimpleSigningPayload {
            bytes,
            docker_reference: raw.critical.identity.docker_reference,
            manifest_digest,
            optional: raw.optional.filter(|v| !v.is_null()),
        })
    }

    /// [`Self::parse`], then [`Self::check_digest`] against `expected`.
    pub fn parse_for(bytes: impl Into<Bytes>, expected: &Digest) -> Result<Self, PayloadError> {
        let payload = Self::parse(bytes)?;
        payload.check_digest(expected)?;
        Ok(payload)
    }

    /// Whether the payload signs `expected` (`critical.image.docker-manifest-digest`).
    pub fn check_digest(&self, expected: &Digest) -> Result<(), PayloadError> {
        if &self.manifest_digest == expected {
            Ok(())
        } else {
            Err(PayloadError::DigestMismatch {
                expected: expected.clone(),
                found: self.manifest_digest.clone(),
            })
        }
    }

    /// The exact bytes the signature is over.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// `critical.identity.docker-reference` (informational; not checked).
    pub fn docker_reference(&self) -> &str {
        &self.docker_reference
    }

    /// `critical.image.docker-manifest-digest`.
    pub fn manifest_digest(&self) -> &Digest {
        &self.manifest_digest
    }

    /// The `optional` section, if present and not null.
    pub fn optional(&self) -> Option<&serde_json::Value> {
        self.optional.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosign_default_payload_hashes_to_the_layer_digest_cosign_stored() {
        // Signatures written by cosign, from shared/fixtures/realworld/legacy-sig: the payload
        // and the `.sig` manifest naming its digest.
        let dir = crate::verify::test_fixtures::realworld().join("legacy-sig");
        let cases = [
            ("containers-image-key-valid", "sig-manifest.derived.json"),
            (
                "salrashid123-server_image-gha-v0.0.30-index",
                "sig-manifest.json",
            ),
        ];
        for (case, manifest) in cases {
            let written = std::fs::read(dir.join(case).join("payload.json")).unwrap();
            let manifest: serde_json::Value =
                serde_json::from_slice(&std::fs::read(dir.join(case).join(manifest)).unwrap())
                    .unwrap();
            let layer = Digest::parse(manifest["layers"][0]["digest"].as_str().unwrap()).unwrap();
            let parsed = SimpleSigningPayload::parse(written.clone()).unwrap();
            let rebuilt =
                cosign_default_payload(parsed.docker_reference(), parsed.manifest_digest());
            assert!(layer.matches(&rebuilt), "{case}");
            assert_eq!(rebuilt, written, "{case}");
            // Any other reference spelling gives other bytes, so the fetch is not skipped.
            let other = cosign_default_payload("example.com/other", parsed.manifest_digest());
            assert!(!layer.matches(&other), "{case}");
        }
    }

    fn fixture(path: &str) -> Vec<u8> {
        crate::verify::test_fixtures::realworld_file(path)
    }

    const DIGEST_A: &str =
        "sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00";
    const DIGEST_B: &str =
        "sha256:0000000000000000000000000000000000000000000000000000000000000000";

    fn payload(kind: &str, digest: &str) -> String {
        format!(
            r#"{{"critical":{{"identity":{{"docker-reference":"ghcr.io/org/app"}},"image":{{"docker-manifest-digest":"{digest}"}},"type":"{kind}"}},"optional":null}}"#
        )
    }

    #[test]
    fn parses_and_keeps_bytes() {
        let text = payload(SIMPLE_SIGNING_TYPE, DIGEST_A);
        let digest = Digest::parse(DIGEST_A).unwrap();
        let parsed = SimpleSigningPayload::parse_for(text.clone().into_bytes(), &digest).unwrap();
        assert_eq!(parsed.bytes().as_ref(), text.as_bytes());
        assert_eq!(parsed.docker_reference(), "ghcr.io/org/app");
        assert_eq!(parsed.manifest_digest(), &digest);
        assert!(parsed.optional().is_none());
    }

    #[test]
    fn wrong_type() {
        let text = payload("atomic container signature", DIGEST_A);
        let err = SimpleSigningPayload::parse(text.into_bytes()).unwrap_err();
        assert_eq!(
            err,
            PayloadError::WrongType {
                found: "atomic container signature".into()
            }
        );
        // Exact match: case and spacing matter.
        let text = payload("Cosign container image signature", DIGEST_A);
        assert!(matches!(
            SimpleSigningPayload::parse(text.into_bytes()),
            Err(PayloadError::WrongType { .. })
        ));
    }

    #[test]
    fn digest_mismatch_names_both() {
        let text = payload(SIMPLE_SIGNING_TYPE, DIGEST_A);
        let expected = Digest::parse(DIGEST_B).unwrap();
        let err = SimpleSigningPayload::parse_for(text.into_bytes(), &expected).unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, PayloadError::DigestMismatch { .. }));
        assert!(
            message.contains(DIGEST_A) && message.contains(DIGEST_B),
            "{message}"
        );
    }

    #[test]
    fn malformed() {
        let cases = [
            "".to_owned(),
            "not json".to_owned(),
            "[]".to_owned(),
            "{}".to_owned(),
            r#"{"critical":{}}"#.to_owned(),
            // missing type
            r#"{"critical":{"identity":{"docker-reference":"x"},"image":{"docker-manifest-digest":"sha256:00"}}}"#.to_owned(),
            // invalid digest
            payload(SIMPLE_SIGNING_TYPE, "sha256:00"),
            payload(SIMPLE_SIGNING_TYPE, &DIGEST_A.to_uppercase()),
            // unknown critical field
            payload(SIMPLE_SIGNING_TYPE, DIGEST_A)
                .replace(r#""type""#, r#""extra":1,"type""#),
            // duplicate key (Go would take the last one)
            payload(SIMPLE_SIGNING_TYPE, DIGEST_A).replace(
                r#""image":{"#,
                &format!(r#""image":{{"docker-manifest-digest":"{DIGEST_B}","#),
            ),
            // keys are case-sensitive
            payload(SIMPLE_SIGNING_TYPE, DIGEST_A).replace("critical", "Critical"),
            // wrong value types
            r#"{"critical":{"identity":{"docker-reference":1},"image":{"docker-manifest-digest":"x"},"type":"x"}}"#.to_owned(),
        ];
        for case in cases {
            let err = SimpleSigningPayload::parse(case.clone().into_bytes()).unwrap_err();
            assert!(matches!(err, PayloadError::Malformed(_)), "{case}: {err:?}");
        }
    }

    #[test]
    fn size_limit() {
        let big = vec![b' '; MAX_PAYLOAD_BYTES + 1];
        assert_eq!(
            SimpleSigningPayload::parse(big).unwrap_err(),
            PayloadError::TooLarge {
                size: MAX_PAYLOAD_BYTES + 1,
                limit: MAX_PAYLOAD_BYTES
            }
        );
        // Exactly at the limit is parsed (and then fails as JSON, not as size).
        let mut at_limit = payload(SIMPLE_SIGNING_TYPE, DIGEST_A).into_bytes();
        at_limit.resize(MAX_PAYLOAD_BYTES, b' ');
        assert!(SimpleSigningPayload::parse(at_limit).is_ok());
    }

    #[test]
    fn real_payloads() {
        // The signed digest is the sha256 of the image manifest stored beside it.
        let dir = "legacy-sig/containers-image-key-valid";
        let manifest = Digest::sha256_of(&fixture(&format!("{dir}/manifest.json")));
        let parsed =
            SimpleSigningPayload::parse_for(fixture(&format!("{dir}/payload.json")), &manifest)
                .unwrap();
        assert_eq!(
            parsed.docker_reference(),
            "192.168.64.2:5000/cosign-signed-single-sample"
        );

        // skopeo-written: non-null optional, a tag in docker-reference.
        let dir = "legacy-sig/containers-image-key-valid-with-tag";
        let manifest = Digest::sha256_of(&fixture(&format!("{dir}/manifest.json")));
        let parsed =
            SimpleSigningPayload::parse_for(fixture(&format!("{dir}/payload.json")), &manifest)
                .unwrap();
        assert_eq!(
            parsed
                .optional()
                .and_then(|o| o.get("creator"))
                .and_then(|c| c.as_str()),
            Some("containers/image 5.21.2-dev")
        );

        // The signature is good but the manifest was edited: the digests differ.
        let dir = "legacy-sig/containers-image-key-modified-manifest";
        let manifest = Digest::sha256_of(&fixture(&format!("{dir}/manifest.json")));
        let err =
            SimpleSigningPayload::parse_for(fixture(&format!("{dir}/payload.json")), &manifest)
                .unwrap_err();
        assert!(matches!(err, PayloadError::DigestMismatch { .. }), "{err}");

        // A text/plain attachment is not a simple-signing payload.
        let err = SimpleSigningPayload::parse(fixture(
            "legacy-sig/containers-image-other-attachment/payload.txt",
        ))
        .unwrap_err();
        assert!(matches!(err, PayloadError::Malformed(_)), "{err}");

        // Keyless payloads: digest from image-digest.txt; the index, not its children.
        for dir in [
            "legacy-sig/salrashid123-server_image-gha-v0.0.30-index",
            "legacy-sig/sigstore-rs-key-no-tlog",
        ] {
            let text = String::from_utf8(fixture(&format!("{dir}/image-digest.txt"))).unwrap();
            let digest = Digest::parse(text.trim()).unwrap();
            SimpleSigningPayload::parse_for(fixture(&format!("{dir}/payload.json")), &digest)
                .unwrap();
        }
        let child = Digest::parse(
            "sha256:81f575aadc0246c94c8580b55550eda76d518c6a932a43e72d9cb4d9734d0b75",
        )
        .unwrap();
        assert!(matches!(
            SimpleSigningPayload::parse_for(
                fixture("legacy-sig/salrashid123-server_image-gha-v0.0.30-index/payload.json"),
                &child
            ),
            Err(PayloadError::DigestMismatch { .. })
        ));
    }
}
