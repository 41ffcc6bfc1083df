"""A child forked after the library ran (multiprocessing, fork start method) works and does not
hang: core rebuilds its runtime and HTTP client when the process id changes."""

from __future__ import annotations

import asyncio
import multiprocessing
from typing import Any, Optional

import pytest
from conftest import make_resolver

import imagecheck

RESOLVER: Optional[imagecheck.Resolver] = None


def child_work(ref: str) -> tuple[str, str, str]:
    assert RESOLVER is not None
    warm = RESOLVER.resolve(ref)  # inherited cache: no I/O
    cold = RESOLVER.resolve(ref, ttl=0)  # network, on the child's own runtime
    async_cold = asyncio.run(_async_resolve(ref))
    return warm, cold, async_cold


async def _async_resolve(ref: str) -> str:
    assert RESOLVER is not None
    return await RESOLVER.resolve_async(ref, ttl=0)


def child_main(ref: str, queue: Any) -> None:
    try:
        queue.put(("ok", child_work(ref)))
    except BaseException as e:  # report, then exit non-zero
        queue.put(("error", repr(e)))
        raise


# Python 3.12+ warns when forking a process that has threads (the runtime's workers are).
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_resolve_in_parent_then_in_forked_children(hosts: dict[str, str], images: dict[str, Any]) -> None:
    global RESOLVER
    RESOLVER = make_resolver(hosts)
    ref = f"{hosts['plain']}/test/hello:v1"
    want = images["hello-oci"]["digest"]
    # The parent starts the runtime, opens pooled connections, resolves sync and async.
    assert RESOLVER.resolve(ref, ttl=0) == want
    assert asyncio.run(_async_resolve(ref)) == want

    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=child_main, args=(ref, queue))
    child.start()
    child.join(60)
    if child.is_alive():
        child.kill()
        pytest.fail("the forked child hung")
    assert child.exitcode == 0
    status, answer = queue.get(timeout=5)
    assert status == "ok", answer
    assert answer == (want, want, want)

    # A pool of forked workers, several calls each.
    refs = [f"{hosts['plain']}/test/{name}:v1" for name in ("hello", "index", "docker", "dockerlist")]
    with ctx.Pool(2) as pool:
        results = pool.map_async(child_work, refs * 2).get(timeout=60)
    expected = [images[n]["digest"] for n in ("hello-oci", "index-oci", "docker-v2s2", "dockerlist-v2s2")] * 2
    assert [r[1] for r in results] == expected

    # And the parent still works after its children.
    assert RESOLVER.resolve(ref, ttl=0) == want
