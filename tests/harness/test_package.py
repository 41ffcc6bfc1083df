"""Self-test of the harness package's pieces that need no running server.

Run: python3 -m pytest tests/harness   (with test_harness.py, which starts a harness)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from imagecheck_harness.common import HarnessError, redacted  # noqa: E402

# What README.md promises to Python tests that `import harness`.
DOCUMENTED = ("load_state", "make_layout", "push_to", "log_offset", "count_requests", "access_log", "count_lines")

# Run in a fresh interpreter: `import harness` where `cryptography` cannot be imported, as in the
# virtualenvs bindings-python/test.sh makes.
WITHOUT_CRYPTOGRAPHY = """
import importlib.abc, sys

class NoCryptography(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "cryptography" or name.startswith("cryptography."):
            raise ImportError(f"{name} is blocked by the test")
        return None

sys.meta_path.insert(0, NoCryptography())
sys.path.insert(0, sys.argv[1])
import harness
missing = [n for n in sys.argv[2:] if not callable(getattr(harness, n, None))]
print(",".join(missing))
"""


class HarnessModuleTest(unittest.TestCase):
    def test_import_harness_offers_the_documented_helpers_without_cryptography(self) -> None:
        res = subprocess.run(
            [sys.executable, "-c", WITHOUT_CRYPTOGRAPHY, str(HERE), *DOCUMENTED],
            capture_output=True,
            text=True,
            check=False,
        )
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(res.stdout.strip(), "", "missing from harness")

    def test_make_image_runs_without_cryptography(self) -> None:
        # The CLI's cheap subcommands must not pull in what only `start` needs.
        with tempfile.TemporaryDirectory() as d:
            script = WITHOUT_CRYPTOGRAPHY.split("import harness")[0] + (
                "import harness\nsys.exit(harness.main(['make-image', '--out', sys.argv[2], '--seed', 's']))\n"
            )
            res = subprocess.run(
                [sys.executable, "-c", script, str(HERE), str(Path(d) / "img")],
                capture_output=True,
                text=True,
                check=False,
            )
            self.assertEqual(res.returncode, 0, res.stderr)
            self.assertTrue(res.stdout.startswith("sha256:"), res.stdout)


class RedactedTest(unittest.TestCase):
    def test_secret_option_values_are_hidden_both_spellings(self) -> None:
        argv = ["skopeo", "copy", "--dest-creds", "bob:s3cret", "--src-creds=alice:pw", "--creds", "c:d",
                "--registry-password", "hunter2", "docker://127.0.0.1:5000/a:b"]
        text = redacted(argv)
        for secret in ("s3cret", "alice:pw", "c:d", "hunter2"):
            self.assertNotIn(secret, text)
        self.assertIn("--dest-creds <redacted>", text)
        self.assertIn("--src-creds=<redacted>", text)
        self.assertIn("docker://127.0.0.1:5000/a:b", text)

    def test_other_arguments_are_kept(self) -> None:
        argv = ["cosign", "sign", "--key", "k.key", "--tlog-upload=false", "ref"]
        self.assertEqual(redacted(argv), " ".join(argv))


if __name__ == "__main__":
    unittest.main()
