#!/bin/sh
# The worker link across hosts (issue 11), on loopback: tls+tcp:// with
# mutual TLS, the plain-tcp refusal and --trusted-network, /health/live and
# /health/ready, a worker serving two frontends, and a worker rejoining a
# restarted frontend by itself. Certificates come from scripts/make-certs.sh.
. tests/lib.sh
. tests/integration/ops-lib.sh
have_frontend || { ok "tls # SKIP binaries not built"; exit 0; }
command -v openssl >/dev/null || { ok "tls # SKIP no openssl"; exit 0; }
d=$(tmpdir_make)
IMG=saved_images/img_0_label_6.png
certs="$d/pki"
mk() { sh scripts/make-certs.sh -d "$@" 2>>"$d/certs.log"; }
mk "$certs" ca && mk "$certs" -n localhost frontend fe && mk "$certs" worker wk &&
    mk "$certs" -D -1 worker expired && mk "$certs" -p serverAuth worker wrongpurpose &&
    mk "$d/other" ca && mk "$d/other" worker imp || { not_ok "make-certs"; exit 1; }
ok "make-certs.sh makes a CA, a frontend and worker certificates"

FE_TLS="--tls-cert $certs/fe.crt --tls-key $certs/fe.key --tls-ca $certs/ca.crt"
WK_TLS="--tls-cert $certs/wk.crt --tls-key $certs/wk.key --tls-ca $certs/ca.crt"
pids=
# frontend NAME WORKERS-URL [ARGS]: start one, sets url_NAME, pid_NAME
frontend() {
    name=$1; wurl=$2; shift 2
    port=$(free_port)
    mkdir -p "$d/$name"
    "$B/mnist-frontend" --listen "127.0.0.1:$port" --rundir "$d/$name" \
        --workers-url "$wurl" "$@" >>"$d/$name.log" 2>&1 &
    eval "pid_$name=$! url_$name=http://127.0.0.1:$port"
    pids="$pids $!"
    on_exit "kill -9 $!"
}
worker() { # LOG ARGS
    log=$1; shift
    "$B/mnist-worker" --weights "$FE_WEIGHTS" --max-batch 8 "$@" >>"$d/$log" 2>&1 &
    wpid=$!
    on_exit "kill -9 $wpid"
}
code() { curl -s -o /dev/null -w '%{http_code}' "$1"; }
code_is() { [ "$(code "$1")" = "$2" ]; }
workers_of() { curl -s "$1/health" | jq -r .workers; }
predicts() { [ "$(curl -s -F file=@$IMG "$1/predict" | jq -r .digit)" = 6 ]; }

# --- the plain-tcp policy ------------------------------------------------
wport=$(free_port)
timeout 10 "$B/mnist-frontend" --listen 127.0.0.1:0 --rundir "$d/r0" \
    --workers-url "tcp://0.0.0.0:$wport" >"$d/plain.log" 2>&1
rc=$?
if [ $rc -ne 0 ] && grep -q -- "--trusted-network" "$d/plain.log"; then
    ok "frontend refuses plain tcp:// on a non-loopback address"
else
    not_ok "frontend refuses plain tcp:// off loopback (exit $rc: $(head -c 300 "$d/plain.log"))"
fi
timeout 10 "$B/mnist-worker" --weights "$FE_WEIGHTS" --connect "tcp://10.255.0.1:$wport" \
    >"$d/wplain.log" 2>&1
rc=$?
check "worker refuses plain tcp:// to a non-loopback address" \
    sh -c "[ $rc -ne 0 ] && grep -q -- --trusted-network '$d/wplain.log'"
frontend trusted "tcp://0.0.0.0:$wport" --trusted-network
check "--trusted-network allows plain tcp:// off loopback" wait_for 10 code_is "$url_trusted/health/live" 200
kill "$pid_trusted"
wport=$(free_port)
MNIST_TRUSTED_NETWORK=1 frontend trusted2 "tcp://0.0.0.0:$wport"
check "MNIST_TRUSTED_NETWORK=1 does the same" wait_for 10 code_is "$url_trusted2/health/live" 200
kill "$pid_trusted2"
timeout 10 "$B/mnist-frontend" --listen 127.0.0.1:0 --rundir "$d/r1" \
    --workers-url "tls+tcp://127.0.0.1:$wport" --tls-cert "$certs/fe.crt" >"$d/half.log" 2>&1
check "tls+tcp:// without key and CA is refused" grep -q -- "--tls-key" "$d/half.log"

timeout 10 "$B/mnist-frontend" --listen 127.0.0.1:0 --rundir "$d/r3" --spawn-workers 1 \
    --workers-url "tls+tcp://127.0.0.1:$(free_port)" --tls-cert "$certs/fe.crt" \
    --tls-key "$certs/fe.key" --tls-ca "$certs/ca.crt" >"$d/spawn.log" 2>&1
check "--spawn-workers with tls+tcp:// is refused with the reason" \
    grep -q "spawned workers would need a clientAuth certificate" "$d/spawn.log"

# --- mutual TLS ----------------------------------------------------------
p1=$(free_port)
# shellcheck disable=SC2086
frontend a "tls+tcp://127.0.0.1:$p1" $FE_TLS
check "/health/live answers 200 with no worker" wait_for 10 code_is "$url_a/health/live" 200
check_eq "/health/ready is 503 with no worker" 503 "$(code "$url_a/health/ready")"
# shellcheck disable=SC2086
worker wk.log --connect "tls+tcp://localhost:$p1" $WK_TLS
good=$wpid
check "a worker with a certificate from the CA joins over tls+tcp://" \
    wait_for 20 code_is "$url_a/health/ready" 200
check "a prediction goes over the TLS link" predicts "$url_a"
check_eq "/health keeps its meaning (ready, with the worker count)" '{"status":"ok","workers":1}' \
    "$(curl -s "$url_a/health")"

# An impostor that also trusts our CA (a CA certificate is no secret): the
# frontend refuses its certificate. One of an entirely other PKI: it
# refuses ours.
cat "$certs/ca.crt" "$d/other/ca.crt" >"$d/impca.crt"
worker imp.log --connect "tls+tcp://localhost:$p1" --tls-cert "$d/other/imp.crt" \
    --tls-key "$d/other/imp.key" --tls-ca "$d/impca.crt"
imp=$wpid
worker imp2.log --connect "tls+tcp://localhost:$p1" --tls-cert "$d/other/imp.crt" \
    --tls-key "$d/other/imp.key" --tls-ca "$d/other/ca.crt"
imp2=$wpid
check "the frontend logs the refused handshakes of a worker from another CA" \
    wait_for 15 grep -q "TLS handshake with a worker refused" "$d/a.log"
check "the frontend never let it in (the impostor logged no connection)" \
    sh -c "! grep -q 'connected to' '$d/imp.log'"
check "a worker of another PKI logs that it refused the frontend" \
    wait_for 5 grep -q "TLS handshake with a frontend refused" "$d/imp2.log"
check_eq "workers from another CA are never counted" 1 "$(workers_of "$url_a")"
kill -9 "$imp" "$imp2"

worker exp.log --connect "tls+tcp://localhost:$p1" --tls-cert "$certs/expired.crt" \
    --tls-key "$certs/expired.key" --tls-ca "$certs/ca.crt"
wait_exit 20 "$wpid" >/dev/null
check "a worker with an expired certificate stops with a clear message" \
    grep -q "expired" "$d/exp.log"
worker wp.log --connect "tls+tcp://localhost:$p1" --tls-cert "$certs/wrongpurpose.crt" \
    --tls-key "$certs/wrongpurpose.key" --tls-ca "$certs/ca.crt"
wait_exit 20 "$wpid" >/dev/null
check "a worker with a serverAuth-only certificate stops: wrong purpose" \
    grep -q "wrong purpose.*clientAuth" "$d/wp.log"
timeout 10 "$B/mnist-frontend" --listen 127.0.0.1:0 --rundir "$d/r2" \
    --workers-url "tls+tcp://127.0.0.1:$(free_port)" --tls-cert "$certs/wk.crt" \
    --tls-key "$certs/wk.key" --tls-ca "$certs/ca.crt" >"$d/fewp.log" 2>&1
check "a frontend with a clientAuth-only certificate refuses to start" \
    grep -q "wrong purpose.*serverAuth" "$d/fewp.log"

# --- one worker, two frontends (the second configured by environment) -----
kill -9 "$good"
p2=$(free_port)
MNIST_TLS_CERT=$certs/fe.crt MNIST_TLS_KEY=$certs/fe.key MNIST_TLS_CA=$certs/ca.crt \
    frontend b "tls+tcp://127.0.0.1:$p2"
MNIST_TLS_CERT=$certs/wk.crt MNIST_TLS_KEY=$certs/wk.key MNIST_TLS_CA=$certs/ca.crt \
    worker two.log --connect "tls+tcp://localhost:$p1" --connect "tls+tcp://localhost:$p2"
both=$wpid
serves_both() {
    wait_for 20 code_is "$url_a/health/ready" 200 && wait_for 20 code_is "$url_b/health/ready" 200 &&
        predicts "$url_a" && predicts "$url_b"
}
check "one worker (MNIST_TLS_* variables) serves two frontends" serves_both
check_eq "each frontend counts it once" "1 1" "$(workers_of "$url_a") $(workers_of "$url_b")"

# --- CA rotation: a bundle of the old and the new CA accepts both ---------
cat "$certs/ca.crt" "$d/other/ca.crt" >"$d/bundle.crt"
p3=$(free_port)
frontend c "tls+tcp://127.0.0.1:$p3" --tls-cert "$certs/fe.crt" --tls-key "$certs/fe.key" \
    --tls-ca "$d/bundle.crt"
worker rot.log --connect "tls+tcp://localhost:$p3" --tls-cert "$d/other/imp.crt" \
    --tls-key "$d/other/imp.key" --tls-ca "$d/bundle.crt"
rot=$wpid
check "CA rotation: with a bundle of both CAs a new-CA worker joins an old-CA frontend" \
    wait_for 20 code_is "$url_c/health/ready" 200
kill -9 "$rot" "$pid_c"

# --- a restarted frontend is rejoined without touching the worker -------
kill -9 "$pid_a"
wait "$pid_a" 2>/dev/null
check_eq "the other frontend keeps serving" 200 "$(curl -s -o /dev/null -w '%{http_code}' -F file=@$IMG "$url_b/predict")"
start=$(date +%s%N)
# shellcheck disable=SC2086
frontend a2 "tls+tcp://127.0.0.1:$p1" $FE_TLS
if wait_for 20 code_is "$url_a2/health/ready" 200 && predicts "$url_a2"; then
    ok "the worker rejoins a restarted frontend by itself"
    echo "# rejoin: ready $(( ($(date +%s%N) - start) / 1000000 )) ms after the restart"
else
    not_ok "the worker rejoins a restarted frontend by itself"
fi
check "the worker never exited" kill -0 "$both"
for p in $pids; do kill "$p" 2>/dev/null; done
kill "$both"
wait_exit 15 "$both" >/dev/null
check_eq "the worker stops cleanly on SIGTERM" 0 "$?"
