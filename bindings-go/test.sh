#!/usr/bin/env bash
# Every check of the C ABI (bindings-c) and the Go binding (bindings-go), against the harness.
#
#   IMAGECHECK_HARNESS=DIR bindings-go/test.sh
#
# DIR is a running harness (python3 tests/harness/harness.py start --state-dir DIR); tests/run
# starts it. Installs what it needs idempotently (valgrind via apt; cbindgen 0.29.4 via cargo
# install), builds the release staticlib/cdylib, checks that include/imagecheck.h is not stale,
# runs the C test under valgrind, copies the library into bindings-go/lib/linux_amd64 (go generate),
# then go vet, gofmt, go test -race and the GC-forcing mode.
# Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
step() { printf '\n==> %s\n' "$*" >&2; }
die() { printf 'bindings-go/test.sh: %s\n' "$*" >&2; exit 1; }

if [ -z "${IMAGECHECK_HARNESS:-}" ] || [ ! -f "$IMAGECHECK_HARNESS/state.json" ]; then
    die "IMAGECHECK_HARNESS must name a running harness's state dir:
    python3 tests/harness/harness.py start --state-dir /tmp/ic-harness
    IMAGECHECK_HARNESS=/tmp/ic-harness bindings-go/test.sh"
fi
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
lib_dir=${IMAGECHECK_LIB_DIR:-$CARGO_TARGET_DIR/release}
cbindgen_version=0.29.4

step "installing test tools if missing (valgrind, cbindgen $cbindgen_version)"
if ! command -v valgrind >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind
fi
export PATH="$HOME/.cargo/bin:$PATH"
if ! cbindgen --version 2>/dev/null | grep -qx "cbindgen $cbindgen_version"; then
    cargo install cbindgen --version "$cbindgen_version" --locked
fi
command -v go >/dev/null || die "go is missing (Go >= 1.25 is needed)"
command -v cc >/dev/null || die "a C compiler (cc) is missing"

if [ -n "${IMAGECHECK_LIB_DIR:-}" ]; then
    # tests/run passes the library packaging/build made (the one dist/ ships), built once.
    step "the prebuilt C library in $IMAGECHECK_LIB_DIR"
    [ -f "$lib_dir/libimagecheck.a" ] || die "IMAGECHECK_LIB_DIR=$lib_dir holds no libimagecheck.a"
else
    step "cargo build --release -p imagecheck-capi"
    cargo build --release -p imagecheck-capi --locked
fi

step "include/imagecheck.h is up to date (cbindgen $cbindgen_version)"
work=$(mktemp -d /tmp/imagecheck-capi-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
(cd bindings-c && cbindgen --quiet --config cbindgen.toml --crate imagecheck-capi --output "$work/imagecheck.h")
if ! diff -u bindings-c/include/imagecheck.h "$work/imagecheck.h"; then
    die "bindings-c/include/imagecheck.h is stale: regenerate it with
    (cd bindings-c && cbindgen --config cbindgen.toml --crate imagecheck-capi --output include/imagecheck.h)"
fi

step "C test (header compiled as C, linked to the staticlib) under valgrind"
cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g -I bindings-c/include \
    bindings-c/tests/capi_test.c -o "$work/capi_test" \
    "$lib_dir/libimagecheck.a" -lpthread -ldl -lm
mapfile -t args < <(python3 - "$IMAGECHECK_HARNESS/state.json" <<'PY'
import json, sys
state = json.load(open(sys.argv[1]))
images = {i["name"]: i for i in state["images"]}
basic = state["registries"]["basic"]
for value in (state["registries"]["plain"]["host"], images["hello-oci"]["reference"],
              images["hello-oci"]["digest"], basic["host"], basic["username"], basic["password"],
              images["basic-hello-oci"]["reference"], images["basic-hello-oci"]["digest"]):
    print(value)
PY
)
insecure=$(python3 -c 'import json,sys; print(",".join(r["host"] for r in json.load(open(sys.argv[1]))["registries"].values()))' "$IMAGECHECK_HARNESS/state.json")
# Definite leaks and memory errors fail the run. Threads of the library's runtime are never
# joined (a process-wide runtime lives until exit), so their stacks and thread-locals show as
# "possibly lost"/"still reachable"; those kinds are reported, not counted (see bindings-c/tests/README.md).
IMAGECHECK_INSECURE_REGISTRIES=$insecure valgrind --quiet --leak-check=full \
    --errors-for-leak-kinds=definite --show-leak-kinds=definite --error-exitcode=1 \
    --suppressions=bindings-c/tests/valgrind.supp \
    "$work/capi_test" "${args[@]}"

step "go generate (copies $lib_dir/libimagecheck.a to lib/linux_amd64/, where ffi.go links it), go vet, gofmt"
cd "$root/bindings-go"
IMAGECHECK_LIB_DIR=$lib_dir go generate ./...
go vet ./...
unformatted=$(gofmt -l .)
[ -z "$unformatted" ] || die "gofmt: not formatted: $unformatted"

step "go test -race"
go test -count=1 -race ./...

step "go test -tags imagecheck_gc (a GC inside every call: missing KeepAlives crash)"
go test -count=1 -tags imagecheck_gc ./...

step "bindings-go: all checks passed"
