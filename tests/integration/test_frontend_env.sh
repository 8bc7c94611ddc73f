#!/bin/sh
# Every MNIST_* variable of mnist-frontend goes through the same bounds as
# its flag: an out-of-range value makes the frontend exit 2 at once, naming
# the variable, instead of running with a wrapped or absurd limit.
. tests/lib.sh
. tests/integration/ops-lib.sh
tmp=$(tmpdir_make)
if ! have_frontend; then
    ok "frontend env # SKIP no $B/mnist-frontend yet"
    exit 0
fi
mkdir -p "$tmp/run"

# refused VAR VALUE: the frontend must exit 2 within 5 s and name VAR.
refused() {
    env "$1=$2" timeout -k 2 5 "$B/mnist-frontend" --listen 127.0.0.1:0 --rundir "$tmp/run" \
        >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ "$rc" -eq 2 ] && grep -q "$1" "$tmp/err"; then
        ok "$1=$2 is refused"
    else
        not_ok "$1=$2 is refused (exit $rc: $(head -c 200 "$tmp/err"))"
    fi
}
max64=18446744073709551615
refused MNIST_MAX_UPLOAD "$max64"
refused MNIST_MAX_UPLOAD 0
refused MNIST_LOG_FORMAT xml
refused MNIST_CORS_ORIGINS https://a.example/path
refused MNIST_CORS_ORIGINS 'https://a.example:1, no-scheme'
refused MNIST_MAX_UPLOAD 2G
refused MNIST_MAX_INFLIGHT_BYTES "$max64"
refused MNIST_MAX_INFLIGHT_BYTES 0
refused MNIST_MAX_INFLIGHT 0
refused MNIST_MAX_INFLIGHT 100001
refused MNIST_TIMEOUT_MS 0
refused MNIST_RESEND_MS 99999999
refused MNIST_DRAIN_MS 600001
refused MNIST_MAX_CONNECTIONS 0
refused MNIST_IDLE_TIMEOUT_MS 5
refused MNIST_WORKERS 257
refused MNIST_LOG_LEVEL loud
refused MNIST_WORKER_SILENT_MS 99
refused MNIST_PIN_WORKERS 2

# The same bounds for the flags.
timeout -k 2 5 "$B/mnist-frontend" --listen 127.0.0.1:0 --rundir "$tmp/run" \
    --max-upload "$max64" >/dev/null 2>"$tmp/err"
check_eq "--max-upload 2^64-1 is refused" 2 "$?"

# A value in range is taken: 1M shows in the 413 text.
MNIST_MAX_UPLOAD=1M fe_start "$tmp/ok2" 0
head -c 1100000 /dev/zero >"$tmp/big.png"
body=$(curl -s -H 'Content-Type: image/png' --data-binary @"$tmp/big.png" "$FE_URL/predict")
check_eq "MNIST_MAX_UPLOAD=1M is the limit" '{"detail":"File too large. Maximum size is 1 MB."}' "$body"
fe_stop

# Spawned workers on CPUs of their own, in turn (--pin-workers, default 1);
# MNIST_PIN_WORKERS=0 leaves them where the frontend may run.
cpus_of() { awk '/^Cpus_allowed_list/ { print $2 }' "/proc/$1/status"; }
allowed=$(cpus_of $$)
if [ "$(nproc)" -lt 2 ]; then
    ok "spawned workers pinned # SKIP one CPU allowed here ($allowed): nothing to pin"
    ok "MNIST_PIN_WORKERS=0 # SKIP one CPU allowed here ($allowed)"
else
    fe_start "$tmp/pin" 2
    set -- $(pgrep -P "$FE_PID" -f mnist-worker | sort -n)
    a=$(cpus_of "$1") b=$(cpus_of "$2")
    check "spawned workers pinned: one CPU each, not the same ($a, $b)" \
        sh -c "[ -n '$a' ] && [ '$a' != '$b' ] && echo '$a$b' | grep -qv '[-,]'"
    # ...except the thread that decodes large images: any allowed CPU.
    free=$(cat /proc/"$1"/task/*/status | awk '/^Cpus_allowed_list/ { print $2 }' |
        grep -cx "$allowed")
    check "a pinned worker's large-image decode thread may run on any CPU ($free)" \
        test "$free" -ge 1
    fe_stop
    MNIST_PIN_WORKERS=0 fe_start "$tmp/nopin" 2
    set -- $(pgrep -P "$FE_PID" -f mnist-worker | sort -n)
    check_eq "MNIST_PIN_WORKERS=0: workers keep the frontend's CPUs" \
        "$(cpus_of "$FE_PID") $(cpus_of "$FE_PID")" "$(cpus_of "$1") $(cpus_of "$2")"
    fe_stop
fi
