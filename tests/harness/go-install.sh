#!/usr/bin/env bash
# go install PKG@VERSION... into BIN_DIR with a build cache and a module cache of its own, both
# deleted afterwards. These tools (cosign, containerd) are built once per machine, and their
# caches are dead weight after that: 4.1 GB for cosign 3.1.3 and containerd 2.4.2 (1.7 GB build
# cache, 2.4 GB modules, measured 2026-12-01), disk that a CI machine needs for the
# Rust builds. The user's own Go caches are neither read nor filled.
#
#   tests/harness/go-install.sh BIN_DIR PKG@VERSION...
set -euo pipefail
[ "$#" -ge 2 ] || { echo "usage: go-install.sh BIN_DIR PKG@VERSION..." >&2; exit 3; }
bin_dir=$1; shift
command -v go >/dev/null || { echo "go-install: go is missing" >&2; exit 1; }
scratch=$(mktemp -d "${TMPDIR:-/tmp}/imagecheck-go-install.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$bin_dir"
# -modcacherw: modules are written writable, so the scratch directory can be removed.
GOBIN=$bin_dir GOCACHE=$scratch/cache GOMODCACHE=$scratch/mod GOFLAGS=-modcacherw \
    go install "$@" >&2
