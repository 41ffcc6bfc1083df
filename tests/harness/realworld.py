#!/usr/bin/env python3
"""Real-world signatures in a real registry: the image-signature cases of
shared/fixtures/realworld (EXPECTATIONS.json, legacy-sig/ and bundle-v03-image/) are written into
the harness's `plain` registry, each in a repository of its own.

    realworld.py --state-dir DIR [--fixtures DIR]

The fixtures are `realworld/` in the shared fixtures directory (`$IMAGECHECK_SHARED_FIXTURES`,
else shared/fixtures beside the repository; see README.md) unless `--fixtures` names another.

Runs after `harness.py start` (and sign.py). The registry does not hold the signed images, only
their signatures: a legacy case is its `.sig` manifest under tag `sha256-<hex>.sig` with its
payload and config blobs, a bundle case an OCI referrer manifest (artifactType
application/vnd.dev.sigstore.bundle.v0.3+json, `subject` = the image digest) with its bundle
blob, listed in the referrers-tag index `sha256-<hex>`. Blobs go through the registry API
(POST + PUT upload with `?digest=`), so the registry checks every digest. A derived manifest
whose config blob is not among the fixture's files gets cosign's config for its layers (the
config is not signed; payloads and annotations are kept byte for byte).

Writes per-case policy files and DIR/realworld.json:

    {"cases": [{"name", "source", "reference": "HOST/realworld/NAME@sha256:…",
                "policy": "/abs.yaml", "trusted_root": "/abs.json" | null (= public good),
                "expected": "valid" | "invalid", "why"}]}

`cases` holds every fixture case and then the negative mutations (`mutation: true`): wrong
identity, wrong issuer, the staging root for a public-good signature, and a real signature of
another image under the `.sig` tag of this digest. Python 3.11, stdlib only.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from imagecheck_harness.common import HarnessError, logger, sha256_digest, write_atomic  # noqa: E402
from imagecheck_harness.fixtures import shared_fixtures  # noqa: E402
from imagecheck_harness.oci import OCI_INDEX, OCI_MANIFEST  # noqa: E402
from imagecheck_harness.registry_api import PlainRegistry  # noqa: E402
from imagecheck_harness.state import load_state  # noqa: E402

BUNDLE_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
EMPTY_JSON = b"{}"

# EXPECTATIONS.json's verdict, as the image Verifier must conclude it, where its text is not
# simply "valid" / "invalid".
VERDICTS = {
    "legacy-sig/containers-image-key-mixed": ("valid", "signature-2 is valid; signature-1 is by an unknown key"),
    "legacy-sig/containers-image-other-attachment": ("invalid", "the layer is text/plain, not a cosign signature"),
    "legacy-sig/containers-image-pki-valid": (
        "invalid",
        "a private-PKI certificate without a Rekor entry: the public-good root requires one",
    ),
    "legacy-sig/sigstore-rs-2021-keyless-rekord": (
        "invalid",
        "no embedded SCT (the public-good root lists CT logs) and no OIDC-issuer extension",
    ),
    "bundle-v03-image/kubewarden-controller-v1.34.0": ("valid", "cosign v3 bundle for this digest"),
    "bundle-v03-image/cosign-oci-attestation-empty-image": (
        "invalid",
        "an in-toto attestation, not a cosign/sign/v1 image signature",
    ),
}


log = logger("realworld")


def cosign_config(layer_digests: list[str]) -> bytes:
    """The config blob cosign writes for a signature image with these layers."""
    doc = {
        "architecture": "",
        "created": "0001-01-01T00:00:00Z",
        "history": [{"created": "0001-01-01T00:00:00Z"} for _ in layer_digests],
        "os": "",
        "rootfs": {"type": "layers", "diff_ids": layer_digests},
        "config": {},
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def files_by_digest(case_dir: Path) -> dict[str, bytes]:
    return {sha256_digest(p.read_bytes()): p.read_bytes() for p in case_dir.iterdir() if p.is_file()}


def legacy_manifest(case_dir: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The case's `.sig` manifest (as JSON) and the blobs it names that the fixture has."""
    blobs = files_by_digest(case_dir)
    if (case_dir / "sig-manifest.json").is_file():
        return json.loads((case_dir / "sig-manifest.json").read_text()), blobs
    parts = sorted(case_dir.glob("sig-manifest.derived*.json"))
    if parts:
        manifests = [json.loads(p.read_text()) for p in parts]
        manifest = manifests[0]
        # Several derived manifests (one per upstream signature): one .sig image, one layer each.
        manifest["layers"] = [layer for m in manifests for layer in m["layers"]]
        return manifest, blobs
    # Loose components (containers/image 2022): assemble the layer cosign would have written.
    payload = (case_dir / "rekor-payload").read_bytes()
    blobs[sha256_digest(payload)] = payload
    annotations = {
        "dev.cosignproject.cosign/signature": (case_dir / "rekor-sig").read_text().strip(),
        "dev.sigstore.cosign/certificate": (case_dir / "rekor-cert").read_text(),
        "dev.sigstore.cosign/chain": (case_dir / "fulcio-chain").read_text(),
        "dev.sigstore.cosign/bundle": json.dumps(
            json.loads((case_dir / "rekor-set").read_text()), separators=(",", ":")
        ),
    }
    layer = {
        "mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
        "size": len(payload),
        "digest": sha256_digest(payload),
        "annotations": annotations,
    }
    return {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": {}, "layers": [layer]}, blobs


class Writer:
    def __init__(self, state_dir: Path, fixtures: Path) -> None:
        self.state = load_state(state_dir)
        self.host = str(self.state["registries"]["plain"]["host"])
        self.registry = PlainRegistry(self.host)
        self.fixtures = fixtures
        self.work = state_dir / "realworld"
        self.work.mkdir(parents=True, exist_ok=True)
        self.cases: list[dict[str, Any]] = []

    def write_legacy(self, repo: str, case_dir: Path, digest: str) -> None:
        manifest, blobs = legacy_manifest(case_dir)
        for layer in manifest["layers"]:
            data = blobs.get(layer["digest"])
            if data is None:
                raise HarnessError(f"{case_dir}: no file has the layer digest {layer['digest']}")
            assert len(data) == layer["size"], f"{case_dir}: layer size"
            self.registry.put_blob(repo, data)
        config = blobs.get(manifest["config"].get("digest", ""))
        if config is None:
            config = cosign_config([layer["digest"] for layer in manifest["layers"]])
            manifest["config"] = {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "size": len(config),
                "digest": sha256_digest(config),
            }
        self.registry.put_blob(repo, config)
        body = (
            (case_dir / "sig-manifest.json").read_bytes()
            if (case_dir / "sig-manifest.json").is_file()
            else json.dumps(manifest, indent=2).encode()
        )
        self.registry.put_manifest(repo, digest.replace(":", "-") + ".sig", body, manifest["mediaType"])

    def write_bundle(self, repo: str, case_dir: Path, digest: str) -> None:
        bundle = (case_dir / "bundle.sigstore.json").read_bytes()
        self.registry.put_blob(repo, bundle)
        self.registry.put_blob(repo, EMPTY_JSON)
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": BUNDLE_TYPE,
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "size": 2, "digest": sha256_digest(EMPTY_JSON)},
            "layers": [{"mediaType": BUNDLE_TYPE, "size": len(bundle), "digest": sha256_digest(bundle)}],
            "annotations": {"dev.sigstore.bundle.content": "dsse-envelope"},
            # The image itself is not in the registry; its size is not known here.
            "subject": {"mediaType": OCI_MANIFEST, "size": 0, "digest": digest},
        }
        body = json.dumps(manifest, indent=2).encode()
        manifest_digest = self.registry.put_manifest(repo, sha256_digest(body), body, OCI_MANIFEST)
        index = {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {"mediaType": OCI_MANIFEST, "size": len(body), "digest": manifest_digest, "artifactType": BUNDLE_TYPE}
            ],
        }
        self.registry.put_manifest(repo, digest.replace(":", "-"), json.dumps(index, indent=2).encode(), OCI_INDEX)

    def policy(self, name: str, repo: str, rule: dict[str, Any]) -> str:
        lines = [
            "apiVersion: v1alpha1",
            "kind: ImageVerificationConfig",
            "rules:",
            f'  - image: "{self.host}/{repo}"',
        ]
        if "publicKey" in rule:
            lines += ["    publicKey:", "      certificate: |"]
            lines += ["        " + line for line in rule["publicKey"].strip().splitlines()]
        else:
            lines += ["    keyless:"] + [f"      {k}: {json.dumps(v)}" for k, v in rule["keyless"].items()]
        path = self.work / f"policy-{name}.yaml"
        path.write_text("\n".join(lines) + "\n")
        return str(path)

    def rule(self, case: dict[str, Any]) -> dict[str, Any]:
        trust, identity = case.get("trust", {}), case.get("identity") or {}
        if "public_key" in trust:
            return {"publicKey": (self.fixtures / trust["public_key"]).read_text()}
        subject = str(identity.get("san") or identity.get("san_email"))
        issuer = identity.get("issuer")
        keyless: dict[str, str] = {"issuer": issuer} if issuer else {"issuerRegex": ".*"}
        if case["id"] == "legacy-sig/sigstore-rs-2021-keyless-rekord":
            keyless = {"issuer": "https://github.com/login/oauth"}
        keyless["subject"] = subject
        return {"keyless": keyless}

    def add(self, name: str, source: str, repo: str, digest: str, rule: dict[str, Any], **extra: Any) -> None:
        self.cases.append(
            {
                "name": name,
                "source": source,
                "reference": f"{self.host}/{repo}@{digest}",
                "policy": self.policy(name, repo, rule),
                "trusted_root": extra.pop("trusted_root", None),
                **extra,
            }
        )

    def run(self) -> None:
        expectations = json.loads((self.fixtures / "EXPECTATIONS.json").read_text())
        by_id: dict[str, dict[str, Any]] = {}
        for case in expectations["cases"]:
            cid: str = case["id"]
            if not cid.startswith(("legacy-sig/", "bundle-v03-image/")):
                continue
            by_id[cid] = case
            name = cid.split("/", 1)[1].lower()
            repo = f"realworld/{name}"
            digest = case["image_digest"]
            case_dir = self.fixtures / cid
            if cid.startswith("bundle-v03-image/"):
                self.write_bundle(repo, case_dir, digest)
            else:
                self.write_legacy(repo, case_dir, digest)
            text: str = case["expected"]
            verdict = "valid" if text.startswith("valid") else "invalid" if text.startswith("invalid") else ""
            assert verdict, f"{cid}: expected {text!r}"
            expected, why = VERDICTS.get(cid, (verdict, text))
            self.add(name, cid, repo, digest, self.rule(case), expected=expected, why=why)
        log(f"wrote {len(self.cases)} real-world signatures to {self.host}")

        # Negative mutations, through the registry.
        email = by_id["legacy-sig/salrashid123-server_image-email"]
        email_repo, email_digest = "realworld/salrashid123-server_image-email", email["image_digest"]
        rule = self.rule(email)
        self.add(
            "mutation-wrong-identity", email["id"], email_repo, email_digest,
            {"keyless": {**rule["keyless"], "subject": "someone-else@example.com"}},
            expected="invalid", why="identity mismatch (subject)", mutation=True,
        )
        self.add(
            "mutation-wrong-issuer", email["id"], email_repo, email_digest,
            {"keyless": {**rule["keyless"], "issuer": "https://token.actions.githubusercontent.com"}},
            expected="invalid", why="identity mismatch (issuer)", mutation=True,
        )
        self.add(
            "mutation-staging-root", email["id"], email_repo, email_digest, rule,
            trusted_root=str(self.fixtures / "trust" / "staging-trusted_root.json"),
            expected="invalid", why="a public-good signature under the staging trust root", mutation=True,
        )
        # The email image's real signature stored as the signature of another digest.
        other = by_id["legacy-sig/salrashid123-server_image-gha-v0.0.14"]["image_digest"]
        other_repo = "realworld/other-digest"
        self.write_legacy(other_repo, self.fixtures / email["id"], other)
        self.add(
            "mutation-other-digest", email["id"], other_repo, other, rule,
            expected="invalid", why="the signature names another image digest", mutation=True,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--state-dir", required=True, type=Path)
    parser.add_argument(
        "--fixtures",
        type=Path,
        default=None,
        help="the realworld fixtures directory (default: realworld/ in the shared fixtures)",
    )
    args = parser.parse_args()
    state_dir = args.state_dir.resolve()
    try:
        fixtures = args.fixtures.resolve() if args.fixtures else shared_fixtures("realworld")
        writer = Writer(state_dir, fixtures)
        writer.run()
    except (HarnessError, OSError) as e:
        print(f"realworld: {e}", file=sys.stderr)
        return 1
    out = state_dir / "realworld.json"
    write_atomic(out, json.dumps({"cases": writer.cases}, indent=1).encode())
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
