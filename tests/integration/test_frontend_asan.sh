#!/bin/sh
# The frontend integration test again with the ASan+UBSan build of
# mnist-frontend (make asan) and the plain workers, leaks checked at exit: a
# sanitizer report makes the frontend exit non-zero on SIGTERM, which the
# "exits 0" checks catch.
B=${B:-build}
if [ ! -x "$B/asan/mnist-frontend" ]; then
    echo "not ok - asan build of mnist-frontend exists (make asan)"
    exit 1
fi
MNIST_FRONTEND=$B/asan/mnist-frontend ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
    UBSAN_OPTIONS=print_stacktrace=1 exec sh tests/integration/test_frontend.sh
