#!/usr/bin/env bash
# The pull path in one run (issue 14): cli/benches/serve.rs (warm Verify through the socket vs
# in-process vs CLI processes vs cosign; the containerd verifier process; cold Verify; daemon RSS
# idle and after BENCH_TAGS distinct cached tags), then `ctr image pull` of one signed image with
# and without the verifier (containerd 2.4.2, native snapshotter, BENCH_PULLS pulls each).
#
#   IMAGECHECK_HARNESS=DIR tests/bench/serve.sh      (the harness and sign.py must have run)
set -euo pipefail
: "${IMAGECHECK_HARNESS:?set IMAGECHECK_HARNESS to a started and signed harness}"
cd "$(dirname "$0")/../.."
root=$PWD
tags=${BENCH_TAGS:-10000}
pulls=${BENCH_PULLS:-20}
ctd=$(tests/harness/install-containerd.sh)
cargo build --release --quiet --locked -p imagecheck-cli

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

BENCH_TAGS=$tags cargo bench --quiet --locked -p imagecheck-cli --bench serve 2>/dev/null | grep -v '^$' || true

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
    "$root/target/release/imagecheck" serve --socket "$work/imagecheck.sock" --policy "$policy" </dev/null &
pids+=($!)
start_containerd() {  # NAME WITH_VERIFIER
    local d=$work/$1
    mkdir -p "$d/bin"
    case $2 in
        yes) ln -s "$root/target/release/imagecheck" "$d/bin/imagecheck-containerd-verifier" ;;
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
pull_ms() {  # NAME: median ms of $pulls pulls
    python3 - "$ctd/ctr" "$work/$1/c.sock" "$image" "$pulls" <<'PY'
import statistics, subprocess, sys, time
ctr, sock, image, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
times = []
for i in range(n + 2):
    t = time.monotonic()
    subprocess.run([ctr, "-a", sock, "image", "pull", "--plain-http", "--snapshotter", "native",
                    "--platform", "linux/amd64", image], check=True, capture_output=True)
    if i >= 2:
        times.append((time.monotonic() - t) * 1000)
    subprocess.run([ctr, "-a", sock, "image", "rm", image], check=True, capture_output=True)
print(f"{statistics.median(times):.1f} {min(times):.1f}")
PY
}
read -r plain_med plain_min < <(pull_ms plain)
read -r ver_med ver_min < <(pull_ms verified)
read -r true_med true_min < <(pull_ms true)
echo
echo "| ctr image pull of one signed image ($pulls pulls, transfer service, native snapshotter) | median | min |"
echo "|---|---|---|"
echo "| no verifier | $plain_med ms | $plain_min ms |"
echo "| /bin/true as the verifier (containerd's own cost) | $true_med ms | $true_min ms |"
echo "| imagecheck-containerd-verifier, warm daemon | $ver_med ms | $ver_min ms |"
python3 -c "print(f'| added by imagecheck | {float(\"$ver_med\") - float(\"$plain_med\"):.1f} ms | {float(\"$ver_min\") - float(\"$plain_min\"):.1f} ms |')"
python3 -c "print(f'| added by imagecheck beyond /bin/true | {float(\"$ver_med\") - float(\"$true_med\"):.1f} ms | {float(\"$ver_min\") - float(\"$true_min\"):.1f} ms |')"
