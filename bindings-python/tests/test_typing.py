"""The stubs match the compiled module (mypy.stubtest) and type-check typical use (mypy --strict)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SAMPLE = '''
import asyncio
from datetime import timedelta
from typing import Optional

import imagecheck


def pinned(ref: str, creds: Optional[imagecheck.Credentials] = None) -> str:
    try:
        return imagecheck.default_resolver().resolve(ref, ttl=timedelta(seconds=30), credentials=creds)
    except imagecheck.DigestUnavailable as e:
        cause: Optional[str] = e.cause
        print(cause)
        return ref


async def many(refs: list[str]) -> list[str]:
    r = imagecheck.Resolver(insecure_registries=["127.0.0.1:5000"], timeout=5.0)
    return list(await asyncio.gather(*(r.resolve_async(x, ttl=0) for x in refs)))


def check(ref: str) -> bool:
    v = imagecheck.Verifier("rules: []", resolve_ttl=0.0)
    result: imagecheck.Verification = v.verify(ref)
    digested: Optional[str] = result.digested_ref
    print(digested, result.message)
    return result.verified


async def check_async(ref: str) -> bool:
    return (await imagecheck.default_verifier().verify_async(ref)).verified


def engine(reference: str) -> str:
    return "sha256:" + "a" * 64


async def async_engine(reference: str) -> str:
    return "sha256:" + "a" * 64


imagecheck.register_engine("mine", engine)
imagecheck.default_resolver().register_engine("mine-async", async_engine)
ref: imagecheck.Reference = imagecheck.Reference("nginx")
tag: Optional[str] = ref.tag
'''


def run(*args: str, cwd: Path) -> None:
    done = subprocess.run([sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True)
    assert done.returncode == 0, f"{' '.join(args)}:\n{done.stdout}\n{done.stderr}"


def test_stubtest(tmp_path: Path) -> None:
    run("mypy.stubtest", "imagecheck", "--mypy-config-file", str(tmp_path / "none.ini"), cwd=tmp_path)


def test_mypy_strict_sample(tmp_path: Path) -> None:
    (tmp_path / "sample.py").write_text(SAMPLE)
    run("mypy", "--strict", "--no-incremental", "sample.py", cwd=tmp_path)
