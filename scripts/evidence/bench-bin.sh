# Source it: `bench_bin NAME` prints the path of the release build of benches/NAME.rs
# (built if needed), for the evidence scripts that run a bench binary themselves.
bench_bin() {
  cargo bench --bench "$1" --no-run --message-format=json 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == sys.argv[1] and m.get("executable"):
        print(m["executable"])' "$1"
}
