"""Processes the harness starts: spawning them detached, the PID file, stopping exactly those
PIDs, and the watchdog that stops a harness whose owner has gone."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from .common import log, write_atomic

# How long a started server may take to answer; how long a stopped one may take to exit.
READY_TIMEOUT_SECONDS = 15.0
STOP_GRACE_SECONDS = 5.0


def pids_path(state_dir: Path) -> Path:
    return state_dir / "pids"


def read_pids(state_dir: Path) -> list[int]:
    pids: list[int] = []
    try:
        text = pids_path(state_dir).read_text()
    except FileNotFoundError:
        return pids
    for line in text.split():
        if line.strip().isdigit():
            pids.append(int(line))
    return pids


def proc_cmdline(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [a.decode(errors="replace") for a in raw.split(b"\0") if a]


def alive(pid: int) -> bool:
    """True if pid runs (not a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # state is the field after the parenthesised command name
    return stat[stat.rfind(")") + 2 :][:1] not in ("Z", "X", "")


def ours(pid: int, state_dir: Path) -> bool:
    """Guard against PID reuse: every process we start has an argument under state_dir."""
    cmd = proc_cmdline(pid)
    prefix = str(state_dir) + os.sep
    return cmd is not None and any(a == str(state_dir) or a.startswith(prefix) for a in cmd)


def _signal(pids: Sequence[int], sig: signal.Signals) -> None:
    for p in pids:
        try:
            os.kill(p, sig)
        except ProcessLookupError:
            pass


def _wait_gone(pids: Sequence[int], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.05)


def terminate(pids: Sequence[int], grace: float = STOP_GRACE_SECONDS) -> tuple[list[int], list[int]]:
    """SIGTERM each PID, SIGKILL those still running after `grace` seconds.

    Returns (the SIGKILLed PIDs, those still running 2 s after SIGKILL). Callers pass only PIDs
    they have checked are theirs (`ours`, or daemons.py's recorded executables)."""
    _signal(pids, signal.SIGTERM)
    _wait_gone(pids, grace)
    killed = [p for p in pids if alive(p)]
    _signal(killed, signal.SIGKILL)
    _wait_gone(killed, 2.0)
    for p in pids:
        # Reap the ones that are our children (a failed start); harmless for the others.
        try:
            os.waitpid(p, os.WNOHANG)
        except ChildProcessError:
            pass
    return killed, [p for p in pids if alive(p)]


def stop_harness(state_dir: Path, quiet: bool = False) -> int:
    """SIGTERM exactly the recorded PIDs, SIGKILL what is left after a grace period."""
    state_dir = state_dir.resolve()
    pids = read_pids(state_dir)
    targets = [p for p in pids if p != os.getpid() and alive(p) and ours(p, state_dir)]
    killed, left = terminate(targets)
    pids_path(state_dir).unlink(missing_ok=True)
    if not quiet:
        log(f"stopped {len(targets)} process(es) {targets}" + (f", SIGKILLed {killed}" if killed else ""))
    if left:
        log(f"processes still alive after SIGKILL: {left}")
        return 1
    return 0


def start_time(pid: int) -> str | None:
    """Field 22 of /proc/PID/stat (start time in clock ticks): tells a PID's reuse apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def run_watchdog(state_dir: Path, owner_pid: int, owner_start: str) -> int:
    """Stop the harness in state_dir once the owner process has gone (tests that never call stop)."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    while alive(owner_pid) and start_time(owner_pid) == owner_start:
        time.sleep(0.5)
    log(f"owner process {owner_pid} has exited; stopping the harness in {state_dir}")
    return stop_harness(state_dir)


def spawn_detached(
    argv: list[str], log_path: Path, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start a server that outlives this script: own session, stdin /dev/null, stdout and stderr
    appended to `log_path`. It is stopped by PID (`terminate`), never by name."""
    with open(log_path, "ab") as log_file:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,
            close_fds=True,
        )


@dataclass
class Started:
    """Processes this `start` has spawned, recorded in DIR/pids as they start."""

    state_dir: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def spawn(self, name: str, argv: list[str], log_path: Path) -> subprocess.Popen[bytes]:
        proc = spawn_detached(argv, log_path, cwd=self.state_dir)
        self.procs[name] = proc
        self._write_pids()
        return proc

    def replace(self, name: str) -> None:
        proc = self.procs.pop(name)
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        self._write_pids()

    def _write_pids(self) -> None:
        pids = "".join(f"{p.pid}\n" for p in self.procs.values())
        write_atomic(pids_path(self.state_dir), pids.encode())

    def kill_all(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                p.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for p in self.procs.values():
            try:
                p.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        pids_path(self.state_dir).unlink(missing_ok=True)


def free_ports(n: int) -> list[int]:
    socks: list[socket.socket] = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()
