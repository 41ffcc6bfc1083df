#!/usr/bin/env bash
# Benchmark the docker and podman engines against the daemons' own CLIs, in one run.
#
#   IMAGECHECK_HARNESS=/tmp/ic-harness IMAGECHECK_DAEMONS=/tmp/ic-daemons/daemons.json \
#     tests/bench/engines.sh
#
# 1. core/examples/engines_bench.rs (release build), in process: per engine, BENCH_FIRST fresh
#    images (single manifest, and multi-arch index) resolved once (a pull), then BENCH_STEADY
#    resolves of one of them (ttl 0: an inspect every call); the registry engine for scale.
# 2. As processes, BENCH_PROC times each: `docker -H unix://… image inspect`,
#    `podman --url unix://… image inspect` (through the same service), local
#    `podman image inspect` (same storage, no service), and `imagecheck resolve --engine …`.
# Prints ms per call (mean / median / p90). Needs the harness and daemons started as in
# core/tests/engines.rs; touches only loopback.
set -euo pipefail

: "${IMAGECHECK_HARNESS:?set IMAGECHECK_HARNESS to the harness state dir}"
: "${IMAGECHECK_DAEMONS:?set IMAGECHECK_DAEMONS to daemons.json}"
export BENCH_FIRST="${BENCH_FIRST:-5}" BENCH_STEADY="${BENCH_STEADY:-50}"
BENCH_PROC="${BENCH_PROC:-20}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DAEMONS="$IMAGECHECK_DAEMONS"
[ -d "$DAEMONS" ] && DAEMONS="$DAEMONS/daemons.json"
export IMAGECHECK_DAEMONS="$DAEMONS"

cd "$ROOT"
cargo build --quiet --release -p imagecheck --example engines_bench
cargo build --quiet --release -p imagecheck-cli
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}/release"

out="$(mktemp)"
trap 'rm -f "$out"' EXIT
"$TARGET/examples/engines_bench" | tee "$out"

json() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$DAEMONS" "$1"; }
DOCKER_SOCK="$(json 'd["docker_socket"]')"
PODMAN_SOCK="$(json 'd["podman_socket"]')"
PODMAN_ENV="$(json '" ".join(f"{k}={v}" for k, v in d["podman_env"].items())')"
PLAIN="$(python3 -c 'import json,sys,os; p=sys.argv[1]; p=os.path.join(p,"state.json") if os.path.isdir(p) else p; print(json.load(open(p))["registries"]["plain"]["host"])' "$IMAGECHECK_HARNESS")"
ref_of() { awk -v k="$1" '$1=="ref" && $2==k {print $3}' "$out"; }

# time_cmd LABEL CMD...: BENCH_PROC runs, ms per run.
time_cmd() {
    local label="$1"; shift
    python3 - "$label" "$BENCH_PROC" "$@" <<'PY'
import subprocess, sys, time, statistics
label, n, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
samples = []
for _ in range(n):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    samples.append((time.perf_counter() - t) * 1000)
samples.sort()
print(f"result process={label} n={n} mean_ms={statistics.mean(samples):.3f} "
      f"median_ms={samples[n // 2]:.3f} p90_ms={samples[min(n - 1, n * 9 // 10)]:.3f} "
      f"min_ms={samples[0]:.3f} max_ms={samples[-1]:.3f}")
PY
}

for kind in image index; do
    DREF="$(ref_of "docker-$kind")"
    PREF="$(ref_of "podman-$kind")"
    time_cmd "docker-image-inspect-$kind" docker -H "unix://$DOCKER_SOCK" image inspect --format '{{json .RepoDigests}}' "$DREF"
    time_cmd "podman-remote-image-inspect-$kind" podman --url "unix://$PODMAN_SOCK" image inspect --format '{{json .RepoDigests}}' "$PREF"
    # shellcheck disable=SC2086
    time_cmd "podman-local-image-inspect-$kind" env $PODMAN_ENV podman image inspect --format '{{json .RepoDigests}}' "$PREF"
    time_cmd "imagecheck-cli-docker-$kind" "$TARGET/imagecheck" resolve --engine docker --docker-host "unix://$DOCKER_SOCK" --insecure-registry "$PLAIN" "$DREF"
    time_cmd "imagecheck-cli-podman-$kind" "$TARGET/imagecheck" resolve --engine podman --podman-host "unix://$PODMAN_SOCK" --insecure-registry "$PLAIN" "$PREF"
done
