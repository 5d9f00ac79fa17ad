#!/usr/bin/env bash
# Decisions per second against the same server's /healthz per second, in one run.
#
#   scripts/load.sh [seconds-per-endpoint] [connections]
#
# Builds the release binary, starts it on a free loopback port with the embedded rules,
# runs wrk (apt-get install wrk) against /healthz and then POST /v1/decisions with the
# stalled example, prints both rates and their ratio, and stops the server. Targets
# 127.0.0.1 only; every run is bounded by its duration.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-32}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }

cargo build --release --quiet
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
RUST_LOG=${RUST_LOG:-info} ./target/release/aftersales serve --listen "127.0.0.1:$port" --drain-seconds 0 2>"$work/server.log" &
pid=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done

python3 -c "import json; print(json.dumps(json.load(open('tests/fixtures/examples/03-stalled-shangcheng.json'))['request']))" > "$work/body.json"
cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$work/body.json")
wrk.body = f:read("*a")
f:close()
LUA

rate() { awk '/Requests\/sec/ {print $2}'; }
errors() { awk '/Non-2xx|Socket errors/ {print}'; }
url="http://127.0.0.1:$port"
wrk -t2 -c"$conns" -d3s "$url/healthz" >/dev/null   # warm-up
health_out=$(wrk -t2 -c"$conns" -d"${secs}s" --latency "$url/healthz")
decide_out=$(wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$work/post.lua" "$url/v1/decisions")
health=$(rate <<<"$health_out")
decide=$(rate <<<"$decide_out")
echo "healthz:   $health req/s   $(awk '/ 99%/ {print "p99 " $2}' <<<"$health_out") $(errors <<<"$health_out")"
echo "decisions: $decide req/s   $(awk '/ 99%/ {print "p99 " $2}' <<<"$decide_out") $(errors <<<"$decide_out")"
python3 -c "print(f'ratio decisions/healthz: {float($decide)/float($health):.3f} (target >= 0.9)')"
echo "server RSS: $(ps -o rss= -p $pid) KiB"
