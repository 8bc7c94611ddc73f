# The C engine's TEST-split accuracy with the shipped weights (issue: at
# least 98.5 %), with every kernel variant this CPU has; and the same
# engine under valgrind on a batch that crosses max_batch.
. tests/lib.sh
B=${B:-build}
acc() { sed -n 's/^accuracy \([0-9.]*\)% .*/\1/p'; }
floor_ok() { awk -v a="$1" 'BEGIN { exit !(a >= 98.5) }'; }
for isa in default generic avx2 avx512; do
    case $isa in
    avx2) grep -q ' avx2 ' /proc/cpuinfo || continue ;;
    avx512) grep -q ' avx512f ' /proc/cpuinfo || continue ;;
    esac
    args=
    [ "$isa" = default ] || args="--isa $isa"
    a=$("$B/mnist-eval" $args | acc)
    check "mnist-eval $isa: TEST accuracy ${a:-?}% >= 98.5%" floor_ok "${a:-0}"
done
# Memcheck over the engine: 10 TEST images in batches of 4 (crossing
# max_batch), logits compared with the plain run's.
head -c $((10 * 784 * 4)) "$B/data/test.images" >"$T_TMP/in.f32"
"$B/mnist-eval" --batch 4 --raw "$T_TMP/in.f32" --out "$T_TMP/plain.f32" >/dev/null 2>&1
valgrind -q --error-exitcode=99 "$B/mnist-eval" --batch 4 --raw "$T_TMP/in.f32" \
    --out "$T_TMP/vg.f32" >/dev/null 2>"$T_TMP/vg.err"
check "mnist-eval under valgrind: exit 0, no memcheck errors" [ $? -eq 0 ]
check "mnist-eval under valgrind: 100 logits written" [ "$(wc -c <"$T_TMP/vg.f32")" -eq 400 ]
check "mnist-eval under valgrind: logits match the plain run within 1e-4" /usr/bin/python3 -c "
import numpy as np, sys
a = np.fromfile('$T_TMP/plain.f32', '<f4'); b = np.fromfile('$T_TMP/vg.f32', '<f4')
sys.exit(not (a.size == b.size == 100 and np.abs(a - b).max() <= 1e-4))"
