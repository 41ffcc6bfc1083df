"""Small pieces every part of the harness uses: the error type, logging, digests, files."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any, Callable


class HarnessError(Exception):
    """A failure the harness reports loudly (exit status 1, message on stderr)."""


def logger(prefix: str) -> Callable[[str], None]:
    """A function printing `PREFIX: message` to stderr (stdout carries each script's result)."""

    def log(msg: str) -> None:
        print(f"{prefix}: {msg}", file=sys.stderr, flush=True)

    return log


log = logger("harness")

# A urllib opener that never uses a proxy: all traffic stays on 127.0.0.1.
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


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
    """The last lines of a log, for an error message (never raises)."""
    try:
        text = path.read_text(errors="replace")
    except OSError as e:
        return f"(cannot read {path}: {e})"
    return "\n".join(text.splitlines()[-lines:])


# Options whose value is a secret (skopeo's and cosign's): never shown in an error message.
SECRET_OPTIONS = ("--creds", "--src-creds", "--dest-creds", "--registry-password")


def redacted(argv: list[str]) -> str:
    """The command line for a message, with the value of every SECRET_OPTIONS replaced."""
    out: list[str] = []
    hide_next = False
    for arg in argv:
        name, eq, _ = arg.partition("=")
        if hide_next:
            out.append("<redacted>")
        elif eq and name in SECRET_OPTIONS:
            out.append(f"{name}=<redacted>")
        else:
            out.append(arg)
        hide_next = not eq and arg in SECRET_OPTIONS
    return " ".join(out)


def run_tool(argv: list[str], what: str, env: dict[str, str] | None = None, timeout: float = 120.0) -> bytes:
    """Run a tool (skopeo, cosign) to completion; its stdout, or a HarnessError with its stderr."""
    try:
        res = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise HarnessError(f"{what}: timed out after {timeout:.0f}s: {redacted(argv)}") from e
    if res.returncode != 0:
        stderr = res.stderr.decode(errors="replace")[-2000:]
        raise HarnessError(f"{what}: exit status {res.returncode}: {redacted(argv)}\n{stderr}")
    return res.stdout
