#!/usr/bin/env bash
# Instructions per call of each piece of the request path (the stalled example), counted
# by callgrind: repeatable on a busy machine, where clocks are not. Each piece runs 1000
# times, and only the calls are counted (callgrind's --toggle-collect on the bench's
# `measured`): the setup, whose clock calibration varies from run to run, is left out.
# Callgrind toggles per thread: a piece that works on other threads (http-batch-1000,
# whose items are decided on every core) is undercounted; count it by the difference of
# whole runs (valgrind --tool=callgrind BIN http-batch-1000 N, for N = 0 and 2).
#   scripts/evidence/instructions.sh [PIECE...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
command -v valgrind >/dev/null || { echo "valgrind is missing: apt-get install valgrind" >&2; exit 1; }
source scripts/evidence/bench-bin.sh
bin=$(bench_bin instructions)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
count() { # count PIECE N: instructions of its N calls
  valgrind --tool=callgrind --toggle-collect='instructions::measured*' \
    --callgrind-out-file="$work/out" "$bin" "$1" "$2" 2>&1 \
    | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
pieces=("$@")
[ ${#pieces[@]} -gt 0 ] || pieces=(parse parse-adcode decide render whole whole-compact decide_json serialize http-healthz http-decision http-healthz-logged http-decision-logged)
for piece in "${pieces[@]}"; do
  echo "$piece: $(( $(count "$piece" 1000) / 1000 )) instructions per call"
done
