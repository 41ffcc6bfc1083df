#!/usr/bin/env python3
"""Start and stop the container engines imagecheck's docker and podman engines are tested against.

  daemons.py start --state-dir DIR (--registry HOST:PORT ... | --harness-state STATE_JSON)
                   [--only docker|podman] [--clean]
  daemons.py stop  --state-dir DIR

`start` runs a real `dockerd` and a real `podman system service`, each with its own storage under
DIR and its API on a unix socket under DIR, waits until each answers `GET /_ping`, and writes
DIR/daemons.json:

  {"docker_socket": "DIR/docker.sock", "podman_socket": "DIR/podman.sock",
   "pids": [...], "processes": [{"name", "pid", "exe"}], "podman_env": {...}, "registries": [...]}

`stop` ends exactly the processes recorded there (SIGTERM, then SIGKILL after a grace period),
after checking that each PID still runs the program that was recorded for it.

Nothing is installed here: run tests/harness/install-daemons.sh first (Debian packages docker.io
and podman; docker.io is installed under a policy-rc.d that exits 101 so that its postinst does
not start a system dockerd). Both daemons run as root with the vfs storage driver, no bridge, no
iptables, and treat every --registry as an insecure (plain HTTP) registry. Only loopback is used.

Python 3.11, standard library only.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
from imagecheck_harness.common import logger, tail  # noqa: E402
from imagecheck_harness.processes import alive, spawn_detached, terminate  # noqa: E402

DOCKER_READY_SECONDS = 90.0
PODMAN_READY_SECONDS = 60.0
STOP_GRACE_SECONDS = 15.0
# sun_path is 108 bytes including the terminating NUL.
MAX_SOCKET_PATH = 107


class DaemonError(Exception):
    """A failure reported loudly: exit status 1 and the message on stderr."""


log = logger("daemons")


# ------------------------------------------------------------------------------------------
# HTTP over a unix socket (readiness checks)
# ------------------------------------------------------------------------------------------


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float = 5.0) -> None:
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.unix_path)
        self.sock = sock


def ping(path: str) -> bool:
    conn = UnixHTTPConnection(path, timeout=3.0)
    try:
        conn.request("GET", "/_ping")
        resp = conn.getresponse()
        body = resp.read()
        return resp.status == 200 and body.strip() == b"OK"
    except OSError:
        return False
    finally:
        conn.close()


# ------------------------------------------------------------------------------------------
# Processes
# ------------------------------------------------------------------------------------------


def exe_of(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None


def children_of(pid: int) -> list[int]:
    out: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tasks:
        try:
            text = Path(f"/proc/{pid}/task/{tid}/children").read_text()
        except OSError:
            continue
        out.extend(int(c) for c in text.split())
    return out


def wait_ready(name: str, proc: subprocess.Popen[bytes], sock: Path, log_path: Path, limit: float) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        if proc.poll() is not None:
            raise DaemonError(f"{name} exited with status {proc.returncode} before answering; see {log_path}:\n{tail(log_path, 15)}")
        if sock.exists() and ping(str(sock)):
            return time.monotonic() - t0
        time.sleep(0.2)
    raise DaemonError(f"{name} did not answer /_ping on {sock} within {limit:.0f}s; see {log_path}:\n{tail(log_path, 15)}")


def record(name: str, pid: int) -> dict[str, Any]:
    return {"name": name, "pid": pid, "exe": exe_of(pid)}


# ------------------------------------------------------------------------------------------
# dockerd
# ------------------------------------------------------------------------------------------


def start_docker(state_dir: Path, registries: list[str]) -> tuple[str, list[dict[str, Any]]]:
    dockerd = shutil.which("dockerd")
    if dockerd is None:
        raise DaemonError("dockerd not found on PATH; run tests/harness/install-daemons.sh")
    sock = state_dir / "docker.sock"
    root = state_dir / "docker"
    for d in (root / "data", root / "exec"):
        d.mkdir(parents=True, exist_ok=True)
    sock.unlink(missing_ok=True)
    # An empty daemon.json of our own, so that /etc/docker/daemon.json (if any) is not read.
    config = root / "daemon.json"
    config.write_text("{}\n")
    args = [
        dockerd,
        "--config-file", str(config),
        "--data-root", str(root / "data"),
        "--exec-root", str(root / "exec"),
        "--pidfile", str(root / "dockerd.pid"),
        "-H", f"unix://{sock}",
        "--storage-driver", "vfs",
        "--iptables=false",
        "--ip6tables=false",
        "--ip-masq=false",
        "--bridge=none",
        "--log-level", "warn",
    ]
    for reg in registries:
        args += ["--insecure-registry", reg]
    log_path = state_dir / "dockerd.log"
    env = clean_env()
    proc = spawn_detached(args, log_path, env)
    took = wait_ready("dockerd", proc, sock, log_path, DOCKER_READY_SECONDS)
    log(f"dockerd (pid {proc.pid}) ready on {sock} in {took:.1f}s")
    procs = [record("dockerd", proc.pid)]
    # dockerd starts its own containerd when no system one runs; record it so that `stop`
    # can end it if dockerd dies without taking it along.
    for child in children_of(proc.pid):
        procs.append(record("containerd", child))
    return str(sock), procs


# ------------------------------------------------------------------------------------------
# podman system service
# ------------------------------------------------------------------------------------------


def podman_env(state_dir: Path, registries: list[str]) -> dict[str, str]:
    """Write podman's configuration under DIR/podman and return the environment naming it."""
    root = state_dir / "podman"
    for d in ("graph", "run", "tmp", "net"):
        (root / d).mkdir(parents=True, exist_ok=True)
    storage = root / "storage.conf"
    storage.write_text(
        "[storage]\n"
        'driver = "vfs"\n'
        f'runroot = "{root / "run"}"\n'
        f'graphroot = "{root / "graph"}"\n'
    )
    containers = root / "containers.conf"
    containers.write_text(
        "[containers]\n"
        'netns = "host"\n'
        "[engine]\n"
        'cgroup_manager = "cgroupfs"\n'
        'events_logger = "file"\n'
        f'events_logfile_path = "{root / "events.log"}"\n'
        f'tmp_dir = "{root / "tmp"}"\n'
        "[network]\n"
        f'network_config_dir = "{root / "net"}"\n'
    )
    regs = root / "registries.conf"
    text = "unqualified-search-registries = []\nshort-name-mode = \"disabled\"\n"
    for reg in registries:
        text += f'\n[[registry]]\nlocation = "{reg}"\ninsecure = true\n'
    regs.write_text(text)
    return {
        "CONTAINERS_STORAGE_CONF": str(storage),
        "CONTAINERS_CONF": str(containers),
        "CONTAINERS_REGISTRIES_CONF": str(regs),
        # The daemon's own credentials file: absent, so only X-Registry-Auth counts.
        "REGISTRY_AUTH_FILE": str(root / "auth.json"),
    }


def start_podman(state_dir: Path, registries: list[str]) -> tuple[str, list[dict[str, Any]], dict[str, str]]:
    podman = shutil.which("podman")
    if podman is None:
        raise DaemonError("podman not found on PATH; run tests/harness/install-daemons.sh")
    sock = state_dir / "podman.sock"
    sock.unlink(missing_ok=True)
    penv = podman_env(state_dir, registries)
    env = clean_env() | penv
    log_path = state_dir / "podman.log"
    argv = [podman, "--log-level", "warn", "system", "service", "--time=0", f"unix://{sock}"]
    proc = spawn_detached(argv, log_path, env)
    took = wait_ready("podman system service", proc, sock, log_path, PODMAN_READY_SECONDS)
    log(f"podman system service (pid {proc.pid}) ready on {sock} in {took:.1f}s")
    return str(sock), [record("podman", proc.pid)], penv


def clean_env() -> dict[str, str]:
    env = dict(os.environ)
    # Daemons must not inherit a client's idea of where a daemon is, nor a proxy.
    for name in ("DOCKER_HOST", "CONTAINER_HOST", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        env.pop(name, None)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


# ------------------------------------------------------------------------------------------
# start / stop
# ------------------------------------------------------------------------------------------


def start(state_dir: Path, registries: list[str], only: str | None, clean: bool) -> dict[str, Any]:
    state_dir = state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    for reg in registries:
        host, sep, port = reg.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise DaemonError(f"--registry must be HOST:PORT, got {reg!r}")
    longest = max(len(str(state_dir / n)) for n in ("docker.sock", "podman.sock"))
    if longest > MAX_SOCKET_PATH:
        raise DaemonError(f"state dir {state_dir} is too long for a unix socket path; use a shorter one")
    if os.geteuid() != 0:
        raise DaemonError("dockerd and this podman setup need root")
    if (state_dir / "daemons.json").exists():
        log(f"daemons are recorded in {state_dir}; stopping them first")
        stop(state_dir)
    if clean:
        for d in ("docker", "podman"):
            shutil.rmtree(state_dir / d, ignore_errors=True)

    state: dict[str, Any] = {"docker_socket": None, "podman_socket": None, "pids": [], "processes": []}
    state["registries"] = registries
    state["state_dir"] = str(state_dir)
    started: list[dict[str, Any]] = []
    try:
        if only in (None, "docker"):
            sock, procs = start_docker(state_dir, registries)
            started += procs
            state["docker_socket"] = sock
        if only in (None, "podman"):
            sock, procs, penv = start_podman(state_dir, registries)
            started += procs
            state["podman_socket"] = sock
            state["podman_env"] = penv
    except BaseException:
        kill_all(started)
        raise
    state["processes"] = started
    state["pids"] = [p["pid"] for p in started]
    tmp = state_dir / "daemons.json.tmp"
    tmp.write_text(json.dumps(state, indent=2) + "\n")
    tmp.replace(state_dir / "daemons.json")
    return state


def kill_all(procs: list[dict[str, Any]]) -> list[str]:
    """SIGTERM each recorded process still running its recorded program, then SIGKILL."""
    ours = [p for p in procs if alive(p["pid"]) and (p.get("exe") is None or exe_of(p["pid"]) == p["exe"])]
    for p in procs:
        if p not in ours and alive(p["pid"]):
            log(f"pid {p['pid']} no longer runs {p.get('exe')}; left alone")
    # dockerd first: it stops its containerd itself.
    killed, _ = terminate([p["pid"] for p in ours], STOP_GRACE_SECONDS)
    return [f"{p['name']} ({p['pid']})" for p in ours if p["pid"] in killed]


def stop(state_dir: Path) -> int:
    path = state_dir / "daemons.json"
    try:
        state = json.loads(path.read_text())
    except FileNotFoundError:
        log(f"nothing recorded in {path}")
        return 0
    procs = state.get("processes") or [{"name": "?", "pid": pid, "exe": None} for pid in state.get("pids", [])]
    killed = kill_all(procs)
    if killed:
        log(f"killed after {STOP_GRACE_SECONDS:.0f}s: {', '.join(killed)}")
    path.unlink(missing_ok=True)
    log(f"stopped {len(procs)} process(es) recorded in {path}")
    return 0


def harness_registries(path: Path) -> list[str]:
    """The `host` of every registry in tests/harness/harness.py's state.json."""
    if path.is_dir():
        path = path / "state.json"
    try:
        state = json.loads(path.read_text())
        return [reg["host"] for reg in state["registries"].values()]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise DaemonError(f"cannot read registries from {path}: {e}") from e


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="daemons.py", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("start", help="start dockerd and podman system service, write DIR/daemons.json")
    p.add_argument("--state-dir", required=True, type=Path)
    p.add_argument("--registry", action="append", default=[], metavar="HOST:PORT", help="an insecure registry (repeat)")
    p.add_argument(
        "--harness-state",
        type=Path,
        default=None,
        metavar="STATE_JSON",
        help="also trust every registry listed in harness.py's state.json (file or its directory)",
    )
    p.add_argument("--only", choices=("docker", "podman"), default=None, help="start just one of them")
    p.add_argument("--clean", action="store_true", help="drop the images stored by earlier runs")
    p = sub.add_parser("stop", help="stop the processes recorded in DIR/daemons.json")
    p.add_argument("--state-dir", required=True, type=Path)
    args = ap.parse_args(argv)
    try:
        if args.cmd == "start":
            registries = list(args.registry)
            if args.harness_state is not None:
                registries += harness_registries(args.harness_state)
            if not registries:
                raise DaemonError("name the registries to trust: --registry HOST:PORT or --harness-state")
            start(args.state_dir, registries, args.only, args.clean)
            print(args.state_dir.resolve() / "daemons.json")
            return 0
        if args.cmd == "stop":
            return stop(args.state_dir.resolve())
    except DaemonError as e:
        log(f"error: {e}")
        return 1
    ap.error(f"unknown command {args.cmd}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
