#!/bin/sh
# SIGHUP reloads a worker's weights without downtime (worker/reload.h):
# under 32 clients of load, a reload to a second valid weights file answers
# every request (0 failures) and changes the answers; corrupt files
# (truncated, garbage header, NaN weights) are refused with a log line
# saying why while serving goes on with the previous model; the int8 engine
# (--precision int8) reloads its own file the same way. The second weights
# file is made here from the committed one (weights_variant.py: a shifted
# fc2.bias, a valid model that answers differently), never committed.
. tests/lib.sh
. tests/integration/ops-lib.sh
tmp=$(tmpdir_make)
if ! have_frontend; then
    ok "reload # SKIP no $B/mnist-frontend yet"
    exit 0
fi
PY=/usr/bin/python3
VARIANT="$PY tests/integration/weights_variant.py"
img=saved_images/img_0_label_6.png
imgs=$(ls saved_images/*.png | head -8)
W=$tmp/w
mkdir -p "$W"
cp weights/model.safetensors weights/model-int8.safetensors "$W/"
fe_start "$tmp" 0
sock="ipc://$tmp/run/workers.sock"

# start_worker LOG ARGS...: one worker dialing the frontend; sets WPID.
start_worker() {
    log=$1; shift
    "$B/mnist-worker" --connect "$sock" "$@" >"$log" 2>&1 &
    WPID=$!
    on_exit "kill -9 $WPID"
    wait_for 20 curl -sf "$FE_URL/health"
}
conf() { curl -s -F "file=@$img" "$FE_URL/predict?probs=true"; }
# ver: the X-Model-Version of a prediction; sha12 FILE: what it should be.
ver() {
    curl -s -D - -o /dev/null -F "file=@$img" "$FE_URL/predict" | tr -d '\r' |
        awk -F': ' 'tolower($1) == "x-model-version" { print $2 }'
}
sha12() { sha256sum "$1" | cut -c1-12; }
# replace FILE MODE: FILE becomes its variant, atomically (as an operator's mv).
replace() { $VARIANT "$1" "$1.new" "$2" && mv "$1.new" "$1"; }
# hup LOG PATTERN N: SIGHUP the worker and wait for the N-th PATTERN line.
hup() {
    kill -HUP "$WPID"
    wait_for 20 sh -c "[ \$(grep -c '$2' '$1') -ge $3 ]"
}
has_digit() { case "$1" in *'"digit":'*) return 0 ;; esac; return 1; }
predict_lines() { grep -c 'POST /predict' "$tmp/fe.log"; }

start_worker "$tmp/w1.log" --weights "$W/model.safetensors" --precision fp32
before=$(conf)
check "answers before the reload ($before)" has_digit "$before"
check_eq "X-Model-Version before the reload" "$(sha12 "$W/model.safetensors")" "$(ver)"

# --- a valid second file, under 32 clients -------------------------------
$PY tests/python/http_load.py "127.0.0.1:$FE_PORT" 6 32 $imgs >"$tmp/load.txt" &
load=$!
on_exit "kill -9 $load"
wait_for 10 sh -c "[ \$(grep -c 'POST /predict 200' '$tmp/fe.log') -ge 200 ]"
n0=$(predict_lines)
replace "$W/model.safetensors" shift
check "reload to the second file under load" hup "$tmp/w1.log" 'reload: now serving' 1
sha=$(sha256sum "$W/model.safetensors" | cut -c1-64)
check "the reload line names the file and its sha256" \
    grep -q "now serving $W/model.safetensors (fp32, .* sha256 $sha)" "$tmp/w1.log"
wait_for 10 sh -c "[ \$(grep -c 'POST /predict' '$tmp/fe.log') -ge $((n0 + 200)) ]"
# --- a corrupt file while the load goes on: refused, serving goes on -----
cp "$W/model.safetensors" "$W/good"
replace "$W/model.safetensors" truncate
check "a truncated file is refused under load" hup "$tmp/w1.log" 'reload refused' 1
wait "$load"
total=$(wc -l <"$tmp/load.txt")
bad=$(grep -vc '^200 ' "$tmp/load.txt")
echo "# $total requests from 32 clients in 6 s, $bad not 200; $n0 before the reload"
check "the load made requests before and after the reload ($n0 of $total before)" \
    test "$n0" -ge 200 -a "$total" -ge $((n0 + 200))
check_eq "no request failed during the reloads" 0 "$bad"
after=$(conf)
check "the answer changed with the new weights ($before -> $after)" \
    test -n "$after" -a "$after" != "$before"
check_eq "X-Model-Version is the new file's after the reload" "$(sha12 "$W/good")" "$(ver)"
check_eq "the same answer as mnist-predict with that file" \
    "$($B/mnist-predict --precision fp32 --weights "$W/good" "$img" | awk '{print $3 + 0}')" \
    "$(echo "$after" | sed 's/.*"confidence":\([0-9.]*\).*/\1/')"

# --- every kind of corrupt file is refused, and the model stays ----------
i=1
for mode in header nan; do
    cp "$W/good" "$W/model.safetensors"
    replace "$W/model.safetensors" $mode
    i=$((i + 1))
    check "a $mode file is refused" hup "$tmp/w1.log" 'reload refused' $i
    check_eq "still the previous model after the $mode file" "$after" "$(conf)"
    check_eq "still the previous version after the $mode file" "$(sha12 "$W/good")" "$(ver)"
done
grep 'reload refused' "$tmp/w1.log" | sed 's/^/# /'
check "the refusals say why" sh -c "grep 'reload refused' '$tmp/w1.log' | grep -q 'outside the data section' &&
    grep 'reload refused' '$tmp/w1.log' | grep -q 'not valid JSON' &&
    grep 'reload refused' '$tmp/w1.log' | grep -q 'non-finite'"
check "the worker is still up" kill -0 "$WPID"
cp "$W/good" "$W/model.safetensors"
check "a good file after the refusals is taken" hup "$tmp/w1.log" 'reload: now serving' 2
kill -TERM "$WPID"
check "the worker stops cleanly after reloads" wait_exit 15 "$WPID"

# --- the int8 engine reloads its own file --------------------------------
cp weights/model.safetensors weights/model-int8.safetensors "$W/"
start_worker "$tmp/w2.log" --weights "$W/model.safetensors" --precision int8
before=$(conf)
replace "$W/model-int8.safetensors" shift
check "int8: reload" hup "$tmp/w2.log" 'reload: now serving' 1
check "int8: the line names the int8 file" \
    grep -q "now serving $W/model-int8.safetensors (int8" "$tmp/w2.log"
after=$(conf)
check "int8: the answer changed ($before -> $after)" test -n "$after" -a "$after" != "$before"
replace "$W/model-int8.safetensors" nan
check "int8: a NaN file is refused" hup "$tmp/w2.log" 'reload refused' 1
check_eq "int8: still the reloaded model" "$after" "$(conf)"
kill -TERM "$WPID"
wait_exit 15 "$WPID"
fe_stop

# --- SIGHUP to a frontend with --spawn-workers reaches its workers --------
cp weights/model.safetensors weights/model-int8.safetensors "$W/"
FE_WEIGHTS=$W/model.safetensors fe_start "$tmp/s" 1
kill -HUP "$FE_PID"
check "frontend SIGHUP: the spawned worker reloads" \
    wait_for 20 grep -q 'reload: now serving' "$tmp/s/fe.log"
check "frontend SIGHUP: the frontend serves on" curl -sf -o /dev/null "$FE_URL/health"
fe_stop
