#!/usr/bin/env bash
# The engine's cost per decision with the embedded rules and with ~3,000 zones: zone
# lookup must not scan, so the large rules may cost at most 1.2x the embedded ones.
#   scripts/evidence/scale-bench.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo bench --bench decide -- --warm-up-time 1 --measurement-time 5 'decide/' >/dev/null
python3 - <<'PY'
import json, sys
def mean(name):
    with open(f"target/criterion/decide_stalled_{name}/new/estimates.json") as f:
        return json.load(f)["mean"]["point_estimate"]
small, large = mean("embedded"), mean("3000-zones")
print(f"one decision, embedded rules: {small:.0f} ns (target <= 2000 ns)")
print(f"one decision, ~3,000 zones:   {large:.0f} ns ({large / small:.2f}x, target <= 1.2x)")
ok = small <= 2000 and large <= 1.2 * small
print("scale bench: PASS" if ok else "scale bench: FAIL")
sys.exit(0 if ok else 1)
PY
