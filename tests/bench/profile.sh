#!/usr/bin/env bash
# Where the CPU of one scenario goes: the release `tokenstack` binary on its defaults (memory store, request log
# on; STORE=sqlite for a fresh SQLite file, STORE=postgres for a cluster this script starts on loopback,
# unpinned) pinned to core 0, `wrk -t1 -c32` on core 1, and
# `perf record -e cpu-clock` of the server for the run; prints the hottest symbols (self time) and the share of
# the top groups (kernel, hyper/tokio, dropshot, serde_json, slog, tokenstack, the allocator).
#
#   [STORE=memory|sqlite|postgres] tests/bench/profile.sh retrieve|list|create|set_key|token_es256|token_rs256|introspect [SECONDS]
#
# Needs perf (Debian linux-perf), wrk, taskset, curl; STORE=postgres also cargo and the PostgreSQL server binaries
# (`cargo xtask postgres`, the workspace's one launcher, runs the cluster). The binary's symbols are enough for a flat profile (the
# release profile keeps them); call graphs would need frame pointers. Writes nothing but a temp directory.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN="${BIN:-$REPO/target/release/tokenstack}"
SCENARIO="${1:?scenario: retrieve, list, set_key, token_es256, token_rs256 or introspect}"
SECS="${2:-8}"
KEY="bench-key-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"
WORK="$(mktemp -d /tmp/tokenstack-profile-XXXXXX)"
SERVER_PID=""
pg() { (cd "$REPO" && cargo -q xtask postgres "$@"); }
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
    [ -d "$WORK/pg/data" ] && pg stop "$WORK/pg" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

case "${STORE:-memory}" in
    memory) URL=memory ;;
    sqlite) URL="sqlite:$WORK/profile.db" ;;
    postgres)
        chmod 755 "$WORK"  # the cluster's directory is the `postgres` user's when run as root
        pg start "$WORK/pg" >/dev/null
        URL="$(pg createdb "$WORK/pg" profile)" ;;
    *) echo "unknown STORE $STORE" >&2; exit 2 ;;
esac

taskset -c 0 "$BIN" --bind 127.0.0.1:0 --store "$URL" --bootstrap-token "$KEY" --max-tokens-per-user 0 >"$WORK/out" 2>/dev/null &
SERVER_PID=$!
for _ in $(seq 100); do grep -q listening "$WORK/out" 2>/dev/null && break; sleep 0.1; done
taskset -a -cp 0 "$SERVER_PID" >/dev/null
ADDR=$(sed -n 's/^tokenstack listening on http:\/\///p' "$WORK/out")
B="http://$ADDR"
H="Authorization: Bearer $KEY"
json() { curl -sf -H "$H" -H 'content-type: application/json' -d "$2" "$B$1" >/dev/null; }

# Twenty tokens of akadmin, so the list returns a page of twenty as in the bench's list row.
for i in $(seq 20); do json /api/v3/core/tokens/ "{\"identifier\":\"profile-$i\",\"intent\":\"api\"}"; done
for alg in rs256:7f1a0003-0000-4000-8000-000000000003 es256:7f1a0004-0000-4000-8000-000000000004; do
    name=${alg%%:*}; key=${alg#*:}
    json /api/v3/providers/oauth2/ "{\"name\":\"$name\",\"client_id\":\"$name\",\"client_secret\":\"s\",\"signing_key\":\"$key\",\"redirect_uris\":[],\"authorization_flow\":\"7f1a0001-0000-4000-8000-000000000001\",\"invalidation_flow\":\"7f1a0002-0000-4000-8000-000000000002\",\"grant_types\":[\"client_credentials\"]}"
done
json /api/v3/core/applications/ '{"name":"rs256","slug":"rs256","provider":1}'
json /api/v3/core/applications/ '{"name":"es256","slug":"es256","provider":2}'
ACCESS=$(curl -sf -d grant_type=client_credentials -d client_id=rs256 -d client_secret=s "$B/application/o/token/" \
    | sed 's/.*"access_token": "\([^"]*\)".*/\1/')

cat >"$WORK/form.lua" <<'EOF'
wrk.method = "POST"
wrk.body = os.getenv("BODY")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
EOF
cat >"$WORK/set_key.lua" <<'EOF'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = os.getenv("AUTH")
local n = 0
request = function()
  n = n + 1
  -- the twenty tokens profile-1 ... profile-20 in turn, as the bench rotates 64
  return wrk.format(nil, "/api/v3/core/tokens/profile-" .. (n % 20 + 1) .. "/set_key/", nil, '{"key":"profile-key-' .. n .. '"}')
end
EOF
cat >"$WORK/create.lua" <<'EOF'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = os.getenv("AUTH")
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, '{"identifier":"wrk-' .. n .. '","intent":"api","description":"bench"}')
end
EOF
case "$SCENARIO" in
    retrieve) ARGS=(-H "$H" "$B/api/v3/core/tokens/profile-1/") ;;
    list) ARGS=(-H "$H" "$B/api/v3/core/tokens/?user__username=akadmin") ;;
    set_key) ARGS=(-s "$WORK/set_key.lua" "$B/api/v3/core/tokens/profile-2/set_key/") ;;
    create) ARGS=(-s "$WORK/create.lua" "$B/api/v3/core/tokens/") ;;
    token_rs256) export BODY="grant_type=client_credentials&client_id=rs256&client_secret=s"; ARGS=(-s "$WORK/form.lua" "$B/application/o/token/") ;;
    token_es256) export BODY="grant_type=client_credentials&client_id=es256&client_secret=s"; ARGS=(-s "$WORK/form.lua" "$B/application/o/token/") ;;
    introspect) export BODY="token=$ACCESS&client_id=rs256&client_secret=s"; ARGS=(-s "$WORK/form.lua" "$B/application/o/introspect/") ;;
    *) echo "unknown scenario $SCENARIO" >&2; exit 2 ;;
esac
export AUTH="$H"
AUTH="Bearer $KEY" taskset -c 1 wrk -t1 -c32 -d"$((SECS + 2))s" "${ARGS[@]}" >"$WORK/wrk" &
WRK=$!
sleep 1
perf record -q -e cpu-clock -F 2000 -p "$SERVER_PID" -o "$WORK/perf.data" -- sleep "$SECS" 2>/dev/null
wait "$WRK"
grep -E "Requests/sec|Latency" "$WORK/wrk"
perf report -i "$WORK/perf.data" --stdio --no-children --sort dso,symbol 2>/dev/null | grep -E '^ +[0-9]' | head -25 \
    | sed -E 's/ +- +- +$//' | cut -c1-160 || true
echo "--- by group (share of samples)"
perf report -i "$WORK/perf.data" --stdio --no-children --sort dso,symbol 2>/dev/null | grep -E '^ +[0-9]' | awk '
    { pct = $1; sub("%", "", pct); line = $0
      g = "other"
      if (line ~ /\[kernel/) g = "kernel"
      else if (line ~ /hyper|tokio|mio|h2::|http::|httparse/) g = "hyper/tokio/http"
      else if (line ~ /dropshot/) g = "dropshot"
      else if (line ~ /serde_json|serde::/) g = "serde_json"
      else if (line ~ /slog/) g = "slog"
      else if (line ~ /malloc|free|realloc|memcpy|memmove|memset|_int_|cfree/) g = "allocator/memcpy"
      else if (line ~ /aws_lc|bn_|ecp_|sha256|sha512|p256|rsa|bignum|Lbignum/) g = "crypto (aws-lc)"
      else if (line ~ /sqlx|sqlite3|libsqlite/) g = "sqlx and SQLite"
      else if (line ~ /tokenstack/) g = "tokenstack"
      sum[g] += pct }
    END { for (g in sum) printf "%6.1f%%  %s\n", sum[g], g }' | sort -rn || true
