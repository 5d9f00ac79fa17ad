#!/usr/bin/env bash
# Issue 11, target 5: how much smaller `?view=compact` is than the full view, for every
# worked example in tests/fixtures/examples that is decided (a 200), in both languages (bytes on the wire, no
# content coding). Prints one line per example and the median ratio.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
start_server
printf '%-42s %8s %8s %8s %7s %7s\n' example full-zh full-en compact zh/c en/c
ratios=()
for f in tests/fixtures/examples/*.json; do
  python3 -c "import json,sys; print(json.dumps(json.load(open(sys.argv[1]))['request']))" "$f" > "$work/req.json"
  size() { curl -s -o /dev/null -w '%{size_download}' -H 'content-type: application/json' "$@" --data @"$work/req.json"; }
  # Examples of refusals (a problem, not a decision) have no compact view to compare.
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'content-type: application/json' --data @"$work/req.json" "$url/v1/decisions")" = 200 ] || continue
  zh=$(size -H 'accept-language: zh-CN' "$url/v1/decisions")
  en=$(size -H 'accept-language: en' "$url/v1/decisions")
  c=$(size "$url/v1/decisions?view=compact")
  r=$(python3 -c "print(f'{$zh/$c:.2f} {$en/$c:.2f}')")
  ratios+=("${r%% *}")
  printf '%-42s %8s %8s %8s %7s %7s\n' "$(basename "$f" .json)" "$zh" "$en" "$c" ${r}
done
python3 -c 'import statistics,sys; r = [float(x) for x in sys.argv[1:]]; print(f"full-zh/compact over {len(r)} decisions: median {statistics.median(r):.2f}, lowest {min(r):.2f}, highest {max(r):.2f}")' "${ratios[@]}"
