#!/usr/bin/env bash
# Steady load that ends inside the drain delay: SIGTERM 1 s into a 4 s wrk run against a
# server draining for 5 s. /readyz must turn 503 at once, not one request may fail, and
# the server must exit 0 with the decision log flushed.
#   scripts/evidence/sigterm-under-load.sh
source "$(dirname "$0")/common.sh"
start_server --drain-seconds 5 --grace-seconds 10 --decision-log "$work/decisions.jsonl"
wrk -t2 -c32 -d4s -s "$work/post.lua" "$url/v1/decisions" >"$work/wrk.out" &
wrk_pid=$!
sleep 1
kill -TERM "$pid"
sleep 0.2
ready=$(curl -s -o /dev/null -w '%{http_code}' "$url/readyz")
echo "/readyz 0.2 s after SIGTERM: $ready"
wait $wrk_pid
set +e; wait "$pid"; code=$?; set -e; pid=""
out=$(cat "$work/wrk.out"); fails=$(failures "$out")
total=$(awk '/requests in/ {print $1}' <<<"$out")
logged=$(wc -l < "$work/decisions.jsonl")
echo "requests: $total  failed: $fails  exit code: $code  decision log lines: $logged"
if [ "$ready" = 503 ] && [ "$fails" = 0 ] && [ "$code" = 0 ] && [ "$logged" -ge "$total" ]; then
  echo "SIGTERM under load: PASS"
else
  echo "SIGTERM under load: FAIL"; exit 1
fi
