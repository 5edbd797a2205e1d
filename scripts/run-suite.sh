#!/usr/bin/env bash
# The main job: build the reference and the harness, run the full conformance suite against
# the reference implementation, and write the report to reports/reference/.
# Extra arguments go to `aigc-conform run` (e.g. --adapter 'python3 my_adapter.py' --out DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cargo build --release -q -p aigc-label -p aigc-conformance
exec target/release/aigc-conform run "$@"
