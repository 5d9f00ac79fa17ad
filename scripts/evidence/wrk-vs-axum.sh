#!/usr/bin/env bash
# Requests per second of the service beside a bare axum hello server (benches/hello.rs),
# on this machine in one run, with the same wrk settings:
#   scripts/evidence/wrk-vs-axum.sh [seconds] [connections] [rounds]
# Both servers are started. Each round runs wrk against the hello server, the service's
# /healthz, its POST /v1/decisions (the stalled example) and the hello server again, one
# after the other (never two at once), and puts each of the service's rates beside the
# mean of the two hello runs around it. The machine's speed drifts by more than the
# difference measured, over tens of seconds (it is shared): short rounds, each bracketed
# by its own hello runs, keep a drift out of the ratio, and the rounds' median keeps out
# a round that one burst of noise fell on. Every round is printed, then the median and
# the lowest ratio (targets: /healthz >= 0.8, decisions >= 0.5). The service runs as
# shipped: release build, JSON logs at info (to a file), no decision log.
RUST_LOG=${RUST_LOG:-info}
source "$(dirname "$0")/common.sh"
source scripts/evidence/bench-bin.sh
secs=${1:-2}; conns=${2:-32}; rounds=${3:-5}
hello=$(bench_bin hello)
hello_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$hello" "127.0.0.1:$hello_port" & hello_pid=$!
trap 'kill $hello_pid 2>/dev/null; cleanup' EXIT
start_server
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$hello_port/" >/dev/null && break; sleep 0.1; done
run() { wrk -t2 -c"$conns" -d"${secs}s" "$@"; }
rate() { awk '/Requests\/sec/ {print $2}' <<<"$1"; }
run -d2s "http://127.0.0.1:$hello_port/" >/dev/null; run -d2s "$url/healthz" >/dev/null   # warm-up
run -d2s -s "$work/post.lua" "$url/v1/decisions" >/dev/null
failed=0
for round in $(seq "$rounds"); do
  hello1=$(run "http://127.0.0.1:$hello_port/")
  health=$(run "$url/healthz")
  decide=$(run -s "$work/post.lua" "$url/v1/decisions")
  hello2=$(run "http://127.0.0.1:$hello_port/")
  failed=$((failed + $(failures "$health") + $(failures "$decide")))
  echo "$round $(rate "$hello1") $(rate "$health") $(rate "$decide") $(rate "$hello2")"
done > "$work/rounds"
echo "failed requests (non-2xx or socket errors): $failed"
python3 - "$work/rounds" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
health, decide = [], []
print("round  hello before  /healthz  decisions  hello after   healthz/hello  decisions/hello")
for r, h1, hz, d, h2 in rows:
    h = (float(h1) + float(h2)) / 2
    health.append(float(hz) / h); decide.append(float(d) / h)
    print(f"{r:>5}  {float(h1):>12.0f}  {float(hz):>8.0f}  {float(d):>9.0f}  {float(h2):>11.0f}"
          f"   {health[-1]:>13.2f}  {decide[-1]:>15.2f}")
for name, ratios, target in (("healthz/hello", health, 0.8), ("decisions/hello", decide, 0.5)):
    print(f"ratio {name}: median {statistics.median(ratios):.2f}, lowest {min(ratios):.2f}"
          f" (target >= {target})")
PY
