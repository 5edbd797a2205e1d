#!/bin/sh
# Audio label calibration (issue 19/18): generates the rhythm and voice calibration set with
# calibration/rhythm/make.py (python3, espeak-ng, sox, ffmpeg; no code of the reference) into a
# temporary folder, runs `aigc-label check` on every case and prints the detection rates.
# Target: every conforming case detected, no negative accepted (exit 0).
#
#   scripts/calibrate-rhythm.sh [--smoke] [--keep DIR] [--verbose]
#
# Builds aigc-label (debug) unless AIGC_LABEL names a binary. Leaves the work tree untouched.
set -eu
cd "$(dirname "$0")/.."
SUBSET=full
KEEP=
VERBOSE=
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) SUBSET=smoke ;;
    --keep) KEEP=$2; shift ;;
    --verbose) VERBOSE=--verbose ;;
    *) echo "usage: $0 [--smoke] [--keep DIR] [--verbose]" >&2; exit 2 ;;
  esac
  shift
done
if [ -z "${AIGC_LABEL:-}" ]; then
  cargo build -q -p aigc-label --bin aigc-label
  AIGC_LABEL=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/debug/aigc-label
fi
if [ -n "$KEEP" ]; then
  OUT=$KEEP
else
  OUT=$(mktemp -d)
  trap 'rm -rf "$OUT"' EXIT
fi
python3 calibration/rhythm/make.py --out "$OUT" --subset "$SUBSET"
python3 calibration/rhythm/score.py "$OUT" "$AIGC_LABEL" $VERBOSE
