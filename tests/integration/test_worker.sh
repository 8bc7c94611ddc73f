#!/bin/sh
# Integration test of build/mnist-worker without the frontend: mnist-client
# --listen plays the frontend's listening REQ side and the worker dials it.
# Covers predictions (PNG, JPEG, raw pixels), every error code, ping,
# batching, SIGTERM with requests in flight, missing weights, and a
# listener that goes away and comes back.
. tests/lib.sh
B=${B:-build}
BIN_DIR=${BIN_DIR:-$B} # BIN_DIR=build/asan runs the sanitizer builds
W=$BIN_DIR/mnist-worker
C=$BIN_DIR/mnist-client
WEIGHTS=${MNIST_WEIGHTS:-weights/model.safetensors}

[ -x "$W" ] && [ -x "$C" ] || { not_ok "binaries $W and $C are built"; exit 1; }
[ -f "$B/data/test.images" ] || { not_ok "TEST split in $B/data (make data)"; exit 1; }
d=$(tmpdir_make)
on_exit "rm -rf '$d'" # tmpdir_make runs in a subshell: register here
fx=$d/fx
/usr/bin/python3 tests/python/worker_fixtures.py "$B/data" "$fx" || { not_ok "fixtures"; exit 1; }
three=$(ls "$fx"/img_*_label_3.png)
convert "$three" -resize 112x112 -quality 90 "$fx/photo_label_3.jpg" ||
    { not_ok "ImageMagick made a JPEG"; exit 1; }
pngs=$(ls "$fx"/img_*_label_*.png)

# start_worker NAME URL [ARGS...]: runs a worker in the background, its pid in $d/NAME.pid.
start_worker() {
    name=$1; url=$2; shift 2
    "$W" --connect "$url" --weights "$WEIGHTS" "$@" 2>"$d/$name.log" &
    echo $! >"$d/$name.pid"
    on_exit "kill -9 $! 2>/dev/null"
}
has() { printf '%s\n' "$1" | grep -q -- "$2"; }
alive() { kill -0 "$(cat "$d/$1.pid")" 2>/dev/null; }
# Every "FILE DIGIT ..." line whose file name says label_DIGIT.
count_correct() { awk '{ if ($1 ~ ("label_" $2 "[.]")) n++ } END { print n + 0 }' "$1"; }

url=ipc://$d/w.sock
start_worker w1 "$url" --max-batch 8

# ---- ping and predictions --------------------------------------------------
out=$("$C" --listen --url "$url" --ping --timeout-ms 5000 2>&1)
check_eq "ping answered with the worker's pid" "pong worker=$(cat "$d/w1.pid")" "$out"

"$C" --listen --url "$url" --timeout-ms 5000 $pngs "$fx/photo_label_3.jpg" >"$d/pred.out" 2>"$d/pred.err"
check "predictions exit 0" [ $? -eq 0 ]
n=$(count_correct "$d/pred.out")
check "PNG and JPEG digits right ($n of 11)" [ "$n" -ge 10 ]
check "JPEG predicted" grep -q "photo_label_3.jpg 3 " "$d/pred.out"
check "line format FILE DIGIT CONFIDENCE" \
    awk 'NF != 3 || $2 !~ /^[0-9]$/ || $3 !~ /^[01][.][0-9][0-9][0-9][0-9]$/ { exit 1 }' "$d/pred.out"

# Same digits; confidences equal up to float rounding (the engine may
# take another kernel path for another batch size). mnist-predict is part
# of `make all`, so a missing one is a failure, not a skip.
"$B/mnist-predict" --weights "$WEIGHTS" $pngs "$fx/photo_label_3.jpg" >"$d/offline.out" 2>&1
check "worker answers as mnist-predict does" awk '
    NR == FNR { digit[$1] = $2; conf[$1] = $3; next }
    !($1 in digit) || digit[$1] != $2 || conf[$1] - $3 > 0.001 || $3 - conf[$1] > 0.001 { bad = 1 }
    END { exit bad || FNR != NR - FNR }' "$d/offline.out" "$d/pred.out"

out=$("$C" --listen --url "$url" --probs "$three")
check "--probs prints ten probabilities" [ "$(echo "$out" | awk '{ print NF }')" -eq 13 ]

# ---- errors, each answered per request -------------------------------------
for f in unsupported_type.txt invalid_image.png too_large.png; do
    code=${f%.*}
    err=$("$C" --listen --url "$url" "$fx/bad/$f" 2>&1 >/dev/null)
    rc=$?
    if [ $rc -eq 1 ] && has "$err" ": $code: "; then ok "$f gives $code"; else
        not_ok "$f gives $code (exit $rc: $err)"; fi
done
for f in bad_version bad_both bad_length bad_type bad_garbage bad_trailing; do
    err=$("$C" --listen --url "$url" --raw "$fx/raw/$f.mp" 2>&1 >/dev/null)
    check "$f gives bad_request ($err)" has "$err" ": bad_request: "
done
out=$("$C" --listen --url "$url" --raw "$fx/raw/pixels_7.mp" "$fx/raw/ping.mp")
check "raw pixels request predicted" has "$out" "pixels_7.mp 7 "
check "raw ping request answered" has "$out" "ping.mp pong worker="

# ---- batching: many requests at once, some bad, none disturbing the others --
all=
for i in 1 2 3 4 5 6; do all="$all $pngs"; done
batched=0
for attempt in 1 2 3; do
    "$C" --listen --url "$url" --stats --concurrency 16 $all "$fx/bad/invalid_image.png" \
        "$fx/bad/unsupported_type.txt" >"$d/batch.out" 2>"$d/batch.err"
    max=$(sed -n 's/.* batch=\([0-9]*\) .*/\1/p' "$d/batch.out" | sort -n | tail -1)
    [ "${max:-0}" -gt 1 ] && { batched=1; break; }
done
check "concurrent requests ran in batches (largest ${max:-0})" [ $batched -eq 1 ]
check_eq "all 60 good requests answered" 60 "$(wc -l <"$d/batch.out")"
check_eq "bad requests in the batch failed alone" 2 "$(wc -l <"$d/batch.err")"
n=$(count_correct "$d/batch.out")
check "batched answers right ($n of 60)" [ "$n" -ge 54 ]

# ---- SIGTERM with requests in flight ---------------------------------------
url2=ipc://$d/t.sock
MNIST_LOG_LEVEL=debug start_worker w2 "$url2" --max-batch 4
all=
i=0
while [ $i -lt 50 ]; do all="$all $pngs"; i=$((i + 1)); done
"$C" --listen --url "$url2" --stats --concurrency 16 --timeout-ms 30000 $all \
    >"$d/term.out" 2>"$d/term.err" &
cpid=$!
on_exit "kill -9 $cpid 2>/dev/null"
wait_for 20 grep -q "batch of" "$d/w2.log"
kill -TERM "$(cat "$d/w2.pid")"
wait_exit 15 "$(cat "$d/w2.pid")"
check_eq "SIGTERM: worker exits 0" 0 $?
check "SIGTERM: worker logged its drain" grep -q "stopped after [1-9]" "$d/w2.log"
# Requests the worker never took are resent by the REQ side to the next worker.
start_worker w3 "$url2" --max-batch 4
wait $cpid
check_eq "no request lost across the stop (client exit status)" 0 $?
check_eq "all 500 requests answered" 500 "$(wc -l <"$d/term.out")"
# Not asserted (timing): how the stream was split between the two workers.
echo "# the stopped worker answered $(grep -c "worker=$(cat "$d/w2.pid") " "$d/term.out"), its successor $(grep -c "worker=$(cat "$d/w3.pid") " "$d/term.out")"

# ---- two workers on one endpoint share the load ----------------------------
url8=ipc://$d/two.sock
start_worker w8 "$url8"
start_worker w9 "$url8"
all=
for i in 1 2 3 4 5 6 7 8 9 10; do all="$all $pngs"; done
"$C" --listen --url "$url8" --wait-peers 2 --timeout-ms 10000 --stats --concurrency 16 $all \
    >"$d/two.out"
check_eq "two workers: all 100 answered" 100 "$(wc -l <"$d/two.out")"
pids=$(sed -n 's/.* worker=\([0-9]*\) .*/\1/p' "$d/two.out" | sort -u | wc -l)
check_eq "two workers: both answered" 2 "$pids"
check "every reply names its model version (12 hex)" sh -c "! grep -v ' model=[0-9a-f]\{12\}\$' '$d/two.out'"

# ---- the listener goes away and comes back ---------------------------------
"$C" --listen --url "$url" --ping >/dev/null
out=$("$C" --listen --url "$url" --ping --timeout-ms 1000 2>&1)
check "worker rejoins a restarted listener within 1 s ($out)" has "$out" "^pong"
check "worker still running" alive w1

# ---- default endpoint from the run directory -------------------------------
mkdir -m 700 "$d/run"
"$W" --rundir "$d/run" --weights "$WEIGHTS" 2>"$d/w4.log" &
echo $! >"$d/w4.pid"
on_exit "kill -9 $! 2>/dev/null"
out=$("$C" --listen --url "ipc://$d/run/workers.sock" --ping --timeout-ms 5000 2>&1)
check "--rundir dials <rundir>/workers.sock ($out)" has "$out" "^pong"
kill -INT "$(cat "$d/w4.pid")"
wait_exit 15 "$(cat "$d/w4.pid")"
check_eq "SIGINT: idle worker exits 0" 0 $?

# ---- tcp:// works the same (workers on other hosts) -------------------------
port=$(free_port)
start_worker w6 "tcp://127.0.0.1:$port"
out=$("$C" --listen --url "tcp://127.0.0.1:$port" --timeout-ms 5000 "$three" 2>&1)
check "tcp:// worker predicts ($out)" has "$out" " 3 "

# ---- a request above --max-message: a too_large reply, the link stays up ----
url7=ipc://$d/m.sock
start_worker w7 "$url7" --max-message 1024
head -c 4096 /dev/zero >"$d/big.bin"
err=$("$C" --listen --url "$url7" --timeout-ms 5000 "$d/big.bin" "$three" 2>&1 >"$d/big.out")
check "oversized request answered too_large ($err)" has "$err" "big.bin: too_large: "
check "the small request after it still answered" grep -q " 3 " "$d/big.out"

# ---- fail fast --------------------------------------------------------------
timeout 20 "$W" --connect "$url" --weights "$d/missing.safetensors" 2>"$d/miss.err"
rc=$?
check "missing weights: non-zero exit ($rc), not a hang" [ $rc -ne 0 -a $rc -ne 124 ]
check "missing weights: message names the file" grep -q "missing.safetensors" "$d/miss.err"
echo "not safetensors" >"$d/junk.safetensors"
timeout 20 "$W" --connect "$url" --weights "$d/junk.safetensors" 2>"$d/junk.err"
rc=$?
check "invalid weights: non-zero exit ($rc)" [ $rc -ne 0 -a $rc -ne 124 ]
"$W" --max-batch 0 2>/dev/null
check_eq "--max-batch 0 is a usage error" 2 $?
"$C" --url "ipc://$d/nobody.sock" "$three" 2>/dev/null
check_eq "client: no listener is a connection error" 2 $?

# ---- sd_notify: READY, watchdog keep-alives from the compute loop, STOPPING --
/usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1]); s.settimeout(0.5)
end = time.time() + 30
with open(sys.argv[2], "a") as log:
    while time.time() < end:
        try:
            msg = s.recv(4096).decode()
        except socket.timeout:
            continue
        log.write(msg + "\n"); log.flush()
        if "STOPPING=1" in msg:
            break
' "$d/notify.sock" "$d/notify.log" &
npid=$!
on_exit "kill $npid 2>/dev/null"
wait_for 10 test -S "$d/notify.sock"
NOTIFY_SOCKET=$d/notify.sock WATCHDOG_USEC=200000 "$W" --connect "ipc://$d/n.sock" \
    --weights "$WEIGHTS" 2>"$d/w5.log" &
w5=$!
on_exit "kill -9 $w5 2>/dev/null"
check "sd_notify READY=1" wait_for 10 grep -q "READY=1" "$d/notify.log"
check "sd_notify WATCHDOG=1 keep-alives" \
    wait_for 10 sh -c "[ \$(grep -c WATCHDOG=1 '$d/notify.log') -ge 3 ]"
kill -TERM $w5
wait_exit 15 $w5
check_eq "notified worker exits 0" 0 $?
check "sd_notify STOPPING=1" wait_for 10 grep -q "STOPPING=1" "$d/notify.log"

# ---- the C example of docs/protocol.md compiles -----------------------------
awk '/^```c$/ { f = 1; next } /^```$/ { f = 0 } f' docs/protocol.md >"$d/example.c"
check "docs/protocol.md C example compiles" \
    cc -std=c17 -Wall -Wextra -Werror -o "$d/example" "$d/example.c" -lnng -lmsgpackc

kill -TERM "$(cat "$d/w1.pid")" "$(cat "$d/w3.pid")"
wait_exit 15 "$(cat "$d/w1.pid")"
check_eq "worker 1 exits 0 on SIGTERM" 0 $?
