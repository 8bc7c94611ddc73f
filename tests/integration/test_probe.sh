#!/bin/sh
# mnist-probe, the image's health check (no curl in the image): 0 on a 200
# from the frontend at $MNIST_LISTEN, 1 on any other answer or no answer,
# 2 on a bad argument.
. tests/lib.sh
. tests/integration/ops-lib.sh
have_frontend && [ -x "$B/mnist-probe" ] || { ok "probe # SKIP binaries not built"; exit 0; }
d=$(tmpdir_make)
fe_start "$d" 1
port=${FE_URL##*:}
MNIST_LISTEN=127.0.0.1:$port "$B/mnist-probe"
check_eq "200 from /health: exit 0" 0 "$?"
MNIST_LISTEN=0.0.0.0:$port "$B/mnist-probe" /health/live
check_eq "a wildcard MNIST_LISTEN probes loopback; /health/live" 0 "$?"
MNIST_LISTEN=127.0.0.1:$port "$B/mnist-probe" /nope 2>"$d/err"
check_eq "404: exit 1" 1 "$?"
check "and says what was answered" grep -q "404" "$d/err"
"$B/mnist-probe" 'bad path' 2>/dev/null
check_eq "a bad argument: exit 2" 2 "$?"
fe_stop
MNIST_LISTEN=127.0.0.1:$port "$B/mnist-probe" 2>/dev/null
check_eq "nobody listening: exit 1" 1 "$?"
