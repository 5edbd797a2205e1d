#!/usr/bin/env bash
# Run every test: install missing system tools, then lint, the vector lint and the whole
# workspace test suite (debug build; the conformance run against the reference is one of the tests),
# then the Python package's wheel and pytest suite.
set -euo pipefail
cd "$(dirname "$0")/.."
# A CI machine builds from a fresh clone once: incremental compilation data would only be written,
# never read, and costs time.
if [ -n "${CI:-}" ]; then export CARGO_INCREMENTAL=0; fi
scripts/install-deps.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -q -- -D warnings
cargo test --workspace
# The Python package (kept out of the workspace): wheel, pip install, pytest.
scripts/test-python.sh
