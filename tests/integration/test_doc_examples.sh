#!/bin/sh
# The curl examples of README.md and docs/protocol.md work as written:
# every file they upload exists in the repository, and each command,
# pointed at a live service with two workers, succeeds; when the line
# under it shows the answer ("# {...}"), the answer is that JSON (the model
# version in it is replaced by the one served here, and fractions are
# compared to 2 decimals: both depend on the engine the CPU gets, int8 or
# fp32; docs/protocol.md); a line that is not JSON and not cut JSON ("{...")
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
norm() { jq -S -c 'walk(if type == "number" and . != floor then . * 100 | round / 100 else . end)' 2>/dev/null; }
i=0
while IFS="$(printf '\t')" read -r cmd want; do
    i=$((i + 1))
    run=$(echo "$cmd" | sed "s|^curl |curl -sS --fail-with-body |; s|http://localhost:8000|$FE_URL|")
    if ! got=$(sh -c "$run" 2>"$tmp/err"); then
        not_ok "example $i fails: $cmd: $(head -c 300 "$tmp/err") $got"
        continue
    fi
    expected=$(echo "$want" | sed -n 's/^# //p' | sed "s/b840418456c3/$version/g" | norm)
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
    elif [ "$(echo "$got" | norm)" = "$expected" ]; then
        ok "example $i answers what the docs show: $cmd"
    else
        not_ok "example $i: $cmd: got $got, the docs show $want"
    fi
done <"$tmp/examples"
fe_stop
