#!/usr/bin/env bash
# Cold resolve against a local Distribution registry, in one run:
#   - requests the registry sees per resolve (access log), for a batch of 100 tags;
#   - wall time for those 100 tags: one `imagecheck resolve` call vs 100 `skopeo inspect` runs.
# Usage: tests/bench/resolve_batch.sh   (builds the release CLI, starts its own harness)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
tests/harness/install-deps.sh >/dev/null
cargo build --release --quiet --locked -p imagecheck-cli
cli=$root/target/release/imagecheck
state=$(mktemp -d /tmp/imagecheck-bench.XXXXXX)
trap 'python3 "$root/tests/harness/harness.py" stop --state-dir "$state" >/dev/null 2>&1 || true' EXIT
python3 tests/harness/harness.py start --state-dir "$state" --owner-pid $$ >/dev/null
host=$(python3 -c "import json; print(json.load(open('$state/state.json'))['registries']['plain']['host'])")
log=$(python3 -c "import json; print(json.load(open('$state/state.json'))['registries']['plain']['log'])")
export IMAGECHECK_INSECURE_REGISTRIES=$host

echo "tagging 100 tags of bench/app ..." >&2
layout=$state/bench-layout
python3 tests/harness/harness.py make-image --out "$layout" --seed bench-app >/dev/null
python3 tests/harness/harness.py push --state-dir "$state" --layout "$layout" --registry plain --to bench/app:t0 >/dev/null
refs=()
for i in $(seq 0 99); do
    [ "$i" = 0 ] || skopeo copy -q --src-tls-verify=false --dest-tls-verify=false \
        "docker://$host/bench/app:t0" "docker://$host/bench/app:t$i"
    refs+=("$host/bench/app:t$i")
done
sleep 0.5

count() { python3 - "$log" "$1" <<'PY'
import sys
path, offset = sys.argv[1], int(sys.argv[2])
data = open(path, 'rb').read()[offset:].decode(errors='replace')
lines = [l for l in data.splitlines() if '"HEAD /v2/bench/' in l or '"GET /v2/bench/' in l]
heads = sum('"HEAD ' in l for l in lines)
print(len(lines), heads)
PY
}

offset=$(stat -c %s "$log")
t0=$(date +%s.%N)
"$cli" resolve "${refs[@]}" >/dev/null
t1=$(date +%s.%N)
sleep 0.5
read -r ic_requests ic_heads < <(count "$offset")

offset=$(stat -c %s "$log")
t2=$(date +%s.%N)
for r in "${refs[@]}"; do skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$r" >/dev/null; done
t3=$(date +%s.%N)
sleep 0.5
read -r sk_requests _ < <(count "$offset")

python3 - "$t0" "$t1" "$t2" "$t3" "$ic_requests" "$ic_heads" "$sk_requests" <<'PY'
import sys
t0, t1, t2, t3 = map(float, sys.argv[1:5]); icr, ich, skr = map(int, sys.argv[5:8])
ic, sk = (t1 - t0) / 100 * 1000, (t3 - t2) / 100 * 1000
print(f"| tool | ms per reference (100 tags) | registry requests per reference |")
print(f"|---|---|---|")
print(f"| imagecheck resolve (1 process, 100 refs) | {ic:.2f} | {icr/100:.2f} ({ich} HEAD of {icr}) |")
print(f"| skopeo inspect (100 processes) | {sk:.2f} | {skr/100:.2f} |")
print(f"| ratio skopeo / imagecheck | {sk/ic:.1f}x | |")
PY
