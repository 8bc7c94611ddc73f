#!/bin/sh
# mnist-client exits within a bound after its requests time out. libnng
# 1.5.2's nng_close() can block for ever when a late reply races the close
# (common/nngclose.h); here 16 requests at once time out after 1-3 ms while
# the worker's replies are on their way, which hit that hang in 3 to 7 runs
# in 100 (measured) before the client closed with nngclose_within().
. tests/lib.sh
. tests/integration/ops-lib.sh
tmp=$(tmpdir_make)
if ! have_frontend || [ ! -x "$B/mnist-client" ]; then
    ok "client close # SKIP no $B/mnist-frontend or mnist-client yet"
    exit 0
fi
fe_start "$tmp" 1
api=ipc://$tmp/run/api.sock
check "a request through api.sock is answered" \
    "$B/mnist-client" --url "$api" tests/images/png_gray8.png
imgs=
for k in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16; do imgs="$imgs tests/images/png_gray8.png"; done
runs=100
hung=0
slow=0
i=0
while [ "$i" -lt "$runs" ]; do
    i=$((i + 1))
    s=$(date +%s%N)
    # shellcheck disable=SC2086
    timeout -k 1 10 "$B/mnist-client" --url "$api" --timeout-ms $((i % 3 + 1)) --concurrency 16 \
        $imgs >/dev/null 2>>"$tmp/client.err"
    rc=$?
    ms=$(( ($(date +%s%N) - s) / 1000000 ))
    [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && hung=$((hung + 1))
    [ "$ms" -gt 5000 ] && slow=$((slow + 1))
done
echo "# $runs runs, $(grep -c 'did not close' "$tmp/client.err") bounded closes"
check_eq "no mnist-client run with 1-3 ms timeouts hangs ($runs runs)" 0 "$hung"
check_eq "every run ends within 5 s (close bounded at 2 s)" 0 "$slow"
fe_stop
