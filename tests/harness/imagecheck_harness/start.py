"""`harness.py start`: bring up the token server and the four registries, push and check the test
images, write DIR/state.json. What each step promises is in README.md."""

from __future__ import annotations

import secrets
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import token_server
from .common import HarnessError, log, write_atomic
from .oci import DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST, LayoutInfo, make_layout
from .processes import Started, alive, free_ports, read_pids, start_time, stop_harness
from .registries import BASIC_REALM, BASIC_USER, REGISTRY_NAMES, Registry, htpasswd_line, wait_registries
from .skopeo import push_layout
from .state import STATE_FILE, save_state
from .tls_ca import generate_tls_ca_and_server_cert


@dataclass(frozen=True)
class ImageSpec:
    name: str
    registry: str
    repository: str
    tag: str
    index: bool
    fmt: str | None
    media_type: str


IMAGES: tuple[ImageSpec, ...] = (
    ImageSpec("hello-oci", "plain", "test/hello", "v1", False, None, OCI_MANIFEST),
    ImageSpec("index-oci", "plain", "test/index", "v1", True, None, OCI_INDEX),
    ImageSpec("docker-v2s2", "plain", "test/docker", "v1", False, "v2s2", DOCKER_MANIFEST),
    ImageSpec("dockerlist-v2s2", "plain", "test/dockerlist", "v1", True, "v2s2", DOCKER_LIST),
    ImageSpec("basic-hello-oci", "basic", "test/hello", "v1", False, None, OCI_MANIFEST),
    ImageSpec("basic-index-oci", "basic", "test/index", "v1", True, None, OCI_INDEX),
    ImageSpec("token-private-hello-oci", "token", "private/hello", "v1", False, None, OCI_MANIFEST),
    ImageSpec("token-private-index-oci", "token", "private/index", "v1", True, None, OCI_INDEX),
    ImageSpec("token-public-hello-oci", "token", "public/hello", "v1", False, None, OCI_MANIFEST),
)


# On the HTTPS registry (state["tls_registry"]), whose CA no trust store holds.
TLS_IMAGE = ImageSpec("tls-hello-oci", "tls", "test/hello", "v1", False, None, OCI_MANIFEST)


def clean_state_dir(state_dir: Path) -> None:
    """Remove what a previous run left (only the harness's own files and folders)."""
    for name in (*REGISTRY_NAMES, "layouts", "skopeo"):
        shutil.rmtree(state_dir / name, ignore_errors=True)
    logs = (*(f"{n}.log" for n in REGISTRY_NAMES), "token-server.log", "token-requests.log", "watchdog.log")
    for name in (*logs, STATE_FILE):
        (state_dir / name).unlink(missing_ok=True)


def start_harness(state_dir: Path, owner_pid: int | None, cli: Path) -> dict[str, Any]:
    """Start everything in `state_dir`; `cli` is harness.py, which runs the token server and the
    watchdog as its subcommands (so `ps` names them, and `stop` can tell them apart)."""
    t0 = time.monotonic()
    state_dir = state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    if read_pids(state_dir):
        log(f"a harness is recorded in {state_dir}; stopping it first")
        stop_harness(state_dir)
    clean_state_dir(state_dir)
    owner_start = start_time(owner_pid) if owner_pid is not None else None
    if owner_pid is not None and (owner_start is None or not alive(owner_pid)):
        raise HarnessError(f"--owner-pid {owner_pid} is not a running process")
    for tool in ("docker-registry", "skopeo", "htpasswd"):
        if shutil.which(tool) is None:
            raise HarnessError(f"{tool} not found on PATH; run tests/harness/install-deps.sh")

    started = Started(state_dir)
    try:
        if owner_pid is not None and owner_start is not None:
            started.spawn(
                "watchdog",
                [sys.executable, str(cli), "watchdog", "--state-dir", str(state_dir),
                 "--owner-pid", str(owner_pid), "--owner-start", owner_start],
                state_dir / "watchdog.log",
            )
        state = _start(state_dir, started, t0, owner_pid, cli)
    except BaseException:
        started.kill_all()
        raise
    return state


def _start(state_dir: Path, started: Started, t0: float, owner_pid: int | None, cli: Path) -> dict[str, Any]:
    basic_pw = secrets.token_urlsafe(18)
    token_pw = secrets.token_urlsafe(18)
    run_nonce = secrets.token_hex(8)

    regs = {
        n: Registry(n, state_dir / n, state_dir / f"{n}.log", None) for n in REGISTRY_NAMES
    }
    for reg in regs.values():
        (reg.dir / "storage").mkdir(parents=True, exist_ok=True)
        reg.log_path.touch()

    # Token server first (the token registry's config needs its port); it picks its own port.
    token = token_server.configure(regs["token"].dir, state_dir / "token-requests.log", token_pw)
    token_server_log = state_dir / "token-server.log"
    token_proc = started.spawn(
        "token-server", [sys.executable, str(cli), "token-server", "--config", str(token.config)], token_server_log
    )

    # plain, basic and tls registries.
    htpasswd_path = regs["basic"].dir / "htpasswd"
    write_atomic(htpasswd_path, htpasswd_line(BASIC_USER, basic_pw), 0o600)
    regs["basic"].auth = {"htpasswd": {"realm": BASIC_REALM, "path": str(htpasswd_path)}}
    tls_ca, tls_cert, tls_key = generate_tls_ca_and_server_cert(regs["tls"].dir)
    regs["tls"].tls = {"certificate": str(tls_cert), "key": str(tls_key)}
    ports = free_ports(4)
    regs["plain"].spawn(started, ports[0])
    regs["basic"].spawn(started, ports[1])
    regs["tls"].spawn(started, ports[3])

    # Layouts (pure Python) while the servers come up.
    layouts: dict[str, LayoutInfo] = {}
    for spec in (*IMAGES, TLS_IMAGE):
        seed = f"{spec.name}|{spec.registry}/{spec.repository}:{spec.tag}|run {run_nonce}"
        layouts[spec.name] = make_layout(state_dir / "layouts" / spec.name, seed, spec.index)

    token_port = token_server.wait_token_server(token_proc, token.port_file, token_server_log)
    token_url = f"http://127.0.0.1:{token_port}/token"
    regs["token"].auth = {
        "token": {
            "realm": token_url,
            "service": token_server.TOKEN_SERVICE,
            "issuer": token_server.TOKEN_ISSUER,
            "rootcertbundle": str(token.cert),
        }
    }
    regs["token"].spawn(started, ports[2])
    wait_registries(list(regs.values()), started)
    t_up = time.monotonic()

    creds = {
        "plain": None,
        "basic": f"{BASIC_USER}:{basic_pw}",
        "token": f"{token_server.TOKEN_USER}:{token_pw}",
        "tls": None,
    }

    def push_one(spec: ImageSpec) -> dict[str, Any]:
        reg = regs[spec.registry]
        ref = f"{reg.host}/{spec.repository}:{spec.tag}"
        pushed = push_layout(state_dir, layouts[spec.name], ref, creds[spec.registry], spec.fmt)
        if pushed.media_type != spec.media_type:
            raise HarnessError(f"{ref}: expected media type {spec.media_type}, registry serves {pushed.media_type}")
        entry: dict[str, Any] = {
            "name": spec.name,
            "registry": spec.registry,
            "host": reg.host,
            "repository": spec.repository,
            "tag": spec.tag,
            "reference": ref,
            "digest": pushed.digest,
            "media_type": pushed.media_type,
            "size": len(pushed.raw),
        }
        if pushed.children:
            entry["children"] = [
                {"digest": c.digest, "media_type": c.media_type, "size": c.size, "platform": c.platform}
                for c in pushed.children
            ]
        if pushed.config_digest:
            entry["config_digest"] = pushed.config_digest
        return entry

    with ThreadPoolExecutor(max_workers=4) as pool:
        images = list(pool.map(push_one, IMAGES))
        tls_image = push_one(TLS_IMAGE)

    # Every image must be distinct (podman lists all repo names sharing an image ID).
    all_digests = [i["digest"] for i in (*images, tls_image)]
    all_digests += [c["digest"] for i in images for c in i.get("children", [])]
    if len(set(all_digests)) != len(all_digests):
        raise HarnessError(f"test images are not distinct: {all_digests}")

    procs = {name: p.pid for name, p in started.procs.items()}
    state: dict[str, Any] = {
        "registries": {
            "plain": {"host": regs["plain"].host, "log": str(regs["plain"].log_path)},
            "basic": {
                "host": regs["basic"].host,
                "username": BASIC_USER,
                "password": basic_pw,
                "log": str(regs["basic"].log_path),
            },
            "token": {
                "host": regs["token"].host,
                "username": token_server.TOKEN_USER,
                "password": token_pw,
                "log": str(regs["token"].log_path),
                "token_url": token_url,
                "token_log": str(token.requests_log),
                "service": token_server.TOKEN_SERVICE,
                "issuer": token_server.TOKEN_ISSUER,
                "kid": token.kid,
                "rootcertbundle": str(token.cert),
            },
        },
        "images": images,
        # Kept apart from "registries" and "images", which callers treat as plain-HTTP hosts.
        "tls_registry": {
            "host": regs["tls"].host,
            "ca": str(tls_ca),
            "log": str(regs["tls"].log_path),
            "image": tls_image,
        },
        "layouts": {name: str(info.path) for name, info in layouts.items()},
        "pids": [p.pid for p in started.procs.values()],
        "processes": procs,
        "state_dir": str(state_dir),
        "owner_pid": owner_pid,
        "start_seconds": round(time.monotonic() - t0, 2),
    }
    save_state(state_dir, state)
    log(
        f"up: plain {regs['plain'].host}, basic {regs['basic'].host}, token {regs['token'].host}, "
        f"tls {regs['tls'].host} "
        f"(token server {token_url}); servers ready in {t_up - t0:.1f}s, "
        f"{len(images)} images pushed, total {time.monotonic() - t0:.1f}s"
    )
    return state
