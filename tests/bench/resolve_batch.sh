#!/usr/bin/env bash
# Cold resolve of 100 tags against a local Distribution registry, in one run: one
# `imagecheck resolve` process with 100 references vs 100 runs each of `crane digest`,
# `skopeo inspect` and `curl -I`; requests counted in the registry's access log.
# The harness and tags: tests/bench/tags_harness.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
cli=${IMAGECHECK_BENCH_CLI:-$root/target/release/imagecheck}
[ -x "$cli" ] || cargo build --release --quiet --locked -p imagecheck-cli
crane=${CRANE:-$(command -v crane || echo "$HOME/go/bin/crane")}

# shellcheck source=tests/bench/tags_harness.sh
. tests/bench/tags_harness.sh
trap stop_own_harness EXIT
start_tags_harness
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
