"""Self-test of import_cycles.py on small synthetic workspaces written to a temporary directory.

Run: python3 -m pytest tests/lint
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "import_cycles.py"
sys.path.insert(0, str(HERE))
from import_cycles import ALLOW_ENV, _use_paths, sanitize, strip_test_code  # noqa: E402


def workspace(root: Path, files: dict[str, str], members: tuple[str, ...] = ("core",)) -> Path:
    """Write a Cargo workspace with `files` (paths relative to `root`) and return `root`."""
    listed = ", ".join(f'"{m}"' for m in members)
    (root / "Cargo.toml").write_text(f"[workspace]\nmembers = [{listed}]\n")
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def run(root: Path, allow: bool = False) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != ALLOW_ENV}
    if allow:
        env[ALLOW_ENV] = "1"
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--root", str(root)], capture_output=True, text=True, env=env, check=False
    )


class CheckTest(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = tempfile.TemporaryDirectory(prefix="import-cycles-")
        self.root = Path(self.tmp.name)

    def tearDown(self) -> None:
        self.tmp.cleanup()

    def test_a_cycle_is_reported_with_the_names_that_tie_it(self) -> None:
        workspace(self.root, {
            "core/src/lib.rs": "mod a;\nmod b;\n",
            "core/src/a.rs": "use crate::b::helper;\npub fn run() { helper() }\n",
            "core/src/b.rs": "pub fn helper() { super::a::run_later() }\npub fn other() {}\n",
        })
        res = run(self.root)
        self.assertEqual(res.returncode, 1, res.stderr)
        self.assertIn("core/src/a.rs -> core/src/b.rs -> core/src/a.rs", res.stderr)
        self.assertIn("core/src/a.rs -> core/src/b.rs: crate::b::helper (line 1)", res.stderr)
        self.assertIn("core/src/b.rs -> core/src/a.rs: super::a::run_later (line 1)", res.stderr)

    def test_a_chain_without_cycle_passes(self) -> None:
        workspace(self.root, {
            "core/src/lib.rs": "mod a;\nmod b;\nmod c;\n",
            "core/src/a.rs": "use crate::b::f;\n",
            "core/src/b.rs": "pub fn f() { crate::c::g() }\n",
            # In comments and strings, names are not uses.
            "core/src/c.rs": '// use crate::a::x;\npub fn g() { let _ = "crate::a::x"; }\n/* super::a::y() */\n',
        })
        res = run(self.root)
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn("no import cycle", res.stderr)

    def test_a_tests_module_does_not_count(self) -> None:
        workspace(self.root, {
            "core/src/lib.rs": "mod a;\nmod b;\n",
            "core/src/a.rs": "use crate::b::f;\n",
            "core/src/b.rs": """\
                pub fn f() {}

                #[cfg(test)]
                mod tests {
                    use super::*;
                    use crate::a::something;
                    #[test]
                    fn t() { crate::a::other() }
                }

                #[cfg(test)]
                mod more_tests;
                """,
            "core/src/b/more_tests.rs": "use crate::a::x;\n",
        })
        res = run(self.root)
        self.assertEqual(res.returncode, 0, res.stderr)

    def test_a_mod_rs_stands_for_its_folder_and_re_exports_are_followed(self) -> None:
        workspace(self.root, {
            "core/src/lib.rs": "mod foo;\nmod x;\n",
            # Thing is defined in foo/mod.rs; Bar only re-exported there, defined in foo/bar.rs.
            "core/src/foo/mod.rs": "mod bar;\npub use bar::Bar;\npub struct Thing;\npub fn f() { bar::helper() }\n",
            "core/src/foo/bar.rs": "pub struct Bar;\npub fn helper() -> super::Thing { super::Thing }\n"
            "pub fn g() { crate::x::y() }\n",
            "core/src/x.rs": "use crate::foo::Bar;\npub fn y() {}\n",
        })
        res = run(self.root)
        self.assertEqual(res.returncode, 1, res.stderr)
        # x.rs names foo::Bar, which foo/mod.rs re-exports from foo/bar.rs.
        self.assertIn("core/src/foo/bar.rs -> core/src/x.rs -> core/src/foo/bar.rs", res.stderr)
        self.assertIn("core/src/x.rs -> core/src/foo/bar.rs: crate::foo::Bar (line 1)", res.stderr)
        # foo/mod.rs uses its own submodule, which uses foo/mod.rs's Thing: one module, no cycle.
        self.assertNotIn("core/src/foo/mod.rs ->", res.stderr)

    def test_an_item_of_a_mod_rs_points_at_that_file(self) -> None:
        workspace(self.root, {
            "core/src/lib.rs": "mod foo;\nmod x;\n",
            "core/src/foo/mod.rs": "pub struct Thing;\npub fn f() { crate::x::y() }\n",
            "core/src/x.rs": "pub fn y() -> crate::foo::Thing { crate::foo::Thing }\n",
        })
        res = run(self.root)
        self.assertEqual(res.returncode, 1, res.stderr)
        self.assertIn("core/src/foo/mod.rs -> core/src/x.rs -> core/src/foo/mod.rs", res.stderr)

    def test_verify_must_not_name_lib_rs_re_exports(self) -> None:
        files = {
            "core/src/lib.rs": "pub mod error;\npub mod verify;\npub use error::Error;\n",
            "core/src/error.rs": "pub struct Error;\n",
            "core/src/verify/mod.rs": "pub mod check;\n",
            "core/src/verify/check.rs": "pub fn f() -> crate::Error { todo!() }\n",
        }
        workspace(self.root, files)
        res = run(self.root)
        self.assertEqual(res.returncode, 1, res.stderr)
        self.assertIn("core/src/verify/check.rs:1: crate::Error goes through core/src/lib.rs", res.stderr)
        self.assertIn("(core/src/error.rs)", res.stderr)
        (self.root / "core/src/verify/check.rs").write_text("use crate::error::Error;\npub fn f() -> Error { todo!() }\n")
        res = run(self.root)
        self.assertEqual(res.returncode, 0, res.stderr)

    def test_the_allow_variable_turns_failure_into_a_warning(self) -> None:
        workspace(self.root, {
            "core/src/lib.rs": "mod a;\nmod b;\n",
            "core/src/a.rs": "use crate::b::f;\npub fn g() {}\n",
            "core/src/b.rs": "use crate::a::g;\npub fn f() {}\n",
        })
        res = run(self.root, allow=True)
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn(f"warning ({ALLOW_ENV}=1", res.stderr)
        self.assertIn("core/src/a.rs -> core/src/b.rs -> core/src/a.rs", res.stderr)

    def test_crates_are_checked_apart_and_fuzz_is_left_out(self) -> None:
        cyclic = {"src/lib.rs": "mod a;\nmod b;\n", "src/a.rs": "use crate::b::f;\n", "src/b.rs": "use crate::a::g;\n"}
        files = {f"cli/{k}".replace("lib.rs", "main.rs"): v for k, v in cyclic.items()}
        files |= {f"fuzz/{k}": v for k, v in cyclic.items()}
        files["core/src/lib.rs"] = "pub fn f() {}\n"
        workspace(self.root, files, members=("core", "cli", "fuzz"))
        res = run(self.root)
        self.assertEqual(res.returncode, 1, res.stderr)
        self.assertIn("cli/src/a.rs -> cli/src/b.rs -> cli/src/a.rs", res.stderr)
        self.assertNotIn("fuzz/", res.stderr)


class ReadingTest(unittest.TestCase):
    def test_use_trees(self) -> None:
        self.assertEqual(
            _use_paths("super::challenge::{self, Challenge as C, inner::{x, y}}, crate::z::*"),
            [
                (("super", "challenge"), "challenge", False),
                (("super", "challenge", "Challenge"), "C", False),
                (("super", "challenge", "inner", "x"), "x", False),
                (("super", "challenge", "inner", "y"), "y", False),
                (("crate", "z"), None, True),
            ],
        )

    def test_literals_and_lifetimes(self) -> None:
        src = "fn f<'a>(x: &'a str) -> char { let _ = r#\"crate::a\"#; let _ = b\"super::b\"; '\"' }"
        clean = sanitize(src)
        self.assertEqual(len(clean), len(src))
        self.assertNotIn("crate::a", clean)
        self.assertNotIn("super::b", clean)
        self.assertIn("<'a>(x: &'a str)", clean)

    def test_cfg_all_test_is_test_code_any_is_not(self) -> None:
        src = "#[cfg(all(test, unix))]\nfn a() { crate::x() }\n#[cfg(any(test, fuzzing))]\nfn b() { crate::y() }\n"
        clean = strip_test_code(src)
        self.assertNotIn("crate::x", clean)
        self.assertIn("crate::y", clean)


if __name__ == "__main__":
    unittest.main()
