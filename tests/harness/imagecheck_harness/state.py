"""DIR/state.json: what `start` ran, where, with which credentials, and the images it pushed
(README.md, "state.json")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .common import write_atomic

STATE_FILE = "state.json"


def load_state(state_dir: Path | str) -> dict[str, Any]:
    state: dict[str, Any] = json.loads((Path(state_dir) / STATE_FILE).read_text())
    return state


def save_state(state_dir: Path, state: dict[str, Any]) -> None:
    write_atomic(state_dir / STATE_FILE, json.dumps(state, indent=2).encode() + b"\n")


def registry_creds(state: dict[str, Any], registry: str) -> str | None:
    reg = state["registries"][registry]
    if "username" in reg:
        return f"{reg['username']}:{reg['password']}"
    return None
