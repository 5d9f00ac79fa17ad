#!/usr/bin/env bash
# Fuzzes request parsing plus decision (fuzz/fuzz_targets/decide.rs) for a bounded time,
# starting from the worked examples. Any crash fails the run and leaves its input in
# fuzz/artifacts/decide/.
#   scripts/evidence/fuzz.sh [seconds]        (needs: cargo install cargo-fuzz --locked)
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-300}
command -v cargo-fuzz >/dev/null || { echo "cargo-fuzz is missing: cargo install cargo-fuzz --locked" >&2; exit 1; }
mkdir -p fuzz/corpus/decide
# cargo-fuzz passes nightly-only flags (sanitizers); RUSTC_BOOTSTRAP lets the stable
# toolchain, the only one here, accept them.
export RUSTC_BOOTSTRAP=1
cargo fuzz run decide fuzz/corpus/decide fuzz/seeds -- -max_total_time="$secs" -max_len=8192 -timeout=5 2>&1 | tee fuzz/last-run.log | grep -E "^#[0-9]+.*(DONE|pulse)|Done|ERROR|SUMMARY|panicked" || true
if grep -qE "ERROR: libFuzzer|panicked|SUMMARY: .*Sanitizer" fuzz/last-run.log; then
  echo "fuzz: FAIL (crash input in fuzz/artifacts/decide/)"; exit 1
fi
echo "fuzz: PASS — $(grep -oE '^#[0-9]+' fuzz/last-run.log | tail -1 | tr -d '#') inputs in ${secs}s, no crash"
