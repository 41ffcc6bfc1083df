#!/usr/bin/env bash
# Cold resolve of 100 tags against a local Distribution registry, in one run: one
# `imagecheck resolve` process with 100 references vs 100 runs each of `crane digest`,
# `skopeo inspect` and `curl -I`; requests counted in the registry's access log.
# Uses the harness in $IMAGECHECK_HARNESS if set (tags t0..t99 of bench/app must exist there,
# tests/bench/run pushes them); otherwise starts its own and pushes them.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
cli=$root/target/release/imagecheck
[ -x "$cli" ] || cargo build --release --quiet --locked -p imagecheck-cli
crane=${CRANE:-$(command -v crane || echo "$HOME/go/bin/crane")}

if [ -z "${IMAGECHECK_HARNESS:-}" ]; then
    state=$(mktemp -d /tmp/imagecheck-bench.XXXXXX)
    trap 'python3 "$root/tests/harness/harness.py" stop --state-dir "$state" >/dev/null 2>&1 || true' EXIT
    python3 tests/harness/harness.py start --state-dir "$state" --owner-pid $$ >/dev/null
    IMAGECHECK_HARNESS=$state tests/bench/push_tags.sh
else
    state=$IMAGECHECK_HARNESS
fi
host=$(python3 -c "import json; print(json.load(open('$state/state.json'))['registries']['plain']['host'])")
log=$(python3 -c "import json; print(json.load(open('$state/state.json'))['registries']['plain']['log'])")
export IMAGECHECK_INSECURE_REGISTRIES=$host
refs=()
for i in $(seq 0 99); do refs+=("$host/bench/app:t$i"); done
accept='application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json'

# run LABEL COMMAND...: time the command, count requests to bench/app made meanwhile.
results=()
run() {
    local label=$1; shift
    sleep 0.5
    local offset; offset=$(stat -c %s "$log")
    local t0 t1; t0=$(date +%s.%N)
    "$@" >/dev/null
    t1=$(date +%s.%N)
    sleep 0.5
    local n; n=$(tail -c +"$((offset + 1))" "$log" | grep -c -E '"(HEAD|GET) /v2/bench/' || true)
    results+=("$label|$t0|$t1|$n")
}
each() { local tool=$1; shift; for r in "${refs[@]}"; do "$tool" "$@" "$r"; done; }
crane_digest() { "$crane" digest --insecure "$1"; }
skopeo_inspect() { skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$1"; }
curl_head() { local r=$1 path=${1#*/}; curl -sfI -H "Accept: $accept" "http://$host/v2/${path%:*}/manifests/${r##*:}"; }

run "imagecheck resolve (1 process, 100 refs)" "$cli" resolve "${refs[@]}"
run "crane digest (100 processes)" each crane_digest
run "skopeo inspect (100 processes)" each skopeo_inspect
run "curl -I with the Accept list (100 processes)" each curl_head

python3 - "${results[@]}" <<'PY'
import sys
rows = [r.split("|") for r in sys.argv[1:]]
base = (float(rows[0][2]) - float(rows[0][1])) / 100 * 1000
print("| resolve, 100 tags, cold | ms per reference | registry requests per reference | this / imagecheck |")
print("|---|---|---|---|")
for label, t0, t1, n in rows:
    ms = (float(t1) - float(t0)) / 100 * 1000
    print(f"| {label} | {ms:.2f} | {int(n)/100:.2f} | {ms/base:.1f}x |")
PY
