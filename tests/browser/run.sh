#!/usr/bin/env bash
# The browser test: a real relying party (openid-client in express) and Debian's chromium, driven by
# playwright-core, logging in to tokenstack (login.test.mjs says what it checks).
#
#   tests/browser/run.sh
#
# Needs node and npm (the dependencies are installed from package-lock.json with `npm ci`) and a chromium at
# $CHROMIUM (default /usr/bin/chromium: Debian's `chromium` package; never a browser a tool downloads).
# TOKENSTACK_BIN names the binary (default: `cargo build -p tokenstack-server`'s).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"

command -v node >/dev/null || { echo "run.sh: node is required" >&2; exit 2; }
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || { echo "run.sh: no chromium at ${CHROMIUM:-/usr/bin/chromium}" >&2; exit 2; }
if [ -z "${TOKENSTACK_BIN:-}" ]; then
    (cd "$REPO" && cargo build --locked -p tokenstack-server)
    export TOKENSTACK_BIN="${CARGO_TARGET_DIR:-$REPO/target}/debug/tokenstack"
fi
(cd "$HERE" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent)
exec node "$HERE/login.test.mjs"
