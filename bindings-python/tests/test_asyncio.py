"""resolve_async / verify_async: results, errors, single-flight, cancellation."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import harness
import pytest
from conftest import StalledServer, make_resolver

import imagecheck


def test_resolve_async_result(hosts: dict[str, str], images: dict[str, Any]) -> None:
    resolver = make_resolver(hosts)

    async def main() -> tuple[str, str]:
        cold = await resolver.resolve_async(f"{hosts['plain']}/test/index:v1")
        warm = await resolver.resolve_async(f"{hosts['plain']}/test/index:v1")
        return cold, warm

    cold, warm = asyncio.run(main())
    assert cold == warm == images["index-oci"]["digest"]


def test_resolve_async_errors(hosts: dict[str, str]) -> None:
    resolver = make_resolver(hosts)

    async def main() -> None:
        with pytest.raises(imagecheck.DigestUnavailable) as raised:
            await resolver.resolve_async(f"{hosts['plain']}/test/hello:nope", ttl=0)
        assert raised.value.cause == "not found"
        with pytest.raises(imagecheck.InvalidReference):
            await resolver.resolve_async("Not A Reference")
        with pytest.raises(imagecheck.InvalidArgument):
            await resolver.resolve_async(f"{hosts['plain']}/test/hello:v1", engine="no-such-engine")

    asyncio.run(main())


def test_resolve_async_needs_a_running_loop(hosts: dict[str, str]) -> None:
    with pytest.raises(RuntimeError):
        make_resolver(hosts).resolve_async(f"{hosts['plain']}/test/hello:v1", ttl=0)


def test_hundred_concurrent_resolves_make_one_request(
    hosts: dict[str, str], images: dict[str, Any], state: dict[str, Any]
) -> None:
    resolver = make_resolver(hosts)  # fresh: empty cache
    log = state["registries"]["plain"]["log"]
    since = harness.log_offset(log)

    async def main() -> list[str]:
        calls = [resolver.resolve_async(f"{hosts['plain']}/test/hello:v1") for _ in range(100)]
        return list(await asyncio.gather(*calls))

    digests = asyncio.run(main())
    assert set(digests) == {images["hello-oci"]["digest"]}
    requests = [e for e in harness.access_log(log, since) if e["uri"].startswith("/v2/test/hello/")]
    assert [(e["method"], e["uri"]) for e in requests] == [("HEAD", "/v2/test/hello/manifests/v1")]


def test_cancel_returns_promptly_and_drops_the_request(stalled: StalledServer) -> None:
    resolver = imagecheck.Resolver(insecure_registries=[stalled.host], from_env=False, timeout=60)

    async def call() -> str:
        return await resolver.resolve_async(f"{stalled.host}/stall/me:v1", ttl=0)

    async def main() -> float:
        task = asyncio.create_task(call())
        for _ in range(500):
            if stalled.connected.is_set():
                break
            await asyncio.sleep(0.01)
        assert stalled.connected.is_set(), "the resolver never connected to the stalled server"
        started = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic() - started

    elapsed = asyncio.run(main())
    assert elapsed < 1.0
    # The Rust task was dropped: its connection is closed, not left waiting for 60 s.
    assert stalled.closed.wait(5), "the request was not cancelled: connection still open"


def test_cancel_one_waiter_keeps_the_others(hosts: dict[str, str], images: dict[str, Any]) -> None:
    resolver = make_resolver(hosts)

    async def main() -> str:
        first = asyncio.ensure_future(resolver.resolve_async(f"{hosts['plain']}/test/docker:v1"))
        second = resolver.resolve_async(f"{hosts['plain']}/test/docker:v1")
        first.cancel()
        return await second

    assert asyncio.run(main()) == images["docker-v2s2"]["digest"]


def test_verify_async(hosts: dict[str, str], images: dict[str, Any]) -> None:
    policy = f"rules:\n  - image: '{hosts['plain']}/test/*'\n    skip: true\n  - image: '*'\n    deny: true\n"
    verifier = imagecheck.Verifier(policy, resolver=make_resolver(hosts))

    async def main() -> imagecheck.Verification:
        with pytest.raises(imagecheck.Denied):
            await verifier.verify_async("ghcr.io/org/app:1")
        return await verifier.verify_async(f"{hosts['plain']}/test/hello:v1")

    got = asyncio.run(main())
    assert got.verified is False
    assert "skip" in got.message
