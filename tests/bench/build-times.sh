#!/usr/bin/env bash
# Build and test times (BENCHMARKS.md, "Build and test times"), each from a fresh clone of HEAD with an empty
# target/ and an empty cargo registry cache (CARGO_HOME pointed at a new directory):
#
#   1. `CI=true bash .ci/run` (a fresh machine's CI: installs, builds, every suite);
#   2. `cargo run -p tokenstack-server` from an empty target/ until the server listens;
#   3. after a one-line change in crates/server/src, `cargo xtask ci` (on the target/ of step 1);
#   4. after a one-line overlay edit, `cargo xtask spec` + `cargo build -p tokenstack-client -p tokenstack-server`.
#
#   tests/bench/build-times.sh [steps]     e.g. `tests/bench/build-times.sh 2 4`; default: all four
#
# Prints one line per step with its wall time in seconds. Takes about 25 minutes on 2 cores; run it on an
# otherwise idle machine (the figures are CPU-bound).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STEPS="${*:-1 2 3 4}"
# TOKENSTACK_BUILD_TIMES_DIR reuses the clones of an earlier run (steps 3 and 4 need step 1's).
WORK="${TOKENSTACK_BUILD_TIMES_DIR:-$(mktemp -d /tmp/tokenstack-build-times.XXXXXX)}"

fresh_clone() { # $1: name
    git clone --quiet "$REPO" "$WORK/$1"
    mkdir -p "$WORK/$1-cargo-home"
}

wall() { # label, log file, command...: the command's output goes to the log, the wall time to stdout
    local label="$1" log="$2" start end
    shift 2
    start=$(date +%s)
    "$@" >"$log" 2>&1
    end=$(date +%s)
    echo "build-times: $label: $((end - start)) s"
}

for step in $STEPS; do
    case "$step" in
    1)
        fresh_clone ci
        (cd "$WORK/ci" && wall "fresh CI=true bash .ci/run" "$WORK/ci.log" env CI=true \
            CARGO_HOME="$WORK/ci-cargo-home" PIP_NO_CACHE_DIR=1 bash .ci/run)
        ;;
    2)
        fresh_clone run
        run_server() {
            CARGO_HOME="$WORK/run-cargo-home" cargo run -p tokenstack-server >"$WORK/run.out" &
            local cargo_pid=$!
            until grep -q "listening" "$WORK/run.out" 2>/dev/null; do sleep 1; done
            kill -TERM "$cargo_pid" || true # cargo run execs the binary: this is the server
            wait "$cargo_pid" || true
        }
        (cd "$WORK/run" && wall "cargo run -p tokenstack-server from an empty target/ to listening" "$WORK/run.err" \
            run_server)
        ;;
    3)
        [ -d "$WORK/ci/target" ] || { echo "build-times: step 3 needs step 1 first" >&2; exit 2; }
        (cd "$WORK/ci" && sed -i '0,/^pub mod authentik;/s//pub mod authentik; \/\/ a one-line change/' \
            crates/server/src/lib.rs && wall "one-line change in crates/server/src, then cargo xtask ci" \
            "$WORK/ci-edit.log" env CARGO_HOME="$WORK/ci-cargo-home" cargo xtask ci)
        ;;
    4)
        [ -d "$WORK/ci/target" ] || { echo "build-times: step 4 needs step 1 first" >&2; exit 2; }
        edit_overlay() {
            sed -i 's/description: An authentik error body,/description: An authentik error body (edited),/' spec/overlays/authentik.yaml
            cargo xtask spec >/dev/null
            cargo build -q -p tokenstack-client -p tokenstack-server
        }
        (cd "$WORK/ci" && export CARGO_HOME="$WORK/ci-cargo-home" && cargo build -q -p tokenstack-client \
            -p tokenstack-server && wall "one-line overlay edit, cargo xtask spec + client and server rebuild" \
            "$WORK/overlay.log" edit_overlay)
        ;;
    *)
        echo "build-times: unknown step $step (1-4)" >&2
        exit 2
        ;;
    esac
done
echo "build-times: logs in $WORK"
