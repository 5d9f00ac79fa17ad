# Shared by the evidence scripts: build once, start a server on a free loopback port,
# stop it on exit. Source it; it sets $url, $pid, $work and $bin.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
cargo build --release --quiet --bin aftersales
bin=$PWD/target/release/aftersales
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; [ -n "$pid" ] && wait "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# start_server ARGS...: starts the release binary on $port; logs in $work/server.log.
start_server() {
  RUST_LOG=${RUST_LOG:-warn} "$bin" serve --listen "127.0.0.1:$port" "$@" 2>"$work/server.log" &
  pid=$!
  for _ in $(seq 100); do curl -fs "$url/readyz" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "the server did not become ready" >&2; cat "$work/server.log" >&2; exit 1
}

# post_script BODY_FILE LUA_FILE: a wrk script that POSTs the JSON in BODY_FILE.
post_script() {
  cat > "$2" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$1")
wrk.body = f:read("*a")
f:close()
LUA
}

# The stalled example as a wrk POST script.
python3 -c "import json; print(json.dumps(json.load(open('tests/fixtures/examples/03-stalled-shangcheng.json'))['request']))" > "$work/body.json"
post_script "$work/body.json" "$work/post.lua"

# failures WRK_OUTPUT: non-2xx responses plus socket errors (0 when there were none).
failures() {
  awk '/Non-2xx/ {n += $NF} /Socket errors/ {gsub(/,/, ""); n += $4 + $6 + $8 + $10} END {print n + 0}' <<<"$1"
}
rss() { ps -o rss= -p "$pid" | tr -d ' '; }
