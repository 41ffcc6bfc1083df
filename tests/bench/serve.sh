#!/usr/bin/env bash
# The pull path in one run (issue 14): cli/benches/serve.rs (warm Verify through the socket vs
# in-process vs CLI processes vs cosign; the containerd verifier process; cold Verify; daemon RSS
# idle and after BENCH_TAGS distinct cached tags), then `ctr image pull` of one signed image with
# and without the verifier (containerd 2.4.2, native snapshotter, BENCH_PULLS pulls each).
#
#   IMAGECHECK_HARNESS=DIR tests/bench/serve.sh      (the harness and sign.py must have run)
#
# IMAGECHECK_BENCH_CLI=PATH uses that release CLI (dist/cli/imagecheck, say) for the pulls and
# skips the release build and cli/benches/serve.rs (the in-process and socket figures), which is
# most of this script's time.
set -euo pipefail
: "${IMAGECHECK_HARNESS:?set IMAGECHECK_HARNESS to a started and signed harness}"
cd "$(dirname "$0")/../.."
root=$PWD
tags=${BENCH_TAGS:-10000}
pulls=${BENCH_PULLS:-20}
ctd=$(tests/harness/install-containerd.sh)
if [ -n "${IMAGECHECK_BENCH_CLI:-}" ]; then
    cli=$IMAGECHECK_BENCH_CLI
    [ -x "$cli" ] || { echo "IMAGECHECK_BENCH_CLI=$cli is not an executable" >&2; exit 1; }
    tags=0  # the distinct tags are for serve.rs's RSS figure only
else
    cargo build --release --quiet --locked -p imagecheck-cli
    cli=$root/target/release/imagecheck
fi

echo "pushing $tags tags of one image (manifest PUTs) ..." >&2
python3 - "$IMAGECHECK_HARNESS" "$tags" <<'PY'
import http.client, json, sys
state = json.load(open(f"{sys.argv[1]}/state.json"))
host = state["registries"]["plain"]["host"]
image = next(i for i in state["images"] if i["name"] == "hello-oci")
conn = http.client.HTTPConnection(host, timeout=30)
conn.request("GET", "/v2/test/hello/manifests/v1", headers={"Accept": image["media_type"]})
manifest = conn.getresponse().read()
# Blobs must be in the target repository: mount them from test/hello.
for digest in [l["digest"] for l in json.loads(manifest)["layers"]] + [json.loads(manifest)["config"]["digest"]]:
    conn.request("POST", f"/v2/bench/many/blobs/uploads/?mount={digest}&from=test/hello")
    conn.getresponse().read()
for i in range(int(sys.argv[2])):
    conn.request("PUT", f"/v2/bench/many/manifests/t{i}", body=manifest,
                 headers={"Content-Type": image["media_type"]})
    r = conn.getresponse(); r.read()
    assert r.status == 201, r.status
PY

if [ -z "${IMAGECHECK_BENCH_CLI:-}" ]; then
    BENCH_TAGS=$tags cargo bench --quiet --locked -p imagecheck-cli --bench serve 2>/dev/null | grep -v '^$' || true
else
    echo "(IMAGECHECK_BENCH_CLI set: cli/benches/serve.rs skipped; pulls only, with $cli)"
fi

# ctr image pull with and without the verifier, the daemon warm.
work=$(mktemp -d /tmp/imagecheck-serve-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 0.5; rm -rf "$work"; }
trap cleanup EXIT
host=$(python3 -c "import json; print(json.load(open('$IMAGECHECK_HARNESS/state.json'))['registries']['plain']['host'])")
insecure=$(python3 -c "import json; s=json.load(open('$IMAGECHECK_HARNESS/state.json'))['registries']; print(','.join(s[r]['host'] for r in ('plain','basic','token')))")
policy=$(python3 -c "import json; print(json.load(open('$IMAGECHECK_HARNESS/signed.json'))['policies']['key-a'])")
image=$(python3 -c "import json; print(json.load(open('$IMAGECHECK_HARNESS/signed.json'))['images']['legacy']['reference'])")
IMAGECHECK_INSECURE_REGISTRIES=$insecure IMAGECHECK_LOG=error \
    "$cli" serve --socket "$work/imagecheck.sock" --policy "$policy" </dev/null &
pids+=($!)
start_containerd() {  # NAME WITH_VERIFIER
    local d=$work/$1
    mkdir -p "$d/bin"
    case $2 in
        yes) ln -s "$cli" "$d/bin/imagecheck-containerd-verifier" ;;
        true) ln -s /bin/true "$d/bin/true" ;;  # containerd's own cost of running a verifier
    esac
    cat >"$d/config.toml" <<TOML
version = 3
root = "$d/root"
state = "$d/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$d/c.sock"
[ttrpc]
  address = "$d/c.sock.ttrpc"
[plugins."io.containerd.image-verifier.v1.bindir"]
  bin_dir = "$d/bin"
[plugins."io.containerd.transfer.v1.local"]
  [[plugins."io.containerd.transfer.v1.local".unpack_config]]
    platform = "linux/amd64"
    snapshotter = "native"
TOML
    IMAGECHECK_SOCKET=$work/imagecheck.sock IMAGECHECK_POLICY=$policy IMAGECHECK_INSECURE_REGISTRIES=$insecure \
        "$ctd/containerd" --config "$d/config.toml" >"$d/log" 2>&1 </dev/null &
    pids+=($!)
    while [ ! -S "$d/c.sock" ]; do sleep 0.02; done
}
start_containerd plain no
start_containerd verified yes
start_containerd true true
while [ ! -S "$work/imagecheck.sock" ]; do sleep 0.02; done
# The three containerds take turns, in a rotating order, round after round: drift on a loaded
# machine then falls on all three alike, and each round gives a paired difference.
python3 - "$ctd/ctr" "$work" "$image" "$pulls" <<'PY'
import statistics, subprocess, sys, time
ctr, work, image, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
names = ["plain", "true", "verified"]
times = {name: [] for name in names}
def pull(name):
    sock = f"{work}/{name}/c.sock"
    t = time.monotonic()
    subprocess.run([ctr, "-a", sock, "image", "pull", "--plain-http", "--snapshotter", "native",
                    "--platform", "linux/amd64", image], check=True, capture_output=True)
    took = (time.monotonic() - t) * 1000
    subprocess.run([ctr, "-a", sock, "image", "rm", image], check=True, capture_output=True)
    return took
for name in names:  # unmeasured: first pulls fill caches and start the daemon's connections
    pull(name); pull(name)
for i in range(n):
    order = names[i % 3:] + names[:i % 3]
    for name in order:
        times[name].append(pull(name))
med = {k: statistics.median(v) for k, v in times.items()}
low = {k: min(v) for k, v in times.items()}
def paired(a, b):
    return statistics.median(x - y for x, y in zip(times[a], times[b]))
print()
print(f"| ctr image pull of one signed image ({n} rounds, the three interleaved; transfer service, native snapshotter) | median | min |")
print("|---|---|---|")
print(f"| no verifier | {med['plain']:.1f} ms | {low['plain']:.1f} ms |")
print(f"| /bin/true as the verifier (containerd's own cost) | {med['true']:.1f} ms | {low['true']:.1f} ms |")
print(f"| imagecheck-containerd-verifier, warm daemon | {med['verified']:.1f} ms | {low['verified']:.1f} ms |")
print(f"| added by imagecheck (median of paired differences) | {paired('verified', 'plain'):.1f} ms | |")
print(f"| added by imagecheck beyond /bin/true (median of paired differences) | {paired('verified', 'true'):.1f} ms | |")
PY
