#!/usr/bin/env bash
# Benchmarks of the implicit-label codec against peers measured in the same run (never a timed
# test): `aigc-label embed` vs `cat a > b` and vs ExifTool, on small and large PNG and MP4 files;
# `aigc-label read` of a small file vs ExifTool (whole process); peak memory of embed.
# Prints ratios; targets (issue 15): embed <= 1.15x cat at every size, peak RSS <= 16 MiB,
# read of a small file <= 3 ms. Files over 4 GiB: scripts/big-files.sh.
#
#   scripts/bench.sh            full run (makes a ~125 MB PNG and a ~175 MB MP4 in bench-data/)
#   BENCH_QUICK=1 scripts/bench.sh   small files only
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
need() { command -v "$1" >/dev/null || { apt-get install -y -qq "$2" >/dev/null; }; }
need hyperfine hyperfine
[ -x /usr/bin/time ] || apt-get install -y -qq time >/dev/null
cargo build --release -q -p aigc-label
BIN=$PWD/target/release/aigc-label
D=$PWD/bench-data
mkdir -p "$D"
CFG=$PWD/vectors/tools/tc260.config
# (flags rather than a JSON argument: hyperfine -N splits commands on white space and quotes)
FLAGS="--label 1 --producer 001191110102MACQD9K64010000 --produce-id bench"
J='{"Label":"1","ContentProducer":"001191110102MACQD9K64010000","ProduceID":"bench","ReservedCode1":"","ContentPropagator":"001191110102MACQD9K64010000","PropagateID":"bench","ReservedCode2":""}'

ms() { python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['results']; print(' '.join(f'{x[\"mean\"]*1000:.2f}' for x in r))" "$1"; }
peak_kib() { /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1; }

# ---- embed rows: embed --no-sync vs cat, per size, with peak memory ---------------------------
embed_rows() {
  # ---- inputs ------------------------------------------------------------------------------
  [ -f "$D/small.png" ] || convert -size 256x256 gradient:red-blue -strip "$D/small.png"
  [ -f "$D/small.mp4" ] || ffmpeg -v error -y -f lavfi -i testsrc=duration=1:size=320x240:rate=25 -c:v libx264 -preset ultrafast -pix_fmt yuv420p -movflags +faststart "$D/small.mp4"
  if [ -z "${BENCH_QUICK:-}" ]; then
    # ~125 MB: 4560x4560 RGB noise (16 bits per sample) does not compress.
    [ -f "$D/large.png" ] || convert -size 4560x4560 xc: +noise Random -strip "$D/large.png"
    # ~175 MB, moov first (the case that needs every chunk offset patched).
    [ -f "$D/large.mp4" ] || ffmpeg -v error -y -f lavfi -i testsrc2=size=1920x1080:rate=30 -t 40 \
        -c:v libx264 -preset ultrafast -qp 4 -pix_fmt yuv420p -movflags +faststart "$D/large.mp4"
  fi

  # embed_ms: `embed --no-sync` (atomic rename, no fsync: the same durability as `cat a > b`);
  # sync_ms: the default `embed`, which also fsyncs the output before the rename.
  printf '%-10s %9s %9s %9s %7s %9s %9s %9s\n' file size_MB cat_ms embed_ms ratio sync_ms exif_ms peak_KiB
  for f in small.png small.mp4 large.png large.mp4; do
    [ -f "$D/$f" ] || continue
    ext=${f##*.}
    size=$(python3 -c "import os; print(f'{os.path.getsize(\"$D/$f\")/1e6:.1f}')")
    runs=20; [ "${f#large}" != "$f" ] && runs=5
    # Every command writes a fresh file (--prepare removes the outputs): replacing an existing file
    # makes ext4 flush it (auto_da_alloc), which would measure the disk instead of the copy.
    hyperfine -N -w 2 -r $runs --export-json "$D/h.json" \
      --prepare "rm -f $D/out-cat.$ext $D/out-ours.$ext $D/out-sync.$ext" \
      "sh -c 'cat $D/$f > $D/out-cat.$ext'" \
      "$BIN embed $D/$f -o $D/out-ours.$ext --no-sync $FLAGS" \
      "$BIN embed $D/$f -o $D/out-sync.$ext $FLAGS" >/dev/null 2>&1
    read -r cat_ms our_ms sync_ms < <(ms "$D/h.json")
    exif_ms=-
    if [ "${f#large}" = "$f" ] || [ -n "${BENCH_EXIFTOOL_LARGE:-}" ]; then
      hyperfine -N -w 1 -r 5 --export-json "$D/h2.json" \
        --prepare "cp $D/$f $D/out-exif.$ext" \
        "exiftool -config $CFG -q -overwrite_original -XMP-TC260:AIGC=x $D/out-exif.$ext" >/dev/null 2>&1
      exif_ms=$(ms "$D/h2.json")
    fi
    peak=$(peak_kib "$BIN" embed "$D/$f" -o "$D/out-ours.$ext" --force $FLAGS)
    ratio=$(python3 -c "print(f'{$our_ms/$cat_ms:.2f}')")
    printf '%-10s %9s %9s %9s %7s %9s %9s %9s\n' "$f" "$size" "$cat_ms" "$our_ms" "$ratio" "$sync_ms" "$exif_ms" "$peak"
  done

  # The copy path of the unchanged ranges (src/copy.rs): copy_file_range where the file system
  # shares extents (reflinks), a buffered pread/write loop elsewhere.
  local fs
  fs=$(stat -f -c %T "$D")
  case "$fs" in
    xfs|btrfs) echo "copy path on $fs: copy_file_range (reflinks)" ;;
    *) echo "copy path on $fs: buffered pread/write (no reflinks on this file system)" ;;
  esac
}
embed_rows

# ---- read, whole process, small labelled file ------------------------------------------
cp "$D/small.png" "$D/read.png"
"$BIN" embed "$D/small.png" -o "$D/read.png" --force --raw-value "$J"
hyperfine -N -w 3 -r 30 --export-json "$D/h3.json" "$BIN read $D/read.png" "exiftool -config $CFG -XMP-TC260:AIGC $D/read.png" >/dev/null 2>&1
read -r our_read exif_read < <(ms "$D/h3.json")
echo "read small.png: aigc-label ${our_read} ms, exiftool ${exif_read} ms"
rm -f "$D"/out-* "$D"/h*.json

# ---- explicit labels (issue 14): `mark` vs ImageMagick and ffmpeg, in the same run ----------
# 4K PNG, 4K JPEG (ImageMagick baseline with optimised tables, progressive, standard tables)
# vs ImageMagick `convert -annotate`, and a 60 s 720p H.264 video with a 3 s label vs ffmpeg
# drawtext with a full re-encode; prints the ratios (targets: JPEG <= 0.5x, video <= 0.1x).
# BENCH_EXPLICIT=0 skips it; BENCH_QUICK=1 runs the image rows only.
if [ "${BENCH_EXPLICIT:-1}" != 0 ]; then
  if [ -n "${BENCH_QUICK:-}" ]; then
    BENCH_JPEG_ONLY=1 reference/benches/explicit.sh 3
  else
    reference/benches/explicit.sh 3 1
  fi
fi
