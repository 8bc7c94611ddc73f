#!/bin/sh
# Integration tests of mnist-frontend with real workers on 127.0.0.1, random
# ports and temporary run directories: predictions (PNG, JPEG, raw bodies,
# probabilities), every error answer, /health truth, the api.sock broker,
# the supervisor, a worker killed under load, a frontend restart, a hung
# worker (504), 64 keep-alive clients with wrk, and a clean SIGTERM.
. tests/lib.sh
B=${B:-build}
FE=${MNIST_FRONTEND:-$B/mnist-frontend}
WK=$B/mnist-worker
CL=$B/mnist-client
W=weights/model.safetensors
IMG=saved_images/img_0_label_6.png
d=$(mktemp -d "${TMPDIR:-/tmp}/mnist-test.XXXXXX")
on_exit "rm -rf '$d'"

# start_frontend TAG ARGS...: sets fe_pid, url, rundir; waits until it listens.
start_frontend() {
    tag=$1; shift
    rundir=$d/$tag
    mkdir -p "$rundir" && chmod 700 "$rundir"
    port=$(free_port)
    "$FE" --listen "127.0.0.1:$port" --rundir "$rundir" "$@" >>"$d/$tag.log" 2>&1 &
    fe_pid=$!
    on_exit "kill -9 $fe_pid"
    url=http://127.0.0.1:$port
    wait_for 10 curl -s -o /dev/null "$url/health"
}
# start_worker RUNDIR: sets wk_pid.
start_worker() {
    "$WK" --connect "ipc://$1/workers.sock" --weights "$W" >>"$d/workers.log" 2>&1 &
    wk_pid=$!
    on_exit "kill -9 $wk_pid"
}
# code ARGS...: HTTP status of a curl call; the body lands in $d/body.
code() { curl -s -o "$d/body" -w '%{http_code}' "$@"; }
body() { cat "$d/body"; }
detail() { jq -r .detail "$d/body"; }
healthy() { [ "$(code "$url/health")" = 200 ]; }
# restart_frontend ARGS...: a new frontend on the same port and run dir (its
# workers stay connected); sets fe_pid.
restart_frontend() {
    "$FE" --listen "127.0.0.1:$port" --rundir "$rundir" "$@" >>"$d/a.log" 2>&1 &
    fe_pid=$!
    on_exit "kill -9 $fe_pid"
}
# hold_request NAME: stop worker w1 and leave one prediction in flight; its
# status and body land in $d/NAME.code and $d/NAME; sets curl_pid.
hold_request() {
    kill -STOP "$w1"
    curl -s -o "$d/$1" -w '%{http_code}' -F "file=@$IMG" "$url/predict" >"$d/$1.code" &
    curl_pid=$!
    check "$1: request in flight" wait_for 10 sh -c "curl -s '$url/metrics' | grep -q '^mnist_inflight_requests 1'"
}
unhealthy() { [ "$(code "$url/health")" = 503 ]; }
label_of() { basename "$1" .png | sed 's/.*_label_//'; }
children() { pgrep -P "$1" -f mnist-worker | sort; }

# --- no worker yet ----------------------------------------------------------
start_frontend a
check "frontend listens" curl -s -o /dev/null "$url/health"
check_eq "/health without worker is 503" 503 "$(code "$url/health")"
check_eq "/health without worker says unavailable, 0 workers" 'unavailable 0' \
    "$(jq -r '"\(.status) \(.workers)"' "$d/body")"
t=$(curl -s -o "$d/body" -D "$d/hdr" -w '%{http_code} %{time_total}' -F "file=@$IMG" "$url/predict")
check_eq "/predict without worker is 503" 503 "${t% *}"
check "503 carries Retry-After" grep -qi '^retry-after: 1' "$d/hdr"
# The issue demands an answer within 100 ms; the bound here is generous
# (a timeout would take 10 s), the measured figure is in the benchmarks.
check "503 comes at once, not after a timeout (${t#* } s)" \
    awk "BEGIN { exit !(${t#* } < 1.0) }"

"$CL" --rundir "$rundir" "$IMG" >"$d/cl.out" 2>&1
check_eq "broker without worker: error reply, not silence" 'unavailable' \
    "$(grep -o 'unavailable' "$d/cl.out" | head -1)"

# --- two workers started apart (systemd style) ------------------------------
start_worker "$rundir"; w1=$wk_pid
start_worker "$rundir"; w2=$wk_pid
check "healthy once workers dial in" wait_for 10 healthy
check_eq "/health counts 2 workers" '200 ok 2' \
    "$(code "$url/health") $(jq -r '"\(.status) \(.workers)"' "$d/body")"

all_ok=1
for f in saved_images/*.png; do
    got=$(curl -s -F "file=@$f" "$url/predict" | jq -r .digit)
    [ "$got" = "$(label_of "$f")" ] || { all_ok=0; echo "# $f: got $got"; }
done
check_eq "every saved image predicted as its label" 1 "$all_ok"
check_eq "answer shape is digit + 4-decimal confidence" 'digit,confidence 1' \
    "$(curl -s -F "file=@$IMG" "$url/predict" | jq -r '"\(keys_unsorted | join(",")) \(.confidence | tostring | test("^0\\.[0-9]{1,4}$|^1\\.0$|^1$") )"' | sed 's/true/1/')"
convert "$IMG" "$d/six.jpg"
check_eq "JPEG upload" 6 "$(curl -s -F "file=@$d/six.jpg" "$url/predict" | jq -r .digit)"
check_eq "raw image/png body" 6 \
    "$(curl -s -H 'Content-Type: image/png' --data-binary "@$IMG" "$url/predict" | jq -r .digit)"
check_eq "raw image/jpeg body" 6 \
    "$(curl -s -H 'Content-Type: image/jpeg' --data-binary "@$d/six.jpg" "$url/predict" | jq -r .digit)"
check_eq "image/jpg is accepted as a declared type" 6 \
    "$(curl -s -F "file=@$d/six.jpg;type=image/jpg" "$url/predict" | jq -r .digit)"
check_eq "?probs=true adds ten probabilities" '10 6' \
    "$(curl -s -F "file=@$IMG" "$url/predict?probs=true" | jq -r '"\(.probabilities | length) \(.digit)"')"
# The 200 answer is written without jansson (frontend/predict.c): its bytes
# must stay what jansson made, compact, keys in this order, reals as
# JSON_REAL_PRECISION(4) writes them ("%.4g", ".0" added to integers).
body=$(curl -s -F "file=@$IMG" "$url/predict?probs=true&explain=true")
check "?probs=true&explain=true answer: jansson's bytes (compact, key order, %.4g reals)" \
    /usr/bin/python3 -c '
import json, sys
raw = sys.argv[1]
d = json.loads(raw)
def real(v):
    s = "%.4g" % v
    return s if "." in s or "e" in s else s + ".0"
want = "{%s}" % ",".join([
    "\"digit\":%d" % d["digit"], "\"confidence\":" + real(d["confidence"]),
    "\"model_input\":\"%s\"" % d["model_input"],
    "\"probabilities\":[%s]" % ",".join(real(p) for p in d["probabilities"])])
sys.exit(0 if raw == want and len(d["probabilities"]) == 10 else 1)' "$body"

# --- errors -----------------------------------------------------------------
printf 'GIF89a\001\000\001\000' >"$d/x.gif"
check_eq "GIF declared type is 400" 400 "$(code -F "file=@$d/x.gif;type=image/gif" "$url/predict")"
check_eq "GIF detail" 'Invalid file type: image/gif. Only JPEG and PNG are supported.' "$(detail)"
check_eq "declared type is echoed with JSON escaping" 'Invalid file type: a"b\c. Only JPEG and PNG are supported.' \
    "$(code -H 'Content-Type: multipart/form-data; boundary=zz' --data-binary "$(printf -- '--zz\r\nContent-Disposition: form-data; name="file"; filename="x"\r\nContent-Type: a"b\\c\r\n\r\nxx\r\n--zz--\r\n')" "$url/predict" >/dev/null; detail)"
check_eq "GIF bytes declared as PNG: worker says 400" 400 "$(code -F "file=@$d/x.gif;type=image/png" "$url/predict")"
check "its detail starts with Error processing image" sh -c "jq -r .detail '$d/body' | grep -q '^Error processing image: '"
check_eq "PNG bytes declared as JPEG: read from the bytes, as Pillow did" '200 6' \
    "$(code -F "file=@$IMG;type=image/jpeg" "$url/predict") $(jq -r .digit "$d/body")"
head -c 300 "$IMG" >"$d/cut.png"
check_eq "truncated PNG is 400" 400 "$(code -F "file=@$d/cut.png;type=image/png" "$url/predict")"
check "truncated PNG detail" sh -c "jq -r .detail '$d/body' | grep -q '^Error processing image: '"
check_eq "missing file field is 400" 400 "$(code -F "image=@$IMG" "$url/predict")"
check_eq "missing field detail" "Missing form field 'file'" "$(detail)"
check_eq "malformed multipart is 400" 400 \
    "$(code -H 'Content-Type: multipart/form-data; boundary=zz' --data-binary 'not multipart' "$url/predict")"
check "malformed multipart detail" sh -c "jq -r .detail '$d/body' | grep -q '^Malformed multipart body'"
check_eq "raw body of another type is 400" 400 "$(code -H 'Content-Type: text/plain' --data-binary x "$url/predict")"
head -c $((10 * 1024 * 1024 + 1)) /dev/zero >"$d/big"
check_eq "file one byte above 10 MB is 413" 413 "$(code -F "file=@$d/big;type=image/png" "$url/predict")"
check_eq "413 detail" 'File too large. Maximum size is 10 MB.' "$(detail)"
head -c $((12 * 1024 * 1024)) /dev/zero >"$d/big"
check_eq "12 MB body refused from Content-Length, 413 JSON" '413 File too large. Maximum size is 10 MB.' \
    "$(code -H 'Content-Type: image/png' --data-binary "@$d/big" "$url/predict") $(detail)"
check_eq "unknown path is 404 JSON" '404 Not Found' "$(code "$url/nope") $(detail)"
check_eq "GET /predict is 405" 405 "$(curl -s -o "$d/body" -D "$d/hdr" -w '%{http_code}' "$url/predict")"
check "405 carries Allow: POST" grep -qi '^allow: POST' "$d/hdr"
check_eq "POST /health is 405" 405 "$(code -X POST "$url/health")"

# --- broker: same answers without HTTP --------------------------------------
same=1
for f in saved_images/img_1*.png "$d/six.jpg"; do
    h=$(curl -s -F "file=@$f;type=image/png" "$url/predict" | jq -r '"\(.digit) \(.confidence)"')
    n=$("$CL" --rundir "$rundir" "$f" | awk '{ print $2, $3 + 0 }')
    [ "$h" = "$n" ] || { same=0; echo "# $f: http '$h' broker '$n'"; }
done
check_eq "broker and HTTP give identical answers" 1 "$same"
files=$(for i in 1 2 3 4 5; do ls saved_images/*.png; done)
"$CL" --rundir "$rundir" --concurrency 16 $files >"$d/bulk" 2>&1
check_eq "broker: 100 requests, 16 at once, all correct" 100 \
    "$(awk '{ n = split($1, a, "_label_"); if (a[2] == $2 ".png") c++ } END { print c + 0 }' "$d/bulk")"

# --- parallel correctness ---------------------------------------------------
for k in 1 2 3 4; do
    (for f in saved_images/*.png; do
        echo "$(label_of "$f") $(curl -s -F "file=@$f" "$url/predict" | jq -r .digit)"
    done >"$d/par$k") &
done
wait_for 60 sh -c "[ \$(cat '$d'/par? | wc -l) -ge 80 ]"
check_eq "4 parallel clients x 20 images all correct" 80 "$(awk '$1 == $2' "$d"/par? | wc -l)"

# --- frontend restarted while workers run -----------------------------------
kill -TERM "$fe_pid"
wait_exit 15 "$fe_pid"; rc=$?
check_eq "frontend exits 0 on SIGTERM" 0 "$rc"
[ "$rc" = 0 ] || tail -n 60 "$d/a.log" | sed 's/^/# /'

check "socket files removed" sh -c "[ ! -e '$rundir/workers.sock' ] && [ ! -e '$rundir/api.sock' ]"
check "separately started workers keep running" kill -0 "$w1" "$w2"
start=$(date +%s%N)
restart_frontend
check "workers reconnect to the new frontend" wait_for 10 healthy
echo "# reconnected and healthy after $(( ($(date +%s%N) - start) / 1000000 )) ms"
check_eq "and serve again" 6 "$(curl -s -F "file=@$IMG" "$url/predict" | jq -r .digit)"

# --- a hung worker: 504, and /health stops saying ok ------------------------
kill -9 "$w2"
check "one worker left" wait_for 10 sh -c "[ \$(curl -s '$url/health' | jq .workers) = 1 ]"
kill -TERM "$fe_pid"; wait_exit 15 "$fe_pid"
restart_frontend --timeout-ms 300
check "healthy with the remaining worker" wait_for 10 healthy
kill -STOP "$w1"
on_exit "kill -CONT $w1"
check_eq "stopped worker: 504" 504 "$(code -F "file=@$IMG" "$url/predict")"
check "504 detail" sh -c "jq -r .detail '$d/body' | grep -q 'No inference worker answered within 300 ms'"
# Four 2 MB uploads at once: the first fills the stopped worker's socket
# buffer and holds its connection, the others wait in the REQ socket's queue
# unsent and are cancelled by the same timeout (the ASan run of this test
# finds a request that is not freed then).
{ printf '\211PNG\r\n\032\n'; head -c 2000000 /dev/zero; } >"$d/big.png"
par=
for i in 1 2 3 4; do
    curl -s -o /dev/null -w '%{http_code}\n' -F "file=@$d/big.png;type=image/png" "$url/predict" >"$d/par.$i" &
    par="$par $!"
done
wait $par
# 504 each; 503 when the 1 s silence rule closed the connection first (a
# loaded machine): never a hang or another code.
check "stopped worker, 4 at once: each 504 or 503 ($(cat "$d"/par.* | tr '\n' ' '))" \
    sh -c "[ \$(cat '$d'/par.* | grep -cE '^50[34]\$') = 4 ]"
check "/health turns 503 when the worker stops answering" wait_for 10 unhealthy
# Silent for ~1 s: its connection is dropped, so calls fail fast instead of
# waiting out the timeout (tests/integration/test_liveness.sh covers more).
check_eq "silent worker: /predict 503 at once" '503 No inference worker is available' \
    "$(code -F "file=@$IMG" "$url/predict") $(detail)"
"$CL" --rundir "$rundir" --timeout-ms 5000 "$IMG" >"$d/cl-silent.out" 2>&1
check "silent worker: the broker answers unavailable" \
    grep -q 'unavailable.*no inference worker is connected' "$d/cl-silent.out"
kill -CONT "$w1"
check "and 200 when it answers again" wait_for 10 healthy
kill -STOP "$w1"
curl -s -m 0.1 -F "file=@$IMG" "$url/predict" >/dev/null
kill -CONT "$w1"
check "a client that leaves before its answer does not disturb the frontend" wait_for 10 healthy
check_eq "next request served" 6 "$(curl -s -F "file=@$IMG" "$url/predict" | jq -r .digit)"

# --- SIGTERM drains a request in flight -------------------------------------
# hold_request keeps a stopped worker connected: no 1 s silence rule here.
export MNIST_WORKER_SILENT_MS=60000
kill -TERM "$fe_pid"; wait_exit 15 "$fe_pid"
restart_frontend --max-inflight 1
check "healthy again" wait_for 10 healthy
hold_request drained
check_eq "above --max-inflight: 503" '503 Too many requests in flight' \
    "$(code -F "file=@$IMG" "$url/predict") $(detail)"
kill -TERM "$fe_pid"
check "draining frontend waits for it" kill -0 "$fe_pid"
kill -CONT "$w1"
wait "$curl_pid"
wait_exit 15 "$fe_pid"
check_eq "frontend exits 0 after the drain" 0 "$?"
check_eq "the drained request got its answer" '200 6' "$(cat "$d/drained.code") $(jq -r .digit "$d/drained")"

# --- a byte budget for images in flight -------------------------------------
# 324-byte image, 500-byte budget: one request fits, a second does not;
# a request larger than the whole budget passes when nothing else is held.
restart_frontend --max-inflight-bytes 500
check "healthy with a 500-byte budget" wait_for 10 healthy
head -c 600 /dev/urandom >"$d/big.png"
check_eq "alone, a request above the budget is let through (and judged)" 400 \
    "$(code -F "file=@$d/big.png;type=image/png" "$url/predict")"
hold_request held
check_eq "above --max-inflight-bytes: 503" '503 Too many bytes in flight' \
    "$(code -F "file=@$IMG" "$url/predict") $(detail)"
kill -CONT "$w1"
wait "$curl_pid"
check_eq "the held request got its answer" '200 6' "$(cat "$d/held.code") $(jq -r .digit "$d/held")"
check_eq "budget freed: served again" 6 "$(curl -s -F "file=@$IMG" "$url/predict" | jq -r .digit)"
kill -TERM "$fe_pid"; wait_exit 15 "$fe_pid"

# --- supervisor: a worker SIGKILLed under a stream of requests --------------
kill -9 "$w1"
start_frontend s --spawn-workers 2 --weights "$W"
check "spawned workers make it healthy" wait_for 10 sh -c "[ \$(curl -s '$url/health' | jq .workers) = 2 ]"
before=$(children "$fe_pid")
check_eq "two worker children" 2 "$(echo "$before" | wc -l)"
for k in 1 2; do
    (for i in $(seq 1 150); do
        curl -s -o /dev/null -w '%{http_code}\n' -F "file=@$IMG" "$url/predict"
    done >"$d/stream$k") &
done
wait_for 30 sh -c "[ \$(cat '$d'/stream? | wc -l) -ge 60 ]"
victim=$(echo "$before" | head -1)
kill -9 "$victim"
wait_for 120 sh -c "[ \$(cat '$d'/stream? | wc -l) -ge 300 ]"
check_eq "300 requests around a SIGKILL: all 200" 300 "$(cat "$d"/stream? | grep -c '^200$')"
check "the supervisor restarted the killed worker" wait_for 10 sh -c \
    "[ \$(pgrep -P $fe_pid -f mnist-worker | wc -l) = 2 ] && ! pgrep -P $fe_pid -f mnist-worker | grep -qx $victim"
check "and both serve" wait_for 10 sh -c "[ \$(curl -s '$url/health' | jq .workers) = 2 ]"

# --- 64 keep-alive clients --------------------------------------------------
wrk -t2 -c64 -d3s -s tests/bench/post.lua "$url/" >"$d/wrk" 2>&1
cat "$d/wrk" | sed 's/^/# /'
check "wrk ran" grep -q 'requests in' "$d/wrk"
check "wrk: no non-2xx answers" sh -c "! grep -q 'Non-2xx' '$d/wrk'"
check "wrk: no socket errors" sh -c "! grep -q 'Socket errors' '$d/wrk'"
check_eq "wrk: every answer is the right digit" 'wrong: 0' "$(grep '^wrong:' "$d/wrk")"

# --- clean stop with spawned workers ----------------------------------------
kids=$(children "$fe_pid")
kill -TERM "$fe_pid"
wait_exit 15 "$fe_pid"; rc=$?
check_eq "supervising frontend exits 0 on SIGTERM" 0 "$rc"
[ "$rc" = 0 ] || tail -n 60 "$d/s.log" | sed 's/^/# /'

check "its workers are gone" sh -c "for p in $(echo $kids); do ! kill -0 \$p 2>/dev/null || exit 1; done"
check "its socket files are gone" sh -c "[ ! -e '$rundir/workers.sock' ] && [ ! -e '$rundir/api.sock' ]"
