#!/usr/bin/env bash
# Push one fresh image as tags t0..t99 of bench/app to the plain registry of $IMAGECHECK_HARNESS.
set -euo pipefail
cd "$(dirname "$0")/../.."
state=$IMAGECHECK_HARNESS
host=$(python3 -c "import json; print(json.load(open('$state/state.json'))['registries']['plain']['host'])")
layout=$state/bench-layout
rm -rf "$layout"
python3 tests/harness/harness.py make-image --out "$layout" --seed "bench-app-$$" >/dev/null
python3 tests/harness/harness.py push --state-dir "$state" --layout "$layout" --registry plain --to bench/app:t0 >/dev/null
for i in $(seq 1 99); do
    skopeo copy -q --src-tls-verify=false --dest-tls-verify=false \
        "docker://$host/bench/app:t0" "docker://$host/bench/app:t$i"
done
