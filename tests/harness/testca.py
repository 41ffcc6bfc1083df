"""A test CA standing in for Fulcio, for keyless signatures made by real cosign.

`make_test_ca(work)` writes, under `work`:

- a root CA and an intermediate (ECDSA P-256), and three leaf certificates made like Fulcio's:
  code-signing EKU, an OIDC-issuer extension and a SAN. Leaf `email` has an email SAN and the
  v1 issuer extension (1.3.6.1.4.1.57264.1.1, the raw string); leaf `uri` has a URI SAN and
  the v2 issuer extension (1.3.6.1.4.1.57264.1.8, a DER UTF8String); leaf `username` has
  Fulcio's username SAN (an otherName of type 1.3.6.1.4.1.57264.1.7 holding a UTF8String) and
  the v2 issuer extension. Fulcio marks that SAN extension critical; here it is not, because
  `cosign sign --certificate-chain` checks the chain with Go's x509.Verify, which refuses a
  critical SAN extension holding only an otherName ("unhandled critical extension"; cosign's
  verify side removes it from that list, its sign side does not). imagecheck reads the SAN
  whether critical or not. They are valid from one
  day ago for a year: with no transparency log there is no signing time but the current one.
- leaves `workflow*` made like Fulcio's GitHub Actions certificates: a workflow URI SAN, the v2
  issuer and every CI extension (`WORKFLOW_EXTENSIONS`, OIDs .9-.22 as DER UTF8Strings, and the
  deprecated GitHub ones .2-.6 as raw strings). `workflow-deprecated` carries only the v1 issuer
  and .2-.6 (an older Fulcio), `workflow-malformed` writes sourceRepositoryRef (.14) as a raw
  string instead of DER, and `email-again` has the identity of `email` with another key;
- each leaf's key as unencrypted PKCS#8 PEM (imported into cosign's format by the caller), its
  certificate PEM, and the chain PEM (intermediate then root) for `cosign sign --certificate-chain`;
- `trusted_root.json`: a Sigstore trusted root (v0.1) whose only certificate authority is this
  CA, with no transparency log and no CT log (a private deployment without Rekor).

Python 3.11, `cryptography` only.
"""

from __future__ import annotations

import base64
import datetime
import json
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from imagecheck_harness import certs

ISSUER_V1 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
ISSUER_V2 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8")

EMAIL_SUBJECT = "signer@imagecheck.test"
EMAIL_ISSUER = "https://issuer.imagecheck.test/email"
URI_SUBJECT = "https://ci.imagecheck.test/workflows/release.yaml@refs/tags/v1.0.0"
URI_ISSUER = "https://issuer.imagecheck.test/ci"
USERNAME_SAN = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.7")
USERNAME_SUBJECT = "imagecheck-user!imagecheck.test"
USERNAME_ISSUER = "https://issuer.imagecheck.test/username"

WORKFLOW_REPO = "https://git.imagecheck.test/org/app"
WORKFLOW_SUBJECT = f"{WORKFLOW_REPO}/.github/workflows/release.yml@refs/tags/v1.2.3"
WORKFLOW_ISSUER = "https://token.actions.imagecheck.test"
_SHA = "0123456789abcdef0123456789abcdef01234567"
# Fulcio's CI extensions by sigstore-go's certificate.Extensions names: (OID arc, value).
WORKFLOW_EXTENSIONS: dict[str, tuple[int, str]] = {
    "buildSignerURI": (9, WORKFLOW_SUBJECT),
    "buildSignerDigest": (10, _SHA),
    "runnerEnvironment": (11, "github-hosted"),
    "sourceRepositoryURI": (12, WORKFLOW_REPO),
    "sourceRepositoryDigest": (13, _SHA),
    "sourceRepositoryRef": (14, "refs/tags/v1.2.3"),
    "sourceRepositoryIdentifier": (15, "424242"),
    "sourceRepositoryOwnerURI": (16, "https://git.imagecheck.test/org"),
    "sourceRepositoryOwnerIdentifier": (17, "4242"),
    "buildConfigURI": (18, WORKFLOW_SUBJECT),
    "buildConfigDigest": (19, _SHA),
    "buildTrigger": (20, "push"),
    "runInvocationURI": (21, f"{WORKFLOW_REPO}/actions/runs/77/attempts/1"),
    "sourceRepositoryVisibilityAtSigning": (22, "public"),
}
# The deprecated GitHub extensions, raw strings.
WORKFLOW_DEPRECATED: dict[str, tuple[int, str]] = {
    "githubWorkflowTrigger": (2, "push"),
    "githubWorkflowSHA": (3, _SHA),
    "githubWorkflowName": (4, "Release"),
    "githubWorkflowRepository": (5, "org/app"),
    "githubWorkflowRef": (6, "refs/tags/v1.2.3"),
}


def _der_utf8(text: str) -> bytes:
    raw = text.encode()
    assert len(raw) < 128
    return bytes([0x0C, len(raw)]) + raw


def _fulcio_oid(arc: int) -> x509.ObjectIdentifier:
    return x509.ObjectIdentifier(f"1.3.6.1.4.1.57264.1.{arc}")


def _workflow_extensions(new: bool, deprecated: bool, raw_ref: bool = False) -> list[x509.UnrecognizedExtension]:
    """The CI extensions of a GitHub Actions leaf; with `raw_ref`, .14 as a raw string (malformed)."""
    out = []
    if new:
        for name, (arc, value) in WORKFLOW_EXTENSIONS.items():
            raw = raw_ref and name == "sourceRepositoryRef"
            out.append(x509.UnrecognizedExtension(_fulcio_oid(arc), value.encode() if raw else _der_utf8(value)))
    if deprecated:
        for arc, value in WORKFLOW_DEPRECATED.values():
            out.append(x509.UnrecognizedExtension(_fulcio_oid(arc), value.encode()))
    return out


def make_test_ca(work: Path) -> dict[str, object]:
    work.mkdir(parents=True, exist_ok=True)
    now = certs.now()
    start, end = now - datetime.timedelta(days=1), now + datetime.timedelta(days=365)

    def name(cn: str) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "imagecheck test CA"),
                x509.NameAttribute(NameOID.COMMON_NAME, cn),
            ]
        )

    def ca_cert(
        subject: str, key: ec.EllipticCurvePrivateKey, issuer: str, signer: ec.EllipticCurvePrivateKey, path_len: int | None
    ) -> x509.Certificate:
        return certs.issue(
            name(subject),
            key.public_key(),
            name(issuer),
            signer,
            (start - datetime.timedelta(days=1), end + datetime.timedelta(days=365)),
            [
                (x509.BasicConstraints(ca=True, path_length=path_len), True),
                (certs.key_usage(cert_sign=True), True),
            ],
        )

    root_key = certs.new_key()
    root = ca_cert("imagecheck-test-root", root_key, "imagecheck-test-root", root_key, 1)
    inter_key = certs.new_key()
    inter = ca_cert("imagecheck-test-intermediate", inter_key, "imagecheck-test-root", root_key, 0)
    chain_pem = work / "chain.pem"
    chain_pem.write_bytes(certs.cert_pem(inter) + certs.cert_pem(root))

    def leaf(
        label: str,
        san: x509.GeneralName,
        issuer_ext: x509.UnrecognizedExtension,
        extra: list[x509.UnrecognizedExtension] | None = None,
        san_critical: bool = True,
    ) -> dict[str, str]:
        key = certs.new_key()
        cert = certs.issue(
            x509.Name([]),
            key.public_key(),
            inter.subject,
            inter_key,
            (start, end),
            [
                (x509.SubjectAlternativeName([san]), san_critical),
                (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), False),
                (certs.key_usage(cert_sign=False), True),
                (issuer_ext, False),
            ]
            + [(e, False) for e in extra or []],
        )
        key_path, cert_path = work / f"leaf-{label}.pkcs8.pem", work / f"leaf-{label}.pem"
        key_path.write_bytes(certs.key_pem(key))
        cert_path.write_bytes(certs.cert_pem(cert))
        return {"key": str(key_path), "certificate": str(cert_path), "chain": str(chain_pem)}

    leaves = {
        "email": leaf(
            "email",
            x509.RFC822Name(EMAIL_SUBJECT),
            x509.UnrecognizedExtension(ISSUER_V1, EMAIL_ISSUER.encode()),
        ),
        "uri": leaf(
            "uri",
            x509.UniformResourceIdentifier(URI_SUBJECT),
            x509.UnrecognizedExtension(ISSUER_V2, _der_utf8(URI_ISSUER)),
        ),
        "username": leaf(
            "username",
            x509.OtherName(USERNAME_SAN, _der_utf8(USERNAME_SUBJECT)),
            x509.UnrecognizedExtension(ISSUER_V2, _der_utf8(USERNAME_ISSUER)),
            san_critical=False,
        ),
        "email-again": leaf(
            "email-again",
            x509.RFC822Name(EMAIL_SUBJECT),
            x509.UnrecognizedExtension(ISSUER_V1, EMAIL_ISSUER.encode()),
        ),
        "workflow": leaf(
            "workflow",
            x509.UniformResourceIdentifier(WORKFLOW_SUBJECT),
            x509.UnrecognizedExtension(ISSUER_V2, _der_utf8(WORKFLOW_ISSUER)),
            _workflow_extensions(new=True, deprecated=True),
        ),
        "workflow-deprecated": leaf(
            "workflow-deprecated",
            x509.UniformResourceIdentifier(WORKFLOW_SUBJECT),
            x509.UnrecognizedExtension(ISSUER_V1, WORKFLOW_ISSUER.encode()),
            _workflow_extensions(new=False, deprecated=True),
        ),
        "workflow-malformed": leaf(
            "workflow-malformed",
            x509.UniformResourceIdentifier(WORKFLOW_SUBJECT),
            x509.UnrecognizedExtension(ISSUER_V2, _der_utf8(WORKFLOW_ISSUER)),
            _workflow_extensions(new=True, deprecated=False, raw_ref=True),
        ),
    }

    def b64der(cert: x509.Certificate) -> str:
        return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()

    trusted_root = {
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "tlogs": [],
        "certificateAuthorities": [
            {
                "subject": {"organization": "imagecheck test CA", "commonName": "imagecheck-test-intermediate"},
                "uri": "https://ca.imagecheck.test",
                "certChain": {"certificates": [{"rawBytes": b64der(inter)}, {"rawBytes": b64der(root)}]},
                "validFor": {"start": (start - datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")},
            }
        ],
        "ctlogs": [],
        "timestampAuthorities": [],
    }
    root_path = work / "trusted_root.json"
    root_path.write_text(json.dumps(trusted_root, indent=1))
    return {"trusted_root": str(root_path), "leaves": leaves}
