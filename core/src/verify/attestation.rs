//! One attestation candidate against one signer: a DSSE in-toto statement, from a legacy `.att`
//! envelope or a sigstore bundle, signed by the signer and naming the image among its
//! subjects; and whether its predicate meets a rule's conditions.
//!
//! The signature is checked first, then what the statement says (the image, the predicate
//! type, the conditions): an envelope that is not the signer's fails as such, whatever it says.
//! A key signer needs no transparency log (as for signatures, DESIGN.md, Verify); a keyless one
//! gets every keyless check of `super::keyless`.

use base64::Engine as _;
use serde::Deserialize;
use serde_json::Value;

use super::bundle::{Bundle, Content, IN_TOTO_PAYLOAD_TYPE, Statement, pae, parse_statement};
use super::check::SignerRef;
use super::discovery::{Candidate, LegacyAttestation};
use super::failure::{Accepted, CandidateFailure};
use super::keyless;
use super::policy::{AttestationRequirement, Condition, StringMatch};
use crate::digest::Digest;

/// A cosign legacy attestation layer: a DSSE envelope.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    payload_type: String,
    payload: String,
    #[serde(default)]
    signatures: Vec<EnvelopeSignature>,
}

#[derive(Deserialize)]
struct EnvelopeSignature {
    #[serde(default)]
    sig: String,
}

fn b64(text: &str, what: &str) -> Result<Vec<u8>, CandidateFailure> {
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|_| CandidateFailure::Malformed(format!("{what} is not base64")))
}

/// Verify `candidate` as an attestation about image `digest` signed by `signer`; the statement
/// it signs.
pub(super) fn verify(
    candidate: &Candidate,
    digest: &Digest,
    signer: SignerRef<'_>,
) -> Result<(Accepted, Statement), CandidateFailure> {
    match candidate {
        Candidate::LegacyAttestation(attestation) => legacy(attestation, digest, signer),
        Candidate::Bundle(found) => {
            let bundle = Bundle::parse(&found.json)?;
            let accepted = match signer {
                SignerRef::Key(key) => {
                    let (signed, signature) = bundle.attestation_signature(digest)?;
                    key.verify(&signed, signature)
                        .map_err(|e| CandidateFailure::from_key_signature_error(&e))?;
                    Accepted {
                        format: "sigstore bundle",
                        note: None,
                        valid_until: None,
                    }
                }
                SignerRef::Keyless(identity, trusted_root) => keyless::verify_bundle(
                    &bundle,
                    keyless::Subject::Attestation(digest),
                    keyless::Signer::Identity(identity),
                    trusted_root,
                )?,
            };
            let Content::Dsse { payload, .. } = &bundle.content else {
                // Both branches above refuse a message signature.
                return Err(CandidateFailure::Malformed(
                    "a message-signature bundle is not an attestation".into(),
                ));
            };
            Ok((accepted, parse_statement(payload, digest, None)?))
        }
        // A `.sig` signature is not an attestation.
        Candidate::Legacy(_) => Err(CandidateFailure::WrongPayloadType),
    }
}

fn legacy(
    attestation: &LegacyAttestation,
    digest: &Digest,
    signer: SignerRef<'_>,
) -> Result<(Accepted, Statement), CandidateFailure> {
    let envelope: Envelope = serde_json::from_slice(&attestation.envelope)
        .map_err(|e| CandidateFailure::Malformed(format!("DSSE envelope: {e}")))?;
    if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE {
        return Err(CandidateFailure::WrongPayloadType);
    }
    let payload = b64(&envelope.payload, "DSSE payload")?;
    let signature = match envelope.signatures.as_slice() {
        [] => {
            return Err(CandidateFailure::Malformed(
                "the DSSE envelope is unsigned: it has no signature".into(),
            ));
        }
        [one] => b64(&one.sig, "DSSE signature")?,
        many => {
            return Err(CandidateFailure::Malformed(format!(
                "DSSE envelope has {} signatures, expected 1",
                many.len()
            )));
        }
    };
    let signed = pae(&envelope.payload_type, &payload);
    let statement = || parse_statement(&payload, digest, None);
    let accepted = match signer {
        SignerRef::Key(key) => {
            key.verify(&signed, &signature)
                .map_err(|e| CandidateFailure::from_key_signature_error(&e))?;
            Accepted {
                format: "legacy .att attestation",
                note: None,
                valid_until: None,
            }
        }
        SignerRef::Keyless(identity, trusted_root) => keyless::verify_legacy_attestation(
            attestation,
            &signed,
            &payload,
            &signature,
            identity,
            trusted_root,
            || statement().map(drop),
        )?,
    };
    Ok((accepted, statement()?))
}

/// Whether `predicate` meets every condition of `requirement`; the first that does not, said.
pub(super) fn conditions_hold(
    requirement: &AttestationRequirement,
    predicate: &Value,
) -> Result<(), String> {
    requirement
        .conditions()
        .iter()
        .try_for_each(|condition| condition_holds(condition, predicate))
}

fn condition_holds(condition: &Condition, predicate: &Value) -> Result<(), String> {
    let mut value = predicate;
    for segment in condition.segments() {
        let next = match value {
            Value::Object(map) => map.get(segment),
            Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        };
        value = next.ok_or_else(|| format!("the predicate has no {}", condition.path()))?;
    }
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null | Value::Array(_) | Value::Object(_) => {
            return Err(format!(
                "{} is {}, not a string, number or boolean",
                condition.path(),
                match value {
                    Value::Null => "null",
                    Value::Array(_) => "a list",
                    _ => "a mapping",
                }
            ));
        }
    };
    if condition.matcher().matches(&text) {
        Ok(())
    } else {
        let wanted = match condition.matcher() {
            StringMatch::Exact(s) => format!("{s:?}"),
            StringMatch::Regex(r) => format!("regex {:?}", r.as_str()),
            StringMatch::ExactAndRegex { exact, regex } => {
                format!("{exact:?} and regex {:?}", regex.as_str())
            }
        };
        Err(format!(
            "{} is {text:?}, the rule requires {wanted}",
            condition.path()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::discovery::BundleSignature;
    use crate::verify::policy::{KeylessIdentity, Policy, RuleAction};

    fn keyless_identity(issuer: &str, subject: &str) -> KeylessIdentity {
        let doc = serde_json::json!({"rules": [{"image": "*", "keyless": {"issuer": issuer, "subject": subject}}]});
        match Policy::parse(&doc.to_string()).unwrap().rules()[0].action() {
            RuleAction::Keyless(identity) => identity.clone(),
            other => panic!("{other:?}"),
        }
    }

    /// cosign's own test attestation: keyless, public-good, with a Rekor dsse entry.
    #[test]
    fn a_real_keyless_bundle_attestation_verifies_for_its_digest_and_identity_only() {
        let dir = "bundle-v03-image/cosign-oci-attestation-empty-image";
        let json =
            crate::verify::test_fixtures::realworld_file(&format!("{dir}/bundle.sigstore.json"));
        let digest_text =
            crate::verify::test_fixtures::realworld_file(&format!("{dir}/image-digest.txt"));
        let digest = Digest::parse(String::from_utf8(digest_text).unwrap().trim()).unwrap();
        let candidate = Candidate::Bundle(BundleSignature {
            manifest_digest: Digest::sha256_of(&json),
            json: json.into(),
        });
        let root = crate::verify::trusted_root::TrustedRoot::public_good();
        let cody = keyless_identity("https://github.com/login/oauth", "cody@soyland.com");
        let (accepted, statement) =
            verify(&candidate, &digest, SignerRef::Keyless(&cody, &root)).unwrap();
        assert_eq!(accepted.format, "sigstore bundle");
        assert_eq!(
            statement.predicate_type,
            "https://cosign.sigstore.dev/attestation/v1"
        );
        assert_eq!(statement.predicate["Data"], "{\"foo\": \"bar\"}\n");
        let other = keyless_identity("https://github.com/login/oauth", "someone@example.com");
        assert!(matches!(
            verify(&candidate, &digest, SignerRef::Keyless(&other, &root)),
            Err(CandidateFailure::IdentityMismatch(_))
        ));
        assert!(matches!(
            verify(
                &candidate,
                &Digest::sha256_of(b"another image"),
                SignerRef::Keyless(&cody, &root)
            ),
            Err(CandidateFailure::DigestMismatch { .. })
        ));
    }

    fn requirement(conditions: &str) -> AttestationRequirement {
        let key = crate::verify::test_fixtures::realworld_file(
            "legacy-sig/containers-image-key-valid/cosign.pub",
        );
        let policy = Policy::parse(&format!(
            "- image: '*'\n  publicKey: {{certificate: {key:?}}}\n  attestations:\n    - predicateType: https://slsa.dev/provenance/v1\n      conditions: {conditions}\n",
            key = String::from_utf8(key).unwrap()
        ))
        .unwrap();
        policy.rules()[0].attestations()[0].clone()
    }

    fn predicate() -> Value {
        serde_json::json!({
            "buildDefinition": {
                "buildType": "https://imagecheck.test/build/v1",
                "resolvedDependencies": [{"uri": "git+https://example.com/repo"}],
                "internal": {"count": 3, "hermetic": true, "nothing": null}
            }
        })
    }

    #[test]
    fn conditions_read_dotted_paths_into_the_predicate() {
        for ok in [
            "[{path: buildDefinition.buildType, equals: 'https://imagecheck.test/build/v1'}]",
            "[{path: buildDefinition.buildType, regex: '/build/v[0-9]+$'}]",
            "[{path: buildDefinition.resolvedDependencies.0.uri, regex: '^git\\+https://'}]",
            "[{path: buildDefinition.internal.count, equals: '3'}]",
            "[{path: buildDefinition.internal.hermetic, equals: 'true'}]",
            "[{path: buildDefinition.internal.hermetic, equals: true}]",
            "[{path: buildDefinition.internal.count, equals: 3}]",
            "[]",
        ] {
            conditions_hold(&requirement(ok), &predicate()).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
    }

    #[test]
    fn a_missing_path_or_another_value_fails() {
        for (bad, says) in [
            (
                "[{path: buildDefinition.buildType, equals: 'https://evil.test/build'}]",
                "buildDefinition.buildType is \"https://imagecheck.test/build/v1\", the rule requires \"https://evil.test/build\"",
            ),
            (
                "[{path: buildDefinition.builder.id, regex: '.*'}]",
                "the predicate has no buildDefinition.builder.id",
            ),
            (
                "[{path: buildDefinition.resolvedDependencies.1.uri, regex: '.*'}]",
                "the predicate has no buildDefinition.resolvedDependencies.1.uri",
            ),
            (
                "[{path: buildDefinition.internal, regex: '.*'}]",
                "buildDefinition.internal is a mapping, not a string, number or boolean",
            ),
            (
                "[{path: buildDefinition.internal.nothing, regex: '.*'}]",
                "is null",
            ),
            // Every condition must hold, not one.
            (
                "[{path: buildDefinition.buildType, regex: 'imagecheck'}, {path: x, equals: z}]",
                "the predicate has no x",
            ),
        ] {
            let err = conditions_hold(&requirement(bad), &predicate()).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }
}
