#!/usr/bin/env bash
# While wrk loads decisions for 20 s: at 5 s the rules file is replaced by a broken one
# (the last good rules must keep serving), at 10 s by a fixed one with a new version
# (it must switch). Not one request may fail.
#   scripts/evidence/reload-under-load.sh
source "$(dirname "$0")/common.sh"
rules="$work/rules/rules.toml"; mkdir -p "$work/rules"
sed 's/^version = .*/version = "load-v1"/' rules/hangzhou-2023.toml >"$rules"
start_server --rules "$rules"
version() { curl -fs "$url/v1/rules" | python3 -c 'import json,sys; d=json.load(sys.stdin); r=d["reload"] or {}; print(d["version"], r.get("result","-"))'; }
wrk -t2 -c32 -d20s -s "$work/post.lua" "$url/v1/decisions" >"$work/wrk.out" &
wrk_pid=$!
sleep 2; echo "t=2s  serving: $(version)"
sleep 3; sed 's/^version = .*/version = "load-broken"/; s/^stall_after_hours = 72/stall_after_hours = -1/' rules/hangzhou-2023.toml >"$rules.tmp" && mv "$rules.tmp" "$rules"
sleep 2; after_broken=$(version); echo "t=7s  after a broken file: $after_broken"
sleep 3; sed 's/^version = .*/version = "load-v2"/' rules/hangzhou-2023.toml >"$rules.tmp" && mv "$rules.tmp" "$rules"
sleep 2; after_fixed=$(version); echo "t=12s after the fixed file: $after_fixed"
wait $wrk_pid
out=$(cat "$work/wrk.out"); fails=$(failures "$out")
echo "requests: $(awk '/requests in/ {print $1}' <<<"$out")  decisions/s: $(awk '/Requests\/sec/ {print $2}' <<<"$out")  failed: $fails"
if [ "$fails" = 0 ] && [ "$after_broken" = "load-v1 failed" ] && [ "$after_fixed" = "load-v2 ok" ]; then
  echo "reload under load: PASS"
else
  echo "reload under load: FAIL"; exit 1
fi
