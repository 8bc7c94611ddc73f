#!/bin/sh
# make bench, path section (tests/bench/bench.sh): instructions per request
# spent around the model, counted by callgrind (exact counts, unmoved by
# other load on the machine), in the frontend and in one worker.
#   bench_path.sh BUILD_DIR LABEL
# Two runs of BUILD_DIR's mnist-frontend and one mnist-worker: first the
# frontend under callgrind (worker native), then the worker (frontend
# native; fp32 engine, decode threads 1: under valgrind, which has no AVX-512
# or VNNI, the int8 engine would run its plain C kernels). Each run posts a
# few warm-up requests, zeroes the counters, posts N requests one after
# another over a keep-alive connection (saved_images/img_0_label_6.png as
# multipart, 318 bytes: $PATH_FE_REQUESTS to the frontend, $PATH_W_REQUESTS
# to the slow worker) and dumps; for the frontend it then counts an idle
# interval as long as the requests took (pings, timers) and subtracts it.
# Prints per request: the frontend's instructions; the worker's in
# img_to_mnist() (decode + normalise), in model_forward() and the rest, an
# upper bound (under valgrind a worker's request takes seconds, and the pings
# answered meanwhile count with it; an idle interval is no fair subtrahend,
# as the busy worker answers fewer pings); and the functions that cost most.
BUILD=$1
LABEL=${2:-$1}
W=${WEIGHTS:-weights/model.safetensors}
d=$(mktemp -d "${TMPDIR:-/tmp}/mnist-path.XXXXXX")
pids=
trap 'for p in $pids; do kill -9 $p 2>/dev/null; done; [ -n "$PATH_KEEP" ] || rm -rf "$d"' EXIT
cg="valgrind --tool=callgrind --dump-instr=no"
# post COUNT: COUNT requests, one after another, each answered 200 with digit 6.
post() {
    /usr/bin/python3 - "$port" "$1" <<'EOF'
import http.client, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
data = open("saved_images/img_0_label_6.png", "rb").read()
b = "mnistpathboundary"
body = (f'--{b}\r\nContent-Disposition: form-data; name="file"; filename="x.png"\r\n'
        f"Content-Type: image/png\r\n\r\n").encode() + data + f"\r\n--{b}--\r\n".encode()
t0 = time.monotonic()
while True:  # until /health is 200 (valgrind starts slowly)
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        c.request("GET", "/health")
        r = c.getresponse()
        r.read()
        if r.status == 200:
            break
    except (OSError, http.client.HTTPException):
        pass
    if time.monotonic() - t0 > 120:
        sys.exit("bench_path: no healthy service after 120 s")
    time.sleep(0.2)
bad = 0
for _ in range(n):
    c.request("POST", "/predict", body, {"Content-Type": f"multipart/form-data; boundary={b}"})
    r = c.getresponse()
    text = r.read()
    if r.status != 200 or b'"digit":6,' not in text:
        bad += 1
        print(f"bench_path: {r.status} {text[:200]!r}", file=sys.stderr)
sys.exit(f"bench_path: {bad} of {n} answers wrong" if bad else 0)
EOF
}
# run WHICH N: WHICH (fe or w) under callgrind; leaves $d/WHICH.req and
# $d/WHICH.idle, the dumps of the N requests and of the idle interval.
run() {
    which=$1
    n=$2
    port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    rm -rf "$d/run" "$d"/*.out*
    mkdir -m 700 "$d/run"
    fecg=
    wcg=
    if [ "$which" = fe ]; then fecg="$cg --callgrind-out-file=$d/cg.out"; else wcg="$cg --callgrind-out-file=$d/cg.out"; fi
    $fecg "$BUILD/mnist-frontend" --listen "127.0.0.1:$port" --rundir "$d/run" --log-level warn \
        --timeout-ms 60000 --worker-silent-ms 60000 >>"$d/fe.log" 2>&1 &
    fe=$!
    pids=$fe
    k=0
    until [ -S "$d/run/workers.sock" ] || [ $k -ge 600 ]; do k=$((k + 1)); sleep 0.1; done
    MNIST_PRECISION=fp32 $wcg "$BUILD/mnist-worker" --connect "ipc://$d/run/workers.sock" \
        --weights "$W" --decode-threads 1 >>"$d/w.log" 2>&1 &
    w=$!
    pids="$fe $w"
    target=$fe
    [ "$which" = w ] && target=$w
    post 5 || return 1
    callgrind_control -z "$target" >/dev/null
    t0=$(date +%s.%N)
    post "$n" || return 1
    callgrind_control -d "$target" >/dev/null
    secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
    mv "$d"/cg.out.1 "$d/$which.req"
    if [ "$which" = fe ]; then
        callgrind_control -z "$target" >/dev/null
        sleep "$secs"
        callgrind_control -d "$target" >/dev/null
        mv "$d"/cg.out.2 "$d/$which.idle"
    fi
    kill -TERM "$fe" "$w"
    wait "$fe" "$w" 2>/dev/null
    pids=
}
NFE=${PATH_FE_REQUESTS:-300}
NW=${PATH_W_REQUESTS:-20}
run fe "$NFE" || exit 1
run w "$NW" || exit 1
total() { awk '/^(summary|totals):/ { print $2; exit }' "$1"; }
incl() { callgrind_annotate --inclusive=yes --threshold=100 "$2" 2>/dev/null | awk -v f="$1" '
    { c = $1; gsub(",", "", c) } index($0, f) { print c; exit }'; }
# per IR IDLE N: (IR - IDLE) / N
per() { awk -v a="$1" -v i="${2:-0}" -v n="$3" 'BEGIN { printf "%.0f", (a - i) / n }'; }
fe_ir=$(per "$(total "$d/fe.req")" "$(total "$d/fe.idle")" "$NFE")
model=$(incl ':model_forward ' "$d/w.req")
img=$(incl ':img_to_mnist ' "$d/w.req")
w_rest=$(per "$(total "$d/w.req")" "$(awk -v m="${model:-0}" -v g="${img:-0}" \
    'BEGIN { printf "%.0f", m + g }')" "$NW")
echo "$LABEL: frontend $fe_ir instructions/request (idle interval subtracted); worker: \
decode + normalise (img_to_mnist) $(per "${img:-0}" 0 "$NW"), model (fp32, model_forward) \
$(per "${model:-0}" 0 "$NW"), the rest (protocol, nng, threads, and the pings of those \
seconds: an upper bound) $w_rest (callgrind: $NFE requests to the frontend, $NW to the worker)"
# top FILE N: the 10 costliest functions by self cost per request, leaving
# out the model (kern_*, model_*) and the thread roots (clone, start_thread,
# main's callers, nng's thread entries), which callgrind_annotate lists with
# their threads' whole cost.
top() {
    callgrind_annotate --inclusive=no --threshold=100 "$1" 2>/dev/null | awk -v n="$2" '
        !/^ *[0-9,]+ +\(/ || /PROGRAM TOTALS/ { next }
        { c = $1; gsub(",", "", c) }
        /clone|start_thread|below main|libc_start/ { root[c] = 1; next }
        c in root || /:kern_|:model_/ { next }
        { sub(/^ *[0-9,]+ +\( *[0-9.]+%\) +/, ""); sub(/ \[.*\]$/, "")
          printf "    %9.0f  %s\n", c / n, $0; if (++k == 10) exit }'
}
echo "  frontend, instructions/request by function (self, idle not subtracted):"
top "$d/fe.req" "$NFE"
echo "  worker, instructions/request by function (self, idle not subtracted):"
top "$d/w.req" "$NW"
