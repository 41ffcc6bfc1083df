//! A timestamp authority made at test time: a root CA, a TSA certificate issued by it (with the
//! RFC 3161 `id-kp-timeStamping` EKU, or deliberately without), a trusted root naming them, and
//! RFC 3161 tokens it signs over any signature with any genTime bytes.
//!
//! The real-world TSA tokens (shared/fixtures/realworld) cannot be varied one check at a time:
//! any change breaks their signature first. This TSA can: every token it makes is valid except
//! for the one thing a test changes. DER is written with the library's own DER writer
//! (`keyless::tlv`), signatures are ECDSA P-256 from aws-lc-rs; no crate is added.

#![allow(dead_code, reason = "each test file uses a different part")]

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine as _;
use imagecheck::verify::TrustedRoot;
use imagecheck::verify::internals::keyless::tlv::wrap;
use sha2::{Digest as _, Sha256};
use x509_cert::spki::ObjectIdentifier;

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const INTEGER: u8 = 0x02;
const OCTETS: u8 = 0x04;
const BITS: u8 = 0x03;

fn oid(text: &str) -> Vec<u8> {
    wrap(0x06, ObjectIdentifier::new_unwrap(text).as_bytes())
}

fn seq(parts: &[&[u8]]) -> Vec<u8> {
    wrap(SEQUENCE, &parts.concat())
}

fn name(common_name: &str) -> Vec<u8> {
    let cn = seq(&[&oid("2.5.4.3"), &wrap(0x0c, common_name.as_bytes())]);
    seq(&[&wrap(SET, &cn)])
}

fn ecdsa_sha256() -> Vec<u8> {
    seq(&[&oid("1.2.840.10045.4.3.2")])
}

fn sha256_alg() -> Vec<u8> {
    seq(&[&oid("2.16.840.1.101.3.4.2.1")])
}

fn extension(id: &str, critical: bool, value: &[u8]) -> Vec<u8> {
    let flag = if critical {
        wrap(0x01, &[0xff])
    } else {
        Vec::new()
    };
    seq(&[&oid(id), &flag, &wrap(OCTETS, value)])
}

/// The extended key usage a test gives the TSA certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eku {
    /// `id-kp-timeStamping` alone, critical: what RFC 3161 §2.3 requires.
    TimeStamping,
    /// `id-kp-timeStamping`, but the extension is not marked critical.
    TimeStampingNotCritical,
    /// `id-kp-timeStamping` together with another purpose (code signing).
    TimeStampingAndCodeSigning,
    /// No extended key usage extension at all.
    Absent,
}

struct Key(EcdsaKeyPair);

impl Key {
    fn generate() -> Key {
        Key(EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).unwrap())
    }

    fn spki(&self) -> Vec<u8> {
        let algorithm = seq(&[&oid("1.2.840.10045.2.1"), &oid("1.2.840.10045.3.1.7")]);
        let mut bits = vec![0u8];
        bits.extend_from_slice(self.0.public_key().as_ref());
        seq(&[&algorithm, &wrap(BITS, &bits)])
    }

    fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.0
            .sign(&SystemRandom::new(), message)
            .unwrap()
            .as_ref()
            .to_vec()
    }
}

/// A certificate valid 2000–2049 (UTCTime), signed by `issuer_key`.
fn certificate(
    serial: u8,
    issuer: &[u8],
    subject: &[u8],
    key: &Key,
    extensions: &[Vec<u8>],
    issuer_key: &Key,
) -> Vec<u8> {
    let validity = seq(&[&wrap(0x17, b"000101000000Z"), &wrap(0x17, b"491231235959Z")]);
    let tbs = seq(&[
        &wrap(0xa0, &wrap(INTEGER, &[2])),
        &wrap(INTEGER, &[serial]),
        &ecdsa_sha256(),
        issuer,
        &validity,
        subject,
        &key.spki(),
        &wrap(0xa3, &seq(&[&extensions.concat()])),
    ]);
    let mut signature = vec![0u8];
    signature.extend_from_slice(&issuer_key.sign(&tbs));
    seq(&[&tbs, &ecdsa_sha256(), &wrap(BITS, &signature)])
}

/// A root CA and a TSA certificate it issued.
pub struct Tsa {
    pub root: Vec<u8>,
    pub leaf: Vec<u8>,
    leaf_key: Key,
    issuer: Vec<u8>,
}

const LEAF_SERIAL: u8 = 2;

impl Tsa {
    pub fn new(eku: Eku) -> Tsa {
        Tsa::with_root_purposes(eku, None)
    }

    /// As `new`, with an extended key usage extension on the root CA naming these purposes
    /// (dotted OIDs) when given: a chain's certificates must each permit time stamping.
    pub fn with_root_purposes(eku: Eku, root_purposes: Option<&[&str]>) -> Tsa {
        let root_key = Key::generate();
        let root_name = name("imagecheck test TSA root");
        let mut root_extensions = vec![
            extension("2.5.29.19", true, &seq(&[&wrap(0x01, &[0xff])])),
            // keyCertSign, cRLSign
            extension("2.5.29.15", true, &wrap(BITS, &[0x01, 0x06])),
        ];
        if let Some(purposes) = root_purposes {
            let oids: Vec<Vec<u8>> = purposes.iter().map(|p| oid(p)).collect();
            let refs: Vec<&[u8]> = oids.iter().map(Vec::as_slice).collect();
            root_extensions.push(extension("2.5.29.37", false, &seq(&refs)));
        }
        let root = certificate(
            1,
            &root_name,
            &root_name,
            &root_key,
            &root_extensions,
            &root_key,
        );
        let leaf_key = Key::generate();
        // digitalSignature
        let mut extensions = vec![extension("2.5.29.15", true, &wrap(BITS, &[0x07, 0x80]))];
        let time_stamping = oid("1.3.6.1.5.5.7.3.8");
        let code_signing = oid("1.3.6.1.5.5.7.3.3");
        match eku {
            Eku::TimeStamping => {
                extensions.push(extension("2.5.29.37", true, &seq(&[&time_stamping])));
            }
            Eku::TimeStampingNotCritical => {
                extensions.push(extension("2.5.29.37", false, &seq(&[&time_stamping])));
            }
            Eku::TimeStampingAndCodeSigning => extensions.push(extension(
                "2.5.29.37",
                true,
                &seq(&[&time_stamping, &code_signing]),
            )),
            Eku::Absent => {}
        }
        let leaf = certificate(
            LEAF_SERIAL,
            &root_name,
            &name("imagecheck test TSA"),
            &leaf_key,
            &extensions,
            &root_key,
        );
        Tsa {
            root,
            leaf,
            leaf_key,
            issuer: root_name,
        }
    }

    /// A trusted root whose only timestamp authority is this TSA (its certificate, then the
    /// root), valid from 2000.
    pub fn trusted_root(&self) -> TrustedRoot {
        let b64 = |der: &[u8]| base64::engine::general_purpose::STANDARD.encode(der);
        let json = serde_json::json!({
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "timestampAuthorities": [{
                "uri": "https://tsa.imagecheck.test",
                "certChain": {"certificates": [
                    {"rawBytes": b64(&self.leaf)},
                    {"rawBytes": b64(&self.root)},
                ]},
                "validFor": {"start": "2000-01-01T00:00:00Z"},
            }],
        });
        TrustedRoot::from_json(json.to_string().as_bytes()).unwrap()
    }

    /// A DER TimeStampToken (CMS ContentInfo) over `signature` with these genTime bytes,
    /// carrying the TSA certificate.
    pub fn token(&self, signature: &[u8], gen_time: &[u8]) -> Vec<u8> {
        let tst_info_oid = oid("1.2.840.113549.1.9.16.1.4");
        let imprint = seq(&[&sha256_alg(), &wrap(OCTETS, &Sha256::digest(signature))]);
        let tst_info = seq(&[
            &wrap(INTEGER, &[1]),
            &oid("1.3.6.1.4.1.57264.2"),
            &imprint,
            &wrap(INTEGER, &[0x2a]),
            &wrap(0x18, gen_time),
        ]);
        let encapsulated = seq(&[&tst_info_oid, &wrap(0xa0, &wrap(OCTETS, &tst_info))]);
        let attributes = [
            seq(&[&oid("1.2.840.113549.1.9.3"), &wrap(SET, &tst_info_oid)]),
            seq(&[
                &oid("1.2.840.113549.1.9.4"),
                &wrap(SET, &wrap(OCTETS, &Sha256::digest(&tst_info))),
            ]),
        ]
        .concat();
        let signature = self.leaf_key.sign(&wrap(SET, &attributes));
        let signer_info = seq(&[
            &wrap(INTEGER, &[1]),
            &seq(&[&self.issuer, &wrap(INTEGER, &[LEAF_SERIAL])]),
            &sha256_alg(),
            &wrap(0xa0, &attributes),
            &ecdsa_sha256(),
            &wrap(OCTETS, &signature),
        ]);
        let signed_data = seq(&[
            &wrap(INTEGER, &[3]),
            &wrap(SET, &sha256_alg()),
            &encapsulated,
            &wrap(0xa0, &self.leaf),
            &wrap(SET, &signer_info),
        ]);
        seq(&[&oid("1.2.840.113549.1.7.2"), &wrap(0xa0, &signed_data)])
    }
}
