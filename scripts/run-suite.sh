#!/usr/bin/env bash
# The main job: build the reference and the harness, run the full conformance suite against
# the reference implementation, and write the report to reports/latest/ (ignored by git, so a
# run leaves the checkout clean).
#
#   scripts/run-suite.sh             run; reports in reports/latest/
#   scripts/run-suite.sh --publish   regenerate the published reports/reference/ on purpose: a
#                                    stable report (placeholders for scratch and checkout paths,
#                                    times and host), so the same build gives the same files
#
# Other arguments go to `aigc-conform run` (e.g. --adapter 'python3 my_adapter.py' --out DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
args=()
for a in "$@"; do
    if [ "$a" = "--publish" ]; then
        args+=(--stable --out reports/reference)
    else
        args+=("$a")
    fi
done
scripts/install-deps.sh
cargo build --release -q -p aigc-label -p aigc-conformance
exec target/release/aigc-conform run ${args[@]+"${args[@]}"}
