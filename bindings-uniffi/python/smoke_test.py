"""Smoke test of the UniFFI-generated Python bindings (ctypes) against the harness.

Usage: python3 smoke_test.py GENERATED_DIR
GENERATED_DIR holds the generated `imagecheck.py` and `libimagecheck_uniffi.so` (test.sh puts
them there). Needs IMAGECHECK_HARNESS (tests/harness/harness.py start); fails without it.
"""

import asyncio
import datetime
import json
import os
import sys


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: smoke_test.py GENERATED_DIR")
    harness = os.environ.get("IMAGECHECK_HARNESS")
    if not harness:
        sys.exit("IMAGECHECK_HARNESS is not set: start tests/harness/harness.py and export it")
    sys.path.insert(0, sys.argv[1])
    import imagecheck  # the generated module

    with open(os.path.join(harness, "state.json")) as f:
        state = json.load(f)
    hosts = {name: r["host"] for name, r in state["registries"].items()}
    digests = {i["name"]: i["digest"] for i in state["images"]}

    resolver = imagecheck.Resolver(
        imagecheck.ResolverOptions(insecure_registries=list(hosts.values()))
    )
    zero = datetime.timedelta(0)
    hello = f"{hosts['plain']}/test/hello:v1"
    assert resolver.resolve_blocking(hello, zero) == digests["hello-oci"]
    got = asyncio.run(resolver.resolve(hello, datetime.timedelta(minutes=1)))
    assert got == digests["hello-oci"], got

    basic = hosts["basic"]
    user, password = state["registries"]["basic"]["username"], state["registries"]["basic"]["password"]
    creds = imagecheck.Credentials(basic, user, password)
    assert password not in repr(creds)
    assert resolver.resolve_blocking(f"{basic}/test/hello:v1", zero, credentials=creds) == digests["basic-hello-oci"]

    try:
        resolver.resolve_blocking(f"{basic}/test/hello:v1", zero)
    except imagecheck.ImageCheckError.DigestUnavailable as e:
        assert e.cause_kind == imagecheck.CauseKind.UNAUTHORIZED, e
        assert isinstance(e, imagecheck.ImageCheckError)
    else:
        raise AssertionError("no credentials: expected DigestUnavailable")

    try:
        resolver.resolve_blocking("https://ghcr.io/x", zero)
    except imagecheck.ImageCheckError.InvalidReference as e:
        assert "URL scheme" in str(e), str(e)
    else:
        raise AssertionError("expected InvalidReference")

    parsed = imagecheck.parse_reference("nginx")
    assert parsed.canonical == "docker.io/library/nginx:latest", parsed

    verifier = imagecheck.Verifier('[{image: "*", deny: true}]', imagecheck.VerifierOptions(resolver=resolver))
    try:
        verifier.verify_blocking(hello)
    except imagecheck.ImageCheckError.Denied:
        pass
    else:
        raise AssertionError("expected Denied")
    print("python uniffi smoke test: ok")


if __name__ == "__main__":
    main()
