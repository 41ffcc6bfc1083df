#!/usr/bin/env python3
"""Import circles between the files of each workspace crate, and imports that reach back up.

    import_cycles.py [--root DIR]

Reads the Rust sources of every crate of the workspace at DIR (default: this repository; the
members of its Cargo.toml, each from src/lib.rs and src/main.rs, following `mod NAME;`) and builds
a graph of files: file A depends on file B when A names an item of B by a path, in a `use` or in
code, that starts with `crate::`, `super::`, `self::` or a submodule's name (`$crate::` in macros
too). A module path maps to its file, `a/b.rs` or `a/b/mod.rs` (a folder's module); a name that
is not a submodule is an item of the file reached so far, and when that file only brings the name
in by a `use`, the path is followed there, so a name re-exported by `lib.rs` or a `mod.rs` points
at the file that defines it.

Not edges: a module file's references into its own submodules (it declares them, re-exports
them, uses them: they are part of it; their references up to it do count), and everything under
`#[cfg(test)]` (a tests module naturally uses its parent), comments and string literals.

Fails (exit 1) on
- every cycle of files, printed as `a.rs -> b.rs -> a.rs` with the names that tie each step;
- every path from a file under a FORBIDDEN_VIA folder that goes through the crate root's own
  names (`crate::Error`, a re-export of lib.rs): core/src/verify/ must name `crate::error::Error`,
  not lib.rs's public face, so that lib.rs can change what it re-exports freely.

With IMAGECHECK_ALLOW_IMPORT_CYCLES=1 it prints the same findings as a warning and exits 0
(tests/run sets it while the circles known in issue 15 are being removed).

Python 3.11, standard library only.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ALLOW_ENV = "IMAGECHECK_ALLOW_IMPORT_CYCLES"
# (folder, file): no path from a file under `folder` may go through the crate-root names of `file`.
FORBIDDEN_VIA: tuple[tuple[str, str], ...] = (("core/src/verify/", "core/src/lib.rs"),)
# Workspace members that are not checked.
EXCLUDED_MEMBERS = ("fuzz",)
# How many re-exports a path may pass through before the search gives up (a `use` loop).
MAX_HOPS = 16
# Cycles printed per strongly connected set of files (a big knot has very many).
MAX_CYCLES_PER_KNOT = 20

ModPath = tuple[str, ...]


class CheckError(Exception):
    """The sources cannot be read as this script expects (exit status 2)."""


# ------------------------------------------------------------------------------------------
# Reading Rust: blank out comments and literals, cut out #[cfg(test)] items
# ------------------------------------------------------------------------------------------

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_RAW_STRING = re.compile(r'(?:b|c)?r(#*)"')
# A char literal; a lifetime ('a) has no closing quote.
_CHAR = re.compile(r"'(?:\\(?:u\{[0-9a-fA-F]+\}|x[0-9a-fA-F]{2}|.)|[^\\'\n])'")
_BYTE_CHAR = re.compile(r"b'(?:\\.|[^\\'\n])'")


def _blank(text: str) -> str:
    """Spaces for every character but newlines, so that offsets and line numbers stay put."""
    return re.sub(r"[^\n]", " ", text)


def sanitize(src: str) -> str:
    """`src` with comments, string, byte-string, raw-string and char literals blanked out."""
    out: list[str] = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        prev_ident = i > 0 and (src[i - 1].isalnum() or src[i - 1] == "_")
        if src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
        elif src.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if src.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif src.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
        elif not prev_ident and (m := _RAW_STRING.match(src, i)):
            close = '"' + m.group(1)
            j = src.find(close, m.end())
            j = n if j < 0 else j + len(close)
        elif c == '"' or (not prev_ident and c in "bc" and src.startswith('"', i + 1)):
            j = i + (1 if c == '"' else 2)
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            j += 1
        elif c == "'" and (m := _CHAR.match(src, i)):
            j = m.end()
        elif not prev_ident and c == "b" and (m := _BYTE_CHAR.match(src, i)):
            j = m.end()
        else:
            out.append(c)
            i += 1
            continue
        out.append(_blank(src[i:j]))
        i = j
    return "".join(out)


def _matching(text: str, open_at: int) -> int:
    """Offset just past the bracket that closes the one at `open_at`."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    stack = [pairs[text[open_at]]]
    j = open_at + 1
    while j < len(text) and stack:
        ch = text[j]
        if ch in pairs:
            stack.append(pairs[ch])
        elif stack and ch == stack[-1]:
            stack.pop()
        j += 1
    return j


def _item_end(text: str, start: int) -> int:
    """End of the item (or statement) that begins at `start`: a `;` outside brackets, or the
    end of its first top-level `{...}` (a `use` tree's braces do not end a `use`)."""
    is_use = re.compile(r"(?:pub\s*(?:\([^)]*\))?\s*)?use\b").match(text, start) is not None
    j = start
    while j < len(text):
        ch = text[j]
        if ch == ";":
            return j + 1
        if ch in "([":
            j = _matching(text, j)
            continue
        if ch == "{":
            end = _matching(text, j)
            if not is_use:
                return end
            j = end
            continue
        j += 1
    return j


def _requires_test(pred: str) -> bool:
    """Whether a cfg predicate holds only in test builds: `test`, or `all(..)` with such a part."""
    pred = pred.strip()
    if pred == "test":
        return True
    m = re.fullmatch(r"(all|any)\s*\((.*)\)", pred, re.S)
    if not m:
        return False
    parts = _split_top(m.group(2))
    if m.group(1) == "all":
        return any(_requires_test(p) for p in parts)
    return bool(parts) and all(_requires_test(p) for p in parts)


def _split_top(text: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return parts


_CFG = re.compile(r"#\s*\[\s*cfg\s*\(")
_INNER_CFG = re.compile(r"#\s*!\s*\[\s*cfg\s*\(")
_ATTR = re.compile(r"#\s*\[")


def strip_test_code(text: str) -> str:
    """Blank every item under an outer `#[cfg(test)]` (or `cfg(all(test, ..))`); a file whose
    inner attribute is `#![cfg(test)]` becomes empty."""
    for inner in _INNER_CFG.finditer(text):
        close = _matching(text, inner.end() - 1)
        if _requires_test(text[inner.end() : close - 1]):
            return _blank(text)
    pos = 0
    while m := _CFG.search(text, pos):
        open_paren = m.end() - 1
        close = _matching(text, open_paren)
        pred = text[m.end() : close - 1]
        attr_end = _matching(text, text.index("[", m.start()))
        if not _requires_test(pred):
            pos = attr_end
            continue
        start = attr_end
        while True:  # further attributes on the same item
            k = len(text) - len(text[start:].lstrip())
            a = _ATTR.match(text, k)
            if not a:
                start = k
                break
            start = _matching(text, a.end() - 1)
        end = _item_end(text, start)
        text = text[: m.start()] + _blank(text[m.start() : end]) + text[end:]
        pos = end
    return text


# ------------------------------------------------------------------------------------------
# Modules, files, `use` trees and paths
# ------------------------------------------------------------------------------------------


@dataclass
class Reference:
    """A path that names something of the crate, where it was written."""

    file: Path
    line: int
    module: ModPath  # the module the path is written in (file module + inline modules)
    segments: tuple[str, ...]  # as written: ("super", "token", "AuthCache")
    text: str  # as printed: "super::token::AuthCache"


@dataclass
class Module:
    path: ModPath
    file: Path
    bindings: dict[str, Reference] = field(default_factory=dict)  # `use` names of this module
    globs: list[Reference] = field(default_factory=list)  # `use x::*`
    items: set[str] = field(default_factory=set)  # names defined in it (approximately)


@dataclass
class Crate:
    root: Path  # src/lib.rs or src/main.rs
    modules: dict[ModPath, Module] = field(default_factory=dict)  # file and inline modules
    files: dict[Path, ModPath] = field(default_factory=dict)  # each file's own module
    references: list[Reference] = field(default_factory=list)


_MOD_DECL = re.compile(r"(?<![\w$])(?:pub\s*(?:\([^)]*\))?\s*)?mod\s+([A-Za-z_]\w*)\s*([;{])")
_ITEM_DEF = re.compile(
    r"(?<![\w$])(?:fn|struct|enum|union|trait|type|const(?!\s+(?:fn|unsafe|async)\b)|static(?:\s+mut)?"
    r"|macro_rules\s*!)\s+([A-Za-z_]\w*)"
)
_USE = re.compile(r"(?<![\w$])(?:pub\s*(?:\([^)]*\))?\s*)?use\s+")
_ROOTED = re.compile(r"(?<![\w:])(\$crate|crate|self|super)((?:\s*::\s*[A-Za-z_]\w*)+)")
_RELATIVE = re.compile(r"(?<![\w:$.'])([a-z_]\w*)((?:\s*::\s*[A-Za-z_]\w*)+)")
_VIS_IN = re.compile(r"pub\s*\(\s*in\s+[^)]*\)")
_KEYWORDS = {"crate", "self", "super", "Self", "std", "core", "alloc"}


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _inline_modules(text: str) -> list[tuple[int, int, str]]:
    """(start, end, name) of every `mod NAME { ... }` in the file."""
    out = []
    for m in _MOD_DECL.finditer(text):
        if m.group(2) == "{":
            out.append((m.start(), _matching(text, m.end() - 1), m.group(1)))
    return out


def _module_at(inline: list[tuple[int, int, str]], base: ModPath, offset: int) -> ModPath:
    return base + tuple(name for start, end, name in sorted(inline) if start < offset < end)


def _brace_depths(text: str) -> list[int]:
    """The `{` nesting depth at every offset."""
    depths, depth = [], 0
    for ch in text:
        if ch == "}":
            depth -= 1
        depths.append(depth)
        if ch == "{":
            depth += 1
    return depths


def _use_paths(tree: str) -> list[tuple[tuple[str, ...], str | None, bool]]:
    """The paths of a `use` tree: (segments, the name it binds or None, is a glob)."""
    tokens = re.findall(r"::|[{},*]|[A-Za-z_$][\w$]*", tree)
    out: list[tuple[tuple[str, ...], str | None, bool]] = []
    pos = 0

    def peek(k: int = 0) -> str:
        return tokens[pos + k] if pos + k < len(tokens) else ""

    def parse(prefix: tuple[str, ...]) -> None:
        """One tree after `prefix::`: `{a, b::c}`, `*`, or `path [as name]` / `path::{...}`."""
        nonlocal pos
        if peek() == "{":
            pos += 1
            while peek() not in ("}", ""):
                parse(prefix)
                if peek() == ",":
                    pos += 1
            pos += 1
            return
        if peek() == "*":
            pos += 1
            out.append((prefix, None, True))
            return
        segs = list(prefix)
        while _IDENT.fullmatch(peek().lstrip("$")):
            segs.append(peek())
            pos += 1
            if peek() == "::" and peek(1) in ("{", "*"):
                pos += 1
                parse(tuple(segs))
                return
            if peek() == "::":
                pos += 1
                continue
            break
        if len(segs) == len(prefix):
            pos += 1  # not a path: skip the token
            return
        if segs[-1] == "self" and len(segs) > 1:
            segs.pop()  # `a::{self}` is `a`
        name: str | None = segs[-1]
        if peek() == "as":
            name = None if peek(1) == "_" else peek(1)
            pos += 2
        out.append((tuple(segs), name, False))

    while pos < len(tokens):
        parse(())
        if peek() == ",":
            pos += 1
    return out


def _child_file(parent_file: Path, parent_is_dir_module: bool, inline: tuple[str, ...], name: str) -> Path | None:
    """Where `mod name;` declared in `parent_file` (inside inline modules `inline`) lives."""
    base = parent_file.parent if parent_is_dir_module else parent_file.with_suffix("")
    base = base.joinpath(*inline)
    for candidate in (base / f"{name}.rs", base / name / "mod.rs"):
        if candidate.is_file():
            return candidate
    return None


def load_crate(root_file: Path) -> Crate:
    crate = Crate(root_file)
    pending: list[tuple[ModPath, Path]] = [((), root_file)]
    while pending:
        path, file = pending.pop()
        text = strip_test_code(sanitize(file.read_text(encoding="utf-8", errors="replace")))
        if re.search(r"#\s*\[\s*path\s*=", text):
            raise CheckError(f"{file}: #[path = ...] modules are not supported by {Path(__file__).name}")
        text = _VIS_IN.sub(lambda m: _blank(m.group(0)), text)
        is_dir_module = file.name in ("mod.rs", "lib.rs", "main.rs")
        inline = _inline_modules(text)
        crate.modules[path] = Module(path, file)
        crate.files[file] = path
        for start, _end, name in inline:
            mpath = _module_at(inline, path, start) + (name,)
            crate.modules[mpath] = Module(mpath, file)
        for m in _MOD_DECL.finditer(text):
            if m.group(2) != ";":
                continue
            outer = _module_at(inline, path, m.start())
            child = _child_file(file, is_dir_module, outer[len(path) :], m.group(1))
            if child is None:
                raise CheckError(f"{file}:{_line(text, m.start())}: no file for `mod {m.group(1)};`")
            pending.append((outer + (m.group(1),), child))
        depths = _brace_depths(text)

        def module_level(offset: int) -> bool:
            """Not inside a function, impl or type: directly in the file or an inline module."""
            return depths[offset] == len(_module_at(inline, path, offset)) - len(path)

        for m in _ITEM_DEF.finditer(text):
            if module_level(m.start()):
                crate.modules[_module_at(inline, path, m.start())].items.add(m.group(1))
        use_spans: list[tuple[int, int]] = []
        for m in _USE.finditer(text):
            end = _item_end(text, m.end())
            use_spans.append((m.start(), end))
            module = _module_at(inline, path, m.start())
            line = _line(text, m.start())
            for segs, bound, glob in _use_paths(text[m.end() : end]):
                ref = Reference(file, line, module, segs, "::".join(segs) + ("::*" if glob else ""))
                if not module_level(m.start()):
                    pass  # a `use` inside a function binds nothing others can name
                elif glob:
                    crate.modules[module].globs.append(ref)
                elif bound is not None:
                    crate.modules[module].bindings[bound] = ref
                crate.references.append(ref)
        for regex in (_ROOTED, _RELATIVE):
            for m in regex.finditer(text):
                if any(s <= m.start() < e for s, e in use_spans):
                    continue
                if regex is _RELATIVE and m.group(1) in _KEYWORDS:
                    continue
                segs = (m.group(1).lstrip("$"),) + tuple(re.findall(r"[A-Za-z_]\w*", m.group(2)))
                crate.references.append(
                    Reference(file, _line(text, m.start()), _module_at(inline, path, m.start()), segs, "::".join(segs))
                )
    return crate


@dataclass(frozen=True)
class Resolved:
    file: Path
    via: tuple[Path, ...]  # files whose crate-root names (bindings) the path went through


def _absolute(crate: Crate, ref: Reference) -> ModPath | None:
    """The crate-relative segments `ref` names, or None when it names another crate."""
    segs = list(ref.segments)
    first = segs[0]
    if first == "crate":
        return tuple(segs[1:])
    if first in ("self", "super"):
        base = list(ref.module)
        if first == "self":
            segs = segs[1:]
        while segs and segs[0] == "super":
            if not base:
                return None
            base.pop()
            segs = segs[1:]
        return tuple(base) + tuple(segs)
    here = ref.module
    if here + (first,) in crate.modules:
        return here + tuple(segs)
    binding = crate.modules[here].bindings.get(first) if here in crate.modules else None
    if binding is not None and binding is not ref:
        target = _absolute(crate, binding)
        return None if target is None else target + tuple(segs[1:])
    return None  # std::, serde::, imagecheck::, a type's associated item, ...


def resolve(crate: Crate, segments: ModPath, hops: int = 0) -> Resolved | None:
    """The file that defines what the crate-relative `segments` name."""
    cur: ModPath = ()
    for i, seg in enumerate(segments):
        if cur + (seg,) in crate.modules:
            cur = cur + (seg,)
            continue
        module = crate.modules[cur]
        binding = module.bindings.get(seg)
        if binding is not None and seg not in module.items and hops < MAX_HOPS:
            target = _absolute(crate, binding)
            if target is None:
                return None  # brought in from another crate
            found = resolve(crate, target + segments[i + 1 :], hops + 1)
            return None if found is None else Resolved(found.file, (module.file,) + found.via)
        if seg not in module.items and hops < MAX_HOPS:
            for glob in module.globs:
                target = _absolute(crate, glob)
                if target is None or target not in crate.modules:
                    continue
                inner = crate.modules[target]
                if seg in inner.items or seg in inner.bindings or target + (seg,) in crate.modules:
                    found = resolve(crate, target + segments[i:], hops + 1)
                    if found is not None:
                        return Resolved(found.file, (module.file,) + found.via)
        return Resolved(module.file, (module.file,))
    return Resolved(crate.modules[cur].file, ())


# ------------------------------------------------------------------------------------------
# The graph, its cycles and the forbidden paths
# ------------------------------------------------------------------------------------------

Edges = dict[Path, dict[Path, list[Reference]]]


def edges_of(crate: Crate) -> tuple[Edges, list[tuple[Reference, Resolved]]]:
    """File -> file -> the references that make the first depend on the second, and every
    reference with what it resolved to."""
    edges: Edges = {}
    resolved_refs: list[tuple[Reference, Resolved]] = []
    for ref in crate.references:
        target = _absolute(crate, ref)
        if target is None:
            continue
        found = resolve(crate, target)
        if found is None:
            continue
        resolved_refs.append((ref, found))
        if found.file == ref.file:
            continue
        here, there = crate.files[ref.file], crate.files[found.file]
        if there[: len(here)] == here:
            continue  # a module's own submodule: part of it (declared, re-exported or used by it)
        edges.setdefault(ref.file, {}).setdefault(found.file, []).append(ref)
    return edges, resolved_refs


def knots(edges: Edges) -> list[list[Path]]:
    """Strongly connected sets of more than one file (Tarjan), each sorted, sorted."""
    index: dict[Path, int] = {}
    low: dict[Path, int] = {}
    stack: list[Path] = []
    on_stack: set[Path] = set()
    out: list[list[Path]] = []
    counter = 0

    def visit(v: Path) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, {})):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    nodes = sorted(set(edges) | {w for targets in edges.values() for w in targets})
    for v in nodes:
        if v not in index:
            visit(v)
    return sorted(out)


def cycles_in(knot: list[Path], edges: Edges) -> list[list[Path]]:
    """Elementary cycles inside one knot, each starting at its smallest file (at most MAX_CYCLES_PER_KNOT)."""
    members = set(knot)
    found: list[list[Path]] = []
    for start in knot:
        allowed = {f for f in members if f >= start}

        def walk(path: list[Path]) -> None:
            if len(found) >= MAX_CYCLES_PER_KNOT:
                return
            for nxt in sorted(edges.get(path[-1], {})):
                if nxt == start:
                    found.append(path + [start])
                elif nxt in allowed and nxt not in path:
                    walk(path + [nxt])

        walk([start])
    return found


@dataclass
class Findings:
    cycles: list[str] = field(default_factory=list)
    forbidden: list[str] = field(default_factory=list)


def _names(refs: list[Reference]) -> str:
    seen: dict[str, int] = {}
    for r in refs:
        seen.setdefault(r.text, r.line)
    return ", ".join(f"{text} (line {line})" for text, line in seen.items())


def check(root: Path, crate_roots: list[Path]) -> Findings:
    findings = Findings()

    def rel(p: Path) -> str:
        return p.relative_to(root).as_posix()

    for crate_root in crate_roots:
        crate = load_crate(crate_root)
        edges, resolved_refs = edges_of(crate)
        for knot in knots(edges):
            for cycle in cycles_in(knot, edges):
                lines = [" -> ".join(rel(p) for p in cycle)]
                for a, b in zip(cycle, cycle[1:]):
                    lines.append(f"    {rel(a)} -> {rel(b)}: {_names(edges[a][b])}")
                findings.cycles.append("\n".join(lines))
        for ref, found in resolved_refs:
            for folder, via in FORBIDDEN_VIA:
                if rel(ref.file).startswith(folder) and any(rel(v) == via for v in found.via):
                    findings.forbidden.append(
                        f"{rel(ref.file)}:{ref.line}: {ref.text} goes through {via}'s own names; "
                        f"name the module that defines it ({rel(found.file)})"
                    )
    return findings


def crate_roots(root: Path) -> list[Path]:
    """src/lib.rs and src/main.rs of every member of the workspace at `root`."""
    try:
        manifest = tomllib.loads((root / "Cargo.toml").read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise CheckError(f"cannot read the workspace manifest {root / 'Cargo.toml'}: {e}") from e
    members = manifest.get("workspace", {}).get("members", ["."])
    out = []
    for member in members:
        if any(member == x or member.startswith(x + "/") for x in EXCLUDED_MEMBERS):
            continue
        for name in ("lib.rs", "main.rs"):
            path = root / member / "src" / name
            if path.is_file():
                out.append(path)
    if not out:
        raise CheckError(f"no src/lib.rs or src/main.rs in the members of {root / 'Cargo.toml'}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[2], help="the workspace")
    args = ap.parse_args(argv)
    root = args.root.resolve()
    try:
        findings = check(root, crate_roots(root))
    except CheckError as e:
        print(f"import_cycles: {e}", file=sys.stderr)
        return 2
    if not findings.cycles and not findings.forbidden:
        print("import_cycles: no import cycle between files", file=sys.stderr)
        return 0
    report = []
    if findings.cycles:
        report.append(f"{len(findings.cycles)} import cycle(s) between files (move what both need into a file of its own):")
        report += findings.cycles
    if findings.forbidden:
        report.append(f"{len(findings.forbidden)} path(s) through a crate root's re-exports:")
        report += findings.forbidden
    allowed = os.environ.get(ALLOW_ENV) == "1"
    prefix = f"import_cycles: warning ({ALLOW_ENV}=1, not failing): " if allowed else "import_cycles: "
    print(prefix + "\n".join(report), file=sys.stderr)
    return 0 if allowed else 1


if __name__ == "__main__":
    sys.exit(main())
