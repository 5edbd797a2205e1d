#!/usr/bin/env bash
# The Python package (python/, PyO3 + maturin): build the wheel (dev profile, to save CI time),
# install it into the python3 on PATH, and run its pytest suite (API against the command, the
# Dask recipe on a two-worker LocalCluster against `aigc-label scan`). Called by scripts/test.sh;
# scripts/install-deps.sh provides maturin, pytest and dask[distributed].
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=$PWD/target   # share the workspace's compiled dependencies
# --features fuzzing: the feature set `cargo test --workspace` already built the binary with, so
# this finds it fresh instead of compiling aigc-label again (conformance/tests/common/mod.rs).
cargo build -q -p aigc-label --bin aigc-label --features fuzzing
cargo fmt --manifest-path python/Cargo.toml -- --check
cargo clippy -q --manifest-path python/Cargo.toml --all-targets -- -D warnings
rm -rf target/python-wheels
python3 -m maturin build --quiet --profile dev -m python/Cargo.toml -o target/python-wheels
wheel=$(ls target/python-wheels/aigc_label-*.whl)
python3 -m pip install -q --force-reinstall --no-deps "$wheel" 2>/dev/null \
  || python3 -m pip install -q --force-reinstall --no-deps --break-system-packages "$wheel"
PYTHONDONTWRITEBYTECODE=1 AIGC_LABEL_BIN=$PWD/target/debug/aigc-label python3 -m pytest -q -p no:cacheprovider python/tests
