"""The Python API shape: classes, exceptions, arguments, custom engines, verifier rules."""

from __future__ import annotations

import asyncio
import dataclasses
import math
from datetime import timedelta
from pathlib import Path
from typing import Any

import harness
import pytest
from conftest import make_resolver

import imagecheck

DIGEST_A = "sha256:" + "a" * 64
PUBLIC_KEY = """-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEiSwNNs98yugT/g7CYoRKWcbJ9U9N
ZJ+MYhFUCw7Wud/99iSQMo3il1ifoQcyduqoBsgDfptVNLsa4OUNtAOmQA==
-----END PUBLIC KEY-----"""


def test_exports() -> None:
    for name in imagecheck.__all__:
        assert hasattr(imagecheck, name), name
    assert imagecheck.__version__.count(".") == 2


def test_exception_hierarchy() -> None:
    E = imagecheck
    for cls in (E.InvalidReference, E.DigestUnavailable, E.VerificationFailed, E.Denied,
                E.InvalidPolicy, E.InvalidArgument):
        assert issubclass(cls, E.ImageCheckError)
        assert cls.__module__ == "imagecheck"
    for cls in (E.InvalidReference, E.InvalidPolicy, E.InvalidArgument):
        assert issubclass(cls, ValueError)
    for cls in (E.DigestUnavailable, E.VerificationFailed, E.Denied):
        assert not issubclass(cls, ValueError)
    with pytest.raises(ValueError) as raised:
        imagecheck.default_resolver().resolve("UPPER/case")
    assert isinstance(raised.value, imagecheck.InvalidReference)
    assert raised.value.kind == "InvalidReference"
    assert raised.value.cause is None


def test_credentials_hide_the_password() -> None:
    creds = imagecheck.Credentials("https://index.docker.io/v1/", "me", "s3cret-pw")
    assert "s3cret-pw" not in repr(creds) and "s3cret-pw" not in str(creds)
    assert creds.host == "docker.io" and creds.username == "me"
    assert not hasattr(creds, "password")
    assert creds == imagecheck.Credentials("docker.io", "me", "s3cret-pw")
    assert creds != imagecheck.Credentials("docker.io", "me", "other")


def test_verification_value() -> None:
    v = imagecheck.Verification(True, "ok", "r@" + DIGEST_A)
    assert v == imagecheck.Verification(True, "ok", "r@" + DIGEST_A)
    assert v != imagecheck.Verification(False, "ok", "r@" + DIGEST_A)
    assert hash(v) == hash(imagecheck.Verification(True, "ok", "r@" + DIGEST_A))
    assert repr(v) == f"Verification(verified=True, message=\"ok\", digested_ref=\"r@{DIGEST_A}\")"
    assert repr(imagecheck.Verification(False, "no")) == 'Verification(verified=False, message="no", digested_ref=None)'
    with pytest.raises(AttributeError):
        v.verified = False  # type: ignore[misc]
    with pytest.raises((AttributeError, TypeError)):
        dataclasses.replace(v)  # type: ignore[type-var]


def test_digest_reference_needs_no_io() -> None:
    ref = "nginx@" + DIGEST_A
    assert imagecheck.default_resolver().resolve(ref) == DIGEST_A
    assert imagecheck.default_resolver().resolve(ref, engine="kubernetes") == DIGEST_A
    assert imagecheck.default_resolver() is imagecheck.default_resolver()


def test_ttl_seconds_timedelta_and_negative(hosts: dict[str, str], state: dict[str, Any], images: dict[str, Any]) -> None:
    resolver = make_resolver(hosts)
    ref = f"{hosts['plain']}/test/index:v1"
    uri = "/v2/test/index/manifests/v1"
    log = state["registries"]["plain"]["log"]
    want = images["index-oci"]["digest"]
    since = harness.log_offset(log)
    assert resolver.resolve(ref, ttl=timedelta(minutes=5)) == want
    assert resolver.resolve(ref, ttl=timedelta(minutes=5)) == want  # cached
    assert resolver.resolve(ref, ttl=60) == want  # int seconds, cached
    assert harness.count_requests(log, "HEAD", uri, since) == 1
    assert resolver.resolve(ref, ttl=-5.0) == want  # negative: zero, re-resolve
    assert resolver.resolve(ref, ttl=timedelta(seconds=-1)) == want
    assert harness.count_requests(log, "HEAD", uri, since) == 3
    assert resolver.resolve(ref, ttl=math.inf) == want
    with pytest.raises(imagecheck.InvalidArgument):
        resolver.resolve(ref, ttl=math.nan)
    with pytest.raises(TypeError):
        resolver.resolve(ref, ttl="30")  # type: ignore[arg-type]


def test_shared_cache_option(hosts: dict[str, str], images: dict[str, Any]) -> None:
    """The keyword reaches core's options: an unusable URL is InvalidArgument (the password
    not shown), and a tier that refuses connections costs no call."""
    with pytest.raises(imagecheck.InvalidArgument) as refused:
        imagecheck.Resolver(shared_cache="http://:hunter2@cache:6379")
    assert "shared cache URL" in str(refused.value) and "hunter2" not in str(refused.value)
    resolver = make_resolver(hosts, shared_cache="redis://127.0.0.1:1/?timeout_ms=20")
    assert resolver.resolve(f"{hosts['plain']}/test/index:v1", ttl=60) == images["index-oci"]["digest"]


def test_engine_names(hosts: dict[str, str]) -> None:
    resolver = make_resolver(hosts)
    assert {"registry", "docker", "podman", "kubernetes"} <= set(resolver.engine_names())
    assert resolver.insecure_registries == sorted(hosts.values())
    with pytest.raises(imagecheck.InvalidArgument):
        resolver.resolve("nginx:1", engine="unknown-engine")
    with pytest.raises(imagecheck.InvalidArgument):
        resolver.resolve("nginx:1", engine="Bad Name!")
    with pytest.raises(imagecheck.DigestUnavailable) as raised:
        resolver.resolve("nginx:1", engine="kubernetes")
    assert raised.value.cause == "no digest source"


def test_custom_engines(hosts: dict[str, str]) -> None:
    resolver = make_resolver(hosts)
    seen: list[str] = []

    def sync_engine(reference: str) -> str:
        seen.append(reference)
        return DIGEST_A

    async def async_engine(reference: str) -> str:
        await asyncio.sleep(0.01)
        return "sha256:" + "b" * 64

    def failing(reference: str) -> str:
        raise LookupError(f"nothing known about {reference}")

    resolver.register_engine("sync-engine", sync_engine)
    resolver.register_engine("async-engine", async_engine)
    resolver.register_engine("failing", failing)
    resolver.register_engine("not-a-digest", lambda reference: "latest")
    assert resolver.resolve("nginx:1.27", engine="sync-engine", ttl=0) == DIGEST_A
    assert seen == ["docker.io/library/nginx:1.27"]
    assert resolver.resolve("nginx:1.27", engine="async-engine", ttl=0) == "sha256:" + "b" * 64
    with pytest.raises(imagecheck.DigestUnavailable) as raised:
        resolver.resolve("nginx:1.27", engine="failing", ttl=0)
    assert raised.value.cause == "engine error"
    assert "LookupError" in str(raised.value) and "nothing known" in str(raised.value)
    with pytest.raises(imagecheck.DigestUnavailable) as raised:
        resolver.resolve("nginx:1.27", engine="not-a-digest", ttl=0)
    assert raised.value.cause == "engine error"

    async def from_asyncio() -> str:
        return await resolver.resolve_async("nginx:2", engine="async-engine", ttl=0)

    assert asyncio.run(from_asyncio()) == "sha256:" + "b" * 64
    with pytest.raises(TypeError):
        resolver.register_engine("x", "not callable")  # type: ignore[arg-type]
    with pytest.raises(imagecheck.InvalidArgument):
        resolver.register_engine("Bad Name", sync_engine)


def test_module_register_engine_uses_the_default_resolver() -> None:
    imagecheck.register_engine("python-test-fixed", lambda reference: DIGEST_A)
    assert "python-test-fixed" in imagecheck.default_resolver().engine_names()
    assert imagecheck.default_resolver().resolve("app:1", engine="python-test-fixed", ttl=0) == DIGEST_A


def policy(hosts: dict[str, str]) -> str:
    return f"""
apiVersion: v1alpha1
kind: ImageVerificationConfig
rules:
  - image: "{hosts['plain']}/test/hello"
    publicKey:
      certificate: |
{chr(10).join('        ' + line for line in PUBLIC_KEY.splitlines())}
  - image: "{hosts['plain']}/*"
    skip: true
  - image: "docker.io/library/*"
    deny: true
"""


def test_verifier_rules(hosts: dict[str, str], images: dict[str, Any]) -> None:
    verifier = imagecheck.Verifier(policy(hosts), resolver=make_resolver(hosts))
    assert verifier.rule_count() == 3
    skipped = verifier.verify(f"{hosts['plain']}/test/index:v1")
    assert skipped.verified is False and "skip" in skipped.message
    nomatch = verifier.verify("ghcr.io/org/app@" + DIGEST_A)
    assert nomatch == imagecheck.Verification(False, nomatch.message, "ghcr.io/org/app@" + DIGEST_A)
    assert "no rule matched" in nomatch.message
    with pytest.raises(imagecheck.Denied):
        verifier.verify("nginx:1.27")
    # The harness images are unsigned: a key rule fails, naming why.
    with pytest.raises(imagecheck.VerificationFailed) as raised:
        verifier.verify(f"{hosts['plain']}/test/hello:v1")
    assert raised.value.kind == "VerificationFailed"
    with pytest.raises(imagecheck.InvalidReference):
        verifier.verify("Not Valid")
    verifier.set_policy('{"rules": [{"image": "*", "skip": true}]}')
    assert verifier.rule_count() == 1
    assert verifier.verify("nginx:1.27@" + DIGEST_A).verified is False
    with pytest.raises(imagecheck.InvalidPolicy):
        verifier.set_policy("rules: [{image: '*', skip: 'yes please'}]")
    assert verifier.rule_count() == 1  # the current rules stay


def test_verifier_options(hosts: dict[str, str], tmp_path: Path) -> None:
    with pytest.raises(imagecheck.InvalidPolicy) as raised:
        imagecheck.Verifier(policy(hosts), trusted_root="/some/trusted_root.json")
    assert "trusted_root.json" in str(raised.value)
    bad_root = tmp_path / "trusted_root.json"
    bad_root.write_text("{not json")
    with pytest.raises(imagecheck.InvalidPolicy):
        imagecheck.Verifier(policy(hosts), trusted_root=bad_root)
    public_good = Path(__file__).resolve().parents[2] / "core/trust/public-good-trusted_root.json"
    custom = imagecheck.Verifier(policy(hosts), trusted_root=public_good)
    assert custom.rule_count() == imagecheck.Verifier(policy(hosts)).rule_count()
    with pytest.raises(ValueError):
        imagecheck.Verifier("rules: [{image: '*', skp: true}]")
    with pytest.raises(imagecheck.InvalidArgument):
        imagecheck.Verifier(policy(hosts), insecure_registries=["h:1"], resolver=make_resolver(hosts))
    path = tmp_path / "policy.yaml"
    path.write_text(policy(hosts))
    verifier = imagecheck.Verifier.from_file(path, insecure_registries=list(hosts.values()), resolve_ttl=timedelta(seconds=30))
    assert verifier.rule_count() == 3
    assert verifier.verify(f"{hosts['plain']}/test/docker:v1").verified is False
    with pytest.raises(imagecheck.InvalidPolicy):
        imagecheck.Verifier.from_file(tmp_path / "missing.yaml")
    (tmp_path / "one.json").write_text('[{"image": "*", "deny": true}]')
    verifier.load_policy(str(tmp_path / "one.json"))
    with pytest.raises(imagecheck.Denied):
        verifier.verify("nginx")


def test_default_verifier_has_no_rules_without_a_policy_file() -> None:
    v = imagecheck.default_verifier()
    assert v is imagecheck.default_verifier()
    got = v.verify("ghcr.io/org/app@" + DIGEST_A)
    assert got.verified is False and "no rule matched" in got.message


def closed_host() -> str:
    """`127.0.0.1:PORT` where nothing listens (a port taken and let go)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


def test_mirror_options_reach_core(hosts: dict[str, str], images: dict[str, Any], tmp_path: Path) -> None:
    plain, source = hosts["plain"], closed_host()
    want = images["hello-oci"]["digest"]
    mirrored = f"{source}/test/hello:v1"
    conf = tmp_path / "mirrored" / "registries.conf"
    conf.parent.mkdir()
    conf.write_text(f'[[registry]]\nlocation = "{source}"\n[[registry.mirror]]\nlocation = "{plain}"\n')
    assert make_resolver(hosts, registries_conf=conf, max_retries=0, max_concurrent_requests_per_host=4).resolve(mirrored) == want
    hosts_dir = tmp_path / "certs.d"
    (hosts_dir / source).mkdir(parents=True)
    (hosts_dir / source / "hosts.toml").write_text(
        f'server = "http://{source}"\n\n[host."http://{plain}"]\ncapabilities = ["pull", "resolve"]\n'
    )
    assert make_resolver(hosts, hosts_dir=str(hosts_dir)).resolve(mirrored) == want
    with pytest.raises(imagecheck.DigestUnavailable):
        make_resolver(hosts).resolve(mirrored)  # without the mirror: the source is down
    blocking = tmp_path / "blocking" / "registries.conf"
    blocking.parent.mkdir()
    blocking.write_text(f'[[registry]]\nlocation = "{plain}"\nblocked = true\n')
    with pytest.raises(imagecheck.InvalidArgument, match="blocked"):
        make_resolver(hosts, registries_conf=blocking).resolve(f"{plain}/test/hello:v1")
