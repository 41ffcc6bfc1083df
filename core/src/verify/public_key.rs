//! Public keys from a policy's `publicKey.certificate` field, and signature checks with them.
//!
//! Accepted PEM: `-----BEGIN PUBLIC KEY-----` (an X.509 SubjectPublicKeyInfo, what
//! `cosign generate-key-pair` writes to `cosign.pub`), `-----BEGIN RSA PUBLIC KEY-----` (a
//! PKCS#1 RSAPublicKey, which Talos also reads, through sigstore's
//! `cryptoutils.UnmarshalPEMToPublicKey`), or `-----BEGIN CERTIFICATE-----`, whose
//! SubjectPublicKeyInfo is used. A certificate is only a container for the key here: its
//! validity dates, issuer and extensions are not checked. (Talos refuses a CERTIFICATE block;
//! `imagecheck policy check --talos` says so.)
//!
//! Key types and the signatures accepted for each:
//!
//! | key | signature |
//! |---|---|
//! | ECDSA P-256 | ASN.1 DER ECDSA over SHA-256 |
//! | ECDSA P-384 | ASN.1 DER ECDSA over SHA-384, **or over SHA-256** (see below) |
//! | RSA 2048–8192 bits | PKCS#1 v1.5 with SHA-256, or RSA-PSS with SHA-256 (salt length = 32, or the maximum) |
//! | Ed25519 | pure Ed25519 (RFC 8032) |
//!
//! Why SHA-256 for P-384: cosign loads a file key with a fixed hash. In cosign v2
//! `pkg/signature/keys.go`, `LoadPublicKey` is "a wrapper for VerifierForKeyRef, hardcoding
//! SHA256 as the hash algorithm", and `cosign verify --key` passes its
//! `--signature-digest-algorithm` flag, whose default is `sha256`, to
//! `PublicKeyFromKeyRefWithHashAlgo`. Signing with `cosign sign --key` of a P-384 key likewise
//! hashes with SHA-256 unless told otherwise. So real cosign signatures by P-384 keys are
//! usually ECDSA-P384-over-SHA-256; signers that use the curve's natural hash (sigstore-go's
//! default verifier, KMS keys) produce SHA-384. Both are accepted. Other combinations
//! (`--signature-digest-algorithm sha512`, P-256 over SHA-384) are not.
//!
//! Why two PSS salt lengths: Go's `rsa.SignPSS` with `PSSSaltLengthAuto` (what sigstore's
//! RSA-PSS signer uses) writes the longest salt that fits, most other signers write a salt as
//! long as the hash. Go's verifier auto-detects; aws-lc-rs needs to be told, so both are tried.
//!
//! Crypto is aws-lc-rs (the library rustls already links); parsing is x509-cert / spki / der.

use std::fmt;

use aws_lc_rs::signature::{self as sig, ParsedPublicKey, RsaParameters, RsaPssSaltLength};
use sha2::{Digest as _, Sha256};
use x509_cert::Certificate;
use x509_cert::der::asn1::{Any, BitString};
use x509_cert::der::{Decode, Encode};
use x509_cert::spki::{
    AlgorithmIdentifierOwned, ObjectIdentifier, SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef,
};

const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_P521: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");
const OID_SECP256K1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.10");
const OID_RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_RSASSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const OID_ED448: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.113");
const OID_DSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10040.4.1");

/// Smallest RSA modulus accepted, in bits.
pub const MIN_RSA_BITS: u32 = 2048;
/// Largest RSA modulus accepted, in bits (aws-lc-rs's verification limit).
pub const MAX_RSA_BITS: u32 = 8192;

/// RSA-PSS over SHA-256 with the longest possible salt (Go's `PSSSaltLengthAuto` when signing).
static RSA_PSS_2048_8192_SHA256_MAX_SALT: RsaParameters =
    sig::RSA_PSS_2048_8192_SHA256.with_pss_salt_length(RsaPssSaltLength::Max);

/// The kind of a [`PublicKey`]. `Display` gives the human name used in messages
/// (`ECDSA P-256`, `RSA 4096`, `Ed25519`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyAlgorithm {
    /// ECDSA on NIST P-256 (secp256r1), the cosign default.
    EcdsaP256,
    /// ECDSA on NIST P-384 (secp384r1).
    EcdsaP384,
    /// RSA with a modulus of `bits` bits.
    Rsa {
        /// Modulus size in bits.
        bits: u32,
    },
    /// Ed25519.
    Ed25519,
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyAlgorithm::EcdsaP256 => f.write_str("ECDSA P-256"),
            KeyAlgorithm::EcdsaP384 => f.write_str("ECDSA P-384"),
            KeyAlgorithm::Rsa { bits } => write!(f, "RSA {bits}"),
            KeyAlgorithm::Ed25519 => f.write_str("Ed25519"),
        }
    }
}

/// Where a [`PublicKey`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeySource {
    /// A `PUBLIC KEY` PEM block (SubjectPublicKeyInfo).
    PublicKey,
    /// An `RSA PUBLIC KEY` PEM block (PKCS#1 RSAPublicKey).
    RsaPublicKey,
    /// The SubjectPublicKeyInfo of a `CERTIFICATE` PEM block.
    Certificate,
}

/// A parsed, validated public key that signatures can be checked against.
#[derive(Clone)]
pub struct PublicKey {
    algorithm: KeyAlgorithm,
    source: KeySource,
    /// Canonical DER of the SubjectPublicKeyInfo.
    spki_der: Vec<u8>,
    fingerprint: [u8; 32],
    /// The (key, algorithm) pairs a signature is tried against, in order.
    verifiers: Vec<ParsedPublicKey>,
}

/// Why a PEM text is not a usable public key. Messages say what was found and what is expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// No `-----BEGIN …-----` / `-----END …-----` block at all.
    #[error(
        "no PEM block found (expected -----BEGIN PUBLIC KEY-----, -----BEGIN RSA PUBLIC KEY----- or -----BEGIN CERTIFICATE-----)"
    )]
    NoPem,
    /// The PEM framing or its base64 is broken.
    #[error("malformed PEM: {0}")]
    MalformedPem(String),
    /// More than one PEM block: which key is meant would be a guess.
    #[error(
        "found {count} PEM blocks ({labels}); give exactly one PUBLIC KEY or CERTIFICATE (one rule per key)"
    )]
    MultiplePem {
        /// Number of blocks.
        count: usize,
        /// Their labels, comma separated.
        labels: String,
    },
    /// A private key was given where a public key belongs.
    #[error(
        "this is a private key ({label}), not a public key: put the public key (cosign.pub, \"-----BEGIN PUBLIC KEY-----\") in the policy, and treat this private key as exposed"
    )]
    PrivateKey {
        /// The PEM label (`EC PRIVATE KEY`, `ENCRYPTED SIGSTORE PRIVATE KEY`, …).
        label: String,
    },
    /// A PEM block of another kind.
    #[error(
        "unsupported PEM block \"{label}\" (expected PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE){hint}"
    )]
    UnsupportedPem {
        /// The PEM label found.
        label: String,
        /// A conversion hint, possibly empty.
        hint: &'static str,
    },
    /// The DER inside the PEM does not decode.
    #[error("invalid {what}: {detail}")]
    InvalidDer {
        /// `public key` or `certificate`.
        what: &'static str,
        /// The decoder's complaint.
        detail: String,
    },
    /// A key type this library does not verify with.
    #[error(
        "unsupported key type {name}; supported: ECDSA P-256, ECDSA P-384, RSA ({MIN_RSA_BITS}-{MAX_RSA_BITS} bits), Ed25519"
    )]
    UnsupportedAlgorithm {
        /// A name for the algorithm or curve (or its OID).
        name: String,
    },
    /// An RSA key outside the accepted size range.
    #[error(
        "RSA key of {bits} bits is not accepted (allowed: {MIN_RSA_BITS} to {MAX_RSA_BITS} bits)"
    )]
    RsaKeySize {
        /// The modulus size found.
        bits: u32,
    },
    /// The key material is not a valid key of its declared type (a point off the curve, …).
    #[error("invalid {algorithm} key: {detail}")]
    InvalidKey {
        /// The declared type.
        algorithm: String,
        /// What is wrong.
        detail: String,
    },
}

/// Why a signature did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The signature is empty.
    #[error("the signature is empty")]
    Empty,
    /// The signature is not in the encoding the key type uses (for ECDSA: ASN.1 DER).
    #[error("the signature is not a valid {algorithm} signature encoding: {detail}")]
    Malformed {
        /// The key's algorithm.
        algorithm: KeyAlgorithm,
        /// What is wrong.
        detail: &'static str,
    },
    /// The signature does not verify: made by another key, or over other bytes.
    #[error("the signature does not verify with the {algorithm} key")]
    Mismatch {
        /// The key's algorithm.
        algorithm: KeyAlgorithm,
    },
}

impl PublicKey {
    /// Parse a PEM `PUBLIC KEY`, `RSA PUBLIC KEY` or `CERTIFICATE` block (text around the block
    /// is ignored; exactly one block must be present).
    pub fn from_pem(text: &str) -> Result<PublicKey, KeyError> {
        let blocks = pem::parse_many(text).map_err(|e| KeyError::MalformedPem(e.to_string()))?;
        let block = match blocks.as_slice() {
            [] => {
                return Err(if text.contains("-----BEGIN") {
                    KeyError::MalformedPem("a BEGIN line without a matching END line".into())
                } else {
                    KeyError::NoPem
                });
            }
            [one] => one,
            many => {
                // A private key anywhere in the text is the more important thing to say.
                if let Some(private) = many.iter().find(|b| is_private_label(b.tag())) {
                    return Err(KeyError::PrivateKey {
                        label: private.tag().to_owned(),
                    });
                }
                return Err(KeyError::MultiplePem {
                    count: many.len(),
                    labels: many.iter().map(|b| b.tag()).collect::<Vec<_>>().join(", "),
                });
            }
        };
        match block.tag() {
            "PUBLIC KEY" => Self::from_spki_der(block.contents(), KeySource::PublicKey),
            "RSA PUBLIC KEY" => Self::from_pkcs1_rsa_der(block.contents()),
            "CERTIFICATE" => Self::from_certificate_der(block.contents()),
            label if is_private_label(label) => Err(KeyError::PrivateKey {
                label: label.to_owned(),
            }),
            label => Err(KeyError::UnsupportedPem {
                label: label.to_owned(),
                hint: match label {
                    "X509 CRL" | "CERTIFICATE REQUEST" | "NEW CERTIFICATE REQUEST" => {
                        " (use the signer's certificate or public key)"
                    }
                    _ => "",
                },
            }),
        }
    }

    /// Parse a DER X.509 certificate and take its SubjectPublicKeyInfo.
    pub fn from_certificate_der(der: &[u8]) -> Result<PublicKey, KeyError> {
        let certificate = Certificate::from_der(der).map_err(|e| KeyError::InvalidDer {
            what: "certificate",
            detail: e.to_string(),
        })?;
        let spki: &SubjectPublicKeyInfoOwned =
            certificate.tbs_certificate().subject_public_key_info();
        let spki_der = spki.to_der().map_err(|e| KeyError::InvalidDer {
            what: "certificate",
            detail: e.to_string(),
        })?;
        Self::from_spki_der(&spki_der, KeySource::Certificate)
    }

    /// Parse a DER PKCS#1 RSAPublicKey (what an `RSA PUBLIC KEY` PEM block holds), as the
    /// SubjectPublicKeyInfo `openssl rsa -RSAPublicKey_in -pubout` would make of it: algorithm
    /// rsaEncryption with NULL parameters, the RSAPublicKey as the key bits. The modulus and
    /// exponent are checked by [`Self::from_spki_der`].
    pub fn from_pkcs1_rsa_der(der: &[u8]) -> Result<PublicKey, KeyError> {
        let invalid = |e: x509_cert::der::Error| KeyError::InvalidDer {
            what: "RSA public key",
            detail: e.to_string(),
        };
        let spki = SubjectPublicKeyInfoOwned {
            algorithm: AlgorithmIdentifierOwned {
                oid: OID_RSA_ENCRYPTION,
                parameters: Some(Any::null()),
            },
            subject_public_key: BitString::from_bytes(der).map_err(invalid)?,
        };
        let spki_der = spki.to_der().map_err(invalid)?;
        Self::from_spki_der(&spki_der, KeySource::RsaPublicKey)
    }

    /// Parse a DER SubjectPublicKeyInfo.
    pub fn from_spki_der(der: &[u8], source: KeySource) -> Result<PublicKey, KeyError> {
        let invalid = |e: x509_cert::der::Error| KeyError::InvalidDer {
            what: "public key",
            detail: e.to_string(),
        };
        let spki = SubjectPublicKeyInfoRef::from_der(der).map_err(invalid)?;
        // Re-encode so the fingerprint is over canonical DER whatever the input was.
        let spki_der = spki.to_der().map_err(invalid)?;
        let (oid, parameter) = spki.algorithm.oids().map_err(invalid)?;
        let key_bits = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| KeyError::InvalidDer {
                what: "public key",
                detail: "the key BIT STRING has unused bits".into(),
            })?;

        let (algorithm, candidates): (KeyAlgorithm, Vec<&'static dyn sig::VerificationAlgorithm>) =
            match oid {
                OID_EC_PUBLIC_KEY => match parameter {
                    Some(OID_P256) => (KeyAlgorithm::EcdsaP256, vec![&sig::ECDSA_P256_SHA256_ASN1]),
                    Some(OID_P384) => (
                        KeyAlgorithm::EcdsaP384,
                        vec![&sig::ECDSA_P384_SHA384_ASN1, &sig::ECDSA_P384_SHA256_ASN1],
                    ),
                    Some(OID_P521) => return Err(unsupported("ECDSA P-521")),
                    Some(OID_SECP256K1) => return Err(unsupported("ECDSA secp256k1")),
                    Some(other) => return Err(unsupported(&format!("ECDSA on curve {other}"))),
                    None => {
                        return Err(KeyError::InvalidKey {
                            algorithm: "ECDSA".into(),
                            detail: "no named curve (explicit curve parameters are not supported)"
                                .into(),
                        });
                    }
                },
                OID_RSA_ENCRYPTION => {
                    let bits = RsaParameters::public_modulus_len(key_bits).map_err(|_| {
                        KeyError::InvalidKey {
                            algorithm: "RSA".into(),
                            detail: "not a valid RSAPublicKey".into(),
                        }
                    })?;
                    if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
                        return Err(KeyError::RsaKeySize { bits });
                    }
                    (
                        KeyAlgorithm::Rsa { bits },
                        vec![
                            &sig::RSA_PKCS1_2048_8192_SHA256,
                            &sig::RSA_PSS_2048_8192_SHA256,
                            &RSA_PSS_2048_8192_SHA256_MAX_SALT,
                        ],
                    )
                }
                OID_ED25519 => (KeyAlgorithm::Ed25519, vec![&sig::ED25519]),
                OID_RSASSA_PSS => {
                    return Err(unsupported(
                        "RSASSA-PSS-restricted RSA (export the key as plain rsaEncryption)",
                    ));
                }
                OID_ED448 => return Err(unsupported("Ed448")),
                OID_DSA => return Err(unsupported("DSA")),
                other => return Err(unsupported(&format!("with OID {other}"))),
            };

        let verifiers = candidates
            .into_iter()
            .map(|alg| ParsedPublicKey::new(alg, &spki_der))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| KeyError::InvalidKey {
                algorithm: algorithm.to_string(),
                detail: e.to_string(),
            })?;
        let fingerprint: [u8; 32] = Sha256::digest(&spki_der).into();
        Ok(PublicKey {
            algorithm,
            source,
            spki_der,
            fingerprint,
            verifiers,
        })
    }

    /// Check `signature` over `message` (the exact signed bytes; hashing is done here).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), SignatureError> {
        if signature.is_empty() {
            return Err(SignatureError::Empty);
        }
        if self
            .verifiers
            .iter()
            .any(|key| key.verify_sig(message, signature).is_ok())
        {
            return Ok(());
        }
        if matches!(
            self.algorithm,
            KeyAlgorithm::EcdsaP256 | KeyAlgorithm::EcdsaP384
        ) && signature[0] != 0x30
        {
            return Err(SignatureError::Malformed {
                algorithm: self.algorithm,
                detail: if signature.len() == 64 || signature.len() == 96 {
                    "it looks like a raw r||s signature; cosign signatures are ASN.1 DER"
                } else {
                    "expected an ASN.1 DER SEQUENCE"
                },
            });
        }
        Err(SignatureError::Mismatch {
            algorithm: self.algorithm,
        })
    }

    /// The key type.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// Whether the key came from a `PUBLIC KEY`, an `RSA PUBLIC KEY` or a `CERTIFICATE` block.
    pub fn source(&self) -> KeySource {
        self.source
    }

    /// The canonical DER of the key's SubjectPublicKeyInfo.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// SHA-256 of the SubjectPublicKeyInfo DER (what `cosign public-key | openssl pkey -pubin
    /// -outform DER | sha256sum` prints; also the Rekor log ID for a log's key).
    pub fn fingerprint(&self) -> [u8; 32] {
        self.fingerprint
    }

    /// [`Self::fingerprint`] as lowercase hex.
    pub fn fingerprint_hex(&self) -> String {
        hex::encode(self.fingerprint)
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.spki_der == other.spki_der
    }
}

impl Eq for PublicKey {}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("algorithm", &self.algorithm)
            .field("source", &self.source)
            .field("fingerprint", &self.fingerprint_hex())
            .finish()
    }
}

impl fmt::Display for PublicKey {
    /// `ECDSA P-256 key sha256:1a2b3c4d5e6f…`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} key sha256:{}",
            self.algorithm,
            &self.fingerprint_hex()[..16]
        )
    }
}

fn unsupported(name: &str) -> KeyError {
    KeyError::UnsupportedAlgorithm {
        name: name.to_owned(),
    }
}

fn is_private_label(label: &str) -> bool {
    label.contains("PRIVATE KEY")
}

#[cfg(test)]
mod tests;
