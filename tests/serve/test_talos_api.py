"""machine.ImageService/Verify from grpcio stubs generated from proto/machine/image.proto: each
outcome with Talos's status code and fields; imagecheck.v1 Resolve/Verify errors as the stable
kinds; the health service; credentials reaching the token registry; single-flight over the
socket (one registry request for 100 concurrent calls of one tag)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc  # type: ignore[import-untyped]
import pytest

import harness

TALOS_METADATA = (("talos-role", "os:image:verifier"),)


def image(signed: dict[str, Any], name: str) -> str:
    return str(signed["images"][name]["reference"])


def digest(signed: dict[str, Any], name: str) -> str:
    return str(signed["images"][name]["digest"])


@pytest.fixture
def talos(daemons: Any, signed: dict[str, Any], stubs: Any) -> Any:
    d = daemons(Path(signed["policies"]["key-a"]))
    stub = stubs.image_grpc.ImageServiceStub(d.channel())

    def verify(ref: str, creds: Any = None) -> Any:
        request = stubs.image_pb2.ImageServiceVerifyRequest(image_ref=ref, credentials=creds)
        return stub.Verify(request, metadata=TALOS_METADATA, timeout=20)

    verify.daemon = d  # type: ignore[attr-defined]
    return verify


def error_of(call: Any) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as raised:
        call()
    return raised.value


def test_verified_sets_the_digested_ref(talos: Any, signed: dict[str, Any]) -> None:
    ref = image(signed, "legacy")
    answer = talos(ref)
    assert answer.verified is True
    assert answer.digested_image_ref == ref.rsplit(":", 1)[0] + "@" + digest(signed, "legacy")
    assert "verified by rule 2" in answer.message


def test_no_rule_matched_is_ok_and_not_verified(talos: Any, state: dict[str, Any]) -> None:
    answer = talos(f"{state['registries']['plain']['host']}/test/hello:v1")
    assert (answer.verified, answer.digested_image_ref) == (False, "")
    assert "no rule matched" in answer.message


def test_skip_is_ok_and_not_verified(talos: Any, signed: dict[str, Any]) -> None:
    answer = talos(image(signed, "skipped"))
    assert (answer.verified, answer.digested_image_ref) == (False, "")
    assert "skips verification" in answer.message


def test_deny_is_permission_denied_saying_denied(talos: Any, signed: dict[str, Any]) -> None:
    e = error_of(lambda: talos(image(signed, "denied")))
    assert e.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "is denied by rule 1" in e.details()


@pytest.mark.parametrize("name", ["unsigned", "wrongkey", "tampered"])
def test_a_failed_check_is_permission_denied_saying_why(talos: Any, signed: dict[str, Any], name: str) -> None:
    e = error_of(lambda: talos(image(signed, name)))
    assert e.code() == grpc.StatusCode.PERMISSION_DENIED
    assert e.details().startswith("verification failed for"), e.details()


def test_a_missing_tag_is_not_found(talos: Any, state: dict[str, Any]) -> None:
    e = error_of(lambda: talos(f"{state['registries']['plain']['host']}/signed/legacy:no-such-tag"))
    assert e.code() == grpc.StatusCode.NOT_FOUND, e.details()


def test_an_unparseable_reference_is_invalid_argument(talos: Any) -> None:
    e = error_of(lambda: talos("NOT A REFERENCE"))
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_an_unreachable_registry_is_internal(daemons: Any, stubs: Any, tmp_path: Path) -> None:
    closed = harness.free_ports(1)[0]
    policy = tmp_path / "policy.yaml"
    policy.write_text(f'rules:\n  - image: "127.0.0.1:{closed}/*"\n    publicKey:\n      certificate: |\n'
                      "        -----BEGIN PUBLIC KEY-----\n"
                      "        MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE6GMrF+RT+Dsa28QmdiE8q2bsWbR2\n"
                      "        wF8IyTYGgtLakeNtS54JGQ9QowkmDl2PDDnFF3KaAgvrHwFQucGcTAc4dA==\n"
                      "        -----END PUBLIC KEY-----\n")
    d = daemons(policy, env={"IMAGECHECK_INSECURE_REGISTRIES": f"127.0.0.1:{closed}"})
    stub = stubs.image_grpc.ImageServiceStub(d.channel())
    e = error_of(lambda: stub.Verify(stubs.image_pb2.ImageServiceVerifyRequest(
        image_ref=f"127.0.0.1:{closed}/app:v1"), timeout=20))
    assert e.code() == grpc.StatusCode.INTERNAL, e.details()


def test_other_image_service_methods_are_unimplemented(talos: Any) -> None:
    channel = talos.daemon.channel()
    for method in ("List", "Pull", "Remove"):
        call = channel.unary_unary(f"/machine.ImageService/{method}")
        e = error_of(lambda: call(b"", timeout=5))
        assert e.code() == grpc.StatusCode.UNIMPLEMENTED, method


def test_request_credentials_reach_the_token_registry(talos: Any, signed: dict[str, Any],
                                                      state: dict[str, Any], stubs: Any) -> None:
    token = state["registries"]["token"]
    ref = image(signed, "private")
    anonymous = error_of(lambda: talos(ref))
    assert anonymous.code() == grpc.StatusCode.INTERNAL and "unauthorized" in anonymous.details()
    creds = stubs.image_pb2.ImageServiceCredentials(host=token["host"], username=token["username"],
                                                    password=token["password"])
    since = harness.log_offset(token["token_log"])
    answer = talos(ref, creds)
    assert answer.verified, answer.message
    users = [json.loads(line)["user"] for line in Path(token["token_log"]).read_text()[since:].splitlines()]
    assert token["username"] in users, users
    assert token["password"] not in talos.daemon.log_text(), "a request's password reached the log"


def repository_requests(log: str, repo: str, since: int) -> list[str]:
    return [f"{e['method']} {e['uri']}" for e in harness.access_log(log, since) if e["uri"].startswith(f"/v2/{repo}/")]


def test_one_registry_request_for_100_concurrent_calls_of_one_tag(daemons: Any, signed: dict[str, Any],
                                                                   state: dict[str, Any], stubs: Any) -> None:
    log = state["registries"]["plain"]["log"]
    ref = image(signed, "counted")
    repo = ref.split("/", 1)[1].rsplit(":", 1)[0]
    request = stubs.image_pb2.ImageServiceVerifyRequest(image_ref=ref)

    # What one cold verify of the image asks the registry (a fresh daemon)...
    single = daemons(Path(signed["policies"]["key-a"]), ["--resolve-ttl", "60"], name="single")
    since = harness.log_offset(log)
    assert stubs.image_grpc.ImageServiceStub(single.channel()).Verify(request, timeout=30).verified
    one = repository_requests(log, repo, since)
    assert one.count(f"HEAD /v2/{repo}/manifests/v1") == 1, one

    # ...is all that 100 concurrent cold verifies of it ask (another fresh daemon).
    d = daemons(Path(signed["policies"]["key-a"]), ["--resolve-ttl", "60"])
    talos = stubs.image_grpc.ImageServiceStub(d.channel())
    resolver = stubs.v1_grpc.ResolverStub(d.channel())
    since = harness.log_offset(log)
    futures = [talos.Verify.future(request, timeout=30) for _ in range(100)]
    assert all(f.result().verified for f in futures)
    hundred = repository_requests(log, repo, since)
    assert sorted(hundred) == sorted(one), f"100 concurrent verifies: {len(hundred)} requests, one verify: {len(one)}"

    hello = f"{state['registries']['plain']['host']}/test/hello:v1"
    since = harness.log_offset(log)
    resolve = stubs.v1_pb2.ResolveRequest(reference=hello, ttl_seconds=60)
    with ThreadPoolExecutor(100) as pool:
        digests = set(pool.map(lambda _: resolver.Resolve(resolve, timeout=30).digest, range(100)))
    assert len(digests) == 1
    assert harness.count_requests(log, "HEAD", "/v2/test/hello/manifests/v1", since) == 1


def kind_of(e: grpc.RpcError) -> dict[str, str]:
    return {k: v for k, v in (e.trailing_metadata() or ()) if k.startswith("imagecheck-")}


def test_imagecheck_v1_errors_carry_the_stable_kinds(talos: Any, signed: dict[str, Any],
                                                     state: dict[str, Any], stubs: Any) -> None:
    channel = talos.daemon.channel()
    resolver = stubs.v1_grpc.ResolverStub(channel)
    verifier = stubs.v1_grpc.VerifierStub(channel)
    plain = state["registries"]["plain"]["host"]

    ok = resolver.Resolve(stubs.v1_pb2.ResolveRequest(reference=image(signed, "legacy")), timeout=20)
    assert ok.digest == digest(signed, "legacy")

    cases = [
        (lambda: resolver.Resolve(stubs.v1_pb2.ResolveRequest(reference=f"{plain}/test/hello:nope"), timeout=20),
         grpc.StatusCode.UNAVAILABLE, {"imagecheck-error-kind": "DigestUnavailable", "imagecheck-error-cause": "not found"}),
        (lambda: resolver.Resolve(stubs.v1_pb2.ResolveRequest(reference="UPPER/case"), timeout=20),
         grpc.StatusCode.INVALID_ARGUMENT, {"imagecheck-error-kind": "InvalidReference"}),
        (lambda: resolver.Resolve(stubs.v1_pb2.ResolveRequest(engine="containerd", reference="nginx"), timeout=20),
         grpc.StatusCode.INVALID_ARGUMENT, {"imagecheck-error-kind": "InvalidArgument"}),
        (lambda: verifier.Verify(stubs.v1_pb2.VerifyRequest(reference=image(signed, "denied")), timeout=20),
         grpc.StatusCode.PERMISSION_DENIED, {"imagecheck-error-kind": "Denied"}),
        (lambda: verifier.Verify(stubs.v1_pb2.VerifyRequest(reference=image(signed, "unsigned")), timeout=20),
         grpc.StatusCode.PERMISSION_DENIED,
         # No signature was found, so no candidate failed: the list is there and empty.
         {"imagecheck-error-kind": "VerificationFailed", "imagecheck-error-failures-bin": b"[]"}),
    ]
    for call, code, metadata in cases:
        e = error_of(call)
        assert (e.code(), kind_of(e)) == (code, metadata), e.details()
        assert e.details().startswith(metadata["imagecheck-error-kind"] + ": "), e.details()

    # A signature by another key is one failed candidate, named by where it was found and the
    # check that failed, in the same JSON the CLI's --json prints.
    e = error_of(lambda: verifier.Verify(stubs.v1_pb2.VerifyRequest(reference=image(signed, "wrongkey")), timeout=20))
    failures = json.loads(kind_of(e)["imagecheck-error-failures-bin"])
    assert [(f["source"], f["check"]) for f in failures] == [("legacy_tag", "wrong_key")], failures
    assert all(f["message"] for f in failures), failures

    skipped = verifier.Verify(stubs.v1_pb2.VerifyRequest(reference=image(signed, "skipped")), timeout=20)
    assert (skipped.verified, skipped.digested_ref) == (False, "")


def test_health_is_serving(talos: Any, tmp_path: Path) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc  # type: ignore[import-untyped]

    stub = health_pb2_grpc.HealthStub(talos.daemon.channel())
    for service in ("", "machine.ImageService", "imagecheck.v1.Resolver", "imagecheck.v1.Verifier"):
        answer = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
        assert answer.status == health_pb2.HealthCheckResponse.SERVING, service
