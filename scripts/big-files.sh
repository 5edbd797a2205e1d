#!/usr/bin/env bash
# Files over 4 GiB (issue 15): runs the ignored tests of reference/tests/big_files.rs, which make
# a 4.5 GiB MP4 with co64, a 4 GiB MP4 whose stco must become co64, a 4.5 GiB RF64 WAV and a
# 4.3 GiB BigTIFF on sparse files, label them, read them back, check them with ExifTool and
# ffprobe and compare the unchanged byte ranges with cmp. Then times `aigc-label embed
# --no-sync` against `cat a > b` on the same inputs (one run each: the files are large; the
# outputs are real, non-sparse files of the same size), with the peak memory of embed.
#
#   scripts/big-files.sh          needs about 5 GB free in bench-data/ while it runs
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
[ -x /usr/bin/time ] || apt-get install -y -qq time >/dev/null
D=$PWD/bench-data/big
mkdir -p "$D"
export AIGC_BIG_FILES_DIR=$D
cargo build --release -q -p aigc-label
BIN=$PWD/target/release/aigc-label
echo "== tests (cargo test --release --test all -- --ignored big_files::)"
cargo test --release -q -p aigc-label --test all -- --ignored --test-threads=1 big_files::

FLAGS="--label 1 --producer 001191110102MACQD9K64010000 --produce-id bench"
secs() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$2"; }
echo "== embed --no-sync vs cat (one run each)"
printf '%-14s %9s %8s %8s %7s %9s\n' file size_GB cat_s embed_s ratio peak_KiB
for f in big-co64.mp4 big-stco.mp4 big.wav big.tif; do
  [ -f "$D/$f" ] || continue
  ext=${f##*.}
  size=$(python3 -c "import os,sys; print(f'{os.path.getsize(sys.argv[1])/1e9:.2f}')" "$D/$f")
  rm -f "$D/out-cat.$ext" "$D/out-ours.$ext"
  t0=$(date +%s.%N); cat "$D/$f" > "$D/out-cat.$ext"; t1=$(date +%s.%N)
  rm -f "$D/out-cat.$ext"
  t2=$(date +%s.%N)
  peak=$(/usr/bin/time -f '%M' "$BIN" embed "$D/$f" -o "$D/out-ours.$ext" --no-sync $FLAGS 2>&1 >/dev/null | tail -1)
  t3=$(date +%s.%N)
  "$BIN" read "$D/out-ours.$ext" | head -1
  rm -f "$D/out-ours.$ext"
  c=$(secs "$t0" "$t1"); e=$(secs "$t2" "$t3")
  ratio=$(python3 -c "print(f'{$e/$c:.2f}')")
  printf '%-14s %9s %8s %8s %7s %9s\n' "$f" "$size" "$c" "$e" "$ratio" "$peak"
done
rm -rf "$D"
