# Sourced (not run) by the bench scripts that resolve tags t0..t99 of bench/app on the harness's
# plain registry; defines two functions. Expects root (the repository) and the current
# directory there.
#
# start_tags_harness: use the harness in $IMAGECHECK_HARNESS if set (tests/bench/run pushes the
# tags there), otherwise start one and push them. Sets state, host, log (the registry's access
# log) and refs, and lets imagecheck talk HTTP to the host.
# stop_own_harness: stop the harness start_tags_harness started, if it did (for an EXIT trap).

own_state=""

start_tags_harness() {
    if [ -z "${IMAGECHECK_HARNESS:-}" ]; then
        state=$(mktemp -d /tmp/imagecheck-bench.XXXXXX)
        own_state=$state
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
}

stop_own_harness() {
    if [ -n "$own_state" ]; then
        python3 "$root/tests/harness/harness.py" stop --state-dir "$own_state" >/dev/null 2>&1 || true
    fi
}
