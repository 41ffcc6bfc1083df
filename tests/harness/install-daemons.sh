#!/usr/bin/env bash
# Installs what tests/harness/daemons.py starts, plus the registry tools the engine tests use:
#   docker.io  (dockerd; its postinst would start the daemon, so a policy-rc.d that exits 101
#               is put in place for the duration of the install and removed afterwards)
#   podman     (podman system service: the Docker-compatible API)
#   docker-registry skopeo apache2-utils  (registries to pull from, the skopeo oracle)
# Idempotent: does nothing, and touches no network, when everything is already installed.
set -euo pipefail

PKGS=(docker.io podman docker-registry skopeo apache2-utils)

missing=()
for p in "${PKGS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
        missing+=("$p")
    fi
done

if ((${#missing[@]})); then
    echo "install-daemons: installing ${missing[*]}" >&2
    SUDO=()
    if [ "$(id -u)" -ne 0 ]; then SUDO=(sudo); fi
    policy=/usr/sbin/policy-rc.d
    created_policy=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\n# installed by imagecheck tests/harness/install-daemons.sh\nexit 101\n' \
            | "${SUDO[@]}" tee "$policy" >/dev/null
        "${SUDO[@]}" chmod 755 "$policy"
        created_policy=1
    fi
    cleanup() { if [ "$created_policy" = 1 ]; then "${SUDO[@]}" rm -f "$policy"; fi; }
    trap cleanup EXIT
    "${SUDO[@]}" apt-get update -qq
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${PKGS[@]}" >&2
fi

for b in dockerd podman docker-registry skopeo htpasswd; do
    command -v "$b" >/dev/null || { echo "install-daemons: $b not on PATH after install" >&2; exit 1; }
done
