#!/usr/bin/env bash
# A short, bounded campaign over every fuzz target, one after the other (the machine is shared):
#   ./campaign.sh [SECONDS_PER_TARGET] [TARGET...]
# libFuzzer runs in fork mode and keeps going after a crash, so one bug does not hide the next;
# crashing inputs land in artifacts/<target>/, the log of each run in logs/<target>.log, and a
# one-line summary per target (executions, seconds, crash count) in logs/summary.txt.
set -uo pipefail
cd "$(dirname "$0")"
secs=${1:-90}
shift || true
targets=${*:-$(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v '^aigc-label-fuzz$')}
mkdir -p logs
for t in $targets; do
  mkdir -p "corpus/$t" "artifacts/$t"
  start=$(date +%s)
  cargo fuzz run -s none --release "$t" "corpus/$t" -- \
    -max_total_time="$secs" -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
    -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="artifacts/$t/" >"logs/$t.log" 2>&1
  end=$(date +%s)
  execs=$(grep -o 'exec/s: [0-9]*\|#[0-9]*' "logs/$t.log" | grep '^#' | tail -1 | tr -d '#')
  crashes=$(find "artifacts/$t" -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
  echo "$t execs=${execs:-?} secs=$((end - start)) artifacts=$crashes" | tee -a logs/summary.txt
done
