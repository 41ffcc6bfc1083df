#!/usr/bin/env python3
"""Signing stage of the test harness: real cosign signs harness images.

    sign.py --state-dir DIR [--cosign PATH]

Runs after `harness.py start --state-dir DIR`. Generates two cosign key pairs, pushes fresh
images to the harness registries and signs them with real cosign (legacy `.sig` format and the
cosign v3 bundle format, `--tlog-upload=false`), builds the negative cases (wrong key, unsigned,
a signature copied from another digest, a tampered payload, a tag moved after signing), writes
policy files and DIR/signed.json. Also keyless-style signatures by real cosign with a test CA
standing in for Fulcio (testca.py; `--certificate/--certificate-chain`, no transparency log):
images `keyless-email`, `keyless-uri` and `keyless-username` (Fulcio's otherName username
SAN), policies `keyless-*` (among them subject and subjectRegex together, as Talos documents may
write them), trust root `test-ca`. The images and policies of imagecheck's policy extensions (k
of n signers, attestations, Fulcio certificate extensions) are made by sign_depth.py. Talos
layouts and keys (`sign_talos_parity`): real cosign bundles rearranged into the `sha256-<hex>`
tag layouts Talos also reads (an image manifest whose layers are bundles; bundle media types in
their `+json;version=0.3` spelling), and an image signed by an RSA key that policy `rsa-pkcs1`
names as an `RSA PUBLIC KEY` (PKCS#1) PEM. Policy
`spelling` holds deny rules on public registry names (`ghcr.io/evil/*`, and a Talos pattern
written against Docker Hub's API host) that conformance cases reach through other spellings of
the same registry; deny answers before any I/O, so those cases never leave the machine:

    {"images":   {NAME: {"reference": "HOST/REPO:TAG", "digest": "sha256:…", "registry": …}},
     "policies": {NAME: "/abs/path.yaml"},
     "trust_roots": {NAME: "/abs/trusted_root.json"},
     "keys":     {"a": {"public": path, "private": path}, "b": {...}},
     "cosign":   "/path/to/cosign", "password": "…"}

Tests substitute `{signed:NAME}`, `{signed-digest:NAME}` and `{policy:NAME}` from it
(tests/conformance/README.md). Python 3.11, stdlib only.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sign_depth  # noqa: E402
import testca  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402
from imagecheck_harness.common import HarnessError, logger, run_tool, sha256_digest, write_atomic  # noqa: E402
from imagecheck_harness.oci import OCI_INDEX, OCI_MANIFEST, make_layout  # noqa: E402
from imagecheck_harness.registry_api import PlainRegistry  # noqa: E402
from imagecheck_harness.skopeo import push_to  # noqa: E402
from imagecheck_harness.state import load_state, registry_creds  # noqa: E402

PASSWORD = "imagecheck-test-key-password"

log = logger("sign")


def run(argv: list[str], env: dict[str, str] | None = None, what: str = "") -> str:
    return run_tool(argv, what or argv[0], dict(os.environ) | (env or {}), timeout=300).decode()


class Signer:
    def __init__(self, state_dir: Path, cosign: str) -> None:
        self.state_dir = state_dir
        self.state = load_state(state_dir)
        self.cosign = cosign
        self.work = state_dir / "signing"
        shutil.rmtree(self.work, ignore_errors=True)
        self.work.mkdir(parents=True)
        self.images: dict[str, dict[str, str]] = {}
        self.keys: dict[str, dict[str, str]] = {}
        self.password = PASSWORD
        # The test CA's leaves, each with its cosign key file (`cosign_key`), once signed with.
        self.leaves: dict[str, dict[str, str]] = {}

    def host(self, registry: str) -> str:
        return str(self.state["registries"][registry]["host"])

    def keypair(self, name: str) -> None:
        prefix = self.work / f"key-{name}"
        run(
            [self.cosign, "generate-key-pair", "--output-key-prefix", str(prefix)],
            env={"COSIGN_PASSWORD": PASSWORD},
            what="cosign generate-key-pair",
        )
        self.keys[name] = {"public": f"{prefix}.pub", "private": f"{prefix}.key"}

    def push(self, name: str, registry: str, repo_tag: str, seed: str | None = None) -> str:
        layout = self.work / "layouts" / name
        shutil.rmtree(layout, ignore_errors=True)
        make_layout(layout, seed or f"signed-{name}-{os.getpid()}")
        pushed = push_to(self.state_dir, layout, registry, repo_tag)
        self.images[name] = {
            "reference": f"{self.host(registry)}/{repo_tag}",
            "digest": pushed.digest,
            "registry": registry,
        }
        return pushed.digest

    def sign(self, name: str, key: str, bundle: bool) -> None:
        image = self.images[name]
        repo = image["reference"].rsplit(":", 1)[0]
        argv = [
            self.cosign, "sign", "--yes", "--key", self.keys[key]["private"],
            "--tlog-upload=false", "--use-signing-config=false",
            "--allow-insecure-registry", "--allow-http-registry",
            f"--new-bundle-format={'true' if bundle else 'false'}",
        ]
        creds = registry_creds(self.state, image["registry"])
        if creds:
            user, password = creds.split(":", 1)
            argv += ["--registry-username", user, "--registry-password", password]
        argv.append(f"{repo}@{image['digest']}")
        run(argv, env={"COSIGN_PASSWORD": PASSWORD}, what=f"cosign sign {name}")

    # -- direct registry writes for the forged cases (plain registry, no auth) -------------

    @property
    def plain(self) -> PlainRegistry:
        return PlainRegistry(self.host("plain"))

    def copy_signature(self, source: str, target: str) -> None:
        """Put `source`'s legacy signature manifest under `target`'s .sig tag (same repo)."""
        src, dst = self.images[source], self.images[target]
        repo = src["reference"].split("/", 1)[1].rsplit(":", 1)[0]
        assert repo == dst["reference"].split("/", 1)[1].rsplit(":", 1)[0]
        body, media_type = self.plain.get(repo, "manifests", sig_tag(src["digest"]))
        self.plain.put_manifest(repo, sig_tag(dst["digest"]), body, media_type.split(";")[0])

    def copy_signature_to(self, source: str, target: str) -> None:
        """Copy `source`'s legacy signature (plain registry) to `target`'s repository on another
        registry; both images have the same digest. Used for the token registry, where cosign
        refuses to sign: its registry client rejects a token realm on a loopback address."""
        src, dst = self.images[source], self.images[target]
        assert src["digest"] == dst["digest"], "the copy must be of the same image"
        tag = sig_tag(src["digest"])
        argv = [
            "skopeo", "copy", "--quiet", "--preserve-digests",
            "--src-tls-verify=false", "--dest-tls-verify=false",
        ]
        creds = registry_creds(self.state, dst["registry"])
        if creds:
            argv.append(f"--dest-creds={creds}")
        src_repo = src["reference"].rsplit(":", 1)[0]
        dst_repo = dst["reference"].rsplit(":", 1)[0]
        run(argv + [f"docker://{src_repo}:{tag}", f"docker://{dst_repo}:{tag}"], what="skopeo copy signature")

    def tamper_payload(self, name: str) -> None:
        """Replace the payload of `name`'s legacy signature with other bytes, keeping the
        signature annotation: the signature no longer covers the payload."""
        image = self.images[name]
        repo = image["reference"].split("/", 1)[1].rsplit(":", 1)[0]
        body, media_type = self.plain.get(repo, "manifests", sig_tag(image["digest"]))
        manifest: dict[str, Any] = json.loads(body)
        layer = manifest["layers"][0]
        payload, _ = self.plain.get(repo, "blobs", layer["digest"])
        doc = json.loads(payload)
        doc["optional"] = {"tampered": "yes"}
        forged = json.dumps(doc, separators=(",", ":")).encode()
        layer["digest"] = self.plain.put_blob(repo, forged)
        layer["size"] = len(forged)
        self.plain.put_manifest(repo, sig_tag(image["digest"]), json.dumps(manifest).encode(), media_type.split(";")[0])

    def policy(self, name: str, key: str) -> str:
        public = Path(self.keys[key]["public"]).read_text()
        plain, token = self.host("plain"), self.host("token")
        indent = "\n".join("          " + line for line in public.strip().splitlines())
        text = f"""apiVersion: v1alpha1
kind: ImageVerificationConfig
rules:
  - image: "{plain}/signed/skipped"
    skip: true
  - image: "{plain}/signed/denied"
    deny: true
  - image: "{plain}/signed/*"
    publicKey:
      certificate: |
{indent}
  - image: "{token}/private/*"
    publicKey:
      certificate: |
{indent}
"""
        path = self.work / f"policy-{name}.yaml"
        path.write_text(text)
        return str(path)


    # -- keyless: a test CA standing in for Fulcio ----------------------------------------

    def leaf_key(self, leaf: dict[str, str]) -> str:
        """The cosign key file of a test-CA leaf, imported once."""
        prefix = Path(leaf["key"]).with_suffix("").with_suffix("")
        if not Path(f"{prefix}.key").exists():
            run(
                [self.cosign, "import-key-pair", "--key", leaf["key"], "--output-key-prefix", str(prefix)],
                env={"COSIGN_PASSWORD": PASSWORD},
                what="cosign import-key-pair",
            )
        return f"{prefix}.key"

    def sign_with_certificate(self, name: str, leaf: dict[str, str], note: str = "") -> None:
        """Legacy `.sig` keyless-style signature by real cosign with a leaf of the test CA
        (`--certificate`, `--certificate-chain`), no transparency log; `note` adds an
        annotation (another payload, so a second signature beside an earlier one)."""
        image = self.images[name]
        repo = image["reference"].rsplit(":", 1)[0]
        argv = [
            self.cosign, "sign", "--yes", "--key", self.leaf_key(leaf),
            "--certificate", leaf["certificate"], "--certificate-chain", leaf["chain"],
            "--tlog-upload=false", "--use-signing-config=false",
            "--allow-insecure-registry", "--allow-http-registry", "--new-bundle-format=false",
        ]
        if note:
            argv += ["-a", f"note={note}"]
        run(argv + [f"{repo}@{image['digest']}"], env={"COSIGN_PASSWORD": PASSWORD}, what=f"cosign sign --certificate {name}")

    def spelling_policy(self) -> str:
        """Deny rules that every spelling of their registry must hit (issue 19, finding 1)."""
        text = """apiVersion: v1alpha1
kind: ImageVerificationConfig
rules:
  - image: "ghcr.io/evil/*"
    deny: true
  - image: "registry-1.docker.io/library/*"
    deny: true
"""
        path = self.work / "policy-spelling.yaml"
        path.write_text(text)
        return str(path)

    def keyless_policy(self, name: str, identity: dict[str, str]) -> str:
        fields = "\n".join(f"      {k}: {json.dumps(v)}" for k, v in identity.items())
        text = f"""apiVersion: v1alpha1
kind: ImageVerificationConfig
rules:
  - image: "{self.host('plain')}/keyless/*"
    keyless:
{fields}
"""
        path = self.work / f"policy-{name}.yaml"
        path.write_text(text)
        return str(path)


def sign_keyless(s: Signer) -> tuple[dict[str, str], dict[str, str]]:
    """Images signed by real cosign with the test CA's leaves; returns (policies, trust roots)."""
    ca = testca.make_test_ca(s.work / "test-ca")
    leaves: dict[str, dict[str, str]] = ca["leaves"]  # type: ignore[assignment]
    s.push("keyless-email", "plain", "keyless/email:v1")
    s.sign_with_certificate("keyless-email", leaves["email"])
    s.push("keyless-uri", "plain", "keyless/uri:v1")
    s.sign_with_certificate("keyless-uri", leaves["uri"])
    s.push("keyless-username", "plain", "keyless/username:v1")
    s.sign_with_certificate("keyless-username", leaves["username"])
    uri_prefix = r"^https://ci\.imagecheck\.test/"
    policies = sign_depth.sign_keyless_depth(s, leaves)
    policies |= {
        "keyless-email": s.keyless_policy(
            "keyless-email", {"issuer": testca.EMAIL_ISSUER, "subject": testca.EMAIL_SUBJECT}
        ),
        "keyless-wrong-subject": s.keyless_policy(
            "keyless-wrong-subject", {"issuer": testca.EMAIL_ISSUER, "subject": "someone-else@imagecheck.test"}
        ),
        "keyless-wrong-issuer": s.keyless_policy(
            "keyless-wrong-issuer", {"issuer": testca.URI_ISSUER, "subject": testca.EMAIL_SUBJECT}
        ),
        "keyless-uri-regex": s.keyless_policy(
            "keyless-uri-regex",
            {
                "issuer": testca.URI_ISSUER,
                "subjectRegex": r"^https://ci\.imagecheck\.test/workflows/release\.yaml@refs/tags/v[0-9.]+$",
            },
        ),
        "keyless-username": s.keyless_policy(
            "keyless-username", {"issuer": testca.USERNAME_ISSUER, "subject": testca.USERNAME_SUBJECT}
        ),
        # subject and subjectRegex together (valid in Talos documents): both must match.
        "keyless-uri-subject-and-regex": s.keyless_policy(
            "keyless-uri-subject-and-regex",
            {"issuer": testca.URI_ISSUER, "subject": testca.URI_SUBJECT, "subjectRegex": uri_prefix},
        ),
        "keyless-uri-subject-not-regex": s.keyless_policy(
            "keyless-uri-subject-not-regex",
            {"issuer": testca.URI_ISSUER, "subject": testca.URI_SUBJECT, "subjectRegex": r"^https://ci\.other\.test/"},
        ),
        # The regex matches, the subject does not: Talos's legacy path (regex alone) would pass.
        "keyless-uri-regex-not-subject": s.keyless_policy(
            "keyless-uri-regex-not-subject",
            {
                "issuer": testca.URI_ISSUER,
                "subject": testca.URI_SUBJECT.replace("release.yaml", "other.yaml"),
                "subjectRegex": uri_prefix,
            },
        ),
    }
    return policies, {"test-ca": str(ca["trusted_root"])}


BUNDLE_V03 = "application/vnd.dev.sigstore.bundle.v0.3+json"
BUNDLE_VERSION_03 = "application/vnd.dev.sigstore.bundle+json;version=0.3"
EMPTY_JSON = b"{}"


def bundle_tag(digest: str) -> str:
    return digest.replace(":", "-")


def relayout_bundle(s: Signer, name: str, layout: str, media_type: str) -> None:
    """Rewrite the `sha256-<hex>` tag cosign wrote for `name` (a referrers index naming one
    referrer manifest, whose layer is the bundle) into another layout of the same bundle:
    `manifest`, an image manifest under that tag whose layer is the bundle, as Talos reads it;
    `index`, the referrers index and referrer manifest again, with `media_type` as the
    artifact and layer type. The bundle blob itself is untouched."""
    image = s.images[name]
    repo = image["reference"].split("/", 1)[1].rsplit(":", 1)[0]
    tag = bundle_tag(image["digest"])
    index = json.loads(s.plain.get(repo, "manifests", tag)[0])
    [entry] = index["manifests"]
    referrer = json.loads(s.plain.get(repo, "manifests", entry["digest"])[0])
    [bundle] = referrer["layers"]
    empty = {"mediaType": "application/vnd.oci.empty.v1+json", "size": 2, "digest": s.plain.put_blob(repo, EMPTY_JSON)}
    layer = {"mediaType": media_type, "size": bundle["size"], "digest": bundle["digest"]}
    if layout == "manifest":
        manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": empty, "layers": [layer]}
        s.plain.put_manifest(repo, tag, json.dumps(manifest).encode(), OCI_MANIFEST)
        return
    assert layout == "index", layout
    referrer = dict(referrer, artifactType=media_type, config=empty, layers=[layer])
    body = json.dumps(referrer).encode()
    referrer_digest = s.plain.put_manifest(repo, sha256_digest(body), body, OCI_MANIFEST)
    index["manifests"] = [{"mediaType": OCI_MANIFEST, "size": len(body), "digest": referrer_digest, "artifactType": media_type}]
    s.plain.put_manifest(repo, tag, json.dumps(index).encode(), OCI_INDEX)


def rsa_keypair(s: Signer) -> None:
    """Key pair `rsa`: an RSA-3072 key imported into cosign, its public key as a PKCS#1
    `RSA PUBLIC KEY` PEM (what Talos's publicKey.certificate also takes)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    pkcs8 = s.work / "key-rsa.pkcs8.pem"
    pkcs8.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    prefix = s.work / "key-rsa"
    run(
        [s.cosign, "import-key-pair", "--key", str(pkcs8), "--output-key-prefix", str(prefix)],
        env={"COSIGN_PASSWORD": PASSWORD},
        what="cosign import-key-pair (RSA)",
    )
    pkcs1 = s.work / "key-rsa.pkcs1.pem"
    pkcs1.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1))
    s.keys["rsa"] = {"public": str(pkcs1), "private": f"{prefix}.key"}


def sign_talos_parity(s: Signer) -> dict[str, str]:
    """Layouts and keys Talos reads that cosign does not write by default; returns policies."""
    # A bundle by key `a` as a layer of an image manifest under the sha256-<hex> tag, with
    # each spelling of the v0.3 media type; and a referrers index in the `;version=` spelling.
    for name, layout, media_type in [
        ("bundle-layers-v03", "manifest", BUNDLE_V03),
        ("bundle-layers-version03", "manifest", BUNDLE_VERSION_03),
        ("bundle-index-version03", "index", BUNDLE_VERSION_03),
    ]:
        s.push(name, "plain", f"signed/{name}:v1")
        s.sign(name, "a", bundle=True)
        relayout_bundle(s, name, layout, media_type)
    # Signed by an RSA key, named in the policy as an RSA PUBLIC KEY (PKCS#1) PEM.
    rsa_keypair(s)
    s.push("rsa", "plain", "rsa/app:v1")
    s.sign("rsa", "rsa", bundle=False)
    public = Path(s.keys["rsa"]["public"]).read_text()
    indent = "\n".join("          " + line for line in public.strip().splitlines())
    path = s.work / "policy-rsa-pkcs1.yaml"
    path.write_text(
        f"""apiVersion: v1alpha1
kind: ImageVerificationConfig
rules:
  - image: "{s.host('plain')}/rsa/*"
    publicKey:
      certificate: |
{indent}
"""
    )
    return {"rsa-pkcs1": str(path)}


def sig_tag(digest: str) -> str:
    return digest.replace(":", "-") + ".sig"


def sign_all(state_dir: Path, cosign: str) -> dict[str, Any]:
    s = Signer(state_dir, cosign)
    s.keypair("a")
    s.keypair("b")
    log("key pairs generated; pushing and signing images")
    # Signed the two ways cosign signs, with the key the policy names.
    s.push("legacy", "plain", "signed/legacy:v1")
    s.sign("legacy", "a", bundle=False)
    s.push("bundle", "plain", "signed/bundle:v1")
    s.sign("bundle", "a", bundle=True)
    # Signed like "legacy", in a repository of its own: tests count requests there.
    s.push("counted", "plain", "signed/counted:v1")
    s.sign("counted", "a", bundle=False)
    # Negative cases.
    s.push("unsigned", "plain", "signed/unsigned:v1")
    s.push("wrongkey", "plain", "signed/wrongkey:v1")
    s.sign("wrongkey", "b", bundle=False)
    s.push("wrongkey-bundle", "plain", "signed/wrongkey-bundle:v1")
    s.sign("wrongkey-bundle", "b", bundle=True)
    # A signature copied from another digest of the same repository.
    s.push("copied-from", "plain", "signed/copied:source")
    s.sign("copied-from", "a", bundle=False)
    s.push("copied", "plain", "signed/copied:v1")
    s.copy_signature("copied-from", "copied")
    # A payload changed after signing.
    s.push("tampered", "plain", "signed/tampered:v1")
    s.sign("tampered", "a", bundle=False)
    s.tamper_payload("tampered")
    # A tag moved to an unsigned image after its first image was signed.
    s.push("moved-before", "plain", "signed/moved:v1")
    s.sign("moved-before", "a", bundle=False)
    s.push("moved", "plain", "signed/moved:v1", seed=f"moved-after-{os.getpid()}")
    # Rules that never reach a registry.
    s.push("skipped", "plain", "signed/skipped:v1")
    s.push("denied", "plain", "signed/denied:v1")
    # A signed private image behind token auth.
    private_seed = f"signed-private-{os.getpid()}"
    s.push("private-source", "plain", "signed/private-source:v1", seed=private_seed)
    s.sign("private-source", "a", bundle=False)
    s.push("private", "token", "private/signed:v1", seed=private_seed)
    s.copy_signature_to("private-source", "private")
    policies = {
        "key-a": s.policy("key-a", "a"),
        "key-b": s.policy("key-b", "b"),
        "spelling": s.spelling_policy(),
    }
    keyless_policies, trust_roots = sign_keyless(s)
    policies.update(keyless_policies)
    policies.update(sign_talos_parity(s))
    # k of n signers and signed attestations (issue 16).
    policies.update(sign_depth.sign_multi(s))
    policies.update(sign_depth.sign_attested(s))
    signed = {
        "images": s.images,
        "policies": policies,
        "trust_roots": trust_roots,
        "keys": s.keys,
        "cosign": cosign,
        "password": PASSWORD,
        **sign_depth.facts(s),
    }
    write_atomic(state_dir / "signed.json", json.dumps(signed, indent=1).encode())
    return signed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--state-dir", required=True, type=Path)
    parser.add_argument("--cosign", default=shutil.which("cosign") or str(Path.home() / "go/bin/cosign"))
    args = parser.parse_args()
    if not Path(args.cosign).exists():
        print(f"sign: cosign not found at {args.cosign}; run tests/harness/install-cosign.sh", file=sys.stderr)
        return 1
    try:
        signed = sign_all(args.state_dir.resolve(), args.cosign)
    except HarnessError as e:
        print(f"sign: {e}", file=sys.stderr)
        return 1
    log(f"signed {len(signed['images'])} images; wrote {args.state_dir / 'signed.json'}")
    print(args.state_dir / "signed.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
