#!/usr/bin/env bash
# Mirrors (issue 17): `imagecheck verify` of one key-signed legacy image, each run a fresh process
# (cold caches), direct from the harness registry against through a Distribution pull-through
# cache (`proxy.remoteurl`, started here on 127.0.0.1) named as the registry's mirror in a
# registries.conf. BENCH_RUNS rounds, the two interleaved in alternating order, so drift on a
# loaded machine falls on both; the ratio is the median of the per-round ratios. The mirror has
# served the image once before timing starts (a warm pull-through cache, as on a fleet). Also
# counts the requests of one verify each way, at the mirror and at the source.
#
#   IMAGECHECK_HARNESS=DIR [IMAGECHECK_BENCH_CLI=PATH] tests/bench/mirror.sh
set -euo pipefail
: "${IMAGECHECK_HARNESS:?set IMAGECHECK_HARNESS to a started and signed harness}"
cd "$(dirname "$0")/../.."
root=$PWD
runs=${BENCH_RUNS:-30}
cli=${IMAGECHECK_BENCH_CLI:-$root/target/release/imagecheck}
[ -x "$cli" ] || cargo build --release --quiet --locked -p imagecheck-cli
command -v docker-registry >/dev/null || { echo "mirror.sh: docker-registry is missing (tests/harness/install-deps.sh)" >&2; exit 1; }

work=$(mktemp -d /tmp/imagecheck-mirror-bench.XXXXXX)
proxy_pid=""
cleanup() { [ -n "$proxy_pid" ] && { kill "$proxy_pid" 2>/dev/null || true; wait "$proxy_pid" 2>/dev/null || true; }; rm -rf "$work"; }
trap cleanup EXIT

read -r upstream upstream_log image policy < <(python3 - "$IMAGECHECK_HARNESS" <<'PY'
import json, sys
state = json.load(open(f"{sys.argv[1]}/state.json"))
signed = json.load(open(f"{sys.argv[1]}/signed.json"))
plain = state["registries"]["plain"]
print(plain["host"], plain["log"], signed["images"]["legacy"]["reference"], signed["policies"]["key-a"])
PY
)
case $image in "$upstream"/*) ;; *) echo "mirror.sh: $image is not on the plain registry $upstream" >&2; exit 1 ;; esac
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mirror=127.0.0.1:$port
cat >"$work/proxy.yml" <<YAML
version: 0.1
log: {level: warn, formatter: text, accesslog: {disabled: false}}
storage: {filesystem: {rootdirectory: $work/storage}, maintenance: {uploadpurging: {enabled: false}}}
http: {addr: "$mirror", secret: mirror-bench}
proxy: {remoteurl: "http://$upstream"}
YAML
docker-registry serve "$work/proxy.yml" >"$work/proxy.log" 2>&1 </dev/null &
proxy_pid=$!
for _ in $(seq 100); do curl -fs "http://$mirror/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fs "http://$mirror/v2/" >/dev/null || { cat "$work/proxy.log" >&2; exit 1; }
cat >"$work/registries.conf" <<TOML
[[registry]]
prefix = "$upstream"
location = "$upstream"
insecure = true
[[registry.mirror]]
location = "$mirror"
insecure = true
TOML

export IMAGECHECK_INSECURE_REGISTRIES=$upstream,$mirror IMAGECHECK_LOG=error
direct=("$cli" verify --policy "$policy" "$image")
mirrored=("$cli" verify --registries-conf "$work/registries.conf" --policy "$policy" "$image")
# The answer through the mirror must name the mirror, or the figure would be of the direct route.
"${mirrored[@]}" | tee "$work/first" >/dev/null
grep -q "$mirror" "$work/first" || { echo "mirror.sh: the verify did not go through $mirror: $(cat "$work/first")" >&2; exit 1; }
"${direct[@]}" >/dev/null

# Requests of one verify each way, from the access logs: at the mirror, and at the source from
# imagecheck (its user agent) and from the mirror's own upstream checks.
requests() {  # COMMAND...: prints "MIRROR SOURCE_FROM_IMAGECHECK SOURCE_FROM_THE_MIRROR"
    local up_off mirror_off
    up_off=$(stat -c %s "$upstream_log"); mirror_off=$(stat -c %s "$work/proxy.log")
    "$@" >/dev/null
    sleep 0.3
    local at_mirror from_us from_mirror
    at_mirror=$(tail -c +"$((mirror_off + 1))" "$work/proxy.log" | grep -c '"[A-Z]* /v2/[^"]*" [0-9]' || true)
    from_us=$(tail -c +"$((up_off + 1))" "$upstream_log" | grep '"[A-Z]* /v2/[^"]*" [0-9]' | grep -c '"imagecheck/' || true)
    from_mirror=$(tail -c +"$((up_off + 1))" "$upstream_log" | grep '"[A-Z]* /v2/[^"]*" [0-9]' | grep -vc '"imagecheck/' || true)
    echo "$at_mirror $from_us $from_mirror"
}
read -r d_mirror d_us d_proxy < <(requests "${direct[@]}")
read -r m_mirror m_us m_proxy < <(requests "${mirrored[@]}")
echo "| requests of one verify | at the mirror | at the source, from imagecheck | at the source, from the mirror |"
echo "|---|---|---|---|"
echo "| direct | $d_mirror | $d_us | $d_proxy |"
echo "| through the mirror | $m_mirror | $m_us | $m_proxy |"
echo

# argv: RUNS DIRECT... -- MIRRORED...
python3 - "$runs" "${direct[@]}" -- "${mirrored[@]}" <<'PY'
import statistics, subprocess, sys, time
runs = int(sys.argv[1])
split = sys.argv.index("--")
direct, mirrored = sys.argv[2:split], sys.argv[split + 1:]
def once(cmd):
    t = time.monotonic()
    subprocess.run(cmd, check=True, capture_output=True)
    return (time.monotonic() - t) * 1000
a, b = [], []
for i in range(runs):
    if i % 2:
        b.append(once(mirrored)); a.append(once(direct))
    else:
        a.append(once(direct)); b.append(once(mirrored))
ratios = [y / x for x, y in zip(a, b)]
print(f"| imagecheck verify process, key-signed legacy image ({runs} rounds, interleaved) | median | min | max |")
print("|---|---|---|---|")
print(f"| direct from the registry | {statistics.median(a):.1f} ms | {min(a):.1f} ms | {max(a):.1f} ms |")
print(f"| through a pull-through mirror (registries.conf) | {statistics.median(b):.1f} ms | {min(b):.1f} ms | {max(b):.1f} ms |")
print(f"| mirror / direct, per round | {statistics.median(ratios):.2f}x | {min(ratios):.2f}x | {max(ratios):.2f}x |")
PY
