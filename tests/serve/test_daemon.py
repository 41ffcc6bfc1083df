"""`imagecheck serve` as a process: the socket as a trust boundary, reloads, SIGTERM draining,
bounds (message size, connections, deadlines), metrics, and the CLI through the daemon."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import stat
import subprocess
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import grpc  # type: ignore[import-untyped]
import pytest

import harness
from conftest import insecure


def run_cli(binary: Path, args: list[str], state: dict[str, Any], socket_path: Path | None = None,
            stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("IMAGECHECK_SOCKET", "IMAGECHECK_POLICY")}
    env["IMAGECHECK_INSECURE_REGISTRIES"] = insecure(state)
    if socket_path is not None:
        env["IMAGECHECK_SOCKET"] = str(socket_path)
    return subprocess.run([str(binary), *args], env=env, capture_output=True, timeout=60, input=stdin)


def policy_of(signed: dict[str, Any], name: str = "key-a") -> Path:
    return Path(signed["policies"][name])


# -- the socket ---------------------------------------------------------------------------------

def test_socket_is_0660_and_removed_on_sigterm(daemons: Any, signed: dict[str, Any]) -> None:
    d = daemons(policy_of(signed))
    mode = os.stat(d.socket).st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o660, oct(mode)
    assert d.stop() == 0, d.log_text()
    assert not d.socket.exists()


def test_socket_group_and_mode_options(daemons: Any, signed: dict[str, Any]) -> None:
    d = daemons(policy_of(signed), ["--socket-group", "daemon", "--socket-mode", "0600"])
    st = os.stat(d.socket)
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert st.st_gid == 1, "group daemon is gid 1 on Debian"


def test_a_live_socket_is_never_taken_over(daemons: Any, signed: dict[str, Any]) -> None:
    first = daemons(policy_of(signed), name="same")
    second = daemons(policy_of(signed), name="same", wait=False)
    assert second.proc.wait(10) != 0
    assert "another process is serving on" in second.log_text(), second.log_text()
    assert first.answers() and first.proc.poll() is None


def test_a_stale_socket_is_replaced(daemons: Any, signed: dict[str, Any], tmp_path: Path) -> None:
    (tmp_path / "stale").mkdir()
    stale = tmp_path / "stale" / "imagecheck.sock"
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(stale))
    s.close()  # the file stays; nobody listens
    d = daemons(policy_of(signed), name="stale")
    assert d.answers()
    assert "replacing a stale socket" in d.log_text()


def test_a_path_that_is_not_a_socket_is_refused(daemons: Any, signed: dict[str, Any], tmp_path: Path) -> None:
    (tmp_path / "file").mkdir()
    (tmp_path / "file" / "imagecheck.sock").write_text("precious")
    d = daemons(policy_of(signed), name="file", wait=False)
    assert d.proc.wait(10) != 0
    assert (tmp_path / "file" / "imagecheck.sock").read_text() == "precious"


# -- reload -------------------------------------------------------------------------------------

def test_a_changed_policy_changes_the_next_verdict_and_a_broken_one_keeps_the_rules(
        daemons: Any, signed: dict[str, Any], stubs: Any, tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    shutil.copy(policy_of(signed, "key-a"), policy)
    d = daemons(policy, ["--reload-interval", "0.2"])
    verifier = stubs.v1_grpc.VerifierStub(d.channel())
    legacy = signed["images"]["legacy"]["reference"]

    def verified() -> bool:
        try:
            return bool(verifier.Verify(stubs.v1_pb2.VerifyRequest(reference=legacy), timeout=20).verified)
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.PERMISSION_DENIED, e.details()
            return False

    def eventually(want: bool) -> None:
        deadline = time.monotonic() + 10
        while verified() != want:
            assert time.monotonic() < deadline, d.log_text()
            time.sleep(0.1)

    assert verified()
    # key-b's policy: the legacy image (signed with key a) now fails.
    tmp = tmp_path / "policy.new"
    shutil.copy(policy_of(signed, "key-b"), tmp)
    os.replace(tmp, policy)  # how editors and config managers replace a file
    eventually(False)
    policy.write_text("rules: [this is not a policy\n")
    time.sleep(1.0)
    assert not verified(), "a broken file must keep the rules in force (key-b)"
    assert "reload failed; keeping the rules in force" in d.log_text()
    # SIGHUP reloads at once, whatever the file's timestamps say.
    shutil.copy(policy_of(signed, "key-a"), policy)
    os.kill(d.pid, signal.SIGHUP)
    eventually(True)
    assert "SIGHUP" in d.log_text()


# -- stopping -----------------------------------------------------------------------------------

def test_sigterm_during_a_slow_call_finishes_it(daemons: Any, signed: dict[str, Any], stubs: Any,
                                                  slow_proxy: Any, state: dict[str, Any]) -> None:
    proxy = slow_proxy(2.0)
    d = daemons(policy_of(signed), env={"IMAGECHECK_INSECURE_REGISTRIES": proxy.host})
    resolver = stubs.v1_grpc.ResolverStub(d.channel())
    want = next(i["digest"] for i in state["images"] if i["name"] == "hello-oci")
    call = resolver.Resolve.future(stubs.v1_pb2.ResolveRequest(reference=f"{proxy.host}/test/hello:v1"), timeout=30)
    time.sleep(0.5)
    d.proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    assert not d.socket.exists(), "the socket goes at once: new clients fail fast"
    assert call.result().digest == want
    assert d.proc.wait(10) == 0, d.log_text()


def test_drain_is_bounded(daemons: Any, signed: dict[str, Any], stubs: Any, slow_proxy: Any) -> None:
    proxy = slow_proxy(20.0)
    d = daemons(policy_of(signed), ["--drain-timeout", "1"], env={"IMAGECHECK_INSECURE_REGISTRIES": proxy.host})
    resolver = stubs.v1_grpc.ResolverStub(d.channel())
    # Keep the future: grpcio cancels a call whose future is garbage-collected.
    pending = resolver.Resolve.future(stubs.v1_pb2.ResolveRequest(reference=f"{proxy.host}/test/hello:v1"), timeout=30)
    time.sleep(0.5)
    started = time.monotonic()
    d.proc.send_signal(signal.SIGTERM)
    assert d.proc.wait(10) == 0
    assert time.monotonic() - started < 5
    assert "after --drain-timeout" in d.log_text()
    assert not pending.done() or pending.code() != grpc.StatusCode.OK


# -- bounds -------------------------------------------------------------------------------------

def test_the_client_deadline_and_the_default_call_timeout_bound_a_call(
        daemons: Any, signed: dict[str, Any], stubs: Any, slow_proxy: Any) -> None:
    proxy = slow_proxy(5.0)
    d = daemons(policy_of(signed), ["--call-timeout", "1"], env={"IMAGECHECK_INSECURE_REGISTRIES": proxy.host})
    resolver = stubs.v1_grpc.ResolverStub(d.channel())
    request = stubs.v1_pb2.ResolveRequest(reference=f"{proxy.host}/test/hello:v1")
    for timeout in (0.3, None):
        started = time.monotonic()
        with pytest.raises(grpc.RpcError) as raised:
            resolver.Resolve(request, timeout=timeout)
        took = time.monotonic() - started
        assert took < 3, f"timeout={timeout}: {took:.1f} s ({raised.value.code()})"
        assert raised.value.code() != grpc.StatusCode.OK


def test_an_oversized_request_is_refused(daemons: Any, signed: dict[str, Any], stubs: Any) -> None:
    d = daemons(policy_of(signed), ["--max-message-bytes", "4096"])
    stub = stubs.image_grpc.ImageServiceStub(d.channel())
    with pytest.raises(grpc.RpcError) as raised:
        stub.Verify(stubs.image_pb2.ImageServiceVerifyRequest(image_ref="a/" * 4000), timeout=10)
    # tonic's code for a message over the limit (grpc-go says RESOURCE_EXHAUSTED).
    assert raised.value.code() == grpc.StatusCode.OUT_OF_RANGE, raised.value.details()
    assert "decoded message length too large" in raised.value.details()
    ok = stub.Verify(stubs.image_pb2.ImageServiceVerifyRequest(image_ref=signed["images"]["skipped"]["reference"]),
                     timeout=10)
    assert ok.verified is False


def fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def test_1000_connections_hit_a_cap_not_the_fd_limit(daemons: Any, signed: dict[str, Any], stubs: Any) -> None:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1200:  # this client needs 1,000 descriptors of its own
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard), hard))
    d = daemons(policy_of(signed), ["--max-connections", "64"])
    before_fds, before_rss = fds(d.pid), rss_kib(d.pid)
    held: list[socket.socket] = []
    try:
        for _ in range(1000):
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(5)
            s.connect(str(d.socket))
            held.append(s)
        time.sleep(1.0)
        during = fds(d.pid)
        assert during <= before_fds + 64 + 8, f"{during} fds open (cap 64, {before_fds} before)"
        closed = 0
        for s in held[100:]:  # past the cap: closed by the daemon at once
            s.settimeout(2)
            try:
                closed += s.recv(1) == b""
            except (ConnectionResetError, TimeoutError):
                closed += 1
        assert closed >= 900 - 8, f"only {closed} of the connections past the cap were closed"
        assert rss_kib(d.pid) - before_rss < 64 * 1024, "memory grew by over 64 MiB"
        assert "connection cap reached" in d.log_text()
        assert d.log_text().count("connection cap reached") <= 2, "the refusal is logged once per interval"
    finally:
        for s in held:
            s.close()
    # Slots come back when clients go.
    time.sleep(0.5)
    stub = stubs.image_grpc.ImageServiceStub(d.channel())
    ok = stub.Verify(stubs.image_pb2.ImageServiceVerifyRequest(image_ref=signed["images"]["skipped"]["reference"]),
                     timeout=10)
    assert ok.verified is False


# -- metrics ------------------------------------------------------------------------------------

def test_metrics_count_calls_cache_and_registry_requests(daemons: Any, signed: dict[str, Any], stubs: Any) -> None:
    port = harness.free_ports(1)[0]
    d = daemons(policy_of(signed), ["--metrics", f"127.0.0.1:{port}", "--resolve-ttl", "60"])
    stub = stubs.image_grpc.ImageServiceStub(d.channel())
    for _ in range(3):
        assert stub.Verify(stubs.image_pb2.ImageServiceVerifyRequest(image_ref=signed["images"]["legacy"]["reference"]),
                           timeout=20).verified
    with pytest.raises(grpc.RpcError):
        stub.Verify(stubs.image_pb2.ImageServiceVerifyRequest(image_ref=signed["images"]["denied"]["reference"]), timeout=20)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    text = opener.open(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    values = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
              for line in text.splitlines() if line and not line.startswith("#")}
    assert values['imagecheck_calls_total{method="machine.ImageService/Verify",outcome="verified"}'] == 3
    assert values['imagecheck_calls_total{method="machine.ImageService/Verify",outcome="denied"}'] == 1
    assert values['imagecheck_call_duration_seconds_count{method="machine.ImageService/Verify"}'] == 4
    assert values["imagecheck_digest_cache_hits_total"] == 2
    assert values["imagecheck_digest_cache_misses_total"] == 1
    assert values["imagecheck_registry_requests_total"] >= 2
    assert values["imagecheck_digest_cache_entries"] == 1


# -- the CLI through the daemon -----------------------------------------------------------------

def test_the_cli_through_the_daemon_prints_the_same_and_exits_the_same(
        binary: Path, daemons: Any, signed: dict[str, Any], state: dict[str, Any]) -> None:
    d = daemons(policy_of(signed))
    plain = state["registries"]["plain"]["host"]
    refs = [signed["images"][n]["reference"] for n in ("legacy", "bundle", "skipped", "unsigned", "denied")]
    refs += [f"{plain}/test/hello:v1", "NOT A REF"]
    for args in (["verify", "--policy", str(d.policy), *refs], ["verify", "--json", "--policy", str(d.policy), *refs],
                 ["resolve", f"{plain}/test/hello:v1", f"{plain}/test/hello:nope", "UPPER/case"],
                 ["resolve", "--json", "--engine", "kubernetes", "nginx:1.27"]):
        local = run_cli(binary, args, state)
        through = [a for a in args if a not in ("--policy", str(d.policy))]
        remote = run_cli(binary, through, state, d.socket)
        assert (remote.returncode, remote.stdout) == (local.returncode, local.stdout), \
            f"{args}\nlocal:\n{local.stdout.decode()}\nremote:\n{remote.stdout.decode()}{remote.stderr.decode()}"
    calls = d.log_text().count('method="imagecheck.v1.')
    assert calls >= 2 * len(refs) + 4, "the remote runs went through the daemon"


def test_credentials_from_the_cli_go_through_the_daemon(binary: Path, daemons: Any, signed: dict[str, Any],
                                                        state: dict[str, Any]) -> None:
    d = daemons(policy_of(signed))
    token = state["registries"]["token"]
    ref = signed["images"]["private"]["reference"]
    out = run_cli(binary, ["verify", "--username", token["username"], "--password-stdin", ref], state, d.socket,
                  stdin=token["password"].encode())
    assert out.returncode == 0, out.stdout.decode() + out.stderr.decode()
    assert token["password"] not in d.log_text()


def test_an_unreachable_daemon_is_exit_4_and_said(binary: Path, state: dict[str, Any], tmp_path: Path) -> None:
    for args in (["resolve", "nginx"], ["verify", "nginx"]):
        out = run_cli(binary, args, state, tmp_path / "nobody.sock")
        assert out.returncode == 4, out
        assert out.stdout == b""
        assert b"cannot reach the imagecheck daemon" in out.stderr, out.stderr


def test_verdict_changing_options_are_refused_with_a_daemon(binary: Path, daemons: Any, signed: dict[str, Any],
                                                            state: dict[str, Any]) -> None:
    d = daemons(policy_of(signed))
    out = run_cli(binary, ["verify", "--policy", str(policy_of(signed, "key-b")), "nginx"], state, d.socket)
    assert out.returncode == 3 and b"verifies with its own rules" in out.stderr, out


def test_a_changed_trust_root_swaps_the_verifier(daemons: Any, signed: dict[str, Any], stubs: Any,
                                                  tmp_path: Path) -> None:
    """A new root file is swapped into the daemon's verifier in place (caches and all)."""
    root = tmp_path / "trusted_root.json"
    public_good = Path(__file__).resolve().parents[2] / "core" / "trust" / "public-good-trusted_root.json"
    shutil.copy(public_good, root)
    d = daemons(Path(signed["policies"]["keyless-email"]), ["--trusted-root", str(root), "--reload-interval", "0.2"])
    verifier = stubs.v1_grpc.VerifierStub(d.channel())
    request = stubs.v1_pb2.VerifyRequest(reference=signed["images"]["keyless-email"]["reference"])
    with pytest.raises(grpc.RpcError) as raised:
        verifier.Verify(request, timeout=20)
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED, "the public-good root does not trust the test CA"
    tmp = tmp_path / "root.new"
    shutil.copy(signed["trust_roots"]["test-ca"], tmp)
    os.replace(tmp, root)
    deadline = time.monotonic() + 10
    while True:
        try:
            assert verifier.Verify(request, timeout=20).verified
            break
        except grpc.RpcError:
            assert time.monotonic() < deadline, d.log_text()
            time.sleep(0.1)
    root.write_text("{not json")
    time.sleep(1.0)
    assert verifier.Verify(request, timeout=20).verified, "a broken root keeps the rules in force"
