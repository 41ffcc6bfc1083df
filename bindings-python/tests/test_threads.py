"""Many threads at once; the GIL is released while a resolve waits on the network."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from conftest import StalledServer, make_resolver

import imagecheck

IMAGES = {"hello-oci": "test/hello:v1", "index-oci": "test/index:v1",
          "docker-v2s2": "test/docker:v1", "dockerlist-v2s2": "test/dockerlist:v1"}


def test_32_threads(hosts: dict[str, str], images: dict[str, Any]) -> None:
    resolver = make_resolver(hosts)
    refs = [(f"{hosts['plain']}/{path}", images[name]["digest"]) for name, path in IMAGES.items()]
    barrier = threading.Barrier(32)

    def work(i: int) -> int:
        barrier.wait()
        ok = 0
        for k in range(50):
            ref, want = refs[(i + k) % len(refs)]
            # every fifth call skips the cache: a mix of cold, coalesced and warm resolves
            got = resolver.resolve(ref, ttl=0 if k % 5 == 0 else 30)
            assert got == want
            ok += 1
        return ok

    with ThreadPoolExecutor(32) as pool:
        assert sum(pool.map(work, range(32))) == 32 * 50


def test_gil_is_released_during_io(stalled: StalledServer) -> None:
    resolver = imagecheck.Resolver(insecure_registries=[stalled.host], from_env=False, timeout=2.0)
    outcome: list[BaseException] = []

    def blocked() -> None:
        try:
            resolver.resolve(f"{stalled.host}/stall/me:v1", ttl=0)
        except BaseException as e:
            outcome.append(e)

    thread = threading.Thread(target=blocked)
    thread.start()
    assert stalled.connected.wait(5)
    # This thread runs Python while the other waits inside resolve.
    deadline = time.monotonic() + 0.3
    spins = 0
    while time.monotonic() < deadline:
        spins += 1
    assert thread.is_alive(), "resolve returned before its timeout"
    assert spins > 1000
    thread.join(10)
    assert not thread.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], imagecheck.DigestUnavailable)
    assert outcome[0].cause == "timeout", str(outcome[0])


@pytest.mark.parametrize("threads", [32])
def test_threads_share_the_default_resolver_cache(threads: int) -> None:
    # A digest reference needs no I/O, from any thread, on the process-wide resolver.
    ref = "ghcr.io/org/app@sha256:" + "c" * 64
    with ThreadPoolExecutor(threads) as pool:
        answers = set(pool.map(lambda _: imagecheck.default_resolver().resolve(ref), range(1000)))
    assert answers == {"sha256:" + "c" * 64}


def test_ctrl_c_interrupts_a_blocking_resolve(stalled: StalledServer) -> None:
    import os
    import signal

    assert threading.current_thread() is threading.main_thread()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    resolver = imagecheck.Resolver(insecure_registries=[stalled.host], from_env=False, timeout=60)

    def interrupt() -> None:
        if stalled.connected.wait(5):
            os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt, daemon=True).start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        resolver.resolve(f"{stalled.host}/stall/me:v1", ttl=0)
    assert time.monotonic() - started < 5
    # The task was cancelled: its connection is closed instead of waiting 60 s.
    assert stalled.closed.wait(5), "the request was not cancelled"
