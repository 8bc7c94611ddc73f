#!/bin/sh
# make test's bounded fuzzing: build every harness (make fuzzers) and run each
# for 10 s, two at a time (one per core), through tests/fuzz/fuzz.sh. Long
# runs: make fuzz.
B=${B:-build}
if ! make -s fuzzers B="$B" >"$B/fuzzers-build.log" 2>&1; then
    echo "not ok - make fuzzers failed (log: $B/fuzzers-build.log)"
    exit 1
fi
FUZZ_SECONDS=${FUZZ_SECONDS:-10} FUZZ_JOBS=${FUZZ_JOBS:-2} B=$B sh tests/fuzz/fuzz.sh
