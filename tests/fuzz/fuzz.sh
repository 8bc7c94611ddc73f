#!/bin/sh
# Run every libFuzzer harness in $B/fuzz/ for FUZZ_SECONDS (default 20) each,
# FUZZ_JOBS (default 1) harnesses at a time, keeping a corpus per harness in
# $B/fuzz-corpus/NAME between runs. Prints TAP lines per harness, in harness
# order; a crash leaves its reproducer in $B/fuzz-crash/.
# `make fuzz` runs each for 600 s; tests/integration/test_fuzz.sh for 10 s,
# two at a time (each harness is one thread), in make test.
B=${B:-build}
secs=${FUZZ_SECONDS:-20}
jobs=${FUZZ_JOBS:-1}
res=$B/fuzz-crash/results
rm -rf "$res"
mkdir -p "$B/fuzz-crash" "$res"

# fuzz_one HARNESS: its TAP lines into $res/NAME.tap.
fuzz_one() {
    f=$1
    name=$(basename "$f")
    corpus=$B/fuzz-corpus/$name
    out=$res/$name.tap
    mkdir -p "$corpus"
    : >"$out"
    # Seed corpora (read-only): tests/fuzz/seeds/NAME, and the image fixtures
    # for the image harnesses. Crashes found earlier stay as regression
    # inputs in tests/fuzz/regress/NAME and are replayed first.
    seeds=
    [ -d "tests/fuzz/seeds/$name" ] && seeds="tests/fuzz/seeds/$name"
    case $name in fuzz_png | fuzz_jpeg | fuzz_norm) seeds="$seeds tests/images" ;; esac
    if [ -d "tests/fuzz/regress/$name" ]; then
        if "$f" tests/fuzz/regress/"$name"/* >"$B/fuzz-crash/$name-regress.log" 2>&1; then
            echo "ok - $name: regression inputs pass" >>"$out"
        else
            echo "not ok - $name: a regression input fails (log: $B/fuzz-crash/$name-regress.log)" >>"$out"
        fi
    fi
    if "$f" -max_total_time="$secs" -max_len=65536 -print_final_stats=1 \
        -artifact_prefix="$B/fuzz-crash/$name-" "$corpus" $seeds >"$B/fuzz-crash/$name.log" 2>&1; then
        echo "ok - $name: $(grep -o 'stat::number_of_executed_units: *[0-9]*' \
            "$B/fuzz-crash/$name.log" | grep -o '[0-9]*$') runs in ${secs}s, no crash" >>"$out"
    else
        echo "not ok - $name crashed (log: $B/fuzz-crash/$name.log)" >>"$out"
        grep -m5 'ERROR\|SUMMARY' "$B/fuzz-crash/$name.log" | sed 's/^/# /' >>"$out"
    fi
}

n=0
running=
for f in "$B"/fuzz/*; do
    [ -x "$f" ] || continue
    n=$((n + 1))
    fuzz_one "$f" &
    running="$running $!"
    if [ $((n % jobs)) -eq 0 ]; then
        wait $running
        running=
    fi
done
wait $running
[ "$n" -gt 0 ] || { echo "not ok - no fuzzers in $B/fuzz (make fuzzers)"; exit 1; }
cat "$res"/*.tap
! grep -q '^not ok' "$res"/*.tap
