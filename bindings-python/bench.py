#!/usr/bin/env python3
"""Benchmarks of the Python bindings, in one run (the figures go to BENCHMARKS.md).

    IMAGECHECK_HARNESS=DIR python bench.py [--json]

Measures: import time and RSS after import (fresh interpreters); warm
`default_resolver().resolve(...)` per call; cold resolve against the harness registry (ttl=0 on
a warm connection, and a new Resolver per call); warm verify (a `skip` rule: no signed image in
the harness yet, so the verdict is "skip" with the tag served from the resolve cache, and a
no-match digest reference); and `skopeo inspect` for the same digest, as the peer.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

state_dir = os.environ.get("IMAGECHECK_HARNESS")
if not state_dir:
    sys.exit("bench.py: set IMAGECHECK_HARNESS to a running harness's state dir")
state = json.loads((Path(state_dir) / "state.json").read_text())
hosts = [r["host"] for r in state["registries"].values()]
plain = state["registries"]["plain"]["host"]
REF = f"{plain}/test/hello:v1"
WANT = next(i["digest"] for i in state["images"] if i["name"] == "hello-oci")
# The default resolver reads the insecure list from the environment on first use.
os.environ["IMAGECHECK_INSECURE_REGISTRIES"] = ",".join(hosts)

IMPORT_PROBE = """
import time, sys
if sys.argv[1:] == ["preload"]:
    import logging  # most applications have it already; it dominates a cold import
def rss():
    for line in open('/proc/self/status'):
        if line.startswith('VmRSS:'):
            return int(line.split()[1])
    return 0
before = rss()
t = time.perf_counter()
import imagecheck
elapsed = time.perf_counter() - t
imagecheck.default_resolver()
print(elapsed, before, rss())
"""


def per_call(fn: Callable[[], Any], seconds: float = 1.0) -> float:
    """Best of 5 runs of a loop sized to ~seconds/5, in seconds per call."""
    n = 1
    while True:
        t = time.perf_counter()
        for _ in range(n):
            fn()
        if time.perf_counter() - t > 0.05:
            break
        n *= 2
    n = max(1, int(n * (seconds / 5) / 0.05))
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t) / n)
    return best


def median_of(fn: Callable[[], Any], runs: int) -> float:
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def main() -> None:
    results: dict[str, Any] = {}

    imports = []
    for _ in range(5):
        out = subprocess.run([sys.executable, "-c", IMPORT_PROBE], capture_output=True, text=True, check=True)
        elapsed, before, after = out.stdout.split()
        imports.append((float(elapsed), int(before), int(after)))
    results["import_ms_median"] = statistics.median(i[0] for i in imports) * 1e3
    results["rss_before_import_mib"] = statistics.median(i[1] for i in imports) / 1024
    results["rss_after_import_mib"] = statistics.median(i[2] for i in imports) / 1024
    preloaded = []
    for _ in range(5):
        out = subprocess.run([sys.executable, "-c", IMPORT_PROBE, "preload"], capture_output=True, text=True, check=True)
        preloaded.append(float(out.stdout.split()[0]))
    results["import_ms_median_logging_preloaded"] = statistics.median(preloaded) * 1e3

    import imagecheck

    default = imagecheck.default_resolver()
    assert default.resolve(REF, ttl=0) == WANT
    results["warm_default_resolver_resolve_us"] = per_call(lambda: imagecheck.default_resolver().resolve(REF)) * 1e6
    results["warm_bound_resolve_us"] = per_call(lambda: default.resolve(REF)) * 1e6
    digest_ref = f"{plain}/test/hello@{WANT}"
    results["digest_reference_resolve_us"] = per_call(lambda: default.resolve(digest_ref)) * 1e6

    results["cold_resolve_ttl0_ms"] = median_of(lambda: default.resolve(REF, ttl=0), 200) * 1e3
    results["cold_resolve_new_resolver_ms"] = median_of(
        lambda: imagecheck.Resolver(insecure_registries=hosts, from_env=False).resolve(REF), 50
    ) * 1e3

    import asyncio

    async def hundred() -> None:
        r = imagecheck.Resolver(insecure_registries=hosts, from_env=False)
        await asyncio.gather(*(r.resolve_async(REF) for _ in range(100)))

    results["async_100_coalesced_ms"] = median_of(lambda: asyncio.run(hundred()), 20) * 1e3

    verifier = imagecheck.Verifier(
        f"rules:\n  - image: '{plain}/*'\n    skip: true\n", resolve_ttl=30.0
    )
    assert verifier.verify(REF).verified is False
    results["warm_verify_skip_rule_us"] = per_call(lambda: verifier.verify(REF)) * 1e6
    results["warm_verify_no_match_digest_us"] = per_call(
        lambda: verifier.verify("ghcr.io/org/app@" + WANT)
    ) * 1e6

    skopeo = shutil.which("skopeo")
    if skopeo:
        argv = [skopeo, "inspect", "--tls-verify=false", "--no-creds", "--format", "{{.Digest}}", f"docker://{REF}"]
        out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()
        assert out == WANT, (out, WANT)
        results["skopeo_inspect_ms"] = median_of(lambda: subprocess.run(argv, capture_output=True, check=True), 10) * 1e3
    else:
        results["skopeo_inspect_ms"] = None

    if "--json" in sys.argv:
        print(json.dumps(results, indent=1))
        return
    print(f"python {sys.version.split()[0]}, imagecheck {imagecheck.__version__}, {os.cpu_count()} cpus")
    for key, value in results.items():
        print(f"  {key:38} {value:10.3f}" if isinstance(value, float) else f"  {key:38} {value}")


if __name__ == "__main__":
    main()
