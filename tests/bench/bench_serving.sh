#!/bin/sh
# make bench, serving section (tests/bench/bench.sh): the whole HTTP path on
# 127.0.0.1 with a frontend that spawns 2 workers.
#   start -> healthy    time from exec of mnist-frontend to the first
#                       /health 200 (workers spawned, dialled in, answering)
#   p50, 1 client       wrk -t1 -c1, one 28x28 PNG, keep-alive
#   predictions/s, 32   wrk -t2 -c32, 2 workers
#   RSS                 VmRSS and VmHWM of the frontend and each worker
#   503 without worker  curl time_total of /predict with no worker connected
#   reconnect           workers started apart, frontend restarted: time to
#                       healthy again
# BENCH_SECONDS (default 5) sets each wrk run's duration, BENCH_REPEAT
# (default 3) how many runs (and cold starts) each median is taken over.
B=${B:-build}
W=${WEIGHTS:-weights/model.safetensors}
IMG=saved_images/img_0_label_6.png
secs=${BENCH_SECONDS:-5}
repeat=${BENCH_REPEAT:-3}
fe=
# median X...: the middle value (lower middle for an even count).
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
d=$(mktemp -d "${TMPDIR:-/tmp}/mnist-bench.XXXXXX")
pids=
trap 'for p in $pids; do kill -9 $p 2>/dev/null; done; rm -rf "$d"' EXIT
free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# start_healthy PORT LOG CMD...: start CMD (from python, clock started just
# before the exec) and print "SECONDS PID" once /health answers 200.
start_healthy() {
    /usr/bin/python3 - "$@" <<'EOF'
import http.client, subprocess, sys, time
port, log, cmd = int(sys.argv[1]), open(sys.argv[2], "ab"), sys.argv[3:]
t0 = time.monotonic()
p = subprocess.Popen(cmd, stdout=log, stderr=log)
while time.monotonic() - t0 < 30:
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        c.request("GET", "/health")
        r = c.getresponse()
        r.read()
        if r.status == 200:
            break
    except OSError:
        pass
    time.sleep(0.001)
print(f"{time.monotonic() - t0:.3f} {p.pid}")
EOF
}
# stop PID: SIGTERM and wait (at most 10 s) until it is gone.
stop() { kill -TERM "$1"; n=0; while kill -0 "$1" 2>/dev/null && [ $n -lt 1000 ]; do n=$((n + 1)); sleep 0.01; done; }
# poll CMD...: retry every 10 ms, at most 10 s.
poll() { n=0; until "$@"; do n=$((n + 1)); [ $n -lt 1000 ] || return 1; sleep 0.01; done; }
is_200() { [ "$(curl -s -o /dev/null -w '%{http_code}' "${url}health")" = 200 ]; }
rss() { awk '/^VmRSS|^VmHWM/ { printf "%s %.1f MB  ", $1, $2 / 1024 }' "/proc/$1/status"; }

port=$(free_port)
mkdir -m 700 "$d/run"
# Start-up: REPEAT cold starts, median; the last one stays up for the loads.
starts=
for i in $(seq "$repeat"); do
    [ -n "$fe" ] && stop "$fe"
    set -- $(start_healthy "$port" "$d/fe.log" "$B/mnist-frontend" --listen "127.0.0.1:$port" \
        --rundir "$d/run" --spawn-workers 2 --weights "$W" --log-level warn)
    fe=$2
    pids="$fe"
    starts="$starts $1"
done
echo "start -> healthy (2 spawned workers): median $(median $starts) s over $repeat starts ($starts )"

url=http://127.0.0.1:$port/
# load NAME WRK-ARGS...: REPEAT wrk runs; prints the median of each figure.
load() {
    name=$1; shift
    for i in $(seq "$repeat"); do
        wrk "$@" -d"${secs}s" -s tests/bench/post.lua "$url" >"$d/wrk.$i" 2>&1
    done
    fig() { median $(for i in $(seq "$repeat"); do awk -v k="$1" '$1 == k { print $2 }' "$d/wrk.$i"; done); }
    ms() { awk -v v="$(fig "$1")" 'BEGIN { printf "%.2f ms", v / 1000 }'; }
    echo "$name: $(fig Requests/sec:) predictions/s, p50 $(ms p50_us:), p90 $(ms p90_us:), \
p99 $(ms p99_us:); non-2xx lines $(cat "$d"/wrk.* | grep -c 'Non-2xx'), \
wrong $(cat "$d"/wrk.* | awk '/^wrong:/ { n += $2 } END { print n + 0 }') \
(median of $repeat runs of ${secs} s)"
}
load "1 client, keep-alive" -t1 -c1
load "32 clients, 2 workers" -t2 -c32
echo "RSS frontend:  $(rss "$fe")"
for w in $(pgrep -P "$fe" -f mnist-worker); do
    echo "RSS worker $w: $(rss "$w")"
done
stop "$fe"

# 503 with no worker connected, and reconnect after a frontend restart.
"$B/mnist-frontend" --listen "127.0.0.1:$port" --rundir "$d/run" --log-level warn \
    >>"$d/fe.log" 2>&1 &
fe=$!
pids="$fe"
poll curl -s -o /dev/null "${url}health"
t=$(for i in 1 2 3 4 5; do
    curl -s -o /dev/null -w '%{time_total}\n' -F "file=@$IMG" "${url}predict"
done | sort -n | sed -n 3p)
echo "503 without worker: median $t s over 5 curl calls"
"$B/mnist-worker" --connect "ipc://$d/run/workers.sock" --weights "$W" >>"$d/w.log" 2>&1 &
w1=$!
"$B/mnist-worker" --connect "ipc://$d/run/workers.sock" --weights "$W" >>"$d/w.log" 2>&1 &
w2=$!
pids="$fe $w1 $w2"
poll is_200
stop "$fe"
set -- $(start_healthy "$port" "$d/fe.log" "$B/mnist-frontend" --listen "127.0.0.1:$port" \
    --rundir "$d/run" --log-level warn)
fe=$2
pids="$fe $w1 $w2"
echo "frontend restarted, 2 workers reconnect -> healthy: $1 s"
stop "$fe"
kill -TERM "$w1" "$w2"
wait
