#!/usr/bin/env bash
# Benchmark of `aigc-label scan` against `exiftool -r -json` on the same tree, in the same run
# (never a timed test). The tree: 10 000 small mixed files (copies of the vector inputs: every
# format, labelled, unlabelled, invalid, truncated) in 100 folders, plus four large files
# (PNG 54 MB, two MP4 31 MB, WAV 23 MB). Prints both times, the ratio, our peak memory, the scan summary, and checks
# that every JSON line validates against reference/schema/scan-line.schema.json.
#
#   scripts/bench-scan.sh              (tree in bench-data/scan-tree-mixed-N, kept between runs)
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

mkdir -p "$D"

# ---- the tree ----------------------------------------------------------------------------
# The hostile inputs of vectors/robustness/ are left out of the timed tree: ExifTool spends
# minutes on each copy of xmp-nesting-bomb.png (a first run on a tree with 55 copies did not
# finish in 20 min), which would time its defences, not the scan. They are timed once, below.
L=$D/scan-large
if [ ! -f "$L/.complete" ]; then
  mkdir -p "$L"
  J='--label 1 --producer 001191110102MACQD9K64010000 --produce-id bench --no-sync --force'
  convert -size 3000x3000 xc: +noise Random -strip "$D/scan-large-in.png"
  ffmpeg -v error -y -f lavfi -i testsrc2=size=1280x720:rate=30 -t 20 -c:v libx264 -preset ultrafast -qp 10 -pix_fmt yuv420p "$D/scan-large-in.mp4"
  sox -n -r 48000 -c 2 -b 16 "$D/scan-large-in.wav" synth 120 sine 440 vol 0.5
  # shellcheck disable=SC2086
  for e in png mp4 wav; do "$BIN" embed "$D/scan-large-in.$e" -o "$L/scan-large.$e" $J; done
  mv "$D/scan-large-in.mp4" "$L/unlabelled-large.mp4"
  rm -f "$D"/scan-large-in.*
  touch "$L/.complete"
fi
T=$D/scan-tree-mixed-$N
if [ ! -f "$T.complete" ]; then
  rm -rf "$T"
  mkdir -p "$T"
  python3 - "$T" "$N" <<'EOF'
import os, shutil, sys
tree, n = sys.argv[1], int(sys.argv[2])
src = []
for root, _, files in os.walk("vectors"):
    if "robustness" in root.split(os.sep):
        continue
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
  cp "$L"/*.png "$L"/*.mp4 "$L"/*.wav "$T/large/"
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
# CPU time (user + system) as well: on a loaded machine the wall-clock ratio also measures how
# much of the CPU each process got, and scan uses every core while ExifTool uses one.
cpu() { python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['results'][0]; print(f'{(r[\"user\"]+r[\"system\"])*1000:.0f}')" "$1"; }
ours_cpu=$(cpu "$D/hs1.json"); exif_cpu=$(cpu "$D/hs2.json")
echo "CPU time: aigc-label scan ${ours_cpu} ms   exiftool ${exif_cpu} ms   ratio $(python3 -c "print(f'{$exif_cpu/$ours_cpu:.1f}')")x"

# ---- one hostile input, once: the XMP nesting bomb of vectors/robustness/ ---------------------
B=vectors/robustness/xmp-nesting-bomb.png
t0=$(date +%s.%N); "$BIN" read "$B" >/dev/null 2>&1 || true; t1=$(date +%s.%N)
timeout "${BENCH_BOMB_TIMEOUT:-120}" exiftool -json -q "$B" >/dev/null 2>&1 && ex=done || ex="killed after ${BENCH_BOMB_TIMEOUT:-120} s"
t2=$(date +%s.%N)
python3 -c "print(f'$B: aigc-label read {($t1-$t0)*1000:.0f} ms, exiftool -json {$t2-$t1:.1f} s ($ex)')"
rm -f "$D"/hs*.json
