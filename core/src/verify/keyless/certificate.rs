//! X.509 for keyless checks: the facts of a certificate (the signing leaf, a CA's, a TSA's),
//! and whether one certificate signed another. The chain to a certificate authority of the
//! trust root is [`super::chain`].
//!
//! Typed parsing is x509-cert 0.3; the exact signed bytes
//! (`tbsCertificate`) come from the small DER walker in [`super::tlv`]; signatures are checked
//! with aws-lc-rs.

use aws_lc_rs::signature::{self as sig, ParsedPublicKey, VerificationAlgorithm};
use x509_cert::Certificate;
use x509_cert::der::{Decode, Encode};
use x509_cert::spki::{ObjectIdentifier, SubjectPublicKeyInfoRef};

use super::tlv;

const OID_ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const OID_ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const OID_ECDSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");
const OID_RSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const OID_RSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const OID_RSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_P521: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");
const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_SAN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");
const OID_BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const OID_EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const OID_CODE_SIGNING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03];
/// id-kp-timeStamping, 1.3.6.1.5.5.7.3.8, as DER contents.
const OID_TIME_STAMPING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08];
/// anyExtendedKeyUsage, 2.5.29.37.0, as DER contents.
const OID_ANY_EXTENDED_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x25, 0x00];

/// What a chain of certificates is trusted for here: Fulcio chains sign code, TSA chains
/// timestamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    CodeSigning,
    TimeStamping,
}

impl Purpose {
    fn oid(self) -> &'static [u8] {
        match self {
            Purpose::CodeSigning => OID_CODE_SIGNING,
            Purpose::TimeStamping => OID_TIME_STAMPING,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Purpose::CodeSigning => "code signing",
            Purpose::TimeStamping => "time stamping",
        }
    }
}

/// The entries of an extended key usage extension's value: a SEQUENCE and nothing after it
/// (each entry should be an OBJECT IDENTIFIER; callers check the tag). None when it is not that.
fn key_purposes(value: &[u8]) -> Option<Vec<tlv::Tlv<'_>>> {
    tlv::read(value)
        .ok()
        .filter(|(seq, rest)| seq.tag == 0x30 && rest.is_empty())
        .and_then(|(seq, _)| tlv::children(seq.value).ok())
}

/// Fulcio's OIDC issuer extension, v1: the raw string as the extension value.
pub(crate) const OID_ISSUER_V1: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.1");
/// Fulcio's OIDC issuer extension, v2: a DER UTF8String.
pub(crate) const OID_ISSUER_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.8");
/// Fulcio's username SAN: an otherName of this type whose value is a UTF8String.
const OID_USERNAME_SAN: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.7");
/// Embedded SCT list (RFC 6962).
pub(crate) const OID_SCT_LIST: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");

/// Why DER is not a certificate this module can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CertError {
    /// x509-cert does not decode it.
    #[error("bad certificate: {0}")]
    Decode(x509_cert::der::Error),
    /// The DER walker cannot find `tbsCertificate` in it.
    #[error("{0}")]
    Der(tlv::DerError),
    /// A decoded field does not encode back to DER.
    #[error("{0}")]
    Encode(x509_cert::der::Error),
    /// The signature BIT STRING is not whole bytes.
    #[error("certificate signature has unused bits")]
    SignatureUnusedBits,
}

/// Why a certificate may not sign timestamps (RFC 3161 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TsaPurposeError {
    /// None, or several, extended key usage extensions.
    #[error(
        "the TSA certificate does not have exactly one extended key usage extension with \
         id-kp-timeStamping (RFC 3161 §2.3)"
    )]
    NotOneExtendedKeyUsage,
    /// The extended key usage lists another purpose, or more than time-stamping.
    #[error(
        "the TSA certificate's extended key usage is not id-kp-timeStamping alone (RFC 3161 \
         §2.3)"
    )]
    NotTimeStampingAlone,
    /// The extended key usage is not marked critical.
    #[error(
        "the TSA certificate's id-kp-timeStamping extended key usage is not marked critical \
         (RFC 3161 §2.3)"
    )]
    NotCritical,
}

/// One extension, undecoded.
#[derive(Debug, Clone)]
pub(crate) struct Extension {
    pub oid: ObjectIdentifier,
    pub critical: bool,
    pub value: Vec<u8>,
}

/// The facts of one certificate that the keyless checks use.
#[derive(Debug, Clone)]
pub(crate) struct Cert {
    pub der: Vec<u8>,
    /// The exact `tbsCertificate` bytes the issuer signed.
    pub tbs: Vec<u8>,
    pub signature_algorithm: ObjectIdentifier,
    pub signature: Vec<u8>,
    pub spki: Vec<u8>,
    pub subject: Vec<u8>,
    pub issuer: Vec<u8>,
    pub not_before: i64,
    pub not_after: i64,
    pub extensions: Vec<Extension>,
}

impl Cert {
    /// Parse DER.
    pub(crate) fn parse(der: &[u8]) -> Result<Cert, CertError> {
        let cert = Certificate::from_der(der).map_err(CertError::Decode)?;
        let (outer, _) = tlv::read(der).map_err(CertError::Der)?;
        let (tbs, _) = tlv::read(outer.value).map_err(CertError::Der)?;
        let t = cert.tbs_certificate();
        let enc = |r: Result<Vec<u8>, x509_cert::der::Error>| r.map_err(CertError::Encode);
        let secs = |time: x509_cert::time::Time| time.to_unix_duration().as_secs() as i64;
        Ok(Cert {
            der: der.to_vec(),
            tbs: tbs.raw.to_vec(),
            signature_algorithm: cert.signature_algorithm().oid,
            signature: cert
                .signature()
                .as_bytes()
                .ok_or(CertError::SignatureUnusedBits)?
                .to_vec(),
            spki: enc(t.subject_public_key_info().to_der())?,
            subject: enc(t.subject().to_der())?,
            issuer: enc(t.issuer().to_der())?,
            not_before: secs(t.validity().not_before),
            not_after: secs(t.validity().not_after),
            extensions: t
                .extensions()
                .map(|exts| {
                    exts.iter()
                        .map(|e| Extension {
                            oid: e.extn_id,
                            critical: e.critical,
                            value: e.extn_value.as_bytes().to_vec(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        })
    }

    /// The value of extension `oid`, if present.
    pub(crate) fn extension(&self, oid: ObjectIdentifier) -> Option<&[u8]> {
        self.extensions
            .iter()
            .find(|e| e.oid == oid)
            .map(|e| e.value.as_slice())
    }

    /// Whether `time` (Unix seconds) is within notBefore..=notAfter.
    pub(crate) fn valid_at(&self, time: i64) -> bool {
        (self.not_before..=self.not_after).contains(&time)
    }

    /// Whether the certificate is its own issuer (a root).
    pub(crate) fn is_self_issued(&self) -> bool {
        self.subject == self.issuer
    }

    /// Whether BasicConstraints marks this a CA certificate.
    pub(super) fn is_ca(&self) -> bool {
        // BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, … }
        self.extension(OID_BASIC_CONSTRAINTS).is_some_and(|v| {
            tlv::read(v)
                .ok()
                .and_then(|(seq, _)| tlv::children(seq.value).ok())
                .and_then(|c| c.first().copied())
                .is_some_and(|first| first.tag == 0x01 && first.value == [0xff])
        })
    }

    /// Whether the extended key usage names code signing (what Fulcio leaves carry).
    pub(super) fn has_code_signing(&self) -> bool {
        self.extension(OID_EXT_KEY_USAGE).is_some_and(|v| {
            tlv::read(v)
                .ok()
                .and_then(|(seq, _)| tlv::children(seq.value).ok())
                .is_some_and(|oids| oids.iter().any(|o| o.value == OID_CODE_SIGNING))
        })
    }

    /// Whether a CA certificate may stand on a chain for `purpose`, read as Go's crypto/x509
    /// (which cosign and sigstore-go verify with) and OpenSSL read extended key usage on a
    /// chain: without the extension every purpose is permitted; with it, the ones it names,
    /// or every one for anyExtendedKeyUsage. An extension that does not parse permits none.
    pub(crate) fn permits(&self, purpose: Purpose) -> bool {
        let Some(value) = self.extension(OID_EXT_KEY_USAGE) else {
            return true;
        };
        key_purposes(value).is_some_and(|oids| {
            oids.iter().any(|o| {
                o.tag == 0x06 && (o.value == purpose.oid() || o.value == OID_ANY_EXTENDED_KEY_USAGE)
            })
        })
    }

    /// RFC 3161 §2.3: a timestamp authority's certificate has exactly one extended key usage
    /// extension, marked critical, whose only purpose is id-kp-timeStamping (OpenSSL's and
    /// sigstore's timestamp-authority's reading too). Without it, any certificate the TSA's CA
    /// issued for another purpose could sign timestamps.
    pub(crate) fn check_time_stamping_purpose(&self) -> Result<(), TsaPurposeError> {
        let mut ekus = self
            .extensions
            .iter()
            .filter(|e| e.oid == OID_EXT_KEY_USAGE);
        let (Some(eku), None) = (ekus.next(), ekus.next()) else {
            return Err(TsaPurposeError::NotOneExtendedKeyUsage);
        };
        let purposes = key_purposes(&eku.value);
        if !matches!(purposes.as_deref(), Some([only]) if only.tag == 0x06 && only.value == OID_TIME_STAMPING)
        {
            return Err(TsaPurposeError::NotTimeStampingAlone);
        }
        if !eku.critical {
            return Err(TsaPurposeError::NotCritical);
        }
        Ok(())
    }

    /// Subject alternative names of every kind Fulcio issues, as text: e-mail, URI, DNS name,
    /// and the otherName username (`1.3.6.1.4.1.57264.1.7`, a UTF8String, what Fulcio writes
    /// for a username identity). Other kinds, other otherName types and names that are not
    /// what their kind requires are left out: a name not read can only match nothing.
    pub(crate) fn subject_alt_names(&self) -> Vec<String> {
        let Some(value) = self.extension(OID_SAN) else {
            return Vec::new();
        };
        let Ok((seq, _)) = tlv::read(value) else {
            return Vec::new();
        };
        tlv::children(seq.value)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|name| {
                let text = match name.tag {
                    // [1] rfc822Name, [2] dNSName, [6] uniformResourceIdentifier (IMPLICIT
                    // IA5String)
                    0x81 | 0x82 | 0x86 => name.value,
                    // [0] otherName (constructed): SEQUENCE { type-id OID, [0] EXPLICIT value }
                    0xa0 => username_other_name(name.value)?,
                    _ => return None,
                };
                std::str::from_utf8(text).ok().map(str::to_owned)
            })
            .collect()
    }

    /// Whether this certificate's signature verifies with `issuer`'s key.
    pub(crate) fn signed_by(&self, issuer: &Cert) -> bool {
        verify_with_spki(
            &issuer.spki,
            self.signature_algorithm,
            &self.tbs,
            &self.signature,
        )
    }
}

/// The UTF8String of an otherName (its contents after the `[0]` tag) of Fulcio's username type;
/// `None` for another type or any other shape.
fn username_other_name(other_name: &[u8]) -> Option<&[u8]> {
    let parts = tlv::children(other_name).ok()?;
    let [type_id, explicit] = parts.as_slice() else {
        return None;
    };
    if type_id.tag != 0x06 || type_id.value != OID_USERNAME_SAN.as_bytes() || explicit.tag != 0xa0 {
        return None;
    }
    match tlv::read(explicit.value).ok()? {
        (utf8, []) if utf8.tag == 0x0c => Some(utf8.value),
        _ => None,
    }
}

/// Verify `signature` over `message` with the key in `spki` (DER) for the signature algorithm
/// `algorithm` (ECDSA or RSA PKCS#1 with SHA-2, or Ed25519).
pub(crate) fn verify_with_spki(
    spki: &[u8],
    algorithm: ObjectIdentifier,
    message: &[u8],
    signature: &[u8],
) -> bool {
    let Some(alg) = algorithm_for(spki, algorithm) else {
        return false;
    };
    ParsedPublicKey::new(alg, spki).is_ok_and(|key| key.verify_sig(message, signature).is_ok())
}

fn algorithm_for(
    spki: &[u8],
    algorithm: ObjectIdentifier,
) -> Option<&'static dyn VerificationAlgorithm> {
    let parsed = SubjectPublicKeyInfoRef::from_der(spki).ok()?;
    let (key_oid, curve) = parsed.algorithm.oids().ok()?;
    Some(match (key_oid, curve, algorithm) {
        (OID_EC_PUBLIC_KEY, Some(OID_P256), OID_ECDSA_SHA256) => &sig::ECDSA_P256_SHA256_ASN1,
        (OID_EC_PUBLIC_KEY, Some(OID_P256), OID_ECDSA_SHA384) => &sig::ECDSA_P256_SHA384_ASN1,
        (OID_EC_PUBLIC_KEY, Some(OID_P384), OID_ECDSA_SHA256) => &sig::ECDSA_P384_SHA256_ASN1,
        (OID_EC_PUBLIC_KEY, Some(OID_P384), OID_ECDSA_SHA384) => &sig::ECDSA_P384_SHA384_ASN1,
        (OID_EC_PUBLIC_KEY, Some(OID_P521), OID_ECDSA_SHA512) => &sig::ECDSA_P521_SHA512_ASN1,
        (OID_RSA, _, OID_RSA_SHA256) => &sig::RSA_PKCS1_2048_8192_SHA256,
        (OID_RSA, _, OID_RSA_SHA384) => &sig::RSA_PKCS1_2048_8192_SHA384,
        (OID_RSA, _, OID_RSA_SHA512) => &sig::RSA_PKCS1_2048_8192_SHA512,
        (OID_ED25519, _, OID_ED25519) => &sig::ED25519,
        _ => return None,
    })
}

/// Whether a CA chain (issuing CA first) is internally sound: each certificate a CA signed by
/// the next, the last a CA that, if self-issued, verifies itself. Computed once per trust-root
/// load (`CertificateAuthority::chain_verified`), so a verification checks only the leaf.
pub(crate) fn ca_chain_verifies(chain: &[Cert]) -> bool {
    for pair in chain.windows(2) {
        if !pair[0].is_ca() || pair[0].issuer != pair[1].subject || !pair[0].signed_by(&pair[1]) {
            return false;
        }
    }
    let Some(root) = chain.last() else {
        return false;
    };
    // The trust root may end at an intermediate (a private deployment trusting it directly);
    // a self-issued last certificate must verify itself.
    root.is_ca() && (!root.is_self_issued() || root.signed_by(root))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One DER element (contents shorter than 64 KiB).
    fn der(tag: u8, contents: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        match contents.len() {
            n if n < 0x80 => out.push(n as u8),
            n if n < 0x100 => out.extend([0x81, n as u8]),
            n => out.extend([0x82, (n >> 8) as u8, n as u8]),
        }
        out.extend_from_slice(contents);
        out
    }

    fn other_name(oid: &str, value: &[u8]) -> Vec<u8> {
        let oid = ObjectIdentifier::new_unwrap(oid);
        der(
            0xa0,
            &[der(0x06, oid.as_bytes()), der(0xa0, value)].concat(),
        )
    }

    /// The real Fulcio leaf with its SAN extension replaced by `names`.
    fn with_sans(names: &[Vec<u8>]) -> Cert {
        let mut cert = super::super::test_certificates::fulcio_email_leaf();
        let san = der(0x30, &names.concat());
        for e in &mut cert.extensions {
            if e.oid == OID_SAN {
                e.value = san.clone();
            }
        }
        cert
    }

    #[test]
    fn every_san_kind_fulcio_issues_is_read_and_nothing_else() {
        let username = "octocat!github.com";
        let cert = with_sans(&[
            der(0x81, b"me@example.com"),
            der(0x82, b"build.example.com"),
            der(
                0x86,
                b"https://github.com/org/app/.github/workflows/r.yml@refs/heads/main",
            ),
            other_name("1.3.6.1.4.1.57264.1.7", &der(0x0c, username.as_bytes())),
            // Not a username otherName: another type, another string type, trailing bytes.
            other_name("1.3.6.1.4.1.311.20.2.3", &der(0x0c, b"upn@example.com")),
            other_name("1.3.6.1.4.1.57264.1.7", &der(0x16, b"ia5-name")),
            other_name(
                "1.3.6.1.4.1.57264.1.7",
                &[der(0x0c, b"first"), der(0x0c, b"second")].concat(),
            ),
            // iPAddress [7]: not a kind Fulcio issues.
            der(0x87, &[127, 0, 0, 1]),
        ]);
        assert_eq!(
            cert.subject_alt_names(),
            [
                "me@example.com",
                "build.example.com",
                "https://github.com/org/app/.github/workflows/r.yml@refs/heads/main",
                username,
            ]
        );
    }
}
