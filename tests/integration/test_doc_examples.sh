#!/bin/sh
# The curl examples of README.md and docs/protocol.md work as written:
# every file they upload exists in the repository, and each command,
# pointed at a live service with two workers, succeeds; when the line
# under it shows the answer ("# {...}"), the answer is that JSON (the model
# version in it, which must be the committed int8 file's, is replaced by
# the one served here, and fractions are compared within 0.01: both depend
# on the engine the CPU gets, int8 or fp32; docs/protocol.md); a line that is not JSON and not cut JSON ("{...")
# such as a header must be one of the output's lines.
. tests/lib.sh
. tests/integration/ops-lib.sh
tmp=$(tmpdir_make)
docs="README.md docs/protocol.md"
# Each curl line in a fenced block, with the line after it, tab-separated.
# A command continued with a trailing backslash is joined into one line.
awk '/^```/ { block = !block; next }
     block && cont { sub(/^ +/, ""); prev = prev " " $0; cont = sub(/ *\\$/, "", prev); next }
     block && prev != "" { print prev "\t" $0; prev = "" }
     block && /^curl / { prev = $0; cont = sub(/ *\\$/, "", prev) }
     END { if (prev != "") print prev "\t" }' $docs >"$tmp/examples"
n=$(wc -l <"$tmp/examples")
check "the docs show at least 10 curl examples ($n)" test "$n" -ge 10
for f in $(grep -o '@[^ ;'"'"']*' "$tmp/examples" | sed 's/^@//' | sort -u); do
    check "example file $f exists in the repository" sh -c "git ls-files --error-unmatch '$f' >/dev/null"
done
if ! have_frontend; then
    ok "live examples # SKIP no $B/mnist-frontend yet"
    exit 0
fi
fe_start "$tmp" 2
wait_for 5 sh -c "curl -s '$FE_URL/v2/models/mnist' | grep -q versions\\\":\\\\[\\\""
version=$(curl -s "$FE_URL/v2/models/mnist" | jq -r '.versions[0]')
check "a model version is served" test -n "$version"
# The docs show the int8 file's version (what `auto` runs on CPUs with
# VNNI); it must be that of the committed file, not of older weights.
shown=$(sha256sum weights/model-int8.safetensors | cut -c1-12)
check "the docs show the committed int8 weights' version $shown" \
    sh -c "grep -q '\"model_version\":\"$shown\"' README.md docs/protocol.md &&
           ! grep -Eo '\"model_version\":\"[0-9a-f]{12}\"' README.md docs/protocol.md |
             grep -v '$shown'"
norm() { jq -S -c . 2>/dev/null; }
# close GOT WANT: the same JSON, fractions within 0.01 of each other (a
# rounding of both to 2 decimals flips at the boundary).
close() {
    /usr/bin/python3 -c '
import json, sys
def same(a, b):
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, (int, float)) and isinstance(b, (int, float)) and abs(a - b) <= 0.01
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(same, a, b))
    return a == b
sys.exit(0 if same(json.loads(sys.argv[1]), json.loads(sys.argv[2])) else 1)' "$1" "$2" 2>/dev/null
}
i=0
while IFS="$(printf '\t')" read -r cmd want; do
    i=$((i + 1))
    run=$(echo "$cmd" | sed "s|^curl |curl -sS --fail-with-body |; s|http://localhost:8000|$FE_URL|")
    if ! got=$(sh -c "$run" 2>"$tmp/err"); then
        not_ok "example $i fails: $cmd: $(head -c 300 "$tmp/err") $got"
        continue
    fi
    expected=$(echo "$want" | sed -n 's/^# //p' | sed "s/$shown/$version/g" | norm)
    text=$(echo "$want" | sed -n 's/^# //p')
    if [ -z "$expected" ] && [ -n "$text" ] && [ "${text#[\{\[]}" = "$text" ]; then
        # not JSON: the docs show a line of the output (headers: any case)
        if echo "$got" | tr -d '\r' | grep -qixF "$text"; then
            ok "example $i shows what the docs show: $cmd"
        else
            not_ok "example $i: $cmd: got $got, the docs show $want"
        fi
    elif [ -z "$expected" ]; then
        ok "example $i runs: $cmd"
    elif close "$got" "$expected"; then
        ok "example $i answers what the docs show: $cmd"
    else
        not_ok "example $i: $cmd: got $got, the docs show $want"
    fi
done <"$tmp/examples"
fe_stop
