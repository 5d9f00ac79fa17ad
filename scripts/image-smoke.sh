#!/usr/bin/env bash
# What the container image assumes, tested without a Docker engine: the binary runs in
# a root holding only what gcr.io/distroless/cc-debian12 gives it (glibc, libgcc, CA
# certificates, the nonroot user; no shell), as uid 65532, with that root read-only,
# the rules from a mounted directory, the API tokens from a mounted file and the
# decision log on stdout, as deploy/k8s runs it. The Dockerfile's own HEALTHCHECK
# command must succeed, and a decision must be served and logged.
#
# The entrypoint, command, environment, user, binary path and health check are read
# from the Dockerfile, so the test follows it. Needs bubblewrap (apt-get install
# bubblewrap), dpkg (the root is built from this Debian's own libc6 and libgcc-s1, the
# packages distroless is made of), curl and python3.
#
#   scripts/image-smoke.sh [BINARY]      # default target/debug/aftersales
#
# Everything runs in a network namespace of its own, so port 8080 (the image's) is
# free whatever else runs on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ ${1:-} != --inside ]]; then
    binary=${1:-target/debug/aftersales}
    [[ -x $binary ]] || { echo "no binary at $binary (cargo build first)" >&2; exit 1; }
    command -v bwrap >/dev/null || { echo "needs bubblewrap: apt-get install bubblewrap" >&2; exit 1; }
    # The outer sandbox only gives a fresh network namespace (loopback up); the host's
    # files stay visible to this script.
    exec bwrap --dev-bind / / --unshare-net --die-with-parent -- "$0" --inside "$(realpath "$binary")"
fi
binary=$2
now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f} s')" "$1" "$2"; }
began=$(now)

work=$(mktemp -d)
server=
cleanup() {
    if [[ -n $server ]]; then kill "$server" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
fail() {
    echo "image smoke: $*" >&2
    for f in stderr stdout; do
        [[ -s $work/$f ]] && { echo "--- server $f" >&2; tail -20 "$work/$f" >&2; }
    done
    exit 1
}

# --- What the Dockerfile says: final stage's user, env, binary, entrypoint, health check.
mapfile -t image < <(python3 - <<'EOF'
import json, re, shlex
text = re.sub(r"\\\n", " ", open("Dockerfile").read())
final = text.split("\nFROM ")[-1]
lines = [l.strip() for l in final.splitlines() if l.strip() and not l.startswith("#")]
def arg(word):
    found = [l[len(word):].strip() for l in lines if l.startswith(word + " ")]
    assert len(found) == 1, f"{word}: {found}"
    return found[0]
copy = [l.split() for l in lines if l.startswith("COPY --from=build ")]
print(copy[0][-1])
print(arg("USER"))
print(" ".join(shlex.quote(x) for x in json.loads(arg("ENTRYPOINT")) + json.loads(arg("CMD"))))
health = arg("HEALTHCHECK")
print(" ".join(shlex.quote(x) for x in json.loads(health[health.index("CMD ") + 4:])))
for l in lines:
    if l.startswith("ENV "):
        for pair in shlex.split(l[4:]):
            print("ENV " + pair)
EOF
)
target=${image[0]}
user=${image[1]}
eval "run=(${image[2]})"
eval "health=(${image[3]})"
[[ $user == nonroot:nonroot ]] || fail "the Dockerfile's USER is $user, not nonroot:nonroot (65532)"

# --- The root: the files of libc6 and libgcc-s1 at the paths the packages name (as
# distroless lays them out), the CA bundle, the nonroot user, and the binary.
root=$work/root
mkdir -p "$root"
dpkg -L libc6 libgcc-s1 | while read -r f; do
    [[ -d $f ]] && continue
    if [[ -f $f || -L $f ]]; then
        mkdir -p "$root$(dirname "$f")"
        cp -P "$f" "$root$f"
    fi
done
mkdir -p "$root/etc/ssl/certs" "$root/home/nonroot" "$root/tmp" "$root/proc" "$root/dev" \
    "$root/etc/aftersales" "$root/etc/aftersales-tokens" "$root$(dirname "$target")"
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' >"$root/etc/group"
chmod 1777 "$root/tmp"
cp "$binary" "$root$target"
for shell in sh bash dash busybox; do
    for dir in bin usr/bin sbin usr/sbin; do
        [[ -e $root/$dir/$shell ]] && fail "the root has a shell: /$dir/$shell"
    done
done

# --- Mounted like deploy/k8s: the rules (a ConfigMap directory), the tokens (a Secret).
mkdir -p "$work/rules" "$work/tokens"
cp rules/hangzhou-2023.toml "$work/rules/rules.toml"
token="smoke-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
printf '# mounted from a Secret\n%s\n' "$token" >"$work/tokens/tokens"

sandbox=(bwrap --unshare-user --uid 65532 --gid 65532 --unshare-pid --unshare-ipc
    --unshare-uts --unshare-cgroup-try --die-with-parent --new-session --cap-drop ALL
    --ro-bind "$root" / --proc /proc --dev /dev
    --ro-bind "$work/rules" /etc/aftersales --ro-bind "$work/tokens" /etc/aftersales-tokens
    --clearenv --setenv PATH /usr/local/bin:/usr/bin:/bin --setenv HOME /home/nonroot --chdir /)
for line in "${image[@]:4}"; do
    pair=${line#ENV }
    sandbox+=(--setenv "${pair%%=*}" "${pair#*=}")
done

started=$(now)
"${sandbox[@]}" --as-pid-1 --info-fd 3 \
    --setenv AFTERSALES_RULES /etc/aftersales/rules.toml \
    --setenv AFTERSALES_DECISION_LOG - \
    --setenv AFTERSALES_DRAIN_SECONDS 0 \
    -- "${run[@]}" --api-tokens-file /etc/aftersales-tokens/tokens \
    >"$work/stdout" 2>"$work/stderr" 3>"$work/info" &
server=$!

# The Dockerfile's HEALTHCHECK, as Docker runs it: inside the container, as its user.
healthy=
for _ in $(seq 50); do
    if "${sandbox[@]}" -- "${health[@]}" >/dev/null 2>&1; then healthy=1; break; fi
    kill -0 "$server" 2>/dev/null || fail "the server exited"
    sleep 0.1
done
[[ -n $healthy ]] || fail "the HEALTHCHECK command (${health[*]}) never succeeded"
ready=$(now)
"${sandbox[@]}" -- "${health[@]}" || fail "the HEALTHCHECK command failed once healthy"

url=http://127.0.0.1:8080
status=$(curl -s -o /dev/null -w '%{http_code}' "$url/v1/decisions" -H 'Content-Type: application/json' -d @examples/stalled.json)
[[ $status == 401 ]] || fail "no token: $status, not 401"
answer=$(curl -sS --fail-with-body "$url/v1/decisions" -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' -d @examples/stalled.json) || fail "decision: $answer"
decision_id=$(python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["decision"]=="intercept_and_refund", d; print(d["decision_id"])' <<<"$answer") \
    || fail "unexpected decision: $answer"

# The decision log line is on stdout; then SIGTERM (as `docker stop`) to PID 1, the
# binary itself (--as-pid-1): it must exit 0.
for _ in $(seq 50); do grep -q "$decision_id" "$work/stdout" && break; sleep 0.1; done
python3 -c '
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 1, lines
assert json.loads(lines[0])["decision_id"] == sys.argv[2], lines
' "$work/stdout" "$decision_id" || fail "the decision log on stdout is not one line for the decision"
pid1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["child-pid"])' "$work/info") \
    || fail "bwrap did not say the server's pid"
stopping=$(now)
kill -TERM "$pid1"
code=0
wait "$server" || code=$?
server=
stopped=$(now)
[[ $code == 0 ]] || fail "exit status $code after SIGTERM"
grep -q '"message":"serving"' "$work/stderr" || fail "no startup log"
grep -q '"auth":true' "$work/stderr" || fail "the startup log does not say auth is on"
if grep -q '"level":"ERROR"' "$work/stderr"; then fail "the server logged errors"; fi

echo "image smoke: ok: ${run[*]} as uid 65532 in a read-only root of $(du -sh "$root" | cut -f1)" \
    "(libc6, libgcc-s1, CA certificates; no shell); HEALTHCHECK ok; decision $decision_id" \
    "served and logged on stdout; exit 0 on SIGTERM. Root built in $(since "$began" "$started")," \
    "healthy after $(since "$started" "$ready"), stopped in $(since "$stopping" "$stopped")."
