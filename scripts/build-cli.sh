#!/usr/bin/env bash
# Build the release `aigc-label` CLI the way it is benchmarked and shipped, and print its path.
#
# On x86_64/aarch64 Linux with glibc it is linked statically (`-C target-feature=+crt-static`,
# a static-PIE: address-space randomisation is kept). Measured with scripts/bench_embed.py and
# `perf stat` (2026-12-02, 2 shared cores): the dynamic loader's work (mapping libc, libm and
# libgcc_s, symbol lookup, relocations) was about 0.8 ms of the CLI's 1.7 ms start-up (CPU
# time, task-clock), more than `cat` takes in all; static, `aigc-label --version` costs what
# `cat` does. Safe for this program: it resolves no host or user names (NSS, which a static
# glibc would have to dlopen) — `serve --listen` takes a numeric socket address — and loads
# no locale or iconv modules; external tools (ffmpeg, tesseract...) are separate processes.
#
# The flag cannot go in .cargo/config.toml or a profile: with crt-static set for the host
# target, rustc drops the proc-macro crates (serde_derive, clap_derive) and every build fails.
# Given with an explicit --target, it applies to the target crates only; the build goes to
# target/<triple>/release/. Elsewhere (macOS, musl, Windows): the ordinary release build.
#
#   scripts/build-cli.sh            prints e.g. /path/target/x86_64-unknown-linux-gnu/release/aigc-label
#   AIGC_CLI_DYNAMIC=1 scripts/build-cli.sh    the ordinary dynamic build (target/release/)
set -euo pipefail
cd "$(dirname "$0")/.."
host=$(rustc -vV | sed -n 's/^host: //p')
case "$host" in
  *-linux-gnu)
    if [ -z "${AIGC_CLI_DYNAMIC:-}" ]; then
      RUSTFLAGS="-C target-feature=+crt-static" \
        cargo build --release -q -p aigc-label --bin aigc-label --target "$host" >&2
      echo "$PWD/target/$host/release/aigc-label"
      exit 0
    fi
    ;;
esac
cargo build --release -q -p aigc-label --bin aigc-label >&2
echo "$PWD/target/release/aigc-label"
