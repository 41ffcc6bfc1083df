"""The token server behind the `token` registry: ES256 JWTs for Distribution's `auth.token`.

Runs as its own process (`harness.py token-server --config FILE`, started by `start`); the ACL,
the JWT format and the request log are described in README.md ("The token server").
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from . import certs
from .common import HarnessError, canonical_json, tail, write_atomic
from .processes import READY_TIMEOUT_SECONDS

TOKEN_USER = "bob"
TOKEN_SERVICE = "imagecheck-test-registry"
TOKEN_ISSUER = "imagecheck-test-token-issuer"
TOKEN_TTL_SECONDS = 300


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def libtrust_key_id(spki_der: bytes) -> str:
    """libtrust key id: base32 of the first 30 bytes of sha256(SPKI DER), groups of 4 joined by ':'."""
    b32 = base64.b32encode(hashlib.sha256(spki_der).digest()[:30]).decode().rstrip("=")
    return ":".join(b32[i : i + 4] for i in range(0, len(b32), 4))


def generate_token_keypair(key_path: Path, cert_path: Path) -> str:
    """Write an EC P-256 key and a self-signed cert (the registry's rootcertbundle); return the kid."""
    key = certs.new_key()
    name = certs.common_name(TOKEN_ISSUER)
    now = certs.now()
    cert = certs.issue(
        name,
        key.public_key(),
        name,
        key,
        (now - dt.timedelta(days=1), now + dt.timedelta(days=3650)),
        [(x509.BasicConstraints(ca=True, path_length=None), True)],
    )
    write_atomic(key_path, certs.key_pem(key), 0o600)
    write_atomic(cert_path, certs.cert_pem(cert))
    return libtrust_key_id(certs.spki_der(key))


@dataclass(frozen=True)
class TokenServerSetup:
    """The files `configure` wrote: run the server with `token-server --config CONFIG`."""

    config: Path
    port_file: Path
    cert: Path  # the token registry's rootcertbundle
    kid: str
    requests_log: Path


def configure(directory: Path, requests_log: Path, password: str) -> TokenServerSetup:
    """Write the token server's key, certificate and config (user TOKEN_USER with `password`)."""
    key_path, cert_path = directory / "token-key.pem", directory / "token-cert.pem"
    kid = generate_token_keypair(key_path, cert_path)
    config_path, port_file = directory / "token-server.json", directory / "token-server.port"
    requests_log.touch()
    config = {
        "key_path": str(key_path),
        "issuer": TOKEN_ISSUER,
        "service": TOKEN_SERVICE,
        "users": {TOKEN_USER: password},
        "expires_in": TOKEN_TTL_SECONDS,
        "log": str(requests_log),
        "port_file": str(port_file),
        "port": 0,
    }
    write_atomic(config_path, json.dumps(config, indent=2).encode(), 0o600)
    return TokenServerSetup(config_path, port_file, cert_path, kid, requests_log)


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
        key = serialization.load_pem_private_key(Path(cfg["key_path"]).read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise HarnessError("token key must be an EC key")
        self.key = key
        self.kid = libtrust_key_id(certs.spki_der(key))
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
