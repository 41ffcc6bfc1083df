"""Shared fixtures: the harness registries (tests/harness), read from IMAGECHECK_HARNESS.

The tests never skip: without a running harness every test fails, loudly.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "harness"))

import harness  # noqa: E402  (tests/harness/harness.py, put on sys.path above)

import imagecheck  # noqa: E402

NO_HARNESS = (
    "IMAGECHECK_HARNESS is not set: start the harness with "
    "`python3 tests/harness/harness.py start --state-dir DIR` and export IMAGECHECK_HARNESS=DIR "
    "(tests/run and bindings-python/test.sh's callers do this)"
)


def harness_dir() -> Path:
    value = os.environ.get("IMAGECHECK_HARNESS")
    if not value:
        raise RuntimeError(NO_HARNESS)
    path = Path(value)
    if not (path / "state.json").is_file():
        raise RuntimeError(f"IMAGECHECK_HARNESS={value}: no state.json there; is the harness running?")
    return path


@pytest.fixture(scope="session")
def state() -> dict[str, Any]:
    return harness.load_state(harness_dir())


@pytest.fixture(autouse=True, scope="session")
def _require_harness(state: dict[str, Any]) -> None:
    """Every test needs the harness: fail (never skip) when it is missing."""


@pytest.fixture(scope="session")
def hosts(state: dict[str, Any]) -> dict[str, str]:
    return {name: reg["host"] for name, reg in state["registries"].items()}


@pytest.fixture(scope="session")
def images(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {image["name"]: image for image in state["images"]}


def make_resolver(hosts: dict[str, str], **options: Any) -> imagecheck.Resolver:
    """A fresh resolver (empty cache) that reaches the harness registries over plain HTTP and
    ignores the machine's configured credentials."""
    return imagecheck.Resolver(insecure_registries=list(hosts.values()), from_env=False, **options)


@pytest.fixture
def resolver(hosts: dict[str, str]) -> imagecheck.Resolver:
    return make_resolver(hosts)


class StalledServer:
    """A loopback TCP server that accepts connections, reads requests and never answers.

    `connected` is set at the first connection; `closed` once a client closed its side."""

    def __init__(self) -> None:
        import socket
        import threading

        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(128)
        self.host = f"127.0.0.1:{self._sock.getsockname()[1]}"
        self.connected = threading.Event()
        self.closed = threading.Event()
        self._conns: list[Any] = []
        self._threading = threading
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self._conns.append(conn)
            self.connected.set()
            self._threading.Thread(target=self._drain, args=(conn,), daemon=True).start()

    def _drain(self, conn: Any) -> None:
        try:
            while conn.recv(65536):
                pass
        except OSError:
            return
        self.closed.set()

    def __enter__(self) -> "StalledServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self._sock.close()
        for conn in self._conns:
            conn.close()


@pytest.fixture
def stalled() -> Any:
    with StalledServer() as server:
        yield server
