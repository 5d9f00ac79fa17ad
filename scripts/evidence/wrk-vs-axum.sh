#!/usr/bin/env bash
# Requests per second of the service beside a bare axum hello server (benches/hello.rs),
# on this machine in one run, with the same wrk settings:
#   scripts/evidence/wrk-vs-axum.sh [seconds] [connections]
# Both servers are started; wrk runs against the hello server, the service's /healthz,
# its POST /v1/decisions (the stalled example) and the hello server again, one after the
# other (never two at once). The service runs as shipped: release build, JSON logs at
# info (to a file), no decision log. Prints each rate and the two ratios against the
# mean of the hello runs (targets: /healthz >= 0.8, decisions >= 0.5).
RUST_LOG=${RUST_LOG:-info}
source "$(dirname "$0")/common.sh"
source scripts/evidence/bench-bin.sh
secs=${1:-10}; conns=${2:-32}
hello=$(bench_bin hello)
hello_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$hello" "127.0.0.1:$hello_port" & hello_pid=$!
trap 'kill $hello_pid 2>/dev/null; cleanup' EXIT
start_server
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$hello_port/" >/dev/null && break; sleep 0.1; done
run() { wrk -t2 -c"$conns" -d"${secs}s" "$@"; }
rate() { awk '/Requests\/sec/ {print $2}' <<<"$1"; }
run -d2s "http://127.0.0.1:$hello_port/" >/dev/null; run -d2s "$url/healthz" >/dev/null   # warm-up
hello1=$(run "http://127.0.0.1:$hello_port/")
health=$(run "$url/healthz")
decide=$(run -s "$work/post.lua" "$url/v1/decisions")
hello2=$(run "http://127.0.0.1:$hello_port/")
h=$(python3 -c "print(($(rate "$hello1") + $(rate "$hello2")) / 2)")
echo "axum hello:       $(rate "$hello1") then $(rate "$hello2") req/s (mean $h)"
echo "aftersales /healthz:   $(rate "$health") req/s   failed $(failures "$health")"
echo "aftersales decisions:  $(rate "$decide") req/s   failed $(failures "$decide")"
python3 -c "print(f'ratio healthz/hello:   {$(rate "$health") / $h:.2f} (target >= 0.8)')"
python3 -c "print(f'ratio decisions/hello: {$(rate "$decide") / $h:.2f} (target >= 0.5)')"
