"""`imagecheck serve` with a TUF-refreshed default trust root (`--tuf-url`, a local repository
made by python-tuf, tests/harness/tuf_repo.py, on 127.0.0.1) and with named trust roots
(`--named-trusted-root NAME=FILE`, reloaded like the policy)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc  # type: ignore[import-untyped]
import pytest

from conftest import ROOT

TUF_REPO = ROOT / "tests" / "harness" / "tuf_repo.py"


def tuf_repo(*args: str) -> None:
    subprocess.run([sys.executable, str(TUF_REPO), *args], check=True, stdout=subprocess.DEVNULL)


@pytest.fixture
def repository(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A fresh TUF repository, served; its directory and URL."""
    base = tmp_path / "tuf"
    tuf_repo("init", str(base))
    port_file = tmp_path / "tuf.port"
    server = subprocess.Popen([sys.executable, str(TUF_REPO), "serve", str(base), "--port-file", str(port_file)])
    try:
        deadline = time.monotonic() + 20
        while not port_file.exists():
            assert time.monotonic() < deadline and server.poll() is None, "tuf_repo.py serve did not start"
            time.sleep(0.02)
        yield base, f"http://127.0.0.1:{port_file.read_text().strip()}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def verify_until(verifier: Any, request: Any, verified: bool, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if verifier.Verify(request, timeout=20).verified == verified:
                return
        except grpc.RpcError as e:
            if not verified and e.code() == grpc.StatusCode.PERMISSION_DENIED:
                return
        assert time.monotonic() < deadline, f"no verified={verified} within {seconds} s"
        time.sleep(0.1)


def test_a_new_ca_in_the_tuf_target_is_trusted_without_a_reload(
    daemons: Any, signed: dict[str, Any], stubs: Any, repository: tuple[Path, str], tmp_path: Path
) -> None:
    base, url = repository
    d = daemons(
        Path(signed["policies"]["keyless-email"]),
        ["--tuf-url", url, "--tuf-root", str(base / "repo" / "1.root.json"),
         "--tuf-cache-dir", str(tmp_path / "cache"), "--tuf-refresh-interval", "0"],
    )
    verifier = stubs.v1_grpc.VerifierStub(d.channel())
    request = stubs.v1_pb2.VerifyRequest(reference=signed["images"]["keyless-email"]["reference"])
    with pytest.raises(grpc.RpcError) as raised:
        verifier.Verify(request, timeout=20)
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED, "the first target does not list the test CA"
    assert "untrusted certificate" in (raised.value.details() or ""), raised.value.details()
    tuf_repo("add-ca", str(base), "--from", signed["trust_roots"]["test-ca"])
    verify_until(verifier, request, verified=True)
    assert "trusted root refreshed from its TUF repository" in d.log_text()


def test_a_named_trust_root_file_is_reloaded_in_place(daemons: Any, signed: dict[str, Any], stubs: Any,
                                                       tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    text = Path(signed["policies"]["keyless-email"]).read_text()
    policy.write_text(text.replace("keyless:\n", "keyless:\n      trustedRoot: private\n", 1))
    root = tmp_path / "private.json"
    shutil.copy(ROOT / "core" / "trust" / "public-good-trusted_root.json", root)
    d = daemons(policy, ["--named-trusted-root", f"private={root}", "--reload-interval", "0.2"])
    verifier = stubs.v1_grpc.VerifierStub(d.channel())
    request = stubs.v1_pb2.VerifyRequest(reference=signed["images"]["keyless-email"]["reference"])
    verify_until(verifier, request, verified=False, seconds=1)
    tmp = tmp_path / "private.new"
    shutil.copy(signed["trust_roots"]["test-ca"], tmp)
    os.replace(tmp, root)
    verify_until(verifier, request, verified=True)
