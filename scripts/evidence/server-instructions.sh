#!/usr/bin/env bash
# Instructions per request through the real server (hyper, our accept loop, every layer,
# the JSON log line at info), counted by callgrind: repeatable on a busy machine, where
# clocks are not. The in-process count (instructions.sh http-*) leaves out hyper and
# serve.rs; this one does not. The server runs under callgrind twice, serving N and then
# 2N requests on one keep-alive connection; the difference of the two whole runs divided
# by N is what one request costs (start-up and shutdown cancel out). Only the connection's
# task is counted (serve.rs's `connection`: hyper, our accept loop's per-request work,
# every layer, the handler, the log line): the runtime's parking and waking between two
# requests of a one-at-a-time client varies from run to run by more than the changes
# this measures. hello is counted whole (its connection task has no name of its own).
#   scripts/evidence/server-instructions.sh [BIN] [N=2000] [WHAT...]
# WHAT: healthz, decision (the stalled example), or hello (benches/hello.rs, for scale).
# BIN defaults to the release build of this tree.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
command -v valgrind >/dev/null || { echo "valgrind is missing: apt-get install valgrind" >&2; exit 1; }
bin=${1:-}
if [ -z "$bin" ]; then
  cargo build --release --quiet --bin aftersales
  bin=$PWD/target/release/aftersales
fi
n=${2:-2000}
shift $(( $# < 2 ? $# : 2 ))
whats=("$@")
[ ${#whats[@]} -gt 0 ] || whats=(healthz decision)
work=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
python3 -c "import json; print(json.dumps(json.load(open('tests/fixtures/examples/03-stalled-shangcheng.json'))['request']))" > "$work/body.json"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# requests PORT PATH N [BODY]: N requests, one after the other, on one connection.
requests() {
  python3 - "$@" <<'PY'
import http.client, sys, time
port, path, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
body = open(sys.argv[4], "rb").read() if len(sys.argv) > 4 else None
for _ in range(600):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        c.request("GET", "/healthz" if path != "/" else "/"); c.getresponse().read(); c.close(); break
    except OSError:
        time.sleep(0.1)
c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
for _ in range(n):
    if body is None:
        c.request("GET", path)
    else:
        c.request("POST", path, body, {"Content-Type": "application/json"})
    r = c.getresponse(); r.read()
    assert r.status == 200, r.status
PY
}

# count WHAT N: instructions of the whole run of a server that served N requests of WHAT.
count() {
  local what=$1 n=$2 port path body=() cmd
  port=$(free_port)
  case $what in
    healthz) path=/healthz; cmd=("$bin" serve --listen "127.0.0.1:$port") ;;
    decision) path=/v1/decisions; body=("$work/body.json"); cmd=("$bin" serve --listen "127.0.0.1:$port") ;;
    hello) path=/; source scripts/evidence/bench-bin.sh; cmd=("$(bench_bin hello)" "127.0.0.1:$port") ;;
    *) echo "unknown: $what" >&2; exit 1 ;;
  esac
  local toggle=--toggle-collect='aftersales::http::serve::connection*'
  [ "$what" = hello ] && toggle=
  RUST_LOG=${RUST_LOG:-info} valgrind --tool=callgrind $toggle --callgrind-out-file="$work/out.%p" \
    "${cmd[@]}" >"$work/log" 2>&1 &
  pid=$!
  requests "$port" "$path" "$n" "${body[@]}"
  kill -INT "$pid"; [ "$what" = hello ] && kill -TERM "$pid"
  wait "$pid" || true
  pid=""
  sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$work/log"
}
for what in "${whats[@]}"; do
  one=$(count "$what" "$n"); two=$(count "$what" $((2 * n)))
  echo "$what: $(( (two - one) / n )) instructions per request (through the server, $n and $((2 * n)) requests)"
done
