"""Core's tracing events reach Python's logging, logger "imagecheck"."""

from __future__ import annotations

import logging

import pytest
from conftest import make_resolver

import imagecheck


def test_warning_reaches_logging(hosts: dict[str, str], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="imagecheck")
    with pytest.raises(imagecheck.DigestUnavailable):
        make_resolver(hosts).resolve(f"{hosts['plain']}/test/hello:missing", ttl=0)
    records = [r for r in caplog.records if r.name == "imagecheck" and "digest unavailable" in r.getMessage()]
    assert records, [r.getMessage() for r in caplog.records]
    record = records[0]
    assert record.levelno == logging.WARNING
    assert "not found" in record.getMessage()
    assert getattr(record, "imagecheck_target", "").startswith("imagecheck")


def test_disabled_level_is_not_emitted(hosts: dict[str, str], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="imagecheck")
    with pytest.raises(imagecheck.DigestUnavailable):
        make_resolver(hosts).resolve(f"{hosts['plain']}/test/hello:missing", ttl=0)
    assert not [r for r in caplog.records if r.name == "imagecheck"]


def test_policy_warning_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="imagecheck")
    # A rule after a catch-all can never match: legal, but worth a warning.
    imagecheck.Verifier("rules:\n  - image: '*'\n    skip: true\n  - image: 'ghcr.io/*'\n    deny: true\n")
    assert [r for r in caplog.records if r.name == "imagecheck" and r.levelno == logging.WARNING]
