#!/usr/bin/env bash
# Installs containerd and ctr 2.4.x (Go modules, built once) for the pull-path tests
# (tests/serve). Debian's containerd is 1.6, which has no image-verifier plugin. Idempotent:
# does nothing when the pinned version is already built. Prints the directory holding both.
set -euo pipefail
version=v2.4.2
bin_dir=${IMAGECHECK_CONTAINERD_DIR:-$(go env GOPATH)/containerd-$version/bin}
if [ -x "$bin_dir/containerd" ] && [ -x "$bin_dir/ctr" ] \
    && "$bin_dir/containerd" --version 2>/dev/null | grep -qF " ${version#v}"; then
    echo "$bin_dir"
    exit 0
fi
command -v go >/dev/null || { echo "install-containerd: go is missing" >&2; exit 1; }
echo "install-containerd: building containerd $version (about a minute the first time)" >&2
"$(dirname "$0")/go-install.sh" "$bin_dir" \
    "github.com/containerd/containerd/v2/cmd/containerd@$version" \
    "github.com/containerd/containerd/v2/cmd/ctr@$version"
echo "$bin_dir"
