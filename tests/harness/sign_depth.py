"""Signing stage for imagecheck's policy extensions (issue 16): k-of-n signers, signed
attestations, Fulcio certificate extensions. Called by sign.py; real cosign makes every signature
and attestation, the forged cases are written straight through the registry API.

Images (plain registry) and the policies that reach them, all written into signed.json:

- `multi-*` (repo `multi/*`): signed by one, two and three of keys a, b, c (one in the bundle
  format), by a alone three times (two payloads, and a bundle), and by a and a stranger (key d);
  policy `two-of-three` lists a, b, c with threshold 2.
- `attested-*` (repo `attested/*`): signed by key a and attested by key a with `cosign attest`:
  SLSA provenance v1 in the legacy `.att` format and as a bundle, a custom predicate type, the
  `.att` of another digest copied over, and an unsigned DSSE envelope; policies `attest-slsa`,
  `attest-slsa-wrong-condition`, `attest-custom`.
- `keyless-workflow*` (repo `keyless/*`): signed with test-CA leaves carrying Fulcio's CI
  extensions (testca.py); `keyless-workflow` is also attested with its leaf. `keyless-twice` is
  signed by two leaves of one identity, `keyless-two` by two identities. Policies
  `keyless-workflow`, `keyless-workflow-ref`, `keyless-workflow-wrong-ref`,
  `keyless-workflow-attested`, `keyless-identity-twice`, `keyless-email-and-uri`.

signed.json also gets `certificate_extensions` (name -> value of the `workflow` leaf),
`workflow_identity`, `attestations` (predicate type names and the predicates signed) and
`test_ca_leaves` (label -> key, cosign_key, certificate, chain), for tests that build policies
and signatures of their own.
Python 3.11, stdlib only.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import testca
from imagecheck_harness.common import run_tool

if TYPE_CHECKING:
    from sign import Signer

SLSA_V1 = "https://slsa.dev/provenance/v1"
CUSTOM_TYPE = "https://imagecheck.test/attestation/review/v1"
BUILD_TYPE = "https://imagecheck.test/build/v1"
BUILDER_ID = "https://ci.imagecheck.test/builder"
PROVENANCE: dict[str, Any] = {
    "buildDefinition": {
        "buildType": BUILD_TYPE,
        "externalParameters": {"ref": "refs/tags/v1.2.3"},
        "resolvedDependencies": [{"uri": "git+https://git.imagecheck.test/org/app", "digest": {"sha1": "0123"}}],
    },
    "runDetails": {"builder": {"id": BUILDER_ID}},
}
REVIEW: dict[str, Any] = {"reviewer": "alice@imagecheck.test", "approved": True}
IN_TOTO = "application/vnd.in-toto+json"


def run(s: Signer, argv: list[str], what: str) -> None:
    run_tool(argv, what, dict(os.environ) | {"COSIGN_PASSWORD": s.password}, timeout=300)


def cosign_flags(bundle: bool) -> list[str]:
    return [
        "--yes", "--tlog-upload=false", "--use-signing-config=false",
        "--allow-insecure-registry", "--allow-http-registry",
        f"--new-bundle-format={'true' if bundle else 'false'}",
    ]


def image_ref(s: Signer, name: str) -> str:
    image = s.images[name]
    return f"{image['reference'].rsplit(':', 1)[0]}@{image['digest']}"


def sign_as(s: Signer, name: str, key: str, bundle: bool = False, note: str = "") -> None:
    """`cosign sign` with a key of `s.keys`; `note` adds an annotation (another payload)."""
    argv = [s.cosign, "sign", "--key", s.keys[key]["private"], *cosign_flags(bundle)]
    if note:
        argv += ["-a", f"note={note}"]
    run(s, argv + [image_ref(s, name)], f"cosign sign {name}")


def attest(s: Signer, name: str, key_path: str, predicate: Path, kind: str, bundle: bool, cert: dict[str, str] | None = None) -> None:
    """`cosign attest` with a cosign key file; with `cert`, the test-CA leaf and its chain."""
    argv = [s.cosign, "attest", "--key", key_path, "--type", kind, "--predicate", str(predicate), *cosign_flags(bundle)]
    if cert:
        argv += ["--certificate", cert["certificate"], "--certificate-chain", cert["chain"]]
    run(s, argv + [image_ref(s, name)], f"cosign attest {name}")


def predicate_file(s: Signer, name: str, predicate: dict[str, Any]) -> Path:
    path = s.work / f"predicate-{name}.json"
    path.write_text(json.dumps(predicate))
    return path


def repo_of(s: Signer, name: str) -> str:
    return s.images[name]["reference"].split("/", 1)[1].rsplit(":", 1)[0]


def att_tag(digest: str) -> str:
    return digest.replace(":", "-") + ".att"


def copy_attestation(s: Signer, source: str, target: str) -> None:
    """Put `source`'s `.att` manifest under `target`'s `.att` tag (same repository): its
    statement names `source`'s digest."""
    repo = repo_of(s, source)
    assert repo == repo_of(s, target)
    body, media_type = s.plain.get(repo, "manifests", att_tag(s.images[source]["digest"]))
    s.plain.put_manifest(repo, att_tag(s.images[target]["digest"]), body, media_type.split(";")[0])


def unsigned_attestation(s: Signer, name: str) -> None:
    """An `.att` layer whose DSSE envelope states SLSA provenance of `name` and has no
    signature: what cosign never writes, and what must never pass."""
    repo, digest = repo_of(s, name), s.images[name]["digest"]
    statement = {
        "_type": "https://in-toto.io/Statement/v0.1",
        "subject": [{"name": repo, "digest": {"sha256": digest.split(":", 1)[1]}}],
        "predicateType": SLSA_V1,
        "predicate": PROVENANCE,
    }
    envelope = json.dumps(
        {"payloadType": IN_TOTO, "payload": base64.b64encode(json.dumps(statement).encode()).decode(), "signatures": []}
    ).encode()
    layer = s.plain.put_blob(repo, envelope)
    config = json.dumps({"architecture": "", "os": "", "rootfs": {"type": "layers", "diff_ids": [layer]}, "config": {}}).encode()
    config_digest = s.plain.put_blob(repo, config)
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": len(config), "digest": config_digest},
        "layers": [
            {
                "mediaType": "application/vnd.dsse.envelope.v1+json",
                "size": len(envelope),
                "digest": layer,
                "annotations": {"dev.cosignproject.cosign/signature": "", "predicateType": SLSA_V1},
            }
        ],
    }
    s.plain.put_manifest(repo, att_tag(digest), json.dumps(manifest).encode(), "application/vnd.oci.image.manifest.v1+json")


def write_policy(s: Signer, name: str, rules: list[dict[str, Any]]) -> str:
    """A policy file (JSON, which every loader reads) of `rules`."""
    path = s.work / f"policy-{name}.json"
    path.write_text(json.dumps({"rules": rules}, indent=1))
    return str(path)


def key_signer(s: Signer, key: str) -> dict[str, Any]:
    return {"publicKey": {"certificate": Path(s.keys[key]["public"]).read_text()}}


def provenance_requirement(build_type: str) -> dict[str, Any]:
    return {
        "predicateType": SLSA_V1,
        "conditions": [
            {"path": "buildDefinition.buildType", "equals": build_type},
            {"path": "runDetails.builder.id", "regex": r"^https://ci\.imagecheck\.test/"},
        ],
    }


def sign_multi(s: Signer) -> dict[str, str]:
    """k-of-n: images signed by several keys; returns the policies."""
    s.keypair("c")
    s.keypair("d")
    s.push("multi-one", "plain", "multi/one:v1")
    sign_as(s, "multi-one", "a")
    s.push("multi-two", "plain", "multi/two:v1")
    sign_as(s, "multi-two", "a")
    sign_as(s, "multi-two", "b", bundle=True)
    s.push("multi-three", "plain", "multi/three:v1")
    for key in "abc":
        sign_as(s, "multi-three", key)
    s.push("multi-twice", "plain", "multi/twice:v1")
    sign_as(s, "multi-twice", "a")
    sign_as(s, "multi-twice", "a", note="second")
    sign_as(s, "multi-twice", "a", bundle=True)
    s.push("multi-stranger", "plain", "multi/stranger:v1")
    sign_as(s, "multi-stranger", "a")
    sign_as(s, "multi-stranger", "d", note="stranger")
    plain = s.host("plain")
    return {
        "two-of-three": write_policy(
            s,
            "two-of-three",
            [{"image": f"{plain}/multi/*", "signers": [key_signer(s, k) for k in "abc"], "threshold": 2}],
        )
    }


def sign_attested(s: Signer) -> dict[str, str]:
    """Signed attestations by key a; returns the policies."""
    provenance = predicate_file(s, "provenance", PROVENANCE)
    review = predicate_file(s, "review", REVIEW)
    key_a = s.keys["a"]["private"]
    s.push("attested-legacy", "plain", "attested/legacy:v1")
    sign_as(s, "attested-legacy", "a")
    attest(s, "attested-legacy", key_a, provenance, "slsaprovenance1", bundle=False)
    s.push("attested-bundle", "plain", "attested/bundle:v1")
    sign_as(s, "attested-bundle", "a", bundle=True)
    attest(s, "attested-bundle", key_a, provenance, "slsaprovenance1", bundle=True)
    s.push("attested-custom", "plain", "attested/custom:v1")
    sign_as(s, "attested-custom", "a")
    attest(s, "attested-custom", key_a, review, CUSTOM_TYPE, bundle=False)
    # The provenance of attested-legacy, put under another image's .att tag.
    s.push("attested-copied", "plain", "attested/legacy:copied")
    sign_as(s, "attested-copied", "a")
    copy_attestation(s, "attested-legacy", "attested-copied")
    s.push("attested-unsigned", "plain", "attested/unsigned:v1")
    sign_as(s, "attested-unsigned", "a")
    unsigned_attestation(s, "attested-unsigned")
    pattern = f"{s.host('plain')}/attested/*"
    signer = key_signer(s, "a")
    return {
        "attest-slsa": write_policy(s, "attest-slsa", [{"image": pattern, **signer, "attestations": [provenance_requirement(BUILD_TYPE)]}]),
        "attest-slsa-wrong-condition": write_policy(
            s,
            "attest-slsa-wrong-condition",
            [{"image": pattern, **signer, "attestations": [provenance_requirement("https://imagecheck.test/build/other")]}],
        ),
        "attest-custom": write_policy(
            s,
            "attest-custom",
            [
                {
                    "image": pattern,
                    **signer,
                    "attestations": [
                        {
                            "predicateType": CUSTOM_TYPE,
                            "conditions": [
                                {"path": "reviewer", "equals": REVIEW["reviewer"]},
                                {"path": "approved", "equals": True},
                            ],
                        }
                    ],
                }
            ],
        ),
    }


def sign_keyless_depth(s: Signer, leaves: dict[str, dict[str, str]]) -> dict[str, str]:
    """Test-CA leaves with Fulcio's CI extensions, and identities signing twice; returns the
    policies."""
    for label, leaf in leaves.items():
        s.leaves[label] = leaf | {"cosign_key": s.leaf_key(leaf)}
    for name, label in [("keyless-workflow", "workflow"), ("keyless-workflow-deprecated", "workflow-deprecated"), ("keyless-workflow-malformed", "workflow-malformed")]:
        s.push(name, "plain", f"keyless/{name.removeprefix('keyless-')}:v1")
        s.sign_with_certificate(name, leaves[label])
    provenance = predicate_file(s, "provenance", PROVENANCE)
    attest(s, "keyless-workflow", s.leaf_key(leaves["workflow"]), provenance, "slsaprovenance1", bundle=False, cert=leaves["workflow"])
    s.push("keyless-twice", "plain", "keyless/twice:v1")
    s.sign_with_certificate("keyless-twice", leaves["email"])
    s.sign_with_certificate("keyless-twice", leaves["email-again"], note="again")
    s.push("keyless-two", "plain", "keyless/two:v1")
    s.sign_with_certificate("keyless-two", leaves["email"])
    s.sign_with_certificate("keyless-two", leaves["uri"], note="second identity")

    pattern = f"{s.host('plain')}/keyless/*"
    workflow = {"issuer": testca.WORKFLOW_ISSUER, "subject": testca.WORKFLOW_SUBJECT}
    every_extension = {name: value for name, (_, value) in testca.WORKFLOW_EXTENSIONS.items()}
    every_extension["githubWorkflowRepository"] = testca.WORKFLOW_DEPRECATED["githubWorkflowRepository"][1]
    ref = {
        "sourceRepositoryRef": testca.WORKFLOW_EXTENSIONS["sourceRepositoryRef"][1],
        "buildTrigger": "push",
        "sourceRepositoryDigest": testca.WORKFLOW_EXTENSIONS["sourceRepositoryDigest"][1],
    }
    email = {"issuer": testca.EMAIL_ISSUER, "subject": testca.EMAIL_SUBJECT}

    def keyless(extensions: dict[str, str]) -> dict[str, Any]:
        return {"image": pattern, "keyless": {**workflow, "certificateExtensions": extensions}}

    return {
        "keyless-workflow": write_policy(s, "keyless-workflow", [keyless(every_extension)]),
        "keyless-workflow-ref": write_policy(s, "keyless-workflow-ref", [keyless(ref)]),
        "keyless-workflow-wrong-ref": write_policy(
            s, "keyless-workflow-wrong-ref", [keyless({"sourceRepositoryRefRegex": "^refs/heads/main$"})]
        ),
        "keyless-workflow-attested": write_policy(
            s,
            "keyless-workflow-attested",
            [{**keyless(ref), "attestations": [provenance_requirement(BUILD_TYPE)]}],
        ),
        "keyless-identity-twice": write_policy(
            s,
            "keyless-identity-twice",
            [
                {
                    "image": pattern,
                    "signers": [
                        {"keyless": email},
                        {"keyless": {"issuer": testca.EMAIL_ISSUER, "subjectRegex": r"^signer@imagecheck\.test$"}},
                    ],
                    "threshold": 2,
                }
            ],
        ),
        "keyless-email-and-uri": write_policy(
            s,
            "keyless-email-and-uri",
            [
                {
                    "image": pattern,
                    "signers": [
                        {"keyless": email},
                        {"keyless": {"issuer": testca.URI_ISSUER, "subjectRegex": r"^https://ci\.imagecheck\.test/"}},
                    ],
                    "threshold": 2,
                }
            ],
        ),
    }


def facts(s: Signer) -> dict[str, Any]:
    """What tests need to build policies and signatures of their own against these images."""
    extensions = {name: value for name, (_, value) in {**testca.WORKFLOW_EXTENSIONS, **testca.WORKFLOW_DEPRECATED}.items()}
    extensions["issuer"] = testca.WORKFLOW_ISSUER
    return {
        "test_ca_leaves": s.leaves,
        "certificate_extensions": extensions,
        "workflow_identity": {"issuer": testca.WORKFLOW_ISSUER, "subject": testca.WORKFLOW_SUBJECT},
        "attestations": {
            "slsa": SLSA_V1,
            "custom": CUSTOM_TYPE,
            "provenance": PROVENANCE,
            "review": REVIEW,
        },
    }
