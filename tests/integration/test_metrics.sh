#!/bin/sh
# GET /metrics on the real frontend: strict parse by promtool (Debian's
# prometheus package), the right content type, and values that follow the
# requests this test makes.
. tests/lib.sh
. tests/integration/ops-lib.sh
tmp=$(tmpdir_make)
if ! have_frontend; then
    ok "metrics # SKIP no $B/mnist-frontend yet"
    exit 0
fi
check "promtool installed" test -x "$(command -v promtool)"
img=$(ls saved_images/*.png 2>/dev/null | head -1)
check "an example image" test -n "$img"
fe_start "$tmp" 1
u=$FE_URL

# sample NAME{LABELS}: its value in the last scrape, or "absent".
sample() { awk -v s="$1" '$1 == s { print $2; f = 1 } END { if (!f) print "absent" }' "$tmp/m.txt"; }
scrape() { curl -sf -D "$tmp/h.txt" -o "$tmp/m.txt" "$u/metrics"; }

check "scrape before any prediction" scrape
check "promtool check metrics (fresh process)" sh -c "promtool check metrics <'$tmp/m.txt' 2>'$tmp/lint0.txt'"
check "content type is text format 0.0.4" grep -qi '^content-type: text/plain; version=0.0.4' "$tmp/h.txt"

for i in 1 2 3; do curl -s -o /dev/null -F "file=@$img" "$u/predict"; done
curl -s -o /dev/null -F "file=@README.md;type=text/plain" "$u/predict"
curl -s -o /dev/null "$u/nope"
curl -s -o /dev/null -H 'Content-Type: image/png' --data-binary @README.md "$u/predict"
scrape
if promtool check metrics <"$tmp/m.txt" >"$tmp/lint.txt" 2>&1; then
    ok "promtool check metrics (after traffic)"
else
    not_ok "promtool check metrics: $(head -5 "$tmp/lint.txt")"
fi
check_eq "3 predictions answered 200" 3 "$(sample 'mnist_http_requests_total{route="/predict",status="200"}')"
check_eq "2 predictions refused 400" 2 "$(sample 'mnist_http_requests_total{route="/predict",status="400"}')"
check_eq "unknown path counted as other/404" 1 "$(sample 'mnist_http_requests_total{route="other",status="404"}')"
check_eq "latency histogram counts /predict" 5 \
    "$(sample 'mnist_http_request_duration_seconds_count{route="/predict"}')"
check_eq "+Inf bucket equals the count" 5 \
    "$(sample 'mnist_http_request_duration_seconds_bucket{route="/predict",le="+Inf"}')"
n=$(sample mnist_inference_duration_seconds_count)
check "inference histogram has the successful predictions ($n)" test "$n" -ge 3
n=$(sample mnist_batch_size_count)
check "batch size histogram has them too ($n)" test "$n" -ge 3
check_eq "one worker connected" 1 "$(sample mnist_workers_connected)"
check_eq "nothing in flight" 0 "$(sample mnist_inflight_requests)"
rss=$(sample process_resident_memory_bytes)
check "resident memory plausible ($rss)" awk "BEGIN { exit !($rss > 1000000 && $rss < 1000000000) }"
st=$(sample process_start_time_seconds)
check "start time is recent ($st)" awk "BEGIN { exit !($st > $(date +%s) - 120 && $st <= $(date +%s) + 1) }"
check "uptime present" test "$(sample mnist_uptime_seconds)" != absent
fe_stop

# Without workers: predictions are rejected as no_worker and /health is 503.
fe_start "$tmp/b" 0
u=$FE_URL
curl -s -o /dev/null -F "file=@$img" "$u/predict"
curl -s -o /dev/null "$u/health"
scrape
check_eq "no_worker rejection counted" 1 "$(sample 'mnist_rejections_total{reason="no_worker"}')"
check_eq "503 counted for /predict" 1 "$(sample 'mnist_http_requests_total{route="/predict",status="503"}')"
check_eq "503 counted for /health" 1 "$(sample 'mnist_http_requests_total{route="/health",status="503"}')"
check_eq "zero workers" 0 "$(sample mnist_workers_connected)"
check "promtool check metrics (no worker)" sh -c "promtool check metrics <'$tmp/m.txt' >/dev/null 2>&1"
fe_stop
