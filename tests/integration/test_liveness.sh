#!/bin/sh
# Liveness and fairness of the workers behind a real frontend (issue 10),
# two workers on a temporary run directory:
#  1. 12 clients post 40 MP 16-bit PNGs for LIVENESS_SECONDS (default 8)
#     while a light client posts a 28x28 PNG after another: the light client
#     gets only 200s with p99 under LIGHT_P99_MS (default 250), the heavy
#     ones get 200s or fast 503s with Retry-After, never a 504; /health
#     stays 200 throughout; every ping is answered within a second, no
#     worker pipe is dropped as silent; and every image that reached a
#     worker was decoded exactly once (decodes in the workers' debug logs
#     equal the answers), so nothing was resent to a second worker.
#  2. A worker is SIGSTOPped under light load: the frontend drops its pipe
#     within ~1 s and its requests are answered by the other worker (no
#     request waits more than 3 s, all 200); /health stays 200 and counts
#     one worker; after SIGCONT the worker rejoins.
# Figures (ping latency, light p50/p99, recovery time) are printed as
# comments.
. tests/lib.sh
B=${B:-build}
FE=$B/mnist-frontend
WK=$B/mnist-worker
W=weights/model.safetensors
LIGHT=saved_images/img_0_label_6.png
SECS=${LIVENESS_SECONDS:-8}
P99_MS=${LIGHT_P99_MS:-250}

[ -x "$FE" ] && [ -x "$WK" ] || { not_ok "binaries $FE and $WK are built"; exit 1; }
d=$(tmpdir_make)
/usr/bin/python3 tests/python/make_heavy_png.py "$d/heavy" 12 || { not_ok "heavy PNG fixtures"; exit 1; }
rundir=$d/run
mkdir -m 700 "$rundir"
port=$(free_port)
url=http://127.0.0.1:$port
# The frontend supervises its two workers (their logs go to its log): a
# worker that libnng 1.5.2 leaves unable to redial exits and is replaced.
MNIST_LOG_LEVEL=debug "$FE" --listen "127.0.0.1:$port" --rundir "$rundir" --log-level debug \
    --spawn-workers 2 --worker-bin "$WK" --weights "$W" >"$d/fe.log" 2>&1 &
fe=$!
on_exit "kill -9 $fe"
health_is() { [ "$(curl -s "$url/health" | jq -r '"\(.status) \(.workers)"')" = "$1" ]; }
check "two workers connected and healthy" wait_for 15 health_is 'ok 2'
for p in $(pgrep -P "$fe"); do on_exit "kill -CONT $p; kill -9 $p"; done

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
LOAD="/usr/bin/python3 tests/python/http_load.py"
# pct FILE P: the P-th percentile (nearest rank) of column 2 (seconds), in ms.
pct() { sort -n -k2 "$1" | awk -v p="$2" '{ v[NR] = $2 } END { i = int((NR * p + 99) / 100); if (i < 1) i = 1; printf "%d", v[i] * 1000 }'; }

# ---- 1. heavy attack, light client -----------------------------------------
ping0=$(grep -c 'pong from worker' "$d/fe.log")
$LOAD "127.0.0.1:$port" "$SECS" 12 "$d"/heavy*.png >"$d/heavy" &
hv=$!
$LOAD --health "127.0.0.1:$port" "$SECS" >"$d/health1" &
hp=$!
on_exit "kill $hv $hp 2>/dev/null"
sleep 1 # the attack is under way
$LOAD "127.0.0.1:$port" $((SECS - 1)) 1 "$LIGHT" >"$d/light1"
wait $hv
wait $hp

# The latency bounds assume a heavy decode takes well under 2.5 s (the image
# module bounds its CPU time); on a machine too loaded for that, they are
# reported as skips with the figures, never as passes.
slowest=$(sed -n 's/.*decode .* 40000000 pixels, \([0-9]*\) us.*/\1/p' "$d/fe.log" | sort -n | tail -1)
slowest_ms=$(( ${slowest:-99999000} / 1000 )) # none finished: slower still
echo "# slowest 40 MP decode: $slowest_ms ms"
timed() { # NAME CMD...: check, or skip when decodes were too slow here
    if [ "$slowest_ms" -gt 2500 ]; then ok "$1 # SKIP a 40 MP decode took $slowest_ms ms here"
    else check "$@"; fi
}
nl=$(wc -l <"$d/light1")
check "light client made requests under the attack ($nl)" [ "$nl" -ge 5 ]
check_eq "light client: every answer 200" "$nl" "$(grep -c '^200 ' "$d/light1")"
p50=$(pct "$d/light1" 50); p99=$(pct "$d/light1" 99)
echo "# light client under 12 heavy senders: $nl requests, p50 $p50 ms, p99 $p99 ms, max $(pct "$d/light1" 100) ms"
timed "light client p99 ${p99} ms <= $P99_MS ms" [ "$p99" -le "$P99_MS" ]
echo "# heavy answers: $(awk '{ print $1 }' "$d/heavy" | sort | uniq -c | tr '\n' ' ')"
# A 40 MP 16-bit PNG may cost more CPU than a decode is allowed
# (docs/images.md): the budget's 400 is a right answer, as a 200 is.
check_eq "heavy senders: only 200, 400 (CPU budget), 503 or 504" 0 \
    "$(grep -cv '^200 \|^503 \|^504 \|^400 .* budget$' "$d/heavy")"
timed "heavy senders: never 504 ($(grep -c '^504 ' "$d/heavy"))" [ "$(grep -c '^504 ' "$d/heavy")" -eq 0 ]
timed "heavy senders: some reached a worker and were answered (200 or the budget's 400)" \
    grep -q '^200 \|^400 .* budget$' "$d/heavy"
check_eq "every heavy 503 carries Retry-After" 0 "$(awk '$1 == 503 && $3 == "-"' "$d/heavy" | wc -l)"
awk '$1 == 503' "$d/heavy" >"$d/heavy503"
awk '$1 == 200' "$d/heavy" >"$d/heavy200"
echo "# heavy 503s: p50 $(pct "$d/heavy503" 50) ms, p99 $(pct "$d/heavy503" 99) ms, max $(pct "$d/heavy503" 100) ms; heavy 200s: p50 $(pct "$d/heavy200" 50) ms, max $(pct "$d/heavy200" 100) ms"
# Most are refused on arrival; one admitted behind a running decode is
# refused when it has waited 1 s, so the bound covers one decode's time.
check "heavy 503s come fast (max $(pct "$d/heavy503" 100) ms < 3000)" [ "$(pct "$d/heavy503" 100)" -lt 3000 ]
check_eq "/health 200 throughout the attack" 0 "$(grep -cv '^200 ' "$d/health1")"
check "the health poller ran" [ "$(wc -l <"$d/health1")" -ge 5 ]
check_eq "no worker pipe dropped as silent under the attack" 0 "$(grep -c 'silent for' "$d/fe.log")"
sed -n "$((ping0 + 1)),\$p" "$d/fe.log" | grep 'pong from worker' | sed 's/.* in \([0-9]*\) ms/x \1/' |
    awk '{ print $1, $2 / 1000 }' >"$d/pings"
np=$(wc -l <"$d/pings")
echo "# pings during the attack: $np, p50 $(pct "$d/pings" 50) ms, p99 $(pct "$d/pings" 99) ms, max $(pct "$d/pings" 100) ms"
check "pings answered during the attack ($np)" [ "$np" -ge $((SECS * 5)) ]
check "every ping answered within 1 s (max $(pct "$d/pings" 100) ms)" [ "$(pct "$d/pings" 100)" -lt 1000 ]
# Each image that reached a worker was decoded once: decodes in the logs =
# answers (a 504 was decoded too, once, after its caller gave up).
dec_heavy=$(grep -c 'decode .* 40000000 pixels' "$d/fe.log")
dec_light=$(grep -c 'decode .* 784 pixels' "$d/fe.log")
answered=$(grep -c '^200 \|^504 \|^400 .* budget$' "$d/heavy")
echo "# decodes: heavy $dec_heavy for $answered heavy 200s, budget 400s and 504s, light $dec_light for $nl light 200s"
check_eq "one decode per heavy image that reached a worker" "$answered" "$dec_heavy"
check_eq "one decode per answered light image" "$nl" "$dec_light"

# ---- 2. a worker stops under light load --------------------------------------
w2=$(pgrep -P "$fe" | head -1)
$LOAD "127.0.0.1:$port" 7 4 "$LIGHT" >"$d/light2" &
lp=$!
$LOAD --health "127.0.0.1:$port" 7 >"$d/health2" &
hp=$!
on_exit "kill $lp $hp 2>/dev/null"
sleep 1.5
t0=$(now_ms)
kill -STOP "$w2"
check "stopped worker dropped within 3 s" wait_for 3 health_is 'ok 1'
echo "# /health counts 1 worker $(( $(now_ms) - t0 )) ms after SIGSTOP"
sleep 1.5
kill -CONT "$w2"
t1=$(now_ms)
# It redials at once; if libnng 1.5.2 wedged its socket (it logs "libnng
# stopped redialing" and exits after 5 s) the supervisor starts another.
check "the worker rejoins after SIGCONT (or is replaced)" wait_for 15 health_is 'ok 2'
if kill -0 "$w2" 2>/dev/null; then
    echo "# rejoined $(( $(now_ms) - t1 )) ms after SIGCONT"
else
    echo "# replaced $(( $(now_ms) - t1 )) ms after SIGCONT: $(grep -c 'libnng stopped redialing' "$d/fe.log") stranded"
fi
wait $lp
wait $hp
nl=$(wc -l <"$d/light2")
check_eq "light load across the stop: every answer 200 ($nl)" "$nl" "$(grep -c '^200 ' "$d/light2")"
mx=$(pct "$d/light2" 100)
echo "# across the stop: $nl requests, p50 $(pct "$d/light2" 50) ms, p99 $(pct "$d/light2" 99) ms, max $mx ms (the requests the stopped worker held)"
check "no request waited more than 3 s for the stopped worker's share (max $mx ms)" [ "$mx" -le 3000 ]
check_eq "/health 200 throughout the stop" 0 "$(grep -cv '^200 ' "$d/health2")"
check "frontend logged the silent pipe" grep -q 'silent for' "$d/fe.log"
