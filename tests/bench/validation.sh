#!/usr/bin/env bash
# Cost of --validate-responses: wrk against the same tokenstack binary with and without it, interleaved,
# reporting req/s and server CPU per request (utime+stime from /proc). Writes nothing; paste into BENCHMARKS.md.
#
#   tests/bench/validation.sh [BINARY] [SECONDS] [ROUNDS]
#
# Needs wrk. Default binary: target/release/tokenstack if built, else target/debug/tokenstack.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN="${1:-}"
if [ -z "$BIN" ]; then
    BIN="$REPO/target/release/tokenstack"; [ -x "$BIN" ] || BIN="$REPO/target/debug/tokenstack"
fi
SECS="${2:-10}"
ROUNDS="${3:-3}"
KEY="bench-key-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"
PAT="nbp_7mVGH0cRRsTILrfedNbmiNkhEX0WF71GUrpM"
TICK=$(getconf CLK_TCK)

run() { # mode port path auth
    local mode=$1 port=$2 path=$3 auth=$4 flag=()
    [ "$mode" = on ] && flag=(--validate-responses)
    "$BIN" --bind "127.0.0.1:$port" --seed "$REPO/examples/seed.yaml" --log-level error \
        --bootstrap-token "$KEY" --bootstrap-pat "$PAT" "${flag[@]}" >/dev/null 2>&1 &
    local pid=$!
    for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
    curl -sf -H "Authorization: $auth" "http://127.0.0.1:$port$path" >/dev/null  # warm-up (compiles the validator)
    local before; before=$(awk '{print $14+$15}' "/proc/$pid/stat")
    local out; out=$(wrk -t1 -c8 -d"${SECS}s" -H "Authorization: $auth" "http://127.0.0.1:$port$path")
    local after; after=$(awk '{print $14+$15}' "/proc/$pid/stat")
    kill "$pid"; wait "$pid" 2>/dev/null || true
    local reqs rps; reqs=$(echo "$out" | awk '/requests in/ {print $1}'); rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    local non2xx; non2xx=$(echo "$out" | awk '/Non-2xx/ {print $5}')
    awk -v m="$mode" -v p="$path" -v r="$rps" -v n="$reqs" -v c="$((after - before))" -v t="$TICK" -v e="${non2xx:-0}" \
        'BEGIN { printf "%-4s %-32s %10.0f req/s %8.1f µs CPU/req  (non-2xx: %s)\n", m, p, r, c / t * 1e6 / n, e }'
}

echo "binary: $BIN; wrk -t1 -c8 -d${SECS}s; $ROUNDS rounds, interleaved"
for round in $(seq "$ROUNDS"); do
    for mode in off on; do
        run "$mode" 19470 /api/v3/core/tokens/ "Bearer $KEY"
        run "$mode" 19471 /api/users/admin/tokens "Token $PAT"
    done
done
