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
check_eq "errors: the two wrong types are unsupported_type" 2 \
    "$(sample 'mnist_errors_total{reason="unsupported_type"}')"
check "process_cpu_seconds_total present" test "$(sample process_cpu_seconds_total)" != absent
fds=$(sample process_open_fds)
check "process_open_fds plausible ($fds)" test "$fds" -ge 5 -a "$fds" -lt 1000
v=$(git describe --always --dirty --tags 2>/dev/null || echo unknown)
check "build info names the version ($v)" grep -q "^mnist_build_info{version=\"$v\",compiler=\".*\"} 1\$" "$tmp/m.txt"
check_eq "batch-size buckets end at --max-batch (default 32)" 'le="32"' \
    "$(grep '^mnist_batch_size_bucket' "$tmp/m.txt" | tail -2 | head -1 | sed 's/.*{\(.*\)}.*/\1/')"
n=$(sample mnist_worker_wait_seconds_count)
check "worker wait observed per answered prediction ($n)" test "$n" -ge 3

# A corrupt PNG (invalid_image) and an upload above --max-upload (too_large).
head -c 200 "$img" >"$tmp/cut.png"
curl -s -o /dev/null -F "file=@$tmp/cut.png;type=image/png" "$u/predict"
head -c 11000000 /dev/zero >"$tmp/big.png"
curl -s -o /dev/null -F "file=@$tmp/big.png;type=image/png" "$u/predict"
# api.sock traffic counts like HTTP: 24 images, 12 at once, and one request
# above the broker's limit. They are 160x160 (the saved 28x28 digits scaled
# up), so the worker's decode threads take them and its compute thread runs
# the batches (an image of at most 128x128 is decoded and, on an idle
# worker, run at once on the thread it arrived on); and the worker is
# stopped for 0.3 s while the first 12 are sent, so they reach it together
# and batch: "batches counted once each" has batches of more than one image.
/usr/bin/python3 -c '
import sys
from PIL import Image
for i, f in enumerate(sys.argv[2:]):
    Image.open(f).resize((160, 160)).save("%s/up%d.png" % (sys.argv[1], i))
' "$tmp" $(ls saved_images/*.png | head -8)
imgs24=$(for i in 1 2 3; do ls "$tmp"/up*.png; done)
wpid=$(pgrep -P "$FE_PID" -f mnist-worker | head -1)
on_exit "kill -CONT $wpid"
# burst FILES...: the worker stopped while they are sent 12 at once.
burst() {
    kill -STOP "$wpid"
    "$B/mnist-client" --url "ipc://$tmp/run/api.sock" --concurrency 12 "$@" >/dev/null 2>&1 &
    client=$!
    sleep 0.3
    kill -CONT "$wpid"
    wait "$client"
}
burst $imgs24
head -c 11000000 /dev/zero >"$tmp/big.mp"
"$B/mnist-client" --url "ipc://$tmp/run/api.sock" --raw "$tmp/big.mp" >/dev/null 2>&1
scrape
check "promtool check metrics (errors, api.sock)" sh -c "promtool check metrics <'$tmp/m.txt' >/dev/null 2>&1"
check_eq "errors: invalid_image" 1 "$(sample 'mnist_errors_total{reason="invalid_image"}')"
check_eq "errors: too_large (HTTP 413 and api.sock)" 2 "$(sample 'mnist_errors_total{reason="too_large"}')"
check_eq "api.sock: 24 answered ok" 24 "$(sample 'mnist_api_requests_total{code="ok"}')"
check_eq "api.sock: 1 too_large" 1 "$(sample 'mnist_api_requests_total{code="too_large"}')"
check_eq "api.sock latency histogram counts all 25" 25 "$(sample mnist_api_request_duration_seconds_count)"
images=$(sample mnist_images_inferred_total)
batches=$(sample mnist_batches_total)
echo "# $images images inferred in $batches batches"
check_eq "images inferred: 3 HTTP + 24 api.sock" 27 "$images"
# Batching is opportunistic: the bursts above usually form a batch of more
# than one image, but not always on a loaded machine; up to 5 more bursts
# until one did, so that counting per image would show.
for round in 1 2 3 4 5; do
    [ "$batches" -lt "$images" ] && break
    burst $(ls "$tmp"/up*.png)
    scrape
    images=$(sample mnist_images_inferred_total)
    batches=$(sample mnist_batches_total)
    echo "# after burst $round: $images images inferred in $batches batches"
done
check "batches counted once each: fewer batches than images ($batches < $images)" \
    test "$batches" -ge 4 -a "$batches" -lt "$images"
check_eq "one batch-size sample per batch" "$batches" "$(sample mnist_batch_size_count)"
check_eq "one batch-time sample per batch" "$batches" "$(sample mnist_batch_duration_seconds_count)"
check_eq "the batch sizes add up to the images" "$images" "$(sample mnist_batch_size_sum)"
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
check_eq "errors: no worker is unavailable" 1 "$(sample 'mnist_errors_total{reason="unavailable"}')"
check "promtool check metrics (no worker)" sh -c "promtool check metrics <'$tmp/m.txt' >/dev/null 2>&1"
fe_stop
