#!/usr/bin/env bash
# Instructions per call of each piece of the request path (the stalled example), counted
# by callgrind: repeatable on a busy machine, where clocks are not. Each piece runs with
# N = 0 and N = 1000 calls; the difference over 1000 is its cost per call.
#   scripts/evidence/instructions.sh [PIECE...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
command -v valgrind >/dev/null || { echo "valgrind is missing: apt-get install valgrind" >&2; exit 1; }
source scripts/evidence/bench-bin.sh
bin=$(bench_bin instructions)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
count() { # count PIECE N: instructions of the whole run
  valgrind --tool=callgrind --callgrind-out-file="$work/out" "$bin" "$1" "$2" 2>&1 \
    | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
pieces=("$@")
[ ${#pieces[@]} -gt 0 ] || pieces=(parse parse-adcode decide render whole whole-compact decide_json serialize http-healthz http-decision http-healthz-logged http-decision-logged)
for piece in "${pieces[@]}"; do
  base=$(count "$piece" 0)
  many=$(count "$piece" 1000)
  echo "$piece: $(( (many - base) / 1000 )) instructions per call"
done
