"""tests/conformance/cases.json, the cases every binding runs (see its README.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import pytest
from conftest import REPO, harness_dir, make_resolver

import imagecheck

CASES: dict[str, Any] = json.loads((REPO / "tests" / "conformance" / "cases.json").read_text())

KINDS: dict[str, type[BaseException]] = {
    "InvalidReference": imagecheck.InvalidReference,
    "DigestUnavailable": imagecheck.DigestUnavailable,
    "VerificationFailed": imagecheck.VerificationFailed,
    "Denied": imagecheck.Denied,
    "InvalidPolicy": imagecheck.InvalidPolicy,
    "InvalidArgument": imagecheck.InvalidArgument,
}


def substitute(text: str, state: dict[str, Any]) -> str:
    """Replace the README's placeholders: {plain}, {digest:NAME}, {signed:NAME}, ..."""
    out = text
    for name, reg in state["registries"].items():
        out = out.replace("{" + name + "}", reg["host"])
    for image in state["images"]:
        out = out.replace("{digest:" + image["name"] + "}", image["digest"])
    if "{signed" in out or "{policy:" in out or "{trust-root:" in out:
        signed_path = harness_dir() / "signed.json"
        if not signed_path.is_file():
            raise RuntimeError(f"{signed_path} is missing: run tests/harness/sign.py after the harness")
        signed = json.loads(signed_path.read_text())
        for name, image in signed["images"].items():
            out = out.replace("{signed:" + name + "}", image["reference"])
            out = out.replace("{signed-digest:" + name + "}", image["digest"])
        for name, path in signed["policies"].items():
            out = out.replace("{policy:" + name + "}", path)
        for name, path in signed.get("trust_roots", {}).items():
            out = out.replace("{trust-root:" + name + "}", path)
    assert "{" not in out, f"unknown placeholder left in {out!r}"
    return out


def credentials(case: dict[str, Any], reference: str, state: dict[str, Any]) -> Optional[imagecheck.Credentials]:
    name = case.get("credentials")
    if not name:
        return None
    registry, wrong = (name[: -len("-wrong")], True) if name.endswith("-wrong") else (name, False)
    reg = state["registries"][registry]
    host = imagecheck.Reference(reference).registry
    return imagecheck.Credentials(host, reg["username"], "wrong-password" if wrong else reg["password"])


def test_case_counts() -> None:
    assert len(CASES["references"]) >= 25
    assert len(CASES["resolve"]) >= 10
    assert isinstance(CASES["verify"], list)


@pytest.mark.parametrize("case", CASES["references"], ids=lambda c: repr(c["input"])[:40])
def test_reference(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(KINDS[case["error"]]) as raised:
            imagecheck.Reference(case["input"])
        assert raised.value.kind == case["error"]
        return
    ref = imagecheck.Reference(case["input"])
    assert str(ref) == case["canonical"]
    assert ref.registry == case["registry"]
    assert ref.repository == case["repository"]
    assert ref.tag == case["tag"]
    assert ref.digest == case["digest"]


@pytest.mark.parametrize("case", CASES["resolve"], ids=lambda c: c["name"])
def test_resolve(case: dict[str, Any], state: dict[str, Any], hosts: dict[str, str]) -> None:
    resolver = make_resolver(hosts)
    reference = substitute(case["reference"], state)
    engine = case.get("engine") or "registry"
    creds = credentials(case, reference, state)
    expect = case["expect"]
    if "digest" in expect:
        assert resolver.resolve(reference, engine=engine, ttl=0, credentials=creds) == substitute(
            expect["digest"], state
        )
        return
    with pytest.raises(KINDS[expect["error"]]) as raised:
        resolver.resolve(reference, engine=engine, ttl=0, credentials=creds)
    assert raised.value.kind == expect["error"]
    if "cause" in expect:
        assert raised.value.cause == expect["cause"], str(raised.value)


def run_verify_case(case: dict[str, Any], state: dict[str, Any], hosts: dict[str, str]) -> None:
    name = case["name"]
    trusted_root = substitute(case["trusted_root"], state) if case.get("trusted_root") else None
    verifier = imagecheck.Verifier.from_file(
        substitute(case["policy"], state), resolver=make_resolver(hosts), trusted_root=trusted_root
    )
    reference = substitute(case["reference"], state)
    creds = credentials(case, reference, state)
    expect = case["expect"]
    if "error" in expect:
        with pytest.raises(KINDS[expect["error"]]) as raised:
            verifier.verify(reference, credentials=creds)
        if "failures" in expect:
            got_failures = [(f.source, f.check) for f in raised.value.failures]
            want_failures = [(f["source"], f["check"]) for f in expect["failures"]]
            assert got_failures == want_failures, f"{name}: {raised.value}"
        return
    got = verifier.verify(reference, credentials=creds)
    assert got.verified is expect["verified"], f"{name}: {got!r}"
    if expect.get("digested_ref") is not None:
        assert got.digested_ref == substitute(expect["digested_ref"], state), name
    if expect.get("message_contains") is not None:
        assert expect["message_contains"] in got.message, f"{name}: {got.message!r}"


def test_verify(state: dict[str, Any], hosts: dict[str, str]) -> None:
    # One test over the whole list (none yet: cases arrive with signed harness images), so an
    # empty list is a pass, not a skipped parametrization.
    failures = []
    for case in CASES["verify"]:
        try:
            run_verify_case(case, state, hosts)
        except (Exception, pytest.fail.Exception) as e:  # collect every failure, then fail once
            failures.append(f"{case['name']}: {e!r}")
    assert not failures, "\n".join(failures)
