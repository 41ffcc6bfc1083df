//! Keyless (Fulcio certificate) verification, offline, for legacy `.sig` signatures and
//! sigstore bundles; also the transparency-log and timestamp checks of key-signed bundles.
//!
//! Every check is required and fails with its own [`CandidateFailure`]:
//!
//! | check | failure |
//! |---|---|
//! | the signature verifies with the certificate's key (legacy: over the payload; bundle: DSSE PAE or the artifact) | `BadSignature` |
//! | the signed payload / statement / message digest names the digest being verified | `DigestMismatch` |
//! | a transparency-log entry is present (and, for bundles, a verified signing time); legacy only: skipped, and said, if the trust root lists no transparency log (the certificate is then checked at the current time) | `MissingTransparencyProof` |
//! | its SET verifies with a log key of the trust root valid at the integrated time, and/or its inclusion proof and a checkpoint signed by the log's key whose origin is the log; an entry with a proof alone: the log key valid at the signing times | `BadTransparencyProof` |
//! | the entry body records this signature, this payload hash and this certificate | `TransparencyEntryMismatch` |
//! | RFC 3161 timestamps verify with a TSA of the trust root | `BadTimestamp` |
//! | the certificate chains to a Fulcio CA of the trust root | `UntrustedCertificate` |
//! | every verified signing time is within the certificate's, the chain's and the CA's validity | `SignedOutsideValidity` |
//! | an embedded SCT verifies with a CT log of the trust root (skipped, and said, if it lists none) | `BadSct` |
//! | the SAN and OIDC issuer (v1 or v2 extension) match the rule | `IdentityMismatch` |
//! | every Fulcio extension the rule names (`certificateExtensions`) is present, readable and matches | `IdentityMismatch`; `Malformed` when unreadable |
//!
//! Why hand-written rather than through sigstore-rs 0.15: on the legacy path it checks neither
//! the signature against the certificate nor the Rekor body, and it rejects Rekor v2, skips
//! SCTs and RFC 3161 and reads only the v1 issuer OID (DESIGN.md, Known traps), so most of
//! the checks would be ours anyway; what remains (X.509 walking, SET canonical JSON, Merkle
//! proofs) is small with what the graph already has: x509-cert, aws-lc-rs, sha2, serde_json.
//! No crate is added.

pub(crate) mod certificate;
pub(crate) mod chain;
pub(crate) mod extensions;
pub(crate) mod identity;
pub(crate) mod inclusion;
pub(crate) mod rekor_body;
pub(crate) mod rekor_set;
pub(crate) mod sct;
pub(crate) mod timestamp;
pub(crate) mod tlv;

#[cfg(test)]
mod test_certificates;

use base64::Engine as _;
use sha2::{Digest as _, Sha256};

use self::certificate::{Cert, Purpose};
use self::chain::ChainError;
use self::rekor_set::TlogEntry;
use self::sct::SctOutcome;
use super::bundle::{Bundle, Content, IN_TOTO_PAYLOAD_TYPE, Material};
use super::discovery::{LegacyAttestation, LegacySignature};
use super::failure::{Accepted, CandidateFailure};
use super::payload::SimpleSigningPayload;
use super::policy::KeylessIdentity;
use super::public_key::PublicKey;
use super::trusted_root::{TransparencyLog, TrustedRoot};
use crate::digest::Digest;

/// Who must have signed.
#[derive(Debug, Clone, Copy)]
pub enum Signer<'a> {
    /// A Fulcio certificate with this identity.
    Identity(&'a KeylessIdentity),
    /// This key (bundles only: the transparency log and timestamps are still required).
    Key(&'a PublicKey),
}

/// What a bundle must sign.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    /// A container image: a cosign signature statement naming this digest.
    Image(&'a Digest),
    /// A file: a message signature over it, or an in-toto statement naming its sha256.
    Artifact(&'a [u8]),
    /// An attestation about a container image: an in-toto statement of any predicate type
    /// whose subject names this digest (`cosign attest`), not a signature of the image.
    Attestation(&'a Digest),
}

const SCT_SKIPPED: &str = "SCT not checked: the trust root lists no CT logs";
const TLOG_SKIPPED: &str = "transparency log not checked: the trust root lists no transparency \
     logs (certificate validity checked at the current time)";
const TLOG_AND_SCT_SKIPPED: &str = "transparency log and SCT not checked: the trust root lists \
     no transparency logs and no CT logs (certificate validity checked at the current time)";

/// The current time, seconds since the Unix epoch (certificate times are compared in it).
pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn b64(text: &str, what: &str) -> Result<Vec<u8>, CandidateFailure> {
    base64::engine::general_purpose::STANDARD
        .decode(text.split_whitespace().collect::<String>())
        .map_err(|_| CandidateFailure::Malformed(format!("{what} is not base64")))
}

/// `failure` with `error`'s message: the typed errors of the checks here become the text a
/// [`CandidateFailure`] carries.
fn described<E: std::fmt::Display>(
    failure: fn(String) -> CandidateFailure,
) -> impl Fn(E) -> CandidateFailure {
    move |error| failure(error.to_string())
}

fn chain_failure(e: ChainError) -> CandidateFailure {
    match e {
        ChainError::Untrusted(why) => CandidateFailure::UntrustedCertificate(why),
        ChainError::OutsideValidity(why) => CandidateFailure::SignedOutsideValidity(why),
    }
}

/// Chain, SCT and identity checks of a signing certificate at the verified `times`.
fn certificate_checks(
    leaf: &Cert,
    identity: &KeylessIdentity,
    times: &[i64],
    trusted_root: &TrustedRoot,
) -> Result<Option<&'static str>, CandidateFailure> {
    let issuer = chain::verify_chain(
        leaf,
        trusted_root.certificate_authorities(),
        times,
        Purpose::CodeSigning,
    )
    .map_err(chain_failure)?;
    let note = match sct::check(leaf, &issuer, trusted_root)
        .map_err(described(CandidateFailure::BadSct))?
    {
        SctOutcome::Verified => None,
        SctOutcome::SkippedNoCtLogs => Some(SCT_SKIPPED),
    };
    identity::check(leaf, identity).map_err(|e| match e {
        identity::IdentityCheckError::Malformed(why) => {
            CandidateFailure::Malformed(why.to_string())
        }
        identity::IdentityCheckError::Mismatch(m) => CandidateFailure::IdentityMismatch(m),
    })?;
    extensions::check(leaf, identity.extensions()).map_err(|e| match e {
        extensions::ExtensionCheckError::Malformed(why) => {
            CandidateFailure::Malformed(why.to_string())
        }
        extensions::ExtensionCheckError::Mismatch(m) => CandidateFailure::IdentityMismatch(m),
    })?;
    Ok(note)
}

/// Verify a legacy cosign `.sig` layer made keyless, for image `digest`.
pub(super) fn verify_legacy(
    legacy: &LegacySignature,
    digest: &Digest,
    identity: &KeylessIdentity,
    trusted_root: &TrustedRoot,
) -> Result<Accepted, CandidateFailure> {
    let layer = LegacyLayer {
        certificate: legacy.certificate.as_deref(),
        rekor_bundle: legacy.rekor_bundle.as_deref(),
        signed: &legacy.payload,
        logged: &legacy.payload,
        formats: LEGACY_SIG_FORMATS,
    };
    let signature = b64(&legacy.signature, "signature annotation")?;
    layer.verify(&signature, identity, trusted_root, || {
        SimpleSigningPayload::parse_for(legacy.payload.clone(), digest)
            .map(drop)
            .map_err(|e| CandidateFailure::from_payload_error(&e))
    })
}

/// Verify a legacy cosign `.att` layer made keyless: the DSSE envelope's one `signature` over
/// `signed` (its pre-authentication encoding of `payload`), by the certificate of the layer's
/// annotations; `content` checks what the statement says once the signature holds.
pub(super) fn verify_legacy_attestation(
    attestation: &LegacyAttestation,
    signed: &[u8],
    payload: &[u8],
    signature: &[u8],
    identity: &KeylessIdentity,
    trusted_root: &TrustedRoot,
    content: impl FnOnce() -> Result<(), CandidateFailure>,
) -> Result<Accepted, CandidateFailure> {
    let layer = LegacyLayer {
        certificate: attestation.certificate.as_deref(),
        rekor_bundle: attestation.rekor_bundle.as_deref(),
        signed,
        logged: payload,
        formats: LEGACY_ATT_FORMATS,
    };
    layer.verify(signature, identity, trusted_root, content)
}

/// The formats of a legacy layer's acceptance: (no transparency log, Rekor SET).
type LegacyFormats = (&'static str, &'static str);
const LEGACY_SIG_FORMATS: LegacyFormats = (
    "legacy .sig signature, no transparency log",
    "legacy .sig signature, Rekor SET",
);
const LEGACY_ATT_FORMATS: LegacyFormats = (
    "legacy .att attestation, no transparency log",
    "legacy .att attestation, Rekor SET",
);

/// A legacy layer signed with a certificate: a `.sig` payload or an `.att` envelope.
struct LegacyLayer<'a> {
    /// The certificate annotation (PEM).
    certificate: Option<&'a str>,
    /// The Rekor bundle annotation (JSON).
    rekor_bundle: Option<&'a str>,
    /// The bytes the signature covers.
    signed: &'a [u8],
    /// The bytes whose sha256 the log entry records (the payload).
    logged: &'a [u8],
    formats: LegacyFormats,
}

impl LegacyLayer<'_> {
    /// The signature with the certificate's key, then `content`, then the transparency log
    /// (or its absence, when the trust root lists none), then the certificate.
    fn verify(
        &self,
        signature: &[u8],
        identity: &KeylessIdentity,
        trusted_root: &TrustedRoot,
        content: impl FnOnce() -> Result<(), CandidateFailure>,
    ) -> Result<Accepted, CandidateFailure> {
        let pem_text = self.certificate.ok_or_else(|| {
            CandidateFailure::UntrustedCertificate("the signature has no certificate".into())
        })?;
        let block = pem::parse(pem_text)
            .ok()
            .filter(|b| b.tag() == "CERTIFICATE")
            .ok_or_else(|| {
                CandidateFailure::Malformed(
                    "certificate annotation is not a PEM certificate".into(),
                )
            })?;
        let leaf = Cert::parse(block.contents()).map_err(described(CandidateFailure::Malformed))?;
        let key = PublicKey::from_certificate_der(&leaf.der)
            .map_err(|e| CandidateFailure::Malformed(e.to_string()))?;

        key.verify(self.signed, signature)
            .map_err(|_| CandidateFailure::BadSignature)?;
        content()?;

        // A trust root that lists no transparency log (a private deployment without Rekor)
        // cannot require a log proof: the signature is accepted without one, the certificate
        // is checked at the current time, and the success message says the log was not
        // checked. A trust root that lists a log (the public-good one) always requires the SET.
        let Some(annotation) = self.rekor_bundle else {
            if !trusted_root.tlogs().is_empty() {
                return Err(CandidateFailure::MissingTransparencyProof(
                    "the signature has no Rekor bundle".into(),
                ));
            }
            let note = certificate_checks(&leaf, identity, &[unix_now()], trusted_root)?;
            return Ok(Accepted {
                format: self.formats.0,
                note: Some(if note.is_some() {
                    TLOG_AND_SCT_SKIPPED
                } else {
                    TLOG_SKIPPED
                }),
                valid_until: Some(leaf.not_after),
            });
        };
        let entry = TlogEntry::from_legacy_annotation(annotation)
            .map_err(described(CandidateFailure::BadTransparencyProof))?;
        let time = entry
            .verify_set(trusted_root)
            .map_err(described(CandidateFailure::BadTransparencyProof))?;
        let logged_hash: [u8; 32] = Sha256::digest(self.logged).into();
        rekor_body::matches(
            &entry.body,
            &rekor_body::Expected {
                sha256: &logged_hash,
                signature,
                certificate: Some(&leaf.der),
                key_spki: None,
            },
        )
        .map_err(described(CandidateFailure::TransparencyEntryMismatch))?;

        let note = certificate_checks(&leaf, identity, &[time], trusted_root)?;
        Ok(Accepted {
            format: self.formats.1,
            note,
            valid_until: None,
        })
    }
}

/// (signed bytes, signature, sha256 the log entry must record)
type SignedContent = (Vec<u8>, Vec<u8>, [u8; 32]);

/// What a bundle signs: the bytes the signature covers, the one signature, and the sha256 the
/// log entry must record.
fn signed_content(
    bundle: &Bundle,
    subject: Subject<'_>,
) -> Result<SignedContent, CandidateFailure> {
    match (subject, &bundle.content) {
        (Subject::Image(digest), Content::Dsse { payload, .. }) => {
            let (signed, signature) = bundle.image_signature(digest)?;
            Ok((signed, signature.to_vec(), Sha256::digest(payload).into()))
        }
        (
            Subject::Artifact(artifact),
            Content::Dsse {
                payload,
                payload_type,
                signatures,
            },
        ) => statement_content(
            payload,
            payload_type,
            signatures,
            &Digest::sha256_of(artifact),
        ),
        (
            Subject::Attestation(digest),
            Content::Dsse {
                payload,
                payload_type,
                signatures,
            },
        ) => statement_content(payload, payload_type, signatures, digest),
        (
            Subject::Artifact(artifact),
            Content::MessageSignature {
                digest_algorithm,
                digest,
                signature,
            },
        ) => {
            if digest_algorithm != "SHA2_256" {
                return Err(CandidateFailure::Malformed(format!(
                    "unsupported message digest {digest_algorithm}"
                )));
            }
            let expected = Digest::sha256_of(artifact);
            if digest.as_slice() != Sha256::digest(artifact).as_slice() {
                let found = Digest::parse(&format!("sha256:{}", hex::encode(digest)))
                    .map_err(|e| CandidateFailure::Malformed(e.to_string()))?;
                return Err(CandidateFailure::DigestMismatch { expected, found });
            }
            Ok((
                artifact.to_vec(),
                signature.clone(),
                Sha256::digest(artifact).into(),
            ))
        }
        (Subject::Image(_) | Subject::Attestation(_), Content::MessageSignature { .. }) => {
            Err(CandidateFailure::Malformed(
                "a message-signature bundle signs a blob, not an image".into(),
            ))
        }
    }
}

/// A DSSE in-toto statement whose subject names `expected`: the PAE bytes, the one signature,
/// and the payload hash.
fn statement_content(
    payload: &[u8],
    payload_type: &str,
    signatures: &[Vec<u8>],
    expected: &Digest,
) -> Result<SignedContent, CandidateFailure> {
    let expected = expected.clone();
    if payload_type != IN_TOTO_PAYLOAD_TYPE {
        return Err(CandidateFailure::WrongPayloadType);
    }
    let [signature] = signatures else {
        return Err(CandidateFailure::Malformed(format!(
            "DSSE envelope has {} signatures, expected 1",
            signatures.len()
        )));
    };
    let statement: serde_json::Value = serde_json::from_slice(payload)
        .map_err(|e| CandidateFailure::Malformed(format!("in-toto statement: {e}")))?;
    let subjects = statement
        .get("subject")
        .and_then(serde_json::Value::as_array)
        .cloned()
        .unwrap_or_default();
    let names = |s: &serde_json::Value| {
        s.pointer("/digest/sha256")
            .and_then(serde_json::Value::as_str)
            == Some(expected.hex())
    };
    if !subjects.iter().any(names) {
        let found = subjects
            .iter()
            .find_map(|s| s.pointer("/digest/sha256")?.as_str())
            .and_then(|h| Digest::parse(&format!("sha256:{h}")).ok());
        return Err(match found {
            Some(found) => CandidateFailure::DigestMismatch { expected, found },
            None => CandidateFailure::Malformed("statement names no sha256 subject".into()),
        });
    }
    Ok((
        super::bundle::pae(payload_type, payload),
        signature.clone(),
        Sha256::digest(payload).into(),
    ))
}

/// Verify a sigstore bundle (v0.1–v0.3) offline: content, signature, transparency log,
/// timestamps, and (keyless) certificate chain, SCT and identity.
pub fn verify_bundle(
    bundle: &Bundle,
    subject: Subject<'_>,
    signer: Signer<'_>,
    trusted_root: &TrustedRoot,
) -> Result<Accepted, CandidateFailure> {
    let leaf = match (&bundle.material, signer) {
        (Material::Certificates(certs), Signer::Identity(_)) => {
            let leaf = Cert::parse(&certs[0]).map_err(described(CandidateFailure::Malformed))?;
            for extra in &certs[1..] {
                let cert = Cert::parse(extra).map_err(described(CandidateFailure::Malformed))?;
                if cert.is_self_issued() {
                    return Err(CandidateFailure::UntrustedCertificate(
                        "the bundle's certificate chain includes a root certificate".into(),
                    ));
                }
            }
            Some(leaf)
        }
        (Material::PublicKey { .. }, Signer::Key(_)) => None,
        (Material::PublicKey { .. }, Signer::Identity(_)) => {
            return Err(CandidateFailure::UntrustedCertificate(
                "the bundle is signed with a key, the rule is keyless".into(),
            ));
        }
        (Material::Certificates(_), Signer::Key(_)) => {
            return Err(CandidateFailure::WrongKey);
        }
    };
    let key = match (&leaf, signer) {
        (Some(leaf), _) => PublicKey::from_certificate_der(&leaf.der)
            .map_err(|e| CandidateFailure::Malformed(e.to_string()))?,
        (None, Signer::Key(key)) => key.clone(),
        (None, Signer::Identity(_)) => {
            return Err(CandidateFailure::UntrustedCertificate(
                "the bundle has no certificate".into(),
            ));
        }
    };

    let (signed, signature, logged_hash) = signed_content(bundle, subject)?;
    key.verify(&signed, &signature).map_err(|_| match signer {
        Signer::Identity(_) => CandidateFailure::BadSignature,
        Signer::Key(_) => CandidateFailure::WrongKey,
    })?;

    let logged = transparency(
        bundle,
        &signature,
        &logged_hash,
        leaf.as_ref(),
        &key,
        trusted_root,
    )?;
    let mut times = logged.times;
    times.extend(timestamps(bundle, &signature, trusted_root)?);
    if times.is_empty() {
        return Err(CandidateFailure::MissingTransparencyProof(
            "no verified signing time (a Rekor v2 entry needs an RFC 3161 timestamp)".into(),
        ));
    }
    // An entry proven only by its inclusion proof has no signed time of its own (a SET's
    // integrated time is checked against the log key's window in `verify_set`): its log's key
    // must have been valid when the bundle was signed, or a retired key could vouch for
    // entries made after its retirement.
    for log in logged.proof_only_logs {
        if let Some(time) = times.iter().find(|t| !log.valid_for.contains(**t)) {
            return Err(CandidateFailure::BadTransparencyProof(format!(
                "the entry is proven by an inclusion proof of log {}, whose key was not valid \
                 at the signing time {time}",
                log.base_url
            )));
        }
    }

    let note = match (&leaf, signer) {
        (Some(leaf), Signer::Identity(identity)) => {
            certificate_checks(leaf, identity, &times, trusted_root)?
        }
        _ => None,
    };
    Ok(Accepted {
        format: "sigstore bundle",
        note,
        valid_until: None,
    })
}

/// At most this many tlog entries, and as many RFC 3161 timestamps, are read from one bundle
/// (sigstore-go's bound): each costs a signature check, and one bundle may be up to
/// MAX_PAYLOAD_BYTES, so without a bound a single candidate could cost thousands of checks.
/// Real bundles carry one of each.
pub(crate) const MAX_PROOFS_PER_BUNDLE: usize = 32;

/// What the tlog entries of a bundle prove.
struct Logged<'a> {
    /// The authenticated (SET) integrated times.
    times: Vec<i64>,
    /// The logs of entries proven by an inclusion proof alone, whose key's validity the caller
    /// checks at the signing times.
    proof_only_logs: Vec<&'a TransparencyLog>,
}

/// Check every tlog entry.
fn transparency<'a>(
    bundle: &Bundle,
    signature: &[u8],
    logged_hash: &[u8; 32],
    leaf: Option<&Cert>,
    key: &PublicKey,
    trusted_root: &'a TrustedRoot,
) -> Result<Logged<'a>, CandidateFailure> {
    let entries = bundle
        .verification_material
        .get("tlogEntries")
        .and_then(serde_json::Value::as_array)
        .filter(|e| !e.is_empty())
        .ok_or_else(|| {
            CandidateFailure::MissingTransparencyProof("the bundle has no tlog entry".into())
        })?;
    if entries.len() > MAX_PROOFS_PER_BUNDLE {
        return Err(CandidateFailure::BadTransparencyProof(format!(
            "the bundle has {} tlog entries, more than the {MAX_PROOFS_PER_BUNDLE} read",
            entries.len()
        )));
    }
    let mut logged = Logged {
        times: Vec::new(),
        proof_only_logs: Vec::new(),
    };
    for raw in entries {
        let entry = TlogEntry::from_bundle_entry(raw)
            .map_err(described(CandidateFailure::BadTransparencyProof))?;
        let log = entry
            .log(trusted_root)
            .map_err(described(CandidateFailure::BadTransparencyProof))?;
        let v2 = rekor_body::kind_version(&entry.body).is_some_and(|(_, v)| v == "0.0.2");
        if entry.set.is_none() && entry.proof.is_none() {
            return Err(CandidateFailure::MissingTransparencyProof(
                "the tlog entry has neither an inclusion promise nor an inclusion proof".into(),
            ));
        }
        if v2 && entry.proof.is_none() {
            return Err(CandidateFailure::MissingTransparencyProof(
                "the Rekor v2 entry has no inclusion proof".into(),
            ));
        }
        if entry.set.is_some() {
            logged.times.push(
                entry
                    .verify_set(trusted_root)
                    .map_err(described(CandidateFailure::BadTransparencyProof))?,
            );
        } else {
            logged.proof_only_logs.push(log);
        }
        if let Some(proof) = &entry.proof {
            // Rekor v1's proof index is within the log shard, the entry's is global: they
            // may differ. The leaf hash binds the proof to this body.
            proof
                .verify(&entry.body, log)
                .map_err(described(CandidateFailure::BadTransparencyProof))?;
        }
        rekor_body::matches(
            &entry.body,
            &rekor_body::Expected {
                sha256: logged_hash,
                signature,
                certificate: leaf.map(|l| l.der.as_slice()),
                // Keyless: the entry must name the certificate, not merely its key.
                key_spki: leaf.is_none().then(|| key.spki_der()),
            },
        )
        .map_err(described(CandidateFailure::TransparencyEntryMismatch))?;
    }
    Ok(logged)
}

/// Verify the bundle's RFC 3161 timestamps; return their times.
fn timestamps(
    bundle: &Bundle,
    signature: &[u8],
    trusted_root: &TrustedRoot,
) -> Result<Vec<i64>, CandidateFailure> {
    let Some(list) = bundle
        .verification_material
        .pointer("/timestampVerificationData/rfc3161Timestamps")
        .and_then(serde_json::Value::as_array)
    else {
        return Ok(Vec::new());
    };
    if list.len() > MAX_PROOFS_PER_BUNDLE {
        return Err(CandidateFailure::BadTimestamp(format!(
            "the bundle has {} RFC 3161 timestamps, more than the {MAX_PROOFS_PER_BUNDLE} read",
            list.len()
        )));
    }
    list.iter()
        .map(|t| {
            let der = b64(
                t.get("signedTimestamp")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or_default(),
                "signedTimestamp",
            )?;
            timestamp::verify(&der, signature, trusted_root)
                .map_err(described(CandidateFailure::BadTimestamp))
        })
        .collect()
}
