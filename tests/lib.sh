# Shell helpers for integration tests: TAP output, temporary dirs, cleanup.
# Source it; then use ok/not_ok/check, tmpdir_make, on_exit and wait_for.
T_FAILED=0
T_COUNT=0
ok() { T_COUNT=$((T_COUNT + 1)); echo "ok - $*"; }
not_ok() { T_COUNT=$((T_COUNT + 1)); T_FAILED=$((T_FAILED + 1)); echo "not ok - $*"; }
# check NAME CMD...: runs CMD, passes when it exits 0.
check() { n=$1; shift; if "$@"; then ok "$n"; else not_ok "$n"; fi; }
# check_eq NAME EXPECTED ACTUAL
check_eq() {
    if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1 (expected '$2', got '$3')"; fi
}
T_CLEANUP=""
on_exit() { T_CLEANUP="$*; $T_CLEANUP"; }
t_finish() {
    eval "$T_CLEANUP" >/dev/null 2>&1 || true
    [ "$T_COUNT" -gt 0 ] || { echo "not ok - no checks ran"; exit 1; }
    [ "$T_FAILED" -eq 0 ]
}
trap 't_finish' EXIT
trap 'exit 130' INT TERM
# One base directory per test script, removed at exit; tmpdir_make makes
# directories inside it, so it also works from a $(...) subshell.
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/mnist-test.XXXXXX")
on_exit "rm -rf '$T_TMP'"
tmpdir_make() { mktemp -d "$T_TMP/d.XXXXXX"; }
# wait_for SECONDS CMD...: polls CMD every 20 ms until it succeeds or time runs out.
wait_for() {
    limit=$1; shift
    end=$(( $(date +%s%N) / 1000000 + limit * 1000 ))
    while ! "$@" >/dev/null 2>&1; do
        [ $(( $(date +%s%N) / 1000000 )) -lt "$end" ] || return 1
        sleep 0.02
    done
}
# wait_exit SECONDS PID: waits for the child PID to exit; returns its exit
# status, or 124 after a SIGKILL when it is still running after SECONDS.
wait_exit() {
    if ! wait_for "$1" exited "$2"; then
        echo "# pid $2 still running $1 s after it was told to stop: killed"
        kill -9 "$2" 2>/dev/null
        wait "$2" 2>/dev/null
        return 124
    fi
    wait "$2"
}
exited() { [ ! -e "/proc/$1" ] || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]; }
# free_port: a TCP port on 127.0.0.1 that nobody listens on right now.
free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
