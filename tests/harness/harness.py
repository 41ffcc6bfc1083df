#!/usr/bin/env python3
"""Test harness shared by imagecheck's tests in every language.

Starts real Distribution registries (plain, htpasswd Basic auth, token auth backed by the
harness's token server, and one over HTTPS under a CA of its own) on 127.0.0.1, builds distinct
test images as OCI image layouts, pushes them with skopeo, cross-checks their digests and writes
DIR/state.json.

Subcommands (see README.md next to this file):
  start        --state-dir DIR [--owner-pid PID|parent]
  stop         --state-dir DIR
  make-image   --out LAYOUT_DIR --seed TEXT [--index]
  push         --state-dir DIR --layout LAYOUT_DIR --registry plain|basic|token --to REPO:TAG
               [--format v2s2]
  tags         --state-dir DIR --repo REPO --count N [--prefix t] [--seed TEXT]
               (N tags REPO:t0.. on the plain registry, each its own manifest; prints
               {tag: digest} as JSON)
  token-server --config FILE            (internal: started by `start` in the background)
  watchdog     --state-dir DIR ...      (internal: started by `start --owner-pid`)

The work is done by the package imagecheck_harness/ next to this file (one module per job);
this file is its command line, and the module Python tests import (`import harness`) for the
helpers README.md lists.

Python 3.11, stdlib + `cryptography` only. Everything binds to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Sequence

# Only what Python tests use is imported here: they import this file from virtualenvs without
# `cryptography`, which `start` and `token-server` import when they run.
from imagecheck_harness.access_log import ACCESS_LINE, access_log, count_lines, count_requests, log_offset
from imagecheck_harness.common import HarnessError, log
from imagecheck_harness.oci import make_layout
from imagecheck_harness.processes import free_ports, run_watchdog, stop_harness
from imagecheck_harness.skopeo import push_to
from imagecheck_harness.state import load_state

# The helpers README.md promises to Python tests that `import harness`.
__all__ = [
    "ACCESS_LINE",
    "HarnessError",
    "access_log",
    "count_lines",
    "count_requests",
    "free_ports",
    "load_state",
    "log_offset",
    "main",
    "make_layout",
    "push_to",
]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="harness.py", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("start", help="start registries + token server, push test images, write state.json")
    p.add_argument("--state-dir", required=True, type=Path)
    p.add_argument(
        "--owner-pid",
        default=None,
        help="stop everything by itself once this process exits ('parent' = the caller of harness.py)",
    )
    p = sub.add_parser("stop", help="stop the processes recorded in DIR/pids")
    p.add_argument("--state-dir", required=True, type=Path)
    p = sub.add_parser("make-image", help="write a fresh OCI layout; print its manifest (or index) digest")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--seed", required=True)
    p.add_argument("--index", action="store_true", help="an OCI index of linux/amd64 + linux/arm64")
    p = sub.add_parser("push", help="push a layout to one of the harness registries; print the digest")
    p.add_argument("--state-dir", required=True, type=Path)
    p.add_argument("--layout", required=True, type=Path)
    p.add_argument("--registry", required=True, choices=("plain", "basic", "token"))
    p.add_argument("--to", required=True, metavar="REPO:TAG")
    p.add_argument("--format", choices=("v2s2", "oci"), default=None, help="convert (skopeo --format)")
    p = sub.add_parser("tags", help="tag N distinct small manifests on the plain registry; print {tag: digest}")
    p.add_argument("--state-dir", required=True, type=Path)
    p.add_argument("--repo", required=True)
    p.add_argument("--count", required=True, type=int)
    p.add_argument("--prefix", default="t")
    p.add_argument("--seed", default="")
    p = sub.add_parser("watchdog", help=argparse.SUPPRESS)
    p.add_argument("--state-dir", required=True, type=Path)
    p.add_argument("--owner-pid", required=True, type=int)
    p.add_argument("--owner-start", required=True)
    p = sub.add_parser("token-server", help=argparse.SUPPRESS)
    p.add_argument("--config", required=True, type=Path)
    args = ap.parse_args(argv)

    try:
        if args.cmd == "start":
            from imagecheck_harness.start import start_harness  # needs cryptography (see the imports)

            owner: int | None = None
            if args.owner_pid == "parent":
                owner = os.getppid()
            elif args.owner_pid is not None:
                if not str(args.owner_pid).isdigit():
                    raise HarnessError(f"--owner-pid must be a PID or 'parent', got {args.owner_pid!r}")
                owner = int(args.owner_pid)
            start_harness(args.state_dir, owner, Path(__file__).resolve())
            print(args.state_dir.resolve() / "state.json")
            return 0
        if args.cmd == "stop":
            return stop_harness(args.state_dir)
        if args.cmd == "make-image":
            info = make_layout(args.out, args.seed, args.index)
            print(info.top.digest)
            return 0
        if args.cmd == "push":
            pushed = push_to(args.state_dir.resolve(), args.layout, args.registry, args.to, args.format)
            print(pushed.digest)
            return 0
        if args.cmd == "tags":
            from imagecheck_harness.tags import print_tags, push_tags

            tags = [f"{args.prefix}{i}" for i in range(args.count)]
            print_tags(push_tags(args.state_dir.resolve(), args.repo, tags, args.seed or str(os.getpid())))
            return 0
        if args.cmd == "watchdog":
            return run_watchdog(args.state_dir.resolve(), args.owner_pid, args.owner_start)
        if args.cmd == "token-server":
            from imagecheck_harness.token_server import run_token_server  # needs cryptography

            return run_token_server(args.config)
    except HarnessError as e:
        log(f"error: {e}")
        return 1
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    ap.error(f"unknown command {args.cmd}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
