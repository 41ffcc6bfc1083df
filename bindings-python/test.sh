#!/usr/bin/env bash
# Build the Python package (release wheel, abi3), install it into a virtualenv, and run the
# Python tests: conformance cases, asyncio, threads, fork, logging, stubs (mypy.stubtest and
# mypy --strict) and a fresh-venv install of the wheel. Installs what it needs, idempotently;
# the system Python is left alone.
#
# Needs the harness: IMAGECHECK_HARNESS=DIR of `python3 tests/harness/harness.py start --state-dir DIR`.
# Options (environment): IMAGECHECK_VENV (default /tmp/imagecheck-venv), PYTHON (the
# interpreter that makes the venv, default python3), CARGO_TARGET_DIR (default <repo>/target),
# PYTEST_ARGS (extra pytest arguments), IMAGECHECK_WHEEL_FILE (test this prebuilt wheel instead
# of building one: tests/run passes the one packaging/build wrote to dist/).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")

if [ -z "${IMAGECHECK_HARNESS:-}" ]; then
    echo "test.sh: IMAGECHECK_HARNESS is not set: start the harness with" >&2
    echo "  python3 tests/harness/harness.py start --state-dir DIR; export IMAGECHECK_HARNESS=DIR" >&2
    exit 2
fi
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
venv=${IMAGECHECK_VENV:-/tmp/imagecheck-venv}
python=${PYTHON:-python3}

step() { printf '\n==> %s\n' "$*" >&2; }

step "virtualenv $venv (maturin, pytest, mypy)"
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
need=()
"$venv/bin/python" -c 'import pytest, mypy' 2>/dev/null || need+=(pytest mypy)
"$venv/bin/maturin" --version >/dev/null 2>&1 || need+=("maturin>=1.9.4,<2")
if [ ${#need[@]} -gt 0 ]; then
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "${need[@]}"
fi

if [ -n "${IMAGECHECK_WHEEL_FILE:-}" ]; then
    step "the prebuilt wheel $IMAGECHECK_WHEEL_FILE"
    [ -f "$IMAGECHECK_WHEEL_FILE" ] || { echo "test.sh: no wheel at $IMAGECHECK_WHEEL_FILE" >&2; exit 1; }
    wheel=$IMAGECHECK_WHEEL_FILE
else
    step "maturin build --release (abi3 wheel)"
    wheels=$CARGO_TARGET_DIR/python-wheels
    rm -rf "$wheels"
    "$venv/bin/maturin" build --release --locked --manifest-path "$here/Cargo.toml" --out "$wheels" \
        --interpreter "$venv/bin/python"
    wheel=$(ls "$wheels"/imagecheck-*.whl)
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps "$wheel"

step "pytest (warnings are errors)"
cd "$here"
# The default verifier reads IMAGECHECK_POLICY; the tests expect it unset.
env -u IMAGECHECK_POLICY IMAGECHECK_WHEEL="$wheel" \
    "$venv/bin/python" -m pytest -q -W error ${PYTEST_ARGS:-} tests
