#!/usr/bin/env bash
# How long a 1,000-item batch (the stalled example 1,000 times) takes over HTTP on
# loopback, one at a time on a kept-alive connection: 30 calls, after 5 to warm up.
# Prints the median and the fastest, full and compact view (target: <= 8 ms).
#   scripts/evidence/batch-latency.sh
source "$(dirname "$0")/common.sh"
start_server
python3 - "$port" <<'PY'
import http.client, json, statistics, sys, time
port = int(sys.argv[1])
item = json.load(open("tests/fixtures/examples/03-stalled-shangcheng.json"))["request"]
body = json.dumps({"items": [item] * 1000}).encode()
c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
for path in ("/v1/decisions/batch", "/v1/decisions/batch?view=compact"):
    times = []
    for i in range(35):
        t = time.perf_counter()
        c.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read()
        took = (time.perf_counter() - t) * 1000
        assert r.status == 200, (r.status, data[:200])
        if i >= 5:
            times.append(took)
    print(f"{path}: {len(body) / 1e6:.2f} MB in, {len(data) / 1e6:.2f} MB out, "
          f"median {statistics.median(times):.2f} ms, fastest {min(times):.2f} ms")
PY
