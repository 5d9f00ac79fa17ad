#!/usr/bin/env bash
# Decisions per second against the same server's /healthz per second, in one run.
#   scripts/evidence/load-ratio.sh [seconds-per-endpoint] [connections]
# Starts the release binary with the embedded rules and its production defaults (JSON
# logs at info), runs wrk against /healthz and then POST /v1/decisions with the stalled
# example, and prints both rates and their ratio.
RUST_LOG=${RUST_LOG:-info}
source "$(dirname "$0")/common.sh"
secs=${1:-10}; conns=${2:-32}
start_server
wrk -t2 -c"$conns" -d3s "$url/healthz" >/dev/null   # warm-up
health_out=$(wrk -t2 -c"$conns" -d"${secs}s" --latency "$url/healthz")
decide_out=$(wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$work/post.lua" "$url/v1/decisions")
rate() { awk '/Requests\/sec/ {print $2}' <<<"$1"; }
p99() { awk '/ 99%/ {print $2}' <<<"$1"; }
echo "healthz:   $(rate "$health_out") req/s   p99 $(p99 "$health_out")   failed $(failures "$health_out")"
echo "decisions: $(rate "$decide_out") req/s   p99 $(p99 "$decide_out")   failed $(failures "$decide_out")"
python3 -c "print(f'ratio decisions/healthz: {float($(rate "$decide_out"))/float($(rate "$health_out")):.3f} (target >= 0.9)')"
echo "server RSS: $(rss) KiB"
