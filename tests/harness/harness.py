#!/usr/bin/env python3
"""Test harness shared by imagecheck's tests in every language.

Starts real Distribution registries (plain, htpasswd Basic auth, token auth backed by a
token server in this file) on 127.0.0.1, builds distinct test images as OCI image layouts,
pushes them with skopeo, cross-checks their digests and writes DIR/state.json.

Subcommands (see README.md next to this file):
  start        --state-dir DIR [--owner-pid PID|parent]
  stop         --state-dir DIR
  make-image   --out LAYOUT_DIR --seed TEXT [--index]
  push         --state-dir DIR --layout LAYOUT_DIR --registry plain|basic|token --to REPO:TAG
               [--format v2s2]
  token-server --config FILE            (internal: started by `start` in the background)
  watchdog     --state-dir DIR ...      (internal: started by `start --owner-pid`)

Python 3.11, stdlib + `cryptography` only. Everything binds to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import gzip
import hashlib
import hmac
import io
import json
import os
import re
import secrets
import shutil
import signal
import ssl
import socket
import subprocess
import sys
import tarfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Sequence

OCI_LAYOUT_VERSION = "1.0.0"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)

REGISTRY_NAMES = ("plain", "basic", "token", "tls")
BASIC_USER = "alice"
TOKEN_USER = "bob"
TOKEN_SERVICE = "imagecheck-test-registry"
TOKEN_ISSUER = "imagecheck-test-token-issuer"
TOKEN_TTL_SECONDS = 300
READY_TIMEOUT_SECONDS = 15.0
STOP_GRACE_SECONDS = 5.0
PLATFORMS: tuple[tuple[str, str], ...] = (("linux", "amd64"), ("linux", "arm64"))
SEED_ANNOTATION = "dev.imagecheck.test.seed"

# A urllib opener that never uses a proxy: all traffic stays on 127.0.0.1.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class HarnessError(Exception):
    """A failure the harness reports loudly (exit status 1, message on stderr)."""


def log(msg: str) -> None:
    print(f"harness: {msg}", file=sys.stderr, flush=True)


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical_json(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_bytes(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as e:
        return f"(cannot read {path}: {e})"
    return "\n".join(text.splitlines()[-lines:])


# --------------------------------------------------------------------------------------
# OCI image layouts
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    platform: dict[str, str] | None = None

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.platform is not None:
            d["platform"] = dict(self.platform)
        return d


@dataclass(frozen=True)
class LayoutInfo:
    """What make_layout wrote: the top-level descriptor and, for an index, its children."""

    path: Path
    top: Descriptor
    children: tuple[Descriptor, ...] = ()
    config_digest: str | None = None

    @property
    def is_index(self) -> bool:
        return self.top.media_type in INDEX_TYPES


class LayoutWriter:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.blobs = root / "blobs" / "sha256"
        self.blobs.mkdir(parents=True, exist_ok=True)

    def put(self, media_type: str, data: bytes, platform: dict[str, str] | None = None) -> Descriptor:
        digest = sha256_digest(data)
        (self.blobs / digest.removeprefix("sha256:")).write_bytes(data)
        return Descriptor(media_type, digest, len(data), platform)

    def finish(self, top: Descriptor) -> None:
        (self.root / "oci-layout").write_bytes(canonical_json({"imageLayoutVersion": OCI_LAYOUT_VERSION}))
        desc = top.to_json()
        desc["annotations"] = {"org.opencontainers.image.ref.name": "latest"}
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [desc]}
        (self.root / "index.json").write_bytes(canonical_json(index))


_FIXED_TIME = "2024-01-01T00:00:00Z"
_FIXED_MTIME = 1704067200  # 2024-01-01T00:00:00Z


def _layer(seed: str, os_name: str, arch: str) -> tuple[bytes, str]:
    """A deterministic gzip'd tar with one small file whose content depends on the seed."""
    content = (
        "imagecheck test image\n"
        f"seed: {seed}\n"
        f"platform: {os_name}/{arch}\n"
        f"nonce: {hashlib.sha256(f'{seed}|{os_name}|{arch}'.encode()).hexdigest()}\n"
    ).encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo("imagecheck/hello.txt")
        info.size = len(content)
        info.mtime = _FIXED_MTIME
        info.mode = 0o644
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        dir_info = tarfile.TarInfo("imagecheck")
        dir_info.type = tarfile.DIRTYPE
        dir_info.mode = 0o755
        dir_info.mtime = _FIXED_MTIME
        tar.addfile(dir_info)
        tar.addfile(info, io.BytesIO(content))
    raw = buf.getvalue()
    return gzip.compress(raw, compresslevel=6, mtime=0), sha256_digest(raw)


def _image(w: LayoutWriter, seed: str, os_name: str, arch: str, with_platform: bool) -> tuple[Descriptor, str]:
    layer_gz, diff_id = _layer(seed, os_name, arch)
    layer = w.put(OCI_LAYER_GZIP, layer_gz)
    config_obj = {
        "created": _FIXED_TIME,
        "architecture": arch,
        "os": os_name,
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["/imagecheck/hello.txt"],
            "Labels": {SEED_ANNOTATION: seed},
        },
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": _FIXED_TIME, "created_by": f"imagecheck test harness, seed {seed!r}"}],
    }
    config = w.put(OCI_CONFIG, canonical_json(config_obj))
    manifest_obj = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config.to_json(),
        "layers": [layer.to_json()],
        "annotations": {SEED_ANNOTATION: seed},
    }
    platform = {"architecture": arch, "os": os_name} if with_platform else None
    return w.put(OCI_MANIFEST, canonical_json(manifest_obj), platform), config.digest


def make_layout(out: Path, seed: str, index: bool = False) -> LayoutInfo:
    """Write a fresh OCI image layout at `out` whose content is derived from `seed` only.

    Same seed -> same digests; different seeds -> entirely distinct blobs (layers, configs,
    manifests), so no two test images ever share an image ID.
    """
    out = out.resolve()
    if out.exists():
        if (out / "oci-layout").exists():
            shutil.rmtree(out)
        elif any(out.iterdir()):
            raise HarnessError(f"{out} exists, is not empty and is not an OCI layout; refusing to overwrite")
    w = LayoutWriter(out)
    if not index:
        top, config_digest = _image(w, seed, "linux", "amd64", with_platform=False)
        w.finish(top)
        return LayoutInfo(out, top, (), config_digest)
    children = tuple(_image(w, seed, o, a, with_platform=True)[0] for o, a in PLATFORMS)
    index_obj = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [c.to_json() for c in children],
        "annotations": {SEED_ANNOTATION: seed},
    }
    top = w.put(OCI_INDEX, canonical_json(index_obj))
    w.finish(top)
    return LayoutInfo(out, top, children)


def read_layout(path: Path) -> LayoutInfo:
    """Read back the single top-level descriptor of a layout written by make_layout."""
    path = path.resolve()
    try:
        index = json.loads((path / "index.json").read_bytes())
    except (OSError, ValueError) as e:
        raise HarnessError(f"{path} is not an OCI image layout: {e}") from e
    manifests = index.get("manifests") or []
    if len(manifests) != 1:
        raise HarnessError(f"{path}/index.json must list exactly one manifest, found {len(manifests)}")
    d = manifests[0]
    top = Descriptor(str(d["mediaType"]), str(d["digest"]), int(d["size"]))
    blob = json.loads((path / "blobs" / "sha256" / top.digest.removeprefix("sha256:")).read_bytes())
    if top.media_type in INDEX_TYPES:
        children = tuple(
            Descriptor(str(c["mediaType"]), str(c["digest"]), int(c["size"]), c.get("platform"))
            for c in blob.get("manifests", [])
        )
        return LayoutInfo(path, top, children)
    return LayoutInfo(path, top, (), str(blob["config"]["digest"]))


# --------------------------------------------------------------------------------------
# Token server (ES256 JWTs for Distribution's `auth.token`)
# --------------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def libtrust_key_id(spki_der: bytes) -> str:
    """libtrust key id: base32 of the first 30 bytes of sha256(SPKI DER), groups of 4 joined by ':'."""
    b32 = base64.b32encode(hashlib.sha256(spki_der).digest()[:30]).decode().rstrip("=")
    return ":".join(b32[i : i + 4] for i in range(0, len(b32), 4))


def generate_token_keypair(key_path: Path, cert_path: Path) -> str:
    """Write an EC P-256 key and a self-signed cert (the registry's rootcertbundle); return the kid."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, TOKEN_ISSUER)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    write_atomic(key_path, key_pem, 0o600)
    write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return libtrust_key_id(spki)


def generate_tls_ca_and_server_cert(directory: Path) -> tuple[Path, Path, Path]:
    """A CA of its own and a server certificate for 127.0.0.1 (IP SAN) it signed.

    Returns (ca_pem, server_cert_pem, server_key_pem). The CA is in no trust store: clients must be
    given it (SSL_CERT_FILE), so the HTTPS registry also proves that an unknown issuer is refused.
    """
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "imagecheck harness TLS CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, cert_path, key_path = directory / "ca.pem", directory / "server.pem", directory / "server-key.pem"
    write_atomic(ca_path, ca_cert.public_bytes(serialization.Encoding.PEM))
    write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    write_atomic(
        key_path,
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
        0o600,
    )
    return ca_path, cert_path, key_path


@dataclass(frozen=True)
class Scope:
    type: str
    name: str
    actions: tuple[str, ...]

    @staticmethod
    def parse(text: str) -> Scope | None:
        # Scope text is TYPE:NAME:ACTIONS, where NAME may itself contain ':' (e.g. a host:port prefix).
        first = text.find(":")
        last = text.rfind(":")
        if first <= 0 or last == first:
            return None
        actions = tuple(a for a in text[last + 1 :].split(",") if a)
        return Scope(text[:first], text[first + 1 : last], actions)


class TokenIssuer:
    def __init__(self, cfg: dict[str, Any]) -> None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        key = serialization.load_pem_private_key(Path(cfg["key_path"]).read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise HarnessError("token key must be an EC key")
        self.key = key
        spki = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.kid = libtrust_key_id(spki)
        self.issuer = str(cfg["issuer"])
        self.service = str(cfg["service"])
        self.users: dict[str, str] = {str(k): str(v) for k, v in cfg["users"].items()}
        self.ttl = int(cfg.get("expires_in", TOKEN_TTL_SECONDS))
        self.log_path = Path(cfg["log"])
        self.log_lock = threading.Lock()

    def authenticate(self, username: str, password: str) -> bool:
        want = self.users.get(username)
        return want is not None and hmac.compare_digest(want.encode(), password.encode())

    @staticmethod
    def grant(user: str | None, scopes: Sequence[Scope]) -> list[dict[str, Any]]:
        """The ACL. bob: everything requested. Anonymous: pull on public/* only."""
        access: list[dict[str, Any]] = []
        for s in scopes:
            if user == TOKEN_USER:
                actions = list(s.actions)
            elif s.type == "repository" and s.name.startswith("public/") and "pull" in s.actions:
                actions = ["pull"]
            else:
                actions = []
            if actions:
                access.append({"type": s.type, "name": s.name, "actions": actions})
        return access

    def sign(self, user: str | None, audience: str, access: list[dict[str, Any]]) -> tuple[str, int]:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

        now = int(time.time())
        header = {"alg": "ES256", "typ": "JWT", "kid": self.kid}
        claims = {
            "iss": self.issuer,
            "sub": user or "",
            "aud": audience,
            "exp": now + self.ttl,
            "nbf": now - 10,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        signing_input = f"{b64url(canonical_json(header))}.{b64url(canonical_json(claims))}"
        der = self.key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return f"{signing_input}.{b64url(sig)}", now

    def write_log(self, entry: dict[str, Any]) -> None:
        line = json.dumps(entry, sort_keys=True, separators=(",", ":")) + "\n"
        with self.log_lock, open(self.log_path, "a", encoding="utf-8") as f:
            f.write(line)


class TokenHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "imagecheck-harness-token/1"
    issuer: TokenIssuer  # set on the subclass by run_token_server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # one structured line per request goes to the token log instead

    def _reply(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        params = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        self._handle(url.path, params, self._basic_credentials())

    def do_POST(self) -> None:
        # OAuth2 password grant (some clients POST to the realm when they hold credentials).
        url = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
        creds = self._basic_credentials()
        grant = (form.get("grant_type") or [""])[0]
        if grant == "password":
            creds = ((form.get("username") or [""])[0], (form.get("password") or [""])[0])
        elif grant != "":
            self._log(url.path, None, 400, [], [], f"unsupported grant_type {grant!r}")
            self._reply(400, {"error": "unsupported_grant_type"})
            return
        self._handle(url.path, form, creds)

    def _basic_credentials(self) -> tuple[str, str] | None | bool:
        """(user, password), None when absent, False when malformed or not Basic."""
        header = self.headers.get("Authorization")
        if not header:
            return None
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return (user, password) if sep else False

    def _log(
        self,
        path: str,
        user: str | None,
        status: int,
        scopes: Sequence[str],
        access: list[dict[str, Any]],
        error: str = "",
    ) -> None:
        entry: dict[str, Any] = {
            "time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds"),
            "method": self.command,
            "path": path,
            "user": user,
            "status": status,
            "scopes": list(scopes),
            "access": access,
        }
        if error:
            entry["error"] = error
        self.issuer.write_log(entry)

    def _handle(self, path: str, params: dict[str, list[str]], creds: tuple[str, str] | None | bool) -> None:
        issuer = self.issuer
        scope_texts = [s for v in params.get("scope", []) for s in v.split(" ") if s]
        if path != "/token":
            self._log(path, None, 404, scope_texts, [], "unknown path")
            self._reply(404, {"error": "not found"})
            return
        user: str | None = None
        if creds is False:
            self._log(path, None, 401, scope_texts, [], "malformed or non-Basic Authorization")
            self._reply(401, {"error": "unauthorized"}, {"WWW-Authenticate": 'Basic realm="imagecheck-token"'})
            return
        if isinstance(creds, tuple):
            if not issuer.authenticate(*creds):
                self._log(path, creds[0], 401, scope_texts, [], "bad credentials")
                self._reply(
                    401, {"error": "unauthorized"}, {"WWW-Authenticate": 'Basic realm="imagecheck-token"'}
                )
                return
            user = creds[0]
        service = (params.get("service") or [""])[0] or issuer.service
        if service != issuer.service:
            self._log(path, user, 400, scope_texts, [], f"unknown service {service!r}")
            self._reply(400, {"error": "invalid_request", "detail": f"unknown service {service!r}"})
            return
        scopes = [s for s in (Scope.parse(t) for t in scope_texts) if s is not None]
        access = issuer.grant(user, scopes)
        token, issued = issuer.sign(user, service, access)
        issued_at = dt.datetime.fromtimestamp(issued, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        self._log(path, user, 200, scope_texts, access)
        body: dict[str, Any] = {
            "token": token,
            "access_token": token,
            "expires_in": issuer.ttl,
            "issued_at": issued_at,
        }
        if self.command == "POST":
            body["scope"] = " ".join(scope_texts)
        self._reply(200, body)


def run_token_server(config_path: Path) -> int:
    cfg = json.loads(config_path.read_text())
    issuer = TokenIssuer(cfg)
    handler = type("BoundTokenHandler", (TokenHandler,), {"issuer": issuer})
    server = ThreadingHTTPServer(("127.0.0.1", int(cfg.get("port", 0))), handler)
    server.daemon_threads = True
    port = server.server_address[1]
    # Announce the port only once the socket is listening.
    write_atomic(Path(cfg["port_file"]), f"{port}\n".encode())
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    return 0


# --------------------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------------------


def pids_path(state_dir: Path) -> Path:
    return state_dir / "pids"


def read_pids(state_dir: Path) -> list[int]:
    pids: list[int] = []
    try:
        text = pids_path(state_dir).read_text()
    except FileNotFoundError:
        return pids
    for line in text.split():
        if line.strip().isdigit():
            pids.append(int(line))
    return pids


def _proc_cmdline(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [a.decode(errors="replace") for a in raw.split(b"\0") if a]


def _alive(pid: int) -> bool:
    """True if pid runs (not a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # state is the field after the parenthesised command name
    return stat[stat.rfind(")") + 2 :][:1] not in ("Z", "X", "")


def _ours(pid: int, state_dir: Path) -> bool:
    """Guard against PID reuse: every process we start has an argument under state_dir."""
    cmd = _proc_cmdline(pid)
    prefix = str(state_dir) + os.sep
    return cmd is not None and any(a == str(state_dir) or a.startswith(prefix) for a in cmd)


def stop_harness(state_dir: Path, quiet: bool = False) -> int:
    """SIGTERM exactly the recorded PIDs, SIGKILL what is left after a grace period."""
    state_dir = state_dir.resolve()
    pids = read_pids(state_dir)
    targets = [p for p in pids if p != os.getpid() and _alive(p) and _ours(p, state_dir)]
    for p in targets:
        try:
            os.kill(p, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    while time.monotonic() < deadline and any(_alive(p) for p in targets):
        time.sleep(0.05)
    killed = [p for p in targets if _alive(p)]
    for p in killed:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline and any(_alive(p) for p in killed):
        time.sleep(0.05)
    left = [p for p in targets if _alive(p)]
    pids_path(state_dir).unlink(missing_ok=True)
    if not quiet:
        log(f"stopped {len(targets)} process(es) {targets}" + (f", SIGKILLed {killed}" if killed else ""))
    if left:
        log(f"processes still alive after SIGKILL: {left}")
        return 1
    return 0


def _start_time(pid: int) -> str | None:
    """Field 22 of /proc/PID/stat (start time in clock ticks): tells a PID's reuse apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def run_watchdog(state_dir: Path, owner_pid: int, owner_start: str) -> int:
    """Stop the harness in state_dir once the owner process has gone (tests that never call stop)."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    while _alive(owner_pid) and _start_time(owner_pid) == owner_start:
        time.sleep(0.5)
    log(f"owner process {owner_pid} has exited; stopping the harness in {state_dir}")
    return stop_harness(state_dir)


@dataclass
class Started:
    """Processes this `start` has spawned, recorded in DIR/pids as they start."""

    state_dir: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def spawn(self, name: str, argv: list[str], log_path: Path) -> subprocess.Popen[bytes]:
        with open(log_path, "ab") as logf:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=logf,
                stderr=logf,
                cwd=self.state_dir,
                start_new_session=True,
                close_fds=True,
            )
        self.procs[name] = proc
        self._write_pids()
        return proc

    def replace(self, name: str) -> None:
        proc = self.procs.pop(name)
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        self._write_pids()

    def _write_pids(self) -> None:
        pids = "".join(f"{p.pid}\n" for p in self.procs.values())
        write_atomic(pids_path(self.state_dir), pids.encode())

    def kill_all(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                p.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for p in self.procs.values():
            try:
                p.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        pids_path(self.state_dir).unlink(missing_ok=True)


def free_ports(n: int) -> list[int]:
    socks: list[socket.socket] = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


# --------------------------------------------------------------------------------------
# Registries
# --------------------------------------------------------------------------------------


@dataclass
class Registry:
    name: str
    dir: Path
    log_path: Path
    auth: dict[str, Any] | None
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    attempts: int = 0
    # {"certificate": path, "key": path}: serve HTTPS.
    tls: dict[str, str] | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}"

    @property
    def config_path(self) -> Path:
        return self.dir / "config.yml"

    def write_config(self) -> None:
        # JSON is valid YAML, and avoids any quoting question.
        cfg: dict[str, Any] = {
            "version": "0.1",
            "log": {"level": "warn", "formatter": "text", "accesslog": {"disabled": False}},
            "storage": {
                "filesystem": {"rootdirectory": str(self.dir / "storage")},
                "delete": {"enabled": True},
                "maintenance": {"uploadpurging": {"enabled": False}},
            },
            "http": {"addr": self.host, "secret": secrets.token_hex(16)},
        }
        if self.auth is not None:
            cfg["auth"] = self.auth
        if self.tls is not None:
            cfg["http"]["tls"] = self.tls
        write_atomic(self.config_path, json.dumps(cfg, indent=2).encode() + b"\n")

    def spawn(self, started: Started, port: int) -> None:
        self.port = port
        self.attempts += 1
        self.write_config()
        self.proc = started.spawn(self.name, ["docker-registry", "serve", str(self.config_path)], self.log_path)


# Readiness checks only: the TLS registry's CA is checked by the tests, not here.
_UNVERIFIED_TLS = ssl.create_default_context()
_UNVERIFIED_TLS.check_hostname = False
_UNVERIFIED_TLS.verify_mode = ssl.CERT_NONE
_DIRECT_ANY_TLS = urllib.request.build_opener(
    urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=_UNVERIFIED_TLS)
)


def _http_status(url: str, timeout: float = 1.0) -> int | None:
    try:
        with _DIRECT_ANY_TLS.open(url, timeout=timeout) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as e:
        return int(e.code)
    except (urllib.error.URLError, OSError):
        return None


def wait_registries(regs: list[Registry], started: Started) -> None:
    pending = list(regs)
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while pending:
        for reg in list(pending):
            assert reg.proc is not None
            if reg.proc.poll() is not None:
                text = tail(reg.log_path)
                if "address already in use" in text and reg.attempts < 4:
                    log(f"{reg.name}: port {reg.port} was taken, retrying on another port")
                    started.replace(reg.name)
                    reg.spawn(started, free_ports(1)[0])
                    continue
                raise HarnessError(
                    f"registry {reg.name} exited with status {reg.proc.returncode}; "
                    f"tail of {reg.log_path}:\n{text}"
                )
            if _http_status(f"{reg.base_url}/v2/") in (200, 401):
                pending.remove(reg)
        if not pending:
            break
        if time.monotonic() > deadline:
            msgs = [f"registry {r.name} on {r.host} not answering GET /v2/ after {READY_TIMEOUT_SECONDS:.0f}s; "
                    f"tail of {r.log_path}:\n{tail(r.log_path)}" for r in pending]
            raise HarnessError("\n".join(msgs))
        time.sleep(0.05)


def wait_token_server(proc: subprocess.Popen[bytes], port_file: Path, log_path: Path) -> int:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while True:
        if port_file.exists():
            text = port_file.read_text().strip()
            if text.isdigit():
                return int(text)  # written only once the socket listens
        if proc.poll() is not None:
            raise HarnessError(
                f"token server exited with status {proc.returncode}; tail of {log_path}:\n{tail(log_path)}"
            )
        if time.monotonic() > deadline:
            raise HarnessError(f"token server did not start within {READY_TIMEOUT_SECONDS:.0f}s; "
                               f"tail of {log_path}:\n{tail(log_path)}")
        time.sleep(0.03)


# --------------------------------------------------------------------------------------
# skopeo
# --------------------------------------------------------------------------------------


def _skopeo_env(state_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    # Never pick up credentials the machine may hold for 127.0.0.1:* from a real auth file.
    env["REGISTRY_AUTH_FILE"] = str(state_dir / "skopeo" / "auth.json")
    return env


def _skopeo_base(state_dir: Path) -> list[str]:
    regd = state_dir / "skopeo" / "registries.d"
    regd.mkdir(parents=True, exist_ok=True)
    return ["skopeo", "--insecure-policy", "--registries.d", str(regd)]


def _run(argv: list[str], env: dict[str, str], what: str, timeout: float = 120.0) -> bytes:
    try:
        res = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise HarnessError(f"{what}: timed out after {timeout:.0f}s: {' '.join(argv)}") from e
    if res.returncode != 0:
        raise HarnessError(
            f"{what}: exit status {res.returncode}: {' '.join(argv)}\n{res.stderr.decode(errors='replace')}"
        )
    return res.stdout


@dataclass(frozen=True)
class Pushed:
    digest: str
    media_type: str
    raw: bytes
    children: tuple[Descriptor, ...]
    config_digest: str | None


def push_layout(
    state_dir: Path,
    layout: LayoutInfo,
    dest: str,
    creds: str | None,
    fmt: str | None = None,
) -> Pushed:
    """Push a layout with skopeo and cross-check the digest three ways.

    1. what we computed ourselves (must hold byte for byte for OCI pushes without --format),
    2. skopeo copy --digestfile (what skopeo says it pushed),
    3. sha256 of `skopeo inspect --raw` (what the registry now serves for the tag).
    """
    env = _skopeo_env(state_dir)
    base = _skopeo_base(state_dir)
    digest_dir = state_dir / "skopeo"
    digest_dir.mkdir(parents=True, exist_ok=True)
    digestfile = digest_dir / f"digest-{uuid.uuid4().hex}"
    copy = base + ["copy", "--quiet", "--retry-times", "2", "--dest-tls-verify=false"]
    copy += ["--dest-creds", creds] if creds else ["--dest-no-creds"]
    if layout.is_index:
        copy.append("--all")
    if fmt:
        copy += ["--format", fmt]
    else:
        copy.append("--preserve-digests")
    copy += ["--digestfile", str(digestfile), f"oci:{layout.path}", f"docker://{dest}"]
    _run(copy, env, f"push {dest}")
    skopeo_digest = digestfile.read_text().strip()
    digestfile.unlink(missing_ok=True)

    inspect = base + ["inspect", "--tls-verify=false", "--raw", "--retry-times", "2"]
    inspect += ["--creds", creds] if creds else ["--no-creds"]
    raw = _run(inspect + [f"docker://{dest}"], env, f"inspect {dest}")
    registry_digest = sha256_digest(raw)

    if skopeo_digest != registry_digest:
        raise HarnessError(
            f"{dest}: skopeo copy reported {skopeo_digest} but the registry serves {registry_digest}"
        )
    if fmt is None and registry_digest != layout.top.digest:
        raise HarnessError(
            f"{dest}: computed {layout.top.digest} from the layout but the registry serves {registry_digest}"
        )
    doc = json.loads(raw)
    media_type = str(doc.get("mediaType", ""))
    children: tuple[Descriptor, ...] = ()
    config_digest: str | None = None
    if media_type in INDEX_TYPES:
        children = tuple(
            Descriptor(str(c["mediaType"]), str(c["digest"]), int(c["size"]), c.get("platform"))
            for c in doc.get("manifests", [])
        )
        if fmt is None and children != layout.children:
            raise HarnessError(f"{dest}: index children differ from the layout's: {children} vs {layout.children}")
    else:
        config_digest = str(doc["config"]["digest"])
    return Pushed(registry_digest, media_type, raw, children, config_digest)


# --------------------------------------------------------------------------------------
# start
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageSpec:
    name: str
    registry: str
    repository: str
    tag: str
    index: bool
    fmt: str | None
    media_type: str


IMAGES: tuple[ImageSpec, ...] = (
    ImageSpec("hello-oci", "plain", "test/hello", "v1", False, None, OCI_MANIFEST),
    ImageSpec("index-oci", "plain", "test/index", "v1", True, None, OCI_INDEX),
    ImageSpec("docker-v2s2", "plain", "test/docker", "v1", False, "v2s2", DOCKER_MANIFEST),
    ImageSpec("dockerlist-v2s2", "plain", "test/dockerlist", "v1", True, "v2s2", DOCKER_LIST),
    ImageSpec("basic-hello-oci", "basic", "test/hello", "v1", False, None, OCI_MANIFEST),
    ImageSpec("basic-index-oci", "basic", "test/index", "v1", True, None, OCI_INDEX),
    ImageSpec("token-private-hello-oci", "token", "private/hello", "v1", False, None, OCI_MANIFEST),
    ImageSpec("token-private-index-oci", "token", "private/index", "v1", True, None, OCI_INDEX),
    ImageSpec("token-public-hello-oci", "token", "public/hello", "v1", False, None, OCI_MANIFEST),
)


# On the HTTPS registry (state["tls_registry"]), whose CA no trust store holds.
TLS_IMAGE = ImageSpec("tls-hello-oci", "tls", "test/hello", "v1", False, None, OCI_MANIFEST)


def _clean_state_dir(state_dir: Path) -> None:
    """Remove what a previous run left (only the harness's own files and folders)."""
    for name in (*REGISTRY_NAMES, "layouts", "skopeo"):
        shutil.rmtree(state_dir / name, ignore_errors=True)
    logs = (*(f"{n}.log" for n in REGISTRY_NAMES), "token-server.log", "token-requests.log", "watchdog.log")
    for name in (*logs, "state.json"):
        (state_dir / name).unlink(missing_ok=True)


def _htpasswd(user: str, password: str) -> bytes:
    res = subprocess.run(
        ["htpasswd", "-Bbn", user, password], stdin=subprocess.DEVNULL, capture_output=True, check=False
    )
    if res.returncode != 0:
        raise HarnessError(f"htpasswd failed: {res.stderr.decode(errors='replace')}")
    return res.stdout.strip() + b"\n"


def start_harness(state_dir: Path, owner_pid: int | None = None) -> dict[str, Any]:
    t0 = time.monotonic()
    state_dir = state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    if read_pids(state_dir):
        log(f"a harness is recorded in {state_dir}; stopping it first")
        stop_harness(state_dir)
    _clean_state_dir(state_dir)
    owner_start = _start_time(owner_pid) if owner_pid is not None else None
    if owner_pid is not None and (owner_start is None or not _alive(owner_pid)):
        raise HarnessError(f"--owner-pid {owner_pid} is not a running process")
    for tool in ("docker-registry", "skopeo", "htpasswd"):
        if shutil.which(tool) is None:
            raise HarnessError(f"{tool} not found on PATH; run tests/harness/install-deps.sh")

    started = Started(state_dir)
    try:
        if owner_pid is not None and owner_start is not None:
            started.spawn(
                "watchdog",
                [sys.executable, str(Path(__file__).resolve()), "watchdog", "--state-dir", str(state_dir),
                 "--owner-pid", str(owner_pid), "--owner-start", owner_start],
                state_dir / "watchdog.log",
            )
        state = _start(state_dir, started, t0, owner_pid)
    except BaseException:
        started.kill_all()
        raise
    return state


def _start(state_dir: Path, started: Started, t0: float, owner_pid: int | None) -> dict[str, Any]:
    basic_pw = secrets.token_urlsafe(18)
    token_pw = secrets.token_urlsafe(18)
    run_nonce = secrets.token_hex(8)

    regs = {
        n: Registry(n, state_dir / n, state_dir / f"{n}.log", None) for n in REGISTRY_NAMES
    }
    for reg in regs.values():
        (reg.dir / "storage").mkdir(parents=True, exist_ok=True)
        reg.log_path.touch()

    # Token server first (the token registry's config needs its port); it picks its own port.
    tdir = regs["token"].dir
    key_path, cert_path = tdir / "token-key.pem", tdir / "token-cert.pem"
    kid = generate_token_keypair(key_path, cert_path)
    token_cfg_path = tdir / "token-server.json"
    port_file = tdir / "token-server.port"
    token_requests_log = state_dir / "token-requests.log"
    token_requests_log.touch()
    token_cfg = {
        "key_path": str(key_path),
        "issuer": TOKEN_ISSUER,
        "service": TOKEN_SERVICE,
        "users": {TOKEN_USER: token_pw},
        "expires_in": TOKEN_TTL_SECONDS,
        "log": str(token_requests_log),
        "port_file": str(port_file),
        "port": 0,
    }
    write_atomic(token_cfg_path, json.dumps(token_cfg, indent=2).encode(), 0o600)
    token_server_log = state_dir / "token-server.log"
    token_proc = started.spawn(
        "token-server",
        [sys.executable, str(Path(__file__).resolve()), "token-server", "--config", str(token_cfg_path)],
        token_server_log,
    )

    # plain and basic registries.
    htpasswd_path = regs["basic"].dir / "htpasswd"
    write_atomic(htpasswd_path, _htpasswd(BASIC_USER, basic_pw), 0o600)
    regs["basic"].auth = {"htpasswd": {"realm": "imagecheck-basic", "path": str(htpasswd_path)}}
    tls_ca, tls_cert, tls_key = generate_tls_ca_and_server_cert(regs["tls"].dir)
    regs["tls"].tls = {"certificate": str(tls_cert), "key": str(tls_key)}
    ports = free_ports(4)
    regs["plain"].spawn(started, ports[0])
    regs["basic"].spawn(started, ports[1])
    regs["tls"].spawn(started, ports[3])

    # Layouts (pure Python) while the servers come up.
    layouts: dict[str, LayoutInfo] = {}
    for spec in (*IMAGES, TLS_IMAGE):
        seed = f"{spec.name}|{spec.registry}/{spec.repository}:{spec.tag}|run {run_nonce}"
        layouts[spec.name] = make_layout(state_dir / "layouts" / spec.name, seed, spec.index)

    token_port = wait_token_server(token_proc, port_file, token_server_log)
    token_url = f"http://127.0.0.1:{token_port}/token"
    regs["token"].auth = {
        "token": {
            "realm": token_url,
            "service": TOKEN_SERVICE,
            "issuer": TOKEN_ISSUER,
            "rootcertbundle": str(cert_path),
        }
    }
    regs["token"].spawn(started, ports[2])
    wait_registries(list(regs.values()), started)
    t_up = time.monotonic()

    creds = {"plain": None, "basic": f"{BASIC_USER}:{basic_pw}", "token": f"{TOKEN_USER}:{token_pw}", "tls": None}

    def push_one(spec: ImageSpec) -> dict[str, Any]:
        reg = regs[spec.registry]
        ref = f"{reg.host}/{spec.repository}:{spec.tag}"
        pushed = push_layout(state_dir, layouts[spec.name], ref, creds[spec.registry], spec.fmt)
        if pushed.media_type != spec.media_type:
            raise HarnessError(f"{ref}: expected media type {spec.media_type}, registry serves {pushed.media_type}")
        entry: dict[str, Any] = {
            "name": spec.name,
            "registry": spec.registry,
            "host": reg.host,
            "repository": spec.repository,
            "tag": spec.tag,
            "reference": ref,
            "digest": pushed.digest,
            "media_type": pushed.media_type,
            "size": len(pushed.raw),
        }
        if pushed.children:
            entry["children"] = [
                {"digest": c.digest, "media_type": c.media_type, "size": c.size, "platform": c.platform}
                for c in pushed.children
            ]
        if pushed.config_digest:
            entry["config_digest"] = pushed.config_digest
        return entry

    with ThreadPoolExecutor(max_workers=4) as pool:
        images = list(pool.map(push_one, IMAGES))
        tls_image = push_one(TLS_IMAGE)

    # Every image must be distinct (podman lists all repo names sharing an image ID).
    all_digests = [i["digest"] for i in (*images, tls_image)]
    all_digests += [c["digest"] for i in images for c in i.get("children", [])]
    if len(set(all_digests)) != len(all_digests):
        raise HarnessError(f"test images are not distinct: {all_digests}")

    procs = {name: p.pid for name, p in started.procs.items()}
    state: dict[str, Any] = {
        "registries": {
            "plain": {"host": regs["plain"].host, "log": str(regs["plain"].log_path)},
            "basic": {
                "host": regs["basic"].host,
                "username": BASIC_USER,
                "password": basic_pw,
                "log": str(regs["basic"].log_path),
            },
            "token": {
                "host": regs["token"].host,
                "username": TOKEN_USER,
                "password": token_pw,
                "log": str(regs["token"].log_path),
                "token_url": token_url,
                "token_log": str(token_requests_log),
                "service": TOKEN_SERVICE,
                "issuer": TOKEN_ISSUER,
                "kid": kid,
                "rootcertbundle": str(cert_path),
            },
        },
        "images": images,
        # Kept apart from "registries" and "images", which callers treat as plain-HTTP hosts.
        "tls_registry": {
            "host": regs["tls"].host,
            "ca": str(tls_ca),
            "log": str(regs["tls"].log_path),
            "image": tls_image,
        },
        "layouts": {name: str(info.path) for name, info in layouts.items()},
        "pids": [p.pid for p in started.procs.values()],
        "processes": procs,
        "state_dir": str(state_dir),
        "owner_pid": owner_pid,
        "start_seconds": round(time.monotonic() - t0, 2),
    }
    write_atomic(state_dir / "state.json", json.dumps(state, indent=2).encode() + b"\n")
    log(
        f"up: plain {regs['plain'].host}, basic {regs['basic'].host}, token {regs['token'].host}, "
        f"tls {regs['tls'].host} "
        f"(token server {token_url}); servers ready in {t_up - t0:.1f}s, "
        f"{len(images)} images pushed, total {time.monotonic() - t0:.1f}s"
    )
    return state


# --------------------------------------------------------------------------------------
# Helpers for Python tests (import this file) and the `push` subcommand
# --------------------------------------------------------------------------------------


def load_state(state_dir: Path | str) -> dict[str, Any]:
    state: dict[str, Any] = json.loads((Path(state_dir) / "state.json").read_text())
    return state


def log_offset(path: Path | str) -> int:
    """Current size of a log: count requests made after this point with count_lines(since=...)."""
    try:
        return os.path.getsize(path)
    except FileNotFoundError:
        return 0


def count_lines(path: Path | str, needle: str, since: int = 0) -> int:
    """Number of lines after byte offset `since` that contain `needle`."""
    with open(path, "rb") as f:
        f.seek(since)
        data = f.read()
    n = needle.encode()
    return sum(1 for line in data.splitlines() if n in line)


# One access-log line (Apache combined format, written by the registry to stdout):
# 127.0.0.1 - - [22/Nov/2026:16:09:25 +0000] "HEAD /v2/test/hello/manifests/v1 HTTP/1.1" 200 503 "" "curl/7.88.1"
ACCESS_LINE = re.compile(
    r'^(?P<remote>\S+) \S+ (?P<user>\S+) \[(?P<time>[^\]]+)\] '
    r'"(?P<method>[A-Z]+) (?P<uri>\S+) (?P<proto>HTTP/[0-9.]+)" (?P<status>\d{3}) (?P<bytes>\d+|-) '
    r'"(?P<referer>[^"]*)" "(?P<agent>[^"]*)"$'
)


def access_log(path: Path | str, since: int = 0) -> list[dict[str, str]]:
    """Parsed access-log lines after byte offset `since` (the registry's other lines are skipped)."""
    with open(path, "rb") as f:
        f.seek(since)
        data = f.read().decode(errors="replace")
    out: list[dict[str, str]] = []
    for line in data.splitlines():
        m = ACCESS_LINE.match(line)
        if m:
            out.append(m.groupdict())
    return out


def count_requests(path: Path | str, method: str, uri: str, since: int = 0, status: int | None = None) -> int:
    """Requests with exactly this method and URI (path + query) after `since`, optionally of one status."""
    return sum(
        1
        for e in access_log(path, since)
        if e["method"] == method and e["uri"] == uri and (status is None or int(e["status"]) == status)
    )


class PlainRegistry:
    """Uploads straight through the distribution API to a registry without auth (the harness's
    `plain` one): for test data no client would push, such as forged or replayed signatures."""

    def __init__(self, host: str) -> None:
        self.host = host

    def put_blob(self, repo: str, data: bytes) -> str:
        digest = sha256_digest(data)
        req = urllib.request.Request(f"http://{self.host}/v2/{repo}/blobs/uploads/", method="POST")
        with urllib.request.urlopen(req, timeout=10) as resp:
            location = resp.headers["Location"]
        if location.startswith("/"):
            location = f"http://{self.host}{location}"
        sep = "&" if "?" in location else "?"
        put = urllib.request.Request(f"{location}{sep}digest={digest}", data=data, method="PUT")
        put.add_header("Content-Type", "application/octet-stream")
        urllib.request.urlopen(put, timeout=10).close()
        return digest

    def put_manifest(self, repo: str, ref: str, body: bytes, media_type: str) -> str:
        req = urllib.request.Request(f"http://{self.host}/v2/{repo}/manifests/{ref}", data=body, method="PUT")
        req.add_header("Content-Type", media_type)
        with urllib.request.urlopen(req, timeout=10) as resp:
            served = resp.headers.get("Docker-Content-Digest", "")
        digest = sha256_digest(body)
        if served and served != digest:
            raise HarnessError(f"registry stored {repo}:{ref} as {served}, expected {digest}")
        return digest


def registry_creds(state: dict[str, Any], registry: str) -> str | None:
    reg = state["registries"][registry]
    if "username" in reg:
        return f"{reg['username']}:{reg['password']}"
    return None


def push_to(state_dir: Path, layout_dir: Path, registry: str, to: str, fmt: str | None = None) -> Pushed:
    state = load_state(state_dir)
    if registry not in state["registries"]:
        raise HarnessError(f"unknown registry {registry!r}; have {sorted(state['registries'])}")
    repo, sep, tag = to.rpartition(":")
    if not sep or not repo or "/" in tag:
        raise HarnessError(f"--to must be REPO:TAG, got {to!r}")
    host = state["registries"][registry]["host"]
    layout = read_layout(layout_dir)
    return push_layout(Path(state["state_dir"]), layout, f"{host}/{repo}:{tag}", registry_creds(state, registry), fmt)


# --------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="harness.py", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("start", help="start registries + token server, push test images, write state.json")
    p.add_argument("--state-dir", required=True, type=Path)
    p.add_argument(
        "--owner-pid",
        default=None,
        help="stop everything by itself once this process exits ('parent' = the caller of harness.py)",
    )
    p = sub.add_parser("stop", help="stop the processes recorded in DIR/pids")
    p.add_argument("--state-dir", required=True, type=Path)
    p = sub.add_parser("make-image", help="write a fresh OCI layout; print its manifest (or index) digest")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--seed", required=True)
    p.add_argument("--index", action="store_true", help="an OCI index of linux/amd64 + linux/arm64")
    p = sub.add_parser("push", help="push a layout to one of the harness registries; print the digest")
    p.add_argument("--state-dir", required=True, type=Path)
    p.add_argument("--layout", required=True, type=Path)
    p.add_argument("--registry", required=True, choices=("plain", "basic", "token"))
    p.add_argument("--to", required=True, metavar="REPO:TAG")
    p.add_argument("--format", choices=("v2s2", "oci"), default=None, help="convert (skopeo --format)")
    p = sub.add_parser("watchdog", help=argparse.SUPPRESS)
    p.add_argument("--state-dir", required=True, type=Path)
    p.add_argument("--owner-pid", required=True, type=int)
    p.add_argument("--owner-start", required=True)
    p = sub.add_parser("token-server", help=argparse.SUPPRESS)
    p.add_argument("--config", required=True, type=Path)
    args = ap.parse_args(argv)

    try:
        if args.cmd == "start":
            owner: int | None = None
            if args.owner_pid == "parent":
                owner = os.getppid()
            elif args.owner_pid is not None:
                if not str(args.owner_pid).isdigit():
                    raise HarnessError(f"--owner-pid must be a PID or 'parent', got {args.owner_pid!r}")
                owner = int(args.owner_pid)
            start_harness(args.state_dir, owner)
            print(args.state_dir.resolve() / "state.json")
            return 0
        if args.cmd == "stop":
            return stop_harness(args.state_dir)
        if args.cmd == "make-image":
            info = make_layout(args.out, args.seed, args.index)
            print(info.top.digest)
            return 0
        if args.cmd == "push":
            pushed = push_to(args.state_dir.resolve(), args.layout, args.registry, args.to, args.format)
            print(pushed.digest)
            return 0
        if args.cmd == "watchdog":
            return run_watchdog(args.state_dir.resolve(), args.owner_pid, args.owner_start)
        if args.cmd == "token-server":
            return run_token_server(args.config)
    except HarnessError as e:
        log(f"error: {e}")
        return 1
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    ap.error(f"unknown command {args.cmd}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
