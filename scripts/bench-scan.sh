#!/usr/bin/env bash
# Benchmark of `aigc-label scan` against `exiftool -r -json` on the same tree, in the same run
# (never a timed test). The tree: 10 000 small mixed files (copies of the vector inputs: every
# format, labelled, unlabelled, damaged) in 100 folders, plus a few large labelled files
# (PNG, MP4, WAV). Prints both times, the ratio, our peak memory, the scan summary, and checks
# that every JSON line validates against reference/schema/scan-line.schema.json.
#
#   scripts/bench-scan.sh              (tree in bench-data/scan-tree, kept between runs)
#   BENCH_SCAN_FILES=2000 scripts/bench-scan.sh
#
# ExifTool does more work per file (it extracts every tag, we only look for the label) and
# is one process; `scan` uses one reader per core. Both read from a warm page cache.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
need() { command -v "$1" >/dev/null || { apt-get -o DPkg::Lock::Timeout=600 install -y -qq "$2" >/dev/null; }; }
need hyperfine hyperfine
[ -x /usr/bin/time ] || apt-get -o DPkg::Lock::Timeout=600 install -y -qq time >/dev/null
cargo build --release -q -p aigc-label --bin aigc-label
BIN=$PWD/target/release/aigc-label
N=${BENCH_SCAN_FILES:-10000}
D=$PWD/bench-data
T=$D/scan-tree-$N
mkdir -p "$D"

# ---- the tree ----------------------------------------------------------------------------
if [ ! -f "$T.complete" ]; then
  rm -rf "$T"
  mkdir -p "$T"
  python3 - "$T" "$N" <<'EOF'
import os, shutil, sys
tree, n = sys.argv[1], int(sys.argv[2])
src = []
for root, _, files in os.walk("vectors"):
    for f in sorted(files):
        if not f.endswith((".yaml", ".sh", ".py", ".md5")) and os.path.getsize(os.path.join(root, f)) < 1 << 20:
            src.append(os.path.join(root, f))
src.sort()
for i in range(n):
    s = src[i % len(src)]
    d = os.path.join(tree, f"d{i // 100:03d}")
    os.makedirs(d, exist_ok=True)
    shutil.copyfile(s, os.path.join(d, f"{i:05d}-{os.path.basename(s)}"))
print(f"bench-scan: {n} small files from {len(src)} vector inputs", file=sys.stderr)
EOF
  mkdir -p "$T/large"
  L=$T/large
  J='--label 1 --producer 001191110102MACQD9K64010000 --produce-id bench --no-sync'
  convert -size 3000x3000 xc: +noise Random -strip "$D/scan-large.png"
  ffmpeg -v error -y -f lavfi -i testsrc2=size=1280x720:rate=30 -t 20 -c:v libx264 -preset ultrafast -qp 10 -pix_fmt yuv420p "$D/scan-large.mp4"
  sox -n -r 48000 -c 2 -b 16 "$D/scan-large.wav" synth 120 sine 440
  # shellcheck disable=SC2086
  for f in scan-large.png scan-large.mp4 scan-large.wav; do "$BIN" embed "$D/$f" -o "$L/$f" $J; done
  cp "$D/scan-large.mp4" "$L/unlabelled-large.mp4"
  rm -f "$D"/scan-large.*
  touch "$T.complete"
fi
files=$(find "$T" -type f | wc -l)
mb=$(du -sm "$T" | cut -f1)
echo "tree: $T: $files files, $mb MB"
find "$T" -type f -exec cat {} + >/dev/null  # warm the page cache for both

# ---- correctness of this run's output --------------------------------------------------------
"$BIN" scan --no-progress "$T" >"$D/scan.jsonl" 2>"$D/scan-summary.txt" || true
cat "$D/scan-summary.txt"
python3 - "$D/scan.jsonl" reference/schema/scan-line.schema.json "$files" <<'EOF'
import json, sys, jsonschema
lines, schema, files = sys.argv[1], json.load(open(sys.argv[2])), int(sys.argv[3])
v = jsonschema.Draft202012Validator(schema)
n = 0
for line in open(lines):
    errors = [e.message for e in v.iter_errors(json.loads(line))]
    assert not errors, (line[:200], errors)
    n += 1
assert n == files, (n, files)
print(f"schema: {n} lines valid against {sys.argv[2]}")
EOF
peak=$( { /usr/bin/time -f '%M' "$BIN" scan --no-summary --no-progress "$T" >/dev/null; } 2>&1 | tail -1)
peak_small=$( { /usr/bin/time -f '%M' "$BIN" scan --no-summary --no-progress "$T/d000" >/dev/null; } 2>&1 | tail -1)
echo "peak RSS: scan of the whole tree ${peak} KiB; of one folder (100 files) ${peak_small} KiB"

# ---- timing -----------------------------------------------------------------------------------
ms() { python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['results']; print(' '.join(f'{x[\"mean\"]*1000:.0f}' for x in r))" "$1"; }
hyperfine -N -w 1 -r 5 --export-json "$D/hs1.json" "$BIN scan --no-summary --no-progress $T" >/dev/null 2>&1
hyperfine -N -r "${BENCH_EXIFTOOL_RUNS:-2}" -i --export-json "$D/hs2.json" "exiftool -r -json -q $T" >/dev/null 2>&1
ours=$(ms "$D/hs1.json")
exif=$(ms "$D/hs2.json")
echo "aigc-label scan: ${ours} ms   exiftool -r -json: ${exif} ms   ratio exiftool/scan: $(python3 -c "print(f'{$exif/$ours:.1f}')")x   ($(nproc) cores)"
rm -f "$D"/hs*.json
