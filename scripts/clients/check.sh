#!/usr/bin/env bash
# Proves that openapi.yaml gives a shop backend a complete, typed client:
#   1. openapi-python-client generates a Python client from it without a single warning;
#   2. every example is decided through that client's typed models and functions against
#      the running server (decide_examples.py);
#   3. openapi-typescript generates TypeScript types that accept correct requests under
#      `tsc --noEmit --strict` (ts/requests.ts) and refuse a misspelt event field, a
#      numeric destination, a batch item that is not a request, a Kuaishou refund status
#      the platform does not document, and a text read from an answer not narrowed on its
#      `view` (it may be the compact one) (ts/bad-*.ts), each on the line it marks;
#   4. Redocly's recommended rules pass (redocly.yaml lists what is off, and why).
# Every check runs even when one before it fails; the summary lists those that failed.
#
#   scripts/clients/check.sh [BASE_URL]    # default http://127.0.0.1:8080, server running
#
# Tools are pinned: requirements.txt (pip), package.json + package-lock.json (npm). They
# are installed once into scripts/clients/.venv and node_modules, and again only when
# those files change. Generated code goes to scripts/clients/generated (not committed).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
base=${1:-http://127.0.0.1:8080}
doc="$root/openapi.yaml"
gen="$here/generated"
venv="$here/.venv"
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_UPDATE_NOTIFIER=1

stamp() { sha256sum "$1" | cut -d' ' -f1; }

echo "--- clients: tools (pinned)"
start=$SECONDS
if [ "$(cat "$venv/.requirements" 2>/dev/null)" != "$(stamp "$here/requirements.txt")" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  # Every package is pinned in the file, so nothing else may come in (--no-deps).
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps -r "$here/requirements.txt"
  stamp "$here/requirements.txt" >"$venv/.requirements"
fi
if [ "$(cat "$here/node_modules/.package-lock" 2>/dev/null)" != "$(stamp "$here/package-lock.json")" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
  stamp "$here/package-lock.json" >"$here/node_modules/.package-lock"
fi
echo "openapi-python-client $("$venv/bin/openapi-python-client" --version | awk '{print $NF}'),"\
  "openapi-typescript $("$here/node_modules/.bin/openapi-typescript" --version | awk '{print $NF}'),"\
  "tsc $("$here/node_modules/.bin/tsc" --version | awk '{print $NF}'),"\
  "redocly $(node -p "require('$here/node_modules/@redocly/cli/package.json').version")"\
  "($((SECONDS - start)) s)"
rm -rf "$gen"
mkdir -p "$gen/python"

python_client() {
  local log
  # Its post-hooks run ruff, found on PATH: the virtualenv's, not whatever the machine has.
  log=$(PATH="$venv/bin:$PATH" "$venv/bin/openapi-python-client" generate --path "$doc" --meta none \
    --output-path "$gen/python/aftersales_client" --fail-on-warning 2>&1) || {
    echo "$log"
    return 1
  }
  echo "$log"
  # --fail-on-warning already fails on them; this also catches a tool that stops doing so.
  ! grep -qiE 'warning|unable to|will not be generated' <<<"$log"
}

python_examples() {
  # The server must serve the very document the client was generated from.
  curl -fsS "$base/openapi.yaml" | cmp -s - "$doc" || {
    echo "the server at $base does not serve the committed openapi.yaml"
    return 1
  }
  "$venv/bin/python" "$here/decide_examples.py" --client "$gen/python" --base-url "$base" \
    --cli "$root/target/debug/aftersales"
}

tsc_check() {
  "$here/node_modules/.bin/tsc" --noEmit --strict --target es2022 --module esnext \
    --moduleResolution bundler "$@"
}

typescript() {
  "$here/node_modules/.bin/openapi-typescript" "$doc" -o "$gen/schema.d.ts" --silent || return 1
  # A stray `unknown` would let anything through where a type should stand (comments,
  # response headers and objects that mirror another system's are fine).
  if grep -nwE 'unknown' "$gen/schema.d.ts" |
    grep -vE '^[0-9]+: *(\*|/\*\*)|\[(name|key): string\]: unknown;'; then
    echo "schema.d.ts has untyped parts (above)"
    return 1
  fi
  # One compiler run for all files (each run costs seconds): requests.ts must have no
  # error, and each bad file errors exactly on the line it marks (failing elsewhere
  # would prove nothing).
  local out file line lines ok=0
  out=$(cd "$here/ts" && tsc_check requests.ts bad-*.ts 2>&1) && {
    echo "the bad files compile, but must not"
    return 1
  }
  if grep -vE '^(bad-[a-z-]+\.ts\([0-9]+,[0-9]+\): error|  )' <<<"$out" | grep .; then
    echo "errors outside the bad files (above)"
    ok=1
  fi
  for file in "$here"/ts/bad-*.ts; do
    file=$(basename "$file")
    line=$(grep -n '// error expected' "$here/ts/$file" | cut -d: -f1)
    lines=$(grep -oE "^$file\([0-9]+," <<<"$out" | grep -oE '[0-9]+' | sort -u | tr '\n' ' ')
    if [ -z "$line" ]; then
      echo "$file marks no line with \`// error expected\`"
      ok=1
    elif [ "$lines" != "$line " ]; then
      echo "$file must fail on line $line only; it fails on: ${lines:-no line}"
      ok=1
    else
      echo "$file is refused: $(grep -m1 -oE "^$file.{0,150}" <<<"$out")"
    fi
  done
  [ $ok = 0 ] && echo "requests.ts compiles"
  return $ok
}

redocly() {
  "$here/node_modules/.bin/redocly" lint "$doc" --config "$here/redocly.yaml" --format stylish 2>&1 |
    grep -v -e '^ *║' -e '^ *╔' -e '^ *╚' -e '^\s*$'
  return "${PIPESTATUS[0]}"
}

failed=()
for check in python_client python_examples typescript redocly; do
  echo "--- clients: $check"
  start=$SECONDS
  if "$check"; then
    echo "ok: $check ($((SECONDS - start)) s)"
  else
    echo "FAILED: $check ($((SECONDS - start)) s)"
    failed+=("$check")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "client checks failed: ${failed[*]}" >&2
  exit 1
fi
echo "client checks passed"
