#!/bin/sh
# api.sock (frontend/broker.c) on the real frontend: a request above the
# upload limit gets a too_large reply instead of silence; broker requests
# count against --max-inflight and --max-inflight-bytes like HTTP ones; and
# the shutdown drain answers new callers "unavailable" while it waits for
# the broker requests already in flight.
. tests/lib.sh
. tests/integration/ops-lib.sh
tmp=$(tmpdir_make)
if ! have_frontend || [ ! -x "$B/mnist-client" ]; then
    ok "broker # SKIP no $B/mnist-frontend or mnist-client yet"
    exit 0
fi
# Bounded: a client that hangs (libnng close, nngclose.h) fails the check.
client() { timeout -k 1 30 "$B/mnist-client" --url "ipc://$dir/run/api.sock" "$@"; }
img=tests/images/png_gray8.png

# too_large: --max-upload 100k takes messages up to 164 KiB, answers
# too_large up to the 4x hard cap (656 KiB), and above that nng drops them.
dir=$tmp/a
fe_start "$dir" 1 --max-upload 100k
head -c 300000 /dev/urandom >"$tmp/big.png"
s=$(date +%s%N)
client --timeout-ms 5000 "$tmp/big.png" >"$tmp/out" 2>"$tmp/err"
ms=$(( ($(date +%s%N) - s) / 1000000 ))
check "a 300 KB request gets too_large ($(head -c 160 "$tmp/err"))" grep -q ': too_large: ' "$tmp/err"
check "  at once (took $ms ms)" test "$ms" -lt 2000
head -c 1000000 /dev/urandom >"$tmp/huge.png"
client --timeout-ms 1000 "$tmp/huge.png" >"$tmp/out" 2>"$tmp/err"
check "a 1 MB request (above the hard cap) gets no reply: the caller's timeout" \
    grep -q ': timeout: ' "$tmp/err"
check "api.sock still answers afterwards" client --timeout-ms 5000 "$img"
fe_stop

# The budget: with --max-inflight 1 or --max-inflight-bytes 1, one of 16
# concurrent requests goes through at a time; the others are told at once.
# budget DIR FLAG WHY
budget() {
    dir=$1
    fe_start "$dir" 1 "$2" 1
    client --timeout-ms 10000 --concurrency 16 tests/images/photo_*.jpg \
        tests/images/photo_*.jpg tests/images/photo_*.jpg >"$tmp/out" 2>"$tmp/err"
    n=$(grep -c "unavailable: $3" "$tmp/err")
    echo "# $2 1: $(wc -l <"$tmp/out") answered, $n refused"
    check "broker requests count against $2 ($n of 18 refused: $3)" test "$n" -gt 0
    fe_stop
}
budget "$tmp/b" --max-inflight "too many requests in flight"
budget "$tmp/c" --max-inflight-bytes "too many bytes in flight"

# The drain: a broker request held by a stopped worker keeps the frontend
# draining; a new caller meanwhile gets unavailable; the held request is
# answered once the worker runs again, then the frontend exits.
dir=$tmp/d
fe_start "$dir" 0 --drain-ms 20000
RUNTIME_DIRECTORY=$dir/run MNIST_WEIGHTS=$FE_WEIGHTS "$B/mnist-worker" >"$tmp/worker.log" 2>&1 &
wpid=$!
on_exit "kill -CONT $wpid; kill -9 $wpid"
if wait_for 20 curl -sf "$FE_URL/health"; then
    kill -STOP "$wpid"
    client --timeout-ms 20000 "$img" >"$tmp/held.out" 2>"$tmp/held.err" &
    cpid=$!
    inflight() { curl -s "$FE_URL/metrics" | grep -q '^mnist_inflight_requests 1$'; }
    check "the broker request is counted in flight" wait_for 10 inflight
    kill -TERM "$FE_PID"
    client --timeout-ms 5000 "$img" >"$tmp/new.out" 2>"$tmp/new.err"
    check "a new caller during the drain gets unavailable ($(head -c 120 "$tmp/new.err"))" \
        grep -q 'unavailable: the service is shutting down' "$tmp/new.err"
    check "the frontend is still draining for the held request" test -e "/proc/$FE_PID"
    kill -CONT "$wpid"
    wait "$cpid"
    check_eq "the held broker request is answered after the worker resumes" 0 "$?"
    check "  with a digit" grep -q "^$img [0-9] " "$tmp/held.out"
    wait_exit 15 "$FE_PID"
    check_eq "the frontend exits after the drain" 0 "$?"
else
    not_ok "worker did not connect for the drain case"
fi
kill -TERM "$wpid" 2>/dev/null
