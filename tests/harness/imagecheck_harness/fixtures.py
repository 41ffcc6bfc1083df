"""Where the shared fixtures are: the one place that knows, for every harness script.

`IMAGECHECK_SHARED_FIXTURES` names the `fixtures` directory (the one holding `realworld/`);
unset, it is `shared/fixtures` beside the repository (`../shared/fixtures` from its root), where
the project keeps it. The Rust tests read the same variable.
"""

from __future__ import annotations

import os
from pathlib import Path

from .common import HarnessError

SHARED_FIXTURES_ENV = "IMAGECHECK_SHARED_FIXTURES"
REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_SHARED_FIXTURES = REPO_ROOT.parent / "shared" / "fixtures"


def shared_fixtures(subdir: str = "") -> Path:
    """The shared fixtures directory, or `subdir` inside it; a HarnessError saying where it was
    looked for, and how to point elsewhere, when that directory is missing."""
    value = os.environ.get(SHARED_FIXTURES_ENV)
    if value:
        root, origin = Path(value), f"{SHARED_FIXTURES_ENV}={value}"
    else:
        root, origin = DEFAULT_SHARED_FIXTURES, f"the default beside the repository {REPO_ROOT}"
    path = (root / subdir).resolve() if subdir else root.resolve()
    if not path.is_dir():
        raise HarnessError(
            f"the shared fixtures are not there: {path} is not a directory ({origin}); "
            f"set {SHARED_FIXTURES_ENV} to the shared fixtures directory (the one holding realworld/)"
        )
    return path
