#!/usr/bin/env bash
# Real-client tests: the official authentik Python client, the `netbird` PyPI client and schemathesis,
# all against a real tokenstack server that the shipped pytest plugin (python/tokenstack) starts; conftest.py
# loads it from the source tree and gives it the binary and examples/seed.yaml.
#
#   tests/python/run.sh [extra pytest args]
#
# Needs only python3 (3.11+, with venv/pip) and cargo. Environment:
#   TOKENSTACK_VENV             virtualenv to use/create (default: <repo>/.venv)
#   TOKENSTACK_BIN              a prebuilt tokenstack binary (skips `cargo build`; `cargo xtask ci` passes the
#                               one its `cargo test` built), the plugin's `--tokenstack-bin`
#   TOKENSTACK_ST_MAX_EXAMPLES  schemathesis examples per operation (default 30)
#   TOKENSTACK_ST_SEED          schemathesis seed (default fixed, see test_schemathesis.py)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
VENV="${TOKENSTACK_VENV:-$REPO/.venv}"
PYTHON="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
    echo "run.sh: creating virtualenv $VENV"
    "$PYTHON" -m venv "$VENV"
fi
# pip is quick when everything is already installed at the pinned versions.
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$HERE/requirements.txt"

if [ -z "${TOKENSTACK_BIN:-}" ]; then
    echo "run.sh: cargo build -p tokenstack-server"
    (cd "$REPO" && cargo build --locked -p tokenstack-server)
    export TOKENSTACK_BIN="${CARGO_TARGET_DIR:-$REPO/target}/debug/tokenstack"
fi
if [ ! -x "$TOKENSTACK_BIN" ]; then
    echo "run.sh: $TOKENSTACK_BIN is not an executable" >&2
    exit 2
fi

cd "$REPO"
# pytest's exit status is the script's: non-zero on any failure (5 if nothing was collected).
exec "$VENV/bin/python" -m pytest "$HERE" -p no:cacheprovider -rfE "$@"
