#!/usr/bin/env bash
# The `go generate` step of ffi.go, for development inside the repository: builds the Rust
# static library (bindings-c, release) and copies it to lib/GOOS_GOARCH/libimagecheck.a, where
# ffi.go links it from. The packaged module (packaging/build) carries a prebuilt, stripped copy
# there instead, and does not ship this script.
#
#   go generate ./...        # in bindings-go/; honours CARGO_TARGET_DIR
#   IMAGECHECK_LIB_DIR=DIR go generate ./...   # copy DIR/libimagecheck.a, build nothing
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
platform=${GOOS:-$(go env GOOS)}_${GOARCH:-$(go env GOARCH)}
if [ -n "${IMAGECHECK_LIB_DIR:-}" ]; then
    lib=$IMAGECHECK_LIB_DIR/libimagecheck.a
else
    command -v cargo >/dev/null || {
        echo "generate-lib.sh: cargo is missing: install Rust (rustup, Rust >= 1.90), or set IMAGECHECK_LIB_DIR to a directory holding libimagecheck.a" >&2
        exit 1
    }
    (cd "$root" && cargo build --release -p imagecheck-capi --locked)
    lib=${CARGO_TARGET_DIR:-$root/target}/release/libimagecheck.a
fi
[ -f "$lib" ] || { echo "generate-lib.sh: $lib does not exist" >&2; exit 1; }
mkdir -p "$here/lib/$platform"
# Copy, then rename: a Go build running meanwhile never links half a file.
cp "$lib" "$here/lib/$platform/.libimagecheck.a.tmp"
mv "$here/lib/$platform/.libimagecheck.a.tmp" "$here/lib/$platform/libimagecheck.a"
echo "generate-lib.sh: $lib -> lib/$platform/libimagecheck.a" >&2
