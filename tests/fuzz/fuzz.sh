#!/bin/sh
# Run every libFuzzer harness in $B/fuzz/ for FUZZ_SECONDS (default 20) each,
# keeping a corpus per harness in $B/fuzz-corpus/NAME between runs. Prints
# one TAP line per harness; a crash leaves its reproducer in $B/fuzz-crash/.
# `make fuzz` runs it for 600 s each; tests/integration/test_fuzz.sh for 20 s in make test.
B=${B:-build}
secs=${FUZZ_SECONDS:-20}
fail=0
n=0
mkdir -p "$B/fuzz-crash"
for f in "$B"/fuzz/*; do
    [ -x "$f" ] || continue
    name=$(basename "$f")
    corpus=$B/fuzz-corpus/$name
    mkdir -p "$corpus"
    n=$((n + 1))
    # Seed corpora (read-only): tests/fuzz/seeds/NAME, and the image fixtures
    # for the image harnesses. Crashes found earlier stay as regression
    # inputs in tests/fuzz/regress/NAME and are replayed first.
    seeds=
    [ -d "tests/fuzz/seeds/$name" ] && seeds="tests/fuzz/seeds/$name"
    case $name in fuzz_png | fuzz_jpeg | fuzz_norm) seeds="$seeds tests/images" ;; esac
    if [ -d "tests/fuzz/regress/$name" ]; then
        if "$f" tests/fuzz/regress/"$name"/* >"$B/fuzz-crash/$name-regress.log" 2>&1; then
            echo "ok - $name: regression inputs pass"
        else
            fail=$((fail + 1))
            echo "not ok - $name: a regression input fails (log: $B/fuzz-crash/$name-regress.log)"
        fi
    fi
    if "$f" -max_total_time="$secs" -max_len=65536 -print_final_stats=1 \
        -artifact_prefix="$B/fuzz-crash/$name-" "$corpus" $seeds >"$B/fuzz-crash/$name.log" 2>&1; then
        echo "ok - $name: $(grep -o 'stat::number_of_executed_units: *[0-9]*' \
            "$B/fuzz-crash/$name.log" | grep -o '[0-9]*$') runs in ${secs}s, no crash"
    else
        fail=$((fail + 1))
        echo "not ok - $name crashed (log: $B/fuzz-crash/$name.log)"
        grep -m5 'ERROR\|SUMMARY' "$B/fuzz-crash/$name.log" | sed 's/^/# /'
    fi
done
[ "$n" -gt 0 ] || { echo "not ok - no fuzzers in $B/fuzz (make fuzzers)"; exit 1; }
[ "$fail" -eq 0 ]
