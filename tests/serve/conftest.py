"""Fixtures for the pull-path tests: the harness state, grpcio stubs generated from our .proto
files, and `imagecheck serve` / containerd processes started per test and stopped by PID.

Run by tests/serve/run (which tests/run calls) with IMAGECHECK_HARNESS pointing at a started and
signed harness, IMAGECHECK_BIN at the built CLI, IMAGECHECK_CONTAINERD_DIR at containerd 2.4.x.
"""

from __future__ import annotations

import http.client
import importlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "harness"))
import harness  # noqa: E402


def _env_path(name: str, default: Path | None = None) -> Path:
    value = os.environ.get(name)
    if value:
        return Path(value)
    if default is None:
        raise RuntimeError(f"{name} is not set: run tests/serve/run (tests/run does)")
    return default


@pytest.fixture(scope="session")
def state() -> dict[str, Any]:
    return harness.load_state(_env_path("IMAGECHECK_HARNESS"))


@pytest.fixture(scope="session")
def signed(state: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((Path(state["state_dir"]) / "signed.json").read_text())
    return data


@pytest.fixture(scope="session")
def binary() -> Path:
    return _env_path("IMAGECHECK_BIN", ROOT / "target" / "debug" / "imagecheck")


def insecure(state: dict[str, Any]) -> str:
    return ",".join(state["registries"][r]["host"] for r in ("plain", "basic", "token"))


@pytest.fixture(scope="session")
def stubs(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Python stubs from proto/ by grpcio-tools: a client we did not write."""
    out = tmp_path_factory.mktemp("stubs")
    from grpc_tools import protoc  # type: ignore[import-untyped]

    for proto in ("machine/image.proto", "imagecheck/v1/imagecheck.proto"):
        code = protoc.main(
            ["protoc", f"-I{ROOT / 'proto'}", f"--python_out={out}", f"--grpc_python_out={out}", proto]
        )
        assert code == 0, f"grpc_tools.protoc failed on {proto}"
    # Regular packages, so an installed `imagecheck` (the Python binding) cannot shadow them.
    for package in ("machine", "imagecheck", "imagecheck/v1"):
        (out / package / "__init__.py").touch()
    sys.path.insert(0, str(out))

    class Stubs:
        image_pb2 = importlib.import_module("machine.image_pb2")
        image_grpc = importlib.import_module("machine.image_pb2_grpc")
        v1_pb2 = importlib.import_module("imagecheck.v1.imagecheck_pb2")
        v1_grpc = importlib.import_module("imagecheck.v1.imagecheck_pb2_grpc")

    return Stubs


def stop_pid(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> int:
    """SIGTERM exactly this process, SIGKILL if it lingers; its exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    return proc.returncode


class Daemon:
    """One `imagecheck serve`, started on its own socket."""

    def __init__(self, binary: Path, directory: Path, policy: Path, state: dict[str, Any],
                 extra: list[str] | None = None, env: dict[str, str] | None = None) -> None:
        self.socket = directory / "imagecheck.sock"
        self.log = directory / "serve.log"
        self.policy = policy
        self.argv = [str(binary), "serve", "--socket", str(self.socket), "--policy", str(policy),
                     *(extra or [])]
        self.env = {**os.environ, "IMAGECHECK_INSECURE_REGISTRIES": insecure(state),
                    "IMAGECHECK_LOG": "imagecheck=info", **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, wait: bool = True) -> Daemon:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(self.argv, env=self.env, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log, start_new_session=True)
        if wait:
            deadline = time.monotonic() + 20
            while not self.answers():
                if self.proc.poll() is not None:
                    raise AssertionError(f"serve exited {self.proc.returncode}:\n{self.log_text()}")
                if time.monotonic() > deadline:
                    raise AssertionError(f"serve did not answer on {self.socket}:\n{self.log_text()}")
                time.sleep(0.02)
        return self

    def answers(self) -> bool:
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(0.5)
                s.connect(str(self.socket))
            return True
        except OSError:
            return False

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self) -> int:
        assert self.proc is not None
        return stop_pid(self.proc)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def channel(self) -> Any:
        import grpc  # type: ignore[import-untyped]

        # gRPC C-core (Python, C++) sends the socket path, percent-encoded, as :authority, which
        # the Rust h2 stack refuses (PROTOCOL_ERROR; hyperium/h2 PR 487 is open). grpc-go (Talos's
        # containerd, grpcurl -authority) sends "localhost". README, "On the node's pull path".
        return grpc.insecure_channel(f"unix://{self.socket}", options=[("grpc.default_authority", "localhost")])


@pytest.fixture
def daemons(binary: Path, state: dict[str, Any], tmp_path: Path) -> Iterator[Any]:
    """A factory of daemons; every one started is stopped at the end of the test."""
    started: list[Daemon] = []

    def make(policy: Path, extra: list[str] | None = None, env: dict[str, str] | None = None,
             name: str = "d", wait: bool = True) -> Daemon:
        directory = tmp_path / name
        directory.mkdir(exist_ok=True)
        d = Daemon(binary, directory, policy, state, extra, env)
        started.append(d)
        return d.start(wait)

    yield make
    for d in started:
        if d.proc is not None:
            stop_pid(d.proc)


class SlowProxy:
    """An HTTP proxy in front of a harness registry that holds manifest requests for `delay`
    seconds: a slow registry for the deadline and drain tests. Loopback only."""

    def __init__(self, upstream: str, delay: float) -> None:
        self.upstream = upstream
        self.delay = delay
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                if "/manifests/" in self.path:
                    time.sleep(proxy.delay)
                conn = http.client.HTTPConnection(proxy.upstream, timeout=10)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                conn.request(self.command, self.path, headers=headers)
                resp = conn.getresponse()
                body = resp.read()
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection"):
                        self.send_header(k, v)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = _forward
            do_HEAD = _forward

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def slow_proxy(state: dict[str, Any]) -> Iterator[Any]:
    proxies: list[SlowProxy] = []

    def make(delay: float) -> SlowProxy:
        p = SlowProxy(state["registries"]["plain"]["host"], delay)
        proxies.append(p)
        return p

    yield make
    for p in proxies:
        p.close()
