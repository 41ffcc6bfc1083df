"""Named trusted roots and the TUF options reach core through the keyword arguments."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

import imagecheck

PUBLIC_GOOD = Path(__file__).resolve().parents[2] / "core/trust/public-good-trusted_root.json"
NAMING = """rules:
  - image: "registry.example/*"
    keyless: {issuer: "https://issuer.example", subject: "ci@example.com", trustedRoot: private}
"""


def test_a_rule_naming_a_root_needs_that_root() -> None:
    imagecheck.Verifier(NAMING, trusted_roots={"private": PUBLIC_GOOD})
    with pytest.raises(imagecheck.InvalidPolicy) as raised:
        imagecheck.Verifier(NAMING, trusted_roots={"other": str(PUBLIC_GOOD)})
    assert 'unknown trusted root "private"' in str(raised.value)
    assert '"other"' in str(raised.value)


def test_tuf_options(tmp_path: Path) -> None:
    with pytest.raises(imagecheck.InvalidArgument) as raised:
        imagecheck.Verifier(NAMING, trusted_roots={"private": PUBLIC_GOOD}, tuf_url="https://tuf.example.invalid")
    assert "needs its root.json" in str(raised.value)
    with pytest.raises(imagecheck.InvalidArgument):
        imagecheck.Verifier(NAMING, trusted_roots={"private": PUBLIC_GOOD}, tuf_root=PUBLIC_GOOD)
    # Sigstore's public-good repository: its root is embedded; building reads the cache only.
    imagecheck.Verifier(
        NAMING,
        trusted_roots={"private": PUBLIC_GOOD},
        tuf_url="https://tuf-repo-cdn.sigstore.dev",
        tuf_cache_dir=tmp_path,
        tuf_refresh_interval=timedelta(hours=6),
    )
