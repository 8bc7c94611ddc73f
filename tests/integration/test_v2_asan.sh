#!/bin/sh
# test_v2.sh again with the ASan+UBSan build (make asan): its frontend and
# workers, leaks checked at exit; a sanitizer report makes the frontend exit
# non-zero on SIGTERM, which the "frontend exits 0" check catches.
B=${B:-build}
if [ ! -x "$B/asan/mnist-frontend" ]; then
    echo "not ok - asan build of mnist-frontend exists (make asan)"
    exit 1
fi
DATA=$B/data B=$B/asan ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
    UBSAN_OPTIONS=print_stacktrace=1 exec sh tests/integration/test_v2.sh
