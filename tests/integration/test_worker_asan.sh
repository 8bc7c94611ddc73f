#!/bin/sh
# The worker integration test again with the ASan+UBSan builds of
# mnist-worker and mnist-client (make asan), leaks checked at exit: a
# sanitizer report makes a process exit non-zero, which the checks catch.
B=${B:-build}
if [ ! -x "$B/asan/mnist-worker" ] || [ ! -x "$B/asan/mnist-client" ]; then
    echo "not ok - asan builds of mnist-worker and mnist-client exist (make asan)"
    exit 1
fi
BIN_DIR=$B/asan ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
    UBSAN_OPTIONS=print_stacktrace=1 exec sh tests/integration/test_worker.sh
