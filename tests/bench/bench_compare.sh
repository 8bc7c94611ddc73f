#!/bin/sh
# make bench, compare section (tests/bench/bench.sh): the serving path before
# and after, in one run.
#   bench_compare.sh LABEL=BUILD_DIR[:PRECISION] ...
# For each configuration (a build directory's mnist-frontend spawning 2
# workers; PRECISION, if given, as MNIST_PRECISION for the workers), in
# turn, $COMPARE_REPEAT (default 3) rounds over all of them so that a change
# of load hits each alike: wrk -t1 -c1 then wrk -t2 -c32 for
# $COMPARE_SECONDS (default 5) each, POSTing tests/bench/post.lua's 28x28
# PNG. Per configuration, medians over the rounds: 1-client p50, 32-client
# predictions/s, and the CPU time (utime + stime from /proc) and the context
# switches (voluntary + involuntary, every thread) the frontend and the two
# workers spent per request in the 32-client run. Then every
# configuration's throughput against the first one's.
W=${WEIGHTS:-weights/model.safetensors}
secs=${COMPARE_SECONDS:-5}
repeat=${COMPARE_REPEAT:-3}
d=$(mktemp -d "${TMPDIR:-/tmp}/mnist-compare.XXXXXX")
pids=
trap 'for p in $pids; do kill -9 $p 2>/dev/null; done; rm -rf "$d"' EXIT
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# ticks PID...: utime + stime of the processes, in clock ticks.
ticks() { for p in "$@"; do cut -d' ' -f14,15 "/proc/$p/stat"; done | awk '{ t += $1 + $2 } END { print t + 0 }'; }
hz=$(getconf CLK_TCK)
# switches PID...: context switches of every thread of the processes.
switches() {
    for p in "$@"; do cat /proc/"$p"/task/*/status 2>/dev/null; done |
        awk '/ctxt_switches/ { n += $2 } END { print n + 0 }'
}

# one LABEL BUILD PRECISION ROUND: start, load twice, record, stop.
one() {
    label=$1 build=$2 prec=$3 round=$4
    port=$(free_port)
    rm -rf "$d/run"
    mkdir -m 700 "$d/run"
    MNIST_PRECISION=${prec:-auto} "$build/mnist-frontend" --listen "127.0.0.1:$port" \
        --rundir "$d/run" --spawn-workers 2 --weights "$W" --log-level warn >>"$d/fe.log" 2>&1 &
    fe=$!
    pids=$fe
    url=http://127.0.0.1:$port/
    n=0
    until [ "$(curl -s -o /dev/null -w '%{http_code}' "${url}health")" = 200 ]; do
        n=$((n + 1))
        [ $n -lt 1000 ] || { echo "$label: not healthy" >&2; return 1; }
        sleep 0.01
    done
    workers=$(pgrep -P "$fe" -f mnist-worker | tr '\n' ' ')
    wrk -t1 -c1 -d"${secs}s" -s tests/bench/post.lua "$url" >"$d/one.txt" 2>&1
    f0=$(ticks "$fe")
    w0=$(ticks $workers)
    fs0=$(switches "$fe")
    ws0=$(switches $workers)
    wrk -t2 -c32 -d"${secs}s" -s tests/bench/post.lua "$url" >"$d/many.txt" 2>&1
    f1=$(ticks "$fe")
    w1=$(ticks $workers)
    fs1=$(switches "$fe")
    ws1=$(switches $workers)
    reqs=$(awk '/requests in/ { print $1 }' "$d/many.txt")
    {
        echo "p50 $(awk '$1 == "p50_us:" { print $2 }' "$d/one.txt")"
        echo "rps $(awk '$1 == "Requests/sec:" { print $2 }' "$d/many.txt")"
        awk -v a="$f0" -v b="$f1" -v n="$reqs" -v hz="$hz" \
            'BEGIN { printf "fe_us %.1f\n", (b - a) * 1e6 / hz / n }'
        awk -v a="$w0" -v b="$w1" -v n="$reqs" -v hz="$hz" \
            'BEGIN { printf "w_us %.1f\n", (b - a) * 1e6 / hz / n }'
        awk -v a="$fs0" -v b="$fs1" -v n="$reqs" 'BEGIN { printf "fe_cs %.2f\n", (b - a) / n }'
        awk -v a="$ws0" -v b="$ws1" -v n="$reqs" 'BEGIN { printf "w_cs %.2f\n", (b - a) / n }'
        echo "bad $(cat "$d/one.txt" "$d/many.txt" | awk '/^wrong:/ { n += $2 } /Non-2xx/ { n += $NF } END { print n + 0 }')"
    } >"$d/r.$label.$round"
    kill -TERM "$fe"
    wait "$fe" 2>/dev/null
    pids=
}

for round in $(seq "$repeat"); do
    for c in "$@"; do
        label=${c%%=*} rest=${c#*=}
        build=${rest%%:*} prec=
        [ "$build" = "$rest" ] || prec=${rest#*:}
        one "$label" "$build" "$prec" "$round" || exit 1
    done
done
fig() { median $(cat "$d"/r."$1".* | awk -v k="$2" '$1 == k { print $2 }'); }
first=
printf '%-14s %12s %14s %14s %14s %12s %6s\n' "" "1-client p50" "32 clients/s" "frontend CPU" "workers CPU" "switches" "wrong"
for c in "$@"; do
    label=${c%%=*}
    printf '%-14s %9.3f ms %14.0f %11.1f µs %11.1f µs %5.2f + %4.2f %6d\n' "$label" \
        "$(awk -v v="$(fig "$label" p50)" 'BEGIN { print v / 1000 }')" "$(fig "$label" rps)" \
        "$(fig "$label" fe_us)" "$(fig "$label" w_us)" "$(fig "$label" fe_cs)" "$(fig "$label" w_cs)" \
        "$(cat "$d"/r."$label".* | awk '$1 == "bad" { n += $2 } END { print n + 0 }')"
    [ -n "$first" ] || first=$label
done
for c in "$@"; do
    label=${c%%=*}
    [ "$label" = "$first" ] && continue
    awk -v a="$(fig "$label" rps)" -v b="$(fig "$first" rps)" -v l="$label" -v f="$first" \
        'BEGIN { printf "32-client throughput %s / %s: %.2fx\n", l, f, a / b }'
done
echo "(medians of $repeat rounds of ${secs} s per load; CPU per request from /proc utime + stime and switches per request (frontend + workers) during the 32-client run; load average now $(cut -d' ' -f1-3 /proc/loadavg))"
