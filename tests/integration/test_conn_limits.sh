#!/bin/sh
# Connection limits of the real frontend: above --max-connections a new
# client is refused at once with a 503 it can read, instead of waiting, the server
# serves again once connections go away, and an idle connection is closed
# after --idle-timeout-ms.
. tests/lib.sh
. tests/integration/ops-lib.sh
tmp=$(tmpdir_make)
if ! have_frontend; then
    ok "connection limits # SKIP no $B/mnist-frontend yet"
    exit 0
fi
raw() { /usr/bin/python3 tests/integration/rawhttp.py "$@"; }

fe_start "$tmp/a" 0 --max-connections 20
r=$(raw cap "$FE_PORT" 20)
echo "# 21st connection with 20 idle ones open: $(echo "$r" | head -1)"
st=$(echo "$r" | head -1 | cut -d' ' -f1)
secs=$(echo "$r" | head -1 | cut -d' ' -f2)
# 503 with the upload unread, never a reset before the client read it.
check_eq "a client above --max-connections 20 reads a 503" 503 "$st"
check "  within 2 s (took $secs s)" awk -v s="$secs" 'BEGIN { exit !(s < 2.0) }'
check_eq "served again (404 for /nope) once the idle connections close" "after 404" "$(echo "$r" | tail -1)"
curl -s "$FE_URL/metrics" >"$tmp/m.txt"
check "the refusal is counted in mnist_rejections_total" \
    grep -q '^mnist_rejections_total{reason="connections"} [1-9]' "$tmp/m.txt"
fe_stop
check_eq "the frontend stops cleanly (exit 0, no sanitizer report)" 0 "$?"

fe_start "$tmp/b" 0 --idle-timeout-ms 1000
secs=$(raw idle "$FE_PORT")
echo "# idle connection closed after $secs s (--idle-timeout-ms 1000)"
check "an idle connection is closed after --idle-timeout-ms 1000 (took $secs s)" \
    awk -v s="$secs" 'BEGIN { exit !(s != "timeout" && s >= 0.5 && s < 5.0) }'
fe_stop
check_eq "the frontend stops cleanly (exit 0, no sanitizer report)" 0 "$?"
