#!/usr/bin/env bash
# How long a 1,000-item batch (the stalled example 1,000 times) takes over HTTP on
# loopback: wrk with one connection, one batch after another, 10 s per view. Prints the
# median and the 99th percentile, full and compact view (target: <= 8 ms).
#   scripts/evidence/batch-latency.sh [seconds]
source "$(dirname "$0")/common.sh"
secs=${1:-10}
start_server
python3 -c "
import json
item = json.load(open('tests/fixtures/examples/03-stalled-shangcheng.json'))['request']
print(json.dumps({'items': [item] * 1000}))" > "$work/batch.json"
post_script "$work/batch.json" "$work/batch.lua"
echo "batch: $(wc -c < "$work/batch.json") bytes, 1000 items"
for view in full compact; do
  out=$(wrk -t1 -c1 -d"${secs}s" --latency -s "$work/batch.lua" "$url/v1/decisions/batch?view=$view")
  p50=$(awk '/ 50%/ {print $2}' <<<"$out"); p99=$(awk '/ 99%/ {print $2}' <<<"$out")
  n=$(awk '/requests in/ {print $1}' <<<"$out")
  echo "$view: $n batches, median $p50, p99 $p99, failed $(failures "$out")"
done
