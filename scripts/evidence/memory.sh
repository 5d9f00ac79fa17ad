#!/usr/bin/env bash
# Peak memory under large bodies, and whether it is given back:
#   1. 64 clients post a 1 MB batch each at the same moment (defaults: 1 MiB body limit);
#   2. one 62 MB batch (5,000 items of 62 carrier events; --body-limit 128 MiB), then the
#      resident size every second for 10 s.
# Prints the answers' statuses, the peak (VmHWM) and the resident size (VmRSS) of the
# server. Targets: 1. peak <= 200 MB; 2. peak <= 400 MB, under 60 MB within 10 s.
#   scripts/evidence/memory.sh [server flags...]   (e.g. --body-budget 33554432)
source "$(dirname "$0")/common.sh"
status() { awk -v k="$1:" '$1 == k {print int($2 / 1024) " MB"}' "/proc/$pid/status"; }
cat > "$work/clients.py" <<'PY'
import http.client, json, sys, threading, time
port, what = int(sys.argv[1]), sys.argv[2]
item = json.load(open("tests/fixtures/examples/03-stalled-shangcheng.json"))["request"]

def post(body, out, i, timeout=120):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        c.request("POST", "/v1/decisions/batch", body=body, headers={"Content-Type": "application/json"})
        r = c.getresponse(); r.read(); out[i] = r.status
    except OSError as e:
        out[i] = type(e).__name__

if what == "many":
    n = len(json.dumps(item)) + 1
    body = json.dumps({"items": [item] * (1_000_000 // n)}).encode()
    out = {}
    threads = [threading.Thread(target=post, args=(body, out, i)) for i in range(64)]
    t = time.monotonic()
    for th in threads: th.start()
    for th in threads: th.join()
    counts = {}
    for s in out.values(): counts[s] = counts.get(s, 0) + 1
    print(f"64 x {len(body) / 1e6:.2f} MB batches in {time.monotonic() - t:.1f} s: statuses {counts}")
else:
    heavy = dict(item)
    heavy["logistics_trace"] = [
        {"at": f"2023-10-{1 + i // 1440 % 9:02}T{i // 60 % 24:02}:{i % 60:02}:00+08:00",
         "description": "【杭州市】快件已到达 杭州转运中心，正发往下一站"} for i in range(62)]
    body = json.dumps({"items": [heavy] * 5000}).encode()
    out = {}
    t = time.monotonic()
    post(body, out, 0)
    print(f"one {len(body) / 1e6:.1f} MB batch: status {out[0]} in {time.monotonic() - t:.1f} s")
PY
start_server "$@"
echo "== 64 concurrent 1 MB batches (defaults)"
echo "at rest: $(status VmRSS)"
python3 "$work/clients.py" "$port" many
echo "peak: $(status VmHWM)   after: $(status VmRSS)"
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
echo "== one 62 MB batch (--body-limit 134217728 --request-timeout 120)"
start_server --body-limit 134217728 --request-timeout 120 "$@"
echo "at rest: $(status VmRSS)"
python3 "$work/clients.py" "$port" one
echo "peak: $(status VmHWM)"
for s in 1 2 3 4 5 6 7 8 9 10; do sleep 1; printf '%ss: %s  ' "$s" "$(status VmRSS)"; done; echo
