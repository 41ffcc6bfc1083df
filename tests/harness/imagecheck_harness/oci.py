"""OCI image layouts: deterministic test images written in Python, and reading them back."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .common import HarnessError, canonical_json, sha256_digest

OCI_LAYOUT_VERSION = "1.0.0"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)

PLATFORMS: tuple[tuple[str, str], ...] = (("linux", "amd64"), ("linux", "arm64"))
SEED_ANNOTATION = "dev.imagecheck.test.seed"


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    platform: dict[str, str] | None = None

    @staticmethod
    def from_json(d: dict[str, Any]) -> Descriptor:
        return Descriptor(str(d["mediaType"]), str(d["digest"]), int(d["size"]), d.get("platform"))

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.platform is not None:
            d["platform"] = dict(self.platform)
        return d


@dataclass(frozen=True)
class LayoutInfo:
    """What make_layout wrote: the top-level descriptor and, for an index, its children."""

    path: Path
    top: Descriptor
    children: tuple[Descriptor, ...] = ()
    config_digest: str | None = None

    @property
    def is_index(self) -> bool:
        return self.top.media_type in INDEX_TYPES


class LayoutWriter:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.blobs = root / "blobs" / "sha256"
        self.blobs.mkdir(parents=True, exist_ok=True)

    def put(self, media_type: str, data: bytes, platform: dict[str, str] | None = None) -> Descriptor:
        digest = sha256_digest(data)
        (self.blobs / digest.removeprefix("sha256:")).write_bytes(data)
        return Descriptor(media_type, digest, len(data), platform)

    def finish(self, top: Descriptor) -> None:
        (self.root / "oci-layout").write_bytes(canonical_json({"imageLayoutVersion": OCI_LAYOUT_VERSION}))
        desc = top.to_json()
        desc["annotations"] = {"org.opencontainers.image.ref.name": "latest"}
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [desc]}
        (self.root / "index.json").write_bytes(canonical_json(index))


_FIXED_TIME = "2024-01-01T00:00:00Z"
_FIXED_MTIME = 1704067200  # 2024-01-01T00:00:00Z


def _layer(seed: str, os_name: str, arch: str) -> tuple[bytes, str]:
    """A deterministic gzip'd tar with one small file whose content depends on the seed."""
    content = (
        "imagecheck test image\n"
        f"seed: {seed}\n"
        f"platform: {os_name}/{arch}\n"
        f"nonce: {hashlib.sha256(f'{seed}|{os_name}|{arch}'.encode()).hexdigest()}\n"
    ).encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo("imagecheck/hello.txt")
        info.size = len(content)
        info.mtime = _FIXED_MTIME
        info.mode = 0o644
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        dir_info = tarfile.TarInfo("imagecheck")
        dir_info.type = tarfile.DIRTYPE
        dir_info.mode = 0o755
        dir_info.mtime = _FIXED_MTIME
        tar.addfile(dir_info)
        tar.addfile(info, io.BytesIO(content))
    raw = buf.getvalue()
    return gzip.compress(raw, compresslevel=6, mtime=0), sha256_digest(raw)


def _image(w: LayoutWriter, seed: str, os_name: str, arch: str, with_platform: bool) -> tuple[Descriptor, str]:
    layer_gz, diff_id = _layer(seed, os_name, arch)
    layer = w.put(OCI_LAYER_GZIP, layer_gz)
    config_obj = {
        "created": _FIXED_TIME,
        "architecture": arch,
        "os": os_name,
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["/imagecheck/hello.txt"],
            "Labels": {SEED_ANNOTATION: seed},
        },
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": _FIXED_TIME, "created_by": f"imagecheck test harness, seed {seed!r}"}],
    }
    config = w.put(OCI_CONFIG, canonical_json(config_obj))
    manifest_obj = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config.to_json(),
        "layers": [layer.to_json()],
        "annotations": {SEED_ANNOTATION: seed},
    }
    platform = {"architecture": arch, "os": os_name} if with_platform else None
    return w.put(OCI_MANIFEST, canonical_json(manifest_obj), platform), config.digest


def make_layout(out: Path, seed: str, index: bool = False) -> LayoutInfo:
    """Write a fresh OCI image layout at `out` whose content is derived from `seed` only.

    Same seed -> same digests; different seeds -> entirely distinct blobs (layers, configs,
    manifests), so no two test images ever share an image ID.
    """
    out = out.resolve()
    if out.exists():
        if (out / "oci-layout").exists():
            shutil.rmtree(out)
        elif any(out.iterdir()):
            raise HarnessError(f"{out} exists, is not empty and is not an OCI layout; refusing to overwrite")
    w = LayoutWriter(out)
    if not index:
        top, config_digest = _image(w, seed, "linux", "amd64", with_platform=False)
        w.finish(top)
        return LayoutInfo(out, top, (), config_digest)
    children = tuple(_image(w, seed, o, a, with_platform=True)[0] for o, a in PLATFORMS)
    index_obj = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [c.to_json() for c in children],
        "annotations": {SEED_ANNOTATION: seed},
    }
    top = w.put(OCI_INDEX, canonical_json(index_obj))
    w.finish(top)
    return LayoutInfo(out, top, children)


def read_layout(path: Path) -> LayoutInfo:
    """Read back the single top-level descriptor of a layout written by make_layout."""
    path = path.resolve()
    try:
        index = json.loads((path / "index.json").read_bytes())
    except (OSError, ValueError) as e:
        raise HarnessError(f"{path} is not an OCI image layout: {e}") from e
    manifests = index.get("manifests") or []
    if len(manifests) != 1:
        raise HarnessError(f"{path}/index.json must list exactly one manifest, found {len(manifests)}")
    top = Descriptor.from_json(manifests[0])
    blob = json.loads((path / "blobs" / "sha256" / top.digest.removeprefix("sha256:")).read_bytes())
    if top.media_type in INDEX_TYPES:
        return LayoutInfo(path, top, children_of(blob))
    return LayoutInfo(path, top, (), str(blob["config"]["digest"]))


def children_of(index: dict[str, Any]) -> tuple[Descriptor, ...]:
    """The descriptors an index (OCI or Docker list) lists, in its order."""
    return tuple(Descriptor.from_json(c) for c in index.get("manifests", []))
