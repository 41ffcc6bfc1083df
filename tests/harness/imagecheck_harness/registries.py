"""The Distribution registries the harness runs (plain, basic, token, tls): their config, their
process, and waiting until each answers."""

from __future__ import annotations

import json
import secrets
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .common import HarnessError, log, tail, write_atomic
from .processes import READY_TIMEOUT_SECONDS, Started, free_ports

REGISTRY_NAMES = ("plain", "basic", "token", "tls")
BASIC_USER = "alice"
BASIC_REALM = "imagecheck-basic"


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


def htpasswd_line(user: str, password: str) -> bytes:
    res = subprocess.run(
        ["htpasswd", "-Bbn", user, password], stdin=subprocess.DEVNULL, capture_output=True, check=False
    )
    if res.returncode != 0:
        raise HarnessError(f"htpasswd failed: {res.stderr.decode(errors='replace')}")
    return res.stdout.strip() + b"\n"
