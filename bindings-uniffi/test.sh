#!/usr/bin/env bash
# Builds the UniFFI library (release cdylib) and the in-workspace uniffi-bindgen, generates the
# Kotlin and Python bindings in library mode, runs the Kotlin JUnit suite with Maven and the
# Python smoke test. The caller starts the harness and exports IMAGECHECK_HARNESS (tests/run
# does); nothing here skips without it.
#
# Env: CARGO_TARGET_DIR (default: <repo>/target), MVN (default: mvn), PYTHON (default: python3),
#      MAVEN_ARGS (extra arguments for mvn, e.g. -o once ~/.m2 is populated),
#      IMAGECHECK_BENCH_ITERS (iterations of the warm-resolve timing loop),
#      IMAGECHECK_UNIFFI_LIB_DIR (a directory holding a prebuilt libimagecheck_uniffi.so with its
#      symbol table, used instead of building one: tests/run passes packaging/build's).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
: "${IMAGECHECK_HARNESS:?IMAGECHECK_HARNESS is not set: run tests/harness/harness.py start --state-dir DIR and export IMAGECHECK_HARNESS=DIR}"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
MVN=${MVN:-mvn}
PYTHON=${PYTHON:-python3}

step() { printf '\n==> %s\n' "$*" >&2; }

# Two invocations on purpose: built together, cargo would unify uniffi's `cli` feature into the
# library's build and compile clap and the generators into the cdylib's graph.
if [ -n "${IMAGECHECK_UNIFFI_LIB_DIR:-}" ]; then
    step "the prebuilt UniFFI library in $IMAGECHECK_UNIFFI_LIB_DIR"
    lib_dir=$IMAGECHECK_UNIFFI_LIB_DIR
else
    step "cargo build --release -p imagecheck-uniffi (cdylib)"
    cargo build --release --locked -p imagecheck-uniffi
    lib_dir=$CARGO_TARGET_DIR/release
fi
step "cargo build -p imagecheck-uniffi-bindgen (the generator, same uniffi version)"
cargo build --locked -p imagecheck-uniffi-bindgen

lib=$lib_dir/libimagecheck_uniffi.so
[ -f "$lib" ] || { echo "bindings-uniffi/test.sh: no $lib" >&2; exit 1; }
bindgen=$CARGO_TARGET_DIR/debug/uniffi-bindgen

kotlin_out=$root/bindings-uniffi/kotlin/target/generated-sources/uniffi
python_out=$CARGO_TARGET_DIR/uniffi-python
step "uniffi-bindgen generate --library (kotlin, python)"
rm -rf "$kotlin_out" "$python_out"
"$bindgen" generate --library "$lib" --language kotlin --out-dir "$kotlin_out"
"$bindgen" generate --library "$lib" --language python --out-dir "$python_out"
# The generated Python module loads the library from its own directory.
cp "$lib" "$python_out/"

step "mvn test (Kotlin bindings against the harness)"
(cd bindings-uniffi/kotlin && "$MVN" -q -B ${MAVEN_ARGS:-} test "-Dimagecheck.lib.dir=$lib_dir")

step "python smoke test (generated ctypes bindings)"
"$PYTHON" bindings-uniffi/python/smoke_test.py "$python_out"
