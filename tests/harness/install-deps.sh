#!/usr/bin/env bash
# Installs what tests/harness/harness.py needs: the Distribution registry, skopeo,
# htpasswd (apache2-utils), Python's `cryptography`, python-tuf (`tuf`, for the local TUF
# repository of tuf_repo.py), and redis-server (with redis-cli), which the shared cache tests
# start on 127.0.0.1 themselves. Idempotent; does nothing
# (and touches no network) when everything is already present.
set -euo pipefail

PY="${PYTHON:-python3}"
APT_PKGS=(docker-registry skopeo apache2-utils redis-server)

missing=()
for p in "${APT_PKGS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
        missing+=("$p")
    fi
done

if ((${#missing[@]})); then
    echo "install-deps: installing ${missing[*]}" >&2
    SUDO=()
    if [ "$(id -u)" -ne 0 ]; then SUDO=(sudo); fi
    "${SUDO[@]}" apt-get update -qq
    # The full list, as documented: apt skips what is already installed.
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${APT_PKGS[@]}" >&2
fi

if ! "$PY" -c 'import cryptography' 2>/dev/null; then
    echo "install-deps: installing python cryptography" >&2
    "$PY" -m pip install -q cryptography
fi

if ! "$PY" -c 'import tuf.api.metadata' 2>/dev/null; then
    echo "install-deps: installing python-tuf" >&2
    "$PY" -m pip install -q 'tuf==7.0.1'
fi

# Sanity: the binaries the harness runs.
for b in docker-registry skopeo htpasswd redis-server redis-cli; do
    command -v "$b" >/dev/null || { echo "install-deps: $b not on PATH after install" >&2; exit 1; }
done
