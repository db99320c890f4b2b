#!/usr/bin/env bash
# Cost of the durable stores: the same tokenstack binary on memory, sqlite: and a PostgreSQL cluster this script
# starts on loopback, for authenticated core_tokens_retrieve, NetBird PAT auth + retrieve, core_tokens_create and
# core_tokens_set_key_create. Server `taskset -c 0` (its tokio runtime and SQLite threads alike), wrk
# `taskset -c 1` (`wrk -t1 -c32`), PostgreSQL unpinned; server CPU per request = utime+stime of /proc/PID/stat over
# the run ÷ wrk's requests. Writes nothing; the numbers go to BENCHMARKS.md.
#
#   [STORES="memory sqlite postgres"] tests/bench/stores.sh [BINARY] [SECONDS] [ROUNDS]
#
# Needs wrk, taskset, curl, python3, cargo and the PostgreSQL server binaries: `cargo xtask postgres` (the workspace's
# one launcher, crates/pg-cluster) runs the cluster, as the `postgres` user when run as root. Default binary: target/release/tokenstack. The server runs with `--log-level warn` (the request
# log is measured elsewhere) and `--max-tokens-per-user 0` (so that the create rows do not meet the quota).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN="${1:-$REPO/target/release/tokenstack}"
SECS="${2:-5}"
ROUNDS="${3:-1}"
KEY="bench-key-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"
PAT="nbp_7mVGH0cRRsTILrfedNbmiNkhEX0WF71GUrpM"
TICK=$(getconf CLK_TCK)
WORK="$(mktemp -d /tmp/tokenstack-stores-XXXXXX)"
SERVER_PID=""

pg() { (cd "$REPO" && cargo -q xtask postgres "$@"); }
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
    [ -d "$WORK/pg/data" ] && pg stop "$WORK/pg" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# The cluster's directory is the `postgres` user's when run as root: it must be able to reach it.
chmod 755 "$WORK"
case " ${STORES:-postgres} " in *" postgres "*) pg start "$WORK/pg" >/dev/null ;; esac
DB=0

cat >"$WORK/post.lua" <<'EOF'
local kind = os.getenv("BENCH_BODY")
local run = os.getenv("BENCH_RUN") or "0"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local counter = 0
request = function()
  counter = counter + 1
  local body
  if kind == "create" then
    body = '{"identifier":"wrk-' .. run .. '-' .. counter .. '","intent":"api","description":"bench"}'
    return wrk.format(nil, nil, nil, body)
  end
  -- set_key: the 64 tokens bench-0 … bench-63 in turn (one row under 32 writers would measure its row lock).
  body = '{"key":"wrk-key-' .. run .. '-' .. counter .. '-0123456789abcdefghijklmnopqrstuvwxyz"}'
  return wrk.format(nil, "/api/v3/core/tokens/bench-" .. (counter % 64) .. "/set_key/", nil, body)
end
EOF

serve() { # store: starts the server, sets BASE and SERVER_PID
    "$BIN" --bind 127.0.0.1:0 --store "$1" --log-level warn --bootstrap-token "$KEY" --bootstrap-pat "$PAT" \
        --max-tokens-per-user 0 >"$WORK/server.out" 2>"$WORK/server.err" &
    SERVER_PID=$!
    taskset -a -cp 0 "$SERVER_PID" >/dev/null
    for _ in $(seq 100); do grep -q "listening on" "$WORK/server.out" 2>/dev/null && break; sleep 0.1; done
    BASE=$(sed -n 's/^tokenstack listening on //p' "$WORK/server.out" | head -1)
    [ -n "$BASE" ] || { cat "$WORK/server.err"; exit 1; }
    # Threads started later (SQLite's, sqlx's) inherit core 0 from the process.
    taskset -a -cp 0 "$SERVER_PID" >/dev/null
}

stop() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; }

measure() { # store scenario method path auth [body kind]
    local store=$1 scenario=$2 method=$3 path=$4 auth=$5 body=${6:-} script=()
    [ "$method" = POST ] && script=(-s "$WORK/post.lua")
    local before; before=$(awk '{print $14+$15}' "/proc/$SERVER_PID/stat")
    local out
    out=$(BENCH_BODY="$body" BENCH_RUN="$RANDOM$RANDOM" taskset -c 1 wrk -t1 -c32 -d"${SECS}s" --latency \
        -H "Authorization: $auth" "${script[@]}" "$BASE$path")
    local after; after=$(awk '{print $14+$15}' "/proc/$SERVER_PID/stat")
    local reqs rps p99 non2xx
    reqs=$(echo "$out" | awk '/requests in/ {print $1}')
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
    non2xx=$(echo "$out" | awk '/Non-2xx/ {print $5}')
    awk -v s="$store" -v c="$scenario" -v r="$rps" -v n="$reqs" -v t="$((after - before))" -v k="$TICK" \
        -v p="$p99" -v e="${non2xx:-0}" \
        'BEGIN { printf "| %-8s | %-26s | %8.0f | %7.1f | %8s | %s |\n", s, c, r, t / k * 1e6 / n, p, e }'
}

bench_store() { # label store-url
    serve "$2"
    local ak="Bearer $KEY" nb="Token $PAT"
    curl -sf -X POST -H "Authorization: $ak" -H 'Content-Type: application/json' \
        -d '{"identifier": "bench-target", "expiring": false}' "$BASE/api/v3/core/tokens/" >/dev/null
    local pat_id
    for n in $(seq 0 63); do
        curl -sf -X POST -H "Authorization: $ak" -H 'Content-Type: application/json' \
            -d "{\"identifier\": \"bench-$n\", \"expiring\": false}" "$BASE/api/v3/core/tokens/" >/dev/null
    done
    pat_id=$(curl -sf -H "Authorization: $nb" "$BASE/api/users/admin/tokens" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
    curl -sf -H "Authorization: $ak" "$BASE/api/v3/core/tokens/bench-target/" >/dev/null
    curl -sf -H "Authorization: $nb" "$BASE/api/users/admin/tokens/$pat_id" >/dev/null
    measure "$1" core_tokens_retrieve GET /api/v3/core/tokens/bench-target/ "$ak"
    measure "$1" "NetBird PAT auth + retrieve" GET "/api/users/admin/tokens/$pat_id" "$nb"
    measure "$1" core_tokens_create POST /api/v3/core/tokens/ "$ak" create
    measure "$1" "core_tokens_set_key_create" POST /api/v3/core/tokens/bench-0/set_key/ "$ak" set_key
    stop
}

echo "binary: $BIN; server taskset -c 0, wrk taskset -c 1 -t1 -c32 -d${SECS}s; $ROUNDS round(s)"
echo "| store | scenario | req/s | server CPU µs/req | p99 | non-2xx |"
echo "|---|---|---|---|---|---|"
for _ in $(seq "$ROUNDS"); do
    for store in ${STORES:-memory sqlite postgres}; do
        case $store in
        memory) bench_store memory memory ;;
        sqlite)
            rm -f "$WORK"/bench.db*
            bench_store sqlite "sqlite:$WORK/bench.db"
            ;;
        postgres)
            DB=$((DB + 1))
            bench_store postgres "$(pg createdb "$WORK/pg" "bench$DB")"
            ;;
        esac
    done
done
