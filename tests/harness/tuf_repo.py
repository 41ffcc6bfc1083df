#!/usr/bin/env python3
"""A local TUF repository serving a Sigstore `trusted_root.json`, for the TUF client tests.

    tuf_repo.py init DIR
    tuf_repo.py add-ca DIR --from TRUSTED_ROOT_JSON
    tuf_repo.py rotate-root DIR [--only-new-key]
    tuf_repo.py timestamp DIR --expires-in SECS
    tuf_repo.py tamper-target DIR
    tuf_repo.py serve DIR --port-file FILE

Built with python-tuf's metadata API (`pip install tuf`), the reference implementation, so the
repository is made by other hands than the client under test (tough, through imagecheck).
Keys are ECDSA P-256 (`ecdsa-sha2-nistp256`, as Sigstore's own repository uses); consistent
snapshots are on, so files are served as `N.root.json`, `N.snapshot.json`, `N.targets.json`,
`timestamp.json` and `targets/<sha256>.trusted_root.json`.

- `init` writes a repository whose target is the trusted root of a fresh test CA of its own
  (testca.py), unrelated to any signature, and prints DIR/repo/1.root.json, the root the client
  starts from. Keys and the current roles are kept in DIR/state.
- `add-ca` adds the certificate authorities of another trusted root (e.g. the harness's
  `test-ca`) to the target and publishes new targets, snapshot and timestamp roles.
- `rotate-root` replaces the root key: version N+1 is signed by the old and the new key (with
  `--only-new-key`, by the new one alone, which a client must refuse).
- `timestamp` publishes a new, validly signed timestamp role that expires SECS from now
  (negative: one that has already expired).
- `tamper-target` changes the served target's bytes without touching the metadata.
- `serve` serves DIR/repo over HTTP on 127.0.0.1 (a free port, written to FILE once listening)
  until killed; each request is logged to DIR/requests.log.

Python 3.11, `tuf` (with `securesystemslib`) and `cryptography`.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import hashlib
import http.server
import json
import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.serialization import load_pem_private_key

# Imported from the modules that define them: the public `tuf.api.metadata` and
# `securesystemslib.signer` re-export them implicitly, which `mypy --strict` does not accept.
from securesystemslib.signer._crypto_signer import CryptoSigner
from tuf.api._payload import MetaFile, Root, Snapshot, TargetFile, Targets, Timestamp
from tuf.api.metadata import Metadata
from tuf.api.serialization.json import JSONSerializer

sys.path.insert(0, str(Path(__file__).resolve().parent))
import testca  # noqa: E402

TARGET = "trusted_root.json"
ROLES = ("root", "targets", "snapshot", "timestamp")


def _in(seconds: float) -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) + datetime.timedelta(seconds=seconds)


class Repo:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.state = base / "state"
        self.served = base / "repo"

    # -- keys -------------------------------------------------------------------------------
    def new_signer(self, name: str) -> CryptoSigner:
        signer = CryptoSigner.generate_ecdsa()
        (self.state / f"{name}.key.pem").write_bytes(signer.private_bytes)
        return signer

    def signer(self, name: str) -> CryptoSigner:
        key = load_pem_private_key((self.state / f"{name}.key.pem").read_bytes(), password=None)
        return CryptoSigner(key)

    # -- roles ------------------------------------------------------------------------------
    def load(self, role: str) -> Metadata[Any]:
        return Metadata.from_file(str(self.state / f"{role}.json"))

    def publish(self, md: Metadata[Any], role: str, signers: list[CryptoSigner]) -> None:
        md.signatures.clear()
        for signer in signers:
            md.sign(signer, append=True)
        serializer = JSONSerializer(compact=False)
        md.to_file(str(self.state / f"{role}.json"), serializer)
        name = "timestamp.json" if role == "timestamp" else f"{md.signed.version}.{role}.json"
        md.to_file(str(self.served / name), serializer)

    def publish_target(self, content: bytes) -> None:
        """Serve `content` as the target and publish targets, snapshot and timestamp."""
        digest = hashlib.sha256(content).hexdigest()
        (self.served / "targets").mkdir(parents=True, exist_ok=True)
        (self.served / "targets" / f"{digest}.{TARGET}").write_bytes(content)
        targets = self.load("targets")
        targets.signed.targets[TARGET] = TargetFile.from_data(TARGET, content, ["sha256"])
        targets.signed.version += 1
        targets.signed.expires = _in(86400)
        self.publish(targets, "targets", [self.signer("targets")])
        self.publish_snapshot_and_timestamp(targets.signed.version)

    def publish_snapshot_and_timestamp(self, targets_version: int) -> None:
        snapshot = self.load("snapshot")
        snapshot.signed.meta["targets.json"] = MetaFile(version=targets_version)
        snapshot.signed.version += 1
        snapshot.signed.expires = _in(86400)
        self.publish(snapshot, "snapshot", [self.signer("snapshot")])
        self.publish_timestamp(snapshot.signed.version, 3600)

    def publish_timestamp(self, snapshot_version: int, expires_in: float) -> None:
        timestamp = self.load("timestamp")
        timestamp.signed.snapshot_meta = MetaFile(version=snapshot_version)
        timestamp.signed.version += 1
        timestamp.signed.expires = _in(expires_in)
        self.publish(timestamp, "timestamp", [self.signer("timestamp")])

    def target(self) -> bytes:
        targets = self.load("targets")
        digest = targets.signed.targets[TARGET].hashes["sha256"]
        return (self.served / "targets" / f"{digest}.{TARGET}").read_bytes()


def init(repo: Repo) -> None:
    repo.state.mkdir(parents=True, exist_ok=True)
    (repo.served / "targets").mkdir(parents=True, exist_ok=True)
    signers = {role: repo.new_signer(role) for role in ROLES}
    root = Root(expires=_in(30 * 86400), consistent_snapshot=True)
    for role, signer in signers.items():
        root.add_key(signer.public_key, role)
    repo.publish(Metadata(root), "root", [signers["root"]])
    other = testca.make_test_ca(repo.base / "unrelated-ca")
    content = Path(str(other["trusted_root"])).read_bytes()
    digest = hashlib.sha256(content).hexdigest()
    (repo.served / "targets" / f"{digest}.{TARGET}").write_bytes(content)
    targets = Targets(expires=_in(86400))
    targets.targets[TARGET] = TargetFile.from_data(TARGET, content, ["sha256"])
    repo.publish(Metadata(targets), "targets", [signers["targets"]])
    snapshot = Snapshot(expires=_in(86400), meta={"targets.json": MetaFile(version=1)})
    repo.publish(Metadata(snapshot), "snapshot", [signers["snapshot"]])
    timestamp = Timestamp(expires=_in(3600), snapshot_meta=MetaFile(version=1))
    repo.publish(Metadata(timestamp), "timestamp", [signers["timestamp"]])
    print(repo.served / "1.root.json")


def add_ca(repo: Repo, source: Path) -> None:
    current = json.loads(repo.target())
    extra = json.loads(source.read_bytes())
    current["certificateAuthorities"].extend(extra["certificateAuthorities"])
    repo.publish_target(json.dumps(current, indent=1).encode())


def rotate_root(repo: Repo, only_new_key: bool) -> None:
    root = repo.load("root")
    old = repo.signer("root")
    old_keyid = root.signed.roles["root"].keyids[0]
    new = repo.new_signer("root")
    root.signed.revoke_key(old_keyid, "root")
    root.signed.add_key(new.public_key, "root")
    root.signed.version += 1
    repo.publish(root, "root", [new] if only_new_key else [old, new])
    snapshot = repo.load("snapshot")
    # A fresh timestamp under the new root, so a client that took the rotation refreshes fully.
    repo.publish_timestamp(snapshot.signed.version, 3600)


def renew_timestamp(repo: Repo, expires_in: float) -> None:
    snapshot = repo.load("snapshot")
    repo.publish_timestamp(snapshot.signed.version, expires_in)


def tamper_target(repo: Repo) -> None:
    targets = repo.load("targets")
    digest = targets.signed.targets[TARGET].hashes["sha256"]
    path = repo.served / "targets" / f"{digest}.{TARGET}"
    content = bytearray(path.read_bytes())
    # Same length, one byte changed inside a string: still JSON, no longer the signed bytes.
    at = content.index(b"imagecheck test CA")
    content[at] = ord("I")
    path.write_bytes(bytes(content))


class _Handler(http.server.SimpleHTTPRequestHandler):
    log_path: Path

    def log_message(self, format: str, *args: Any) -> None:
        with self.log_path.open("a") as log:
            log.write("%s\n" % (format % args))


def serve(repo: Repo, port_file: Path) -> None:
    _Handler.log_path = repo.base / "requests.log"
    handler = functools.partial(_Handler, directory=str(repo.served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    tmp = port_file.with_suffix(".tmp")
    tmp.write_text(str(server.server_address[1]))
    tmp.rename(port_file)
    server.serve_forever()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("init").add_argument("dir", type=Path)
    p = sub.add_parser("add-ca")
    p.add_argument("dir", type=Path)
    p.add_argument("--from", dest="source", type=Path, required=True)
    p = sub.add_parser("rotate-root")
    p.add_argument("dir", type=Path)
    p.add_argument("--only-new-key", action="store_true")
    p = sub.add_parser("timestamp")
    p.add_argument("dir", type=Path)
    p.add_argument("--expires-in", type=float, required=True, help="seconds from now")
    sub.add_parser("tamper-target").add_argument("dir", type=Path)
    p = sub.add_parser("serve")
    p.add_argument("dir", type=Path)
    p.add_argument("--port-file", type=Path, required=True)
    args = parser.parse_args()
    repo = Repo(args.dir)
    if args.command == "init":
        init(repo)
    elif args.command == "add-ca":
        add_ca(repo, args.source)
    elif args.command == "rotate-root":
        rotate_root(repo, args.only_new_key)
    elif args.command == "timestamp":
        renew_timestamp(repo, args.expires_in)
    elif args.command == "tamper-target":
        tamper_target(repo)
    elif args.command == "serve":
        serve(repo, args.port_file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
