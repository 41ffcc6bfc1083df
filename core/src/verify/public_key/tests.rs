use super::*;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use base64::Engine as _;

fn fixture(path: &str) -> Vec<u8> {
    crate::verify::test_fixtures::realworld_file(path)
}

fn fixture_text(path: &str) -> String {
    String::from_utf8(fixture(path)).expect("fixture is UTF-8")
}

/// The `dev.cosignproject.cosign/signature` annotation (or any other) of a fixture.
fn annotation(path: &str, key: &str) -> String {
    let value: serde_json::Value =
        serde_json::from_slice(&fixture(path)).expect("annotations JSON");
    value[key].as_str().expect("annotation present").to_owned()
}

fn cosign_signature(path: &str) -> Vec<u8> {
    // The containers/image PKI fixture wraps its base64 over two lines.
    let text: String = annotation(path, "dev.cosignproject.cosign/signature")
        .split_whitespace()
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("base64 signature")
}

fn spki_pem(der: &[u8]) -> String {
    pem::encode(&pem::Pem::new("PUBLIC KEY", der.to_vec()))
}

fn tampered(message: &[u8]) -> Vec<u8> {
    let mut copy = message.to_vec();
    copy[0] ^= 1;
    copy
}

const MESSAGE: &[u8] = b"{\"critical\":{\"type\":\"cosign container image signature\"}}";

#[test]
fn generated_ecdsa_p256() {
    let rng = SystemRandom::new();
    let pair = EcdsaKeyPair::generate(&sig::ECDSA_P256_SHA256_ASN1_SIGNING).unwrap();
    let der = pair.public_key().as_der().unwrap();
    let key = PublicKey::from_pem(&spki_pem(der.as_ref())).unwrap();
    assert_eq!(key.algorithm(), KeyAlgorithm::EcdsaP256);
    assert_eq!(key.algorithm().to_string(), "ECDSA P-256");
    assert_eq!(key.source(), KeySource::PublicKey);
    let signature = pair.sign(&rng, MESSAGE).unwrap();
    key.verify(MESSAGE, signature.as_ref()).unwrap();
    assert_eq!(
        key.verify(&tampered(MESSAGE), signature.as_ref()),
        Err(SignatureError::Mismatch {
            algorithm: KeyAlgorithm::EcdsaP256
        })
    );
    let other = EcdsaKeyPair::generate(&sig::ECDSA_P256_SHA256_ASN1_SIGNING).unwrap();
    let other_signature = other.sign(&rng, MESSAGE).unwrap();
    assert!(key.verify(MESSAGE, other_signature.as_ref()).is_err());
    assert_eq!(key.verify(MESSAGE, b""), Err(SignatureError::Empty));
    // A fixed-size r||s signature is explained, not just refused.
    let fixed = EcdsaKeyPair::generate(&sig::ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let fixed_key =
        PublicKey::from_pem(&spki_pem(fixed.public_key().as_der().unwrap().as_ref())).unwrap();
    // A raw r||s starts with 0x30 (a DER SEQUENCE tag) once in 256 signatures and is then
    // classed as a mismatch, still a rejection. ECDSA signing is randomised: sign until the
    // first byte is not 0x30, so this test does not depend on chance.
    let raw = std::iter::repeat_with(|| fixed.sign(&rng, MESSAGE).unwrap())
        .find(|raw| raw.as_ref()[0] != 0x30)
        .unwrap();
    assert!(matches!(
        fixed_key.verify(MESSAGE, raw.as_ref()),
        Err(SignatureError::Malformed { .. })
    ));
}

#[test]
fn generated_ecdsa_p384_with_sha384() {
    let rng = SystemRandom::new();
    let pair = EcdsaKeyPair::generate(&sig::ECDSA_P384_SHA384_ASN1_SIGNING).unwrap();
    let key = PublicKey::from_pem(&spki_pem(pair.public_key().as_der().unwrap().as_ref())).unwrap();
    assert_eq!(key.algorithm(), KeyAlgorithm::EcdsaP384);
    let signature = pair.sign(&rng, MESSAGE).unwrap();
    key.verify(MESSAGE, signature.as_ref()).unwrap();
    assert!(key.verify(&tampered(MESSAGE), signature.as_ref()).is_err());
}

/// P-384 over SHA-256, the way cosign signs with a P-384 file key. aws-lc-rs has no
/// P-384/SHA-256 signer, so this pair was made once with OpenSSL 3.0:
/// `openssl ecparam -name secp384r1 -genkey -noout -out k.pem;
///  openssl pkey -in k.pem -pubout; printf 'imagecheck P-384 over SHA-256' |
///  openssl dgst -sha256 -sign k.pem | base64 -w0`.
const P384_SHA256_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEssSqpKJZyKGjoCkGIIgHxV3hN24zfYkr
ScmBdSO+29rwNGqX5vTikq+PCqUHJl5WRzEGfKZmB05EkbY1WOeDY7LBVvkdN8hf
Keo1jRBPqPvHmgl/lPWX6QtopOUuAPEL
-----END PUBLIC KEY-----
";
const P384_SHA256_MESSAGE: &[u8] = b"imagecheck P-384 over SHA-256";
const P384_SHA256_SIGNATURE: &str = "MGUCMQDBLfLTHCPZw7oVi8EiSyPxPmZfcq970PnNgzPYxda/R1sNK3eqJTSXT9JBZBSrYUACMDpUHCrfGfIADGpQTFQ9p7WJOx7xNbuoe0VlMksTV6Zbpo9wQTL+CRQh2lg67ugBQQ==";

#[test]
fn p384_over_sha256_as_cosign_signs() {
    let key = PublicKey::from_pem(P384_SHA256_PUBLIC).unwrap();
    assert_eq!(key.algorithm(), KeyAlgorithm::EcdsaP384);
    let signature = base64::engine::general_purpose::STANDARD
        .decode(P384_SHA256_SIGNATURE)
        .unwrap();
    key.verify(P384_SHA256_MESSAGE, &signature).unwrap();
    assert!(
        key.verify(b"imagecheck P-384 over SHA-255", &signature)
            .is_err()
    );
}

#[test]
fn generated_rsa_pkcs1_and_pss() {
    let rng = SystemRandom::new();
    let pair = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
    let key = PublicKey::from_pem(&spki_pem(pair.public_key().as_der().unwrap().as_ref())).unwrap();
    assert_eq!(key.algorithm(), KeyAlgorithm::Rsa { bits: 2048 });
    assert_eq!(key.algorithm().to_string(), "RSA 2048");
    let mut signature = vec![0; pair.public_modulus_len()];
    for encoding in [&sig::RSA_PKCS1_SHA256, &sig::RSA_PSS_SHA256] {
        pair.sign(encoding, &rng, MESSAGE, &mut signature).unwrap();
        key.verify(MESSAGE, &signature).unwrap();
        assert!(key.verify(&tampered(MESSAGE), &signature).is_err());
    }
    // SHA-512 PKCS#1 is not something cosign produces by default: refused.
    pair.sign(&sig::RSA_PKCS1_SHA512, &rng, MESSAGE, &mut signature)
        .unwrap();
    assert!(key.verify(MESSAGE, &signature).is_err());
}

/// An `RSA PUBLIC KEY` (PKCS#1) PEM, as Talos accepts in `publicKey.certificate`: the same key
/// as its SubjectPublicKeyInfo form (same fingerprint), verifying that key's signatures.
#[test]
fn rsa_public_key_pkcs1_pem() {
    let rng = SystemRandom::new();
    let pair = RsaKeyPair::generate(KeySize::Rsa3072).unwrap();
    // aws-lc-rs gives the public key as a PKCS#1 RSAPublicKey; its SPKI form separately.
    let pkcs1 = pair.public_key().as_ref().to_vec();
    let pem_text = pem::encode(&pem::Pem::new("RSA PUBLIC KEY", pkcs1));
    let key = PublicKey::from_pem(&pem_text).unwrap();
    assert_eq!(key.algorithm(), KeyAlgorithm::Rsa { bits: 3072 });
    assert_eq!(key.source(), KeySource::RsaPublicKey);
    let spki =
        PublicKey::from_pem(&spki_pem(pair.public_key().as_der().unwrap().as_ref())).unwrap();
    assert_eq!(key.fingerprint(), spki.fingerprint());
    let mut signature = vec![0; pair.public_modulus_len()];
    pair.sign(&sig::RSA_PKCS1_SHA256, &rng, MESSAGE, &mut signature)
        .unwrap();
    key.verify(MESSAGE, &signature).unwrap();
    assert!(key.verify(&tampered(MESSAGE), &signature).is_err());
    // Another key's signature does not verify.
    let other = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
    let mut other_signature = vec![0; other.public_modulus_len()];
    other
        .sign(&sig::RSA_PKCS1_SHA256, &rng, MESSAGE, &mut other_signature)
        .unwrap();
    assert!(matches!(
        key.verify(MESSAGE, &other_signature),
        Err(SignatureError::Mismatch { .. })
    ));
}

/// RSA-PSS with the longest salt, as Go's `rsa.SignPSS(…, PSSSaltLengthAuto)` writes it.
/// Made once with OpenSSL 3.0: `openssl genpkey -algorithm RSA -pkeyopt
/// rsa_keygen_bits:2048 -out r.pem; printf 'imagecheck RSA-PSS max salt' | openssl dgst
/// -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:max -sign r.pem | base64 -w0`.
const RSA_PSS_MAX_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAoPz3lOOX92wYZJoz5MKJ
TvXmathG9aoZme8ZS298uneZb4fqE8QbwNoaosZv6jbPZ5PMqvagrNB9jUfEI01E
f6jHWeSKwCe9VE1/U19BLT7XOQjonu6ep/5Q2Qfkk7pf8K4oeHrJFKgXYOBfj8nQ
G694doAQ/4sFecf5Y7bHbljfeAdSRal3xxfOsKx2qeWQtywX5GgMq5ANymw6cieB
rxxFrkMQRMD9aa5L/97FJEB8xds7XSSMeVR3+5f7+MN2T+Z1bNYTMxhDiqLEtKjT
B2NabP5AJH1UQ642hIB4s0xHe0DIXLc+BZTR5PaasqUigsaH7kUQft2TPrcsWSNQ
dwIDAQAB
-----END PUBLIC KEY-----
";
const RSA_PSS_MAX_MESSAGE: &[u8] = b"imagecheck RSA-PSS max salt";
const RSA_PSS_MAX_SIGNATURE: &str = "e8MC8gajmmlkyco9jD1wU2cU5/PuINBI909SyjCmarl85/hrxpO6Qs+loOmT65ZMkW9BwOKAeDCxta2kePmUO0wXlfDXvb2htDekm+nPDJXTTUE+fUofejHZw5U61Aun0+RBAjfzad1k+td1pNH66jsfEC+3dk4WOU+/O5WutMgeQuZJyZUS1f5Ryburk1ecN2KHpfnnlHcqcoro61ulJOG4W4ajYHzZs3XGY1aYf9W58LSxhZEDbkBHnWqNSbFIJqzCYQCRzcVaMEU9BY3hFPMT4wBsffkr1bNNQXlFDyfM7mTk7Y+NprvrVUnh0MFJjA/YapmKTvTkrb0qdDKbfw==";

#[test]
fn rsa_pss_with_max_salt() {
    let key = PublicKey::from_pem(RSA_PSS_MAX_PUBLIC).unwrap();
    let signature = base64::engine::general_purpose::STANDARD
        .decode(RSA_PSS_MAX_SIGNATURE)
        .unwrap();
    key.verify(RSA_PSS_MAX_MESSAGE, &signature).unwrap();
    assert!(
        key.verify(b"imagecheck RSA-PSS max salT", &signature)
            .is_err()
    );
}

#[test]
fn generated_ed25519() {
    let pair = Ed25519KeyPair::generate().unwrap();
    let key = PublicKey::from_pem(&spki_pem(pair.public_key().as_der().unwrap().as_ref())).unwrap();
    assert_eq!(key.algorithm(), KeyAlgorithm::Ed25519);
    let signature = pair.sign(MESSAGE);
    key.verify(MESSAGE, signature.as_ref()).unwrap();
    assert!(key.verify(&tampered(MESSAGE), signature.as_ref()).is_err());
    let other = Ed25519KeyPair::generate().unwrap();
    assert!(key.verify(MESSAGE, other.sign(MESSAGE).as_ref()).is_err());
}

#[test]
fn wrong_key_type_signature_fails() {
    let rng = SystemRandom::new();
    let ec = EcdsaKeyPair::generate(&sig::ECDSA_P256_SHA256_ASN1_SIGNING).unwrap();
    let ed = Ed25519KeyPair::generate().unwrap();
    let ed_key =
        PublicKey::from_pem(&spki_pem(ed.public_key().as_der().unwrap().as_ref())).unwrap();
    let ec_signature = ec.sign(&rng, MESSAGE).unwrap();
    assert!(ed_key.verify(MESSAGE, ec_signature.as_ref()).is_err());
}

#[test]
fn fingerprint_is_sha256_of_spki_der() {
    // PROVENANCE.md: sha256 of the public-good Rekor key's DER is its log ID c0d23d6a….
    let key = PublicKey::from_pem(&fixture_text("trust/rekor.pub")).unwrap();
    assert_eq!(
        key.fingerprint_hex(),
        "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d"
    );
    assert_eq!(
        key.fingerprint().to_vec(),
        Sha256::digest(key.spki_der()).to_vec()
    );
    assert_eq!(key.algorithm(), KeyAlgorithm::EcdsaP256);
    assert_eq!(key.to_string(), "ECDSA P-256 key sha256:c0d23d6ad406973f");
    assert!(format!("{key:?}").contains("c0d23d6a"));
}

#[test]
fn real_cosign_key_signature() {
    // containers/image dir-img-cosign-valid: a real `cosign sign --key` signature.
    let dir = "legacy-sig/containers-image-key-valid";
    let key = PublicKey::from_pem(&fixture_text(&format!("{dir}/cosign.pub"))).unwrap();
    let payload = fixture(&format!("{dir}/payload.json"));
    let signature = cosign_signature(&format!("{dir}/annotations.json"));
    key.verify(&payload, &signature).unwrap();
    // One byte of the payload changed: fails.
    let mut modified = payload.clone();
    let at = modified.len() - 3;
    modified[at] ^= 0x01;
    assert!(key.verify(&modified, &signature).is_err());
    // One byte of the signature changed: fails.
    let mut bad_signature = signature.clone();
    let last = bad_signature.len() - 1;
    bad_signature[last] ^= 0x01;
    assert!(key.verify(&payload, &bad_signature).is_err());
    // The same signature with another real cosign key (cosign2.pub): fails.
    let other = PublicKey::from_pem(&fixture_text(
        "legacy-sig/containers-image-key-rekor-valid/cosign2.pub",
    ))
    .unwrap();
    assert_ne!(other.fingerprint(), key.fingerprint());
    assert!(matches!(
        other.verify(&payload, &signature),
        Err(SignatureError::Mismatch { .. })
    ));
}

#[test]
fn real_cosign_key_signatures_other_fixtures() {
    // (key, payload, annotations, expected to verify)
    let cases = [
        (
            "legacy-sig/containers-image-key-rekor-valid/cosign2.pub",
            "legacy-sig/containers-image-key-rekor-valid/payload.json",
            "legacy-sig/containers-image-key-rekor-valid/annotations.json",
            true,
        ),
        (
            "legacy-sig/containers-image-key-valid/cosign.pub",
            "legacy-sig/containers-image-key-rekor-valid/payload.json",
            "legacy-sig/containers-image-key-rekor-valid/annotations.json",
            false,
        ),
        (
            "legacy-sig/containers-image-key-valid-with-tag/cosign.pub",
            "legacy-sig/containers-image-key-valid-with-tag/payload.json",
            "legacy-sig/containers-image-key-valid-with-tag/annotations.json",
            true,
        ),
        (
            "legacy-sig/containers-image-key-mixed/cosign.pub",
            "legacy-sig/containers-image-key-mixed/payload-1.json",
            "legacy-sig/containers-image-key-mixed/annotations-1.json",
            false,
        ),
        (
            "legacy-sig/containers-image-key-mixed/cosign.pub",
            "legacy-sig/containers-image-key-mixed/payload-2.json",
            "legacy-sig/containers-image-key-mixed/annotations-2.json",
            true,
        ),
        (
            "legacy-sig/sigstore-rs-key-no-tlog/cosign.pub",
            "legacy-sig/sigstore-rs-key-no-tlog/payload.json",
            "legacy-sig/sigstore-rs-key-no-tlog/annotations.json",
            true,
        ),
    ];
    for (key_path, payload_path, annotations_path, expected) in cases {
        let key = PublicKey::from_pem(&fixture_text(key_path)).unwrap();
        let result = key.verify(&fixture(payload_path), &cosign_signature(annotations_path));
        assert_eq!(
            result.is_ok(),
            expected,
            "{key_path} / {payload_path}: {result:?}"
        );
    }
}

#[test]
fn real_certificates() {
    // Fulcio's public-good root: a P-384 CERTIFICATE, parsed for its key.
    let root = PublicKey::from_pem(&fixture_text("trust/fulcio_v1.crt.pem")).unwrap();
    assert_eq!(root.algorithm(), KeyAlgorithm::EcdsaP384);
    assert_eq!(root.source(), KeySource::Certificate);

    // Real keyless signatures verified with the key of the certificate that made them:
    // a 2021 Fulcio leaf (P-256) and a 2023 one, and an RSA-4096 private-PKI leaf.
    let dir = "legacy-sig/sigstore-rs-2021-keyless-rekord";
    let leaf = PublicKey::from_pem(&fixture_text(&format!("{dir}/certificate.pem"))).unwrap();
    assert_eq!(leaf.algorithm(), KeyAlgorithm::EcdsaP256);
    let payload = fixture(&format!("{dir}/payload.json"));
    let signature = cosign_signature(&format!("{dir}/annotations.json"));
    leaf.verify(&payload, &signature).unwrap();
    assert!(leaf.verify(&tampered(&payload), &signature).is_err());

    for (dir, algorithm) in [
        (
            "legacy-sig/containers-image-fulcio-rekor-valid",
            KeyAlgorithm::EcdsaP256,
        ),
        (
            "legacy-sig/containers-image-pki-valid",
            KeyAlgorithm::Rsa { bits: 4096 },
        ),
    ] {
        let annotations = format!("{dir}/annotations.json");
        let pem = annotation(&annotations, "dev.sigstore.cosign/certificate");
        let key = PublicKey::from_pem(&pem).unwrap();
        assert_eq!(key.algorithm(), algorithm, "{dir}");
        let payload = fixture(&format!("{dir}/payload.json"));
        let signature = cosign_signature(&annotations);
        key.verify(&payload, &signature).unwrap();
        assert!(
            key.verify(&tampered(&payload), &signature).is_err(),
            "{dir}"
        );
    }
}

#[test]
fn certificate_and_its_public_key_are_the_same_key() {
    let pem = fixture_text("trust/fulcio_v1.crt.pem");
    let from_cert = PublicKey::from_pem(&pem).unwrap();
    let block = pem::parse(&pem).unwrap();
    let certificate = Certificate::from_der(block.contents()).unwrap();
    let spki = certificate
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .unwrap();
    let from_spki = PublicKey::from_pem(&spki_pem(&spki)).unwrap();
    assert_eq!(from_cert, from_spki);
    assert_eq!(from_cert.fingerprint(), from_spki.fingerprint());
}

// Generated once with OpenSSL 3.0 (`openssl ecparam -name secp521r1|secp256k1 -genkey`,
// `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024`, `… ed448`, then
// `openssl pkey -pubout`), to check each is refused with a clear message.
const P521_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MIGbMBAGByqGSM49AgEGBSuBBAAjA4GGAAQA7Cuv/O4Wz9Hm/MmakNgQxnApxIze
t/I/t+B4Y9ZrTSkCb1ZD1zZkg4S9pqAQvgEjMFlFnnoQ8XrtMI+vLbX8KnEBAjnZ
/rWX2MoaSeAiOyTMm42WGJbAy3B4l69Vehzd9LClgjNQOT8fUwN2BemqDgfPo1tk
0lvHevE+TUtTetwLO3Y=
-----END PUBLIC KEY-----
";
const SECP256K1_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MFYwEAYHKoZIzj0CAQYFK4EEAAoDQgAEOW3OusIi0kjR6idB4k4FLuJQQtsXaw3J
y3E9pxPd0ZQmHqHXoYKAK6Dl+qc/XcSSRf07eeNap/DdVBRdpT4X5g==
-----END PUBLIC KEY-----
";
const RSA1024_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDiB+jDG+Wsyw1+Ubile9tv2IUv
aikO8p0rku/rIoEGpggm1ZVmbY9avjq5zD8oMwNTRiaoYydUS2gzw2C96Ylg8FBP
xR+NP24DRHCgl3xXeI8p/3g1BUgtbcNrH/qaRlAU2XrGas7smgaAKcw8xJZUrUSi
uubx/ZkEzEAhnGOR9wIDAQAB
-----END PUBLIC KEY-----
";
const ED448_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MEMwBQYDK2VxAzoABqHM0iXqrOtAueHFtIERfcXxOjUASinq1XYCEYyZs3h771q+
xiZZrdz+kOQYOjx8NRbZmvOPA6WA
-----END PUBLIC KEY-----
";
const EC_PRIVATE: &str = "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n";

#[test]
fn refused_keys() {
    type Check = fn(&KeyError) -> bool;
    let cases: &[(&str, Check, &str)] = &[
        ("", |e| matches!(e, KeyError::NoPem), "no PEM block"),
        (
            "not a key at all",
            |e| matches!(e, KeyError::NoPem),
            "no PEM block",
        ),
        (
            "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n",
            |e| matches!(e, KeyError::MalformedPem(_)),
            "malformed PEM",
        ),
        (
            "-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n",
            |e| matches!(e, KeyError::MalformedPem(_)),
            "malformed PEM",
        ),
        (
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
            |e| matches!(e, KeyError::InvalidDer { .. }),
            "invalid public key",
        ),
        (
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            |e| {
                matches!(
                    e,
                    KeyError::InvalidDer {
                        what: "certificate",
                        ..
                    }
                )
            },
            "invalid certificate",
        ),
        (
            "-----BEGIN RSA PUBLIC KEY-----\nAAAA\n-----END RSA PUBLIC KEY-----\n",
            |e| matches!(e, KeyError::InvalidKey { .. } | KeyError::InvalidDer { .. }),
            "RSA",
        ),
        (
            "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n",
            |e| matches!(e, KeyError::PrivateKey { .. }),
            "private key",
        ),
        (
            EC_PRIVATE,
            |e| matches!(e, KeyError::PrivateKey { .. }),
            "treat this private key as exposed",
        ),
        (
            P521_PUBLIC,
            |e| matches!(e, KeyError::UnsupportedAlgorithm { .. }),
            "ECDSA P-521",
        ),
        (
            SECP256K1_PUBLIC,
            |e| matches!(e, KeyError::UnsupportedAlgorithm { .. }),
            "secp256k1",
        ),
        (
            RSA1024_PUBLIC,
            |e| matches!(e, KeyError::RsaKeySize { bits: 1024 }),
            "1024 bits",
        ),
        (
            ED448_PUBLIC,
            |e| matches!(e, KeyError::UnsupportedAlgorithm { .. }),
            "Ed448",
        ),
    ];
    for (pem, check, message) in cases {
        let err = PublicKey::from_pem(pem).expect_err(pem);
        assert!(check(&err), "{pem:?}: unexpected {err:?}");
        assert!(err.to_string().contains(message), "{pem:?}: {err}");
    }
}

#[test]
fn several_blocks_are_refused() {
    let key = fixture_text("legacy-sig/containers-image-key-valid/cosign.pub");
    let err = PublicKey::from_pem(&format!("{key}{key}")).unwrap_err();
    assert!(
        matches!(err, KeyError::MultiplePem { count: 2, .. }),
        "{err}"
    );
    let chain = fixture_text("trust/fulcio-chain.pem");
    assert!(matches!(
        PublicKey::from_pem(&chain),
        Err(KeyError::MultiplePem { .. })
    ));
    // A private key next to a public key is reported as the private key.
    let err = PublicKey::from_pem(&format!("{key}{EC_PRIVATE}")).unwrap_err();
    assert!(matches!(err, KeyError::PrivateKey { .. }), "{err}");
}

#[test]
fn text_around_the_block_is_ignored() {
    let key = fixture_text("legacy-sig/containers-image-key-valid/cosign.pub");
    let with_noise = format!("# the release key\n\n{key}\n\n");
    assert!(PublicKey::from_pem(&with_noise).is_ok());
}
