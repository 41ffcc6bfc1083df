"""A stranger's script: the installed imagecheck wheel against the harness registries.

    python check.py            # with IC_* from tests/dist/run in the environment

Checks that imagecheck comes from the venv's site-packages (not the repository), then resolve,
asyncio resolve, an exception kind, and verify with a key policy. Prints one JSON line with the
import time and the peak RSS after the import, for BENCHMARKS.md.
"""

from __future__ import annotations

import resource
import sys
import time

started = time.perf_counter()
import imagecheck  # noqa: E402  (timed)

import_seconds = time.perf_counter() - started
rss_after_import_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

import asyncio  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402


def env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise SystemExit(f"check.py: {name} is not set (tests/dist/run sets the IC_* variables)")
    return value


def main() -> None:
    location = imagecheck._imagecheck.__file__
    assert location is not None and location.startswith(sys.prefix + "/"), (location, sys.prefix)
    insecure = env("IC_INSECURE").split(",")
    resolver = imagecheck.Resolver(insecure_registries=insecure, from_env=False)

    digest = resolver.resolve(env("IC_HELLO_REF"), ttl=0)
    assert digest == env("IC_HELLO_DIGEST"), digest
    async def resolve_async() -> str:  # the future belongs to the running loop
        return await resolver.resolve_async(env("IC_HELLO_REF"), ttl=0)

    digest = asyncio.run(resolve_async())
    assert digest == env("IC_HELLO_DIGEST"), digest

    try:
        resolver.resolve(env("IC_MISSING_REF"), ttl=0)
    except imagecheck.DigestUnavailable as missing:
        assert missing.cause == "not found", missing.cause
    else:
        raise AssertionError("a missing tag resolved")
    try:
        resolver.resolve("Bad/Reference", ttl=0)
    except ValueError as invalid:  # InvalidReference is a ValueError
        assert isinstance(invalid, imagecheck.InvalidReference), type(invalid)

    verifier = imagecheck.Verifier.from_file(env("IC_POLICY"), resolver=resolver)
    verification = verifier.verify(env("IC_SIGNED_REF"))
    assert verification.verified, verification.message
    assert verification.digested_ref is not None
    assert verification.digested_ref.endswith("@" + env("IC_SIGNED_DIGEST")), verification.digested_ref
    try:
        verifier.verify(env("IC_WRONGKEY_REF"))
    except imagecheck.VerificationFailed:
        pass
    else:
        raise AssertionError("an image signed with another key verified")

    print(json.dumps({
        "python": "%d.%d.%d" % sys.version_info[:3],
        "import_ms": round(import_seconds * 1000, 1),
        "rss_after_import_mib": round(rss_after_import_kib / 1024, 1),
    }))


if __name__ == "__main__":
    main()
