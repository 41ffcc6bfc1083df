"""A CA of its own and a server certificate for 127.0.0.1, for the HTTPS (`tls`) registry."""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from . import certs
from .common import write_atomic

VALID_DAYS = 30


def generate_tls_ca_and_server_cert(directory: Path) -> tuple[Path, Path, Path]:
    """Write the CA, and a server certificate for 127.0.0.1 (IP SAN) it signed, into `directory`.

    Returns (ca_pem, server_cert_pem, server_key_pem). The CA is in no trust store: clients must be
    given it (SSL_CERT_FILE), so the HTTPS registry also proves that an unknown issuer is refused.
    """
    now = certs.now()
    valid = (now - dt.timedelta(days=1), now + dt.timedelta(days=VALID_DAYS))
    ca_key = certs.new_key()
    ca_name = certs.common_name("imagecheck harness TLS CA")
    ca_cert = certs.issue(
        ca_name,
        ca_key.public_key(),
        ca_name,
        ca_key,
        valid,
        [
            (x509.BasicConstraints(ca=True, path_length=0), True),
            (certs.key_usage(cert_sign=True), True),
            (x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False),
        ],
    )
    key = certs.new_key()
    cert = certs.issue(
        certs.common_name("127.0.0.1"),
        key.public_key(),
        ca_name,
        ca_key,
        valid,
        [
            (x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False),
            (x509.BasicConstraints(ca=False, path_length=None), True),
            (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False),
            (x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False),
        ],
    )
    ca_path, cert_path, key_path = directory / "ca.pem", directory / "server.pem", directory / "server-key.pem"
    write_atomic(ca_path, certs.cert_pem(ca_cert))
    write_atomic(cert_path, certs.cert_pem(cert))
    write_atomic(key_path, certs.key_pem(key), 0o600)
    return ca_path, cert_path, key_path
