"""The built wheel installs into a fresh virtualenv, imports and resolves."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


SNIPPET = """
import sys, imagecheck
host, want = sys.argv[1], sys.argv[2]
r = imagecheck.Resolver(insecure_registries=[host], from_env=False)
got = r.resolve(host + "/test/hello:v1", ttl=0)
assert got == want, (got, want)
assert isinstance(imagecheck.default_verifier(), imagecheck.Verifier)
print(imagecheck.__version__, imagecheck._imagecheck.__file__)
"""


def wheel() -> Path:
    given = os.environ.get("IMAGECHECK_WHEEL")
    if not given:
        raise RuntimeError(
            "IMAGECHECK_WHEEL is not set: build the wheel (maturin build --release) and export "
            "IMAGECHECK_WHEEL=PATH (bindings-python/test.sh does both)"
        )
    path = Path(given)
    assert path.is_file(), path
    return path


def test_wheel_in_fresh_venv(tmp_path: Path, hosts: dict[str, str], images: dict[str, object]) -> None:
    path = wheel()
    assert "abi3" in path.name, path.name
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--no-index", "--no-deps", "-q", str(path)],
        capture_output=True, text=True,
    )
    assert install.returncode == 0, install.stderr
    want = images["hello-oci"]["digest"]  # type: ignore[index]
    done = subprocess.run([str(python), "-c", SNIPPET, hosts["plain"], str(want)],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert str(venv) in done.stdout
