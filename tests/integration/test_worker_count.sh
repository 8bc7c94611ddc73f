#!/bin/sh
# The frontend counts worker processes, not their connections: a worker
# with two connections to it (after a link flap its old connection can stay
# up beside the new one; here it dials two URLs of the same socket) is one
# worker in /health, /health/ready and mnist_workers_connected, while
# mnist_worker_connections counts both connections.
#  1. One worker, two connections: 1 worker, 2 connections.
#  2. A second worker joins with one connection: 2 workers, 3 connections.
#  3. The first worker is killed: 1 worker, 1 connection, still serving.
#  4. A worker as it was before "instance" (old_worker.py) with two
#     connections: the frontend cannot tell they are one process, so each
#     counts as a worker: 3 workers, 3 connections.
. tests/lib.sh
. tests/integration/ops-lib.sh
have_frontend || { not_ok "binaries $B/mnist-frontend and $B/mnist-worker are built"; exit 1; }
d=$(tmpdir_make)
fe_start "$d" 0 # no workers of its own: this test starts them
url=$FE_URL
sock=$d/run/workers.sock
# worker ARGS...: exec, so that $! of "worker ... &" is the worker itself.
worker() { exec "$B/mnist-worker" --weights "$FE_WEIGHTS" "$@"; }

# counts: "WORKERS CONNECTIONS" from /metrics.
counts() {
    curl -s "$url/metrics" | awk '$1 == "mnist_workers_connected" { w = $2 }
        $1 == "mnist_worker_connections" { c = $2 } END { print w, c }'
}
counts_are() { [ "$(counts)" = "$1" ]; }
# expect_counts NAME SECONDS "WORKERS CONNECTIONS": waits for them.
expect_counts() {
    if wait_for "$2" counts_are "$3"; then ok "$1"; return 0; fi
    not_ok "$1 (workers connections: expected '$3', got '$(counts)')"
    return 1
}
# health PATH: "STATUS WORKERS" of /health or /health/ready.
health() { curl -s "$url$1" | jq -r '"\(.status) \(.workers)"'; }

# --- 1. one worker, two connections -----------------------------------------
worker --connect "ipc://$sock" --connect "ipc://$d/run/./workers.sock" >"$d/w1.log" 2>&1 &
w1=$!
on_exit "kill -9 $w1"
expect_counts "one worker with two connections counts once" 15 '1 2' ||
    tail -5 "$d/w1.log" | sed 's/^/#   w1: /'
check_eq "/health: 1 worker" "ok 1" "$(health /health)"
check_eq "/health/ready: 1 worker" "ok 1" "$(health /health/ready)"

# --- 2. a second worker ------------------------------------------------------
worker --connect "ipc://$sock" >"$d/w2.log" 2>&1 &
w2=$!
on_exit "kill -9 $w2"
expect_counts "a second worker: 2 workers on 3 connections" 15 '2 3'
check_eq "/health: 2 workers" "ok 2" "$(health /health)"

# --- 3. the first worker leaves ----------------------------------------------
kill -9 "$w1"
expect_counts "the first worker killed: 1 worker on 1 connection" 10 '1 1'
check_eq "/health: 1 worker" "ok 1" "$(health /health)"
check_eq "and it serves" 6 "$(curl -s -F "file=@saved_images/img_0_label_6.png" "$url/predict" | jq -r .digit)"

# --- 4. a worker that does not say its instance --------------------------------
/usr/bin/python3 tests/integration/old_worker.py "ipc://$sock" "ipc://$d/run/./workers.sock" \
    >"$d/old.log" 2>&1 &
old=$!
on_exit "kill -9 $old"
expect_counts "an older worker's two connections count as two workers" 15 '3 3' ||
    tail -5 "$d/old.log" | sed 's/^/#   old: /'
check_eq "/health: 3 workers" "ok 3" "$(health /health)"
