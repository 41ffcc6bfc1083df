"""Reads and uploads straight through the distribution API, for test data no client would push.

Through `common.DIRECT`, which ignores proxy settings: the registry is on 127.0.0.1."""

from __future__ import annotations

import urllib.request

from .common import DIRECT, HarnessError, sha256_digest
from .oci import OCI_INDEX, OCI_MANIFEST


class PlainRegistry:
    """Uploads straight through the distribution API to a registry without auth (the harness's
    `plain` one): for test data no client would push, such as forged or replayed signatures."""

    def __init__(self, host: str) -> None:
        self.host = host

    def get(self, repo: str, kind: str, ref: str, accept: str = "") -> tuple[bytes, str]:
        """GET /v2/REPO/KIND/REF (`kind` is `manifests` or `blobs`): the body and its Content-Type."""
        req = urllib.request.Request(f"http://{self.host}/v2/{repo}/{kind}/{ref}")
        req.add_header("Accept", accept or f"{OCI_MANIFEST}, {OCI_INDEX}")
        with DIRECT.open(req, timeout=10) as resp:
            return bytes(resp.read()), str(resp.headers.get("Content-Type", ""))

    def put_blob(self, repo: str, data: bytes) -> str:
        digest = sha256_digest(data)
        req = urllib.request.Request(f"http://{self.host}/v2/{repo}/blobs/uploads/", method="POST")
        with DIRECT.open(req, timeout=10) as resp:
            location = resp.headers["Location"]
        if location.startswith("/"):
            location = f"http://{self.host}{location}"
        sep = "&" if "?" in location else "?"
        put = urllib.request.Request(f"{location}{sep}digest={digest}", data=data, method="PUT")
        put.add_header("Content-Type", "application/octet-stream")
        DIRECT.open(put, timeout=10).close()
        return digest

    def put_manifest(self, repo: str, ref: str, body: bytes, media_type: str) -> str:
        req = urllib.request.Request(f"http://{self.host}/v2/{repo}/manifests/{ref}", data=body, method="PUT")
        req.add_header("Content-Type", media_type)
        with DIRECT.open(req, timeout=10) as resp:
            served = resp.headers.get("Docker-Content-Digest", "")
        digest = sha256_digest(body)
        if served and served != digest:
            raise HarnessError(f"registry stored {repo}:{ref} as {served}, expected {digest}")
        return digest
