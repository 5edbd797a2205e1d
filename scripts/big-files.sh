#!/usr/bin/env bash
# Files over 4 GiB (issue 15): runs the ignored tests of reference/tests/big_files.rs, which make
# a 4.5 GiB MP4 with co64, a 4 GiB MP4 whose stco must become co64, a 4.5 GiB RF64 WAV and a
# 4.3 GiB BigTIFF on sparse files, label them, read them back, check them with ExifTool and
# ffprobe and compare the unchanged byte ranges with cmp. Then times `aigc-label embed
# --no-sync` against `cat a > b` on the same inputs (one run each: the files are large; the
# outputs are real, non-sparse files of the same size), with the peak memory of embed; the table
# also goes to bench-data/big-files-results.txt. (The label is checked by the tests above.)
#
#   scripts/big-files.sh          needs about 10 GB free in bench-data/ while it runs
#   BIG_FILES_RELEASE=1 scripts/big-files.sh   the tests in a release build (a long compile;
#                                 the default debug test binary is as fast here: the bytes move
#                                 in the kernel, copy_file_range)
#
# Last run (2026-12-02 23:32-23:45 UTC, ext4, 2 shared cores at load ~11; debug test binary,
# static-PIE CLI of commit 4a7751e): the 4 ignored tests passed in 355 s (labels read back, seen
# by ExifTool -Keys:AIGC / -XMP and ffprobe, framemd5 and cmp of the moved data unchanged,
# stco widened to co64). embed --no-sync vs cat, one run each (ms):
#   file           size_MB      cat    embed  ratio  cpu_cat  cpu_emb peak_KiB
#   big-co64.mp4    4831.9  29677.1  24966.8   0.84  14748.5  10777.7     5556
#   big-stco.mp4    4295.0  15687.4  13952.6   0.89   8595.9   7661.7     5556
#   big.wav         4831.8  12080.2  10605.6   0.88   6715.8   5015.9     5368
#   big.tif         4587.5  22138.7  13869.7   0.63   8407.0   5077.6     5360
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
[ -x /usr/bin/time ] || apt-get install -y -qq time >/dev/null
D=$PWD/bench-data/big
mkdir -p "$D"
export AIGC_BIG_FILES_DIR=$D
# The CLI as shipped (static on Linux/glibc; scripts/build-cli.sh).
BIN=$(scripts/build-cli.sh)
release=()
[ -n "${BIG_FILES_RELEASE:-}" ] && release=(--release)
echo "== tests (cargo test ${release[*]} --test all -- --ignored big_files::)"
cargo test ${release[@]+"${release[@]}"} -q -p aigc-label --test all -- --ignored --test-threads=1 big_files::

echo "== embed --no-sync vs cat a > b (one run each, whole process; CPU = user+sys)"
inputs=()
for f in big-co64.mp4 big-stco.mp4 big.wav big.tif; do [ -f "$D/$f" ] && inputs+=("$D/$f"); done
BENCH_WARMUP=0 python3 scripts/bench_embed.py "$BIN" "$D" 1 "${inputs[@]}" | tee "$D/../big-files-results.txt"
rm -rf "$D"
