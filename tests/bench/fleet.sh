#!/usr/bin/env bash
# The fleet's shared cache tier (issue 18), in one run: N = 1, 4, 8, 16 `imagecheck resolve`
# processes, each resolving the same 100 tags at once, without and with a real redis-server
# (started here on 127.0.0.1, stopped by its PID); registry requests counted in the registry's
# access log, wall time for the whole fleet; the time a tier round trip adds to a local miss
# (one process, 100 tags, empty tier vs no tier), and with the tier down (refused, black hole);
# Redis memory per cached tag.
# The harness and tags: tests/bench/tags_harness.sh. Prints Markdown.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
cli=${IMAGECHECK_BENCH_CLI:-$root/target/release/imagecheck}
[ -x "$cli" ] || cargo build --release --quiet --locked -p imagecheck-cli
command -v redis-server >/dev/null || { echo "fleet.sh: redis-server is missing (apt-get install redis-server)" >&2; exit 1; }

# shellcheck source=tests/bench/tags_harness.sh
. tests/bench/tags_harness.sh
redis_pid=""
redis_dir=""
hole_pid=""
cleanup() {
    [ -n "$hole_pid" ] && { kill "$hole_pid" 2>/dev/null || true; }
    [ -n "$redis_pid" ] && { kill "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true; }
    [ -n "$redis_dir" ] && rm -rf "$redis_dir"
    stop_own_harness
}
trap cleanup EXIT
start_tags_harness

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis_dir=$(mktemp -d /tmp/imagecheck-bench-redis.XXXXXX)
redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --dir "$redis_dir" \
    >"$redis_dir/redis.log" 2>&1 &
redis_pid=$!
for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p "$port" ping >/dev/null
# Generous tier timeouts: 16 processes share 2 cores; the defaults (50 ms, 500 ms) are for nodes.
tier="redis://127.0.0.1:$port/0?timeout_ms=1000&lock_wait_ms=3000"

heads_since() { tail -c +"$(($1 + 1))" "$log" | grep -c -E '"HEAD /v2/bench/app/' || true; }

# fleet N [--shared-cache URL]: N processes at once, each resolving the 100 tags cold.
fleet() {
    local n=$1; shift
    redis-cli -p "$port" flushall >/dev/null
    sleep 0.5
    local offset; offset=$(stat -c %s "$log")
    local t0 t1 pids=()
    t0=$(date +%s.%N)
    for _ in $(seq "$n"); do
        "$cli" resolve --ttl 600 "$@" "${refs[@]}" >/dev/null &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p"; done
    t1=$(date +%s.%N)
    sleep 0.5
    echo "$(heads_since "$offset") $(python3 -c "print(f'{($t1 - $t0) * 1000:.0f}')")"
}

echo "Fleet: N processes x 100 tags, all at once, cold (registry HEADs from the access log; wall ms for the whole fleet)"
echo
echo "| N | HEADs, no tier | wall ms, no tier | HEADs, with tier | wall ms, with tier |"
echo "|---|---|---|---|---|"
for n in 1 4 8 16; do
    read -r h0 w0 <<<"$(fleet "$n")"
    read -r h1 w1 <<<"$(fleet "$n" --shared-cache "$tier")"
    echo "| $n | $h0 | $w0 | $h1 | $w1 |"
done
echo

# One process, 100 cold tags, 5 runs each: what the tier's round trips (a read that misses, the
# lock, the write) add to each local miss.
miss() {
    local best=""
    for _ in 1 2 3 4 5; do
        redis-cli -p "$port" flushall >/dev/null
        local t0 t1 ms
        t0=$(date +%s.%N)
        "$cli" resolve --ttl 600 "$@" "${refs[@]}" >/dev/null
        t1=$(date +%s.%N)
        ms=$(python3 -c "print(($t1 - $t0) * 1000)")
        best=$(python3 -c "print(min(float('$ms'), float('${best:-1e9}')))")
    done
    echo "$best"
}
plain=$(miss)
tiered=$(miss --shared-cache "$tier")
# The tier down, with a node's default timeouts (50 ms an operation; the breaker opens after 3
# failures in a row): nothing listening (connection refused), and a black hole that accepts
# connections and never answers, so each operation waits out its timeout until the breaker opens.
closed=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
hole_port_file=$redis_dir/hole.port
python3 - "$hole_port_file" <<'PY' &
import os, socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1024)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
held = []
while True:
    held.append(s.accept()[0])
PY
hole_pid=$!
while [ ! -s "$hole_port_file" ]; do sleep 0.05; done
refused=$(miss --shared-cache "redis://127.0.0.1:$closed/0")
blackhole=$(miss --shared-cache "redis://127.0.0.1:$(cat "$hole_port_file")/0")
kill "$hole_pid" 2>/dev/null || true
redis-cli -p "$port" flushall >/dev/null
before=$(redis-cli -p "$port" info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p')
"$cli" resolve --ttl 600 --shared-cache "$tier" "${refs[@]}" >/dev/null
after=$(redis-cli -p "$port" info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p')
keys=$(redis-cli -p "$port" --scan --pattern 'imagecheck:v1:tag:*' | wc -l)
python3 - "$plain" "$tiered" "$before" "$after" "$keys" "$refused" "$blackhole" <<'EOF'
import sys
plain, tiered, before, after, keys, refused, blackhole = map(float, sys.argv[1:])
print("| one process, 100 cold tags (best of 5) | ms | per tag |")
print("|---|---|---|")
print(f"| no tier | {plain:.0f} | {plain / 100:.2f} ms |")
print(f"| empty tier (read miss, lock, write) | {tiered:.0f} | {tiered / 100:.2f} ms |")
print(f"| added by the tier | {tiered - plain:.0f} | {(tiered - plain) / 100:.2f} ms |")
print(f"| tier down: connection refused (default timeouts) | {refused:.0f} | {refused / 100:.2f} ms |")
print(f"| tier down: a black hole that never answers (default timeouts) | {blackhole:.0f} | {blackhole / 100:.2f} ms |")
print(f"| added by a black-hole tier, for the whole process | {blackhole - plain:.0f} | |")
print()
print(f"Redis memory per cached tag: {(after - before) / max(keys, 1):.0f} B ({int(keys)} tag entries, used_memory {int(before)} -> {int(after)} B)")
EOF
