"""containerd 2.4.x's `io.containerd.image-verifier.v1.bindir` plugin running our verifier (a
symlink named imagecheck-containerd-verifier in bin_dir) on real `ctr image pull`s through the
transfer service, with the daemon up and with it stopped (the in-process path)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import insecure, stop_pid

PLATFORM = "linux/amd64"


class Containerd:
    """containerd as root with root/state under the test's directory, its own socket, config
    version 3, the native snapshotter, the bindir verifier plugin pointing at `bin_dir`."""

    def __init__(self, directory: Path, bin_dir: Path, env: dict[str, str]) -> None:
        self.dir = directory
        self.socket = directory / "containerd.sock"
        self.log = directory / "containerd.log"
        self.bin = Path(os.environ["IMAGECHECK_CONTAINERD_DIR"])
        config = directory / "config.toml"
        config.write_text(f"""version = 3
root = "{directory}/root"
state = "{directory}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "{self.socket}"
[ttrpc]
  address = "{self.socket}.ttrpc"
[plugins."io.containerd.image-verifier.v1.bindir"]
  bin_dir = "{bin_dir}"
  max_verifiers = 10
  per_verifier_timeout = "10s"
[plugins."io.containerd.transfer.v1.local"]
  [[plugins."io.containerd.transfer.v1.local".unpack_config]]
    platform = "{PLATFORM}"
    snapshotter = "native"
""")
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([str(self.bin / "containerd"), "--config", str(config)],
                                         env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         start_new_session=True)
        deadline = time.monotonic() + 20
        while not self.socket.exists():
            assert self.proc.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.02)

    def pull(self, reference: str) -> tuple[int, str, float]:
        started = time.monotonic()
        out = subprocess.run([str(self.bin / "ctr"), "-a", str(self.socket), "image", "pull", "--plain-http",
                              "--snapshotter", "native", "--platform", PLATFORM, reference],
                             capture_output=True, timeout=60)
        took = time.monotonic() - started
        text = out.stdout.decode(errors="replace") + out.stderr.decode(errors="replace")
        if out.returncode == 0:  # next pull of it starts from nothing again
            subprocess.run([str(self.bin / "ctr"), "-a", str(self.socket), "image", "rm", reference],
                           capture_output=True, timeout=30)
        return out.returncode, text, took


@pytest.fixture
def containerd(tmp_path: Path, binary: Path, state: dict[str, Any]) -> Any:
    started: list[Containerd] = []

    def make(name: str, policy: Path, socket: Path | None, require_match: bool = False,
             verifier_installed: bool = True) -> Containerd:
        directory = tmp_path / f"containerd-{name}"
        bin_dir = directory / "bin"
        bin_dir.mkdir(parents=True)
        verifier = bin_dir / "imagecheck-containerd-verifier"
        if not verifier_installed:
            pass
        elif require_match:
            verifier.write_text(f'#!/bin/sh\nexec "{binary}" containerd-verifier --require-match "$@"\n')
            verifier.chmod(0o755)
        else:
            verifier.symlink_to(binary)
        env = {**os.environ, "IMAGECHECK_POLICY": str(policy), "IMAGECHECK_INSECURE_REGISTRIES": insecure(state),
               # Nobody listens there when the daemon is "stopped": the in-process path decides.
               "IMAGECHECK_SOCKET": str(socket or directory / "no-daemon.sock")}
        env.pop("IMAGECHECK_LOG", None)
        c = Containerd(directory, bin_dir, env)
        started.append(c)
        return c

    yield make
    for c in started:
        stop_pid(c.proc)


BLOCKED = "image verifier bindir blocked pull"


@pytest.mark.parametrize("path", ["daemon", "in-process"])
def test_pulls_are_gated_by_imagecheck(containerd: Any, daemons: Any, signed: dict[str, Any],
                                       state: dict[str, Any], path: str) -> None:
    policy = Path(signed["policies"]["key-a"])
    socket = daemons(policy).socket if path == "daemon" else None
    decided = "decided by the imagecheck daemon" if path == "daemon" else "(in-process)"
    default = containerd("default", policy, socket)
    strict = containerd("strict", policy, socket, require_match=True)

    def image(name: str) -> str:
        return str(signed["images"][name]["reference"])

    no_match = f"{state['registries']['plain']['host']}/test/hello:v1"

    rc, out, _ = default.pull(image("legacy"))
    assert rc == 0, out
    # What the verifier adds to a pull (recorded, not asserted: timing belongs to the bench).
    bare = containerd("bare", policy, socket, verifier_installed=False)
    times = {name: sorted(c.pull(image("legacy"))[2] for _ in range(5)) for name, c in (("with", default), ("without", bare))}
    print(f"tests/serve: {path}: ctr image pull median {times['with'][2] * 1000:.0f} ms with the verifier, "
          f"{times['without'][2] * 1000:.0f} ms without", file=sys.__stderr__)

    for name, why in (("unsigned", "VerificationFailed"), ("wrongkey", "VerificationFailed"),
                      ("wrongkey-bundle", "VerificationFailed"), ("denied", "Denied")):
        rc, out, _ = default.pull(image(name))
        assert rc != 0, f"{name} was pulled:\n{out}"
        assert BLOCKED in out and f"imagecheck: blocked: {why}" in out and decided in out, out

    for ref, what in ((no_match, "no rule matched"), (image("skipped"), "skips verification")):
        rc, out, _ = default.pull(ref)
        assert rc == 0, f"{ref}: the default allows {what}:\n{out}"
        rc, out, _ = strict.pull(ref)
        assert rc != 0 and BLOCKED in out and "--require-match" in out and what in out, out

    rc, out, _ = strict.pull(image("bundle"))
    assert rc == 0, out


def test_a_missing_policy_blocks_every_pull(containerd: Any, signed: dict[str, Any], tmp_path: Path) -> None:
    c = containerd("nopolicy", tmp_path / "absent.yaml", None)
    rc, out, _ = c.pull(signed["images"]["legacy"]["reference"])
    assert rc != 0 and BLOCKED in out, out
    assert "InvalidPolicy" in out and "fail closed" in out and "absent.yaml" in out, out


def test_the_verifier_checks_the_digest_pulled_not_the_tag_s_current_one(
        binary: Path, signed: dict[str, Any], state: dict[str, Any]) -> None:
    """containerd names the digest it is about to pull; a tag moved since must not matter."""
    moved, before = signed["images"]["moved"], signed["images"]["moved-before"]
    assert moved["reference"] == before["reference"] and moved["digest"] != before["digest"]
    env = {**os.environ, "IMAGECHECK_POLICY": signed["policies"]["key-a"],
           "IMAGECHECK_INSECURE_REGISTRIES": insecure(state), "IMAGECHECK_SOCKET": "/nonexistent/imagecheck.sock"}
    results = {}
    for image in (moved, before):
        out = subprocess.run([str(binary), "containerd-verifier", "-name", image["reference"], "-digest",
                              image["digest"], "-stdin-media-type", "application/vnd.oci.descriptor.v1+json"],
                             env=env, capture_output=True, timeout=30,
                             input=('{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":1}'
                                    % image["digest"]).encode())
        assert len(out.stdout.decode().splitlines()) == 1, out.stdout
        results[image["digest"]] = out.returncode
    # The tag now points at the unsigned `moved`; the signed digest it had is still allowed.
    assert results == {before["digest"]: 0, moved["digest"]: 1}, results
