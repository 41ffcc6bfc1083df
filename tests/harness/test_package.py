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
from imagecheck_harness import fixtures  # noqa: E402
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


class SharedFixturesTest(unittest.TestCase):
    def setUp(self) -> None:
        self.saved = os.environ.pop(fixtures.SHARED_FIXTURES_ENV, None)

    def tearDown(self) -> None:
        os.environ.pop(fixtures.SHARED_FIXTURES_ENV, None)
        if self.saved is not None:
            os.environ[fixtures.SHARED_FIXTURES_ENV] = self.saved

    def test_environment_variable_names_the_directory(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            (Path(d) / "realworld").mkdir()
            os.environ[fixtures.SHARED_FIXTURES_ENV] = d
            self.assertEqual(fixtures.shared_fixtures(), Path(d).resolve())
            self.assertEqual(fixtures.shared_fixtures("realworld"), (Path(d) / "realworld").resolve())

    def test_missing_directory_says_where_and_what_to_set(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            os.environ[fixtures.SHARED_FIXTURES_ENV] = str(Path(d) / "nowhere")
            with self.assertRaises(HarnessError) as raised:
                fixtures.shared_fixtures("realworld")
        message = str(raised.exception)
        self.assertIn(str(Path(d) / "nowhere" / "realworld"), message)
        self.assertIn(f"{fixtures.SHARED_FIXTURES_ENV}=", message)
        self.assertIn(f"set {fixtures.SHARED_FIXTURES_ENV}", message)

    def test_default_is_shared_fixtures_beside_the_repository(self) -> None:
        # tests/harness -> tests -> the repository; shared/ is its sibling.
        self.assertEqual(fixtures.DEFAULT_SHARED_FIXTURES, HERE.parents[1].parent / "shared" / "fixtures")


if __name__ == "__main__":
    unittest.main()
