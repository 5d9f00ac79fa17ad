#!/usr/bin/env bash
# 60 s soak at the highest load wrk sustains (closed loop, 32 connections): every
# response must be 2xx and the server's memory must stay flat (RSS sampled every 5 s;
# the last sample within 20% of the one after warm-up).
#   scripts/evidence/soak.sh [seconds] [connections]
source "$(dirname "$0")/common.sh"
secs=${1:-60}; conns=${2:-32}
start_server --decision-log "$work/decisions.jsonl"
wrk -t2 -c"$conns" -d3s -s "$work/post.lua" "$url/v1/decisions" >/dev/null   # warm-up
base=$(rss); samples="$base"
wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$work/post.lua" "$url/v1/decisions" >"$work/wrk.out" &
wrk_pid=$!
while kill -0 $wrk_pid 2>/dev/null; do sleep 5; samples="$samples $(rss)"; done
wait $wrk_pid
out=$(cat "$work/wrk.out")
last=$(rss)
fails=$(failures "$out")
echo "decisions/s: $(awk '/Requests\/sec/ {print $2}' <<<"$out")  p50 $(awk '/ 50%/ {print $2}' <<<"$out")  p99 $(awk '/ 99%/ {print $2}' <<<"$out")"
echo "requests: $(awk '/requests in/ {print $1}' <<<"$out")  failed: $fails"
echo "RSS KiB every 5 s: $samples"
echo "decision log lines: $(wc -l < "$work/decisions.jsonl")"
python3 - "$base" "$last" "$fails" <<'PY'
import sys
base, last, fails = map(int, sys.argv[1:])
growth = (last - base) / base
print(f"RSS after warm-up {base} KiB, at the end {last} KiB ({growth:+.1%})")
ok = fails == 0 and growth < 0.20
print("soak: PASS" if ok else "soak: FAIL")
sys.exit(0 if ok else 1)
PY
