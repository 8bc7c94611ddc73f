#!/bin/sh
# A worker's connection that goes dead without a word (the frontend closed
# it while the link was down, so its FIN or RST never arrived) is replaced
# within LINKS_QUIET_MS (5 s) plus a tick, also while the worker's other
# dialer keeps redialing a frontend that is not there. In a network
# namespace this test creates and removes: a frontend on 127.0.0.1:9100, a
# worker dialing it and 127.0.0.1:9101 (nobody listens: refused, redialed
# all along, and first in nng's statistics); then every packet from the
# frontend to the worker's connection is dropped (nft).
. tests/lib.sh
. tests/integration/ops-lib.sh
have_frontend || { ok "stale link # SKIP binaries not built"; exit 0; }
[ "$(id -u)" = 0 ] || { ok "stale link # SKIP needs root (ip netns, nft)"; exit 0; }
for c in ip nft ss jq; do
    command -v $c >/dev/null || { ok "stale link # SKIP no $c"; exit 0; }
done
d=$(tmpdir_make)
ns=mnstale$$
FE=$(realpath "$B/mnist-frontend")
WK=$(realpath "${STALE_WORKER:-$B/mnist-worker}")
W=$(realpath "$FE_WEIGHTS")
x() { ip netns exec "$ns" "$@"; }
check "a network namespace" sh -c "ip netns add $ns && ip -n $ns link set lo up"
on_exit "ip netns del $ns"
mkdir -m 700 "$d/run"
ip netns exec "$ns" "$FE" --listen 127.0.0.1:8000 --rundir "$d/run" \
    --workers-url tcp://127.0.0.1:9100 >"$d/fe.log" 2>&1 &
on_exit "kill -9 $!"
ip netns exec "$ns" "$WK" --weights "$W" --connect tcp://127.0.0.1:9101 \
    --connect tcp://127.0.0.1:9100 >"$d/w.log" 2>&1 &
wpid=$!
on_exit "kill -9 $wpid"
workers_are() { [ "$(x curl -s http://127.0.0.1:8000/health | jq -r .workers)" = "$1" ]; }
check "the worker serves the frontend" wait_for 10 workers_are 1
port=$(x ss -tnH state established '( dport = :9100 )' | awk '{ n = split($3, a, ":"); print a[n] }' | head -1)
check "its connection's port is known: ${port:-none}" [ -n "$port" ]
check "packets from the frontend to that connection are dropped" sh -c \
    "ip netns exec $ns nft add table inet stale &&
     ip netns exec $ns nft add chain inet stale in '{ type filter hook input priority 0; }' &&
     ip netns exec $ns nft add rule inet stale in tcp sport 9100 tcp dport $port drop"
t0=$(date +%s%N)
# The frontend hears no pong and closes the connection (--worker-silent-ms,
# 1 s); the worker hears no ping and must dial again.
check "the frontend lets the silent connection go" wait_for 10 workers_are 0
if wait_for 15 workers_are 1; then
    ok "the worker replaced its dead connection within 15 s"
    echo "# back $(( ($(date +%s%N) - t0) / 1000000 )) ms after the drop began"
else
    not_ok "the worker replaced its dead connection within 15 s"
fi
check "it said why (worker log)" grep -q "nothing from tcp://127.0.0.1:9100 for" "$d/w.log"
check "the worker is still the same process" kill -0 "$wpid"
grep -v POST "$d/w.log" | tail -6 | sed 's/^/#   worker: /'
