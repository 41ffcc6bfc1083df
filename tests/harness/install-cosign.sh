#!/usr/bin/env bash
# Installs real cosign (a Go module) for the signing stage of the tests. Idempotent: does
# nothing when the pinned version is already installed. Prints the binary's path.
set -euo pipefail
version=v3.1.3
bin_dir=${GOBIN:-$(go env GOPATH)/bin}
cosign=$bin_dir/cosign
if [ -x "$cosign" ] && "$cosign" version 2>/dev/null | grep -q "${version#v}"; then
    echo "$cosign"
    exit 0
fi
command -v go >/dev/null || { echo "install-cosign: go is missing" >&2; exit 1; }
echo "install-cosign: building cosign $version (a few minutes the first time)" >&2
"$(dirname "$0")/go-install.sh" "$bin_dir" "github.com/sigstore/cosign/v3/cmd/cosign@$version"
echo "$cosign"
