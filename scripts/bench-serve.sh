#!/usr/bin/env bash
# Load test of `aigc-label serve` on loopback (release build). Not part of scripts/test.sh.
#
#   scripts/bench-serve.sh [SECONDS_PER_RUN (default 10)] [CONNECTIONS (default 16)]
#
# Prints, for POST /v1/read (a small labelled PNG) and POST /v1/embed (file in, file out):
# requests per second, p50/p99 latency (wrk), errors; then the server's peak RSS; then 1000
# malformed uploads one after the other (every answer must be 4xx JSON, none 5xx) with the
# server's RSS before and after (growth should stay within allocator noise); and, as the peer
# measured in the same run, one `aigc-label read --json` process per file, so the throughput
# ratio service / CLI is printed. Bounded: each wrk run is SECONDS long, every step has a
# time-out, the server is stopped at the end and its temp folder must be empty.
# Needs: wrk (Debian `wrk`), python3.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN=${1:-10}
CONNECTIONS=${2:-16}
command -v wrk >/dev/null || { echo "bench-serve: needs wrk (apt-get install wrk)" >&2; exit 2; }

# AIGC_LABEL_BIN=path skips the build (to try the script itself on a debug binary).
BIN=${AIGC_LABEL_BIN:-target/release/aigc-label}
[ -n "${AIGC_LABEL_BIN:-}" ] || cargo build --release -q -p aigc-label --bin aigc-label
WORK=$(mktemp -d)
SPOOL="$WORK/spool"
mkdir "$SPOOL"
cleanup() {
  [ -n "${SERVER_PID:-}" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

# Inputs: a small labelled PNG made with the reference; the malformed uploads are the 15
# robustness vectors (truncations, absurd sizes, a zip bomb, an XMP nesting bomb), in turn.
"$BIN" embed vectors/implicit/png/plain.png -o "$WORK/labelled.png" --label 1 \
  --producer 001191110102MACQD9K64010000 --produce-id bench-1 --no-sync

"$BIN" serve --listen 127.0.0.1:0 --temp-dir "$SPOOL" 2>"$WORK/server.log" &
SERVER_PID=$!
for _ in $(seq 100); do grep -q "listening on" "$WORK/server.log" 2>/dev/null && break; sleep 0.1; done
ADDR=$(grep -o 'http://[0-9.:]*' "$WORK/server.log" | head -1)
[ -n "$ADDR" ] || { echo "bench-serve: server did not start" >&2; cat "$WORK/server.log" >&2; exit 2; }
rss() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$SERVER_PID/status"; }

cat >"$WORK/post.lua" <<'EOF'
local f = assert(io.open(os.getenv("BODY_FILE"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/octet-stream"
EOF

echo "aigc-label serve load test: $ADDR, $(nproc) cores, $CONNECTIONS connections, ${SECONDS_PER_RUN}s per run"
echo "body: $(stat -c %s "$WORK/labelled.png") byte labelled PNG"
declare -A RPS
for endpoint in "read?name=a.png" "embed?name=a.png&label=1&producer=001191110102MACQD9K64010000&produce_id=b2"; do
  path="/v1/${endpoint}"
  short=${endpoint%%\?*}
  out=$(BODY_FILE="$WORK/labelled.png" timeout $((SECONDS_PER_RUN + 30)) \
    wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --timeout 10s --latency -s "$WORK/post.lua" "$ADDR$path")
  rps=$(awk '/^Requests\/sec/ { print $2 }' <<<"$out")
  p50=$(awk '$1 == "50%" { print $2 }' <<<"$out")
  p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
  reqs=$(awk '/requests in/ { print $1 }' <<<"$out")
  non2xx=$(awk '/Non-2xx/ { print $NF }' <<<"$out")
  errs=$(grep -o 'Socket errors:.*' <<<"$out" || true)
  RPS[$short]=$rps
  printf '  POST /v1/%-6s %9s req/s  p50 %-8s p99 %-8s (%s requests, non-2xx %s) %s\n' \
    "$short" "$rps" "$p50" "$p99" "$reqs" "${non2xx:-0}" "$errs"
done
echo "  server peak RSS after the load runs: $(rss VmHWM) kB (now $(rss VmRSS) kB)"

# 1000 malformed uploads after a warm-up of 300; all must be 4xx JSON.
python3 - "$ADDR" vectors/robustness "$SERVER_PID" <<'EOF'
import http.client, json, os, sys, urllib.parse
addr, folder, pid = sys.argv[1], sys.argv[2], sys.argv[3]
bad = [(n, open(os.path.join(folder, n), "rb").read())
       for n in sorted(os.listdir(folder)) if not n.endswith((".yaml", ".sh"))]
host = urllib.parse.urlparse(addr).netloc
def rss():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
conn = http.client.HTTPConnection(host, timeout=30)
def upload(i):
    name, body = bad[i % len(bad)]
    conn.request("POST", f"/v1/read?name={name}", body=body)
    r = conn.getresponse()
    body = r.read()
    code = json.loads(body)["error"]["code"] if r.status >= 400 else None
    return r.status, code
for i in range(300):  # warm-up: every vector 20 times, the allocator's arenas settle
    upload(i)
before = rss()
statuses, codes = {}, {}
for i in range(1000):
    s, c = upload(i)
    statuses[s] = statuses.get(s, 0) + 1
    codes[c] = codes.get(c, 0) + 1
    if i == 499:
        middle = rss()
after = rss()
clean = sum(n for s, n in statuses.items() if 400 <= s < 500 and s != 0)
print(f"  1000 malformed uploads ({len(bad)} robustness vectors in turn): {clean} clean 4xx answers; statuses {statuses}; error codes {codes}")
print(f"  server RSS before {before} kB, after 500 {middle} kB, after 1000 {after} kB; "
      f"growth over the second 500: {after - middle} kB")
if clean != 1000 or any(s >= 500 for s in statuses):
    sys.exit("bench-serve: malformed uploads did not all get a 4xx answer")
EOF

# The peer, same machine, same run: one CLI process per file, sequentially (N files).
N=300
start=$(date +%s.%N)
for _ in $(seq $N); do "$BIN" read --json "$WORK/labelled.png" >/dev/null; done
end=$(date +%s.%N)
cli_rate=$(awk -v n=$N -v s="$start" -v e="$end" 'BEGIN { printf "%.1f", n / (e - s) }')
echo "  peer: aigc-label read --json, one process per file: $cli_rate files/s (sequential)"
awk -v a="${RPS[read]}" -v b="$cli_rate" 'BEGIN { printf "  ratio: serve /v1/read %.1fx the CLI-per-file rate\n", a / b }'

left=$(find "$SPOOL" -mindepth 1 | wc -l)
echo "  files left in the spool folder: $left"
lines=$(grep -c ' POST /v1/' "$WORK/server.log" || true)
echo "  request log lines written: $lines"
[ "$left" -eq 0 ] || { echo "bench-serve: files left in the spool folder" >&2; exit 1; }
