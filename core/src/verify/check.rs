//! Checking one signature candidate against one rule's verifier.

use base64::Engine as _;

use super::bundle::{Bundle, Material};
use super::discovery::{Candidate, LegacySignature};
use super::failure::{Accepted, CandidateFailure};
use super::payload::SimpleSigningPayload;
use super::public_key::PublicKey;
use crate::digest::Digest;

/// Check `candidate` for image `digest` with a rule's public key. Transparency-log material in
/// the candidate is ignored: public-key rules do not require the log (DESIGN.md, Verify).
pub(super) fn with_public_key(
    candidate: &Candidate,
    digest: &Digest,
    key: &PublicKey,
) -> Result<Accepted, CandidateFailure> {
    match candidate {
        Candidate::Legacy(legacy) => legacy_with_key(legacy, digest, key),
        Candidate::Bundle(found) => {
            let bundle = Bundle::parse(&found.json)?;
            if let Material::Certificates(_) = bundle.material {
                // A keyless bundle may still have been made with this key's certificate; the
                // signature check below decides. Nothing to reject here.
            }
            let (signed, signature) = bundle.image_signature(digest)?;
            key.verify(&signed, signature)
                .map_err(|e| CandidateFailure::from_key_signature_error(&e))?;
            Ok(Accepted {
                format: "sigstore bundle",
                note: None,
                valid_until: None,
            })
        }
        // An attestation is not a signature of the image.
        Candidate::LegacyAttestation(_) => Err(CandidateFailure::WrongPayloadType),
    }
}

fn legacy_with_key(
    legacy: &LegacySignature,
    digest: &Digest,
    key: &PublicKey,
) -> Result<Accepted, CandidateFailure> {
    let signature = base64::engine::general_purpose::STANDARD
        .decode(legacy.signature.split_whitespace().collect::<String>())
        .map_err(|_| CandidateFailure::Malformed("signature annotation is not base64".into()))?;
    // The signature first: a payload naming another digest but signed by another key is
    // reported as the more fundamental problem (another key).
    key.verify(&legacy.payload, &signature)
        .map_err(|e| CandidateFailure::from_key_signature_error(&e))?;
    SimpleSigningPayload::parse_for(legacy.payload.clone(), digest)
        .map_err(|e| CandidateFailure::from_payload_error(&e))?;
    Ok(Accepted {
        format: "legacy .sig signature",
        note: None,
        valid_until: None,
    })
}

/// Check `candidate` for image `digest` with a keyless rule: every check of
/// `super::keyless`, offline, against `trusted_root`.
pub fn keyless(
    candidate: &Candidate,
    digest: &Digest,
    identity: &super::policy::KeylessIdentity,
    trusted_root: &super::trusted_root::TrustedRoot,
) -> Result<Accepted, CandidateFailure> {
    match candidate {
        Candidate::Legacy(legacy) => {
            super::keyless::verify_legacy(legacy, digest, identity, trusted_root)
        }
        Candidate::Bundle(found) => {
            let bundle = Bundle::parse(&found.json)?;
            super::keyless::verify_bundle(
                &bundle,
                super::keyless::Subject::Image(digest),
                super::keyless::Signer::Identity(identity),
                trusted_root,
            )
        }
        Candidate::LegacyAttestation(_) => Err(CandidateFailure::WrongPayloadType),
    }
}

/// One signer a rule accepts: its public key, or a keyless identity with the trusted root its
/// certificates must chain to (a `keyless`/`publicKey` rule has one; a `signers` rule lists
/// several).
#[derive(Debug, Clone, Copy)]
pub(super) enum SignerRef<'a> {
    Key(&'a PublicKey),
    Keyless(
        &'a super::policy::KeylessIdentity,
        &'a super::trusted_root::TrustedRoot,
    ),
}

/// Check `candidate` as an image signature for `digest` by `signer`.
pub(super) fn signature(
    candidate: &Candidate,
    digest: &Digest,
    signer: SignerRef<'_>,
) -> Result<Accepted, CandidateFailure> {
    match signer {
        SignerRef::Key(key) => with_public_key(candidate, digest, key),
        SignerRef::Keyless(identity, trusted_root) => {
            keyless(candidate, digest, identity, trusted_root)
        }
    }
}
