#!/bin/sh
# Run every test program and print one summary line
# "N passed, N failed, N skipped". Test programs print TAP lines:
#   ok - name                  a pass
#   not ok - name              a failure
#   ok - name # SKIP reason    a skip: counted apart, never as a pass
# A program that exits non-zero without a "not ok" line counts as one
# failure; one that exits 0 and prints no line at all as one pass.
# Programs, in this order:
#   $B/tests/t_*                  C unit tests (tests/unit/, plain build)
#   $B/asan/tests/t_*             the same C tests in the ASan+UBSan build
#   tests/integration/test_*.sh   integration tests (sh)
#   tests/python/test_*.py        Python tests (/usr/bin/python3)
# TESTS="pattern" limits the run to programs whose path contains pattern.
B=${B:-build}
export B
log=$B/test-logs
mkdir -p "$log"
pass=0
fail=0
skip=0
failed_names=
run_one() {
    name=$1; shift
    case "$name" in *"${TESTS:-}"*) ;; *) return ;; esac
    out="$log/$(echo "$name" | tr '/' '_').log"
    start=$(date +%s)
    timeout -k 10 "${TEST_TIMEOUT:-600}" "$@" >"$out" 2>&1
    rc=$?
    s=$(grep -c '^ok .*# *SKIP' "$out")
    p=$(($(grep -c '^ok ' "$out") - s))
    f=$(grep -c '^not ok ' "$out")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "not ok - $name exited $rc" >>"$out"; fi
    if [ "$rc" -eq 0 ] && [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && [ "$s" -eq 0 ]; then p=1; fi
    pass=$((pass + p))
    fail=$((fail + f))
    skip=$((skip + s))
    printf '%-44s %4d passed %4d failed %3d skipped %4ds\n' "$name" "$p" "$f" "$s" \
        $(( $(date +%s) - start ))
    grep '^ok .*# *SKIP' "$out" | head -10 | sed 's/^/    /'
    if [ "$f" -gt 0 ]; then
        grep '^not ok ' "$out" | head -20 | sed 's/^/    /'
        echo "    (full log: $out)"
        failed_names="$failed_names $name"
    fi
}
for t in "$B"/tests/t_*; do
    [ -x "$t" ] && run_one "$t" "$t"
done
for t in "$B"/asan/tests/t_*; do
    [ -x "$t" ] && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 run_one "$t" "$t"
done
for t in tests/integration/test_*.sh; do
    [ -f "$t" ] && run_one "$t" sh "$t"
done
for t in tests/python/test_*.py; do
    [ -f "$t" ] && run_one "$t" /usr/bin/python3 "$t"
done
[ -n "$failed_names" ] && echo "failed:$failed_names"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
