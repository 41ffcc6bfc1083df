"""The X.509 pieces the harness's three certificate makers share: the TLS CA (`tls_ca`), the token
server's signing certificate (`token_server`) and the keyless test CA (`testca.py`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

# An extension and whether it is critical.
Extension = tuple[x509.ExtensionType, bool]


def new_key() -> ec.EllipticCurvePrivateKey:
    """Every harness key is ECDSA P-256: what cosign, Fulcio and Distribution's libtrust all take."""
    return ec.generate_private_key(ec.SECP256R1())


def common_name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    """A CA's key usage (certificate and CRL signing) or a leaf's (digital signature)."""
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def issue(
    subject: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    issuer: x509.Name,
    signer: ec.EllipticCurvePrivateKey,
    valid: tuple[dt.datetime, dt.datetime],
    extensions: Sequence[Extension],
) -> x509.Certificate:
    """A certificate for `public_key`, signed (SHA-256) by `signer` on behalf of `issuer`."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid[0])
        .not_valid_after(valid[1])
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(signer, hashes.SHA256())


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    """Unencrypted PKCS#8 PEM: what Distribution, cosign's import-key-pair and the token server read."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def spki_der(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
