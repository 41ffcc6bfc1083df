"""Pushing an OCI layout with skopeo, and cross-checking the digest the registry then serves."""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from .common import HarnessError, run_tool, sha256_digest
from .oci import INDEX_TYPES, Descriptor, LayoutInfo, children_of, read_layout
from .state import load_state, registry_creds


def _skopeo_env(state_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    # Never pick up credentials the machine may hold for 127.0.0.1:* from a real auth file.
    env["REGISTRY_AUTH_FILE"] = str(state_dir / "skopeo" / "auth.json")
    return env


def _skopeo_base(state_dir: Path) -> list[str]:
    regd = state_dir / "skopeo" / "registries.d"
    regd.mkdir(parents=True, exist_ok=True)
    return ["skopeo", "--insecure-policy", "--registries.d", str(regd)]


@dataclass(frozen=True)
class Pushed:
    digest: str
    media_type: str
    raw: bytes
    children: tuple[Descriptor, ...]
    config_digest: str | None


def push_layout(
    state_dir: Path,
    layout: LayoutInfo,
    dest: str,
    creds: str | None,
    fmt: str | None = None,
) -> Pushed:
    """Push a layout with skopeo and cross-check the digest three ways.

    1. what we computed ourselves (must hold byte for byte for OCI pushes without --format),
    2. skopeo copy --digestfile (what skopeo says it pushed),
    3. sha256 of `skopeo inspect --raw` (what the registry now serves for the tag).
    """
    env = _skopeo_env(state_dir)
    base = _skopeo_base(state_dir)
    digest_dir = state_dir / "skopeo"
    digest_dir.mkdir(parents=True, exist_ok=True)
    digestfile = digest_dir / f"digest-{uuid.uuid4().hex}"
    copy = base + ["copy", "--quiet", "--retry-times", "2", "--dest-tls-verify=false"]
    copy += ["--dest-creds", creds] if creds else ["--dest-no-creds"]
    if layout.is_index:
        copy.append("--all")
    if fmt:
        copy += ["--format", fmt]
    else:
        copy.append("--preserve-digests")
    copy += ["--digestfile", str(digestfile), f"oci:{layout.path}", f"docker://{dest}"]
    run_tool(copy, f"push {dest}", env)
    skopeo_digest = digestfile.read_text().strip()
    digestfile.unlink(missing_ok=True)

    inspect = base + ["inspect", "--tls-verify=false", "--raw", "--retry-times", "2"]
    inspect += ["--creds", creds] if creds else ["--no-creds"]
    raw = run_tool(inspect + [f"docker://{dest}"], f"inspect {dest}", env)
    registry_digest = sha256_digest(raw)

    if skopeo_digest != registry_digest:
        raise HarnessError(
            f"{dest}: skopeo copy reported {skopeo_digest} but the registry serves {registry_digest}"
        )
    if fmt is None and registry_digest != layout.top.digest:
        raise HarnessError(
            f"{dest}: computed {layout.top.digest} from the layout but the registry serves {registry_digest}"
        )
    doc = json.loads(raw)
    media_type = str(doc.get("mediaType", ""))
    children: tuple[Descriptor, ...] = ()
    config_digest: str | None = None
    if media_type in INDEX_TYPES:
        children = children_of(doc)
        if fmt is None and children != layout.children:
            raise HarnessError(f"{dest}: index children differ from the layout's: {children} vs {layout.children}")
    else:
        config_digest = str(doc["config"]["digest"])
    return Pushed(registry_digest, media_type, raw, children, config_digest)


def push_to(state_dir: Path, layout_dir: Path, registry: str, to: str, fmt: str | None = None) -> Pushed:
    state = load_state(state_dir)
    if registry not in state["registries"]:
        raise HarnessError(f"unknown registry {registry!r}; have {sorted(state['registries'])}")
    repo, sep, tag = to.rpartition(":")
    if not sep or not repo or "/" in tag:
        raise HarnessError(f"--to must be REPO:TAG, got {to!r}")
    host = state["registries"][registry]["host"]
    layout = read_layout(layout_dir)
    return push_layout(Path(state["state_dir"]), layout, f"{host}/{repo}:{tag}", registry_creds(state, registry), fmt)
