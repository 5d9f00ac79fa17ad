#!/usr/bin/env bash
# Runs every `curl` line of the README's shell blocks against a server on localhost:8080,
# from the project root, and fails if any of them fails. Each README example uses
# --fail-with-body, so an error status fails it too (except the one that shows an error,
# marked `# expect 422`).
set -euo pipefail
cd "$(dirname "$0")/.."
n=0
while IFS= read -r cmd; do
  n=$((n + 1))
  expect=$(sed -n 's/.*# expect \([0-9]*\).*/\1/p' <<<"$cmd")
  cmd=${cmd%%#*}
  echo "\$ $cmd"
  if [ -n "$expect" ]; then
    status=$(eval "$cmd -o /dev/null -w '%{http_code}'" || true)
    [ "$status" = "$expect" ] || { echo "expected $expect, got $status" >&2; exit 1; }
  else
    eval "$cmd" >/dev/null
  fi
done < <(awk '/^```sh/{f=1; next} /^```/{f=0} f && /^curl /' README.md)
[ "$n" -gt 0 ] || { echo "no curl examples found in README.md" >&2; exit 1; }
echo "$n README examples passed"
